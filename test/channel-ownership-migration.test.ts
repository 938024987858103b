import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { applyMigrations, readMigrationList } from '../src/db/migrations.ts';
import { openPglite, PgliteAdapterFactory } from '../src/db/pglite.ts';
import { PgAdapterFactory } from '../src/db/pg.ts';
import { withDatabase } from './support/global-setup.ts';

const migrations = readMigrationList().migrationDirectories.map((directory) => directory.path);
const ownership = migrations.find((name) => name.endsWith('_channel_ownership'))!;
const previous = migrations[migrations.indexOf(ownership) - 1]!;

/** An empty database of the suite's kind (not the migrated template): PostgreSQL, or PGlite in memory. */
interface EmptyDatabase {
  adapter: SqlMigrationAwareDriverAdapterFactory;
  exec(sql: string): Promise<unknown>;
  rows<T>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

async function emptyDatabase(): Promise<EmptyDatabase> {
  const target = inject('testDatabase');
  if (target.kind === 'postgres') {
    const name = `inviteql_migration_${Date.now()}_${process.pid}`;
    const admin = new pg.Client({ connectionString: target.serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const pool = new pg.Pool({ connectionString: withDatabase(target.serverUrl, name), max: 2 });
    return {
      adapter: new PgAdapterFactory(pool),
      exec: (sql) => pool.query(sql),
      rows: async <T>(sql: string) => (await pool.query(sql)).rows as T[],
      close: async () => {
        await pool.end();
        const dropper = new pg.Client({ connectionString: target.serverUrl });
        await dropper.connect();
        await dropper.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await dropper.end();
      },
    };
  }
  const scratch = await openPglite('memory://');
  return {
    adapter: new PgliteAdapterFactory(scratch),
    exec: (sql) => scratch.exec(sql),
    rows: async <T>(sql: string) => (await scratch.query<T>(sql)).rows,
    close: () => scratch.close(),
  };
}

let database: EmptyDatabase;
beforeAll(async () => {
  database = await emptyDatabase();
});
afterAll(() => database.close());

describe(`migration ${ownership}`, () => {
  it('keeps the earliest of several accounts holding one chat, supersedes the others, and verifies every other channel', async () => {
    const { adapter } = database;
    expect(await applyMigrations(adapter, { upTo: previous })).toContain(previous);
    await database.exec(`
      INSERT INTO accounts (id, name) VALUES
        ('00000000-0000-7000-8000-00000000000a', 'first'),
        ('00000000-0000-7000-8000-00000000000b', 'second'),
        ('00000000-0000-7000-8000-00000000000c', 'third');
      INSERT INTO channels (id, account_id, telegram_id, title, created_at) VALUES
        ('00000000-0000-7000-8000-0000000000b1', '00000000-0000-7000-8000-00000000000b', -1001, 'shared, second', '2026-01-02'),
        ('00000000-0000-7000-8000-0000000000a1', '00000000-0000-7000-8000-00000000000a', -1001, 'shared, first', '2026-01-01'),
        ('00000000-0000-7000-8000-0000000000c1', '00000000-0000-7000-8000-00000000000c', -1001, 'shared, third', '2026-01-03'),
        ('00000000-0000-7000-8000-0000000000a2', '00000000-0000-7000-8000-00000000000a', -1002, 'own', '2026-01-05');
      INSERT INTO invite_links (id, account_id, channel_id, chat_id, name, invite_link) VALUES
        ('00000000-0000-7000-8000-0000000001b1', '00000000-0000-7000-8000-00000000000b', '00000000-0000-7000-8000-0000000000b1', -1001, 'kept', 'https://t.me/+second');
    `);

    expect(await applyMigrations(adapter, { upTo: ownership })).toEqual([ownership]);

    const channels = await database.rows<{ title: string; status: string; verification_code: string | null }>(
      'SELECT title, status, verification_code FROM channels ORDER BY title',
    );
    expect(channels).toEqual([
      { title: 'own', status: 'VERIFIED', verification_code: null },
      { title: 'shared, first', status: 'VERIFIED', verification_code: null },
      { title: 'shared, second', status: 'SUPERSEDED', verification_code: null },
      { title: 'shared, third', status: 'SUPERSEDED', verification_code: null },
    ]);
    // Nothing is deleted: the superseded account keeps its links (read-only).
    expect(await database.rows('SELECT id FROM invite_links')).toHaveLength(1);
    // From now on a chat has one verified connection.
    await expect(database.exec(`UPDATE channels SET status = 'VERIFIED' WHERE title = 'shared, second'`)).rejects.toThrow(
      /channels_verified_telegram_id_key/,
    );
  }, 60_000);
});
