import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { skipUnless } from './support/skip.ts';
import type { App } from '../src/app.ts';
import { Database } from '../src/db/database.ts';
import { createServer, type InviteqlServer } from '../src/http/server.ts';
import { TokenAuthenticator } from '../src/auth/token-authenticator.ts';
import { createRequestRateLimiter } from '../src/auth/rate-limit.ts';
import { issueApiToken } from '../src/auth/api-tokens.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { cuttableProxy, type DatabaseProxy } from './support/db-proxy.ts';

const onPostgres = inject('testDatabase').kind === 'postgres';
const skipOffPostgres = skipUnless(
  onPostgres,
  'the database-outage tests',
  'they cut a TCP proxy in front of PostgreSQL; the embedded PGlite has no connection to cut (set TEST_DATABASE_URL)',
);

let t: TestApp;
let owner: { accountId: string; token: string };

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.createAccount('Owner');
});
afterAll(() => t.close());

/** Log lines at `level` (pino: 20 debug, 50 error), parsed. */
const logsAt = (level: number) =>
  t.logs.map((line) => JSON.parse(line) as { level: number; msg?: string }).filter((line) => line.level === level);

async function post(body: string, token = owner.token, server: InviteqlServer = t.server) {
  const response = await server.fetch('http://inviteql.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${token}` },
    body,
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] },
  };
}

describe('errors that are the client’s', () => {
  it('gives a variable that cannot be coerced BAD_USER_INPUT, and logs it at debug level, not as unexpected', async () => {
    const errorsBefore = logsAt(50).length;
    const debugBefore = logsAt(20).filter((line) => line.msg === 'request refused').length;
    const response = await t.gql(owner.token, 'query($n: Int!) { inviteLinks(channelId: -1001000000001, limit: $n) { total } }', {
      n: 2147483648,
    });
    expect(response.status).toBe(400);
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0]!.message).toMatch(/\$n.*2147483648/);
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(logsAt(50).length).toBe(errorsBefore);
    expect(logsAt(20).filter((line) => line.msg === 'request refused').length).toBe(debugBefore + 1);
  });

  it('gives a missing required variable BAD_USER_INPUT too', async () => {
    const response = await t.gql(owner.token, 'query($c: SafeInt!) { inviteLinks(channelId: $c, limit: 1) { total } }', {});
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it.each(['test', 'production'] as const)(
    'answers a body that is not JSON with BAD_REQUEST and no parser message (NODE_ENV=%s)',
    async (nodeEnv) => {
      const app: App = Object.freeze({ ...t.app, config: { ...t.app.config, NODE_ENV: nodeEnv } });
      const errorsBefore = logsAt(50).length;
      const response = await post('{"query": ', owner.token, createServer(app));
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([{ message: 'POST body sent invalid JSON.', extensions: { code: 'BAD_REQUEST' } }]);
      expect(JSON.stringify(response.body)).not.toMatch(/SyntaxError|Unexpected end/);
      expect(logsAt(50).length).toBe(errorsBefore);
    },
  );

  it('still logs an unauthenticated request at debug level only', async () => {
    const errorsBefore = logsAt(50).length;
    const response = await post(JSON.stringify({ query: '{ __typename }' }), `iql_${'x'.repeat(43)}`);
    expect(response.status).toBe(401);
    expect(logsAt(50).length).toBe(errorsBefore);
  });
});

describe('a database outage during authentication or rate limiting', () => {
  let proxy: DatabaseProxy;
  let proxied: Database;

  beforeAll(async () => {
    if (!onPostgres) return;
    proxy = await cuttableProxy(t.database.url!);
    proxied = await Database.open({ url: proxy.url, poolSize: 2, acquireTimeoutMs: 1000, listenHeartbeatMs: 200 });
  });
  afterAll(async () => {
    await proxied?.close();
    await proxy?.close();
  });

  const expectUnavailable = (response: Awaited<ReturnType<typeof post>>) => {
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: 5 });
    expect(JSON.stringify(response.body)).not.toMatch(/Connection|ECONN|terminated/i);
  };

  it.skipIf(skipOffPostgres)(
    'answers 503 SERVICE_UNAVAILABLE with Retry-After when the token lookup cannot reach the database',
    async () => {
      const tokens = new TokenAuthenticator(proxied, { ttlMs: 60_000, log: t.app.log });
      await tokens.start();
      try {
        const server = createServer(Object.freeze({ ...t.app, db: proxied, tokens }));
        // A token this authenticator never saw, so no cache entry can answer for the database.
        const { secret } = await issueApiToken(t.app.db, { accountId: owner.accountId, name: 'fresh' });
        proxy.cut();
        expectUnavailable(await post(JSON.stringify({ query: '{ __typename }' }), secret, server));
        proxy.restore();
        const recovered = await post(JSON.stringify({ query: '{ __typename }' }), secret, server);
        expect(recovered.status).toBe(200);
      } finally {
        proxy.restore();
        await tokens.close();
      }
    },
  );

  it.skipIf(skipOffPostgres)('answers 503 when the rate limiter cannot reach the database', async () => {
    const rateLimiter = createRequestRateLimiter(proxied, 600);
    const server = createServer(Object.freeze({ ...t.app, rateLimiter }));
    const query = JSON.stringify({ query: `{ channels { telegramId } }` });
    expect((await post(query, owner.token, server)).status).toBe(200);
    proxy.cut();
    try {
      expectUnavailable(await post(query, owner.token, server));
    } finally {
      proxy.restore();
    }
    expect((await post(query, owner.token, server)).status).toBe(200);
  });
});
