// Opening the database at start-up (npm start, db:migrate, seed, account:create): a database that
// cannot be reached, refuses the login, does not exist, or fails a migration is one line naming
// the host and the database (never the password), not a Prisma stack.
import path from 'node:path';
import pg from 'pg';
import { ConfigError } from '../config.ts';
import { Database, type DatabaseOptions } from './database.ts';

/** A start-up problem the operator fixes outside the code; printed as its one-line message. */
export class DatabaseStartupError extends ConfigError {}

export interface MigratedDatabase {
  db: Database;
  /** Migrations applied by this call. */
  applied: string[];
}

/** Opens the database, proves it accepts us, and applies pending migrations; or throws DatabaseStartupError. */
export async function openMigratedDatabase(options: DatabaseOptions): Promise<MigratedDatabase> {
  if (options.url) await checkConnection(options.url, options.acquireTimeoutMs ?? 5000);
  const db = await Database.open(options);
  try {
    return { db, applied: await db.migrate() };
  } catch (error) {
    await db.close().catch(() => {});
    throw migrationFailure(error, describeDatabase(options)) ?? error;
  }
}

/** "PostgreSQL at host:port, database "name"" or "the embedded database in <dir>"; no credentials. */
export function describeDatabase(options: Pick<DatabaseOptions, 'url' | 'dataDir'>): string {
  if (!options.url) return `the embedded database in ${path.resolve(options.dataDir ?? './data')}`;
  const { host, port, database } = connectionTarget(options.url);
  return `PostgreSQL at ${host}:${port}, database "${database}"`;
}

function connectionTarget(url: string) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname || 'localhost',
    port: parsed.port || '5432',
    database: decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username) || 'postgres',
    user: decodeURIComponent(parsed.username) || 'postgres',
  };
}

/** One connection before Prisma's pool, whose errors arrive wrapped twice and without their SQLSTATE. */
async function checkConnection(url: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
  } catch (error) {
    const { host, port, database, user } = connectionTarget(url);
    throw new DatabaseStartupError(
      `Cannot connect to PostgreSQL at ${host}:${port}, database "${database}", user "${user}": ${connectionProblem(error, { host, port, database, user }, timeoutMs)}`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

function connectionProblem(error: unknown, target: ReturnType<typeof connectionTarget>, timeoutMs: number): string {
  const failure = error as { code?: string; message?: string; errors?: { code?: string }[] };
  const code = failure.code ?? failure.errors?.find((inner) => inner.code)?.code;
  const serverMessage = failure.message ?? String(error);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is PostgreSQL running and listening there?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve';
    case 'ETIMEDOUT':
      return `no answer within ${timeoutMs} ms (DATABASE_ACQUIRE_TIMEOUT_MS)`;
    case 'ECONNRESET':
      return 'the server closed the connection';
    case '28P01':
      return `${serverMessage} (check the password in DATABASE_URL)`;
    case '3D000':
      return `${serverMessage} (create it: createdb -h ${target.host} -p ${target.port} -U ${target.user} ${target.database})`;
  }
  if (/timeout/i.test(serverMessage)) return `no answer within ${timeoutMs} ms (DATABASE_ACQUIRE_TIMEOUT_MS)`;
  return firstLine(serverMessage);
}

const RETRY_ADVICE = (migration: string) =>
  `(fix the cause, then DELETE FROM _prisma_migrations WHERE migration_name = '${migration}' and run it again)`;

/** The schema engine's failures, as one line; undefined for anything else (a bug keeps its stack). */
function migrationFailure(error: unknown, where: string): DatabaseStartupError | undefined {
  const failure = error as { code?: string; message?: string };
  const message = typeof failure.message === 'string' ? failure.message : '';
  if (failure.code === 'P3009') {
    const migration = /The `([^`]+)` migration/.exec(message)?.[1] ?? 'a migration';
    return new DatabaseStartupError(
      `Migration ${migration} failed earlier on ${where} and is recorded as failed in _prisma_migrations ${RETRY_ADVICE(migration)}`,
    );
  }
  const migration = /migration_name="([^"]+)"/.exec(message)?.[1];
  if (!migration) return undefined;
  // "external connector error\nError querying the database: ERROR: <cause>\n   0: <engine backtrace>"
  const cause = message
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() && !/^\s+(\d+:|with |at )/.test(line))
    .map((line) => line.replace(/^Error querying the database: /, '').replace(/^(ERROR|FATAL): /, ''))
    .join(' ');
  return new DatabaseStartupError(`Migration ${migration} failed on ${where}: ${cause || firstLine(message)} ${RETRY_ADVICE(migration)}`);
}

const firstLine = (text: string) => text.trim().split('\n')[0]!;
