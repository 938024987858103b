import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { DriverAdapterError, type SqlDriverAdapter, type SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';

/** An embedded Postgres with the extensions our migrations use. */
export function openPglite(dataDir: string, options: Omit<PGliteOptions, 'extensions'> = {}): Promise<PGlite> {
  return PGlite.create(dataDir, { ...options, extensions: { pg_trgm } });
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
