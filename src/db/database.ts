import type { ArgType, SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { PrismaClient, type Prisma } from '../generated/prisma/client.ts';
import { applyMigrations, readMigrationList } from './migrations.ts';
import { openPglite, PgliteAdapterFactory } from './pglite.ts';
import { PgAdapterFactory } from './pg.ts';
import { preparedStatementNames } from './prepared-statements.ts';

export type { PrismaClient };

export interface DatabaseOptions {
  /** PostgreSQL connection string; without it an embedded PGlite in `dataDir` is used. */
  url?: string;
  dataDir?: string;
  poolSize?: number;
  /** Name (prepare) the statements marked for it (prepared-statements.ts); PostgreSQL only. Default true. */
  preparedStatements?: boolean;
  acquireTimeoutMs?: number;
  /** Count SQL statements in `statementCount` (tests and benchmarks). */
  countStatements?: boolean;
  /** An already open PGlite (tests load one from a migrated snapshot). */
  pglite?: PGlite;
  onIdleConnectionError?: (error: Error) => void;
  /** How often a LISTEN connection proves it is alive, and how long it may take (PostgreSQL). */
  listenHeartbeatMs?: number;
}

export interface ListenHandlers {
  onNotification(payload: string): void;
  /** Called once when an established listening connection drops; nothing is delivered after it. */
  onLost(error: Error): void;
}

/** Stops listening and releases the connection. */
export type Unlisten = () => Promise<void>;

type ListenDriver = (channel: string, handlers: ListenHandlers) => Promise<Unlisten>;

/** The one place that knows whether we run on PostgreSQL or on the embedded PGlite. */
export class Database {
  statementCount = 0;
  /** PostgreSQL: Prisma's driver adapter over the client's pool, for queryTextRows. */
  private textRowAdapter: Promise<SqlDriverAdapter> | null = null;

  private constructor(
    readonly prisma: PrismaClient,
    readonly kind: 'postgres' | 'pglite',
    private readonly adapterFactory: SqlMigrationAwareDriverAdapterFactory,
    private readonly closeDriver: () => Promise<void>,
    /** The PostgreSQL pool, for the few libraries that speak `pg` themselves (null on PGlite). */
    readonly pgPool: pg.Pool | null,
    private readonly listenDriver: ListenDriver,
    private readonly url: string | null = null,
    private readonly countsStatements = false,
    /** DATABASE_PREPARED_STATEMENTS: whether statements may be named (off behind PgBouncer's transaction mode). */
    private readonly namesStatements = true,
  ) {}

  static async open(options: DatabaseOptions): Promise<Database> {
    let factory: SqlMigrationAwareDriverAdapterFactory;
    let closeDriver: () => Promise<void>;
    let kind: Database['kind'];
    let pgPool: pg.Pool | null = null;
    let listenDriver: ListenDriver;
    if (options.url) {
      const pool = new pg.Pool({
        connectionString: options.url,
        max: options.poolSize ?? 10,
        connectionTimeoutMillis: options.acquireTimeoutMs ?? 5000,
      });
      // An idle connection that the server drops (restart, failover) must not crash the process;
      // the pool replaces it on the next checkout. Prisma's adapter detaches its own listener on close.
      pool.on('error', (error) => options.onIdleConnectionError?.(error));
      factory = new PgAdapterFactory(
        pool,
        options.preparedStatements === false ? undefined : { statementNameGenerator: preparedStatementNames() },
      );
      closeDriver = () => pool.end();
      pgPool = pool;
      listenDriver = listenOnDedicatedClient(options.url, options.acquireTimeoutMs ?? 5000, options.listenHeartbeatMs ?? 10_000);
      kind = 'postgres';
    } else {
      const client = options.pglite ?? (await openPglite(options.dataDir ?? './data'));
      factory = new PgliteAdapterFactory(client);
      closeDriver = () => client.close();
      listenDriver = (channel, handlers) => client.listen(channel, (payload) => handlers.onNotification(payload));
      kind = 'pglite';
    }
    const prisma = new PrismaClient({
      adapter: factory,
      log: options.countStatements ? [{ emit: 'event', level: 'query' }] : [],
    });
    const database = new Database(
      prisma,
      kind,
      factory,
      closeDriver,
      pgPool,
      listenDriver,
      options.url ?? null,
      options.countStatements,
      options.preparedStatements !== false,
    );
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

  /**
   * LISTENs on a channel. On PostgreSQL over a connection of its own, never one of the pool's (the
   * pool hands connections to every query); on PGlite in its one session, which cannot drop.
   */
  listen(channel: string, handlers: ListenHandlers): Promise<Unlisten> {
    return this.listenDriver(channel, handlers);
  }

  /**
   * A PostgreSQL connection of its own, outside the pool, for session state such as an advisory
   * lock (a pooled connection goes to whatever query comes next); null on PGlite. The caller ends it.
   */
  async openSessionClient(applicationName: string): Promise<pg.Client | null> {
    if (!this.url) return null;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000, application_name: applicationName });
    // A dropped connection must not crash the process before the caller listens for it.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    return client;
  }

  /**
   * One parameterised statement for a hot path: on PostgreSQL on the pool, no ORM in between, as a
   * named prepared statement (parsed once per connection) unless DATABASE_PREPARED_STATEMENTS is off;
   * on PGlite through Prisma. Answers the row count.
   */
  async executePrepared(name: string, text: string, values: unknown[]): Promise<number> {
    if (this.countsStatements) this.statementCount++;
    if (!this.pgPool) return this.prisma.$executeRawUnsafe(text, ...values);
    const statement = this.namesStatements ? { name, text, values } : { text, values };
    return (await this.pgPool.query(statement)).rowCount ?? 0;
  }

  /**
   * A hot read whose columns are all text (a page the statement shaped as JSON). On PostgreSQL it
   * goes through Prisma's driver adapter, the one the client runs on (same statement names, same
   * errors), but not through the client's request pipeline, which costs as much CPU per statement as
   * the driver itself (README, "How a page is read"). On PGlite through $queryRaw.
   */
  async queryTextRows<Columns extends string>(statement: Prisma.Sql): Promise<Record<Columns, string | null>[]> {
    if (!this.pgPool) return this.prisma.$queryRaw<Record<Columns, string | null>[]>(statement);
    if (this.countsStatements) this.statementCount++;
    this.textRowAdapter ??= this.adapterFactory.connect();
    const { columnNames, rows } = await (
      await this.textRowAdapter
    ).queryRaw({ sql: statement.text, args: statement.values, argTypes: statement.values.map(argTypeOf) });
    return rows.map((row) => Object.fromEntries(columnNames.map((name, i) => [name, row[i]])) as Record<Columns, string | null>);
  }

  async ping(): Promise<void> {
    await this.prisma.$queryRaw`SELECT 1`;
  }

  async close(): Promise<void> {
    await this.prisma.$disconnect();
    if (this.textRowAdapter) await (await this.textRowAdapter).dispose();
    await this.closeDriver();
  }
}

/** What the driver adapter needs to know of a value: lists are mapped element by element (Dates as Prisma sends them). */
const argTypeOf = (value: unknown): ArgType => ({ scalarType: 'unknown', arity: Array.isArray(value) ? 'list' : 'scalar' });

function listenOnDedicatedClient(url: string, connectTimeoutMs: number, heartbeatMs: number): ListenDriver {
  return async (channel, handlers) => {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: connectTimeoutMs,
      query_timeout: heartbeatMs,
      application_name: `inviteql listen ${channel}`,
    });
    let established = false;
    let finished = false;
    // Read by `lose` before it is set, so it cannot be a const declared where it is set.
    // eslint-disable-next-line prefer-const
    let heartbeat: NodeJS.Timeout | undefined;
    let ended: Promise<void> | undefined;
    const end = () => (ended ??= client.end().catch(() => {}));
    const lose = (error: Error) => {
      if (!established || finished) return;
      finished = true;
      clearInterval(heartbeat);
      void end();
      handlers.onLost(error);
    };
    client.on('error', lose);
    client.on('end', () => lose(new Error('the listening connection ended')));
    client.on('notification', (message) => {
      if (!finished && message.channel === channel) handlers.onNotification(message.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (error) {
      finished = true;
      await end();
      throw error;
    }
    established = true;
    // An idle connection can die silently (a NAT or load balancer forgets it) and then no
    // notification arrives. An answered query proves every earlier notification has arrived.
    heartbeat = setInterval(() => {
      client.query('SELECT 1').catch((error: Error) => lose(error));
    }, heartbeatMs);
    heartbeat.unref();
    return async () => {
      finished = true;
      clearInterval(heartbeat);
      await end();
    };
  };
}
