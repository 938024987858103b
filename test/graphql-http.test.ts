import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './support/app.ts';

let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await createTestApp();
  token = (await t.createAccount()).token;
});
afterAll(() => t.close());

describe('GraphQL over HTTP audit (graphql-http serverAudits)', () => {
  // Audits run with a full token; the server requires one for every operation.
  const audits = serverAudits({
    url: 'http://inviteql.test/graphql',
    fetchFn: (input: RequestInfo | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${token}`);
      return t.server.fetch(input as string, { ...init, headers });
    },
  });

  for (const audit of audits) {
    it(`${audit.id} ${audit.name}`, async () => {
      const result = await audit.fn();
      if (result.status === 'warn') console.warn(`graphql-http warning ${audit.id}: ${result.reason}`);
      expect(result.status === 'error' ? result.reason : 'ok').toBe('ok');
    });
  }
});
