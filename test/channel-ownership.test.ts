import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, CONNECT_CHANNEL, VERIFY_CHANNEL, CHANNEL, type GraphQLResponse, type TestApp } from './support/app.ts';
import { ensureSandboxAccount, SANDBOX_ACCOUNT_ID } from '../src/sandbox/demo-data.ts';

let t: TestApp;
let demoToken: string;
beforeAll(async () => {
  t = await createTestApp();
  demoToken = await ensureSandboxAccount(t.app.db);
});
afterAll(() => t.close());

const CREATE = 'mutation($i: CreateInviteLinkInput!) { createInviteLink(input: $i) { id inviteLink } }';
const CREATE_SUB = 'mutation($i: CreateSubscriptionInviteLinkInput!) { createSubscriptionInviteLink(input: $i) { id } }';
const UPDATE = 'mutation($i: UpdateInviteLinkInput!) { updateInviteLink(input: $i) { id name } }';
const REVOKE = 'mutation($id: ID!, $c: SafeInt!) { revokeInviteLink(id: $id, channelId: $c) { id isRevoked } }';
const LIST = 'query($c: SafeInt!) { inviteLinks(channelId: $c) { total items { id name } } }';
const ONE = 'query($id: ID!, $c: SafeInt!) { inviteLink(id: $id, channelId: $c) { id } }';

const telegramWrites = () => t.telegram.calls.filter((call) => /^(create|edit|revoke)/.test(call.method)).length;

function firstError(response: GraphQLResponse) {
  expect(response.errors, JSON.stringify(response.data)).toBeDefined();
  return response.errors![0]!;
}

/** Every link call on this channel, each expected to answer CONFLICT with this reason, none reaching Telegram. */
async function expectLinkCallsRefused(token: string, chatId: number, reason: string, linkId: string = randomUUID(), reads = true) {
  const writesBefore = telegramWrites();
  const calls: [string, string, Record<string, unknown>][] = [
    ['create', CREATE, { i: { channelId: chatId, name: 'refused' } }],
    ['createSubscription', CREATE_SUB, { i: { channelId: chatId, name: 'refused', subscriptionPrice: 10 } }],
    ['update', UPDATE, { i: { id: linkId, channelId: chatId, name: 'refused' } }],
    ['revoke', REVOKE, { id: linkId, c: chatId }],
    ...(reads
      ? ([
          ['list', LIST, { c: chatId }],
          ['find', ONE, { id: linkId, c: chatId }],
        ] as [string, string, Record<string, unknown>][])
      : []),
  ];
  for (const [label, query, variables] of calls) {
    const error = firstError(await t.gql(token, query, variables));
    expect({ label, ...error.extensions }).toMatchObject({ label, code: 'CONFLICT', reason, channelId: chatId });
  }
  expect(telegramWrites()).toBe(writesBefore);
}

describe('channel takeover (issue 12, item 1)', () => {
  it("refuses another account connecting the demo account's channel, reveals nothing of it, and creates no Telegram link", async () => {
    const intruder = await t.createAccount('Intruder');
    const linksBefore = t.telegram.links(CHANNEL).length;
    const connect = await t.gql(intruder.token, CONNECT_CHANNEL, { telegramId: CHANNEL });
    const error = firstError(connect);
    expect(error.extensions).toEqual({ code: 'CONFLICT', reason: 'CHANNEL_CONNECTED_ELSEWHERE', channelId: CHANNEL });
    expect(error.message).toBe(`Channel ${CHANNEL} is connected to another account`);
    expect(JSON.stringify(connect)).not.toMatch(new RegExp(`${SANDBOX_ACCOUNT_ID}|Demo channel|demo_channel`));

    const create = await t.gql(intruder.token, CREATE, { i: { channelId: CHANNEL, name: 'takeover' } });
    expect(firstError(create).extensions?.code).toBe('NOT_FOUND');
    expect(t.telegram.links(CHANNEL)).toHaveLength(linksBefore);
    expect(t.telegram.calls.filter((call) => call.method === 'createChatInviteLink')).toHaveLength(0);
    expect(await t.app.db.prisma.channel.count({ where: { accountId: intruder.accountId } })).toBe(0);

    // The demo account's channel stays connected and usable.
    const own = await t.gql(demoToken, CREATE, { i: { channelId: CHANNEL, name: 'demo still works' } });
    expect(own.errors).toBeUndefined();
    expect(t.telegram.links(CHANNEL)).toHaveLength(linksBefore + 1);
  });

  it('answers the same whoever holds the chat', async () => {
    const holder = await t.createAccount('Another holder');
    const chat = t.addChannel({ title: 'Holder B secret title' });
    expect((await t.connectVerifiedChannel(holder.token, chat)).errors).toBeUndefined();
    const intruder = await t.createAccount('Intruder 2');
    const onDemo = firstError(await t.gql(intruder.token, CONNECT_CHANNEL, { telegramId: CHANNEL }));
    const onOther = firstError(await t.gql(intruder.token, CONNECT_CHANNEL, { telegramId: chat }));
    expect(onOther.message.replace(String(chat), 'ID')).toBe(onDemo.message.replace(String(CHANNEL), 'ID'));
    expect({ ...onOther.extensions, channelId: 0 }).toEqual({ ...onDemo.extensions, channelId: 0 });
    expect(JSON.stringify(onOther)).not.toMatch(/secret title|Another holder/);
  });
});

describe('verification', () => {
  it('connects as PENDING with a code; until verified every link call answers CHANNEL_NOT_VERIFIED', async () => {
    const owner = await t.createAccount('Pending owner');
    const chat = t.addChannel();
    const connected = await t.gql(owner.token, CONNECT_CHANNEL, { telegramId: chat });
    expect(connected.errors).toBeUndefined();
    const channel = connected.data.connectChannel;
    expect(channel).toMatchObject({ telegramId: chat, status: 'PENDING', botCanInviteUsers: true });
    expect(channel.verification.code).toMatch(/^inviteql-[a-km-z2-9]{12}$/);
    expect(new Date(channel.verification.expiresAt).getTime()).toBeGreaterThan(Date.now());
    // A retried connect keeps the code already handed out.
    const again = await t.gql(owner.token, CONNECT_CHANNEL, { telegramId: chat });
    expect(again.data.connectChannel.verification.code).toBe(channel.verification.code);

    await expectLinkCallsRefused(owner.token, chat, 'CHANNEL_NOT_VERIFIED');
  });

  it.each([
    ['no description', null],
    ['a description without the code', 'Best channel ever'],
    ['the code inside a longer word', 'x{code}'],
    ['another code', 'inviteql-aaaaaaaaaaaa'],
  ])('refuses verification with %s (VERIFICATION_CODE_NOT_FOUND) and stays PENDING', async (_label, description) => {
    const owner = await t.createAccount('Wrong code');
    const chat = t.addChannel();
    const connected = await t.gql(owner.token, CONNECT_CHANNEL, { telegramId: chat });
    const code = connected.data.connectChannel.verification.code as string;
    if (description !== null) t.telegram.setChatDescription(chat, description.replace('{code}', code));
    const verified = await t.gql(owner.token, VERIFY_CHANNEL, { telegramId: chat });
    expect(firstError(verified).extensions).toEqual({ code: 'CONFLICT', reason: 'VERIFICATION_CODE_NOT_FOUND', channelId: chat });
    expect(firstError(verified).message).toContain(code);
    const stored = await t.app.db.prisma.channel.findFirstOrThrow({ where: { accountId: owner.accountId } });
    expect(stored.status).toBe('PENDING');
  });

  it('refuses an expired code (VERIFICATION_EXPIRED); connectChannel then issues a new one that verifies', async () => {
    const owner = await t.createAccount('Expired');
    const chat = t.addChannel();
    const first = (await t.gql(owner.token, CONNECT_CHANNEL, { telegramId: chat })).data.connectChannel.verification.code as string;
    t.telegram.setChatDescription(chat, first);
    await t.app.db.prisma.channel.updateMany({
      where: { accountId: owner.accountId },
      data: { verificationExpiresAt: new Date(Date.now() - 1000) },
    });
    const expired = await t.gql(owner.token, VERIFY_CHANNEL, { telegramId: chat });
    expect(firstError(expired).extensions).toEqual({ code: 'CONFLICT', reason: 'VERIFICATION_EXPIRED', channelId: chat });

    const renewed = await t.gql(owner.token, CONNECT_CHANNEL, { telegramId: chat });
    const second = renewed.data.connectChannel.verification.code as string;
    expect(second).not.toBe(first);
    t.telegram.setChatDescription(chat, `About us\n${second}`);
    const verified = await t.gql(owner.token, VERIFY_CHANNEL, { telegramId: chat });
    expect(verified.errors).toBeUndefined();
    expect(verified.data.verifyChannel).toMatchObject({ status: 'VERIFIED', verification: null });
  });

  it('verifies through getChat, after which every link call works and a reconnect stays verified', async () => {
    const owner = await t.createAccount('Verified owner');
    const chat = t.addChannel();
    const code = (await t.gql(owner.token, CONNECT_CHANNEL, { telegramId: chat })).data.connectChannel.verification.code;
    t.telegram.setChatDescription(chat, `Welcome! ${code}`);
    const readsBefore = t.telegram.calls.filter((call) => call.method === 'getChat').length;
    const verified = await t.gql(owner.token, VERIFY_CHANNEL, { telegramId: chat });
    expect(verified.errors).toBeUndefined();
    expect(verified.data.verifyChannel).toMatchObject({ telegramId: chat, status: 'VERIFIED', verification: null });
    expect(t.telegram.calls.filter((call) => call.method === 'getChat').length).toBe(readsBefore + 1);

    const created = await t.gql(owner.token, CREATE, { i: { channelId: chat, name: 'works' } });
    expect(created.errors).toBeUndefined();
    const id = created.data.createInviteLink.id;
    expect(t.telegram.links(chat).map((link) => link.invite_link)).toEqual([created.data.createInviteLink.inviteLink]);
    expect((await t.gql(owner.token, LIST, { c: chat })).data.inviteLinks.total).toBe(1);
    expect((await t.gql(owner.token, ONE, { id, c: chat })).data.inviteLink.id).toBe(id);
    expect((await t.gql(owner.token, UPDATE, { i: { id, channelId: chat, name: 'renamed' } })).data.updateInviteLink.name).toBe('renamed');
    expect((await t.gql(owner.token, REVOKE, { id, c: chat })).data.revokeInviteLink.isRevoked).toBe(true);

    const reconnected = await t.gql(owner.token, CONNECT_CHANNEL, { telegramId: chat });
    expect(reconnected.data.connectChannel).toMatchObject({ status: 'VERIFIED', verification: null });
    expect((await t.gql(owner.token, VERIFY_CHANNEL, { telegramId: chat })).data.verifyChannel.status).toBe('VERIFIED');
  });

  it('lets two accounts claim one chat at once; the first to verify wins and the other is refused', async () => {
    const [first, second] = [await t.createAccount('Claim 1'), await t.createAccount('Claim 2')];
    const chat = t.addChannel();
    const codeOf = async (token: string) =>
      (await t.gql(token, CONNECT_CHANNEL, { telegramId: chat })).data.connectChannel.verification.code as string;
    const [firstCode, secondCode] = [await codeOf(first.token), await codeOf(second.token)];
    expect(firstCode).not.toBe(secondCode);
    t.telegram.setChatDescription(chat, `${secondCode} ${firstCode}`);
    expect((await t.gql(second.token, VERIFY_CHANNEL, { telegramId: chat })).data.verifyChannel.status).toBe('VERIFIED');
    for (const query of [VERIFY_CHANNEL, CONNECT_CHANNEL]) {
      const refused = await t.gql(first.token, query, { telegramId: chat });
      expect(firstError(refused).extensions).toMatchObject({ code: 'CONFLICT', reason: 'CHANNEL_CONNECTED_ELSEWHERE' });
    }
    const statuses = await t.app.db.prisma.channel.findMany({
      where: { telegramId: BigInt(chat) },
      select: { accountId: true, status: true },
    });
    expect(statuses).toEqual(
      expect.arrayContaining([
        { accountId: second.accountId, status: 'VERIFIED' },
        { accountId: first.accountId, status: 'PENDING' },
      ]),
    );
  });
});

describe('a superseded channel (two holders in data from before ownership)', () => {
  it('lists its links but refuses every change with CHANNEL_CONNECTED_ELSEWHERE', async () => {
    const holder = await t.createAccount('Holder');
    const chat = t.addChannel();
    expect((await t.connectVerifiedChannel(holder.token, chat)).errors).toBeUndefined();
    const late = await t.createAccount('Late');
    const channel = await t.app.db.prisma.channel.create({
      data: {
        accountId: late.accountId,
        telegramId: BigInt(chat),
        title: 'late',
        botIsAdmin: true,
        botCanInviteUsers: true,
        status: 'SUPERSEDED',
      },
    });
    const link = await t.app.db.prisma.inviteLink.create({
      data: {
        accountId: late.accountId,
        channelId: channel.id,
        chatId: BigInt(chat),
        name: 'old link',
        inviteLink: `https://t.me/+${String(randomUUID())}`,
      },
    });
    const listed = await t.gql(late.token, LIST, { c: chat });
    expect(listed.errors).toBeUndefined();
    expect(listed.data.inviteLinks.items).toEqual([{ id: link.id, name: 'old link' }]);
    expect((await t.gql(late.token, ONE, { id: link.id, c: chat })).data.inviteLink.id).toBe(link.id);
    await expectLinkCallsRefused(late.token, chat, 'CHANNEL_CONNECTED_ELSEWHERE', link.id, false);
    expect(firstError(await t.gql(late.token, VERIFY_CHANNEL, { telegramId: chat })).extensions?.reason).toBe(
      'CHANNEL_CONNECTED_ELSEWHERE',
    );
  });
});
