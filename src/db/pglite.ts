import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { DriverAdapterError, type SqlDriverAdapter, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { lockDataDir } from './data-dir-lock.ts';

/**
 * An embedded Postgres with the extensions our migrations use. A folder is locked for this
 * process until the client closes (see data-dir-lock.ts); `memory://` needs no lock.
 */
export async function openPglite(dataDir: string, options: Omit<PGliteOptions, 'extensions'> = {}): Promise<PGlite> {
  const folder = dataDir.startsWith('file://') ? dataDir.slice('file://'.length) : /^[a-z-]+:\/\//.test(dataDir) ? null : dataDir;
  const lock = folder === null ? null : lockDataDir(folder);
  let client: PGlite;
  try {
    client = await PGlite.create(dataDir, { ...options, extensions: { pg_trgm } });
  } catch (error) {
    lock?.release();
    throw error;
  }
  if (lock) {
    const close = client.close.bind(client);
    client.close = async () => {
      try {
        await close();
      } finally {
        lock.release();
      }
    };
  }
  return client;
}

/**
 * pglite-prisma-adapter 0.7.2 does not await `exec()` in `executeScript`, so a failing migration
 * would be recorded as applied. This factory awaits it (a failure reaches the engine as a
 * PostgreSQL error, as with adapter-pg), and gives the shadow database the same
 * extensions as the main one.
 */
export class PgliteAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres' as const;
  readonly adapterName = 'inviteql-pglite';

  constructor(private readonly client: PGlite) {}

  connect(): Promise<SqlDriverAdapter> {
    return connectAwaitingScripts(this.client);
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    return connectAwaitingScripts(await openPglite('memory://'));
  }
}

async function connectAwaitingScripts(client: PGlite): Promise<SqlDriverAdapter> {
  const adapter = await new PrismaPGlite(client).connect();
  adapter.executeScript = async (script: string) => {
    try {
      await client.exec(script);
    } catch (error) {
      const failure = error as { code?: unknown; severity?: unknown; message?: unknown; detail?: string; hint?: string };
      if (typeof failure.code !== 'string' || typeof failure.message !== 'string') throw error;
      // The shape the schema engine understands (otherwise it reports "External error id#0").
      throw new DriverAdapterError({
        kind: 'postgres',
        code: failure.code,
        severity: typeof failure.severity === 'string' ? failure.severity : 'ERROR',
        message: failure.message,
        detail: failure.detail,
        column: undefined,
        hint: failure.hint,
      });
    }
  };
  return adapter;
}
