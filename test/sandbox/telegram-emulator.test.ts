import { Bot, TelegramApiError, TimeoutError } from 'node-telegram-bot-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CHATS, TelegramEmulator, type EmulatedChat } from '../../src/sandbox/telegram-emulator.ts';

const TOKEN = '123456789:AAEmulatorTestTokenForContractTests';
const BOT_ID = 123456789;
const NOW_MS = Date.UTC(2026, 0, 1);
const NOW_SECONDS = NOW_MS / 1000;
const THIRTY_DAYS = 2_592_000;

const DEMO = SANDBOX_CHATS[0]!.id;
const DEMO_NO_RIGHTS = SANDBOX_CHATS[1]!.id;
const DEMO_NO_BOT = SANDBOX_CHATS[2]!.id;

const LINK_PATTERN = /^https:\/\/t\.me\/\+[A-Za-z0-9_-]{16}$/;

let emulator: TelegramEmulator;
let apiRoot: string;
let bot: Bot;
let nextChatId = -1002000000001;

beforeAll(async () => {
  emulator = new TelegramEmulator({ botToken: TOKEN, now: () => NOW_MS });
  apiRoot = await emulator.listen(0);
  bot = new Bot(TOKEN, { apiRoot, maxRetries: 0 });
});

afterAll(async () => {
  await emulator.close();
});

/** A chat of its own per test, so state changes never leak between tests. */
function freshChat(overrides: Partial<EmulatedChat> = {}): number {
  const id = nextChatId--;
  emulator.setChat({
    id,
    type: 'channel',
    title: `Channel ${id}`,
    botStatus: 'administrator',
    canInviteUsers: true,
    ...overrides,
  });
  return id;
}

async function apiError(call: Promise<unknown>): Promise<TelegramApiError> {
  const error = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TelegramApiError);
  return error as TelegramApiError;
}

async function rawCall(method: string, init: RequestInit = {}, token = TOKEN) {
  const response = await fetch(`${apiRoot}/bot${token}/${method}`, init);
  return { status: response.status, contentType: response.headers.get('content-type'), body: await response.json() };
}

async function control(path: string, body?: unknown) {
  const response = await fetch(`${apiRoot}/_emulator/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

describe('getMe, getChat, getChatMember', () => {
  it('getMe answers with the bot whose id is the token prefix', async () => {
    const me = await bot.api.getMe();
    expect(me).toMatchObject({ id: BOT_ID, is_bot: true, username: 'sandbox_invite_bot' });
  });

  it('getChat answers with the chat, by id or by @username', async () => {
    const expected = { id: DEMO, type: 'channel', title: 'Demo channel', username: 'demo_channel' };
    expect(await bot.api.getChat({ chat_id: DEMO })).toEqual(expected);
    expect(await bot.api.getChat({ chat_id: '@Demo_Channel' })).toEqual(expected);
  });

  it('getChat on an unknown chat is 400 chat not found', async () => {
    const error = await apiError(bot.api.getChat({ chat_id: -1009999999999 }));
    expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: chat not found']);
  });

  it('getChat on a public channel the bot is not in still answers', async () => {
    const chat = await bot.api.getChat({ chat_id: DEMO_NO_BOT });
    expect(chat.title).toBe('Demo channel (bot not added)');
  });

  it('getChat on a private channel the bot left is 403', async () => {
    const chatId = freshChat({ botStatus: 'left' });
    const error = await apiError(bot.api.getChat({ chat_id: chatId }));
    expect([error.errorCode, error.description]).toEqual([403, 'Forbidden: bot is not a member of the channel chat']);
  });

  it('getChatMember for the bot reports its status and can_invite_users', async () => {
    const admin = await bot.api.getChatMember({ chat_id: DEMO, user_id: BOT_ID });
    expect(admin).toMatchObject({
      status: 'administrator',
      user: { id: BOT_ID, is_bot: true },
      can_invite_users: true,
      can_post_messages: true,
      can_manage_chat: true,
    });
    const restricted = await bot.api.getChatMember({ chat_id: DEMO_NO_RIGHTS, user_id: BOT_ID });
    expect(restricted).toMatchObject({ status: 'administrator', can_invite_users: false });
    const absent = await bot.api.getChatMember({ chat_id: DEMO_NO_BOT, user_id: BOT_ID });
    expect(absent).toEqual({ user: expect.objectContaining({ id: BOT_ID }), status: 'left' });
  });

  it('getChatMember for another user is 400 member not found', async () => {
    const error = await apiError(bot.api.getChatMember({ chat_id: DEMO, user_id: 42 }));
    expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: member not found']);
  });
});

describe('createChatInviteLink', () => {
  it('creates a unique link by the bot and leaves out absent fields', async () => {
    const chatId = freshChat();
    const first = await bot.api.createChatInviteLink({ chat_id: chatId });
    const second = await bot.api.createChatInviteLink({ chat_id: chatId, name: 'Spring ads', member_limit: 10 });

    expect(first.invite_link).toMatch(LINK_PATTERN);
    expect(second.invite_link).toMatch(LINK_PATTERN);
    expect(second.invite_link).not.toBe(first.invite_link);
    expect(first).toEqual({
      invite_link: first.invite_link,
      creator: { id: BOT_ID, is_bot: true, first_name: 'Sandbox bot', username: 'sandbox_invite_bot' },
      creates_join_request: false,
      is_primary: false,
      is_revoked: false,
    });
    expect(second).toMatchObject({ name: 'Spring ads', member_limit: 10 });
    expect(emulator.links(chatId)).toEqual([first, second]);
  });

  it('keeps expire_date and creates_join_request', async () => {
    const link = await bot.api.createChatInviteLink({
      chat_id: DEMO,
      expire_date: NOW_SECONDS + 3600,
      creates_join_request: true,
    });
    expect(link).toMatchObject({ expire_date: NOW_SECONDS + 3600, creates_join_request: true });
    expect(link).not.toHaveProperty('member_limit');
  });

  it('is 403 when the bot is not in the channel', async () => {
    const error = await apiError(bot.api.createChatInviteLink({ chat_id: DEMO_NO_BOT }));
    expect([error.errorCode, error.description]).toEqual([403, 'Forbidden: bot is not a member of the channel chat']);
  });

  it('is 403 once the bot is kicked', async () => {
    const chatId = freshChat();
    await bot.api.createChatInviteLink({ chat_id: chatId });
    emulator.updateChat(chatId, { botStatus: 'kicked' });
    const error = await apiError(bot.api.createChatInviteLink({ chat_id: chatId }));
    expect([error.errorCode, error.description]).toEqual([403, 'Forbidden: bot was kicked from the channel chat']);
  });

  it('names the supergroup in the kicked text for a supergroup', async () => {
    const chatId = freshChat({ type: 'supergroup', botStatus: 'kicked' });
    const error = await apiError(bot.api.createChatInviteLink({ chat_id: chatId }));
    expect(error.description).toBe('Forbidden: bot was kicked from the supergroup chat');
  });

  it('is refused for lack of rights once the bot is demoted to a plain member', async () => {
    const chatId = freshChat();
    await bot.api.createChatInviteLink({ chat_id: chatId });
    emulator.updateChat(chatId, { botStatus: 'member' });
    const error = await apiError(bot.api.createChatInviteLink({ chat_id: chatId }));
    expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: not enough rights to manage chat invite link']);
  });

  it('is refused without can_invite_users', async () => {
    const error = await apiError(bot.api.createChatInviteLink({ chat_id: DEMO_NO_RIGHTS }));
    expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: not enough rights to manage chat invite link']);
  });

  it('cuts a name longer than 32 characters, counting code points', async () => {
    const link = await bot.api.createChatInviteLink({ chat_id: DEMO, name: `${'x'.repeat(31)}🙂🙂 tail` });
    expect(link.name).toBe(`${'x'.repeat(31)}🙂`);
  });

  it('refuses member_limit above 99999', async () => {
    const error = await apiError(bot.api.createChatInviteLink({ chat_id: DEMO, member_limit: 100_000 }));
    expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: USAGE_LIMIT_INVALID']);
  });

  it('refuses member_limit together with creates_join_request', async () => {
    const error = await apiError(bot.api.createChatInviteLink({ chat_id: DEMO, member_limit: 5, creates_join_request: true }));
    expect([error.errorCode, error.description]).toEqual([
      400,
      "Bad Request: member limit can't be specified for links requiring administrator approval",
    ]);
  });

  it('refuses an expire_date in the past', async () => {
    const error = await apiError(bot.api.createChatInviteLink({ chat_id: DEMO, expire_date: NOW_SECONDS - 1 }));
    expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: EXPIRE_DATE_INVALID']);
  });
});

describe('createChatSubscriptionInviteLink', () => {
  it('creates a subscription link carrying period and price', async () => {
    const link = await bot.api.createChatSubscriptionInviteLink({
      chat_id: DEMO,
      name: 'Paid',
      subscription_period: THIRTY_DAYS,
      subscription_price: 250,
    });
    expect(link).toMatchObject({
      name: 'Paid',
      subscription_period: THIRTY_DAYS,
      subscription_price: 250,
      creates_join_request: false,
      is_revoked: false,
    });
    expect(link.invite_link).toMatch(LINK_PATTERN);
  });

  it('refuses a period other than 30 days', async () => {
    const error = await apiError(
      bot.api.createChatSubscriptionInviteLink({ chat_id: DEMO, subscription_period: 86_400, subscription_price: 10 }),
    );
    expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: SUBSCRIPTION_PERIOD_INVALID']);
  });

  it('refuses a price below 1', async () => {
    const error = await apiError(
      bot.api.createChatSubscriptionInviteLink({
        chat_id: DEMO,
        subscription_period: THIRTY_DAYS,
        subscription_price: 0,
      }),
    );
    expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: invalid subscription pricing specified']);
  });

  it('refuses a price above 10000', async () => {
    const error = await apiError(
      bot.api.createChatSubscriptionInviteLink({
        chat_id: DEMO,
        subscription_period: THIRTY_DAYS,
        subscription_price: 10_001,
      }),
    );
    expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: PRICING_CHAT_INVALID']);
  });

  it('refuses a supergroup', async () => {
    const chatId = freshChat({ type: 'supergroup' });
    const error = await apiError(
      bot.api.createChatSubscriptionInviteLink({
        chat_id: chatId,
        subscription_period: THIRTY_DAYS,
        subscription_price: 5,
      }),
    );
    expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: PRICING_CHAT_INVALID']);
  });
});

describe('editChatInviteLink', () => {
  it('clears every field the edit leaves out', async () => {
    const created = await bot.api.createChatInviteLink({
      chat_id: DEMO,
      name: 'Autumn',
      expire_date: NOW_SECONDS + 3600,
      member_limit: 20,
    });

    const renamed = await bot.api.editChatInviteLink({
      chat_id: DEMO,
      invite_link: created.invite_link,
      name: 'Winter',
    });
    expect(renamed).toEqual({ ...created, name: 'Winter', expire_date: undefined, member_limit: undefined });
    expect(renamed).not.toHaveProperty('expire_date');
    expect(renamed).not.toHaveProperty('member_limit');

    const approval = await bot.api.editChatInviteLink({
      chat_id: DEMO,
      invite_link: created.invite_link,
      creates_join_request: true,
    });
    expect(approval).not.toHaveProperty('name');
    expect(approval.creates_join_request).toBe(true);
  });

  it('applies every field sent', async () => {
    const created = await bot.api.createChatInviteLink({ chat_id: DEMO, creates_join_request: true });
    const edited = await bot.api.editChatInviteLink({
      chat_id: DEMO,
      invite_link: created.invite_link,
      name: 'Partner A',
      expire_date: NOW_SECONDS + 7200,
      member_limit: 50,
      creates_join_request: false,
    });
    expect(edited).toEqual({
      ...created,
      name: 'Partner A',
      expire_date: NOW_SECONDS + 7200,
      member_limit: 50,
      creates_join_request: false,
    });
    expect(emulator.links(DEMO).find((link) => link.invite_link === created.invite_link)).toEqual(edited);
  });

  it('checks the same constraints as creation', async () => {
    const created = await bot.api.createChatInviteLink({ chat_id: DEMO });
    const error = await apiError(bot.api.editChatInviteLink({ chat_id: DEMO, invite_link: created.invite_link, member_limit: 100_000 }));
    expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: USAGE_LIMIT_INVALID']);
  });

  it("refuses another admin's link, and so does revoke", async () => {
    const chatId = freshChat();
    const foreign = emulator.addForeignLink(chatId, { name: 'Owner link' });
    const before = emulator.links(chatId);

    const editError = await apiError(bot.api.editChatInviteLink({ chat_id: chatId, invite_link: foreign, name: 'Mine' }));
    expect([editError.errorCode, editError.description]).toEqual([400, 'Bad Request: CHAT_ADMIN_REQUIRED']);
    const revokeError = await apiError(bot.api.revokeChatInviteLink({ chat_id: chatId, invite_link: foreign }));
    expect([revokeError.errorCode, revokeError.description]).toEqual([400, 'Bad Request: CHAT_ADMIN_REQUIRED']);
    expect(emulator.links(chatId)).toEqual(before);
    expect(before[0]).toMatchObject({ name: 'Owner link', is_revoked: false, creator: { is_bot: false } });
  });

  it('refuses a revoked link', async () => {
    const created = await bot.api.createChatInviteLink({ chat_id: DEMO });
    await bot.api.revokeChatInviteLink({ chat_id: DEMO, invite_link: created.invite_link });
    const error = await apiError(bot.api.editChatInviteLink({ chat_id: DEMO, invite_link: created.invite_link, name: 'x' }));
    expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: INVITE_HASH_EXPIRED']);
  });

  it('refuses an unknown link and an empty one', async () => {
    const unknown = await apiError(bot.api.editChatInviteLink({ chat_id: DEMO, invite_link: 'https://t.me/+AAAAAAAAAAAAAAAA' }));
    expect([unknown.errorCode, unknown.description]).toEqual([400, 'Bad Request: INVITE_HASH_EXPIRED']);
    const empty = await apiError(bot.api.editChatInviteLink({ chat_id: DEMO, invite_link: '' }));
    expect([empty.errorCode, empty.description]).toEqual([400, 'Bad Request: invite link must be non-empty']);
  });

  it('finds the link whatever form of it is sent', async () => {
    const created = await bot.api.createChatInviteLink({ chat_id: DEMO });
    const hash = created.invite_link.slice('https://t.me/+'.length);
    const edited = await bot.api.editChatInviteLink({
      chat_id: DEMO,
      invite_link: `t.me/joinchat/${hash}`,
      name: 'Old form',
    });
    expect(edited).toMatchObject({ invite_link: created.invite_link, name: 'Old form' });
  });
});

describe('subscription link edits', () => {
  async function createSubscriptionLink(name?: string) {
    return bot.api.createChatSubscriptionInviteLink({
      chat_id: DEMO,
      name,
      subscription_period: THIRTY_DAYS,
      subscription_price: 99,
    });
  }

  it('editChatInviteLink refuses a subscription link', async () => {
    const link = await createSubscriptionLink();
    const error = await apiError(bot.api.editChatInviteLink({ chat_id: DEMO, invite_link: link.invite_link, name: 'x' }));
    expect([error.errorCode, error.description]).toEqual([
      400,
      'Bad Request: subscription invite links can be edited only by editChatSubscriptionInviteLink',
    ]);
  });

  it('editChatSubscriptionInviteLink changes only the name, and clears it when left out', async () => {
    const link = await createSubscriptionLink('Before');
    const renamed = await bot.api.editChatSubscriptionInviteLink({
      chat_id: DEMO,
      invite_link: link.invite_link,
      name: 'After',
    });
    expect(renamed).toEqual({ ...link, name: 'After' });
    const unnamed = await bot.api.editChatSubscriptionInviteLink({ chat_id: DEMO, invite_link: link.invite_link });
    expect(unnamed).toEqual({ ...link, name: undefined });
    expect(unnamed).not.toHaveProperty('name');
  });

  it('editChatSubscriptionInviteLink refuses a regular link', async () => {
    const link = await bot.api.createChatInviteLink({ chat_id: DEMO });
    const error = await apiError(bot.api.editChatSubscriptionInviteLink({ chat_id: DEMO, invite_link: link.invite_link, name: 'x' }));
    expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: the invite link is not a subscription invite link']);
  });
});

describe('revokeChatInviteLink', () => {
  it('answers with the revoked link, and again on a second revoke', async () => {
    const chatId = freshChat();
    const created = await bot.api.createChatInviteLink({ chat_id: chatId, name: 'Gone' });
    const revoked = await bot.api.revokeChatInviteLink({ chat_id: chatId, invite_link: created.invite_link });
    expect(revoked).toEqual({ ...created, is_revoked: true });
    expect(await bot.api.revokeChatInviteLink({ chat_id: chatId, invite_link: created.invite_link })).toEqual(revoked);
    expect(emulator.links(chatId)).toEqual([revoked]);
  });
});

describe('wire format', () => {
  it('reads a form-encoded body, coercing numbers and booleans', async () => {
    const { status, body } = await rawCall('createChatInviteLink', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        chat_id: String(DEMO),
        member_limit: '7',
        creates_join_request: 'false',
        name: 'Form',
      }),
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ ok: true, result: { name: 'Form', member_limit: 7, creates_join_request: false } });
  });

  it('reads a JSON body and answers failures with status = error_code as JSON', async () => {
    const response = await rawCall('createChatInviteLink', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ chat_id: DEMO, member_limit: 3, creates_join_request: true }),
    });
    expect(response).toEqual({
      status: 400,
      contentType: 'application/json',
      body: {
        ok: false,
        error_code: 400,
        description: "Bad Request: member limit can't be specified for links requiring administrator approval",
      },
    });
  });

  it('answers 400 for a JSON body that is not an object', async () => {
    const response = await rawCall('getChat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"chat_id":',
    });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ ok: false, error_code: 400, description: 'Bad Request: JSON object expected' });
  });

  it('reads multipart/form-data', async () => {
    const form = new FormData();
    form.set('chat_id', '@demo_channel');
    form.set('name', 'Multipart');
    const { status, body } = await rawCall('createChatInviteLink', { method: 'POST', body: form });
    expect(status).toBe(200);
    expect(body).toMatchObject({ ok: true, result: { name: 'Multipart' } });
  });

  it('reads a GET query string, with case-insensitive method names', async () => {
    const { status, body } = await rawCall(`GETCHAT?chat_id=${DEMO}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      ok: true,
      result: { id: DEMO, type: 'channel', title: 'Demo channel', username: 'demo_channel' },
    });
  });

  it('answers 401 Unauthorized for a wrong token and records no call', async () => {
    emulator.resetCalls();
    const response = await rawCall('getMe', {}, '123456789:wrong');
    expect(response).toEqual({
      status: 401,
      contentType: 'application/json',
      body: { ok: false, error_code: 401, description: 'Unauthorized' },
    });
    expect(emulator.calls).toEqual([]);
  });

  it('answers 404 Not Found for an unknown method', async () => {
    const response = await rawCall('sendTelepathy');
    expect(response).toEqual({
      status: 404,
      contentType: 'application/json',
      body: { ok: false, error_code: 404, description: 'Not Found' },
    });
  });

  it('records each call with its params and the emulated time', async () => {
    emulator.resetCalls();
    await bot.api.getChat({ chat_id: DEMO });
    await rawCall('getMe', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' });
    expect(emulator.calls).toEqual([
      { method: 'getChat', params: { chat_id: String(DEMO) }, at: NOW_MS },
      { method: 'getMe', params: { x: 1 }, at: NOW_MS },
    ]);
  });
});

describe('injected failures', () => {
  it('answers 429 with retry_after, before any state change', async () => {
    const chatId = freshChat();
    emulator.failNext({ kind: 'rateLimit', retryAfter: 7 });
    const error = await apiError(bot.api.createChatInviteLink({ chat_id: chatId }));
    expect(error).toMatchObject({
      errorCode: 429,
      description: 'Too Many Requests: retry after 7',
      parameters: { retry_after: 7 },
      retryAfter: 7,
    });
    expect(emulator.links(chatId)).toEqual([]);
    await expect(bot.api.createChatInviteLink({ chat_id: chatId })).resolves.toMatchObject({ is_revoked: false });
  });

  it('answers a 5xx, 500 by default', async () => {
    emulator.failNext({ kind: 'serverError' });
    expect(await rawCall('getMe')).toEqual({
      status: 500,
      contentType: 'application/json',
      body: { ok: false, error_code: 500, description: 'Internal Server Error' },
    });
    emulator.failNext({ kind: 'serverError', status: 502 });
    const error = await apiError(bot.api.getMe());
    expect([error.errorCode, error.description]).toEqual([502, 'Bad Gateway']);
  });

  it('fails only the named method, as many times as asked, in order', async () => {
    emulator.failNext({ kind: 'serverError', status: 503 }, { method: 'createChatInviteLink', times: 2 });
    emulator.failNext({ kind: 'rateLimit', retryAfter: 3 }, { method: 'createChatInviteLink' });

    await expect(bot.api.getMe()).resolves.toMatchObject({ id: BOT_ID });
    expect((await apiError(bot.api.createChatInviteLink({ chat_id: DEMO }))).errorCode).toBe(503);
    expect((await apiError(bot.api.createChatInviteLink({ chat_id: DEMO }))).errorCode).toBe(503);
    expect((await apiError(bot.api.createChatInviteLink({ chat_id: DEMO }))).errorCode).toBe(429);
    await expect(bot.api.createChatInviteLink({ chat_id: DEMO })).resolves.toHaveProperty('invite_link');
  });

  it('slowAnswer runs the call at once and answers only after the delay', async () => {
    const chat = freshChat();
    emulator.failNext({ kind: 'slowAnswer', delayMs: 300 }, { method: 'createChatInviteLink' });
    let answered = false;
    const answer = bot.api.createChatInviteLink({ chat_id: chat, name: 'slow' }).finally(() => (answered = true));
    await expect.poll(() => emulator.links(chat).map((link) => link.name)).toEqual(['slow']);
    expect(answered).toBe(false);
    const link = await answer;
    expect(link.invite_link).toBe(emulator.links(chat)[0]!.invite_link);
  });

  it('hangs until the client gives up, and close() still resolves', async () => {
    const hangingEmulator = new TelegramEmulator({ botToken: TOKEN });
    const root = await hangingEmulator.listen(0);
    hangingEmulator.failNext({ kind: 'hang' }, { times: 2 });

    const impatientBot = new Bot(TOKEN, { apiRoot: root, maxRetries: 0, timeoutMs: 100 });
    const timedOut = await impatientBot.api.getMe().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(timedOut).toBeInstanceOf(TimeoutError);

    const leftHanging = fetch(`${root}/bot${TOKEN}/getMe`).then(
      () => 'answered',
      () => 'dropped',
    );
    await expect.poll(() => hangingEmulator.calls.length).toBe(2);
    await hangingEmulator.close();
    expect(await leftHanging).toBe('dropped');
  });
});

describe('control surface over HTTP', () => {
  it('POST /_emulator/chat adds a chat', async () => {
    const chat = {
      id: -1003000000001,
      type: 'supergroup',
      title: 'Via HTTP',
      botStatus: 'administrator',
      canInviteUsers: true,
    };
    expect(await control('chat', chat)).toEqual({ status: 200, body: { ok: true, result: true } });
    expect(await bot.api.getChat({ chat_id: chat.id })).toEqual({ id: chat.id, type: 'supergroup', title: 'Via HTTP' });
  });

  it('POST /_emulator/fail queues a failure for a method', async () => {
    expect((await control('fail', { kind: 'rateLimit', retryAfter: 2, method: 'getChat' })).status).toBe(200);
    await expect(bot.api.getMe()).resolves.toHaveProperty('id', BOT_ID);
    const error = await apiError(bot.api.getChat({ chat_id: DEMO }));
    expect([error.errorCode, error.retryAfter]).toEqual([429, 2]);
  });

  it('POST /_emulator/fail refuses a malformed failure', async () => {
    const { status, body } = await control('fail', { kind: 'rateLimit' });
    expect(status).toBe(400);
    expect(body).toMatchObject({ ok: false, error_code: 400 });
    await expect(bot.api.getMe()).resolves.toHaveProperty('id', BOT_ID);
  });

  it('GET /_emulator/calls lists the calls', async () => {
    emulator.resetCalls();
    await bot.api.getChatMember({ chat_id: DEMO, user_id: BOT_ID });
    expect(await control('calls')).toEqual({
      status: 200,
      body: {
        ok: true,
        result: [{ method: 'getChatMember', params: { chat_id: String(DEMO), user_id: String(BOT_ID) }, at: NOW_MS }],
      },
    });
  });
});
