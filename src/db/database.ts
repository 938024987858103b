import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.ts';
import { applyMigrations, readMigrationList } from './migrations.ts';
import { openPglite, PgliteAdapterFactory } from './pglite.ts';

export type { PrismaClient };

export interface DatabaseOptions {
  /** PostgreSQL connection string; without it an embedded PGlite in `dataDir` is used. */
  url?: string;
  dataDir?: string;
  poolSize?: number;
  acquireTimeoutMs?: number;
  /** Count SQL statements in `statementCount` (tests and benchmarks). */
  countStatements?: boolean;
  /** An already open PGlite (tests load one from a migrated snapshot). */
  pglite?: PGlite;
  onIdleConnectionError?: (error: Error) => void;
}

/** The one place that knows whether we run on PostgreSQL or on the embedded PGlite. */
export class Database {
  statementCount = 0;

  private constructor(
    readonly prisma: PrismaClient,
    readonly kind: 'postgres' | 'pglite',
    private readonly adapterFactory: SqlMigrationAwareDriverAdapterFactory,
    private readonly closeDriver: () => Promise<void>,
    /** The PostgreSQL pool, for the few libraries that speak `pg` themselves (null on PGlite). */
    readonly pgPool: pg.Pool | null,
  ) {}

  static async open(options: DatabaseOptions): Promise<Database> {
    let factory: SqlMigrationAwareDriverAdapterFactory;
    let closeDriver: () => Promise<void>;
    let kind: Database['kind'];
    let pgPool: pg.Pool | null = null;
    if (options.url) {
      const pool = new pg.Pool({
        connectionString: options.url,
        max: options.poolSize ?? 10,
        connectionTimeoutMillis: options.acquireTimeoutMs ?? 5000,
      });
      // An idle connection that the server drops (restart, failover) must not crash the process;
      // the pool replaces it on the next checkout. Prisma's adapter detaches its own listener on close.
      pool.on('error', (error) => options.onIdleConnectionError?.(error));
      factory = new PrismaPg(pool);
      closeDriver = () => pool.end();
      pgPool = pool;
      kind = 'postgres';
    } else {
      const client = options.pglite ?? (await openPglite(options.dataDir ?? './data'));
      factory = new PgliteAdapterFactory(client);
      closeDriver = () => client.close();
      kind = 'pglite';
    }
    const prisma = new PrismaClient({
      adapter: factory,
      log: options.countStatements ? [{ emit: 'event', level: 'query' }] : [],
    });
    const database = new Database(prisma, kind, factory, closeDriver, pgPool);
    if (options.countStatements) {
      prisma.$on('query' as never, () => {
        database.statementCount++;
      });
    }
    return database;
  }

  /** Applies pending migrations; returns the names of those it applied. */
  async migrate(): Promise<string[]> {
    if (await this.allMigrationsApplied()) return [];
    return applyMigrations(this.adapterFactory);
  }

  /** Loading the schema engine takes seconds; a restart with nothing pending skips it. */
  private async allMigrationsApplied(): Promise<boolean> {
    const [table] = await this.prisma.$queryRaw<{ name: string | null }[]>`SELECT to_regclass('_prisma_migrations')::text AS name`;
    if (!table?.name) return false;
    const applied = await this.prisma.$queryRaw<{ migration_name: string }[]>`
      SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
    const names = new Set(applied.map((row) => row.migration_name));
    return readMigrationList().migrationDirectories.every((directory) => names.has(directory.path));
  }

  async ping(): Promise<void> {
    await this.prisma.$queryRaw`SELECT 1`;
  }

  async close(): Promise<void> {
    await this.prisma.$disconnect();
    await this.closeDriver();
  }
}
