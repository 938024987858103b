import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bot, TelegramApiError, type Update } from 'node-telegram-bot-api';
import { afterEach, describe, expect, it } from 'vitest';
import { AmoCrmEmulator } from '../../src/sandbox/amocrm-emulator.ts';
import { matchControlRoute } from '../../src/sandbox/http-kit.ts';
import { EmulatorRefusal, TelegramEmulator, type EmulatedChat, type TelegramEmulatorOptions } from '../../src/sandbox/telegram-emulator.ts';

const TOKEN = '123456789:AAEmulatorUpdatesTestToken';
const BOT_ID = 123456789;
const NOW_MS = Date.UTC(2026, 2, 1);
const NOW_SECONDS = NOW_MS / 1000;
const DAY_SECONDS = 86_400;
const CHAT_ID = -1004000000001;
const ALL_MEMBER_UPDATES = ['chat_member', 'chat_join_request', 'my_chat_member'];

const BOT_USER = { id: BOT_ID, is_bot: true, first_name: 'Sandbox bot', username: 'sandbox_invite_bot' };
const OTHER_ADMIN = { id: 5_000_000_001, is_bot: false, first_name: 'Channel admin' };
const CHAT_WIRE = { id: CHAT_ID, title: 'Tracked channel', type: 'channel' };

interface Started {
  emulator: TelegramEmulator;
  bot: Bot;
  root: string;
  clock: { ms: number };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** An emulator of its own per test (one bot's update queue), with a clock the test moves. */
async function start(options: Partial<TelegramEmulatorOptions> = {}, chat: Partial<EmulatedChat> = {}): Promise<Started> {
  const clock = { ms: NOW_MS };
  const emulator = new TelegramEmulator({
    botToken: TOKEN,
    now: () => clock.ms,
    firstUpdateId: 1000,
    chats: [{ id: CHAT_ID, type: 'channel', title: 'Tracked channel', botStatus: 'administrator', canInviteUsers: true, ...chat }],
    timing: { longPollSecondMs: 5, webhookRetrySecondMs: 5 },
    ...options,
  });
  const root = await emulator.listen(0);
  cleanups.push(() => emulator.close());
  return { emulator, bot: new Bot(TOKEN, { apiRoot: root, maxRetries: 0 }), root, clock };
}

/** Updates now, confirming everything before `offset`; also sets allowed_updates when given. */
async function updates(bot: Bot, params: { offset?: number; allowed_updates?: string[]; limit?: number } = {}) {
  return bot.api.getUpdates({ timeout: 0, ...params });
}

async function allowMemberUpdates(bot: Bot): Promise<void> {
  await updates(bot, { allowed_updates: ALL_MEMBER_UPDATES });
}

async function apiError(call: Promise<unknown>): Promise<TelegramApiError> {
  const error = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TelegramApiError);
  return error as TelegramApiError;
}

function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof EmulatorRefusal) return error.text;
    throw error;
  }
  throw new Error('expected a refusal');
}

async function raw(root: string, method: string, params: Record<string, unknown> = {}) {
  const response = await fetch(`${root}/bot${TOKEN}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function userWire(id: number, extra: Record<string, unknown> = {}) {
  return { id, is_bot: false, first_name: `User ${id}`, ...extra };
}

describe('joins through links', () => {
  it("a join through the bot's link makes a chat_member update shaped as the Bot API shapes it", async () => {
    const { emulator, bot } = await start();
    await allowMemberUpdates(bot);
    const link = await bot.api.createChatInviteLink({ chat_id: CHAT_ID, name: 'Ads A', member_limit: 5 });

    expect(emulator.join(link.invite_link, 42, { firstName: 'Ann', username: 'ann' })).toBe('joined');

    expect(await updates(bot)).toEqual([
      {
        update_id: 1000,
        chat_member: {
          chat: CHAT_WIRE,
          from: { id: 42, is_bot: false, first_name: 'Ann', username: 'ann' },
          date: NOW_SECONDS,
          old_chat_member: { user: { id: 42, is_bot: false, first_name: 'Ann', username: 'ann' }, status: 'left' },
          new_chat_member: { user: { id: 42, is_bot: false, first_name: 'Ann', username: 'ann' }, status: 'member' },
          invite_link: {
            invite_link: link.invite_link,
            name: 'Ads A',
            creator: BOT_USER,
            member_limit: 5,
            creates_join_request: false,
            is_primary: false,
            is_revoked: false,
          },
        },
      },
    ]);
    expect(emulator.memberStatus(CHAT_ID, 42)).toBe('member');
    expect(emulator.inviteLinkUsage(CHAT_ID, link.invite_link)).toEqual({
      memberCount: 1,
      joinCount: 1,
      pendingJoinRequestCount: 0,
    });
  });

  it("hides the tail of another admin's link", async () => {
    const { emulator, bot } = await start();
    await allowMemberUpdates(bot);
    const foreign = emulator.addForeignLink(CHAT_ID, { name: 'Owner link' });

    emulator.join(foreign, 43);

    const [update] = await updates(bot);
    const inviteLink = (update as { chat_member: { invite_link: Record<string, unknown> } }).chat_member.invite_link;
    const hash = foreign.slice('https://t.me/+'.length);
    expect(inviteLink).toEqual({
      invite_link: `https://t.me/+${hash.slice(0, 3)}...`,
      name: 'Owner link',
      creator: OTHER_ADMIN,
      creates_join_request: false,
      is_primary: false,
      is_revoked: false,
    });
  });

  it("refuses unknown, revoked and expired links with Telegram's errors", async () => {
    const { emulator, bot, clock } = await start();
    const revoked = await bot.api.createChatInviteLink({ chat_id: CHAT_ID });
    await bot.api.revokeChatInviteLink({ chat_id: CHAT_ID, invite_link: revoked.invite_link });
    const expiring = await bot.api.createChatInviteLink({ chat_id: CHAT_ID, expire_date: NOW_SECONDS + 60 });

    expect(refusal(() => emulator.join('https://t.me/+NoSuchLinkAtAll0', 1))).toBe('INVITE_HASH_INVALID');
    expect(refusal(() => emulator.join(revoked.invite_link, 1))).toBe('INVITE_HASH_EXPIRED');
    expect(emulator.join(expiring.invite_link, 1)).toBe('joined');
    clock.ms += 60_000;
    expect(refusal(() => emulator.join(expiring.invite_link, 2))).toBe('INVITE_HASH_EXPIRED');
    expect(emulator.memberStatus(CHAT_ID, 2)).toBe('left');
  });

  it('counts member_limit against the current members who joined through the link', async () => {
    const { emulator, bot } = await start();
    const link = await bot.api.createChatInviteLink({ chat_id: CHAT_ID, member_limit: 2 });
    const other = await bot.api.createChatInviteLink({ chat_id: CHAT_ID, member_limit: 1 });

    emulator.join(link.invite_link, 1);
    emulator.join(other.invite_link, 2);
    emulator.join(link.invite_link, 3);
    expect(refusal(() => emulator.join(link.invite_link, 4))).toBe('USERS_TOO_MUCH');
    emulator.leave(CHAT_ID, 1);
    expect(emulator.join(link.invite_link, 4)).toBe('joined');
    expect(emulator.inviteLinkUsage(CHAT_ID, link.invite_link)).toEqual({
      memberCount: 2,
      joinCount: 3,
      pendingJoinRequestCount: 0,
    });
  });

  it('refuses a member and a banned user', async () => {
    const { emulator, bot } = await start();
    const link = await bot.api.createChatInviteLink({ chat_id: CHAT_ID });
    emulator.join(link.invite_link, 7);
    expect(refusal(() => emulator.join(link.invite_link, 7))).toBe('USER_ALREADY_PARTICIPANT');
    emulator.kick(CHAT_ID, 7);
    expect(refusal(() => emulator.join(link.invite_link, 7))).toBe('CHANNEL_PRIVATE');
    emulator.unban(CHAT_ID, 7);
    expect(emulator.join(link.invite_link, 7)).toBe('joined');
  });

  it('a join-request link makes a pending request and a chat_join_request update, once', async () => {
    const { emulator, bot } = await start();
    await allowMemberUpdates(bot);
    const link = await bot.api.createChatInviteLink({ chat_id: CHAT_ID, name: 'Approval', creates_join_request: true });

    expect(emulator.join(link.invite_link, 50, { bio: 'Likes cats' })).toBe('requested');
    expect(emulator.join(link.invite_link, 50)).toBe('requested');

    expect(await updates(bot)).toEqual([
      {
        update_id: 1000,
        chat_join_request: {
          chat: CHAT_WIRE,
          from: userWire(50),
          user_chat_id: 50,
          date: NOW_SECONDS,
          bio: 'Likes cats',
          invite_link: {
            invite_link: link.invite_link,
            name: 'Approval',
            creator: BOT_USER,
            pending_join_request_count: 1,
            creates_join_request: true,
            is_primary: false,
            is_revoked: false,
          },
        },
      },
    ]);
    expect(emulator.memberStatus(CHAT_ID, 50)).toBe('left');
    expect(emulator.joinRequests(CHAT_ID)).toEqual([{ userId: 50, date: NOW_SECONDS, bio: 'Likes cats', inviteLink: link.invite_link }]);
    expect(emulator.links(CHAT_ID)[0]).toMatchObject({ pending_join_request_count: 1 });
  });
});

describe('joins without a link, leaves and removals', () => {
  it('joins through the public username carry no invite_link; a folder link says so', async () => {
    const { emulator, bot } = await start({}, { username: 'tracked' });
    await allowMemberUpdates(bot);

    emulator.join(CHAT_ID, 60);
    emulator.join(CHAT_ID, 61, { viaChatFolderInviteLink: true });

    const [byUsername, byFolder] = (await updates(bot)) as { chat_member: Record<string, unknown> }[];
    expect(byUsername!.chat_member).toEqual({
      chat: { ...CHAT_WIRE, username: 'tracked' },
      from: userWire(60),
      date: NOW_SECONDS,
      old_chat_member: { user: userWire(60), status: 'left' },
      new_chat_member: { user: userWire(60), status: 'member' },
    });
    expect(byFolder!.chat_member).toMatchObject({ via_chat_folder_invite_link: true });
    expect(byFolder!.chat_member).not.toHaveProperty('invite_link');
  });

  it('a private chat cannot be joined by id, an unknown chat is invalid', async () => {
    const { emulator } = await start();
    expect(refusal(() => emulator.join(CHAT_ID, 62))).toBe('CHANNEL_PRIVATE');
    expect(refusal(() => emulator.join(-1009999999999, 62))).toBe('CHANNEL_INVALID');
  });

  it('a leave comes from the user, a removal from an admin as kicked', async () => {
    const { emulator, bot } = await start({}, { username: 'tracked' });
    await allowMemberUpdates(bot);
    emulator.join(CHAT_ID, 70);
    emulator.join(CHAT_ID, 71);
    emulator.leave(CHAT_ID, 70);
    emulator.kick(CHAT_ID, 71);
    expect(refusal(() => emulator.leave(CHAT_ID, 70))).toBe('USER_NOT_PARTICIPANT');

    const changes = (await updates(bot)).slice(2) as { chat_member: Record<string, unknown> }[];
    expect(changes.map((update) => update.chat_member)).toEqual([
      {
        chat: { ...CHAT_WIRE, username: 'tracked' },
        from: userWire(70),
        date: NOW_SECONDS,
        old_chat_member: { user: userWire(70), status: 'member' },
        new_chat_member: { user: userWire(70), status: 'left' },
      },
      {
        chat: { ...CHAT_WIRE, username: 'tracked' },
        from: OTHER_ADMIN,
        date: NOW_SECONDS,
        old_chat_member: { user: userWire(71), status: 'member' },
        new_chat_member: { user: userWire(71), status: 'kicked', until_date: 0 },
      },
    ]);
    expect(emulator.memberStatus(CHAT_ID, 71)).toBe('kicked');
  });

  it('chat_member reaches only an administrator bot, chat_join_request only one with can_invite_users', async () => {
    const { emulator, bot } = await start({}, { username: 'tracked' });
    await allowMemberUpdates(bot);
    const approval = await bot.api.createChatInviteLink({ chat_id: CHAT_ID, creates_join_request: true });
    emulator.updateChat(CHAT_ID, { canInviteUsers: false });
    emulator.join(approval.invite_link, 80);
    emulator.updateChat(CHAT_ID, { botStatus: 'member' });
    emulator.join(CHAT_ID, 81);
    expect(await updates(bot)).toEqual([]);
    expect(emulator.memberStatus(CHAT_ID, 81)).toBe('member');
    expect(emulator.joinRequests(CHAT_ID).map((request) => request.userId)).toEqual([80]);
  });
});

describe('approveChatJoinRequest and declineChatJoinRequest', () => {
  async function withRequest(options: Partial<TelegramEmulatorOptions> = {}) {
    const started = await start(options);
    await allowMemberUpdates(started.bot);
    const link = await started.bot.api.createChatInviteLink({ chat_id: CHAT_ID, creates_join_request: true });
    started.emulator.join(link.invite_link, 90);
    await updates(started.bot, { offset: 1001 });
    return { ...started, link };
  }

  it("approve makes the user a member and sends chat_member with the request's link, from the bot", async () => {
    const { emulator, bot, link } = await withRequest();
    expect(await bot.api.approveChatJoinRequest({ chat_id: CHAT_ID, user_id: 90 })).toBe(true);

    expect(await updates(bot)).toEqual([
      {
        update_id: 1001,
        chat_member: {
          chat: CHAT_WIRE,
          from: BOT_USER,
          date: NOW_SECONDS,
          old_chat_member: { user: userWire(90), status: 'left' },
          new_chat_member: { user: userWire(90), status: 'member' },
          invite_link: {
            invite_link: link.invite_link,
            creator: BOT_USER,
            creates_join_request: true,
            is_primary: false,
            is_revoked: false,
          },
        },
      },
    ]);
    expect(emulator.memberStatus(CHAT_ID, 90)).toBe('member');
    expect(emulator.inviteLinkUsage(CHAT_ID, link.invite_link)).toEqual({
      memberCount: 1,
      joinCount: 1,
      pendingJoinRequestCount: 0,
    });
  });

  it('can mark an approved join with via_join_request instead of the link', async () => {
    const { bot } = await withRequest({ approvedLinkJoinShape: 'via_join_request' });
    await bot.api.approveChatJoinRequest({ chat_id: CHAT_ID, user_id: 90 });
    const [update] = (await updates(bot)) as { chat_member: Record<string, unknown> }[];
    expect(update!.chat_member).toMatchObject({ via_join_request: true, from: BOT_USER });
    expect(update!.chat_member).not.toHaveProperty('invite_link');
  });

  it('a request through the username is approved with via_join_request', async () => {
    const { emulator, bot } = await start({}, { username: 'tracked', joinByRequest: true });
    await allowMemberUpdates(bot);
    expect(emulator.join(CHAT_ID, 91)).toBe('requested');
    const [request] = (await updates(bot)) as { update_id: number; chat_join_request: Record<string, unknown> }[];
    expect(request!.chat_join_request).not.toHaveProperty('invite_link');
    await bot.api.approveChatJoinRequest({ chat_id: CHAT_ID, user_id: 91 });
    const [approved] = (await updates(bot, { offset: request!.update_id + 1 })) as {
      chat_member: Record<string, unknown>;
    }[];
    expect(approved!.chat_member).toMatchObject({ via_join_request: true });
    expect(approved!.chat_member).not.toHaveProperty('invite_link');
  });

  it('answers HIDE_REQUESTER_MISSING once the request is handled, and decline makes no member', async () => {
    const { emulator, bot } = await withRequest();
    emulator.join((await bot.api.createChatInviteLink({ chat_id: CHAT_ID, creates_join_request: true })).invite_link, 92);
    await updates(bot, { offset: 1002 });

    expect(await bot.api.declineChatJoinRequest({ chat_id: CHAT_ID, user_id: 92 })).toBe(true);
    expect(emulator.memberStatus(CHAT_ID, 92)).toBe('left');
    expect(await updates(bot)).toEqual([]);

    await bot.api.approveChatJoinRequest({ chat_id: CHAT_ID, user_id: 90 });
    for (const call of [
      bot.api.approveChatJoinRequest({ chat_id: CHAT_ID, user_id: 90 }),
      bot.api.declineChatJoinRequest({ chat_id: CHAT_ID, user_id: 92 }),
      bot.api.approveChatJoinRequest({ chat_id: CHAT_ID, user_id: 92 }),
    ]) {
      const error = await apiError(call);
      expect([error.errorCode, error.description]).toEqual([400, 'Bad Request: HIDE_REQUESTER_MISSING']);
    }
  });

  it('answers USER_ID_INVALID for a user Telegram does not know, and checks user_id first', async () => {
    const { bot, emulator } = await withRequest();
    const unknown = await apiError(bot.api.approveChatJoinRequest({ chat_id: CHAT_ID, user_id: 999_999 }));
    expect([unknown.errorCode, unknown.description]).toEqual([400, 'Bad Request: USER_ID_INVALID']);
    const zero = await apiError(bot.api.declineChatJoinRequest({ chat_id: -1009999999999, user_id: 0 }));
    expect(zero.description).toBe('Bad Request: invalid user_id specified');
    expect(emulator.joinRequests(CHAT_ID)).toHaveLength(1);
  });

  it('needs an administrator with can_invite_users, after the chat checks', async () => {
    const { bot, emulator } = await withRequest();
    emulator.updateChat(CHAT_ID, { canInviteUsers: false });
    const noRight = await apiError(bot.api.approveChatJoinRequest({ chat_id: CHAT_ID, user_id: 90 }));
    expect([noRight.errorCode, noRight.description]).toEqual([400, 'Bad Request: not enough rights to manage chat join requests']);
    emulator.updateChat(CHAT_ID, { botStatus: 'member' });
    const member = await apiError(bot.api.declineChatJoinRequest({ chat_id: CHAT_ID, user_id: 90 }));
    expect(member.description).toBe('Bad Request: not enough rights to manage chat join requests');
    emulator.updateChat(CHAT_ID, { botStatus: 'kicked' });
    const kicked = await apiError(bot.api.approveChatJoinRequest({ chat_id: CHAT_ID, user_id: 90 }));
    expect([kicked.errorCode, kicked.description]).toEqual([403, 'Forbidden: bot was kicked from the channel chat']);
    expect(emulator.joinRequests(CHAT_ID)).toHaveLength(1);
  });

  it("answers getChatMember for a user it has seen with the user's status", async () => {
    const { bot, emulator } = await withRequest();
    expect(await bot.api.getChatMember({ chat_id: CHAT_ID, user_id: 90 })).toEqual({ user: userWire(90), status: 'left' });
    emulator.decideJoinRequest(CHAT_ID, 90, true);
    expect(await bot.api.getChatMember({ chat_id: CHAT_ID, user_id: 90 })).toEqual({ user: userWire(90), status: 'member' });
    emulator.kick(CHAT_ID, 90);
    expect(await bot.api.getChatMember({ chat_id: CHAT_ID, user_id: 90 })).toMatchObject({ status: 'kicked' });
    const unseen = await apiError(bot.api.getChatMember({ chat_id: CHAT_ID, user_id: 424_242 }));
    expect(unseen.description).toBe('Bad Request: member not found');
  });

  it('another admin can decide a request too', async () => {
    const { bot, emulator } = await withRequest();
    emulator.decideJoinRequest(CHAT_ID, 90, true);
    const [update] = (await updates(bot)) as { chat_member: Record<string, unknown> }[];
    expect(update!.chat_member).toMatchObject({ from: OTHER_ADMIN, new_chat_member: { status: 'member' } });
    expect(refusal(() => emulator.decideJoinRequest(CHAT_ID, 90, false))).toBe('HIDE_REQUESTER_MISSING');
  });
});

describe('my_chat_member', () => {
  it("reports a change of the bot's rights and status, by default allowed_updates too", async () => {
    const { emulator, bot } = await start();

    emulator.setBotStatus(CHAT_ID, { status: 'administrator', canInviteUsers: false });
    emulator.setBotStatus(CHAT_ID, { status: 'administrator', canInviteUsers: false });
    emulator.setBotStatus(CHAT_ID, { status: 'left' });

    const [demoted, removed, ...rest] = (await updates(bot)) as { my_chat_member: Record<string, unknown> }[];
    expect(rest).toEqual([]);
    expect(demoted!.my_chat_member).toMatchObject({
      chat: CHAT_WIRE,
      from: OTHER_ADMIN,
      date: NOW_SECONDS,
      old_chat_member: { user: BOT_USER, status: 'administrator', can_invite_users: true, can_manage_chat: true },
      new_chat_member: { user: BOT_USER, status: 'administrator', can_invite_users: false },
    });
    expect(removed!.my_chat_member).toMatchObject({
      old_chat_member: { status: 'administrator', can_invite_users: false },
      new_chat_member: { user: BOT_USER, status: 'left' },
    });
    const error = await apiError(bot.api.createChatInviteLink({ chat_id: CHAT_ID }));
    expect(error.description).toBe('Forbidden: bot is not a member of the channel chat');
  });
});

describe('getUpdates', () => {
  async function threeJoins() {
    const started = await start({}, { username: 'tracked' });
    await allowMemberUpdates(started.bot);
    for (const userId of [1, 2, 3]) started.emulator.join(CHAT_ID, userId);
    return started;
  }
  const ids = (list: Update[]) => list.map((update) => update.update_id);

  it('numbers updates one apart and forgets those below the offset', async () => {
    const { bot } = await threeJoins();
    expect(ids(await updates(bot))).toEqual([1000, 1001, 1002]);
    expect(ids(await updates(bot))).toEqual([1000, 1001, 1002]);
    expect(ids(await updates(bot, { offset: 1001 }))).toEqual([1001, 1002]);
    expect(ids(await updates(bot))).toEqual([1001, 1002]);
    expect(ids(await updates(bot, { offset: 1003 }))).toEqual([]);
    expect(ids(await updates(bot))).toEqual([]);
  });

  it('a negative offset keeps only the last ones; limit is clamped to 1..100', async () => {
    const { bot } = await threeJoins();
    expect(ids(await updates(bot, { limit: 0 }))).toEqual([1000]);
    expect(ids(await updates(bot, { limit: 2 }))).toEqual([1000, 1001]);
    expect(ids(await updates(bot, { offset: -2 }))).toEqual([1001, 1002]);
    expect(ids(await updates(bot))).toEqual([1001, 1002]);
  });

  it('an offset far past the newest update reads from the oldest, forgetting nothing', async () => {
    const { bot } = await threeJoins();
    expect(ids(await updates(bot, { offset: 5000 }))).toEqual([1000, 1001, 1002]);
  });

  it('makes chat_member only when allowed_updates names it, and keeps the setting when omitted', async () => {
    const { emulator, bot } = await start({}, { username: 'tracked' });
    emulator.join(CHAT_ID, 1);
    expect(await updates(bot)).toEqual([]);

    await updates(bot, { allowed_updates: ['chat_member'] });
    emulator.join(CHAT_ID, 2);
    emulator.setBotStatus(CHAT_ID, { status: 'administrator', canInviteUsers: false });
    const listed = await updates(bot);
    expect(listed.map((update) => Object.keys(update)[1])).toEqual(['chat_member']);

    await updates(bot, { allowed_updates: [] });
    emulator.join(CHAT_ID, 3);
    emulator.setBotStatus(CHAT_ID, { status: 'administrator', canInviteUsers: true });
    const afterReset = await updates(bot, { offset: listed[0]!.update_id + 1 });
    expect(afterReset.map((update) => Object.keys(update)[1])).toEqual(['my_chat_member']);
  });

  it("keeps updates 24 hours by the emulator's clock", async () => {
    const { emulator, bot, clock } = await start({}, { username: 'tracked' });
    await allowMemberUpdates(bot);
    emulator.join(CHAT_ID, 1);
    clock.ms += 3600_000;
    emulator.join(CHAT_ID, 2);

    clock.ms = NOW_MS + DAY_SECONDS * 1000;
    expect(ids(await updates(bot))).toEqual([1000, 1001]);
    clock.ms += 1000;
    expect(ids(await updates(bot))).toEqual([1001]);
    clock.ms += 3600_000;
    expect(ids(await updates(bot))).toEqual([]);
  });

  it('a long poll answers as soon as an update arrives', async () => {
    const { emulator, bot } = await start({ timing: { longPollSecondMs: 60_000 } }, { username: 'tracked' });
    await allowMemberUpdates(bot);
    const poll = bot.api.getUpdates({ timeout: 50 });
    await expect.poll(() => emulator.calls.length).toBe(2);
    emulator.join(CHAT_ID, 5);
    emulator.leave(CHAT_ID, 5);
    expect(ids(await poll)).toEqual([1000, 1001]);
  });

  it('a long poll with nothing to deliver answers [] when its timeout ends', async () => {
    const { bot } = await start();
    expect(await bot.api.getUpdates({ timeout: 2 })).toEqual([]);
  });

  it('a second long poll terminates the first with 409', async () => {
    const { emulator, bot } = await start({ timing: { longPollSecondMs: 60_000 } }, { username: 'tracked' });
    await allowMemberUpdates(bot);
    const first = apiError(bot.api.getUpdates({ timeout: 50 }));
    await expect.poll(() => emulator.calls.length).toBe(2);
    const second = bot.api.getUpdates({ timeout: 50 });

    const conflict = await first;
    expect([conflict.errorCode, conflict.description]).toEqual([
      409,
      'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
    ]);
    emulator.join(CHAT_ID, 6);
    expect(ids(await second)).toEqual([1000]);
  });

  it('setWebhook terminates a waiting long poll', async () => {
    const { emulator, bot } = await start({ timing: { longPollSecondMs: 60_000 } });
    const poll = apiError(bot.api.getUpdates({ timeout: 50 }));
    await expect.poll(() => emulator.calls.length).toBe(1);
    await bot.api.setWebhook({ url: 'http://127.0.0.1:9/hook' });
    expect((await poll).description).toBe('Conflict: terminated by setWebhook request');
  });

  it('answers 409 while a webhook is set, and the updates wait for deleteWebhook', async () => {
    const { emulator, bot } = await start({}, { username: 'tracked' });
    await bot.api.setWebhook({ url: 'http://127.0.0.1:9/unreachable', allowed_updates: ALL_MEMBER_UPDATES });
    emulator.join(CHAT_ID, 8);

    const error = await apiError(updates(bot));
    expect([error.errorCode, error.description]).toEqual([
      409,
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    ]);
    await bot.api.deleteWebhook({});
    expect(ids(await updates(bot))).toEqual([1000]);
  });
});

// ---------------------------------------------------------------------------------------------

interface Delivery {
  headers: IncomingMessage['headers'];
  body: Update;
}

/** A real webhook: records each delivery and answers with `answer` (which may hold it). */
async function webhookServer(answer: (delivery: Delivery, response: ServerResponse) => void | Promise<void>) {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const delivery = { headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Update };
      deliveries.push(delivery);
      void answer(delivery, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/telegram/hook`, deliveries };
}

const ok = (_delivery: Delivery, response: ServerResponse) => void response.writeHead(200).end();

describe('webhooks', () => {
  it('POSTs each update as JSON with the secret header; a 2xx confirms it', async () => {
    const { emulator, bot } = await start({}, { username: 'tracked' });
    const hook = await webhookServer(ok);
    await bot.api.setWebhook({ url: hook.url, secret_token: 'sec-RET_1', allowed_updates: ALL_MEMBER_UPDATES });

    emulator.join(CHAT_ID, 10);
    await expect.poll(() => hook.deliveries.length).toBe(1);
    const [delivery] = hook.deliveries;
    expect(delivery!.headers['x-telegram-bot-api-secret-token']).toBe('sec-RET_1');
    expect(delivery!.headers['content-type']).toBe('application/json');
    expect(delivery!.body).toEqual({
      update_id: 1000,
      chat_member: {
        chat: { ...CHAT_WIRE, username: 'tracked' },
        from: userWire(10),
        date: NOW_SECONDS,
        old_chat_member: { user: userWire(10), status: 'left' },
        new_chat_member: { user: userWire(10), status: 'member' },
      },
    });

    await expect.poll(async () => (await bot.api.getWebhookInfo()).pending_update_count).toBe(0);
    expect(await bot.api.getWebhookInfo()).toEqual({
      url: hook.url,
      has_custom_certificate: false,
      pending_update_count: 0,
      max_connections: 40,
      ip_address: '127.0.0.1',
      allowed_updates: ['my_chat_member', 'chat_member', 'chat_join_request'],
    });
    expect(emulator.pendingUpdates()).toEqual([]);
  });

  it('retries an update the webhook answered 500, and confirms it once after the 2xx', async () => {
    const { emulator, bot } = await start({}, { username: 'tracked' });
    let failuresLeft = 1;
    const hook = await webhookServer((_delivery, response) => {
      if (failuresLeft-- > 0) return void response.writeHead(500).end();
      response.writeHead(200).end();
    });
    await bot.api.setWebhook({ url: hook.url, allowed_updates: ALL_MEMBER_UPDATES });

    emulator.join(CHAT_ID, 11);
    await expect.poll(() => hook.deliveries.length).toBe(2);
    emulator.join(CHAT_ID, 12);
    await expect.poll(() => hook.deliveries.length).toBe(3);
    await expect.poll(async () => (await bot.api.getWebhookInfo()).pending_update_count).toBe(0);

    expect(hook.deliveries.map((delivery) => delivery.body.update_id)).toEqual([1000, 1000, 1001]);
    expect(hook.deliveries[0]!.headers).not.toHaveProperty('x-telegram-bot-api-secret-token');
    expect(await bot.api.getWebhookInfo()).toMatchObject({
      last_error_date: NOW_SECONDS,
      last_error_message: 'Wrong response from the webhook: 500 Internal Server Error',
    });
  });

  it('keeps retrying, with the error recorded, while the webhook is unreachable', async () => {
    const { emulator, bot } = await start({}, { username: 'tracked' });
    const closedPort = await freePort();
    await bot.api.setWebhook({ url: `http://127.0.0.1:${closedPort}/hook`, allowed_updates: ALL_MEMBER_UPDATES });
    emulator.join(CHAT_ID, 13);

    await expect.poll(async () => (await bot.api.getWebhookInfo()).last_error_message).toBe('Connection refused');
    expect(await bot.api.getWebhookInfo()).toMatchObject({ pending_update_count: 1, last_error_date: NOW_SECONDS });
    await bot.api.deleteWebhook({});
    expect(await bot.api.getWebhookInfo()).toEqual({
      url: '',
      has_custom_certificate: false,
      pending_update_count: 1,
      allowed_updates: ['my_chat_member', 'chat_member', 'chat_join_request'],
    });
  });

  it("holds at most max_connections deliveries, and one user's updates one after another", async () => {
    const { emulator, bot } = await start({}, { username: 'tracked' });
    const held = new Map<number, ServerResponse>();
    const hook = await webhookServer((delivery, response) => void held.set(delivery.body.update_id, response));
    const deliveredIds = () => hook.deliveries.map((delivery) => delivery.body.update_id);
    await bot.api.setWebhook({ url: hook.url, max_connections: 2, allowed_updates: ALL_MEMBER_UPDATES });

    emulator.join(CHAT_ID, 20);
    emulator.leave(CHAT_ID, 20);
    emulator.join(CHAT_ID, 21);
    emulator.join(CHAT_ID, 22);
    await expect.poll(() => hook.deliveries.length).toBe(2);
    // A round trip through the emulator gives it every chance to start a third.
    expect((await bot.api.getWebhookInfo()).pending_update_count).toBe(4);
    expect(deliveredIds().sort()).toEqual([1000, 1002]);

    // User 20's leave waits for their join; user 22 waits for a free connection.
    held.get(1000)!.writeHead(200).end();
    await expect.poll(() => hook.deliveries.length).toBe(3);
    expect(deliveredIds()[2]).toBe(1001);
    held.get(1002)!.writeHead(200).end();
    await expect.poll(() => hook.deliveries.length).toBe(4);
    expect(deliveredIds()[3]).toBe(1003);
  });

  it('answers setWebhook and deleteWebhook as Telegram does, and validates the secret', async () => {
    const { root } = await start();
    const url = 'http://127.0.0.1:9/hook';
    expect((await raw(root, 'setWebhook', { url })).body).toEqual({ ok: true, result: true, description: 'Webhook was set' });
    expect((await raw(root, 'setWebhook', { url })).body.description).toBe('Webhook is already set');
    expect((await raw(root, 'setWebhook', { url, max_connections: 500 })).body.description).toBe('Webhook was set');
    expect((await raw(root, 'getWebhookInfo')).body.result).toMatchObject({ max_connections: 100 });
    expect((await raw(root, 'deleteWebhook')).body.description).toBe('Webhook was deleted');
    expect((await raw(root, 'deleteWebhook')).body.description).toBe('Webhook is already deleted');

    expect(await raw(root, 'setWebhook', { url, secret_token: 'no spaces!' })).toEqual({
      status: 400,
      body: { ok: false, error_code: 400, description: 'Bad Request: secret token contains unallowed characters' },
    });
    expect((await raw(root, 'setWebhook', { url, secret_token: 'x'.repeat(257) })).body.description).toBe(
      'Bad Request: secret token is too long',
    );
    expect((await raw(root, 'setWebhook', { url: 'ftp://example.com/hook' })).body.description).toBe(
      'Bad Request: invalid webhook URL specified',
    );
    expect((await raw(root, 'setWebhook', { url, secret_token: 'x'.repeat(256) })).body.description).toBe('Webhook was set');
  });

  it('drop_pending_updates clears the queue', async () => {
    const { emulator, bot } = await start({}, { username: 'tracked' });
    await allowMemberUpdates(bot);
    emulator.join(CHAT_ID, 30);
    await bot.api.deleteWebhook({ drop_pending_updates: true });
    expect(await updates(bot)).toEqual([]);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("create and edit check the member limit and the rights in tdlib's order", () => {
  it('create: member limit first (tdlib 7f923dc5c); edit: rights first', async () => {
    const { bot, emulator } = await start();
    const link = await bot.api.createChatInviteLink({ chat_id: CHAT_ID });
    emulator.updateChat(CHAT_ID, { canInviteUsers: false });
    const both = { chat_id: CHAT_ID, member_limit: 5, creates_join_request: true };
    expect((await apiError(bot.api.createChatInviteLink(both))).description).toBe(
      "Bad Request: member limit can't be specified for links requiring administrator approval",
    );
    expect((await apiError(bot.api.editChatInviteLink({ ...both, invite_link: link.invite_link }))).description).toBe(
      'Bad Request: not enough rights to manage chat invite link',
    );
  });
});

describe('control routes', () => {
  async function control(root: string, path: string, body?: unknown) {
    const response = await fetch(`${root}/_emulator/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as unknown };
  }

  it("make users join, leave and be removed over HTTP, with Telegram's refusals as 409", async () => {
    const { root, bot, emulator } = await start({}, { username: 'tracked' });
    const link = await bot.api.createChatInviteLink({ chat_id: CHAT_ID, creates_join_request: true });
    const revoked = (await bot.api.createChatInviteLink({ chat_id: CHAT_ID })).invite_link;
    await bot.api.revokeChatInviteLink({ chat_id: CHAT_ID, invite_link: revoked });

    expect(await control(root, 'join', { chatId: CHAT_ID, userId: 1, firstName: 'Bo' })).toEqual({
      status: 200,
      body: { ok: true, result: 'joined' },
    });
    expect((await control(root, 'join', { inviteLink: link.invite_link, userId: 2 })).body).toEqual({
      ok: true,
      result: 'requested',
    });
    expect(await control(root, 'join', { inviteLink: revoked, userId: 3 })).toEqual({
      status: 409,
      body: { ok: false, error_code: 409, description: 'INVITE_HASH_EXPIRED' },
    });
    expect((await control(root, 'join-request', { chatId: CHAT_ID, userId: 2, approve: true })).body).toEqual({
      ok: true,
      result: 'approved',
    });
    expect((await control(root, 'leave', { chatId: CHAT_ID, userId: 1 })).body).toEqual({ ok: true, result: 'left' });
    expect((await control(root, 'kick', { chatId: CHAT_ID, userId: 2 })).body).toEqual({ ok: true, result: 'kicked' });
    expect((await control(root, 'bot-status', { chatId: CHAT_ID, status: 'left' })).status).toBe(200);
    expect([emulator.memberStatus(CHAT_ID, 1), emulator.memberStatus(CHAT_ID, 2)]).toEqual(['left', 'kicked']);

    const malformed = await control(root, 'join', { inviteLink: link.invite_link, chatId: CHAT_ID, userId: 4 });
    expect(malformed).toMatchObject({ status: 400, body: { ok: false, error_code: 400 } });
    // By default chat_member is not made; chat_join_request and my_chat_member are.
    expect((await control(root, 'updates')).body).toMatchObject({
      ok: true,
      result: [{ chat_join_request: { from: { id: 2 } } }, { my_chat_member: { new_chat_member: { status: 'left' } } }],
    });
  });

  it('live under the control secret when one is set', async () => {
    const { root } = await start({ controlSecret: 'S3cret_path' });
    expect((await control(root, 'calls')).status).toBe(404);
    expect((await control(root, 'wrong/calls')).status).toBe(404);
    expect(await control(root, 'S3cret_path/calls')).toEqual({ status: 200, body: { ok: true, result: [] } });
    expect((await control(root, 'S3cret_path/join', { chatId: CHAT_ID, userId: 1 })).status).toBe(409);

    const amocrm = new AmoCrmEmulator({ controlSecret: 'amo_secret' });
    const amoRoot = await amocrm.listen(0);
    cleanups.push(() => amocrm.close());
    expect((await fetch(`${amoRoot}/_emulator/calls`)).status).toBe(404);
    expect((await fetch(`${amoRoot}/_emulator/amo_secret/calls`)).status).toBe(200);
  });

  // Decided on the peer's address; tested without traffic to any non-loopback address.
  it('answer only loopback peers, whatever address the emulator listens on', () => {
    const from = (remoteAddress: string) => ({ socket: { remoteAddress } }) as unknown as IncomingMessage;
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
      expect(matchControlRoute(from(address), '/_emulator/calls', undefined), address).toEqual({ kind: 'route', route: 'calls' });
    }
    for (const address of ['192.0.2.2', '10.0.0.1', '::ffff:192.0.2.2', '2001:db8::1', '']) {
      expect(matchControlRoute(from(address), '/_emulator/calls', undefined), address).toEqual({ kind: 'refused', status: 403 });
    }
    expect(matchControlRoute(from('192.0.2.2'), '/bot123:abc/getMe', undefined)).toBeUndefined();
    expect(matchControlRoute(from('127.0.0.1'), '/_emulator/s3cret/calls', 's3cret')).toEqual({ kind: 'route', route: 'calls' });
    expect(matchControlRoute(from('127.0.0.1'), '/_emulator/calls', 's3cret')).toEqual({ kind: 'refused', status: 404 });
  });
});
