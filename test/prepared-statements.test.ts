import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Database } from '../src/db/database.ts';
import { storeUpdates } from '../src/services/telegram-updates.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { skipUnless } from './support/skip.ts';
import { PREPARED_STATEMENT_MARK, preparedStatementNames } from '../src/db/prepared-statements.ts';
import { loadConfig } from '../src/config.ts';
import { Prisma } from '../src/generated/prisma/client.ts';
import { isDatabaseUnavailable } from '../src/db/errors.ts';

describe('prepared statements', () => {
  it('names only marked statements, one name per distinct text', () => {
    const nameOf = preparedStatementNames();
    const page = `${PREPARED_STATEMENT_MARK}\nSELECT 1`;
    const other = `${PREPARED_STATEMENT_MARK}\nSELECT 2`;
    expect(nameOf({ sql: 'SELECT "id" FROM "invite_links" WHERE "id" IN ($1,$2)' })).toBeUndefined();
    expect(nameOf({ sql: page })).toMatch(/^iq_/);
    expect(nameOf({ sql: page })).toBe(nameOf({ sql: page }));
    expect(nameOf({ sql: other })).not.toBe(nameOf({ sql: page }));
  });

  it('stops naming new texts past its limit; the ones named keep their names', () => {
    const nameOf = preparedStatementNames(2);
    const texts = [1, 2, 3].map((n) => `${PREPARED_STATEMENT_MARK} SELECT ${n}`);
    const first = nameOf({ sql: texts[0]! });
    expect(nameOf({ sql: texts[1]! })).toBeDefined();
    expect(nameOf({ sql: texts[2]! })).toBeUndefined();
    expect(nameOf({ sql: texts[0]! })).toBe(first);
  });

  it('DATABASE_PREPARED_STATEMENTS defaults to on; false turns it off; anything else is refused', () => {
    expect(loadConfig({}).DATABASE_PREPARED_STATEMENTS).toBe(true);
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'false' }).DATABASE_PREPARED_STATEMENTS).toBe(false);
    expect(() => loadConfig({ DATABASE_PREPARED_STATEMENTS: 'no' })).toThrow();
  });
});

const onPostgres = inject('testDatabase').kind === 'postgres';
const skipPool = skipUnless(
  onPostgres,
  'the webhook insert on the pool with and without names',
  'it reads pg_prepared_statements of a PostgreSQL session; PGlite stores through Prisma (set TEST_DATABASE_URL)',
);

describe.skipIf(skipPool)("the webhook's one-update insert", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it.each([
    [true, 1],
    [false, 0],
  ])('with DATABASE_PREPARED_STATEMENTS=%s leaves %i named statement on its connection', async (preparedStatements, named) => {
    // One connection, so the statement and the check share its session.
    const db = await Database.open({ url: database.url!, poolSize: 1, preparedStatements });
    try {
      const update = {
        update_id: preparedStatements ? 71 : 72,
        my_chat_member: { chat: { id: -1 }, from: { id: 1 }, date: 1, new_chat_member: { user: { id: 2 } } },
      };
      expect(await storeUpdates({ db }, [update])).toBe(1);
      const { rows } = await db.pgPool!.query(
        "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'telegram_update_insert'",
      );
      expect(rows[0].n).toBe(named);
    } finally {
      await db.close();
    }
  });
});

describe.skipIf(skipPool)('a hot read through the driver adapter (queryTextRows)', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database.drop());

  it('answers what $queryRaw answers for the same statement, whatever its values', async () => {
    const db = await Database.open({ url: database.url! });
    try {
      const at = new Date('2026-03-04T05:06:07.089Z');
      const ids = ['00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000002'];
      const statement = Prisma.sql`${Prisma.raw(PREPARED_STATEMENT_MARK)}
        SELECT ${'Чёрная пятница'}::text AS name, ${BigInt('-1001000099999')}::bigint::text AS chat,
          ${20}::int::text AS n, ${ids}::uuid[]::text AS ids, ${at}::timestamptz::text AS at,
          ${null}::text AS nothing, ${true}::boolean::text AS yes, json_build_object('a', 1)::text AS json`;
      const viaClient = await db.prisma.$queryRaw<Record<string, string | null>[]>(statement);
      const viaAdapter = await db.queryTextRows(statement);
      expect(viaAdapter).toEqual(viaClient);
      expect(viaAdapter[0]).toMatchObject({ chat: '-1001000099999', nothing: null, ids: `{${ids.join(',')}}` });
    } finally {
      await db.close();
    }
  });

  it.each([
    [true, 1],
    [false, 0],
  ])('with DATABASE_PREPARED_STATEMENTS=%s leaves %i named statement of its own on the connection', async (preparedStatements, named) => {
    const db = await Database.open({ url: database.url!, poolSize: 1, preparedStatements });
    try {
      const marker = `hot read ${preparedStatements}`;
      const [row] = await db.queryTextRows<'marker'>(Prisma.sql`${Prisma.raw(PREPARED_STATEMENT_MARK)} SELECT ${marker}::text AS marker`);
      expect(row?.marker).toBe(marker);
      const { rows } = await db.pgPool!.query("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'iq\\_%'");
      expect(rows[0].n).toBe(named);
    } finally {
      await db.close();
    }
  });

  it('counts its statements where the Database counts them, and reports what PostgreSQL refuses', async () => {
    const db = await Database.open({ url: database.url!, countStatements: true });
    try {
      const before = db.statementCount;
      await db.queryTextRows(Prisma.sql`SELECT 'x'::text AS x`);
      expect(db.statementCount - before).toBe(1);
      await expect(db.queryTextRows(Prisma.sql`SELECT ${'not a uuid'}::uuid::text AS id`)).rejects.toMatchObject({
        name: 'DriverAdapterError',
        cause: { kind: 'InvalidInputValue' },
      });
    } finally {
      await db.close();
    }
  });

  it('fails as unavailable when the database cannot be reached', async () => {
    const db = await Database.open({ url: 'postgresql://postgres@127.0.0.1:1/test', acquireTimeoutMs: 1000 });
    try {
      const error = await db.queryTextRows(Prisma.sql`SELECT 'x'::text AS x`).catch((caught: unknown) => caught);
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await db.close();
    }
  });
});
