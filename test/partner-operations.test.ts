import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Database } from '../src/db/database.ts';
import { buildSchema } from '../src/schema/index.ts';
import { createRequestRateLimiter } from '../src/auth/rate-limit.ts';
import { createServer } from '../src/http/server.ts';
import { buildPartnerManifest, readPartnerManifest } from '../src/http/persisted-operations.ts';
import { CHANNEL, createTestApp, type TestApp } from './support/app.ts';
import { skipUnless } from './support/skip.ts';

let t: TestApp;
let owner: string;
let partnerToken: string;
let otherPartnerLinkId: string;
const manifest = readPartnerManifest();
const idOf = (operationName: string) => {
  const entry = Object.entries(manifest).find(([, document]) => new RegExp(`(query|mutation) ${operationName}\\(`).test(document));
  if (!entry) throw new Error(`no persisted operation ${operationName}`);
  return entry[0];
};

async function post(token: string, body: Record<string, unknown>, server = t.server) {
  const response = await server.fetch('http://inviteql.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

beforeAll(async () => {
  t = await createTestApp();
  owner = (await t.createAccount()).token;
  expect((await t.connectVerifiedChannel(owner, CHANNEL)).errors).toBeUndefined();
  await t.gql(
    owner,
    'mutation { a: createPartner(externalId: 7, title: "Agency Seven") { id } b: createPartner(externalId: 8, title: "Agency Eight") { id } }',
  );
  const created = await t.gql(
    owner,
    'mutation { createApiToken(name: "agency 7", partnerExternalId: 7) { token apiToken { partner { externalId } } } }',
  );
  expect(created.data.createApiToken.apiToken.partner.externalId).toBe(7);
  partnerToken = created.data.createApiToken.token;
  const other = await t.gql(
    owner,
    'mutation($c: SafeInt!) { partnerCreateInviteLink(externalId: 8, input: { channelId: $c, name: "eight" }) { id } }',
    { c: CHANNEL },
  );
  otherPartnerLinkId = other.data.partnerCreateInviteLink.id;
});
afterAll(() => t.close());

describe('partner persisted operations', () => {
  it('operations/partner.json is what npm run operations:build writes', () => {
    expect(readPartnerManifest()).toEqual(buildPartnerManifest(buildSchema(t.app.config)));
    for (const [id, document] of Object.entries(manifest)) {
      expect(id).toBe(`sha256:${createHash('sha256').update(document).digest('hex')}`);
    }
  });

  it('serves the manifest at GET /operations/partner.json', async () => {
    const response = await t.server.fetch('http://inviteql.test/operations/partner.json');
    expect(await response.json()).toEqual(manifest);
  });

  it('runs each partner operation by documentId and by Apollo sha256Hash', async () => {
    const created = await post(partnerToken, {
      documentId: idOf('PartnerCreateInviteLink'),
      variables: { externalId: 7, input: { channelId: CHANNEL, name: 'from agency' } },
    });
    expect(created.body.errors).toBeUndefined();
    const link = created.body.data.partnerCreateInviteLink;
    expect(link.inviteLink).toMatch(/^https:\/\/t\.me\/\+/);

    const apollo = (name: string, variables: object) => ({
      variables,
      extensions: { persistedQuery: { version: 1, sha256Hash: idOf(name).slice('sha256:'.length) } },
    });
    const listed = await post(partnerToken, apollo('PartnerInviteLinks', { externalId: 7, channelId: CHANNEL }));
    expect(listed.body.data.partnerInviteLinks.items.map((item: { id: string }) => item.id)).toEqual([link.id]);
    expect(listed.body.data.partnerInviteLinks.total).toBe(1);

    const one = await post(partnerToken, { documentId: idOf('PartnerInviteLink'), variables: { id: link.id, channelId: CHANNEL } });
    expect(one.body.data.inviteLink).toMatchObject({ id: link.id, name: 'from agency', channelId: CHANNEL });

    const viaGet = await t.server.fetch(
      `http://inviteql.test/graphql?documentId=${encodeURIComponent(idOf('PartnerInviteLink'))}&variables=${encodeURIComponent(JSON.stringify({ id: link.id, channelId: CHANNEL }))}`,
      { headers: { authorization: `Bearer ${partnerToken}`, accept: 'application/json' } },
    );
    expect(((await viaGet.json()) as any).data.inviteLink.id).toBe(link.id);
  });

  it('refuses a raw query, an unknown id, and an id sent with a query body from a partner token', async () => {
    const raw = await post(partnerToken, { query: '{ channels { id } }' });
    expect(raw.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_ONLY');
    const introspection = await post(partnerToken, { query: '{ __schema { types { name } } }' });
    expect(introspection.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_ONLY');
    expect(introspection.body.data).toBeUndefined();
    const unknown = await post(partnerToken, { documentId: `sha256:${'0'.repeat(64)}` });
    expect(unknown.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    const both = await post(partnerToken, { documentId: idOf('PartnerInviteLink'), query: '{ channels { id } }' });
    expect(both.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_ONLY');
  });

  it("answers NOT_FOUND for another partner's link and externalId", async () => {
    const link = await post(partnerToken, {
      documentId: idOf('PartnerInviteLink'),
      variables: { id: otherPartnerLinkId, channelId: CHANNEL },
    });
    expect(link.body.errors[0].extensions.code).toBe('NOT_FOUND');
    const list = await post(partnerToken, { documentId: idOf('PartnerInviteLinks'), variables: { externalId: 8, channelId: CHANNEL } });
    expect(list.body.errors[0]).toMatchObject({ message: 'Partner with external id 8 not found', extensions: { code: 'NOT_FOUND' } });
  });

  it('lets full tokens run any operation, introspection included', async () => {
    const introspection = await t.gql(owner, '{ __schema { queryType { name } } }');
    expect(introspection.data.__schema.queryType.name).toBe('Query');
    const byId = await post(owner, { documentId: idOf('PartnerInviteLinks'), variables: { externalId: 8, channelId: CHANNEL } });
    expect(byId.body.data.partnerInviteLinks.total).toBe(1);
  });
});

describe('limits', () => {
  const nested = (depth: number) => `{ tagTypes { ${'tags { type { '.repeat(depth)}id${' } }'.repeat(depth)} } }`;

  const limitedTo = (limits: Partial<TestApp['app']['config']>) => createServer({ ...t.app, config: { ...t.app.config, ...limits } });
  const cases: [string, Partial<TestApp['app']['config']>, string, string][] = [
    ['depth', { GRAPHQL_MAX_DEPTH: 4 }, nested(1), nested(2)],
    [
      'aliases',
      { GRAPHQL_MAX_ALIASES: 2 },
      '{ a: channels { id } b: channels { id } }',
      '{ a: channels { id } b: channels { id } c: channels { id } }',
    ],
    ['tokens', { GRAPHQL_MAX_TOKENS: 100 }, `{ channels { ${'id '.repeat(20)} } }`, `{ channels { ${'id '.repeat(120)} } }`],
    [
      'cost',
      { GRAPHQL_MAX_COST: 120 },
      nested(1),
      `{ ${Array.from({ length: 5 }, (_, i) => `a${i}: ${nested(2).slice(2, -2)}`).join(' ')} }`,
    ],
  ];

  it.each(cases)('refuses a query over the %s limit with QUERY_LIMIT_EXCEEDED', async (limit, config, within, over) => {
    const server = limitedTo(config);
    const accepted = await post(owner, { query: within }, server);
    expect(accepted.body.errors).toBeUndefined();
    const refused = await post(owner, { query: over }, server);
    expect(refused.status).toBe(400);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', limit });
  });

  it('refuses a body over MAX_BODY_BYTES before reading it', async () => {
    const body = JSON.stringify({ query: `{ channels { id } }${' '.repeat(1_000_001)}` });
    const response = await t.server.fetch('http://inviteql.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}`, 'content-length': String(body.length) },
      body,
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as any).errors[0].extensions.code).toBe('BAD_REQUEST');
  });

  describe('over real HTTP, where Node holds a body to its Content-Length', () => {
    let url: URL;
    let close: () => Promise<void>;
    beforeAll(async () => {
      const server = createHttpServer(t.server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`);
      close = () => new Promise((resolve) => server.close(() => resolve()));
    });
    afterAll(() => close());

    /** Sends `chunks` as the body, with the given Content-Length or (none) chunked. */
    const send = (chunks: string[], contentLength?: number) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${owner}` };
        if (contentLength !== undefined) headers['content-length'] = String(contentLength);
        const req = httpRequest(url, { method: 'POST', headers }, (res) => {
          let body = '';
          res
            .setEncoding('utf8')
            .on('data', (chunk) => (body += chunk))
            .on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        for (const chunk of chunks) req.write(chunk);
        req.end();
      });

    it('answers a chunked body (no Content-Length) with 411 and does not run it', async () => {
      const response = await send(['{"query":"{ channels ', '{ id } }"}']);
      expect(response.status).toBe(411);
      expect(JSON.parse(response.body).errors[0].extensions.code).toBe('BAD_REQUEST');
    });

    it('reads no more than the declared length, so a longer body cannot slip past the limit', async () => {
      const query = JSON.stringify({ query: '{ channels { id } }' });
      expect((await send([query], query.length)).status).toBe(200);
      const cut = await send([query + ' '.repeat(2_000_000)], 10);
      expect(cut.status).toBe(400);
      expect(cut.body).not.toContain('"channels"');
    });
  });

  it('refuses a Content-Length that is not a number', async () => {
    const response = await t.server.fetch('http://inviteql.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}`, 'content-length': '12abc' },
      body: JSON.stringify({ query: '{ channels { id } }' }),
    });
    expect(response.status).toBe(400);
  });

  it('blocks a simple cross-site request that carries no Authorization header', async () => {
    const response = await t.server.fetch('http://inviteql.test/graphql?query=%7Bchannels%7Bid%7D%7D', {
      headers: { accept: 'application/json' },
    });
    expect(response.status).toBe(403);
  });
});

describe('per-token rate limit', () => {
  it('answers RATE_LIMITED with retryAfter over the limit, per token', async () => {
    const limited = createServer({ ...t.app, rateLimiter: createRequestRateLimiter(t.app.db, 3) });
    // Fresh tokens: on PostgreSQL the counters are shared with every other server in this file.
    const mine = (await t.createAccount('Rate')).token;
    const other = (await t.createAccount('Rate 2')).token;
    for (let i = 0; i < 3; i++) expect((await post(mine, { query: '{ channels { id } }' }, limited)).body.errors).toBeUndefined();
    const over = await post(mine, { query: '{ channels { id } }' }, limited);
    expect(over.status).toBe(429);
    expect(over.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(over.body.errors[0].extensions.retryAfter).toBeGreaterThan(0);
    expect(over.headers.get('retry-after')).toBe(String(over.body.errors[0].extensions.retryAfter));
    expect((await post(other, { query: '{ channels { id } }' }, limited)).body.errors).toBeUndefined();
  });

  it.skipIf(
    skipUnless(
      inject('testDatabase').kind === 'postgres',
      'the rate limit shared by two server processes',
      'the embedded database serves one process; set TEST_DATABASE_URL',
    ),
  )('is shared by two server processes on one PostgreSQL database', async () => {
    const secondDb = await Database.open({ url: t.database.url!, poolSize: 2 });
    try {
      const first = createServer({ ...t.app, rateLimiter: createRequestRateLimiter(t.app.db, 4) });
      const second = createServer({ ...t.app, db: secondDb, rateLimiter: createRequestRateLimiter(secondDb, 4) });
      const token = (await t.createAccount('Shared')).token;
      const query = { query: '{ channels { id } }' };
      for (const server of [first, second, first, second]) expect((await post(token, query, server)).body.errors).toBeUndefined();
      const over = await post(token, query, second);
      expect(over.body.errors[0].extensions.code).toBe('RATE_LIMITED');
      expect((await post(token, query, first)).body.errors[0].extensions.code).toBe('RATE_LIMITED');
    } finally {
      await secondDb.close();
    }
  });
});

describe('README', () => {
  it('shows a curl example with the current id of every partner operation', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const id of Object.keys(manifest)) expect(readme).toContain(`"documentId":"${id}"`);
  });
});
