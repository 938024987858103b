import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { App } from '../src/app.ts';
import { Database } from '../src/db/database.ts';
import { createServer } from '../src/http/server.ts';
import { registerWebhook, webhookSecretToken } from '../src/services/telegram-webhook.ts';
import { CHANNEL, createTestApp, type TestApp } from './support/app.ts';
import { cuttableProxy, type DatabaseProxy } from './support/db-proxy.ts';
import { skipUnless } from './support/skip.ts';

const onPostgres = inject('testDatabase').kind === 'postgres';
const skipCut = skipUnless(
  onPostgres,
  'the webhook delivery with the database cut',
  'it cuts a TCP proxy in front of PostgreSQL; the embedded PGlite has no connection to cut (set TEST_DATABASE_URL)',
);

/** A chat_member update as Telegram shapes it: a user joined the channel. */
function joinUpdate(updateId: number, userId = 42) {
  const user = { id: userId, is_bot: false, first_name: 'Joiner' };
  return {
    update_id: updateId,
    chat_member: {
      chat: { id: CHANNEL as number, title: 'Demo channel', type: 'channel' },
      from: user,
      date: 1_780_000_000,
      old_chat_member: { user, status: 'left' },
      new_chat_member: { user, status: 'member' },
    },
  };
}

/** A listening HTTP server on loopback whose handler is set later (so its URL is known before the app starts). */
async function loopbackServer(): Promise<{ server: Server; url: string; handle(listener: RequestListener): void }> {
  let listener: RequestListener = (_request, response) => {
    response.statusCode = 503;
    response.end();
  };
  const server = createHttpServer((request, response) => listener(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { server, url: `http://127.0.0.1:${port}/telegram/webhook`, handle: (next) => (listener = next) };
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the webhook route', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const post = (body: string, secret?: string) =>
    t.server.fetch('http://inviteql.test/telegram/webhook', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(secret === undefined ? {} : { 'x-telegram-bot-api-secret-token': secret }) },
      body,
    });
  const stored = () => t.app.db.prisma.telegramUpdate.findMany({ orderBy: { updateId: 'asc' } });

  it('derives one secret per SECRETS_KEY, the same in every process, and a URL-safe one Telegram accepts', () => {
    expect(t.app.telegramWebhookSecret).toBe(webhookSecretToken(t.secretsKey));
    expect(t.app.telegramWebhookSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(webhookSecretToken(undefined)).not.toBe(webhookSecretToken(undefined));
  });

  it('refuses a missing or wrong secret token with a coded error and stores nothing', async () => {
    const missing = await post(JSON.stringify(joinUpdate(9001)));
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: { message: expect.any(String), code: 'UNAUTHENTICATED' } });
    const secret = t.app.telegramWebhookSecret;
    const wrongSecret = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
    for (const wrong of [wrongSecret, '', secret.slice(1)]) {
      const refused = await post(JSON.stringify(joinUpdate(9001)), wrong);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({
        error: { message: expect.any(String), code: 'FORBIDDEN', reason: 'WEBHOOK_SECRET_INVALID' },
      });
    }
    expect(await stored()).toEqual([]);
    expect(t.logs.join('')).not.toContain(secret);
  });

  it('answers 400 for a body that is not JSON or not an update, and stores nothing', async () => {
    const secret = t.app.telegramWebhookSecret;
    const notJson = await post('{"update_id": 1,', secret);
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    const malformed = [
      [],
      { chat_member: joinUpdate(1).chat_member },
      { update_id: -1, chat_member: joinUpdate(1).chat_member },
      { update_id: 9002 },
      { update_id: 9002, chat_member: joinUpdate(1).chat_member, my_chat_member: joinUpdate(1).chat_member },
      { update_id: 9002, chat_member: { ...joinUpdate(1).chat_member, chat: { title: 'no id' } } },
      { update_id: 9002, chat_join_request: { chat: { id: CHANNEL }, date: 1 } },
    ];
    for (const body of malformed) {
      const refused = await post(JSON.stringify(body), secret);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      const answer = (await refused.json()) as { error: { code: string; message: string } };
      expect(answer.error.code).toBe('VALIDATION_FAILED');
      expect(answer.error.message).toMatch(/^Malformed Telegram update: /);
    }
    expect(await stored()).toEqual([]);
  });

  it('stores an update once however often it is delivered, with its kind, chat and user', async () => {
    const secret = t.app.telegramWebhookSecret;
    const update = joinUpdate(9100, 77);
    for (let delivery = 0; delivery < 3; delivery++) {
      const answer = await post(JSON.stringify(update), secret);
      expect(answer.status).toBe(200);
    }
    const rows = await stored();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ updateId: 9100n, kind: 'chat_member', chatId: BigInt(CHANNEL), userId: 77n });
    expect(rows[0]!.payload).toEqual(update);
  });

  it('stores an update for a chat no account connected (the processor decides what it counts for)', async () => {
    const update = joinUpdate(9200);
    update.chat_member.chat.id = -1009999999999;
    const answer = await post(JSON.stringify(update), t.app.telegramWebhookSecret);
    expect(answer.status).toBe(200);
    expect(await t.app.db.prisma.telegramUpdate.findUnique({ where: { updateId: 9200n } })).toMatchObject({ chatId: -1009999999999n });
  });
});

describe('webhook delivery from the emulator', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it('with TELEGRAM_WEBHOOK_URL, start-up sets the webhook (secret, allowed_updates) and a join is stored exactly once', async () => {
    const edge = await loopbackServer();
    cleanups.push(() => closeServer(edge.server));
    const t = await createTestApp({ telegramWebhookUrl: edge.url, telegramTiming: { webhookRetrySecondMs: 10 } });
    cleanups.push(() => t.close());
    edge.handle(t.server);
    await until(() => t.telegram.calls.some((call) => call.method === 'setWebhook'), 'setWebhook at start-up');
    const call = t.telegram.calls.find((c) => c.method === 'setWebhook')!;
    expect(call.params).toMatchObject({ url: edge.url, secret_token: t.app.telegramWebhookSecret });
    expect([call.params.allowed_updates].flat().join()).toMatch(/chat_member.*chat_join_request.*my_chat_member/);

    t.telegram.join(CHANNEL, 501);
    t.telegram.leave(CHANNEL, 501);
    await until(async () => (await t.app.db.prisma.telegramUpdate.count()) === 2 && t.telegram.pendingUpdates().length === 0, 'delivery');
    const rows = await t.app.db.prisma.telegramUpdate.findMany({ orderBy: { updateId: 'asc' } });
    expect(rows.map((row) => [row.kind, row.userId])).toEqual([
      ['chat_member', 501n],
      ['chat_member', 501n],
    ]);
  });

  it.skipIf(skipCut)('answers 503 while the database is out, so the emulator delivers again, and the update is stored once', async () => {
    const t = await createTestApp({ telegramTiming: { webhookRetrySecondMs: 10 } });
    cleanups.push(() => t.close());
    const proxy: DatabaseProxy = await cuttableProxy(t.database.url!);
    cleanups.push(() => proxy.close());
    const proxied = await Database.open({ url: proxy.url, poolSize: 2, acquireTimeoutMs: 500 });
    cleanups.push(() => proxied.close());
    const app: App = Object.freeze({ ...t.app, db: proxied });
    const edge = await loopbackServer();
    cleanups.push(() => closeServer(edge.server));
    edge.handle(createServer(app));
    await registerWebhook(t.telegramUpdates, edge.url, t.app.telegramWebhookSecret);

    proxy.cut();
    t.telegram.join(CHANNEL, 601);
    await until(() => t.logs.some((line) => line.includes('"path":"/telegram/webhook"') && line.includes('"status":503')), 'a 503');
    expect(await t.app.db.prisma.telegramUpdate.count()).toBe(0);
    expect(t.telegram.pendingUpdates()).toHaveLength(1);
    proxy.restore();
    await until(() => t.telegram.pendingUpdates().length === 0, 'the redelivery');
    const rows = await t.app.db.prisma.telegramUpdate.findMany();
    expect(rows.map((row) => [row.kind, row.userId])).toEqual([['chat_member', 601n]]);
  });
});
