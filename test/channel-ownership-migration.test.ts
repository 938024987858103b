import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PGlite } from '@electric-sql/pglite';
import { applyMigrations, readMigrationList } from '../src/db/migrations.ts';
import { openPglite, PgliteAdapterFactory } from '../src/db/pglite.ts';

const migrations = readMigrationList().migrationDirectories.map((directory) => directory.path);
const ownership = migrations.find((name) => name.endsWith('_channel_ownership'))!;
const previous = migrations[migrations.indexOf(ownership) - 1]!;

let scratch: PGlite;
beforeAll(async () => {
  scratch = await openPglite('memory://');
});
afterAll(() => scratch.close());

describe(`migration ${ownership}`, () => {
  it('keeps the earliest of several accounts holding one chat, supersedes the others, and verifies every other channel', async () => {
    const adapter = new PgliteAdapterFactory(scratch);
    expect(await applyMigrations(adapter, { upTo: previous })).toContain(previous);
    await scratch.exec(`
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

    expect(await applyMigrations(adapter)).toEqual([ownership]);

    const channels = await scratch.query<{ title: string; status: string; verification_code: string | null }>(
      'SELECT title, status, verification_code FROM channels ORDER BY title',
    );
    expect(channels.rows).toEqual([
      { title: 'own', status: 'VERIFIED', verification_code: null },
      { title: 'shared, first', status: 'VERIFIED', verification_code: null },
      { title: 'shared, second', status: 'SUPERSEDED', verification_code: null },
      { title: 'shared, third', status: 'SUPERSEDED', verification_code: null },
    ]);
    // Nothing is deleted: the superseded account keeps its links (read-only).
    expect((await scratch.query('SELECT id FROM invite_links')).rows).toHaveLength(1);
    // From now on a chat has one verified connection.
    await expect(
      scratch.exec(`UPDATE channels SET status = 'VERIFIED' WHERE title = 'shared, second'`),
    ).rejects.toThrow(/channels_verified_telegram_id_key/);
  }, 60_000);
});
