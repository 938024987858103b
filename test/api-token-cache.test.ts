import { cuttableProxy } from './support/db-proxy.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { App } from '../src/app.ts';
import { Database } from '../src/db/database.ts';
import { createServer, type InviteqlServer } from '../src/http/server.ts';
import { TokenAuthenticator, type TokenAuthenticatorOptions } from '../src/auth/token-authenticator.ts';
import { hashToken, issueApiToken } from '../src/auth/api-tokens.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { skipUnless } from './support/skip.ts';

const onPostgres = inject('testDatabase').kind === 'postgres';

let t: TestApp;
let owner: { accountId: string; token: string };

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.createAccount('Owner');
});
afterAll(() => t.close());

/** Runs nothing against the database itself: its statements are the token lookup's. */
const TYPENAME = '{ __typename }';

async function request(token: string, query = TYPENAME, server: InviteqlServer = t.server) {
  const response = await server.fetch('http://inviteql.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: any; errors?: { message: string; extensions: { code: string } }[] };
}

/** The response and the SQL statements the App's Database ran for it. */
async function counted(token: string, server: InviteqlServer = t.server, db: Database = t.app.db) {
  const before = db.statementCount;
  const response = await request(token, TYPENAME, server);
  return { response, statements: db.statementCount - before };
}

async function newToken(name: string, server: InviteqlServer = t.server) {
  const created = await request(owner.token, `mutation { createApiToken(name: "${name}") { token apiToken { id } } }`, server);
  expect(created.errors).toBeUndefined();
  return { token: created.data.createApiToken.token as string, id: created.data.createApiToken.apiToken.id as string };
}

const revoke = (id: string, server: InviteqlServer = t.server) =>
  request(owner.token, `mutation { revokeApiToken(id: "${id}") { revokedAt } }`, server);

const expectRejected = (response: Awaited<ReturnType<typeof request>>, message: RegExp) => {
  expect(response.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  expect(response.errors?.[0]?.message).toMatch(message);
};

const rejectedBy = (token: string, server?: InviteqlServer) => async () =>
  (await request(token, TYPENAME, server)).errors?.[0]?.extensions.code === 'UNAUTHENTICATED';

/** An App over `db` whose authenticator has these options (started). */
async function appWithAuthenticator(options: Partial<TokenAuthenticatorOptions>, db: Database = t.app.db) {
  const tokens = new TokenAuthenticator(db, { ttlMs: 60_000, log: t.app.log, ...options });
  await tokens.start();
  const app: App = Object.freeze({ ...t.app, db, tokens });
  return { tokens, server: createServer(app) };
}

async function withTriggerDisabled(work: () => Promise<void>) {
  await t.app.db.prisma.$executeRawUnsafe('ALTER TABLE api_tokens DISABLE TRIGGER api_tokens_changed_notify');
  try {
    await work();
  } finally {
    await t.app.db.prisma.$executeRawUnsafe('ALTER TABLE api_tokens ENABLE TRIGGER api_tokens_changed_notify');
  }
}

describe('the API token cache', () => {
  it('listens for token changes from the start', () => {
    expect(t.app.tokens.listening).toBe(true);
  });

  it('authenticates a warm token with no SQL statement', async () => {
    const { token } = await newToken('warm');
    const cold = await counted(token);
    expect(cold.response.errors).toBeUndefined();
    expect(cold.statements).toBe(1);
    for (let i = 0; i < 3; i++) {
      const warm = await counted(token);
      expect(warm.response.data).toEqual({ __typename: 'Query' });
      expect(warm.statements).toBe(0);
    }
  });

  it('does not cache unknown tokens: each request looks one up, and a token issued later works at once', async () => {
    const secret = `iql_${'u'.repeat(43)}`;
    for (let i = 0; i < 2; i++) {
      const unknown = await counted(secret);
      expectRejected(unknown.response, /unknown/i);
      expect(unknown.statements).toBe(1);
    }
    await issueApiToken(t.app.db, { accountId: owner.accountId, name: 'late', secret });
    expect((await request(secret)).errors).toBeUndefined();
  });

  it('collapses concurrent lookups of one token into one query', async () => {
    const { token } = await newToken('concurrent');
    const before = t.app.db.statementCount;
    const viewers = await Promise.all(Array.from({ length: 5 }, () => t.app.tokens.authenticate(`Bearer ${token}`)));
    expect(t.app.db.statementCount - before).toBe(1);
    expect(new Set(viewers.map((viewer) => viewer.tokenId)).size).toBe(1);
  });

  it('honours a revoke through the mutation on the very next request, without waiting for the notification', async () => {
    await withTriggerDisabled(async () => {
      const { token, id } = await newToken('revoked here');
      await request(token);
      expect((await counted(token)).statements).toBe(0);
      expect((await revoke(id)).errors).toBeUndefined();
      expectRejected(await request(token), /revoked/i);
    });
  });

  it('honours a change made with SQL outside the app (the trigger notifies this process)', async () => {
    const revoked = await newToken('revoked with SQL');
    const deleted = await newToken('deleted with SQL');
    for (const { token } of [revoked, deleted]) {
      await request(token);
      expect((await counted(token)).statements).toBe(0);
    }
    await t.app.db.prisma.$executeRaw`UPDATE api_tokens SET revoked_at = now() WHERE id = ${revoked.id}::uuid`;
    await t.app.db.prisma.$executeRaw`DELETE FROM api_tokens WHERE id = ${deleted.id}::uuid`;
    await expect.poll(rejectedBy(revoked.token), { timeout: 2000 }).toBe(true);
    await expect.poll(rejectedBy(deleted.token), { timeout: 2000 }).toBe(true);
    expectRejected(await request(revoked.token), /revoked/i);
    expectRejected(await request(deleted.token), /unknown/i);
  });

  it('forgets an entry after the TTL', async () => {
    const { tokens, server } = await appWithAuthenticator({ ttlMs: 50 });
    try {
      const { token } = await newToken('short-lived');
      await request(token, TYPENAME, server);
      expect((await counted(token, server)).statements).toBe(0);
      await sleep(60);
      expect((await counted(token, server)).statements).toBe(1);
    } finally {
      await tokens.close();
    }
  });

  it('keeps at most maxEntries tokens, forgetting the oldest', async () => {
    const { tokens, server } = await appWithAuthenticator({ maxEntries: 2 });
    try {
      const [a, b, c] = [await newToken('a'), await newToken('b'), await newToken('c')];
      for (const { token } of [a, b, c]) await request(token, TYPENAME, server);
      expect((await counted(c.token, server)).statements).toBe(0);
      expect((await counted(b.token, server)).statements).toBe(0);
      expect((await counted(a.token, server)).statements).toBe(1);
    } finally {
      await tokens.close();
    }
  });

  it('with API_TOKEN_CACHE_TTL_MS=0 looks every token up and does not listen', async () => {
    const { tokens, server } = await appWithAuthenticator({ ttlMs: 0 });
    try {
      expect(tokens.listening).toBe(false);
      for (let i = 0; i < 3; i++) expect((await counted(owner.token, server)).statements).toBe(1);
    } finally {
      await tokens.close();
    }
  });

  it('forgets every token when api_tokens is truncated', async () => {
    const { token } = await newToken('truncated');
    await request(token);
    expect((await counted(token)).statements).toBe(0);
    await t.app.db.prisma.$executeRawUnsafe('TRUNCATE api_tokens');
    await expect.poll(rejectedBy(token), { timeout: 2000 }).toBe(true);
    owner.token = (await issueApiToken(t.app.db, { accountId: owner.accountId, name: 'owner again' })).secret;
  });
});

describe.skipIf(
  skipUnless(
    onPostgres,
    'several server processes on one PostgreSQL database',
    'the embedded database serves one process; set TEST_DATABASE_URL',
  ),
)('several server processes on one PostgreSQL database', () => {
  /** A second server process: its own Database (own pool and listener) over the same database. */
  async function secondInstance() {
    const db = await Database.open({ url: t.database.url!, poolSize: 2, countStatements: true });
    const { tokens, server } = await appWithAuthenticator({}, db);
    const close = async () => {
      await tokens.close();
      await db.close();
    };
    return { tokens, server, db, close };
  }

  async function sql(text: string, values: unknown[] = []) {
    const client = new pg.Client({ connectionString: t.database.url! });
    await client.connect();
    try {
      return await client.query(text, values);
    } finally {
      await client.end();
    }
  }

  it('a token revoked through another server is refused here within moments', async () => {
    const other = await secondInstance();
    try {
      expect(other.tokens.listening).toBe(true);
      const { token, id } = await newToken('revoked elsewhere');
      await request(token);
      expect((await counted(token)).statements).toBe(0);
      expect((await revoke(id, other.server)).errors).toBeUndefined();
      expectRejected(await request(token, TYPENAME, other.server), /revoked/i);
      await expect.poll(rejectedBy(token), { timeout: 2000 }).toBe(true);
      expect(t.app.tokens.listening).toBe(true);
      expectRejected(await request(token), /revoked/i);
    } finally {
      await other.close();
    }
  });

  it("an operator's UPDATE on another connection is honoured by every server", async () => {
    const other = await secondInstance();
    try {
      const { token, id } = await newToken('revoked by an operator');
      for (const server of [t.server, other.server]) await request(token, TYPENAME, server);
      expect((await counted(token)).statements).toBe(0);
      expect((await counted(token, other.server, other.db)).statements).toBe(0);
      await sql('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [id]);
      await expect.poll(rejectedBy(token), { timeout: 2000 }).toBe(true);
      await expect.poll(rejectedBy(token, other.server), { timeout: 2000 }).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('while its listener is down a server looks every token up, and it listens again afterwards', async () => {
    // Slow to come back, so the test sees the server while it is down.
    const { tokens, server } = await appWithAuthenticator({ retryDelayMs: 1500 });
    try {
      await withTriggerDisabled(async () => {
        const kept = await newToken('kept');
        const revoked = await newToken('revoked while down');
        for (const { token } of [kept, revoked]) await request(token, TYPENAME, server);
        expect((await counted(kept.token, server)).statements).toBe(0);

        const terminated = await sql(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'`,
        );
        expect(terminated.rowCount).toBeGreaterThan(0);
        await expect.poll(() => !tokens.listening, { timeout: 2000 }).toBe(true);
        // No notification can tell it (the trigger is off, the listener gone): only a lookup can.
        await sql('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [revoked.id]);
        expectRejected(await request(revoked.token, TYPENAME, server), /revoked/i);
        expect((await counted(kept.token, server)).statements).toBe(1);
        expect((await counted(kept.token, server)).statements).toBe(1);
        expect(tokens.listening).toBe(false);
      });
      await expect.poll(() => tokens.listening, { timeout: 10_000 }).toBe(true);
      await expect.poll(() => t.app.tokens.listening, { timeout: 10_000 }).toBe(true);
      const { token } = await newToken('after reconnecting');
      await request(token, TYPENAME, server);
      expect((await counted(token, server)).statements).toBe(0);
      const lines = t.logs.map((line) => JSON.parse(line));
      expect(lines.some((line) => line.level === 40 && /lost the API token change listener/.test(line.msg))).toBe(true);
    } finally {
      await tokens.close();
    }
  });

  it('notices a listening connection that went silent (no error, no end), and listens again once it answers', async () => {
    const proxy = await cuttableProxy(t.database.url!);
    const db = await Database.open({ url: proxy.url, poolSize: 2, acquireTimeoutMs: 1000, countStatements: true, listenHeartbeatMs: 200 });
    const { tokens, server } = await appWithAuthenticator({ retryDelayMs: 100 }, db);
    try {
      const { token } = await newToken('behind a proxy');
      await request(token, TYPENAME, server);
      expect((await counted(token, server, db)).statements).toBe(0);
      proxy.silence(true);
      await expect.poll(() => !tokens.listening, { timeout: 2000 }).toBe(true);
      proxy.silence(false);
      await expect.poll(() => tokens.listening, { timeout: 10_000 }).toBe(true);
      expect((await counted(token, server, db)).statements).toBe(1);
      expect((await counted(token, server, db)).statements).toBe(0);
    } finally {
      await tokens.close();
      await proxy.close();
      await db.close();
    }
  });
});

describe('logs', () => {
  // Runs last.
  it('never contain a token or its hash', () => {
    const logs = t.logs.join('\n');
    expect(logs).not.toContain(owner.token);
    expect(logs).not.toContain(hashToken(owner.token));
    expect(logs).not.toMatch(/\b[0-9a-f]{64}\b/);
  });
});
