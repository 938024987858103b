import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processStoredUpdates } from '../src/services/member-updates.ts';
import { CONNECT_CHANNEL, VERIFY_CHANNEL, createTestApp, type TestApp } from './support/app.ts';
import { waitFor } from './support/processes.ts';

const STATS = 'stats { joins leaves subscribers pendingJoinRequests costPerJoin costPerSubscriber }';

async function createLink(t: TestApp, token: string, channelId: number, input: Record<string, unknown>) {
  const response = await t.gql<{ createInviteLink: { id: string; inviteLink: string } }>(
    token,
    'mutation($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { id inviteLink } }',
    { input: { channelId, ...input } },
  );
  expect(response.errors).toBeUndefined();
  return response.data!.createInviteLink;
}

async function statsOf(t: TestApp, token: string, channelId: number, id: string) {
  const response = await t.gql(token, `query($id: ID!, $channelId: SafeInt!) { inviteLink(id: $id, channelId: $channelId) { ${STATS} } }`, {
    id,
    channelId,
  });
  expect(response.errors).toBeUndefined();
  return response.data.inviteLink.stats;
}

let channels = 0;
async function verifiedChannel(t: TestApp, token: string): Promise<number> {
  const chatId = t.addChannel({ username: `members${++channels}` });
  const verified = await t.connectVerifiedChannel(token, chatId);
  expect(verified.errors).toBeUndefined();
  return chatId;
}

describe('updates received through the poller', () => {
  let t: TestApp;
  let token: string;
  let chatId: number;

  beforeAll(async () => {
    t = await createTestApp({ receiveUpdates: true, telegramPollTimeoutS: 1 });
    ({ token } = await t.createAccount());
    chatId = await verifiedChannel(t, token);
    // Telegram makes chat_member updates only once getUpdates has named them in allowed_updates.
    await waitFor(() => t.telegram.calls.find((call) => call.method === 'getUpdates'), 'the poller to call getUpdates');
  }, 60_000);
  afterAll(() => t.close());

  it('count joins and leaves per link, and the costs from its budget', async () => {
    const link = await createLink(t, token, chatId, { name: 'Ad 1', budget: 300 });
    const other = await createLink(t, token, chatId, { name: 'Ad 2', budget: 50 });
    for (const user of [101, 102, 103]) t.telegram.join(link.inviteLink, user);
    t.telegram.join(other.inviteLink, 104);
    t.telegram.leave(chatId, 101);
    t.telegram.join(chatId, 105); // the public username: unattributed
    t.telegram.kick(chatId, 104);

    await expect
      .poll(() => statsOf(t, token, chatId, link.id), { timeout: 10_000 })
      .toEqual({ joins: 3, leaves: 1, subscribers: 2, pendingJoinRequests: 0, costPerJoin: 100, costPerSubscriber: 150 });
    await expect
      .poll(() => statsOf(t, token, chatId, other.id), { timeout: 10_000 })
      .toEqual({ joins: 1, leaves: 1, subscribers: 0, pendingJoinRequests: 0, costPerJoin: 50, costPerSubscriber: null });
    const unattributed = await t.app.db.prisma.memberEvent.count({ where: { chatId: BigInt(chatId), inviteLinkId: null, kind: 'JOINED' } });
    expect(unattributed).toBe(1);

    const ordered = await t.gql(
      token,
      `query($channelId: SafeInt!) { inviteLinks(channelId: $channelId, orderBy: [{ field: SUBSCRIBERS, direction: DESC }]) { items { name ${STATS} } } }`,
      { channelId: chatId },
    );
    expect(ordered.data.inviteLinks.items.map((item: { name: string }) => item.name)).toEqual(['Ad 1', 'Ad 2']);
  });

  it('count a join approved from a request once, with the pending request counted until then', async () => {
    const link = await createLink(t, token, chatId, { name: 'Requests', createsJoinRequest: true, budget: 10 });
    expect(t.telegram.join(link.inviteLink, 201)).toBe('requested');
    await expect.poll(async () => (await statsOf(t, token, chatId, link.id)).pendingJoinRequests, { timeout: 10_000 }).toBe(1);
    t.telegram.decideJoinRequest(chatId, 201, true);
    await expect.poll(async () => (await statsOf(t, token, chatId, link.id)).joins, { timeout: 10_000 }).toBe(1);
    expect(await statsOf(t, token, chatId, link.id)).toMatchObject({ joins: 1, pendingJoinRequests: 0, subscribers: 1 });
    const request = await t.app.db.prisma.joinRequest.findFirstOrThrow({ where: { chatId: BigInt(chatId), userId: 201n } });
    expect([request.status, request.inviteLinkId, request.decidedAt !== null]).toEqual(['APPROVED', link.id, true]);
  });

  it("keep the channel's bot flags current from my_chat_member", async () => {
    const flags = async () => {
      const response = await t.gql(token, '{ channels { telegramId botIsAdmin botCanInviteUsers } }');
      return response.data.channels.find((channel: { telegramId: number }) => channel.telegramId === chatId);
    };
    t.telegram.setBotStatus(chatId, { status: 'administrator', canInviteUsers: false });
    await expect.poll(flags, { timeout: 10_000 }).toMatchObject({ botIsAdmin: true, botCanInviteUsers: false });
    t.telegram.setBotStatus(chatId, { status: 'left' });
    await expect.poll(flags, { timeout: 10_000 }).toMatchObject({ botIsAdmin: false, botCanInviteUsers: false });
    t.telegram.setBotStatus(chatId, { status: 'administrator', canInviteUsers: true });
    await expect.poll(flags, { timeout: 10_000 }).toMatchObject({ botIsAdmin: true, botCanInviteUsers: true });
  });
});

describe('updates received through the webhook', () => {
  let t: TestApp;
  let token: string;
  let chatId: number;
  let link: { id: string; inviteLink: string };
  let nextUpdateId = 5_000;

  beforeAll(async () => {
    t = await createTestApp({ approvedLinkJoinShape: 'via_join_request' });
    ({ token } = await t.createAccount());
    chatId = await verifiedChannel(t, token);
    link = await createLink(t, token, chatId, { name: 'Webhook ad', budget: 100 });
  }, 60_000);
  afterAll(() => t.close());

  /** A chat_member update as Telegram shapes it. */
  function memberUpdate(userId: number, from: string, to: string, extra: Record<string, unknown> = {}) {
    const user = { id: userId, is_bot: false, first_name: 'User' };
    return {
      update_id: nextUpdateId++,
      chat_member: {
        chat: { id: chatId, title: 'Channel', type: 'channel' },
        from: user,
        date: 1_780_000_000 + nextUpdateId,
        old_chat_member: { user, status: from },
        new_chat_member: { user, status: to },
        ...extra,
      },
    };
  }
  const throughLink = () => ({ invite_link: { invite_link: link.inviteLink, creator: { id: 1 }, creates_join_request: false } });
  const deliver = (update: unknown) =>
    t.server.fetch('http://inviteql.test/telegram/webhook', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': t.app.telegramWebhookSecret },
      body: JSON.stringify(update),
    });

  it('attribute a leave delivered before its join, once the join is there', async () => {
    const join = memberUpdate(301, 'left', 'member', throughLink());
    const leave = memberUpdate(301, 'member', 'left');
    expect((await deliver(leave)).status).toBe(200);
    await t.settleUpdates();
    const early = await t.app.db.prisma.memberEvent.findFirstOrThrow({ where: { updateId: BigInt(leave.update_id) } });
    expect(early.inviteLinkId).toBeNull();

    expect((await deliver(join)).status).toBe(200);
    await t.settleUpdates();
    const events = await t.app.db.prisma.memberEvent.findMany({ where: { userId: 301n }, orderBy: { updateId: 'asc' } });
    expect(events.map((e) => [e.kind, e.inviteLinkId])).toEqual([
      ['JOINED', link.id],
      ['LEFT', link.id],
    ]);
    expect(await statsOf(t, token, chatId, link.id)).toMatchObject({ joins: 1, leaves: 1, subscribers: 0 });
  });

  it('count a redelivered update once', async () => {
    const before = await statsOf(t, token, chatId, link.id);
    const join = memberUpdate(302, 'left', 'member', throughLink());
    for (let attempt = 0; attempt < 3; attempt++) expect((await deliver(join)).status).toBe(200);
    await t.settleUpdates();
    expect(await statsOf(t, token, chatId, link.id)).toMatchObject({ joins: before.joins + 1, subscribers: before.subscribers + 1 });
  });

  it('stay exact with 40 deliveries at once and two processors applying them', async () => {
    const before = await statsOf(t, token, chatId, link.id);
    const users = Array.from({ length: 20 }, (_, i) => 400 + i);
    const updates = users.flatMap((user) => [memberUpdate(user, 'left', 'member', throughLink()), memberUpdate(user, 'member', 'left')]);
    // Every leave of an odd user goes missing: the first ten stay members.
    const delivered = updates.filter((update, index) => index % 2 === 0 || users.indexOf(update.chat_member.from.id) % 2 === 0);
    const responses = await Promise.all(delivered.reverse().map(deliver));
    expect(responses.map((r) => r.status)).toEqual(delivered.map(() => 200));
    await Promise.all([processStoredUpdates(t.app, 7), processStoredUpdates(t.app, 7), t.settleUpdates()]);
    await t.settleUpdates();
    expect(await statsOf(t, token, chatId, link.id)).toMatchObject({
      joins: before.joins + 20,
      leaves: before.leaves + 10,
      subscribers: before.subscribers + 10,
    });
  });

  it('infer a leave that never came when the member joins again', async () => {
    const before = await statsOf(t, token, chatId, link.id);
    await deliver(memberUpdate(303, 'left', 'member', throughLink()));
    await deliver(memberUpdate(303, 'left', 'member'));
    await t.settleUpdates();
    const events = await t.app.db.prisma.memberEvent.findMany({
      where: { userId: 303n },
      orderBy: [{ updateId: 'asc' }, { kind: 'desc' }],
    });
    expect(events.map((e) => [e.kind, e.inviteLinkId, e.inferred])).toEqual([
      ['JOINED', link.id, false],
      ['LEFT', link.id, true],
      ['JOINED', null, false],
    ]);
    expect(await statsOf(t, token, chatId, link.id)).toMatchObject({ joins: before.joins + 1, leaves: before.leaves + 1 });
  });

  it('count nothing for a chat no account verified, and mark it processed', async () => {
    const stray = {
      ...memberUpdate(304, 'left', 'member'),
      chat_member: { ...memberUpdate(304, 'left', 'member').chat_member, chat: { id: -100999, type: 'channel' } },
    };
    expect((await deliver(stray)).status).toBe(200);
    await t.settleUpdates();
    expect(await t.app.db.prisma.memberEvent.count({ where: { chatId: -100999n } })).toBe(0);
    const row = await t.app.db.prisma.telegramUpdate.findUniqueOrThrow({ where: { updateId: BigInt(stray.update_id) } });
    expect(row.processedAt).not.toBeNull();
  });

  it('count what happened while ownership was being proven, once the channel is verified', async () => {
    const pendingChat = t.addChannel();
    const connected = await t.gql(token, CONNECT_CHANNEL, { telegramId: pendingChat });
    const join = memberUpdate(305, 'left', 'member');
    join.chat_member.chat.id = pendingChat;
    expect((await deliver(join)).status).toBe(200);
    await t.settleUpdates();
    expect(await t.app.db.prisma.memberEvent.count({ where: { chatId: BigInt(pendingChat) } })).toBe(0);

    t.telegram.setChatDescription(pendingChat, `Ours. ${connected.data.connectChannel.verification.code}`);
    expect((await t.gql(token, VERIFY_CHANNEL, { telegramId: pendingChat })).errors).toBeUndefined();
    await t.settleUpdates();
    const events = await t.app.db.prisma.memberEvent.findMany({ where: { chatId: BigInt(pendingChat) } });
    expect(events.map((e) => [e.kind, Number(e.userId), e.inviteLinkId])).toEqual([['JOINED', 305, null]]);
  });

  it('read stats in the same number of statements for 1 and 100 links', async () => {
    for (let i = 0; i < 5; i++) await createLink(t, token, chatId, { name: `More ${i}`, budget: i });
    const count = async (limit: number) => {
      const query = `query($channelId: SafeInt!, $limit: Int!) { inviteLinks(channelId: $channelId, limit: $limit, orderBy: [{ field: COST_PER_SUBSCRIBER, direction: ASC }]) { items { id ${STATS} } } }`;
      await t.gql(token, query, { channelId: chatId, limit });
      const before = t.app.db.statementCount;
      const response = await t.gql(token, query, { channelId: chatId, limit });
      expect(response.errors).toBeUndefined();
      return { statements: t.app.db.statementCount - before, items: response.data.inviteLinks.items.length };
    };
    const one = await count(1);
    const hundred = await count(100);
    expect([one.items, hundred.items]).toEqual([1, 6]);
    expect(hundred.statements).toBe(one.statements);
  });
});
