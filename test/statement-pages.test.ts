import { randomUUID } from 'node:crypto';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type InviteqlServer } from '../src/http/server.ts';
import { isStatementPage } from '../src/schema/statement-pages.ts';
import { readPartnerManifest } from '../src/http/persisted-operations.ts';
import { createTestApp, CHANNEL, type TestApp } from './support/app.ts';

/*
 * Pages of links answered as the statement shapes them (src/schema/statement-pages.ts) must be the
 * very responses the executor gives over Pothos' fields: the oracle here is the same app served
 * with the plugin off. Each operation is asked of both, and the bodies (key order included) and
 * statuses must be equal.
 */

let t: TestApp;
let executor: InviteqlServer;
let owner: { accountId: string; token: string };
let partnerToken: string;

const ids = {
  channel: randomUUID(),
  partner: randomUUID(),
  source: randomUUID(),
  ads: randomUUID(),
  blogs: randomUUID(),
  untyped: randomUUID(),
};
const links = Array.from({ length: 14 }, () => randomUUID());
const BASE = Date.parse('2026-02-01T09:30:00.123Z');

beforeAll(async () => {
  t = await createTestApp();
  executor = createServer(t.app, { statementPages: false });
  owner = await t.createAccount('Statement pages');
  const prisma = t.app.db.prisma;
  await prisma.channel.create({
    data: {
      id: ids.channel,
      accountId: owner.accountId,
      telegramId: BigInt(CHANNEL),
      title: 'Main "quoted" channel',
      username: 'main_channel',
      botIsAdmin: true,
      botCanInviteUsers: true,
      status: 'VERIFIED',
    },
  });
  await prisma.partner.create({ data: { id: ids.partner, accountId: owner.accountId, externalId: 77, title: 'Agency' } });
  await prisma.tagType.create({ data: { id: ids.source, accountId: owner.accountId, name: 'Source' } });
  await prisma.tag.createMany({
    data: [
      { id: ids.ads, accountId: owner.accountId, typeId: ids.source, name: 'Ads', color: '#2AABEE' },
      { id: ids.blogs, accountId: owner.accountId, typeId: ids.source, name: 'Blogs', color: '#F5A623' },
      { id: ids.untyped, accountId: owner.accountId, typeId: null, name: 'Ёлка \'n" co', color: '#ABCDEF' },
    ],
  });
  await prisma.inviteLink.createMany({
    data: links.map((id, i) => ({
      id,
      accountId: owner.accountId,
      channelId: ids.channel,
      chatId: BigInt(CHANNEL),
      name: i % 4 === 0 ? `Giveaway "${i}" \\ ünïcode` : `Link ${i}`,
      inviteLink: `https://t.me/+statement${i}`,
      kind: i % 5 === 4 ? 'SUBSCRIPTION' : 'REGULAR',
      subscriptionPeriod: i % 5 === 4 ? 2592000 : null,
      subscriptionPrice: i % 5 === 4 ? 25 : null,
      createsJoinRequest: i % 3 === 1,
      budget: i * 150,
      creatorId: i % 2 ? 5000000001n + BigInt(i) : null,
      partnerId: i % 3 === 0 ? ids.partner : null,
      isRevoked: i === 13,
      isBotCreated: i % 2 === 0,
      createdAt: new Date(BASE + Math.floor(i / 2) * 60_000),
      updatedAt: i % 3 ? new Date(BASE + 86_400_000 + i) : null,
      expireDate: i % 4 === 1 ? new Date(BASE + 30 * 86_400_000) : null,
      memberLimit: i % 4 === 2 ? 99999 : null,
    })),
  });
  await prisma.inviteLinkTag.createMany({
    data: links.flatMap((id, i) =>
      [...(i % 2 ? [ids.ads] : []), ...(i % 3 ? [ids.blogs] : []), ...(i % 4 === 0 ? [ids.untyped] : [])].map((tagId) => ({
        inviteLinkId: id,
        channelId: ids.channel,
        tagId,
      })),
    ),
  });
  // Joins and leaves for some links (the triggers count them), and one link without its stats row.
  await prisma.memberEvent.createMany({
    data: links.slice(0, 6).flatMap((id, i) =>
      Array.from({ length: i + 1 }, (_, n) => ({
        accountId: owner.accountId,
        channelId: ids.channel,
        chatId: BigInt(CHANNEL),
        userId: BigInt(1000 * i + n),
        kind: n === 2 ? ('LEFT' as const) : ('JOINED' as const),
        inviteLinkId: id,
        at: new Date(BASE + n),
      })),
    ),
  });
  await prisma.$executeRaw`DELETE FROM invite_link_stats WHERE invite_link_id = ${links[7]}::uuid`;

  const created = await t.gql(owner.token, 'mutation { createApiToken(name: "agency", partnerExternalId: 77) { token } }');
  partnerToken = created.data.createApiToken.token;
});
afterAll(async () => {
  await t?.close();
});

const ALL_FIELDS = /* GraphQL */ `
  __typename page limit total
  items {
    __typename id name channelId inviteLink kind createsJoinRequest expireDate memberLimit subscriptionPeriod
    subscriptionPrice isRevoked isBotCreated creatorId budget createdAt updatedAt
    channel { __typename id telegramId title username botIsAdmin botCanInviteUsers status }
    partner { __typename id externalId title }
    tags { __typename id name color type { __typename id name } }
    stats { __typename joins leaves subscribers pendingJoinRequests costPerJoin costPerSubscriber }
  }`;

interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  /** Whether the statement answers it (else the executor does, on both servers). */
  shaped: boolean;
  /** The executor orders root fields as their resolvers finish, so two of them may come either way. */
  anyRootOrder?: true;
}

const cases = (): Case[] => [
  { name: 'every field the statement shapes', query: `{ inviteLinks(channelId: ${CHANNEL}, limit: 100) { ${ALL_FIELDS} } }`, shaped: true },
  {
    name: 'aliases, named and inline fragments, variables with defaults',
    query: `query Page($c: SafeInt!, $limit: Int = 5, $page: Int = 2) {
      links: inviteLinks(channelId: $c, limit: $limit, page: $page) {
        count: total ...PageBits
        rows: items { ... on InviteLink { linkId: id label: name } ...More }
      }
    }
    fragment PageBits on InviteLinkPage { page limit }
    fragment More on InviteLink { when: createdAt ch: channel { t: title } tags { n: name kind: type { name } } }`,
    variables: { c: CHANNEL },
    shaped: true,
  },
  {
    name: 'a name search, ordered by budget',
    query: `query($c: SafeInt!, $name: String) { inviteLinks(channelId: $c, name: $name, orderBy: [{ field: BUDGET, direction: ASC }]) { total items { id name budget } } }`,
    variables: { c: CHANNEL, name: 'giveaway "' },
    shaped: true,
  },
  {
    name: 'tag groups, ordered by cost per subscriber, with stats',
    query: `query($c: SafeInt!, $filter: InviteLinkFilter) {
      inviteLinks(channelId: $c, filter: $filter, limit: 100, orderBy: [{ field: COST_PER_SUBSCRIBER, direction: DESC }]) {
        total items { id budget stats { joins subscribers costPerJoin costPerSubscriber } tags { name } }
      }
    }`,
    variables: {
      c: CHANNEL,
      filter: {
        tags: [
          { tagTypeId: ids.source, tags: [ids.ads, ids.blogs] },
          { tagTypeId: null, withoutType: true },
        ],
      },
    },
    shaped: true,
  },
  {
    name: 'a creator and link ids',
    query: `query($c: SafeInt!, $ids: [ID!]) { inviteLinks(channelId: $c, creatorId: 5000000002, filter: { linkIds: $ids }) { total items { id creatorId } } }`,
    variables: { c: CHANNEL, ids: links.slice(0, 4) },
    shaped: true,
  },
  {
    name: "a partner's links",
    query: `{ partnerInviteLinks(externalId: 77, channelId: ${CHANNEL}, limit: 3, page: 2) { page limit total items { id partner { externalId } } } }`,
    shaped: true,
  },
  { name: 'an empty page', query: `{ inviteLinks(channelId: ${CHANNEL}, page: 9) { total items { id } } }`, shaped: true },
  { name: 'the page without items', query: `{ inviteLinks(channelId: ${CHANNEL}) { total } }`, shaped: true },
  // The executor's, on both servers:
  {
    name: 'shortLinks (a batched loader)',
    query: `{ inviteLinks(channelId: ${CHANNEL}) { items { id shortLinks { id } } } }`,
    shaped: false,
  },
  {
    name: 'a directive',
    query: `query($on: Boolean!) { inviteLinks(channelId: ${CHANNEL}) { total @include(if: $on) items { id } } }`,
    variables: { on: false },
    shaped: false,
  },
  { name: 'a response key twice', query: `{ inviteLinks(channelId: ${CHANNEL}) { items { id id } } }`, shaped: false },
  {
    name: 'two root fields',
    query: `{ inviteLinks(channelId: ${CHANNEL}) { total } channels { id } }`,
    shaped: false,
    anyRootOrder: true,
  },
  // Errors: the plan is taken, the resolver refuses, and the executor answers as it always does.
  { name: 'an unknown channel', query: `{ inviteLinks(channelId: -1009999999999) { total } }`, shaped: true },
  { name: 'a limit out of range', query: `{ inviteLinks(channelId: ${CHANNEL}, limit: 101) { total } }`, shaped: true },
  {
    name: 'an unknown tag',
    query: `query($f: InviteLinkFilter) { inviteLinks(channelId: ${CHANNEL}, filter: $f) { total } }`,
    variables: { f: { tags: [{ tagTypeId: ids.source, tags: [randomUUID()] }] } },
    shaped: true,
  },
  {
    name: 'a tag id that is not a uuid (argument validation)',
    query: `query($f: InviteLinkFilter) { inviteLinks(channelId: ${CHANNEL}, filter: $f) { total } }`,
    variables: { f: { tags: [{ tagTypeId: 'nope', tags: [] }] } },
    shaped: true,
  },
  {
    name: 'a variable of the wrong type',
    query: `query($c: SafeInt!) { inviteLinks(channelId: $c) { total } }`,
    variables: { c: 'one' },
    shaped: true,
  },
  { name: 'an unknown partner', query: `{ partnerInviteLinks(externalId: 5, channelId: ${CHANNEL}) { total } }`, shaped: true },
];

async function ask(server: InviteqlServer, token: string, body: Record<string, unknown>) {
  const response = await server.fetch('http://inviteql.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  // Parsed and written again: the same values in the same key order give the same text.
  return { status: response.status, body: JSON.stringify(JSON.parse(await response.text())) };
}

describe('pages of links answered as the statement shapes them', () => {
  it.each(cases())('$name: planned as expected', ({ query, shaped }) => {
    expect(isStatementPage(t.server.graphql.getEnveloped().schema, parse(query))).toBe(shaped);
  });

  it.each(cases())('$name: the same response as the executor', async ({ query, variables, anyRootOrder }) => {
    const shaped = await ask(t.server, owner.token, { query, variables });
    const executed = await ask(executor, owner.token, { query, variables });
    if (anyRootOrder) expect(JSON.parse(shaped.body)).toEqual(JSON.parse(executed.body));
    else expect(shaped.body).toBe(executed.body);
    expect(shaped.status).toBe(executed.status);
  });

  it('the cases cover what they claim: data, stats, a missing stats row, tags with and without a type', async () => {
    const { body } = await ask(t.server, owner.token, { query: cases()[0]!.query });
    const items = JSON.parse(body).data.inviteLinks.items as {
      id: string;
      stats: { joins: number };
      tags: { type: unknown }[];
      partner: unknown;
    }[];
    expect(items).toHaveLength(links.length);
    expect(items.find((item) => item.id === links[5])!.stats.joins).toBe(5);
    expect(items.find((item) => item.id === links[7])!.stats).toEqual({
      __typename: 'InviteLinkStats',
      joins: 0,
      leaves: 0,
      subscribers: 0,
      pendingJoinRequests: 0,
      costPerJoin: null,
      costPerSubscriber: null,
    });
    expect(items.some((item) => item.tags.some((tag) => tag.type === null))).toBe(true);
    expect(items.some((item) => item.partner === null) && items.some((item) => item.partner !== null)).toBe(true);
  });

  it("answers a partner token's persisted operations as the executor does", async () => {
    const manifest = readPartnerManifest();
    for (const name of ['PartnerInviteLinks', 'PartnerInviteLinksWithStats']) {
      const documentId = Object.keys(manifest).find((id) => manifest[id]!.includes(`query ${name}(`))!;
      expect(isStatementPage(t.server.graphql.getEnveloped().schema, parse(manifest[documentId]!), name)).toBe(true);
      const body = { documentId, variables: { externalId: 77, channelId: CHANNEL, limit: 100 } };
      const shaped = await ask(t.server, partnerToken, body);
      expect(shaped).toEqual(await ask(executor, partnerToken, body));
      expect(JSON.parse(shaped.body).data.partnerInviteLinks.total).toBe(links.filter((_, i) => i % 3 === 0).length);
    }
  });

  it('streams the same text as one GraphQL-over-SSE event', async () => {
    const query = cases()[0]!.query;
    const response = await t.server.fetch('http://inviteql.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${owner.token}` },
      body: JSON.stringify({ query }),
    });
    const events = [...(await response.text()).matchAll(/^event: (\w+)\ndata:(.*)$/gm)];
    expect(events.map((event) => event[1])).toEqual(['next', 'complete']);
    expect(JSON.stringify(JSON.parse(events[0]![2]!))).toEqual((await ask(executor, owner.token, { query })).body);
  });

  it('runs one statement per page, as the executor does', async () => {
    const body = { query: cases()[0]!.query };
    await ask(t.server, owner.token, body); // the token is cached
    const before = t.app.db.statementCount;
    await ask(t.server, owner.token, body);
    expect(t.app.db.statementCount - before).toBe(1);
  });
});
