import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type RunningApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createServer, type InviteqlServer } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';
import { createAccount } from '../src/services/accounts.ts';
import { DEMO_CHAT_IDS } from '../src/sandbox/demo-data.ts';
import { createTestApp } from './support/app.ts';

const CHANNEL = DEMO_CHAT_IDS.botCanInvite;
let running: RunningApp;
let server: InviteqlServer;

beforeAll(async () => {
  // Sandbox mode as `npm start` runs it: the emulated Telegram, polled for updates.
  running = await buildApp(loadConfig({ DATA_DIR: 'memory://', LOG_LEVEL: 'silent' }), createLogger('silent'));
  server = createServer(running.app, { graphiqlToken: running.sandboxToken, sandboxTelegram: running.telegramEmulator });
  // Telegram makes chat_member updates only once getUpdates has asked for them (allowed_updates).
  for (let attempt = 0; attempt < 200 && !running.telegramEmulator!.calls.some((call) => call.method === 'getUpdates'); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 60_000);
afterAll(() => running.close());

const post = (path: string, body: unknown, token = running.sandboxToken) =>
  server.fetch(`http://inviteql.test/sandbox/telegram/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

async function createLink(input: Record<string, unknown>): Promise<string> {
  const response = await server.fetch('http://inviteql.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${running.sandboxToken}` },
    body: JSON.stringify({
      query: 'mutation($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { inviteLink } }',
      variables: { input: { channelId: CHANNEL, ...input } },
    }),
  });
  const body = await response.json();
  expect(body.errors).toBeUndefined();
  return body.data.createInviteLink.inviteLink;
}

const storedChatMemberUpdates = (userId: number) =>
  running.app.db.prisma.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM telegram_updates WHERE kind = 'chat_member' AND user_id = $1`,
    userId,
  );

describe('the sandbox at start', () => {
  it('gives the demo channel links with a simulated history, counted from the emulated updates', async () => {
    const read = async () => {
      const response = await server.fetch('http://inviteql.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${running.sandboxToken}` },
        body: JSON.stringify({
          query: `query($channelId: SafeInt!) { inviteLinks(channelId: $channelId, limit: 100, orderBy: [{ field: JOINS, direction: DESC }]) {
            items { name stats { joins leaves subscribers pendingJoinRequests } } } }`,
          variables: { channelId: CHANNEL },
        }),
      });
      const items: { name: string; stats: object }[] = (await response.json()).data.inviteLinks.items;
      return Object.fromEntries(items.filter((item) => item.name !== 'Sandbox join').map((item) => [item.name, item.stats]));
    };
    await expect.poll(read, { timeout: 15_000 }).toMatchObject({
      'Telegram Ads, November': { joins: 40, leaves: 8, subscribers: 32, pendingJoinRequests: 0 },
      'Blogger review': { joins: 24, leaves: 9, subscribers: 15 },
      'Cross-promo, neighbour channel': { joins: 12, leaves: 1, subscribers: 11 },
      'Private club (approval)': { joins: 3, leaves: 0, pendingJoinRequests: 3 },
    });
  });
});

describe('sandbox test helpers', () => {
  it('make a user join through a link, as Telegram would, and its update reaches the server', async () => {
    const link = await createLink({ name: 'Sandbox join' });
    const joined = await post('join', { inviteLink: link, userId: 4201 });
    expect([joined.status, await joined.json()]).toEqual([200, { result: 'joined' }]);
    expect(running.telegramEmulator!.memberStatus(CHANNEL, 4201)).toBe('member');
    await expect.poll(async () => (await storedChatMemberUpdates(4201))[0]!.n, { timeout: 10_000 }).toBe(1);

    const again = await post('join', { inviteLink: link, userId: 4201 });
    expect([again.status, await again.json()]).toEqual([409, { error: 'USER_ALREADY_PARTICIPANT' }]);

    const left = await post('leave', { chatId: CHANNEL, userId: 4201 });
    expect([left.status, await left.json()]).toEqual([200, { result: 'left' }]);
    await expect.poll(async () => (await storedChatMemberUpdates(4201))[0]!.n, { timeout: 10_000 }).toBe(2);
  });

  it('answer "requested" for a join-request link, and join through the public username without a link', async () => {
    const link = await createLink({ name: 'Sandbox requests', createsJoinRequest: true });
    const requested = await post('join', { inviteLink: link, userId: 4202 });
    expect([requested.status, await requested.json()]).toEqual([200, { result: 'requested' }]);
    const unattributed = await post('join', { chatId: CHANNEL, userId: 4203 });
    expect([unattributed.status, await unattributed.json()]).toEqual([200, { result: 'joined' }]);
  });

  it("answer Telegram's refusal with 409, and bad input with VALIDATION_FAILED", async () => {
    const unknown = await post('join', { inviteLink: 'https://t.me/+notalinkofours', userId: 4204 });
    expect([unknown.status, await unknown.json()]).toEqual([409, { error: 'INVITE_HASH_INVALID' }]);
    const notMember = await post('leave', { chatId: CHANNEL, userId: 4299 });
    expect(notMember.status).toBe(409);
    const bad = await post('join', { userId: -1 });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('VALIDATION_FAILED');
  });

  it('need the sandbox account: no token is 401, another account is 403', async () => {
    expect((await post('leave', { chatId: CHANNEL, userId: 1 }, '')).status).toBe(401);
    const { secret } = await createAccount(running.app.db, 'Not the demo account');
    const other = await post('leave', { chatId: CHANNEL, userId: 1 }, secret);
    expect(other.status).toBe(403);
    expect((await other.json()).error.code).toBe('FORBIDDEN');
  });

  it('do not exist outside sandbox mode', async () => {
    const t = await createTestApp();
    try {
      const { token } = await t.createAccount();
      const response = await t.server.fetch('http://inviteql.test/sandbox/telegram/join', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ chatId: CHANNEL, userId: 1 }),
      });
      expect(response.status).toBe(404);
    } finally {
      await t.close();
    }
  });
});
