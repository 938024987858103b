import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './support/app.ts';

let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await createTestApp();
  token = (await t.createAccount()).token;
});
afterAll(() => t.close());

const QUERY = JSON.stringify({ query: '{ channels { id } }' });

describe('a POST body that is not JSON', () => {
  const post = (headers: Record<string, string>, body: BodyInit = QUERY) =>
    t.server.fetch('http://inviteql.test/graphql', { method: 'POST', headers: { authorization: `Bearer ${token}`, ...headers }, body });

  it.each([
    ['application/x-www-form-urlencoded', 'what curl -d sends without -H'],
    ['text/plain;charset=UTF-8', 'what fetch sends for a string body without a content type'],
    ['multipart/form-data; boundary=x', 'a form upload'],
  ])('answers 415 BAD_REQUEST naming the content type it got (%s: %s)', async (contentType) => {
    const response = await post({ 'content-type': contentType });
    expect(response.status).toBe(415);
    const body = (await response.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'BAD_REQUEST', reason: 'UNSUPPORTED_CONTENT_TYPE' });
    expect(body.errors[0]!.message).toContain('content-type: application/json');
    expect(body.errors[0]!.message).toContain(`"${contentType.split(';')[0]}"`);
  });

  it('says so when the request has no content type at all', async () => {
    const response = await post({}, new Blob([QUERY]));
    expect(response.status).toBe(415);
    const body = (await response.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'BAD_REQUEST', reason: 'UNSUPPORTED_CONTENT_TYPE' });
    expect(body.errors[0]!.message).toMatch(/has no content type/);
  });

  it('still runs JSON (with a charset) and GraphQL-over-HTTP JSON bodies', async () => {
    for (const contentType of ['application/json', 'application/json; charset=utf-8', 'application/graphql+json']) {
      const response = await post({ 'content-type': contentType });
      expect(response.status, contentType).toBe(200);
      expect(await response.json(), contentType).toEqual({ data: { channels: [] } });
    }
  });
});

describe('errors yoga raises without a code', () => {
  const postJson = (body: unknown) =>
    t.server.fetch('http://inviteql.test/graphql', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it.each([
    ['a variable of the wrong type', { c: 'x' }, /^Variable "\$c" got invalid value "x"/],
    ['a missing required variable', undefined, /^Variable "\$c" of required type "SafeInt!" was not provided/],
  ])('get BAD_USER_INPUT for %s (HTTP 400)', async (_case, variables, message) => {
    const response = await postJson({ query: 'query Links($c: SafeInt!) { inviteLinks(channelId: $c) { total } }', variables });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { message: string; extensions?: Record<string, unknown> }[] };
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]!.message).toMatch(message);
    expect(body.errors[0]!.extensions).toEqual({ code: 'BAD_USER_INPUT' });
  });

  it('get BAD_REQUEST / CSRF_HEADER_REQUIRED for a GET that carries neither Authorization nor x-graphql-yoga-csrf (HTTP 403), saying what to send', async () => {
    const response = await t.server.fetch('http://inviteql.test/graphql?query=%7Bchannels%7Bid%7D%7D', {
      headers: { accept: 'application/json' },
    });
    expect(response.status).toBe(403);
    const body = (await response.json()) as { errors: { message: string; extensions?: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'BAD_REQUEST', reason: 'CSRF_HEADER_REQUIRED' });
    expect(body.errors[0]!.message).toMatch(/Authorization/);
  });
});

describe('the root path', () => {
  it('redirects to GraphiQL at /graphql', async () => {
    const response = await t.server.fetch('http://inviteql.test/', { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/graphql');
  });
});
