// GraphiQL is served by the server itself: it works with no internet (issue 13).
import { existsSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { createGraphiQL, GRAPHIQL_EXAMPLE_OPERATION } from '../src/http/graphiql.ts';
import { ensureSandboxAccount } from '../src/sandbox/demo-data.ts';
import { createServer } from '../src/http/server.ts';
import { createTestApp, type TestApp } from './support/app.ts';
import { skipUnless } from './support/skip.ts';

const CHROMIUM = '/usr/bin/chromium';

let t: TestApp;
let sandboxToken: string;

beforeAll(async () => {
  t = await createTestApp();
  // The sandbox's demo account and channel, as npm start makes them.
  sandboxToken = await ensureSandboxAccount(t.app.db);
  const created = await t.gql(
    sandboxToken,
    'mutation { createInviteLink(input: { channelId: -1001000000001, name: "Browser test link" }) { id } }',
  );
  expect(created.errors).toBeUndefined();
});
afterAll(() => t.close());

const page = async (server = createServer(t.app, { graphiqlToken: sandboxToken })) => {
  const response = await server.fetch('http://inviteql.test/graphql', { headers: { accept: 'text/html' } });
  return { status: response.status, type: response.headers.get('content-type'), html: await response.text() };
};

describe('the GraphiQL page', () => {
  it('inlines every script and style: no URL outside the page', async () => {
    const { status, type, html } = await page();
    expect(status).toBe(200);
    expect(type).toBe('text/html');
    // Booleans: a failure would otherwise print the 9 MB page.
    expect(html.includes('<title>inviteql</title>')).toBe(true);
    expect(/<script[^>]+src=|<link[^>]+rel="stylesheet"|unpkg\.com|jsdelivr/.exec(html)?.[0]).toBeUndefined();
  });

  it('opens with the named example operation and, in sandbox mode only, the token in the headers', async () => {
    expect(GRAPHIQL_EXAMPLE_OPERATION).toMatch(/^query DemoChannelLinks \{\n {2}inviteLinks\(\n {4}channelId: -1001000000001\n/m);
    // The options GraphiQL renders with, as the page passes them to it.
    const rendersWith = (html: string) =>
      /renderYogaGraphiQL\(\s*window\.document\.querySelector\('#root'\),\s*(\{.*\}),\s*\);/.exec(html)?.[1];
    expect(JSON.parse(rendersWith((await page()).html)!)).toEqual({
      title: 'inviteql',
      defaultQuery: GRAPHIQL_EXAMPLE_OPERATION,
      headers: JSON.stringify({ Authorization: `Bearer ${sandboxToken}` }),
    });
    const elsewhere = (await page(createServer(t.app))).html;
    expect(JSON.parse(rendersWith(elsewhere)!)).toEqual({ title: 'inviteql', defaultQuery: GRAPHIQL_EXAMPLE_OPERATION });
    expect(elsewhere.includes(sandboxToken)).toBe(false);
  });

  it('is rendered once and then reused', () => {
    const graphiql = createGraphiQL();
    expect(graphiql.render()).toBe(graphiql.render());
  });
});

describe.skipIf(skipUnless(existsSync(CHROMIUM), 'the GraphiQL browser test', `no Chromium at ${CHROMIUM}: apt-get install chromium`))(
  'GraphiQL in Chromium, offline',
  () => {
    let server: Server;
    let origin: string;
    let browser: Browser;

    beforeAll(async () => {
      server = createHttpServer(createServer(t.app, { graphiqlToken: sandboxToken }));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
    });
    afterAll(async () => {
      await browser?.close();
      await new Promise((resolve) => server?.close(resolve));
    });

    it('loads /graphql, runs the example operation from the editor and shows its result, requesting nothing but the server', async () => {
      const context = await browser.newContext();
      const requested: string[] = [];
      const isLocal = (url: string) => url.startsWith('data:') || url.startsWith('blob:') || url.startsWith(`${origin}/`);
      // Anything else is refused, as offline, and reported.
      await context.route(
        (url) => !isLocal(url.href),
        (route) => route.abort('internetdisconnected'),
      );
      context.on('request', (request) => requested.push(request.url()));
      const tab = await context.newPage();
      const pageErrors: string[] = [];
      tab.on('pageerror', (error) => pageErrors.push(error.message));

      try {
        await tab.goto(`${origin}/`);
        expect(tab.url()).toBe(`${origin}/graphql`);
        await tab.locator('.graphiql-query-editor').getByText('DemoChannelLinks').first().waitFor({ timeout: 20_000 });
        // The editors draw spaces as no-break spaces.
        const resultText = async () => (await tab.locator('.result-window').innerText()).replace(/\s+/g, ' ');
        expect(await resultText()).not.toContain('Browser test link');

        await tab.locator('.graphiql-execute-button').click();
        await expect.poll(resultText, { timeout: 20_000 }).toContain('"name": "Browser test link"');
        expect(await resultText()).toContain('"total": 1');
        expect(pageErrors).toEqual([]);
        expect(requested.filter((url) => url === `${origin}/graphql`).length).toBeGreaterThanOrEqual(3);
      } finally {
        await context.close();
        // A page that needs the internet fails on this first: it is the cause.
        expect(requested.filter((url) => !isLocal(url))).toEqual([]);
      }
    }, 60_000);
  },
);
