import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, CONNECT_CHANNEL, CHANNEL, type GraphQLResponse, type TestApp } from './support/app.ts';
import { DEMO_CHAT_IDS } from '../src/sandbox/demo-data.ts';

// Seed 000: POST /links?external_id= and POST /links/all, and its error table, through GraphQL.

const NO_RIGHTS = DEMO_CHAT_IDS.botLacksInviteRights;
const NOT_MEMBER = DEMO_CHAT_IDS.botNotMember;

let t: TestApp;
let owner: { accountId: string; token: string };
/** A partner token of partner 1 ("Alpha"). */
let alphaToken: string;

const LINK =
  'id name channelId inviteLink isBotCreated createsJoinRequest memberLimit expireDate budget tags { id } partner { externalId title }';
const PARTNER_CREATE = `mutation($externalId: Int!, $input: PartnerCreateInviteLinkInput!) {
  partnerCreateInviteLink(externalId: $externalId, input: $input) { ${LINK} }
}`;
const PARTNER_LINKS = `query($externalId: Int!, $c: SafeInt!, $page: Int, $limit: Int) {
  partnerInviteLinks(externalId: $externalId, channelId: $c, page: $page, limit: $limit) { page limit total items { id name partner { externalId } } }
}`;
const CREATE = `mutation($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { id name } }`;
const CREATE_PARTNER = 'mutation($e: Int!, $title: String!) { createPartner(externalId: $e, title: $title) { id externalId title } }';
const CREATE_TOKEN = `mutation($name: String!, $p: Int) {
  createApiToken(name: $name, partnerExternalId: $p) { token apiToken { id partner { externalId } } }
}`;

function firstError(response: GraphQLResponse) {
  expect(response.errors, JSON.stringify(response.data)).toBeDefined();
  return response.errors![0]!;
}
const creates = () => t.telegram.calls.filter((call) => call.method === 'createChatInviteLink').length;

async function partnerCreate(token: string, externalId: number, input: Record<string, unknown>) {
  return t.gql(token, PARTNER_CREATE, { externalId, input: { channelId: CHANNEL, ...input } });
}

/** Connects a demo chat as if the bot had had full rights then, and puts the chat back as it was. */
async function connectWhileAllowed(chatId: number) {
  const original = { botStatus: chatId === NOT_MEMBER ? ('left' as const) : ('administrator' as const), canInviteUsers: false };
  t.telegram.updateChat(chatId, { botStatus: 'administrator', canInviteUsers: true });
  try {
    expect((await t.connectVerifiedChannel(owner.token, chatId)).errors).toBeUndefined();
  } finally {
    t.telegram.updateChat(chatId, original);
  }
}

/** The published partner operations, fetched as a partner would: documentId → document. */
let manifest: Record<string, string>;

function manifestEntry(operationName: string): [string, string] {
  const entry = Object.entries(manifest).find(([, document]) => new RegExp(`^(query|mutation) ${operationName}\\(`, 'm').test(document));
  if (!entry) throw new Error(`no persisted operation ${operationName}`);
  return entry;
}

async function postPersisted(token: string, documentId: string, variables: Record<string, unknown>): Promise<GraphQLResponse> {
  const response = await t.server.fetch('http://inviteql.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ documentId, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: any[] };
  return { status: response.status, headers: response.headers, data: body.data, errors: body.errors };
}

const persisted = (token: string, operationName: string, variables: Record<string, unknown>) =>
  postPersisted(token, manifestEntry(operationName)[0], variables);

beforeAll(async () => {
  t = await createTestApp({ telegramTimeoutMs: 5000 });
  owner = await t.createAccount('Owner');
  expect((await t.connectVerifiedChannel(owner.token, CHANNEL)).errors).toBeUndefined();
  await connectWhileAllowed(NO_RIGHTS);
  await connectWhileAllowed(NOT_MEMBER);
  for (const [externalId, title] of [
    [1, 'Alpha'],
    [2, 'Beta'],
  ] as const) {
    const created = await t.gql(owner.token, CREATE_PARTNER, { e: externalId, title });
    expect(created.errors).toBeUndefined();
  }
  const token = await t.gql(owner.token, CREATE_TOKEN, { name: 'alpha', p: 1 });
  expect(token.errors).toBeUndefined();
  expect(token.data.createApiToken.apiToken.partner).toEqual({ externalId: 1 });
  alphaToken = token.data.createApiToken.token;
  manifest = (await (await t.server.fetch('http://inviteql.test/operations/partner.json')).json()) as Record<string, string>;
});
afterAll(() => t.close());

describe('partnerCreateInviteLink (seed 000 POST /links)', () => {
  it('creates the link in Telegram and records the partner', async () => {
    const expireDate = new Date(Math.floor(Date.now() / 1000 + 86400) * 1000).toISOString();
    const response = await partnerCreate(owner.token, 1, { name: 'Alpha ad', memberLimit: 100, expireDate });
    expect(response.errors).toBeUndefined();
    const link = response.data.partnerCreateInviteLink;
    expect(link).toMatchObject({
      name: 'Alpha ad',
      channelId: CHANNEL,
      isBotCreated: true,
      createsJoinRequest: false,
      memberLimit: 100,
      expireDate,
      budget: 0,
      tags: [],
      partner: { externalId: 1, title: 'Alpha' },
    });
    expect(t.telegram.links(CHANNEL).find((l) => l.invite_link === link.inviteLink)).toMatchObject({ name: 'Alpha ad', member_limit: 100 });
    const row = await t.app.db.prisma.inviteLink.findUniqueOrThrow({ where: { id: link.id }, include: { partner: true } });
    expect(row.partner).toMatchObject({ externalId: 1, title: 'Alpha', accountId: owner.accountId });
  });

  it('404: answers NOT_FOUND "Partner with external id 123 not found" for an unknown partner, before Telegram', async () => {
    const before = creates();
    const response = await partnerCreate(owner.token, 123, { name: 'nobody' });
    const error = firstError(response);
    expect(error.extensions?.code).toBe('NOT_FOUND');
    expect(error.message).toBe('Partner with external id 123 not found');
    expect(creates()).toBe(before);
  });

  it("404: does not find another account's partner", async () => {
    const stranger = await t.createAccount('Stranger');
    const chat = t.addChannel();
    expect((await t.connectVerifiedChannel(stranger.token, chat)).errors).toBeUndefined();
    const response = await partnerCreate(stranger.token, 1, { channelId: chat, name: 'not yours' });
    expect(firstError(response)).toMatchObject({ message: 'Partner with external id 1 not found', extensions: { code: 'NOT_FOUND' } });
  });

  it('403: answers FORBIDDEN BOT_RIGHTS_MISSING with the channel id where the bot cannot invite users', async () => {
    const response = await partnerCreate(owner.token, 1, { channelId: NO_RIGHTS, name: 'no rights' });
    expect(firstError(response).extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'BOT_RIGHTS_MISSING', channelId: NO_RIGHTS });
    expect(await t.app.db.prisma.inviteLink.count({ where: { name: 'no rights' } })).toBe(0);
  });

  it('409: answers CONFLICT BOT_NOT_IN_CHANNEL with the channel id where the bot is not a member', async () => {
    const response = await partnerCreate(owner.token, 1, { channelId: NOT_MEMBER, name: 'no bot' });
    expect(firstError(response).extensions).toMatchObject({ code: 'CONFLICT', reason: 'BOT_NOT_IN_CHANNEL', channelId: NOT_MEMBER });
    expect(await t.app.db.prisma.inviteLink.count({ where: { name: 'no bot' } })).toBe(0);
  });

  it.each([
    ['an empty name', 1, { name: '' }, ['input', 'name']],
    ['a name over 32 characters', 1, { name: 'n'.repeat(33) }, ['input', 'name']],
    ['memberLimit 0', 1, { name: 'limit', memberLimit: 0 }, ['input', 'memberLimit']],
    ['memberLimit with createsJoinRequest', 1, { name: 'both', memberLimit: 5, createsJoinRequest: true }, ['input', 'memberLimit']],
    ['an expireDate in the past', 1, { name: 'past', expireDate: '2020-01-01T00:00:00Z' }, ['input', 'expireDate']],
    ['externalId 0', 0, { name: 'zero' }, ['externalId']],
  ])('422: answers VALIDATION_FAILED for %s, before Telegram', async (_label, externalId, input, path) => {
    const before = creates();
    const response = await partnerCreate(owner.token, externalId, input);
    expect(firstError(response).extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path, message: expect.any(String) }] });
    expect(creates()).toBe(before);
  });

  it('401: answers UNAUTHENTICATED without a token, with an unknown one, and for an account that no longer exists', async () => {
    const gone = await t.createAccount('Gone');
    await t.app.db.prisma.account.delete({ where: { id: gone.accountId } });
    const before = creates();
    for (const token of [null, `iql_${'A'.repeat(43)}`, gone.token]) {
      const response = await partnerCreate(token as string, 1, { name: 'anonymous' });
      expect(response.status).toBe(401);
      expect(firstError(response).extensions?.code).toBe('UNAUTHENTICATED');
      expect(response.data ?? null).toBeNull();
    }
    expect(creates()).toBe(before);
  });

  it('400: refuses a partner whose title is blank or too long with BAD_REQUEST (seed 000 "Partner title incorrect")', async () => {
    for (const title of ['', '   ', 'x'.repeat(256)]) {
      const response = await t.gql(owner.token, CREATE_PARTNER, { e: 77, title });
      expect(firstError(response).message).toMatch(/^Partner title incorrect/);
      expect(firstError(response).extensions, JSON.stringify(title)).toMatchObject({
        code: 'BAD_REQUEST',
        fields: [{ path: ['title'], message: expect.any(String) }],
      });
    }
    expect(await t.app.db.prisma.partner.count({ where: { accountId: owner.accountId, externalId: 77 } })).toBe(0);
    // With no partner 77 stored, creating links for it is the 404 above.
    expect(firstError(await partnerCreate(owner.token, 77, { name: 'x' })).message).toBe('Partner with external id 77 not found');
  });

  it('answers CONFLICT for a second partner with the same externalId', async () => {
    const response = await t.gql(owner.token, CREATE_PARTNER, { e: 1, title: 'Alpha again' });
    expect(firstError(response).extensions?.code).toBe('CONFLICT');
    const partners = await t.gql(owner.token, '{ partners { externalId title } }');
    expect(partners.data.partners).toEqual([
      { externalId: 1, title: 'Alpha' },
      { externalId: 2, title: 'Beta' },
    ]);
  });
});

describe('partnerInviteLinks (seed 000 POST /links/all)', () => {
  it("lists only that partner's links in that channel", async () => {
    const account = await t.createAccount('Listing');
    // A chat belongs to one account: this one gets its own.
    const chat = t.addChannel();
    expect((await t.connectVerifiedChannel(account.token, chat)).errors).toBeUndefined();
    for (const [e, title] of [
      [10, 'Ten'],
      [20, 'Twenty'],
    ] as const) {
      expect((await t.gql(account.token, CREATE_PARTNER, { e, title })).errors).toBeUndefined();
    }
    const ten: string[] = [];
    for (const name of ['ten a', 'ten b', 'ten c']) {
      const response = await partnerCreate(account.token, 10, { channelId: chat, name });
      expect(response.errors).toBeUndefined();
      ten.push(response.data.partnerCreateInviteLink.id);
    }
    expect((await partnerCreate(account.token, 20, { channelId: chat, name: 'twenty' })).errors).toBeUndefined();
    expect((await t.gql(account.token, CREATE, { input: { channelId: chat, name: 'own link' } })).errors).toBeUndefined();

    const all = await t.gql(account.token, PARTNER_LINKS, { externalId: 10, c: chat });
    expect(all.errors).toBeUndefined();
    expect(all.data.partnerInviteLinks).toMatchObject({ page: 1, limit: 10, total: 3 });
    expect(all.data.partnerInviteLinks.items.map((item: { id: string }) => item.id).sort()).toEqual([...ten].sort());
    for (const item of all.data.partnerInviteLinks.items) expect(item.partner).toEqual({ externalId: 10 });

    const paged = await t.gql(account.token, PARTNER_LINKS, { externalId: 10, c: chat, page: 2, limit: 2 });
    expect(paged.data.partnerInviteLinks).toMatchObject({ page: 2, limit: 2, total: 3 });
    expect(paged.data.partnerInviteLinks.items).toHaveLength(1);

    const twenty = await t.gql(account.token, PARTNER_LINKS, { externalId: 20, c: chat });
    expect(twenty.data.partnerInviteLinks.total).toBe(1);
    expect(twenty.data.partnerInviteLinks.items[0].name).toBe('twenty');

    const unknown = await t.gql(account.token, PARTNER_LINKS, { externalId: 30, c: chat });
    expect(firstError(unknown)).toMatchObject({ message: 'Partner with external id 30 not found', extensions: { code: 'NOT_FOUND' } });
  });
});

describe('partner tokens (persisted operations only)', () => {
  it('create links for their own partner only', async () => {
    const own = await persisted(alphaToken, 'PartnerCreateInviteLink', {
      externalId: 1,
      input: { channelId: CHANNEL, name: 'by alpha token' },
    });
    expect(own.errors).toBeUndefined();
    const link = own.data.partnerCreateInviteLink;
    expect(t.telegram.links(CHANNEL).find((l) => l.invite_link === link.inviteLink)?.name).toBe('by alpha token');
    const read = await t.gql(
      owner.token,
      'query($id: ID!, $c: SafeInt!) { inviteLink(id: $id, channelId: $c) { partner { externalId title } } }',
      {
        id: link.id,
        c: CHANNEL,
      },
    );
    expect(read.data.inviteLink.partner).toEqual({ externalId: 1, title: 'Alpha' });

    const before = creates();
    const foreign = await persisted(alphaToken, 'PartnerCreateInviteLink', {
      externalId: 2,
      input: { channelId: CHANNEL, name: 'as beta' },
    });
    expect(firstError(foreign)).toMatchObject({ message: 'Partner with external id 2 not found', extensions: { code: 'NOT_FOUND' } });
    const foreignList = await persisted(alphaToken, 'PartnerInviteLinks', { externalId: 2, channelId: CHANNEL });
    expect(firstError(foreignList)).toMatchObject({ message: 'Partner with external id 2 not found', extensions: { code: 'NOT_FOUND' } });
    expect(creates()).toBe(before);
    expect(await t.app.db.prisma.inviteLink.count({ where: { name: 'as beta' } })).toBe(0);
  });

  it('get VALIDATION_FAILED for bad input, before Telegram', async () => {
    const before = creates();
    const response = await persisted(alphaToken, 'PartnerCreateInviteLink', {
      externalId: 1,
      input: { channelId: CHANNEL, name: 'both', memberLimit: 3, createsJoinRequest: true },
    });
    expect(firstError(response).extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: ['input', 'memberLimit'] }] });
    expect(creates()).toBe(before);
  });

  it("see only their partner's links", async () => {
    const beta = await partnerCreate(owner.token, 2, { name: 'beta only' });
    expect(beta.errors).toBeUndefined();
    const betaId = beta.data.partnerCreateInviteLink.id;

    const list = await persisted(alphaToken, 'PartnerInviteLinks', { externalId: 1, channelId: CHANNEL, limit: 100 });
    expect(list.errors).toBeUndefined();
    const names = list.data.partnerInviteLinks.items.map((item: { name: string }) => item.name);
    expect(names).toContain('by alpha token');
    expect(names).not.toContain('beta only');
    expect(list.data.partnerInviteLinks.total).toBe(
      await t.app.db.prisma.inviteLink.count({
        where: { accountId: owner.accountId, chatId: BigInt(CHANNEL), partner: { externalId: 1 } },
      }),
    );

    const readBeta = await persisted(alphaToken, 'PartnerInviteLink', { id: betaId, channelId: CHANNEL });
    expect(firstError(readBeta).extensions?.code).toBe('NOT_FOUND');
    const ownId = list.data.partnerInviteLinks.items[0].id;
    const readOwn = await persisted(alphaToken, 'PartnerInviteLink', { id: ownId, channelId: CHANNEL });
    expect(readOwn.data.inviteLink.id).toBe(ownId);
  });

  it('cannot manage the account: any other operation is refused and changes nothing', async () => {
    const link = (await partnerCreate(owner.token, 1, { name: 'alpha managed' })).data.partnerCreateInviteLink;
    const attempts: [string, string, Record<string, unknown>][] = [
      ['createTag', 'mutation { createTag(name: "t", color: "#00ff00") { id } }', {}],
      ['createTagType', 'mutation { createTagType(name: "tt") { id } }', {}],
      ['connectChannel', CONNECT_CHANNEL, { telegramId: CHANNEL }],
      ['createPartner', CREATE_PARTNER, { e: 99, title: 'Mine now' }],
      ['createApiToken', CREATE_TOKEN, { name: 'escalate', p: null }],
      ['createInviteLink', CREATE, { input: { channelId: CHANNEL, name: 'not partner' } }],
      [
        'updateInviteLink',
        'mutation($input: UpdateInviteLinkInput!) { updateInviteLink(input: $input) { id } }',
        { input: { id: link.id, channelId: CHANNEL, budget: 5 } },
      ],
      [
        'revokeInviteLink',
        'mutation($id: ID!, $c: SafeInt!) { revokeInviteLink(id: $id, channelId: $c) { id } }',
        { id: link.id, c: CHANNEL },
      ],
      // Even the text of a published operation must come as its documentId.
      ['published text', manifestEntry('PartnerInviteLinks')[1], { externalId: 1, channelId: CHANNEL }],
    ];
    const calls = t.telegram.calls.length;
    const tags = await t.app.db.prisma.tag.count();
    for (const [name, query, variables] of attempts) {
      const response = await t.gql(alphaToken, query, variables);
      expect(response.status, name).toBe(400);
      expect(firstError(response).extensions?.code, name).toBe('PERSISTED_QUERY_ONLY');
      expect(response.data ?? null, name).toBeNull();
    }
    const unknown = await postPersisted(alphaToken, `sha256:${'0'.repeat(64)}`, {});
    expect(firstError(unknown).extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');

    expect(t.telegram.calls).toHaveLength(calls);
    expect(await t.app.db.prisma.tag.count()).toBe(tags);
    expect(await t.app.db.prisma.partner.count({ where: { accountId: owner.accountId } })).toBe(2);
    expect(await t.app.db.prisma.apiToken.count({ where: { accountId: owner.accountId, name: 'escalate' } })).toBe(0);
    expect(await t.app.db.prisma.inviteLink.findUniqueOrThrow({ where: { id: link.id } })).toMatchObject({ budget: 0, isRevoked: false });
  });

  it('cannot obtain another link through its idempotencyKey', async () => {
    const idempotencyKey = 'campaign-2025';
    const ownerLink = await t.gql(owner.token, CREATE, { input: { channelId: CHANNEL, name: 'owner keyed', idempotencyKey } });
    expect(ownerLink.errors).toBeUndefined();
    const betaLink = await partnerCreate(owner.token, 2, { name: 'beta keyed', idempotencyKey: 'beta-key' });
    expect(betaLink.errors).toBeUndefined();

    const before = creates();
    for (const key of [idempotencyKey, 'beta-key']) {
      const response = await persisted(alphaToken, 'PartnerCreateInviteLink', {
        externalId: 1,
        input: { channelId: CHANNEL, name: 'alpha keyed', idempotencyKey: key },
      });
      expect(response.data?.partnerCreateInviteLink ?? null, key).toBeNull();
      expect(firstError(response).extensions, key).toMatchObject({ code: 'CONFLICT', reason: 'IDEMPOTENCY_KEY_IN_USE' });
    }
    expect(creates()).toBe(before);

    // A retry in the same scope still returns the same link.
    const first = await persisted(alphaToken, 'PartnerCreateInviteLink', {
      externalId: 1,
      input: { channelId: CHANNEL, name: 'alpha keyed', idempotencyKey: 'alpha-key' },
    });
    const again = await persisted(alphaToken, 'PartnerCreateInviteLink', {
      externalId: 1,
      input: { channelId: CHANNEL, name: 'alpha keyed', idempotencyKey: 'alpha-key' },
    });
    expect(again.data.partnerCreateInviteLink.id).toBe(first.data.partnerCreateInviteLink.id);
    expect(creates()).toBe(before + 1);
    // And the owner cannot pass a partner's link off as its own either.
    const ownerReuse = await t.gql(owner.token, CREATE, {
      input: { channelId: CHANNEL, name: 'owner keyed', idempotencyKey: 'alpha-key' },
    });
    expect(firstError(ownerReuse).extensions).toMatchObject({ code: 'CONFLICT', reason: 'IDEMPOTENCY_KEY_IN_USE' });
  });

  it('stop working when revoked', async () => {
    const created = await t.gql(owner.token, CREATE_TOKEN, { name: 'beta', p: 2 });
    const { token, apiToken } = created.data.createApiToken;
    expect(
      (await persisted(token, 'PartnerCreateInviteLink', { externalId: 2, input: { channelId: CHANNEL, name: 'beta token' } })).errors,
    ).toBeUndefined();
    const revoked = await t.gql(owner.token, 'mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }', { id: apiToken.id });
    expect(revoked.errors).toBeUndefined();
    const after = await persisted(token, 'PartnerCreateInviteLink', {
      externalId: 2,
      input: { channelId: CHANNEL, name: 'beta token again' },
    });
    expect(firstError(after).extensions?.code).toBe('UNAUTHENTICATED');
    expect(await t.app.db.prisma.inviteLink.count({ where: { name: 'beta token again' } })).toBe(0);
  });

  it('cannot be issued for an unknown partner', async () => {
    const response = await t.gql(owner.token, CREATE_TOKEN, { name: 'ghost', p: 555 });
    expect(firstError(response)).toMatchObject({ message: 'Partner with external id 555 not found', extensions: { code: 'NOT_FOUND' } });
  });
});
