import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createServer } from '../src/http/server.ts';
import type { MemberUpdateProcessor } from '../src/services/member-updates.ts';
import { CHANNEL, createTestApp, type TestApp } from './support/app.ts';

let t: TestApp;
let owner: { token: string };
let edge: ReturnType<typeof createServer>;
let http: Server;
let base: string;
const ALLOWED = 'https://app.example';

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.createAccount('Edge');
  // Over real HTTP, through the edge's Node listener, as `npm start` serves it.
  edge = createServer({ ...t.app, config: { ...t.app.config, CORS_ORIGINS: [ALLOWED] } }, { graphiqlToken: owner.token });
  http = createHttpServer(edge);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => http.close(resolve));
  await t.close();
});

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}`, ...headers },
    body: JSON.stringify(body),
  });

describe('the HTTP edge', () => {
  it('streams a GraphQL-over-SSE response through the edge, event by event', async () => {
    const response = await post({ query: '{ __typename channels { id } }' }, { accept: 'text/event-stream' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await response.text();
    const events = [...text.matchAll(/^event: (\w+)\ndata:(.*)$/gm)].map((match) => ({ event: match[1], data: match[2]!.trim() }));
    expect(events.map((event) => event.event)).toEqual(['next', 'complete']);
    expect(JSON.parse(events[0]!.data)).toEqual({ data: { __typename: 'Query', channels: [] } });
  });

  it('echoes a sane x-request-id, and makes one for an insane one', async () => {
    const given = await post({ query: '{ __typename }' }, { 'x-request-id': 'req-42.a:b' });
    expect(given.headers.get('x-request-id')).toBe('req-42.a:b');
    const made = await post({ query: '{ __typename }' }, { 'x-request-id': 'bad id with spaces' });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect((await fetch(`${base}/healthz`)).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('lets no unlisted origin read a response, and never allows credentials', async () => {
    const graphiql = await fetch(`${base}/graphql`, { headers: { accept: 'text/html', origin: 'https://evil.example' } });
    // The page carries the token (sandbox pre-fill), so a foreign page must not be able to read it.
    expect(await graphiql.text()).toContain(owner.token);
    expect(graphiql.headers.get('access-control-allow-origin')).toBeNull();
    expect(graphiql.headers.get('access-control-allow-credentials')).toBeNull();

    const foreign = await post({ query: '{ __typename }' }, { origin: 'https://evil.example' });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();

    const listed = await post({ query: '{ __typename }' }, { origin: ALLOWED });
    expect(listed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(listed.headers.get('access-control-allow-credentials')).toBeNull();

    const preflight = await fetch(`${base}/graphql`, {
      method: 'OPTIONS',
      headers: {
        origin: ALLOWED,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
  });

  /** What the Node-level edge adds, by route: REST (Hono), yoga, an unknown path, a size refusal. */
  const edgeCases = (authorization: string): [string, RequestInit, number][] => [
    ['/healthz', {}, 200],
    ['/operations/partner.json', {}, 200],
    ['/nowhere', {}, 404],
    [
      '/graphql',
      { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: '{"query":"{ __typename }"}' },
      200,
    ],
    ['/graphql?query=%7B__typename%7D', { headers: { accept: 'application/json', authorization } }, 200],
    [
      '/graphql',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: ' '.repeat(t.app.config.MAX_BODY_BYTES + 1) },
      413,
    ],
    ['/operations/partner.json', { method: 'OPTIONS', headers: { 'access-control-request-method': 'GET' } }, 204],
  ];
  const accessLogOf = (requestId: string) =>
    t.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'request' && line.requestId === requestId);

  it.each([
    ['over real HTTP', (path: string, init: RequestInit) => fetch(`${base}${path}`, init)],
    ['in-process (server.fetch)', (path: string, init: RequestInit) => edge.fetch(`http://inviteql.test${path}`, init)],
  ])('gives every route its request id, CORS headers and one access log line from the one Node-level edge (%s)', async (via, send) => {
    for (const [index, [path, init, status]] of edgeCases(`Bearer ${owner.token}`).entries()) {
      const requestId = `edge-${via.length}-${index}`;
      const response = await send(path, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), origin: ALLOWED, 'x-request-id': requestId },
      });
      expect(response.status, path).toBe(status);
      expect(response.headers.get('x-request-id'), path).toBe(requestId);
      expect(response.headers.get('access-control-allow-origin'), path).toBe(ALLOWED);
      expect(response.headers.get('vary'), path).toMatch(/\bOrigin\b/);
      await response.arrayBuffer();
      if (path === '/healthz') continue;
      await expect.poll(() => accessLogOf(requestId).length).toBe(1);
      expect(accessLogOf(requestId)[0], path).toMatchObject({
        method: init.method ?? 'GET',
        path: path.split('?')[0],
        status,
        ms: expect.any(Number),
      });
    }
    // Health probes are not logged.
    expect(accessLogOf(`edge-${via.length}-0`)).toEqual([]);
  });

  it("logs a REST route's unexpected error with the edge's request id, and answers 500", async () => {
    const failing = Object.assign(Object.create(t.app.updateProcessor) as MemberUpdateProcessor, {
      kick: () => {
        throw new Error('the processor is gone');
      },
    });
    const server = createServer({ ...t.app, updateProcessor: failing });
    const user = { id: 4242, is_bot: false, first_name: 'Joiner' };
    const update = {
      update_id: 77_001,
      chat_member: {
        chat: { id: CHANNEL, title: 'Demo channel', type: 'channel' },
        from: user,
        date: 1_780_000_000,
        old_chat_member: { user, status: 'left' },
        new_chat_member: { user, status: 'member' },
      },
    };
    const response = await server.fetch('http://inviteql.test/telegram/webhook', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-telegram-bot-api-secret-token': t.app.telegramWebhookSecret,
        'x-request-id': 'hono-error-1',
      },
      body: JSON.stringify(update),
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { message: 'Unexpected error', code: 'INTERNAL_SERVER_ERROR' } });
    const logged = t.logs
      .map((line) => JSON.parse(line) as Record<string, any>)
      .find((line) => line.msg === 'unexpected error' && line.requestId === 'hono-error-1');
    expect(logged?.err?.message).toBe('the processor is gone');
  });

  it('allows no origin by default', async () => {
    const edge = createServer(t.app);
    const response = await edge.fetch('http://inviteql.test/healthz', { headers: { origin: ALLOWED } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(t.app.config.CORS_ORIGINS).toEqual([]);
  });

  it('reads CORS_ORIGINS as a comma-separated list of origins, and refuses a URL with a path', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:5173' }).CORS_ORIGINS).toEqual([
      'https://a.example',
      'http://localhost:5173',
    ]);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://a.example/app' })).toThrow(/CORS_ORIGINS/);
  });
});
