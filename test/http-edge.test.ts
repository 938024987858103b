import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createServer } from '../src/http/server.ts';
import { createTestApp, type TestApp } from './support/app.ts';

let t: TestApp;
let owner: { token: string };
let http: Server;
let base: string;
const ALLOWED = 'https://app.example';

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.createAccount('Edge');
  // Over real HTTP, through @hono/node-server's listener, as `npm start` serves it.
  const edge = createServer({ ...t.app, config: { ...t.app.config, CORS_ORIGINS: [ALLOWED] } }, { graphiqlToken: owner.token });
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
