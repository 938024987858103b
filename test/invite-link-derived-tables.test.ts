import { randomUUID } from 'node:crypto';
import { mulberry32 } from './support/random.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Database } from '../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { skipUnless } from './support/skip.ts';

/*
 * The tables derived from invite_links and invite_link_tags, and the triggers that keep them:
 * invite_links.tag_ids and the per-channel tag-set counters (invite_link_tag_sets), of migration
 * 20261122200703_invite_link_tag_sets; invite_link_search (each link's channel, lowercased name
 * and tag ids), of migration 20261122205237_invite_link_search. Every expectation is computed here
 * from the base tables (invite_links, invite_link_tags), never from what the triggers wrote.
 */

const onPostgres = inject('testDatabase').kind === 'postgres';

let database: TestDatabase;
let db: Database;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
});
afterAll(async () => {
  await database?.drop();
});

// ---------------------------------------------------------------------------------------------
// SQL helpers. Every value spliced into SQL text is a uuid or an integer made by this file.

const lit = (id: string) => `'${id}'::uuid`;
const uuidArray = (ids: readonly string[]) => `ARRAY[${ids.map((id) => `'${id}'`).join(',')}]::uuid[]`;
const exec = (sql: string) => db.prisma.$executeRawUnsafe(sql);
const query = <T>(sql: string) => db.prisma.$queryRawUnsafe<T[]>(sql);

/** A uuid order that is PostgreSQL's (bytewise): lowercase canonical text compares the same way. */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

interface LinkTags {
  id: string;
  tagIds: string[];
}
interface TagSetCount {
  channelId: string;
  tagIds: string[];
  linkCount: number;
}
const sortLinks = (rows: LinkTags[]) => [...rows].sort((a, b) => byText(a.id, b.id));
const setKey = (row: TagSetCount) => `${row.channelId}|${row.tagIds.join(',')}`;
const sortSets = (rows: TagSetCount[]) => [...rows].sort((a, b) => byText(setKey(a), setKey(b)));

type Run = <T>(sql: string) => Promise<T[]>;
interface Scope {
  /** Where to read (default: the client, outside any transaction). */
  run?: Run;
  /** Only these channels' links and counters (default: the whole database). */
  channels?: string[];
}
const channelTest = (column: string, channels?: string[]) => (channels ? `${column} = ANY(${uuidArray(channels)})` : 'true');

async function readCounters({ run = query, channels }: Scope = {}) {
  const links = await run<LinkTags>(
    `SELECT id::text AS "id", tag_ids::text[] AS "tagIds" FROM invite_links WHERE ${channelTest('channel_id', channels)}`,
  );
  const sets = await run<TagSetCount>(
    `SELECT channel_id::text AS "channelId", tag_ids::text[] AS "tagIds", link_count AS "linkCount" FROM invite_link_tag_sets ` +
      `WHERE ${channelTest('channel_id', channels)}`,
  );
  return { links: sortLinks(links), sets: sortSets(sets) };
}

interface SearchRow {
  id: string;
  channelId: string;
  nameLower: string;
  tagIds: string[];
}
const sortSearch = (rows: SearchRow[]) => [...rows].sort((a, b) => byText(a.id, b.id));

/**
 * The four invariants, each side computed from the base tables:
 *  1. every link's tag_ids is the sorted list of its invite_link_tags rows ('{}' without any);
 *  2. the non-zero counters are, per channel, how many links carry exactly each set of tags;
 *  3. no change is left over once its transaction has committed;
 *  4. invite_link_search holds one row per link: its channel, lower(name) and sorted tag ids.
 * Returns the expected values so a test can check that they are not vacuous.
 */
async function expectCountersExact(scope: Scope = {}) {
  const { run = query, channels } = scope;
  const expectedLinks = await run<LinkTags>(`
    SELECT l.id::text AS "id",
           coalesce((SELECT array_agg(x.tag_id ORDER BY x.tag_id) FROM invite_link_tags x WHERE x.invite_link_id = l.id),
                    '{}')::text[] AS "tagIds"
      FROM invite_links l
     WHERE ${channelTest('l.channel_id', channels)}`);
  const expectedSets = await run<TagSetCount>(`
    WITH link_sets AS (
      SELECT l.id, l.channel_id,
             coalesce(array_agg(x.tag_id ORDER BY x.tag_id) FILTER (WHERE x.tag_id IS NOT NULL), '{}') AS tag_ids
        FROM invite_links l LEFT JOIN invite_link_tags x ON x.invite_link_id = l.id
       WHERE ${channelTest('l.channel_id', channels)}
       GROUP BY l.id, l.channel_id
    )
    SELECT channel_id::text AS "channelId", tag_ids::text[] AS "tagIds", count(*)::int AS "linkCount"
      FROM link_sets GROUP BY channel_id, tag_ids`);
  const actual = await readCounters(scope);

  expect(actual.links, 'invite_links.tag_ids').toEqual(sortLinks(expectedLinks));
  expect(
    actual.sets.filter((row) => row.linkCount !== 0),
    'invite_link_tag_sets (non-zero rows)',
  ).toEqual(sortSets(expectedSets));
  // Each key is the md5 of its own (sorted) ids, so no set can sit under two keys.
  const misKeyed = await run<{ tagIds: string[] }>(
    `SELECT tag_ids::text[] AS "tagIds" FROM invite_link_tag_sets ` +
      `WHERE tag_set_key IS DISTINCT FROM md5(array_to_string(tag_ids, ','))::uuid AND ${channelTest('channel_id', channels)}`,
  );
  expect(misKeyed, 'rows whose tag_set_key is not md5 of their tag_ids').toEqual([]);
  const [pending] = await run<{ count: number }>(`SELECT count(*)::int AS "count" FROM invite_link_tag_set_changes`);
  expect(pending!.count, 'rows left in invite_link_tag_set_changes').toBe(0);
  const expectedSearch = await run<SearchRow>(`
    SELECT l.id::text AS "id", l.channel_id::text AS "channelId", lower(l.name) AS "nameLower",
           coalesce((SELECT array_agg(x.tag_id ORDER BY x.tag_id) FROM invite_link_tags x WHERE x.invite_link_id = l.id),
                    '{}')::text[] AS "tagIds"
      FROM invite_links l
     WHERE ${channelTest('l.channel_id', channels)}`);
  // Rows of links in other channels count too when `channels` is given: a row left behind by a
  // moved link would sit under its old channel.
  const search = await run<SearchRow>(
    `SELECT invite_link_id::text AS "id", channel_id::text AS "channelId", name_lower AS "nameLower", tag_ids::text[] AS "tagIds" ` +
      `FROM invite_link_search WHERE ${channelTest('channel_id', channels)}`,
  );
  expect(sortSearch(search), 'invite_link_search').toEqual(sortSearch(expectedSearch));
  return { links: sortLinks(expectedLinks), sets: sortSets(expectedSets) };
}

/** The SQLSTATE of an error from Prisma (raw query) or from pg. */
function sqlState(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (value: unknown): string | undefined => {
    if (!value || typeof value !== 'object' || seen.has(value)) return undefined;
    seen.add(value);
    const record = value as Record<string, unknown>;
    for (const key of ['code', 'originalCode']) {
      const code = record[key];
      if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('P')) return code;
    }
    for (const key of ['meta', 'cause', 'driverAdapterError', 'kind']) {
      const found = visit(record[key]);
      if (found) return found;
    }
    return undefined;
  };
  return visit(error);
}

// ---------------------------------------------------------------------------------------------
// Fixtures

let telegramIds = 1000;
let linkNumber = 0;

async function createAccount() {
  const id = randomUUID();
  await exec(`INSERT INTO accounts (id, name) VALUES (${lit(id)}, 'tag sets')`);
  return id;
}
async function createChannel(accountId: string) {
  const id = randomUUID();
  const telegramId = -1001000000000 - telegramIds++;
  await exec(`INSERT INTO channels (id, account_id, telegram_id, title) VALUES (${lit(id)}, ${lit(accountId)}, ${telegramId}, 'c')`);
  return { id, telegramId };
}
/** n links of a channel, in one multi-row INSERT. */
function linkRows(accountId: string, channel: { id: string; telegramId: number }, n: number) {
  return Array.from({ length: n }, () => {
    const id = randomUUID();
    const number = linkNumber++;
    return {
      id,
      sql: `(${lit(id)}, ${lit(accountId)}, ${lit(channel.id)}, ${channel.telegramId}, 'link ${number}', 'https://t.me/+tagsets${number}')`,
    };
  });
}
const insertLinksSql = (rows: { sql: string }[]) =>
  `INSERT INTO invite_links (id, account_id, channel_id, chat_id, name, invite_link) VALUES ${rows.map((row) => row.sql).join(', ')}`;
async function createLinks(accountId: string, channel: { id: string; telegramId: number }, n: number) {
  const rows = linkRows(accountId, channel, n);
  await exec(insertLinksSql(rows));
  return rows.map((row) => row.id);
}
async function createTags(accountId: string, typeId: string | null, n: number) {
  const ids = Array.from({ length: n }, () => randomUUID());
  await exec(
    `INSERT INTO tags (id, account_id, type_id, name, color) VALUES ` +
      ids.map((id, i) => `(${lit(id)}, ${lit(accountId)}, ${typeId ? lit(typeId) : 'NULL'}, 'tag ${i}', '#ffffff')`).join(', '),
  );
  return ids;
}
async function createTagType(accountId: string) {
  const id = randomUUID();
  await exec(`INSERT INTO tag_types (id, account_id, name) VALUES (${lit(id)}, ${lit(accountId)}, 'type ${id}')`);
  return id;
}
/** (link, tag) pairs as VALUES rows; the channel is the link's own. */
const tagRowsSql = (pairs: [link: string, tag: string][]) =>
  `INSERT INTO invite_link_tags (invite_link_id, channel_id, tag_id) ` +
  `SELECT v.link, l.channel_id, v.tag FROM (VALUES ${pairs.map(([link, tag]) => `(${lit(link)}, ${lit(tag)})`).join(', ')}) v(link, tag) ` +
  `JOIN invite_links l ON l.id = v.link`;

// ---------------------------------------------------------------------------------------------

describe('invite_links.tag_ids, invite_link_tag_sets and invite_link_search', () => {
  it('follow every kind of write', async () => {
    const account = await createAccount();
    const c1 = await createChannel(account);
    const c2 = await createChannel(account);
    const type = await createTagType(account);
    const [t1, t2, t3] = (await createTags(account, type, 3)) as [string, string, string];
    const [u1, u2] = (await createTags(account, null, 2)) as [string, string];

    // A multi-row insert of links (no tags): six in c1, three in c2.
    const rows = [...linkRows(account, c1, 6), ...linkRows(account, c2, 3)];
    await exec(insertLinksSql(rows));
    const [l1, l2, l3, l4, l5, l6, l7, l8, l9] = rows.map((row) => row.id) as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    let expected = await expectCountersExact();
    expect(expected.sets).toEqual(
      sortSets([
        { channelId: c1.id, tagIds: [], linkCount: 6 },
        { channelId: c2.id, tagIds: [], linkCount: 3 },
      ]),
    );

    // A multi-row insert of tag rows across several links of both channels.
    const inserted = await exec(
      tagRowsSql([
        [l1, t1],
        [l1, u1],
        [l2, u1],
        [l2, t1],
        [l3, t2],
        [l4, t1],
        [l4, t2],
        [l4, u2],
        [l7, t1],
        [l8, u1],
        [l8, u2],
      ]),
    );
    expect(inserted).toBe(11);
    expected = await expectCountersExact();
    expect(expected.sets.length).toBe(7); // c1: {t1,u1}×2, {t2}, {t1,t2,u2}, {}×2; c2: {t1}, {u1,u2}, {}
    expect(expected.sets.find((row) => row.channelId === c1.id && row.linkCount === 2 && row.tagIds.length === 2)).toBeDefined();

    // Delete some tag rows (of three links, two channels).
    expect(
      await exec(
        `DELETE FROM invite_link_tags WHERE (invite_link_id, tag_id) IN ((${lit(l1)}, ${lit(u1)}), (${lit(l4)}, ${lit(t2)}), (${lit(l8)}, ${lit(u1)}))`,
      ),
    ).toBe(3);
    await expectCountersExact();

    // Change a tag row's tag.
    expect(await exec(`UPDATE invite_link_tags SET tag_id = ${lit(t3)} WHERE invite_link_id = ${lit(l2)} AND tag_id = ${lit(u1)}`)).toBe(1);
    await expectCountersExact();
    // And by tag rather than by link (here the only tag row of l3).
    expect(await exec(`UPDATE invite_link_tags SET tag_id = ${lit(u2)} WHERE tag_id = ${lit(t2)}`)).toBe(1);
    await expectCountersExact();

    // Move a tag row to another link of the same channel: both links change.
    expect(
      await exec(`UPDATE invite_link_tags SET invite_link_id = ${lit(l5)} WHERE invite_link_id = ${lit(l4)} AND tag_id = ${lit(t1)}`),
    ).toBe(1);
    expected = await expectCountersExact();
    expect(expected.links.find((link) => link.id === l5)!.tagIds).toEqual([t1]);

    // Delete a tag: its invite_link_tags rows go by cascade (links of both channels).
    await exec(`DELETE FROM tags WHERE id = ${lit(t1)}`);
    expected = await expectCountersExact();
    expect(expected.links.find((link) => link.id === l7)!.tagIds).toEqual([]);

    // Delete a link that has tags: its tag rows go by cascade.
    expect(await exec(`DELETE FROM invite_links WHERE id = ${lit(l3)}`)).toBe(1);
    await expectCountersExact();

    // Move two links (one with tags) to the other channel; the tag rows follow (ON UPDATE CASCADE).
    expect(
      await exec(`UPDATE invite_links SET channel_id = ${lit(c2.id)}, chat_id = ${c2.telegramId} WHERE id IN (${lit(l2)}, ${lit(l6)})`),
    ).toBe(2);
    expected = await expectCountersExact();
    const movedTagChannels = await query<{ channelId: string }>(
      `SELECT DISTINCT channel_id::text AS "channelId" FROM invite_link_tags WHERE invite_link_id = ${lit(l2)}`,
    );
    expect(movedTagChannels).toEqual([{ channelId: c2.id }]);
    expect(expected.sets.filter((row) => row.channelId === c2.id).reduce((sum, row) => sum + row.linkCount, 0)).toBe(5);

    // An update that touches neither channel nor tags changes no counter (not even a zero row).
    const before = await readCounters();
    expect(await exec(`UPDATE invite_links SET budget = budget + 5 WHERE account_id = ${lit(account)}`)).toBe(8);
    expect(await readCounters()).toEqual(before);
    await expectCountersExact();

    // Rename links (one in each channel), with upper-case Cyrillic and LIKE's wildcards in the names.
    expect(await exec(`UPDATE invite_links SET name = 'ЁЛКА Promo 100%_\\' WHERE id IN (${lit(l1)}, ${lit(l7)})`)).toBe(2);
    expected = await expectCountersExact();
    expect(await query(`SELECT name_lower AS "nameLower" FROM invite_link_search WHERE invite_link_id = ${lit(l7)}`)).toEqual([
      { nameLower: 'ёлка promo 100%_\\' },
    ]);

    // TRUNCATE invite_link_tags: every link is back to no tags.
    await exec(`TRUNCATE invite_link_tags`);
    expected = await expectCountersExact();
    expect(expected.links.every((link) => link.tagIds.length === 0)).toBe(true);
    expect(expected.links).toHaveLength(8);

    // Put some tags back, then delete a channel: its links (and their tag rows) go by cascade.
    await exec(
      tagRowsSql([
        [l1, u1],
        [l5, u1],
        [l5, u2],
        [l9, u2],
      ]),
    );
    await expectCountersExact();
    await exec(`DELETE FROM channels WHERE id = ${lit(c1.id)}`);
    expected = await expectCountersExact();
    expect(expected.sets.some((row) => row.channelId === c1.id)).toBe(false);
  });

  it('a rolled-back transaction, or a rolled-back savepoint, changes nothing', async () => {
    const account = await createAccount();
    const channel = await createChannel(account);
    const other = await createChannel(account);
    const [a, b, c] = (await createTags(account, null, 3)) as [string, string, string];
    const [m1, m2, m3, m4] = (await createLinks(account, channel, 4)) as [string, string, string, string];
    await exec(
      tagRowsSql([
        [m1, a],
        [m2, a],
        [m2, b],
      ]),
    );
    await expectCountersExact();
    const before = await readCounters();

    // A whole transaction that throws: every kind of write, rolled back.
    await expect(
      db.prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(
          tagRowsSql([
            [m3, c],
            [m4, a],
            [m4, b],
          ]),
        );
        await tx.$executeRawUnsafe(`DELETE FROM invite_link_tags WHERE invite_link_id = ${lit(m2)}`);
        await tx.$executeRawUnsafe(`DELETE FROM invite_links WHERE id = ${lit(m1)}`);
        await tx.$executeRawUnsafe(`UPDATE invite_links SET channel_id = ${lit(other.id)} WHERE id = ${lit(m4)}`);
        await tx.$executeRawUnsafe(`UPDATE invite_links SET name = 'Rolled back' WHERE id = ${lit(m3)}`);
        await tx.$executeRawUnsafe(insertLinksSql(linkRows(account, channel, 2)));
        throw new Error('roll it back');
      }),
    ).rejects.toThrow('roll it back');
    expect(await readCounters()).toEqual(before);
    await expectCountersExact();

    // Savepoints: the part rolled back to a savepoint is gone, a released one is kept; the counters
    // show the transaction's changes only once it commits.
    const [kept] = linkRows(account, channel, 1) as [{ id: string; sql: string }];
    const [discarded] = linkRows(account, channel, 1) as [{ id: string; sql: string }];
    await db.prisma.$transaction(async (tx) => {
      const txQuery = <T>(sql: string) => tx.$queryRawUnsafe<T[]>(sql);
      await tx.$executeRawUnsafe(tagRowsSql([[m1, b]])); // m1 {a} → {a,b}
      await tx.$executeRawUnsafe(`SAVEPOINT first`);
      await tx.$executeRawUnsafe(
        tagRowsSql([
          [m3, a],
          [m3, b],
          [m3, c],
        ]),
      );
      await tx.$executeRawUnsafe(`DELETE FROM invite_links WHERE id = ${lit(m2)}`);
      await tx.$executeRawUnsafe(insertLinksSql([discarded]));
      await tx.$executeRawUnsafe(`UPDATE invite_links SET channel_id = ${lit(other.id)} WHERE id = ${lit(m4)}`);
      await tx.$executeRawUnsafe(`ROLLBACK TO SAVEPOINT first`);
      await tx.$executeRawUnsafe(`SAVEPOINT second`);
      await tx.$executeRawUnsafe(insertLinksSql([kept]));
      await tx.$executeRawUnsafe(
        tagRowsSql([
          [kept.id, c],
          [m4, c],
        ]),
      );
      await tx.$executeRawUnsafe(`RELEASE SAVEPOINT second`);
      // Inside the transaction: tag_ids already follow, the counters do not yet.
      const inside = await readCounters({ run: txQuery });
      expect(inside.sets).toEqual(before.sets);
      expect(inside.links.find((link) => link.id === m1)!.tagIds).toEqual([a, b].sort(byText));
      const [pending] = await txQuery<{ count: number }>(
        `SELECT count(*)::int AS "count" FROM invite_link_tag_set_changes WHERE txid = pg_current_xact_id()`,
      );
      expect(pending!.count).toBeGreaterThan(0);
    });
    const expected = await expectCountersExact();
    expect(await readCounters()).not.toEqual(before);
    const inChannel = expected.sets.filter((row) => row.channelId === channel.id);
    expect(sortSets(inChannel)).toEqual(
      sortSets([
        { channelId: channel.id, tagIds: [a, b].sort(byText), linkCount: 2 }, // m1, m2
        { channelId: channel.id, tagIds: [], linkCount: 1 }, // m3
        { channelId: channel.id, tagIds: [c], linkCount: 2 }, // m4, kept
      ]),
    );
    expect(expected.links.some((link) => link.id === discarded.id)).toBe(false);
  });

  it('tag_ids cannot be written directly', async () => {
    const account = await createAccount();
    const channel = await createChannel(account);
    const [a, b] = (await createTags(account, null, 2)) as [string, string];
    const [n1, n2] = (await createLinks(account, channel, 2)) as [string, string];
    await exec(tagRowsSql([[n1, a]]));
    await expectCountersExact();
    const before = await readCounters();

    const [row] = linkRows(account, channel, 1) as [{ id: string; sql: string }];
    const insertWithTags = `INSERT INTO invite_links (id, account_id, channel_id, chat_id, name, invite_link, tag_ids) VALUES ${row.sql.replace(/\)$/, `, ${uuidArray([a])})`)}`;
    const attempts = [
      insertWithTags,
      `UPDATE invite_links SET tag_ids = ${uuidArray([b])} WHERE id = ${lit(n2)}`,
      `UPDATE invite_links SET tag_ids = '{}' WHERE id = ${lit(n1)}`,
      `UPDATE invite_links SET tag_ids = ${uuidArray([a, b])}, budget = 1 WHERE channel_id = ${lit(channel.id)}`,
    ];
    for (const sql of attempts) {
      const error = await exec(sql).then(
        () => null,
        (thrown: unknown) => thrown,
      );
      expect(error, sql).not.toBeNull();
      expect(sqlState(error), sql).toBe('23514');
      expect(String((error as Error).message), sql).toMatch(/derived/);
    }
    expect(await readCounters()).toEqual(before);
    expect(await query(`SELECT 1 FROM invite_links WHERE id = ${lit(row.id)}`)).toEqual([]);
    await expectCountersExact();
  });

  it('TRUNCATE invite_links, inside a transaction that wrote before and after it', async () => {
    const account = await createAccount();
    const channel = await createChannel(account);
    const [a] = (await createTags(account, null, 1)) as [string];
    const [p1] = (await createLinks(account, channel, 2)) as [string, string];
    await exec(tagRowsSql([[p1, a]]));
    await expectCountersExact();
    await db.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(insertLinksSql(linkRows(account, channel, 1)));
      await tx.$executeRawUnsafe(`TRUNCATE invite_links CASCADE`);
      const [q1, q2] = linkRows(account, channel, 2) as [{ id: string; sql: string }, { id: string; sql: string }];
      await tx.$executeRawUnsafe(insertLinksSql([q1, q2]));
      await tx.$executeRawUnsafe(tagRowsSql([[q1.id, a]]));
    });
    const expected = await expectCountersExact();
    expect(expected.sets).toEqual(
      sortSets([
        { channelId: channel.id, tagIds: [a], linkCount: 1 },
        { channelId: channel.id, tagIds: [], linkCount: 1 },
      ]),
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe.skipIf(
  skipUnless(
    onPostgres,
    'concurrent transactions (PostgreSQL)',
    'the embedded database runs one transaction at a time; set TEST_DATABASE_URL',
  ),
)('concurrent transactions (PostgreSQL)', () => {
  const clients: pg.Client[] = [];
  async function connect(n: number) {
    const opened = await Promise.all(
      Array.from({ length: n }, async () => {
        const client = new pg.Client({ connectionString: database.url! });
        await client.connect();
        await client.query(`SET deadlock_timeout = '100ms'`);
        return client;
      }),
    );
    clients.push(...opened);
    return opened;
  }
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end()));
  });

  /**
   * Four links in a fresh channel: L1 {}, L2 {c}, L3 {c}, L4 {}. T1 s1 moves L1 {}→{a} and T2 s1 L2
   * {c}→{b,c}; then T1 s2 moves L3 {c}→{} (counter rows {c} and {}) and T2 s2 L4 {}→{a} (rows {}
   * and {a}). Applied per statement, T1 s2 waits for {c} (T2's) and T2 s2 for {} (T1's): a cycle.
   */
  async function interleave(immediate: boolean) {
    const [t1, t2] = (await connect(2)) as [pg.Client, pg.Client];
    const account = await createAccount();
    const channel = await createChannel(account);
    const [a, b, c] = (await createTags(account, null, 3)) as [string, string, string];
    const [l1, l2, l3, l4] = (await createLinks(account, channel, 4)) as [string, string, string, string];
    await exec(
      tagRowsSql([
        [l2, c],
        [l3, c],
      ]),
    );
    await expectCountersExact({ channels: [channel.id] });

    for (const client of [t1, t2]) {
      await client.query('BEGIN');
      if (immediate) await client.query('SET CONSTRAINTS invite_link_tag_set_changes_apply IMMEDIATE');
    }
    await t1.query(tagRowsSql([[l1, a]]));
    await t2.query(tagRowsSql([[l2, b]]));
    const t1s2 = t1.query(`DELETE FROM invite_link_tags WHERE invite_link_id = ${lit(l3)}`);
    await sleep(50);
    const t2s2 = t2.query(tagRowsSql([[l4, a]]));
    const [r1, r2] = await Promise.allSettled([t1s2, t2s2]);
    return { t1, t2, r1, r2, tags: { a, b, c }, channel };
  }

  it('retagging transactions that interleave do not deadlock', async () => {
    const { t1, t2, r1, r2, tags, channel } = await interleave(false);
    expect(r1.status).toBe('fulfilled');
    expect(r2.status).toBe('fulfilled');
    const commits = await Promise.allSettled([t1.query('COMMIT'), t2.query('COMMIT')]);
    expect(commits.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled']);
    const expected = await expectCountersExact({ channels: [channel.id] });
    expect(expected.sets).toEqual(
      sortSets([
        { channelId: channel.id, tagIds: [tags.a], linkCount: 2 },
        { channelId: channel.id, tagIds: [tags.b, tags.c].sort(byText), linkCount: 1 },
        { channelId: channel.id, tagIds: [], linkCount: 1 },
      ]),
    );
  });

  it('…whereas the same transactions applying their counters per statement deadlock (negative control)', async () => {
    const { t1, t2, r1, r2, channel } = await interleave(true);
    const results = [r1, r2];
    const failed = results.filter((result) => result.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect(sqlState((failed[0] as PromiseRejectedResult).reason)).toBe('40P01');
    const [loser, winner] = r1.status === 'rejected' ? [t1, t2] : [t2, t1];
    await loser.query('ROLLBACK');
    await winner.query('COMMIT');
    await expectCountersExact({ channels: [channel.id] });
  });

  /**
   * T1 adds tag a to a link and has not committed; T2 adds tag b to the same link. T2's trigger
   * reads the link's tag rows without T1's, then waits for T1's lock on the link row; after T1
   * commits, T2's UPDATE re-checks only the link row and writes its stale set.
   */
  it('two transactions tagging the same link at once leave it with both tags', async () => {
    const [t1, t2] = (await connect(2)) as [pg.Client, pg.Client];
    const account = await createAccount();
    const channel = await createChannel(account);
    const [a, b] = (await createTags(account, null, 2)) as [string, string];
    const [link] = (await createLinks(account, channel, 1)) as [string];
    const [{ pid }] = (await t2.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];

    await t1.query('BEGIN');
    await t1.query(tagRowsSql([[link, a]]));
    await t2.query('BEGIN');
    const second = t2.query(tagRowsSql([[link, b]]));
    // T2's statement waits for T1 (on the link's row, which T1's trigger updated).
    await expect
      .poll(
        async () =>
          (await query<{ waiting: string | null }>(`SELECT wait_event_type AS "waiting" FROM pg_stat_activity WHERE pid = ${pid}`))[0]
            ?.waiting,
        {
          timeout: 2000,
          interval: 20,
        },
      )
      .toBe('Lock');
    await t1.query('COMMIT');
    await second;
    await t2.query('COMMIT');
    const tagRows = await query<{ tagId: string }>(
      `SELECT tag_id::text AS "tagId" FROM invite_link_tags WHERE invite_link_id = ${lit(link)}`,
    );
    expect(tagRows.map((row) => row.tagId).sort(byText)).toEqual([a, b].sort(byText));
    await expectCountersExact({ channels: [channel.id] });
  });

  it('concurrent random retags end exact', async () => {
    const CONNECTIONS = 6;
    const TRANSACTIONS = 15;
    const account = await createAccount();
    const channel = await createChannel(account);
    // Few tags and many links: links share sets, so transactions keep meeting on the same counter rows.
    const tags = await createTags(account, null, 4);
    const links = await createLinks(account, channel, 24);
    const seeded = mulberry32(20261122);
    const pick = <T>(random: () => number, items: readonly T[], n: number) => {
      const pool = [...items];
      const chosen: T[] = [];
      while (chosen.length < n && pool.length) chosen.push(pool.splice(Math.floor(random() * pool.length), 1)[0]!);
      return chosen;
    };
    await exec(
      tagRowsSql(links.flatMap((link) => pick(seeded, tags, Math.floor(seeded() * 3)).map((tag): [string, string] => [link, tag]))),
    );
    await expectCountersExact({ channels: [channel.id] });

    const connections = await connect(CONNECTIONS);
    const errors: string[] = [];
    await Promise.all(
      connections.map(async (client, index) => {
        const random = mulberry32(1000 + index);
        for (let n = 0; n < TRANSACTIONS; n++) {
          try {
            await client.query('BEGIN');
            const chosen = pick(random, links, 1 + Math.floor(random() * 3));
            // The links themselves are locked first, in id order: without it two transactions
            // retagging the same links in opposite orders deadlock on invite_links rows (updated by
            // the tag_ids trigger) or on invite_link_tags rows — the workload's own cycles, not the
            // counters'. The writes below still come in random order, and every commit still
            // applies its counters concurrently with the others.
            await client.query(`SELECT 1 FROM invite_links WHERE id = ANY(${uuidArray(chosen)}) ORDER BY id FOR NO KEY UPDATE`);
            for (const link of chosen) {
              const removed = pick(random, tags, Math.floor(random() * 3));
              if (removed.length) {
                await client.query(
                  `DELETE FROM invite_link_tags WHERE invite_link_id = ${lit(link)} AND tag_id = ANY(${uuidArray(removed)})`,
                );
              }
              const added = pick(random, tags, Math.floor(random() * 3));
              if (added.length) {
                await client.query(`${tagRowsSql(added.map((tag): [string, string] => [link, tag]))} ON CONFLICT DO NOTHING`);
              }
            }
            await client.query('COMMIT');
          } catch (error) {
            const detail = error as pg.DatabaseError;
            errors.push(
              `connection ${index} transaction ${n}: ${sqlState(error)} ${detail.message} ${detail.detail ?? ''} ${detail.where ?? ''}`,
            );
            await client.query('ROLLBACK');
          }
        }
      }),
    );
    expect.soft(errors).toEqual([]);
    await expectCountersExact({ channels: [channel.id] });
  });
});
