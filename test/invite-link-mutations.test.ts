import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, CONNECT_CHANNEL, CHANNEL, BOT_TOKEN, type GraphQLResponse, type TestApp } from './support/app.ts';
import { DEMO_CHAT_IDS } from '../src/sandbox/demo-data.ts';

const NO_RIGHTS = DEMO_CHAT_IDS.botLacksInviteRights;
const NOT_MEMBER = DEMO_CHAT_IDS.botNotMember;
const UNKNOWN_CHAT = -1009999999999;
const BOT_ID = Number(BOT_TOKEN.split(':')[0]);

let t: TestApp;
let owner: { accountId: string; token: string };
let other: { accountId: string; token: string };
let otherChannel: number;
let tagA: string;
let tagB: string;
let otherAccountTag: string;

const LINK = /* GraphQL */ `
  id name channelId inviteLink kind createsJoinRequest expireDate memberLimit subscriptionPeriod subscriptionPrice
  isRevoked isBotCreated creatorId budget partner { externalId } tags { id name } createdAt updatedAt
`;
const CREATE = `mutation($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { ${LINK} } }`;
const CREATE_SUB = `mutation($input: CreateSubscriptionInviteLinkInput!) { createSubscriptionInviteLink(input: $input) { ${LINK} } }`;
const UPDATE = `mutation($input: UpdateInviteLinkInput!) { updateInviteLink(input: $input) { ${LINK} } }`;
const REVOKE = `mutation($id: ID!, $c: SafeInt!) { revokeInviteLink(id: $id, channelId: $c) { ${LINK} } }`;

function callsOf(method: string) {
  return t.telegram.calls.filter((call) => call.method === method);
}
const telegramLink = (chatId: number, url: string) => t.telegram.links(chatId).find((link) => link.invite_link === url);
const rowCount = (accountId = owner.accountId) => t.app.db.prisma.inviteLink.count({ where: { accountId } });
/** A date Telegram can hold exactly: whole seconds. */
const inDays = (days: number) => new Date(Math.floor(Date.now() / 1000 + days * 86400) * 1000);

function firstError(response: GraphQLResponse) {
  expect(response.errors, JSON.stringify(response.data)).toBeDefined();
  return response.errors![0]!;
}

async function createLink(input: Record<string, unknown>, token = owner.token) {
  const response = await t.gql(token, CREATE, { input: { channelId: CHANNEL, ...input } });
  expect(response.errors).toBeUndefined();
  return response.data.createInviteLink;
}

/** Connects a demo chat as if the bot had had full rights then, and puts the chat back as it was. */
async function connectWhileAllowed(token: string, chatId: number) {
  const original = { botStatus: chatId === NOT_MEMBER ? ('left' as const) : ('administrator' as const), canInviteUsers: false };
  t.telegram.updateChat(chatId, { botStatus: 'administrator', canInviteUsers: true });
  try {
    const connected = await t.connectVerifiedChannel(token, chatId);
    expect(connected.errors).toBeUndefined();
  } finally {
    t.telegram.updateChat(chatId, original);
  }
}

/** Runs a request expected to fail before Telegram: asserts no create call and no new row. */
async function expectRejectedBeforeTelegram(run: () => Promise<GraphQLResponse>) {
  const createsBefore = callsOf('createChatInviteLink').length + callsOf('createChatSubscriptionInviteLink').length;
  const rowsBefore = await rowCount();
  const linksBefore = t.telegram.links(CHANNEL).length;
  const response = await run();
  expect(callsOf('createChatInviteLink').length + callsOf('createChatSubscriptionInviteLink').length).toBe(createsBefore);
  expect(await rowCount()).toBe(rowsBefore);
  expect(t.telegram.links(CHANNEL)).toHaveLength(linksBefore);
  return firstError(response);
}

beforeAll(async () => {
  // The emulator shares this process's event loop with PGlite, whose queries block it: under the
  // 50-request burst an answer can wait past 1 s. No test here is about timeouts, so allow more.
  t = await createTestApp({ telegramTimeoutMs: 10_000 });
  owner = await t.createAccount('Owner');
  other = await t.createAccount('Other');
  // A chat belongs to one account: the other account manages a chat of its own.
  otherChannel = t.addChannel();
  for (const [account, chat] of [
    [owner, CHANNEL],
    [other, otherChannel],
  ] as const) {
    const connected = await t.connectVerifiedChannel(account.token, chat);
    expect(connected.errors).toBeUndefined();
  }
  const tag = async (token: string, name: string) => {
    const response = await t.gql(token, 'mutation($n: String!) { createTag(name: $n, color: "#ff0000") { id } }', { n: name });
    expect(response.errors).toBeUndefined();
    return response.data.createTag.id as string;
  };
  tagA = await tag(owner.token, 'Alpha');
  tagB = await tag(owner.token, 'Beta');
  otherAccountTag = await tag(other.token, 'Foreign');
});
afterAll(() => t.close());

describe('connectChannel', () => {
  it('stores a channel where the bot is an admin that can invite users', async () => {
    const account = await t.createAccount('Connect ok');
    const chat = t.addChannel({ title: 'Connect ok channel', username: 'connect_ok_channel' });
    const response = await t.gql(account.token, CONNECT_CHANNEL, { telegramId: chat });
    expect(response.errors).toBeUndefined();
    expect(response.data.connectChannel).toMatchObject({
      telegramId: chat,
      title: 'Connect ok channel',
      botIsAdmin: true,
      botCanInviteUsers: true,
    });
    const stored = await t.app.db.prisma.channel.findMany({ where: { accountId: account.accountId } });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      telegramId: BigInt(chat),
      title: 'Connect ok channel',
      username: 'connect_ok_channel',
      botIsAdmin: true,
      botCanInviteUsers: true,
    });
  });

  it.each([
    ['a chat the bot is not a member of', NOT_MEMBER],
    ['an unknown chat', UNKNOWN_CHAT],
  ])('answers CONFLICT BOT_NOT_IN_CHANNEL for %s and stores nothing', async (_label, chatId) => {
    const account = await t.createAccount('Connect conflict');
    const error = firstError(await t.gql(account.token, CONNECT_CHANNEL, { telegramId: chatId }));
    expect(error.extensions).toMatchObject({ code: 'CONFLICT', reason: 'BOT_NOT_IN_CHANNEL', channelId: chatId });
    expect(await t.app.db.prisma.channel.count({ where: { accountId: account.accountId } })).toBe(0);
  });

  it('answers FORBIDDEN BOT_RIGHTS_MISSING when the bot cannot invite users', async () => {
    const account = await t.createAccount('Connect forbidden');
    const error = firstError(await t.gql(account.token, CONNECT_CHANNEL, { telegramId: NO_RIGHTS }));
    expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'BOT_RIGHTS_MISSING', channelId: NO_RIGHTS });
    expect(await t.app.db.prisma.channel.count({ where: { accountId: account.accountId } })).toBe(0);
  });

  it('answers CONFLICT once the bot has been kicked, and records that it lost its rights', async () => {
    const account = await t.createAccount('Connect kicked');
    const chat = t.addChannel();
    expect((await t.gql(account.token, CONNECT_CHANNEL, { telegramId: chat })).errors).toBeUndefined();
    t.telegram.updateChat(chat, { botStatus: 'kicked' });
    try {
      const error = firstError(await t.gql(account.token, CONNECT_CHANNEL, { telegramId: chat }));
      expect(error.extensions).toMatchObject({ code: 'CONFLICT', reason: 'BOT_NOT_IN_CHANNEL', channelId: chat });
    } finally {
      t.telegram.updateChat(chat, { botStatus: 'administrator', canInviteUsers: true });
    }
    const channels = await t.gql(account.token, '{ channels { telegramId botIsAdmin botCanInviteUsers } }');
    expect(channels.data.channels).toEqual([{ telegramId: chat, botIsAdmin: false, botCanInviteUsers: false }]);
  });
});

describe('createInviteLink', () => {
  it('creates the link in Telegram and stores it with tags, budget and the bot as creator', async () => {
    const expireDate = inDays(7);
    const link = await createLink({
      name: 'Spring ads',
      memberLimit: 50,
      expireDate: expireDate.toISOString(),
      budget: 1200,
      tagIds: [tagB, tagA],
    });
    expect(link).toMatchObject({
      name: 'Spring ads',
      channelId: CHANNEL,
      kind: 'REGULAR',
      createsJoinRequest: false,
      memberLimit: 50,
      expireDate: expireDate.toISOString(),
      isRevoked: false,
      isBotCreated: true,
      creatorId: BOT_ID,
      budget: 1200,
      subscriptionPeriod: null,
      subscriptionPrice: null,
      partner: null,
      updatedAt: null,
    });
    expect(link.inviteLink).toMatch(/^https:\/\/t\.me\/\+/);
    expect(link.tags.map((tag: { id: string }) => tag.id).sort()).toEqual([tagA, tagB].sort());

    expect(telegramLink(CHANNEL, link.inviteLink)).toMatchObject({
      name: 'Spring ads',
      member_limit: 50,
      expire_date: expireDate.getTime() / 1000,
      creates_join_request: false,
      is_revoked: false,
      creator: { id: BOT_ID },
    });
    const row = await t.app.db.prisma.inviteLink.findUniqueOrThrow({ where: { id: link.id }, include: { tags: true } });
    expect(row).toMatchObject({
      accountId: owner.accountId,
      chatId: BigInt(CHANNEL),
      inviteLink: link.inviteLink,
      budget: 1200,
      creatorId: BigInt(BOT_ID),
      isBotCreated: true,
      memberLimit: 50,
    });
    expect(row.tags.map((tag) => tag.tagId).sort()).toEqual([tagA, tagB].sort());
  });

  it('creates a join-request link', async () => {
    const link = await createLink({ name: 'Approval', createsJoinRequest: true });
    expect(link).toMatchObject({ createsJoinRequest: true, memberLimit: null, expireDate: null });
    expect(telegramLink(CHANNEL, link.inviteLink)).toMatchObject({ name: 'Approval', creates_join_request: true });
    expect(telegramLink(CHANNEL, link.inviteLink)).not.toHaveProperty('member_limit');
  });

  it('accepts a name of 32 emoji: Telegram counts characters, not UTF-16 units', async () => {
    const name = '😀'.repeat(32);
    const link = await createLink({ name });
    expect(link.name).toBe(name);
    expect(telegramLink(CHANNEL, link.inviteLink)?.name).toBe(name);
  });

  it.each([
    ['an empty name', { name: '' }, ['input', 'name']],
    ['a blank name', { name: '   ' }, ['input', 'name']],
    ['a name of 33 characters', { name: 'x'.repeat(33) }, ['input', 'name']],
    ['a name of 33 emoji', { name: '😀'.repeat(33) }, ['input', 'name']],
    ['memberLimit 0', { name: 'limit', memberLimit: 0 }, ['input', 'memberLimit']],
    ['memberLimit 100000', { name: 'limit', memberLimit: 100000 }, ['input', 'memberLimit']],
    ['memberLimit with createsJoinRequest', { name: 'both', memberLimit: 10, createsJoinRequest: true }, ['input', 'memberLimit']],
    ['an expireDate in the past', { name: 'past', expireDate: new Date(Date.now() - 60_000).toISOString() }, ['input', 'expireDate']],
    ['a negative budget', { name: 'budget', budget: -1 }, ['input', 'budget']],
  ])('rejects %s with VALIDATION_FAILED before calling Telegram', async (_label, input, path) => {
    const error = await expectRejectedBeforeTelegram(() => t.gql(owner.token, CREATE, { input: { channelId: CHANNEL, ...input } }));
    expect(error.extensions?.code).toBe('VALIDATION_FAILED');
    expect(error.extensions?.fields).toEqual([{ path, message: expect.any(String) }]);
  });

  it('accepts memberLimit at both bounds', async () => {
    for (const memberLimit of [1, 99999]) {
      const link = await createLink({ name: `bound ${memberLimit}`, memberLimit });
      expect(link.memberLimit).toBe(memberLimit);
      expect(telegramLink(CHANNEL, link.inviteLink)?.member_limit).toBe(memberLimit);
    }
  });

  it.each([
    ['an unknown tag id', () => [randomUUID()]],
    ["another account's tag", () => [tagA, otherAccountTag]],
  ])('answers NOT_FOUND for %s and creates no Telegram link', async (_label, tagIds) => {
    const error = await expectRejectedBeforeTelegram(() =>
      t.gql(owner.token, CREATE, { input: { channelId: CHANNEL, name: 'tagged', tagIds: tagIds() } }),
    );
    expect(error.extensions?.code).toBe('NOT_FOUND');
  });

  it('answers NOT_FOUND for a channel that is not connected to the account', async () => {
    const error = await expectRejectedBeforeTelegram(() =>
      t.gql(owner.token, CREATE, { input: { channelId: -1001000000999, name: 'nowhere' } }),
    );
    expect(error.extensions?.code).toBe('NOT_FOUND');
    const account = await t.createAccount('No channels');
    const unconnected = await t.gql(account.token, CREATE, { input: { channelId: CHANNEL, name: 'not mine' } });
    expect(firstError(unconnected).extensions?.code).toBe('NOT_FOUND');
  });
});

describe('createSubscriptionInviteLink', () => {
  it('creates a 30-day subscription link and stores period and price', async () => {
    const response = await t.gql(owner.token, CREATE_SUB, {
      input: { channelId: CHANNEL, name: 'Premium', subscriptionPrice: 250, budget: 5, tagIds: [tagA] },
    });
    expect(response.errors).toBeUndefined();
    const link = response.data.createSubscriptionInviteLink;
    expect(link).toMatchObject({
      name: 'Premium',
      kind: 'SUBSCRIPTION',
      subscriptionPeriod: 2592000,
      subscriptionPrice: 250,
      budget: 5,
      isBotCreated: true,
      creatorId: BOT_ID,
      tags: [{ id: tagA, name: 'Alpha' }],
    });
    expect(telegramLink(CHANNEL, link.inviteLink)).toMatchObject({
      name: 'Premium',
      subscription_period: 2592000,
      subscription_price: 250,
      is_revoked: false,
    });
    const row = await t.app.db.prisma.inviteLink.findUniqueOrThrow({ where: { id: link.id } });
    expect(row).toMatchObject({ kind: 'SUBSCRIPTION', subscriptionPeriod: 2592000, subscriptionPrice: 250 });
  });

  it.each([
    ['a period other than 2592000', { subscriptionPeriod: 86400, subscriptionPrice: 10 }, ['input', 'subscriptionPeriod']],
    ['price 0', { subscriptionPrice: 0 }, ['input', 'subscriptionPrice']],
    ['price 10001', { subscriptionPrice: 10001 }, ['input', 'subscriptionPrice']],
    ['an empty name', { name: '', subscriptionPrice: 10 }, ['input', 'name']],
  ])('rejects %s with VALIDATION_FAILED before calling Telegram', async (_label, input, path) => {
    const error = await expectRejectedBeforeTelegram(() =>
      t.gql(owner.token, CREATE_SUB, { input: { channelId: CHANNEL, name: 'sub', ...input } }),
    );
    expect(error.extensions?.code).toBe('VALIDATION_FAILED');
    expect(error.extensions?.fields).toEqual([{ path, message: expect.any(String) }]);
  });

  it('answers FORBIDDEN BOT_RIGHTS_MISSING in a channel where the bot cannot invite users', async () => {
    const account = await t.createAccount('Subscription forbidden');
    await connectWhileAllowed(account.token, NO_RIGHTS);
    const response = await t.gql(account.token, CREATE_SUB, { input: { channelId: NO_RIGHTS, name: 'sub', subscriptionPrice: 10 } });
    expect(firstError(response).extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'BOT_RIGHTS_MISSING', channelId: NO_RIGHTS });
    expect(await rowCount(account.accountId)).toBe(0);
    expect(t.telegram.links(NO_RIGHTS)).toEqual([]);
  });
});

describe('updateInviteLink', () => {
  const lastEdit = () => callsOf('editChatInviteLink').at(-1)!;

  it('sends every field to editChatInviteLink, so Telegram keeps the ones not changed', async () => {
    const link = await createLink({ name: 'to edit', memberLimit: 10 });
    const expireDate = inDays(3);

    const first = await t.gql(owner.token, UPDATE, {
      input: { id: link.id, channelId: CHANNEL, name: 'edited', expireDate: expireDate.toISOString(), memberLimit: 20 },
    });
    expect(first.errors).toBeUndefined();
    expect(first.data.updateInviteLink).toMatchObject({
      name: 'edited',
      expireDate: expireDate.toISOString(),
      memberLimit: 20,
      createsJoinRequest: false,
    });
    expect(first.data.updateInviteLink.updatedAt).not.toBeNull();
    expect(lastEdit().params).toMatchObject({
      chat_id: String(CHANNEL),
      invite_link: link.inviteLink,
      name: 'edited',
      expire_date: String(expireDate.getTime() / 1000),
      member_limit: '20',
      creates_join_request: 'false',
    });

    // Only createsJoinRequest (and clearing the limit it excludes): name and expiry must be re-sent.
    const second = await t.gql(owner.token, UPDATE, {
      input: { id: link.id, channelId: CHANNEL, createsJoinRequest: true, memberLimit: null },
    });
    expect(second.errors).toBeUndefined();
    expect(second.data.updateInviteLink).toMatchObject({
      name: 'edited',
      expireDate: expireDate.toISOString(),
      memberLimit: null,
      createsJoinRequest: true,
    });
    expect(lastEdit().params).toMatchObject({
      name: 'edited',
      expire_date: String(expireDate.getTime() / 1000),
      creates_join_request: 'true',
    });
    const afterSecond = telegramLink(CHANNEL, link.inviteLink)!;
    expect(afterSecond).toMatchObject({ name: 'edited', expire_date: expireDate.getTime() / 1000, creates_join_request: true });
    expect(afterSecond.member_limit).toBeUndefined();

    // Only the name: the expiry and join-request flag must survive in Telegram.
    const third = await t.gql(owner.token, UPDATE, { input: { id: link.id, channelId: CHANNEL, name: 'renamed' } });
    expect(third.errors).toBeUndefined();
    expect(telegramLink(CHANNEL, link.inviteLink)).toMatchObject({
      name: 'renamed',
      expire_date: expireDate.getTime() / 1000,
      creates_join_request: true,
    });
    const row = await t.app.db.prisma.inviteLink.findUniqueOrThrow({ where: { id: link.id } });
    expect(row).toMatchObject({ name: 'renamed', expireDate, memberLimit: null, createsJoinRequest: true });
  });

  it('clears expireDate with null', async () => {
    const link = await createLink({ name: 'expiring', expireDate: inDays(1).toISOString() });
    const response = await t.gql(owner.token, UPDATE, { input: { id: link.id, channelId: CHANNEL, expireDate: null } });
    expect(response.errors).toBeUndefined();
    expect(response.data.updateInviteLink.expireDate).toBeNull();
    expect(telegramLink(CHANNEL, link.inviteLink)).toMatchObject({ name: 'expiring' });
    expect(telegramLink(CHANNEL, link.inviteLink)?.expire_date).toBeUndefined();
  });

  it('rejects a limit on a join-request link and a past expiry, without calling Telegram', async () => {
    const link = await createLink({ name: 'join requests', createsJoinRequest: true });
    const edits = callsOf('editChatInviteLink').length;
    const limited = await t.gql(owner.token, UPDATE, { input: { id: link.id, channelId: CHANNEL, memberLimit: 5 } });
    expect(firstError(limited).extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: ['input', 'memberLimit'] }] });
    const past = await t.gql(owner.token, UPDATE, {
      input: { id: link.id, channelId: CHANNEL, expireDate: new Date(Date.now() - 1000).toISOString() },
    });
    expect(firstError(past).extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: ['input', 'expireDate'] }] });
    expect(callsOf('editChatInviteLink')).toHaveLength(edits);
  });

  it('changes budget and tags without calling Telegram; tagIds replaces the tags', async () => {
    const link = await createLink({ name: 'budgeted', budget: 10, tagIds: [tagA] });
    const telegramCalls = t.telegram.calls.length;
    const response = await t.gql(owner.token, UPDATE, { input: { id: link.id, channelId: CHANNEL, budget: 99, tagIds: [tagB] } });
    expect(response.errors).toBeUndefined();
    expect(response.data.updateInviteLink).toMatchObject({ name: 'budgeted', budget: 99, tags: [{ id: tagB, name: 'Beta' }] });
    expect(t.telegram.calls).toHaveLength(telegramCalls);

    const cleared = await t.gql(owner.token, UPDATE, { input: { id: link.id, channelId: CHANNEL, tagIds: [] } });
    expect(cleared.data.updateInviteLink).toMatchObject({ budget: 99, tags: [] });
    expect(await t.app.db.prisma.inviteLinkTag.count({ where: { inviteLinkId: link.id } })).toBe(0);
    expect(t.telegram.calls).toHaveLength(telegramCalls);
  });

  it('rejects unknown tags and a negative budget and leaves the link as it was', async () => {
    const link = await createLink({ name: 'untouched', budget: 3, tagIds: [tagA] });
    const unknown = await t.gql(owner.token, UPDATE, { input: { id: link.id, channelId: CHANNEL, name: 'x', tagIds: [randomUUID()] } });
    expect(firstError(unknown).extensions?.code).toBe('NOT_FOUND');
    const negative = await t.gql(owner.token, UPDATE, { input: { id: link.id, channelId: CHANNEL, budget: -5 } });
    expect(firstError(negative).extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: ['input', 'budget'] }] });
    const row = await t.app.db.prisma.inviteLink.findUniqueOrThrow({ where: { id: link.id }, include: { tags: true } });
    expect(row).toMatchObject({ name: 'untouched', budget: 3 });
    expect(row.tags.map((tag) => tag.tagId)).toEqual([tagA]);
    expect(telegramLink(CHANNEL, link.inviteLink)?.name).toBe('untouched');
  });

  it('renames a subscription link with editChatSubscriptionInviteLink and refuses other Telegram fields', async () => {
    const created = await t.gql(owner.token, CREATE_SUB, { input: { channelId: CHANNEL, name: 'Sub v1', subscriptionPrice: 100 } });
    const link = created.data.createSubscriptionInviteLink;
    const regularEdits = callsOf('editChatInviteLink').length;

    const renamed = await t.gql(owner.token, UPDATE, { input: { id: link.id, channelId: CHANNEL, name: 'Sub v2', budget: 7 } });
    expect(renamed.errors).toBeUndefined();
    expect(renamed.data.updateInviteLink).toMatchObject({ name: 'Sub v2', budget: 7, kind: 'SUBSCRIPTION', subscriptionPrice: 100 });
    expect(callsOf('editChatSubscriptionInviteLink').at(-1)?.params).toMatchObject({
      chat_id: String(CHANNEL),
      invite_link: link.inviteLink,
      name: 'Sub v2',
    });
    expect(callsOf('editChatInviteLink')).toHaveLength(regularEdits);
    expect(telegramLink(CHANNEL, link.inviteLink)).toMatchObject({ name: 'Sub v2', subscription_price: 100 });

    const subscriptionEdits = callsOf('editChatSubscriptionInviteLink').length;
    for (const [field, value] of [
      ['memberLimit', 5],
      ['expireDate', inDays(1).toISOString()],
      ['createsJoinRequest', true],
    ] as const) {
      const refused = await t.gql(owner.token, UPDATE, { input: { id: link.id, channelId: CHANNEL, [field]: value } });
      expect(firstError(refused).extensions, field).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: ['input', field] }] });
    }
    expect(callsOf('editChatSubscriptionInviteLink')).toHaveLength(subscriptionEdits);
    expect(callsOf('editChatInviteLink')).toHaveLength(regularEdits);
  });

  it('answers CONFLICT LINK_REVOKED for a revoked link', async () => {
    const link = await createLink({ name: 'soon revoked' });
    expect((await t.gql(owner.token, REVOKE, { id: link.id, c: CHANNEL })).errors).toBeUndefined();
    const edits = callsOf('editChatInviteLink').length;
    const response = await t.gql(owner.token, UPDATE, { input: { id: link.id, channelId: CHANNEL, name: 'too late' } });
    expect(firstError(response).extensions).toMatchObject({ code: 'CONFLICT', reason: 'LINK_REVOKED' });
    expect(callsOf('editChatInviteLink')).toHaveLength(edits);
  });

  it("answers NOT_FOUND for another account's link, a wrong channel and an unknown id", async () => {
    const link = await createLink({ name: 'private' });
    const attempts = [
      t.gql(other.token, UPDATE, { input: { id: link.id, channelId: CHANNEL, name: 'hijack' } }),
      t.gql(other.token, UPDATE, { input: { id: link.id, channelId: CHANNEL, budget: 1 } }),
      t.gql(owner.token, UPDATE, { input: { id: link.id, channelId: NO_RIGHTS, name: 'wrong channel' } }),
      t.gql(owner.token, UPDATE, { input: { id: randomUUID(), channelId: CHANNEL, name: 'nobody' } }),
      t.gql(other.token, REVOKE, { id: link.id, c: CHANNEL }),
    ];
    for (const response of await Promise.all(attempts)) expect(firstError(response).extensions?.code).toBe('NOT_FOUND');
    expect(telegramLink(CHANNEL, link.inviteLink)).toMatchObject({ name: 'private', is_revoked: false });
    const row = await t.app.db.prisma.inviteLink.findUniqueOrThrow({ where: { id: link.id } });
    expect(row).toMatchObject({ name: 'private', budget: 0, isRevoked: false });
  });
});

describe('revokeInviteLink', () => {
  it('revokes the link in Telegram and stores it; a second revoke changes nothing', async () => {
    const link = await createLink({ name: 'to revoke' });
    const first = await t.gql(owner.token, REVOKE, { id: link.id, c: CHANNEL });
    expect(first.errors).toBeUndefined();
    expect(first.data.revokeInviteLink).toMatchObject({ id: link.id, isRevoked: true, inviteLink: link.inviteLink });
    expect(telegramLink(CHANNEL, link.inviteLink)?.is_revoked).toBe(true);
    expect((await t.app.db.prisma.inviteLink.findUniqueOrThrow({ where: { id: link.id } })).isRevoked).toBe(true);
    const revokes = callsOf('revokeChatInviteLink').filter((call) => call.params.invite_link === link.inviteLink);
    expect(revokes).toHaveLength(1);

    const second = await t.gql(owner.token, REVOKE, { id: link.id, c: CHANNEL });
    expect(second.errors).toBeUndefined();
    expect(second.data.revokeInviteLink).toMatchObject({ id: link.id, isRevoked: true });
    expect(callsOf('revokeChatInviteLink').filter((call) => call.params.invite_link === link.inviteLink)).toHaveLength(1);
  });
});

describe('idempotency', () => {
  it('returns the same link for a repeated idempotencyKey and creates one Telegram link', async () => {
    const idempotencyKey = `key-${randomUUID()}`;
    const creates = callsOf('createChatInviteLink').length;
    const first = await createLink({ name: 'once', idempotencyKey });
    const second = await createLink({ name: 'once', idempotencyKey });
    expect(second.id).toBe(first.id);
    expect(second.inviteLink).toBe(first.inviteLink);
    expect(callsOf('createChatInviteLink')).toHaveLength(creates + 1);
    expect(await t.app.db.prisma.inviteLink.count({ where: { idempotencyKey } })).toBe(1);
    // The key belongs to the account: another account's same key is a new link.
    const theirs = await createLink({ channelId: otherChannel, name: 'once', idempotencyKey }, other.token);
    expect(theirs.id).not.toBe(first.id);
  });
});

describe('idempotency under concurrency', () => {
  it('gives concurrent retries with one key one link, and revokes the extra Telegram links', async () => {
    const idempotencyKey = `race-${randomUUID()}`;
    const name = `race ${idempotencyKey.slice(-6)}`;
    const responses = await Promise.all(
      Array.from({ length: 5 }, () => t.gql(owner.token, CREATE, { input: { channelId: CHANNEL, name, idempotencyKey } })),
    );
    for (const response of responses) expect(response.errors).toBeUndefined();
    const ids = new Set(responses.map((response) => response.data.createInviteLink.id));
    expect(ids.size).toBe(1);
    const winner = responses[0]!.data.createInviteLink.inviteLink;
    expect(await t.app.db.prisma.inviteLink.count({ where: { idempotencyKey } })).toBe(1);
    // Every request that reached Telegram made a link; only the stored one may stay live.
    const made = t.telegram.links(CHANNEL).filter((link) => link.name === name);
    expect(made.length).toBeGreaterThanOrEqual(1);
    expect(made.filter((link) => !link.is_revoked).map((link) => link.invite_link)).toEqual([winner]);
  });
});

describe('concurrency', () => {
  it('creates 50 links at once in one channel', async () => {
    const account = await t.createAccount('Busy');
    const chat = t.addChannel();
    expect((await t.connectVerifiedChannel(account.token, chat)).errors).toBeUndefined();
    const before = new Set(t.telegram.links(chat).map((link) => link.invite_link));
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => t.gql(account.token, CREATE, { input: { channelId: chat, name: `burst ${i}`, tagIds: [] } })),
    );
    for (const response of responses) expect(response.errors).toBeUndefined();
    const urls = new Set(responses.map((response) => response.data.createInviteLink.inviteLink as string));
    expect(urls.size).toBe(50);
    expect(await rowCount(account.accountId)).toBe(50);
    const created = t.telegram.links(chat).filter((link) => !before.has(link.invite_link));
    expect(created).toHaveLength(50);
    expect(new Set(created.map((link) => link.invite_link))).toEqual(urls);
  });
});

/** Makes the database refuse to store a link with this name, after Telegram has created it. */
async function refuseInsertsNamed(prisma: TestApp['app']['db']['prisma'], name: string) {
  await prisma.$executeRawUnsafe(`
    CREATE OR REPLACE FUNCTION test_explode() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'test trigger refused invite_links row %', NEW.name; END $$`);
  await prisma.$executeRawUnsafe(`
    CREATE TRIGGER test_explode BEFORE INSERT ON invite_links
    FOR EACH ROW WHEN (NEW.name = '${name}') EXECUTE FUNCTION test_explode()`);
}

describe('compensation', () => {
  it('revokes the Telegram link when storing it fails, and masks the database error', async () => {
    const prisma = t.app.db.prisma;
    await refuseInsertsNamed(prisma, 'explode');
    try {
      const logsBefore = t.logs.length;
      const rowsBefore = await rowCount();
      const response = await t.gql(owner.token, CREATE, { input: { channelId: CHANNEL, name: 'explode', tagIds: [tagA] } });
      const error = firstError(response);
      expect(error.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(error.message).toBe('Unexpected error.');
      expect(JSON.stringify(response.errors)).not.toMatch(/test trigger|invite_links|stack/i);

      expect(await rowCount()).toBe(rowsBefore);
      expect(await prisma.inviteLink.count({ where: { name: 'explode' } })).toBe(0);
      const orphans = t.telegram.links(CHANNEL).filter((link) => link.name === 'explode');
      expect(orphans).toHaveLength(1);
      expect(orphans[0]!.is_revoked).toBe(true);
      const lines = t.logs.slice(logsBefore).map((line) => JSON.parse(line) as Record<string, unknown>);
      const compensation = lines.find((line) => line.inviteLink === orphans[0]!.invite_link);
      expect(compensation?.msg).toMatch(/revoked it in Telegram/i);
      expect(compensation?.requestId).toEqual(expect.any(String));
      const unexpected = lines.find((line) => line.msg === 'unexpected error');
      expect(unexpected?.requestId).toBe(compensation?.requestId);
    } finally {
      await prisma.$executeRawUnsafe('DROP TRIGGER IF EXISTS test_explode ON invite_links');
    }
    // Other names were never affected, and the table works again.
    const after = await createLink({ name: 'after explode' });
    expect(telegramLink(CHANNEL, after.inviteLink)?.is_revoked).toBe(false);
  });

  it('logs an error naming the live link when revoking it fails too', async () => {
    const prisma = t.app.db.prisma;
    await refuseInsertsNamed(prisma, 'explode twice');
    // Every attempt the retrying client makes fails.
    t.telegram.failNext({ kind: 'serverError' }, { method: 'revokeChatInviteLink', times: 2 });
    try {
      const logsBefore = t.logs.length;
      const response = await t.gql(owner.token, CREATE, { input: { channelId: CHANNEL, name: 'explode twice' } });
      expect(firstError(response).extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await prisma.inviteLink.count({ where: { name: 'explode twice' } })).toBe(0);
      const live = t.telegram.links(CHANNEL).filter((link) => link.name === 'explode twice');
      expect(live).toHaveLength(1);
      expect(live[0]!.is_revoked).toBe(false);
      const lines = t.logs.slice(logsBefore).map((line) => JSON.parse(line) as Record<string, unknown>);
      const alarm = lines.find((line) => line.inviteLink === live[0]!.invite_link);
      expect(alarm).toMatchObject({ level: 50, msg: expect.stringMatching(/revoke it by hand/) });
    } finally {
      await prisma.$executeRawUnsafe('DROP TRIGGER IF EXISTS test_explode ON invite_links');
    }
  });
});

describe('editing an expired link', () => {
  it('asks for a new expireDate instead of sending the past one to Telegram', async () => {
    const t = await createTestApp();
    try {
      const { token } = await t.createAccount();
      expect((await t.connectVerifiedChannel(token, CHANNEL)).errors).toBeUndefined();
      const created = await t.gql(
        token,
        'mutation($c: SafeInt!) { createInviteLink(input: { channelId: $c, name: "soon over" }) { id } }',
        {
          c: CHANNEL,
        },
      );
      const id = created.data.createInviteLink.id;
      await t.app.db.prisma.inviteLink.update({ where: { id }, data: { expireDate: new Date(Date.now() - 60_000) } });
      const edits = () => t.telegram.calls.filter((call) => call.method === 'editChatInviteLink').length;
      const before = edits();
      const renamed = await t.gql(token, 'mutation($i: UpdateInviteLinkInput!) { updateInviteLink(input: $i) { name } }', {
        i: { id, channelId: CHANNEL, name: 'renamed' },
      });
      expect(renamed.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'LINK_EXPIRED' });
      expect(edits()).toBe(before);
      const extended = await t.gql(token, 'mutation($i: UpdateInviteLinkInput!) { updateInviteLink(input: $i) { name expireDate } }', {
        i: { id, channelId: CHANNEL, name: 'renamed', expireDate: null },
      });
      expect(extended.errors).toBeUndefined();
      expect(extended.data.updateInviteLink).toEqual({ name: 'renamed', expireDate: null });
    } finally {
      await t.close();
    }
  });
});
