import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { ensureSandboxAccount, SANDBOX_ACCOUNT_ID } from '../src/sandbox/demo-data.ts';
import { generateTokenSecret } from '../src/auth/api-tokens.ts';
import { TokenAuthenticator } from '../src/auth/token-authenticator.ts';
import type { Database } from '../src/db/database.ts';
import { createLogger } from '../src/logger.ts';

/** A token looked up in the database, every time (no cache). */
const authenticate = (db: Database, authorization: string) =>
  new TokenAuthenticator(db, { ttlMs: 0, log: createLogger('silent') }).authenticate(authorization);

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

describe('sandbox demo data', () => {
  it('creates the demo account, channel -1001000000001 and tags once, whatever the number of starts', async () => {
    const fixed = generateTokenSecret();
    expect(await ensureSandboxAccount(database.db, fixed)).toBe(fixed);
    await ensureSandboxAccount(database.db, fixed);
    const prisma = database.db.prisma;
    const channels = await prisma.channel.findMany({ where: { accountId: SANDBOX_ACCOUNT_ID } });
    expect(channels.map((channel) => channel.telegramId)).toEqual([-1001000000001n]);
    // Made by the operator, so no ownership proof is asked for: verified from the start.
    expect(channels.map((channel) => channel.status)).toEqual(['VERIFIED']);
    expect(await prisma.tagType.count({ where: { accountId: SANDBOX_ACCOUNT_ID } })).toBeGreaterThanOrEqual(2);
    expect(await prisma.tag.count({ where: { accountId: SANDBOX_ACCOUNT_ID, typeId: null } })).toBeGreaterThanOrEqual(1);
    expect((await authenticate(database.db, `Bearer ${fixed}`)).accountId).toBe(SANDBOX_ACCOUNT_ID);
  });

  it('replaces the previous random token when started without SANDBOX_TOKEN', async () => {
    const first = await ensureSandboxAccount(database.db);
    const second = await ensureSandboxAccount(database.db);
    expect(second).not.toBe(first);
    await expect(authenticate(database.db, `Bearer ${first}`)).rejects.toThrow(/revoked/);
    expect((await authenticate(database.db, `Bearer ${second}`)).accountId).toBe(SANDBOX_ACCOUNT_ID);
  });
});
