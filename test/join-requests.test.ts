import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type GraphQLResponse, type TestApp } from './support/app.ts';

/*
 * joinRequests, approveJoinRequest and declineJoinRequest. The listing's rows are written straight
 * into join_requests (every expectation computed here from the fixture); the decisions run against
 * requests an emulated user made in the Telegram emulator.
 */

const LIST = /* GraphQL */ `
  query List($c: SafeInt!, $link: ID, $status: JoinRequestStatus, $page: Int, $limit: Int) {
    joinRequests(channelId: $c, inviteLinkId: $link, status: $status, page: $page, limit: $limit) {
      page
      limit
      total
      items {
        id
        userId
        status
        requestedAt
        decidedAt
        inviteLink {
          id
          name
        }
      }
    }
  }
`;
const REQUEST_FIELDS = 'id userId status requestedAt decidedAt inviteLink { id name }';
const APPROVE = `mutation($c: SafeInt!, $u: SafeInt!) { approveJoinRequest(channelId: $c, userId: $u) { ${REQUEST_FIELDS} } }`;
const DECLINE = `mutation($c: SafeInt!, $u: SafeInt!) { declineJoinRequest(channelId: $c, userId: $u) { ${REQUEST_FIELDS} } }`;
const CREATE_LINK = `mutation($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { id name inviteLink } }`;
const PARTNER_CREATE_LINK = `mutation($e: Int!, $input: PartnerCreateInviteLinkInput!) {
  partnerCreateInviteLink(externalId: $e, input: $input) { id name inviteLink }
}`;
const CREATE_PARTNER = 'mutation($e: Int!, $title: String!) { createPartner(externalId: $e, title: $title) { id } }';
const CREATE_TOKEN = 'mutation($name: String!, $p: Int) { createApiToken(name: $name, partnerExternalId: $p) { token } }';
const LINK_STATS = `query($id: ID!, $c: SafeInt!) { inviteLink(id: $id, channelId: $c) { stats { pendingJoinRequests joins subscribers } } }`;

interface Link {
  id: string;
  name: string;
  inviteLink: string;
}
interface Account {
  accountId: string;
  token: string;
  chatId: number;
  channelRowId: string;
}

function ok<T = any>(response: GraphQLResponse<T>): T {
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  return response.data!;
}
function firstError(response: GraphQLResponse) {
  expect(response.errors, JSON.stringify(response.data)).toBeDefined();
  return response.errors![0]!;
}

/** Partner tokens run persisted operations only: the published partner operation of this name. */
async function persisted(t: TestApp, token: string, operationName: string, variables: Record<string, unknown>): Promise<GraphQLResponse> {
  const manifest = (await (await t.server.fetch('http://inviteql.test/operations/partner.json')).json()) as Record<string, string>;
  const entry = Object.entries(manifest).find(([, document]) => new RegExp(`^(query|mutation) ${operationName}\\(`, 'm').test(document));
  if (!entry) throw new Error(`no persisted operation ${operationName}`);
  const response = await t.server.fetch('http://inviteql.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ documentId: entry[0], variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: any[] };
  return { status: response.status, headers: response.headers, data: body.data, errors: body.errors };
}

let updateIds = 1;

/** What the update processor stores for a chat_join_request (written here directly). */
async function storeRequest(
  t: TestApp,
  account: Account,
  fields: { userId: number; inviteLinkId: string | null; requestedAt?: Date; status?: 'PENDING' | 'APPROVED' | 'DECLINED' },
) {
  const status = fields.status ?? 'PENDING';
  const requestedAt = fields.requestedAt ?? new Date();
  return t.app.db.prisma.joinRequest.create({
    data: {
      accountId: account.accountId,
      channelId: account.channelRowId,
      chatId: BigInt(account.chatId),
      userId: BigInt(fields.userId),
      inviteLinkId: fields.inviteLinkId,
      status,
      requestedAt,
      decidedAt: status === 'PENDING' ? null : new Date(requestedAt.getTime() + 60_000),
      updateId: BigInt(updateIds++),
    },
    select: { id: true },
  });
}

async function setUpAccount(t: TestApp, name: string): Promise<Account> {
  const { accountId, token } = await t.createAccount(name);
  const chatId = t.addChannel({ title: `${name} channel` });
  ok(await t.connectVerifiedChannel(token, chatId));
  const channel = await t.app.db.prisma.channel.findFirstOrThrow({
    where: { accountId, telegramId: BigInt(chatId) },
    select: { id: true },
  });
  return { accountId, token, chatId, channelRowId: channel.id };
}

async function createLink(t: TestApp, account: Account, name: string, createsJoinRequest = true): Promise<Link> {
  return ok(await t.gql(account.token, CREATE_LINK, { input: { channelId: account.chatId, name, createsJoinRequest } })).createInviteLink;
}

const storedRequests = (t: TestApp, account: Account, userId: number) =>
  t.app.db.prisma.joinRequest.findMany({
    where: { channelId: account.channelRowId, userId: BigInt(userId) },
    select: { id: true, status: true, decidedAt: true, inviteLinkId: true },
  });
const decisionEvents = (t: TestApp, account: Account, userId: number) =>
  t.app.db.prisma.memberEvent.findMany({
    where: { channelId: account.channelRowId, userId: BigInt(userId), kind: { in: ['JOIN_REQUEST_APPROVED', 'JOIN_REQUEST_DECLINED'] } },
    select: { kind: true, joinRequestId: true, inviteLinkId: true, updateId: true, at: true },
  });
const telegramCalls = (t: TestApp, method: string) => t.telegram.calls.filter((call) => call.method === method).length;

// ---------------------------------------------------------------------------------------------

describe('joinRequests', () => {
  let t: TestApp;
  let A: Account;
  let B: Account;
  let alphaToken: string;
  let alphaLink: Link;
  let ownLink: Link;
  let otherLink: Link;
  /** A's fixture, in insertion order (not requested order). */
  const fixture: { id: string; userId: number; linkId: string | null; status: string; requestedAt: Date }[] = [];
  const BASE = Date.parse('2026-11-01T10:00:00.000Z');

  beforeAll(async () => {
    t = await createTestApp();
    A = await setUpAccount(t, 'Lister');
    B = await setUpAccount(t, 'Other tenant');
    ok(await t.gql(A.token, CREATE_PARTNER, { e: 1, title: 'Alpha' }));
    alphaToken = ok(await t.gql(A.token, CREATE_TOKEN, { name: 'alpha', p: 1 })).createApiToken.token;
    alphaLink = ok(
      await t.gql(A.token, PARTNER_CREATE_LINK, { e: 1, input: { channelId: A.chatId, name: 'Alpha requests', createsJoinRequest: true } }),
    ).partnerCreateInviteLink;
    ownLink = await createLink(t, A, 'Own requests');
    otherLink = await createLink(t, A, 'Quiet link');
    // Minutes after BASE, shuffled, so insertion order is not requested order.
    const minutes = [7, 3, 11, 0, 5, 9, 1, 12, 4, 8, 2, 10, 6];
    const statuses = ['PENDING', 'PENDING', 'APPROVED', 'PENDING', 'DECLINED'] as const;
    const links = [alphaLink.id, ownLink.id, null];
    for (const [index, minute] of minutes.entries()) {
      const row = {
        userId: 5000 + index,
        linkId: links[index % 3]!,
        status: statuses[index % statuses.length]!,
        requestedAt: new Date(BASE + minute * 60_000),
      };
      const { id } = await storeRequest(t, A, {
        userId: row.userId,
        inviteLinkId: row.linkId,
        status: row.status,
        requestedAt: row.requestedAt,
      });
      fixture.push({ id, ...row });
    }
    await storeRequest(t, B, { userId: 5000, inviteLinkId: null });
  }, 60_000);
  afterAll(() => t?.close());

  const expected = (keep: (row: (typeof fixture)[number]) => boolean) =>
    fixture
      .filter(keep)
      .sort((a, b) => a.requestedAt.getTime() - b.requestedAt.getTime())
      .map((row) => row.id);
  const list = (token: string, variables: Record<string, unknown>) => t.gql(token, LIST, { c: A.chatId, ...variables });

  it('lists the pending requests by default, oldest first, with the link each came through', async () => {
    const page = ok(await list(A.token, {})).joinRequests;
    const pending = expected((row) => row.status === 'PENDING');
    expect(pending.length).toBeGreaterThan(3);
    expect(page).toMatchObject({ page: 1, limit: 50, total: pending.length });
    expect(page.items.map((item: { id: string }) => item.id)).toEqual(pending);
    for (const item of page.items) {
      const row = fixture.find((candidate) => candidate.id === item.id)!;
      expect(item).toMatchObject({ userId: row.userId, status: 'PENDING', requestedAt: row.requestedAt.toISOString(), decidedAt: null });
      const link = [alphaLink, ownLink].find((candidate) => candidate.id === row.linkId);
      expect(item.inviteLink).toEqual(link ? { id: link.id, name: link.name } : null);
    }
  });

  it('filters by status, or lists every status with status: null', async () => {
    for (const status of ['APPROVED', 'DECLINED'] as const) {
      const page = ok(await list(A.token, { status })).joinRequests;
      const ids = expected((row) => row.status === status);
      expect(ids.length).toBeGreaterThan(0);
      expect([page.total, page.items.map((item: { id: string }) => item.id)]).toEqual([ids.length, ids]);
      for (const item of page.items) expect(item.decidedAt).not.toBeNull();
    }
    const all = ok(await list(A.token, { status: null })).joinRequests;
    expect([all.total, all.items.map((item: { id: string }) => item.id)]).toEqual([fixture.length, expected(() => true)]);
  });

  it('filters by invite link, and answers NOT_FOUND for a link that is not in the channel', async () => {
    const page = ok(await list(A.token, { link: ownLink.id, status: null })).joinRequests;
    const ids = expected((row) => row.linkId === ownLink.id);
    expect([page.total, page.items.map((item: { id: string }) => item.id)]).toEqual([ids.length, ids]);
    const quiet = ok(await list(A.token, { link: otherLink.id })).joinRequests;
    expect([quiet.total, quiet.items]).toEqual([0, []]);

    const unknown = firstError(await list(A.token, { link: '00000000-0000-7000-8000-000000000000' }));
    expect(unknown.extensions?.code).toBe('NOT_FOUND');
    // A's link asked for in B's channel.
    const elsewhere = firstError(await t.gql(B.token, LIST, { c: B.chatId, link: ownLink.id }));
    expect(elsewhere.extensions?.code).toBe('NOT_FOUND');
    const invalid = firstError(await list(A.token, { link: 'not-a-uuid' }));
    expect(invalid.extensions?.code).toBe('VALIDATION_FAILED');
  });

  it('pages with an exact total, and refuses a page or limit out of range', async () => {
    const ids = expected(() => true);
    const pages = [];
    for (let page = 1; page <= 5; page++) {
      const answer = ok(await list(A.token, { status: null, page, limit: 3 })).joinRequests;
      expect([answer.page, answer.limit, answer.total]).toEqual([page, 3, ids.length]);
      pages.push(...answer.items.map((item: { id: string }) => item.id));
    }
    expect(pages).toEqual(ids);
    const beyond = ok(await list(A.token, { status: null, page: 9, limit: 3 })).joinRequests;
    expect([beyond.total, beyond.items]).toEqual([ids.length, []]);
    for (const variables of [{ limit: 0 }, { limit: 101 }, { page: 0 }]) {
      expect(firstError(await list(A.token, variables)).extensions?.code).toBe('VALIDATION_FAILED');
    }
  });

  it('runs the same statements for a page of 1 as for 50, links included', async () => {
    const measure = async (limit: number, link?: string) => {
      const before = t.app.db.statementCount;
      const page = ok(await list(A.token, { status: null, limit, link })).joinRequests;
      const statements = t.app.db.statementCount - before;
      expect(page.items).toHaveLength(Math.min(limit, page.total));
      return statements;
    };
    await measure(5); // warm-up, which also caches the token
    const counts = [await measure(1), await measure(50), await measure(1, ownLink.id), await measure(50, ownLink.id)];
    // One statement (relationJoins): the channel, the named link, the page with its links, the count.
    expect(counts).toEqual([1, 1, 1, 1]);
  });

  it("keeps tenants apart: another account's channel is NOT_FOUND, its own shows only its rows", async () => {
    expect(firstError(await t.gql(B.token, LIST, { c: A.chatId })).extensions?.code).toBe('NOT_FOUND');
    const own = ok(await t.gql(B.token, LIST, { c: B.chatId, status: null })).joinRequests;
    expect(own.total).toBe(1);
    expect(own.items[0].userId).toBe(5000);
    expect(fixture.map((row) => row.id)).not.toContain(own.items[0].id);
  });

  it("shows a partner token only the requests through its partner's links (persisted operation)", async () => {
    const partnerList = (variables: Record<string, unknown>) =>
      persisted(t, alphaToken, 'PartnerJoinRequests', { channelId: A.chatId, ...variables });
    const page = ok(await partnerList({ status: null })).joinRequests;
    const ids = expected((row) => row.linkId === alphaLink.id);
    expect([page.total, page.items.map((item: { id: string }) => item.id)]).toEqual([ids.length, ids]);
    for (const item of page.items) expect(item.inviteLink).toMatchObject({ id: alphaLink.id, name: alphaLink.name });
    expect(firstError(await partnerList({ inviteLinkId: ownLink.id })).extensions?.code).toBe('NOT_FOUND');
    const pending = ok(await partnerList({ inviteLinkId: alphaLink.id })).joinRequests;
    expect(pending.total).toBe(expected((row) => row.linkId === alphaLink.id && row.status === 'PENDING').length);
    // The same operation with a full token sees every request.
    const everything = ok(await persisted(t, A.token, 'PartnerJoinRequests', { channelId: A.chatId, status: null })).joinRequests;
    expect(everything.total).toBe(fixture.length);
  });

  it('refuses a channel pending verification', async () => {
    const chatId = t.addChannel({ title: 'Unverified' });
    const { token } = await t.createAccount('Unverified owner');
    ok(await t.gql(token, 'mutation($id: SafeInt!) { connectChannel(telegramId: $id) { id } }', { id: chatId }));
    const error = firstError(await t.gql(token, LIST, { c: chatId }));
    expect([error.extensions?.code, error.extensions?.reason]).toEqual(['CONFLICT', 'CHANNEL_NOT_VERIFIED']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('approveJoinRequest and declineJoinRequest', () => {
  let t: TestApp;
  let A: Account;
  let B: Account;
  let alphaToken: string;
  let link: Link;
  let alphaLink: Link;
  let nextUser = 7000;

  beforeAll(async () => {
    t = await createTestApp();
    A = await setUpAccount(t, 'Decider');
    B = await setUpAccount(t, 'Other tenant');
    ok(await t.gql(A.token, CREATE_PARTNER, { e: 1, title: 'Alpha' }));
    alphaToken = ok(await t.gql(A.token, CREATE_TOKEN, { name: 'alpha', p: 1 })).createApiToken.token;
    link = await createLink(t, A, 'Approval needed');
    alphaLink = ok(
      await t.gql(A.token, PARTNER_CREATE_LINK, { e: 1, input: { channelId: A.chatId, name: 'Alpha approval', createsJoinRequest: true } }),
    ).partnerCreateInviteLink;
  }, 60_000);
  afterAll(() => t?.close());

  /** An emulated user asks to join through the link; the server holds the request as the processor stores it. */
  async function requestToJoin(through: Link | null = link) {
    const userId = nextUser++;
    expect(t.telegram.join(through ? through.inviteLink : A.chatId, userId)).toBe('requested');
    const { id } = await storeRequest(t, A, { userId, inviteLinkId: through?.id ?? null });
    return { userId, requestId: id };
  }

  const approve = (userId: number, token = A.token, chatId = A.chatId) => t.gql(token, APPROVE, { c: chatId, u: userId });
  const decline = (userId: number, token = A.token, chatId = A.chatId) => t.gql(token, DECLINE, { c: chatId, u: userId });

  async function expectUntouched(userId: number) {
    expect((await storedRequests(t, A, userId)).map((row) => row.status)).toEqual(['PENDING']);
    expect(await decisionEvents(t, A, userId)).toEqual([]);
  }

  it('approves in Telegram, then records the status and one JOIN_REQUEST_APPROVED event', async () => {
    const stats = async () => ok(await t.gql(A.token, LINK_STATS, { id: link.id, c: A.chatId })).inviteLink.stats.pendingJoinRequests;
    const pendingBefore = await stats();
    const { userId, requestId } = await requestToJoin();
    expect(await stats()).toBe(pendingBefore + 1);
    const started = Date.now();

    const approved = ok(await approve(userId)).approveJoinRequest;
    expect(approved).toMatchObject({ id: requestId, userId, status: 'APPROVED', inviteLink: { id: link.id, name: link.name } });
    expect(Date.parse(approved.decidedAt)).toBeGreaterThanOrEqual(started - 1000);
    expect(t.telegram.memberStatus(A.chatId, userId)).toBe('member');
    expect(t.telegram.joinRequests(A.chatId).map((request) => request.userId)).not.toContain(userId);
    const events = await decisionEvents(t, A, userId);
    expect(events).toEqual([
      { kind: 'JOIN_REQUEST_APPROVED', joinRequestId: requestId, inviteLinkId: link.id, updateId: null, at: new Date(approved.decidedAt) },
    ]);
    expect(await stats()).toBe(pendingBefore);

    // Decided: nothing pending is left, and Telegram is not asked again.
    const calls = telegramCalls(t, 'approveChatJoinRequest');
    const again = firstError(await approve(userId));
    expect([again.extensions?.code, again.message]).toEqual([
      'NOT_FOUND',
      `There is no pending join request of user ${userId} in channel ${A.chatId}`,
    ]);
    expect(telegramCalls(t, 'approveChatJoinRequest')).toBe(calls);
  });

  it('declines in Telegram, then records the status and one JOIN_REQUEST_DECLINED event', async () => {
    const { userId, requestId } = await requestToJoin();
    const declined = ok(await decline(userId)).declineJoinRequest;
    expect(declined).toMatchObject({ id: requestId, status: 'DECLINED', inviteLink: { id: link.id } });
    expect(declined.decidedAt).not.toBeNull();
    expect(t.telegram.memberStatus(A.chatId, userId)).toBe('left');
    expect(t.telegram.joinRequests(A.chatId).map((request) => request.userId)).not.toContain(userId);
    expect((await decisionEvents(t, A, userId)).map((event) => [event.kind, event.joinRequestId])).toEqual([
      ['JOIN_REQUEST_DECLINED', requestId],
    ]);
    expect(firstError(await decline(userId)).extensions?.code).toBe('NOT_FOUND');
  });

  it('decides a request that came through no link of the account', async () => {
    const chatWithRequests = A.chatId;
    t.telegram.updateChat(chatWithRequests, { username: 'decider_public', joinByRequest: true });
    try {
      const { userId } = await requestToJoin(null);
      const approved = ok(await approve(userId)).approveJoinRequest;
      expect([approved.status, approved.inviteLink]).toEqual(['APPROVED', null]);
      expect((await decisionEvents(t, A, userId))[0]).toMatchObject({ kind: 'JOIN_REQUEST_APPROVED', inviteLinkId: null });
    } finally {
      t.telegram.updateChat(chatWithRequests, { username: undefined, joinByRequest: false });
    }
  });

  it('answers NOT_FOUND without asking Telegram when no request is stored', async () => {
    const calls = telegramCalls(t, 'approveChatJoinRequest') + telegramCalls(t, 'declineChatJoinRequest');
    for (const response of [await approve(424242), await decline(424242)]) {
      expect(firstError(response).extensions?.code).toBe('NOT_FOUND');
    }
    expect(telegramCalls(t, 'approveChatJoinRequest') + telegramCalls(t, 'declineChatJoinRequest')).toBe(calls);
  });

  it('still returns the request, recording the decision once, when the processor marked it approved first', async () => {
    const { userId, requestId } = await requestToJoin();
    // Telegram runs the approval (and emits chat_member) but answers late; meanwhile the processor
    // applies the member's join and marks the request approved.
    t.telegram.failNext({ kind: 'slowAnswer', delayMs: 300 }, { method: 'approveChatJoinRequest' });
    const calls = telegramCalls(t, 'approveChatJoinRequest');
    const answer = approve(userId);
    await expect.poll(() => telegramCalls(t, 'approveChatJoinRequest')).toBe(calls + 1);
    const processedAt = new Date();
    const marked = await t.app.db.prisma.joinRequest.updateMany({
      where: { id: requestId, status: 'PENDING' },
      data: { status: 'APPROVED', decidedAt: processedAt },
    });
    expect(marked.count).toBe(1);

    const approved = ok(await answer).approveJoinRequest;
    expect([approved.id, approved.status, approved.decidedAt]).toEqual([requestId, 'APPROVED', processedAt.toISOString()]);
    expect((await decisionEvents(t, A, userId)).map((event) => event.kind)).toEqual(['JOIN_REQUEST_APPROVED']);
  });

  it('closes the stored request when Telegram has none any more (HIDE_REQUESTER_MISSING): declined', async () => {
    const { userId } = await requestToJoin();
    // Another administrator declined it (to the bot, the same as the user cancelling).
    t.telegram.decideJoinRequest(A.chatId, userId, false);
    const error = firstError(await approve(userId));
    expect([error.extensions?.code, error.extensions?.reason]).toEqual(['NOT_FOUND', 'JOIN_REQUEST_MISSING']);
    const [row] = await storedRequests(t, A, userId);
    expect(row!.status).toBe('DECLINED');
    expect(row!.decidedAt).not.toBeNull();
    expect(await decisionEvents(t, A, userId)).toEqual([]);
  });

  it('closes the stored request when Telegram has none any more (HIDE_REQUESTER_MISSING): approved, when the user is in', async () => {
    const { userId } = await requestToJoin();
    t.telegram.decideJoinRequest(A.chatId, userId, true);
    const error = firstError(await decline(userId));
    expect([error.extensions?.code, error.extensions?.reason]).toEqual(['NOT_FOUND', 'JOIN_REQUEST_MISSING']);
    expect((await storedRequests(t, A, userId)).map((row) => row.status)).toEqual(['APPROVED']);
    expect(await decisionEvents(t, A, userId)).toEqual([]);
  });

  it('settles concurrent decisions of one request on what Telegram did, with one decision event', async () => {
    for (const rival of [APPROVE, DECLINE]) {
      const { userId } = await requestToJoin();
      const answers = await Promise.all([approve(userId), t.gql(A.token, rival, { c: A.chatId, u: userId })]);
      const won = answers.filter((answer) => !answer.errors);
      const lost = answers.filter((answer) => answer.errors);
      expect(won).toHaveLength(1);
      for (const answer of lost) expect(answer.errors![0]!.extensions?.code).toBe('NOT_FOUND');
      const winner = won[0]!.data.approveJoinRequest ?? won[0]!.data.declineJoinRequest;
      // What Telegram did: the user is in exactly when the approval won.
      expect(t.telegram.memberStatus(A.chatId, userId)).toBe(winner.status === 'APPROVED' ? 'member' : 'left');
      expect((await storedRequests(t, A, userId)).map((row) => row.status)).toEqual([winner.status]);
      expect((await decisionEvents(t, A, userId)).map((event) => event.kind)).toEqual([
        winner.status === 'APPROVED' ? 'JOIN_REQUEST_APPROVED' : 'JOIN_REQUEST_DECLINED',
      ]);
    }
  });

  it('maps USER_ID_INVALID (a user Telegram does not know) to NOT_FOUND and changes nothing', async () => {
    const userId = 990_001; // stored, but never seen by Telegram
    await storeRequest(t, A, { userId, inviteLinkId: link.id });
    const error = firstError(await approve(userId));
    expect([error.extensions?.code, error.extensions?.reason]).toEqual(['NOT_FOUND', 'USER_UNKNOWN']);
    await expectUntouched(userId);
  });

  it('maps USER_ALREADY_PARTICIPANT to CONFLICT and changes nothing; the request can still be declined', async () => {
    const { userId } = await requestToJoin();
    const open = await createLink(t, A, 'Open door', false);
    expect(t.telegram.join(open.inviteLink, userId)).toBe('joined');
    const error = firstError(await approve(userId));
    expect([error.extensions?.code, error.extensions?.reason]).toEqual(['CONFLICT', 'USER_ALREADY_MEMBER']);
    await expectUntouched(userId);
    expect(ok(await decline(userId)).declineJoinRequest.status).toBe('DECLINED');
  });

  it("maps the bot's missing rights and absence, Telegram's failures and rate limits, and changes nothing", async () => {
    const { userId } = await requestToJoin();
    const cases: [() => void, () => void, string, string | undefined][] = [
      [
        () => t.telegram.updateChat(A.chatId, { canInviteUsers: false }),
        () => t.telegram.updateChat(A.chatId, { canInviteUsers: true }),
        'FORBIDDEN',
        'BOT_RIGHTS_MISSING',
      ],
      [
        () => t.telegram.updateChat(A.chatId, { botStatus: 'member' }),
        () => t.telegram.updateChat(A.chatId, { botStatus: 'administrator' }),
        'FORBIDDEN',
        'BOT_RIGHTS_MISSING',
      ],
      [
        () => t.telegram.updateChat(A.chatId, { botStatus: 'kicked' }),
        () => t.telegram.updateChat(A.chatId, { botStatus: 'administrator' }),
        'CONFLICT',
        'BOT_NOT_IN_CHANNEL',
      ],
      // One attempt and one retry.
      [
        () => t.telegram.failNext({ kind: 'serverError' }, { method: 'approveChatJoinRequest', times: 2 }),
        () => {},
        'UPSTREAM_ERROR',
        undefined,
      ],
      [
        () => t.telegram.failNext({ kind: 'rateLimit', retryAfter: 60 }, { method: 'approveChatJoinRequest' }),
        () => {},
        'RATE_LIMITED',
        undefined,
      ],
    ];
    for (const [arrange, restore, code, reason] of cases) {
      arrange();
      try {
        const error = firstError(await approve(userId));
        expect([error.extensions?.code, error.extensions?.reason]).toEqual([code, reason]);
      } finally {
        restore();
      }
      await expectUntouched(userId);
      expect(t.telegram.joinRequests(A.chatId).map((request) => request.userId)).toContain(userId);
    }
    expect(ok(await approve(userId)).approveJoinRequest.status).toBe('APPROVED');
  });

  it("keeps tenants apart: another account cannot decide this account's requests", async () => {
    const { userId } = await requestToJoin();
    const calls = telegramCalls(t, 'approveChatJoinRequest') + telegramCalls(t, 'declineChatJoinRequest');
    expect(firstError(await approve(userId, B.token)).extensions?.code).toBe('NOT_FOUND');
    expect(firstError(await decline(userId, B.token, B.chatId)).extensions?.code).toBe('NOT_FOUND');
    expect(telegramCalls(t, 'approveChatJoinRequest') + telegramCalls(t, 'declineChatJoinRequest')).toBe(calls);
    await expectUntouched(userId);
  });

  it("lets a partner token decide the requests through its partner's links only (persisted operations)", async () => {
    const own = await requestToJoin(alphaLink);
    const foreign = await requestToJoin(link);
    const partnerDecline = (userId: number) => persisted(t, alphaToken, 'PartnerDeclineJoinRequest', { channelId: A.chatId, userId });
    const calls = telegramCalls(t, 'declineChatJoinRequest');
    const refused = firstError(await partnerDecline(foreign.userId));
    expect([refused.extensions?.code, refused.message]).toEqual([
      'NOT_FOUND',
      `There is no pending join request of user ${foreign.userId} in channel ${A.chatId}`,
    ]);
    expect(telegramCalls(t, 'declineChatJoinRequest')).toBe(calls);
    await expectUntouched(foreign.userId);
    const declined = ok(await partnerDecline(own.userId)).declineJoinRequest;
    expect([declined.status, declined.inviteLink.id]).toEqual(['DECLINED', alphaLink.id]);
    const approved = await requestToJoin(alphaLink);
    const answer = ok(await persisted(t, alphaToken, 'PartnerApproveJoinRequest', { channelId: A.chatId, userId: approved.userId }));
    expect(answer.approveJoinRequest.status).toBe('APPROVED');
  });

  it('refuses a user id that is not a safe integer before anything runs', async () => {
    const calls = telegramCalls(t, 'approveChatJoinRequest');
    const error = firstError(await t.gql(A.token, APPROVE, { c: A.chatId, u: 2 ** 53 }));
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(telegramCalls(t, 'approveChatJoinRequest')).toBe(calls);
  });
});

// ---------------------------------------------------------------------------------------------

describe.each(['invite_link', 'via_join_request'] as const)('end to end, Telegram marking an approved join with %s', (shape) => {
  let t: TestApp;
  let A: Account;
  let link: Link;

  beforeAll(async () => {
    t = await createTestApp({ receiveUpdates: true, telegramPollTimeoutS: 1, approvedLinkJoinShape: shape });
    A = await setUpAccount(t, 'Live');
    link = await createLink(t, A, 'Live requests');
    // Telegram makes chat_member updates only once getUpdates has named them in allowed_updates.
    for (let attempt = 0; attempt < 200 && !t.telegram.calls.some((call) => call.method === 'getUpdates'); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 60_000);
  afterAll(() => t?.close());

  const stats = async () => ok(await t.gql(A.token, LINK_STATS, { id: link.id, c: A.chatId })).inviteLink.stats;
  const eventsOf = (userId: number) =>
    t.app.db.prisma.memberEvent.findMany({
      where: { channelId: A.channelRowId, userId: BigInt(userId) },
      select: { kind: true, inviteLinkId: true, joinRequestId: true },
      orderBy: [{ at: 'asc' }, { kind: 'asc' }],
    });
  /** The user asks to join through the link; its chat_join_request reaches the server through the poller. */
  async function requestThroughLink(userId: number) {
    expect(t.telegram.join(link.inviteLink, userId)).toBe('requested');
    await expect
      .poll(async () => ok(await t.gql(A.token, LIST, { c: A.chatId })).joinRequests.items.map((item: { userId: number }) => item.userId), {
        timeout: 10_000,
      })
      .toContain(userId);
    const [request] = await storedRequests(t, A, userId);
    expect([request!.status, request!.inviteLinkId]).toEqual(['PENDING', link.id]);
    return request!.id;
  }

  it('a request through the link is listed; approving it admits the member, who counts as one join through the link', async () => {
    const before = await stats();
    const requestId = await requestThroughLink(8001);
    expect((await stats()).pendingJoinRequests).toBe(before.pendingJoinRequests + 1);

    const approved = ok(await t.gql(A.token, APPROVE, { c: A.chatId, u: 8001 })).approveJoinRequest;
    expect(approved).toMatchObject({ id: requestId, status: 'APPROVED', inviteLink: { id: link.id } });
    expect(t.telegram.memberStatus(A.chatId, 8001)).toBe('member');
    // The member's chat_member update arrives after the approval and counts the join.
    await expect.poll(async () => (await stats()).joins, { timeout: 10_000 }).toBe(before.joins + 1);
    await t.settleUpdates();
    expect(await stats()).toMatchObject({
      joins: before.joins + 1,
      pendingJoinRequests: before.pendingJoinRequests,
      subscribers: before.subscribers + 1,
    });
    const events = await eventsOf(8001);
    expect(events.map((event) => event.kind).sort()).toEqual(['JOINED', 'JOIN_REQUESTED', 'JOIN_REQUEST_APPROVED']);
    for (const event of events) expect(event.inviteLinkId).toBe(link.id);
    expect(events.find((event) => event.kind === 'JOIN_REQUEST_APPROVED')!.joinRequestId).toBe(requestId);
    expect((await storedRequests(t, A, 8001)).map((row) => row.status)).toEqual(['APPROVED']);
  });

  it('declining a request admits nobody and counts no join', async () => {
    const before = await stats();
    const requestId = await requestThroughLink(8002);
    const declined = ok(await t.gql(A.token, DECLINE, { c: A.chatId, u: 8002 })).declineJoinRequest;
    expect([declined.id, declined.status]).toEqual([requestId, 'DECLINED']);
    await t.settleUpdates();
    expect(t.telegram.memberStatus(A.chatId, 8002)).toBe('left');
    expect(await stats()).toMatchObject({ joins: before.joins, pendingJoinRequests: before.pendingJoinRequests });
    expect((await eventsOf(8002)).map((event) => event.kind).sort()).toEqual(['JOIN_REQUESTED', 'JOIN_REQUEST_DECLINED']);
    const listed = ok(await t.gql(A.token, LIST, { c: A.chatId, status: 'DECLINED' })).joinRequests;
    expect(listed.items.map((item: { id: string }) => item.id)).toEqual([requestId]);
  });

  it('records the approval once whether the processor or the mutation marks the request first', async () => {
    const before = await stats();
    const requestId = await requestThroughLink(8003);
    // Telegram answers late, after emitting the member's chat_member update: the poller and the
    // processor may apply it before the mutation writes.
    t.telegram.failNext({ kind: 'slowAnswer', delayMs: 700 }, { method: 'approveChatJoinRequest' });
    const approved = ok(await t.gql(A.token, APPROVE, { c: A.chatId, u: 8003 })).approveJoinRequest;
    expect([approved.id, approved.status]).toEqual([requestId, 'APPROVED']);
    await expect.poll(async () => (await stats()).joins, { timeout: 10_000 }).toBe(before.joins + 1);
    await t.settleUpdates();
    expect((await eventsOf(8003)).map((event) => event.kind).sort()).toEqual(['JOINED', 'JOIN_REQUESTED', 'JOIN_REQUEST_APPROVED']);
    expect((await stats()).pendingJoinRequests).toBe(before.pendingJoinRequests);
  });
});
