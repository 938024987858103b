import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, CHANNEL, type GraphQLResponse, type TestApp } from './support/app.ts';

/*
 * Listing, filtering, ordering and paging of invite links (seed 001 POST /invite_links/all).
 * The data is written straight into the database; every expectation is computed here from the
 * fixture arrays with plain JS, never by the service under test.
 */

let t: TestApp;
let A: { accountId: string; token: string };
let B: { accountId: string; token: string };

const SECOND_CHANNEL = -1001000000002;
const BULK_CHANNEL = -1001000000005;
const UNKNOWN_CHANNEL = -1001000000777;

const BASE = Date.parse('2025-03-01T10:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface LinkFx {
  id: string;
  accountId: string;
  channelRowId: string;
  chatId: number;
  name: string;
  creatorId: number | null;
  budget: number;
  createdAt: Date;
  updatedAt: Date | null;
  expireDate: Date | null;
  memberLimit: number | null;
  partnerId: string | null;
  kind: 'REGULAR' | 'SUBSCRIPTION';
  tagIds: string[];
}

// Ids are chosen here (random v4), so id order has nothing to do with creation order.
const ids = {
  channelA: randomUUID(),
  channelA2: randomUUID(),
  channelBulk: randomUUID(),
  channelB: randomUUID(),
  partner1: randomUUID(), // A, externalId 501
  partner2: randomUUID(), // A, externalId 502
  partnerB: randomUUID(), // B, externalId 501 (same external id as A's partner1)
  partnerBOnly: randomUUID(), // B, externalId 777
  typeSource: randomUUID(),
  typeCampaign: randomUUID(),
  typeEmpty: randomUUID(), // a type whose tag is on no link
  typeSourceB: randomUUID(),
  s1: randomUUID(),
  s2: randomUUID(),
  s3: randomUUID(),
  c1: randomUUID(),
  c2: randomUUID(),
  e1: randomUUID(),
  u1: randomUUID(),
  u2: randomUUID(),
  bs1: randomUUID(),
  bu1: randomUUID(),
};

interface TagFx {
  id: string;
  accountId: string;
  typeId: string | null;
  name: string;
  color: string;
}
let tagFx: TagFx[] = [];
const typeOf = (tagId: string) => tagFx.find((tag) => tag.id === tagId)!.typeId;

/**
 * Names start with a unique two-digit code (same code, same name), so NAME order is the same
 * under every collation (C, C.UTF-8, ICU, en_US) and equal names really are ties.
 */
const NAMES = [
  '01 Реклама в канале',
  '02 реклама у блогеров',
  '03 РЕКЛАМА осенняя',
  '04 Spring promo',
  '05 spring PROMO extra',
  '06 Ёлка',
  '07 Direct',
  '08 Скидка 100% сразу',
  '09 Скидка 100 рублей',
  '10 user_name',
  '11 username',
  '12 Partners',
  '13 back\\slash',
];
const CREATORS = [111111, 5000000001, null, 222222];
const BUDGETS = [100, 0, 100, 250, 100, 5000];
const MEMBER_LIMITS = [10, 50, 99999, 10];
const SOURCE_SETS = (): string[][] => [[], [ids.s1], [ids.s2], [ids.s1, ids.s3]];
const CAMPAIGN_SETS = (): string[][] => [[], [ids.c1], [ids.c2]];
const UNTYPED_SETS = (): string[][] => [[], [ids.u1], [], [ids.u2], [ids.u1, ids.u2]];

let mainLinks: LinkFx[] = []; // account A, CHANNEL
let secondLinks: LinkFx[] = []; // account A, SECOND_CHANNEL
let bulkLinks: LinkFx[] = []; // account A, BULK_CHANNEL
let bLinks: LinkFx[] = []; // account B, its own row for CHANNEL

function link(partial: Omit<LinkFx, 'id'>): LinkFx {
  return { id: randomUUID(), ...partial };
}

function buildFixtures() {
  const source = SOURCE_SETS();
  const campaign = CAMPAIGN_SETS();
  const untyped = UNTYPED_SETS();
  mainLinks = Array.from({ length: 48 }, (_, i) =>
    link({
      accountId: A.accountId,
      channelRowId: ids.channelA,
      chatId: CHANNEL,
      name: NAMES[(i * 7) % NAMES.length]!,
      creatorId: CREATORS[Math.floor(i / 2) % 4]!,
      budget: BUDGETS[i % 6]!,
      // Three links share every createdAt; two of each three also share the budget.
      createdAt: new Date(BASE + Math.floor(i / 3) * HOUR),
      updatedAt: i % 3 === 0 ? null : new Date(BASE + 40 * DAY + (i % 7) * HOUR),
      expireDate: i % 4 === 1 ? null : new Date(BASE + 100 * DAY + (i % 5) * DAY),
      memberLimit: i % 3 === 2 ? null : MEMBER_LIMITS[i % 4]!,
      partnerId: i % 5 === 0 ? ids.partner1 : i % 5 === 1 ? ids.partner2 : null,
      kind: i % 8 === 7 ? 'SUBSCRIPTION' : 'REGULAR',
      tagIds: [...source[i % 4]!, ...campaign[i % 3]!, ...untyped[i % 5]!],
    }),
  );
  // Same names, creators, tags and times as the main channel: a leak would match the filters.
  secondLinks = Array.from({ length: 6 }, (_, i) =>
    link({
      accountId: A.accountId,
      channelRowId: ids.channelA2,
      chatId: SECOND_CHANNEL,
      name: NAMES[i % 3]!,
      creatorId: 111111,
      budget: 100,
      createdAt: new Date(BASE + i * HOUR),
      updatedAt: null,
      expireDate: null,
      memberLimit: null,
      partnerId: ids.partner1,
      kind: 'REGULAR',
      tagIds: [ids.s1, ids.c1, ids.u1],
    }),
  );
  bulkLinks = Array.from({ length: 110 }, (_, i) =>
    link({
      accountId: A.accountId,
      channelRowId: ids.channelBulk,
      chatId: BULK_CHANNEL,
      name: `bulk ${String(i).padStart(3, '0')}`,
      creatorId: 111111,
      budget: i,
      createdAt: new Date(BASE + i * 1000),
      updatedAt: null,
      expireDate: null,
      memberLimit: null,
      partnerId: i % 2 ? ids.partner1 : ids.partner2,
      kind: 'REGULAR',
      tagIds: i % 2 ? [ids.s1, ids.u1] : [ids.c2, ids.u2],
    }),
  );
  bLinks = Array.from({ length: 8 }, (_, i) =>
    link({
      accountId: B.accountId,
      channelRowId: ids.channelB,
      chatId: CHANNEL,
      name: NAMES[i % 3]!,
      creatorId: 111111,
      budget: 100,
      createdAt: new Date(BASE + Math.floor(i / 3) * HOUR),
      updatedAt: null,
      expireDate: null,
      memberLimit: null,
      partnerId: i % 2 ? ids.partnerB : ids.partnerBOnly,
      kind: 'REGULAR',
      tagIds: i % 2 ? [ids.bs1] : [ids.bu1],
    }),
  );
}

async function seed() {
  const prisma = t.app.db.prisma;
  // B holds A's chat too, as only data from before channel ownership can (SUPERSEDED: its links list).
  await prisma.channel.createMany({
    data: [
      {
        id: ids.channelA,
        accountId: A.accountId,
        telegramId: BigInt(CHANNEL),
        title: 'Main channel',
        botIsAdmin: true,
        botCanInviteUsers: true,
        status: 'VERIFIED',
      },
      {
        id: ids.channelA2,
        accountId: A.accountId,
        telegramId: BigInt(SECOND_CHANNEL),
        title: 'Second channel',
        botIsAdmin: true,
        botCanInviteUsers: true,
        status: 'VERIFIED',
      },
      {
        id: ids.channelBulk,
        accountId: A.accountId,
        telegramId: BigInt(BULK_CHANNEL),
        title: 'Bulk channel',
        botIsAdmin: true,
        botCanInviteUsers: true,
        status: 'VERIFIED',
      },
      {
        id: ids.channelB,
        accountId: B.accountId,
        telegramId: BigInt(CHANNEL),
        title: 'B channel',
        botIsAdmin: true,
        botCanInviteUsers: true,
        status: 'SUPERSEDED',
      },
    ],
  });
  await prisma.partner.createMany({
    data: [
      { id: ids.partner1, accountId: A.accountId, externalId: 501, title: 'Partner one' },
      { id: ids.partner2, accountId: A.accountId, externalId: 502, title: 'Partner two' },
      { id: ids.partnerB, accountId: B.accountId, externalId: 501, title: 'B partner' },
      { id: ids.partnerBOnly, accountId: B.accountId, externalId: 777, title: 'B only partner' },
    ],
  });
  await prisma.tagType.createMany({
    data: [
      { id: ids.typeSource, accountId: A.accountId, name: 'Source' },
      { id: ids.typeCampaign, accountId: A.accountId, name: 'Campaign' },
      { id: ids.typeEmpty, accountId: A.accountId, name: 'Empty' },
      { id: ids.typeSourceB, accountId: B.accountId, name: 'Source' },
    ],
  });
  tagFx = [
    { id: ids.s1, accountId: A.accountId, typeId: ids.typeSource, name: 's1', color: '#2AABEE' },
    { id: ids.s2, accountId: A.accountId, typeId: ids.typeSource, name: 's2', color: '#F5A623' },
    { id: ids.s3, accountId: A.accountId, typeId: ids.typeSource, name: 's3', color: '#7ED321' },
    { id: ids.c1, accountId: A.accountId, typeId: ids.typeCampaign, name: 'c1', color: '#000000' },
    { id: ids.c2, accountId: A.accountId, typeId: ids.typeCampaign, name: 'c2', color: '#50E3C2' },
    { id: ids.e1, accountId: A.accountId, typeId: ids.typeEmpty, name: 'e1', color: '#123456' },
    { id: ids.u1, accountId: A.accountId, typeId: null, name: 'u1', color: '#9B9B9B' },
    { id: ids.u2, accountId: A.accountId, typeId: null, name: 'u2', color: '#ABCDEF' },
    { id: ids.bs1, accountId: B.accountId, typeId: ids.typeSourceB, name: 'bs1', color: '#111111' },
    { id: ids.bu1, accountId: B.accountId, typeId: null, name: 'bu1', color: '#222222' },
  ];
  await prisma.tag.createMany({ data: tagFx });

  const all = [...mainLinks, ...secondLinks, ...bulkLinks, ...bLinks];
  await prisma.inviteLink.createMany({
    data: all.map((l, i) => ({
      id: l.id,
      accountId: l.accountId,
      channelId: l.channelRowId,
      chatId: BigInt(l.chatId),
      name: l.name,
      inviteLink: `https://t.me/+fx${i}_${l.id.slice(0, 8)}`,
      kind: l.kind,
      subscriptionPeriod: l.kind === 'SUBSCRIPTION' ? 2592000 : null,
      subscriptionPrice: l.kind === 'SUBSCRIPTION' ? 50 : null,
      budget: l.budget,
      creatorId: l.creatorId === null ? null : BigInt(l.creatorId),
      partnerId: l.partnerId,
      createdAt: l.createdAt,
      updatedAt: l.updatedAt,
      expireDate: l.expireDate,
      memberLimit: l.memberLimit,
    })),
  });
  await prisma.inviteLinkTag.createMany({
    data: all.flatMap((l) => l.tagIds.map((tagId) => ({ inviteLinkId: l.id, channelId: l.channelRowId, tagId }))),
  });
  await prisma.shortLink.createMany({
    data: bulkLinks.map((l, i) => ({
      accountId: A.accountId,
      inviteLinkId: l.id,
      url: `https://amo.sh/b${i}`,
      targetUrl: `https://t.me/+fx${i}`,
      amoAccountId: 42,
      entityId: 1000 + i,
    })),
  });
}

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createAccount('Account A');
  B = await t.createAccount('Account B');
  buildFixtures();
  await seed();
});
afterAll(() => t?.close());

// ---------------------------------------------------------------------------------------------
// Independent expectations

type Field = 'CREATED_AT' | 'UPDATED_AT' | 'NAME' | 'BUDGET' | 'EXPIRE_DATE' | 'MEMBER_LIMIT';
type Direction = 'ASC' | 'DESC';
interface Order {
  field: Field;
  direction: Direction;
}
interface Group {
  tagTypeId?: string | null;
  withoutType?: boolean;
  tags?: string[];
}

function fieldValue(l: LinkFx, field: Field): number | string | null {
  switch (field) {
    case 'CREATED_AT':
      return l.createdAt.getTime();
    case 'UPDATED_AT':
      return l.updatedAt?.getTime() ?? null;
    case 'NAME':
      return l.name;
    case 'BUDGET':
      return l.budget;
    case 'EXPIRE_DATE':
      return l.expireDate?.getTime() ?? null;
    case 'MEMBER_LIMIT':
      return l.memberLimit;
  }
}

const cmp = (a: number | string, b: number | string) => (a < b ? -1 : a > b ? 1 : 0);

/** Each key in order, nulls last in both directions, then id in `idDirection`. */
function sortLinks(links: readonly LinkFx[], orderBy: readonly Order[], idDirection: Direction): LinkFx[] {
  return [...links].sort((x, y) => {
    for (const { field, direction } of orderBy) {
      const a = fieldValue(x, field);
      const b = fieldValue(y, field);
      if (a === null && b === null) continue;
      if (a === null) return 1;
      if (b === null) return -1;
      const c = cmp(a, b);
      if (c !== 0) return direction === 'ASC' ? c : -c;
    }
    const c = cmp(x.id, y.id); // uuid order in PostgreSQL is the order of the lowercase hex text
    return idDirection === 'ASC' ? c : -c;
  });
}

/**
 * The contract says ties break on id but not in which direction; accept either, as long as it
 * is one consistent order over all pages.
 */
function expectOrder(actual: string[], links: readonly LinkFx[], orderBy: readonly Order[], label: string) {
  const asc = sortLinks(links, orderBy, 'ASC').map((l) => l.id);
  const desc = sortLinks(links, orderBy, 'DESC').map((l) => l.id);
  const match = [asc, desc].find((candidate) => JSON.stringify(candidate) === JSON.stringify(actual));
  expect(actual, label).toEqual(match ?? (orderBy[0]?.direction === 'DESC' ? desc : asc));
}

function matchesGroup(l: LinkFx, group: Group): boolean {
  const typeId = group.tagTypeId ?? null;
  const tags = group.tags ?? [];
  if (tags.some((tagId) => l.tagIds.includes(tagId))) return true;
  return !!group.withoutType && !l.tagIds.some((tagId) => typeOf(tagId) === typeId);
}

interface Query {
  name?: string;
  creatorId?: number;
  filter?: { tags?: Group[]; linkIds?: string[] };
}

function expectedMatches(links: readonly LinkFx[], query: Query): LinkFx[] {
  return links.filter(
    (l) =>
      (query.name === undefined || l.name.toLowerCase().includes(query.name.toLowerCase())) &&
      (query.creatorId === undefined || l.creatorId === query.creatorId) &&
      (query.filter?.linkIds === undefined || query.filter.linkIds.includes(l.id)) &&
      (query.filter?.tags ?? []).every((group) => matchesGroup(l, group)),
  );
}

const sorted = (values: readonly string[]) => [...values].sort();

/**
 * Random tag groups from a fixed seed, so a failing combination names its query and reproduces.
 * A group takes each of its type's tags with probability 1/2; with none it is withoutType.
 */
function seededTagGroups(seed: number) {
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)]!;
  const randomGroups = (count: number, tagsByType: readonly [string | null, string[]][]): Group[] =>
    Array.from({ length: count }, () => {
      const [tagTypeId, tags] = pick(tagsByType);
      const chosen = tags.filter(() => random() < 0.5);
      return { tagTypeId, tags: chosen, withoutType: chosen.length === 0 || random() < 0.4 };
    });
  return { random, pick, randomGroups };
}

// ---------------------------------------------------------------------------------------------
// GraphQL helpers

const LIST = /* GraphQL */ `
  query List(
    $channelId: SafeInt!
    $page: Int
    $limit: Int
    $name: String
    $creatorId: SafeInt
    $filter: InviteLinkFilter
    $orderBy: [InviteLinkOrder!]
  ) {
    inviteLinks(channelId: $channelId, page: $page, limit: $limit, name: $name, creatorId: $creatorId, filter: $filter, orderBy: $orderBy) {
      page
      limit
      total
      items {
        id
        name
        channelId
        creatorId
        budget
        createdAt
        updatedAt
        expireDate
        memberLimit
        partner {
          externalId
        }
        tags {
          id
        }
      }
    }
  }
`;

interface Item {
  id: string;
  name: string;
  channelId: number;
  creatorId: number | null;
  budget: number;
  createdAt: string;
  updatedAt: string | null;
  expireDate: string | null;
  memberLimit: number | null;
  partner: { externalId: number } | null;
  tags: { id: string }[];
}
interface Page {
  page: number;
  limit: number;
  total: number;
  items: Item[];
}

async function list(variables: Record<string, unknown>, token = A.token): Promise<Page> {
  const response = await t.gql<{ inviteLinks: Page }>(token, LIST, { channelId: CHANNEL, ...variables });
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  return response.data!.inviteLinks;
}

async function listError(variables: Record<string, unknown>, token = A.token) {
  const response = await t.gql(token, LIST, { channelId: CHANNEL, ...variables });
  expect(response.data?.inviteLinks ?? null).toBeNull();
  expect(response.errors, 'an error was expected').toHaveLength(1);
  return response.errors![0]!;
}

const fieldPaths = (error: NonNullable<GraphQLResponse['errors']>[number]) =>
  (error.extensions?.fields ?? []).map((field: { path: string[] }) => field.path);

/** Runs the filter through GraphQL and compares to the plain-JS answer over `links`. */
async function expectFilter(query: Query, links: readonly LinkFx[] = mainLinks, token = A.token) {
  const expected = expectedMatches(links, query);
  const page = await list({ ...query, limit: 100 }, token);
  expect(page.total, JSON.stringify(query)).toBe(expected.length);
  expect(sorted(page.items.map((item) => item.id)), JSON.stringify(query)).toEqual(sorted(expected.map((l) => l.id)));
  return expected;
}

/** Guards against vacuous cases: the filter must keep some links and drop some. */
function expectSelective(expected: readonly LinkFx[], of: readonly LinkFx[] = mainLinks) {
  expect(expected.length).toBeGreaterThan(0);
  expect(expected.length).toBeLessThan(of.length);
}

// ---------------------------------------------------------------------------------------------

describe('inviteLinks: the items themselves', () => {
  it("returns every link of the channel with its stored fields, and only this channel's", async () => {
    const page = await list({ limit: 100 });
    expect(page.total).toBe(mainLinks.length);
    expect(page.items).toHaveLength(mainLinks.length);
    const byId = new Map(mainLinks.map((l) => [l.id, l]));
    for (const item of page.items) {
      const l = byId.get(item.id);
      expect(l, `unexpected link ${item.id}`).toBeDefined();
      expect(item).toEqual({
        id: l!.id,
        name: l!.name,
        channelId: CHANNEL,
        creatorId: l!.creatorId,
        budget: l!.budget,
        createdAt: l!.createdAt.toISOString(),
        updatedAt: l!.updatedAt?.toISOString() ?? null,
        expireDate: l!.expireDate?.toISOString() ?? null,
        memberLimit: l!.memberLimit,
        partner: l!.partnerId === ids.partner1 ? { externalId: 501 } : l!.partnerId === ids.partner2 ? { externalId: 502 } : null,
        tags: expect.any(Array),
      });
      expect(sorted(item.tags.map((tag) => tag.id))).toEqual(sorted(l!.tagIds));
    }
  });

  it('defaults to page 1, limit 10, newest first', async () => {
    const response = await t.gql(A.token, 'query($c: SafeInt!) { inviteLinks(channelId: $c) { page limit total items { id } } }', {
      c: CHANNEL,
    });
    expect(response.errors).toBeUndefined();
    const page = response.data.inviteLinks as { page: number; limit: number; total: number; items: { id: string }[] };
    expect([page.page, page.limit, page.total]).toEqual([1, 10, mainLinks.length]);
    const order: Order[] = [{ field: 'CREATED_AT', direction: 'DESC' }];
    const asc = sortLinks(mainLinks, order, 'ASC')
      .slice(0, 10)
      .map((l) => l.id);
    const desc = sortLinks(mainLinks, order, 'DESC')
      .slice(0, 10)
      .map((l) => l.id);
    expect([JSON.stringify(asc), JSON.stringify(desc)]).toContain(JSON.stringify(page.items.map((item) => item.id)));
  });
});

describe('inviteLinks: name, creatorId, linkIds', () => {
  it.each([['реклама'], ['Реклама'], ['РЕКЛАМА'], ['ёлка'], ['ЁЛКА'], ['promo'], ['PROMO'], ['Скидка']])(
    'name %j is a case-insensitive substring',
    async (name) => {
      const expected = await expectFilter({ name });
      expectSelective(expected);
    },
  );

  it('name matches % and _ literally, not as LIKE wildcards', async () => {
    // Unescaped, '100%' would also match "09 Скидка 100 рублей" and '_' would match everything.
    const percent = await expectFilter({ name: '100%' });
    expect(new Set(percent.map((l) => l.name))).toEqual(new Set(['08 Скидка 100% сразу']));
    const underscore = await expectFilter({ name: '_' });
    expect(new Set(underscore.map((l) => l.name))).toEqual(new Set(['10 user_name']));
    const backslash = await expectFilter({ name: '\\' });
    expect(new Set(backslash.map((l) => l.name))).toEqual(new Set(['13 back\\slash']));
  });

  it('name that matches nothing gives total 0 and no items', async () => {
    const page = await list({ name: 'no such link anywhere' });
    expect(page).toEqual({ page: 1, limit: 10, total: 0, items: [] });
  });

  it.each([[111111], [5000000001], [222222]])('creatorId %d is an exact match', async (creatorId) => {
    const expected = await expectFilter({ creatorId });
    expectSelective(expected);
  });

  it('creatorId of nobody matches nothing', async () => {
    const expected = await expectFilter({ creatorId: 11111 });
    expect(expected).toEqual([]);
  });

  it('filter.linkIds keeps only those links, ignoring ids of other channels and accounts', async () => {
    const chosen = [mainLinks[3]!.id, mainLinks[17]!.id, mainLinks[40]!.id, secondLinks[0]!.id, bLinks[1]!.id];
    const expected = await expectFilter({ filter: { linkIds: chosen } });
    expect(expected).toHaveLength(3);
  });

  it('name, creatorId and linkIds combine with AND', async () => {
    const query: Query = {
      name: 'реклама',
      creatorId: 111111,
      filter: { linkIds: mainLinks.filter((_, i) => i % 2 === 0).map((l) => l.id) },
    };
    const expected = await expectFilter(query);
    expectSelective(expected);
    // Each condition alone keeps more than all three together.
    expect(expectedMatches(mainLinks, { name: query.name }).length).toBeGreaterThan(expected.length);
    expect(expectedMatches(mainLinks, { creatorId: query.creatorId }).length).toBeGreaterThan(expected.length);
  });
});

describe('inviteLinks: tag groups', () => {
  const cases: [string, () => Group[]][] = [
    ['one group: any of its tags', () => [{ tagTypeId: ids.typeSource, tags: [ids.s2, ids.s3] }]],
    ['one group with a single tag', () => [{ tagTypeId: ids.typeCampaign, tags: [ids.c1] }]],
    [
      'two groups: must match both',
      () => [
        { tagTypeId: ids.typeSource, tags: [ids.s1, ids.s2] },
        { tagTypeId: ids.typeCampaign, tags: [ids.c1] },
      ],
    ],
    [
      'withoutType with tags: one of the tags, or no tag of that type',
      () => [{ tagTypeId: ids.typeSource, withoutType: true, tags: [ids.s2] }],
    ],
    ['withoutType without tags: no tag of that type at all', () => [{ tagTypeId: ids.typeCampaign, withoutType: true, tags: [] }]],
    ['withoutType, tags omitted', () => [{ tagTypeId: ids.typeSource, withoutType: true }]],
    ['untyped group with tags', () => [{ tagTypeId: null, tags: [ids.u2] }]],
    ['untyped group, tagTypeId omitted', () => [{ tags: [ids.u1] }]],
    ['untyped group with withoutType: one of the tags, or no untyped tag', () => [{ tagTypeId: null, withoutType: true, tags: [ids.u1] }]],
    ['untyped group with withoutType only: no untyped tag at all', () => [{ tagTypeId: null, withoutType: true, tags: [] }]],
    [
      'withoutType combined with another group',
      () => [
        { tagTypeId: ids.typeSource, withoutType: true, tags: [] },
        { tagTypeId: ids.typeCampaign, tags: [ids.c2] },
      ],
    ],
    [
      'three groups: typed withoutType, untyped, campaign withoutType',
      () => [
        { tagTypeId: ids.typeSource, withoutType: true, tags: [ids.s3] },
        { tagTypeId: null, tags: [ids.u1, ids.u2] },
        { tagTypeId: ids.typeCampaign, withoutType: true, tags: [ids.c1] },
      ],
    ],
    [
      'two groups of the same type',
      () => [
        { tagTypeId: ids.typeSource, tags: [ids.s1] },
        { tagTypeId: ids.typeSource, tags: [ids.s3] },
      ],
    ],
  ];

  it.each(cases)('%s', async (_label, groups) => {
    const expected = await expectFilter({ filter: { tags: groups() } });
    expectSelective(expected);
  });

  it('agrees with the oracle on 60 random combinations of one to three groups', async () => {
    const { random, randomGroups } = seededTagGroups(20261122);
    const tagsByType: [string | null, string[]][] = [
      [ids.typeSource, [ids.s1, ids.s2, ids.s3]],
      [ids.typeCampaign, [ids.c1, ids.c2]],
      [ids.typeEmpty, [ids.e1]],
      [null, [ids.u1, ids.u2]],
    ];
    for (let run = 0; run < 60; run++) {
      const groups = randomGroups(1 + Math.floor(random() * 3), tagsByType);
      await expectFilter({ filter: { tags: groups } });
    }
  });

  it('agrees with the oracle on 40 random combinations of a name and zero to two groups', async () => {
    // The total of a name search is counted over invite_link_search, not in the page's statement.
    const { random, pick, randomGroups } = seededTagGroups(20261123);
    const names = ['реклама', 'РЕКЛАМА', 'promo', 'Ёлка', '1', '0', 'user_', '100%', 'а', 'E'];
    const tagsByType: [string | null, string[]][] = [
      [ids.typeSource, [ids.s1, ids.s2, ids.s3]],
      [ids.typeCampaign, [ids.c1, ids.c2]],
      [null, [ids.u1, ids.u2]],
    ];
    let selective = 0;
    for (let run = 0; run < 40; run++) {
      const groups = randomGroups(Math.floor(random() * 3), tagsByType);
      const expected = await expectFilter({ name: pick(names), ...(groups.length && { filter: { tags: groups } }) });
      if (expected.length > 0 && expected.length < mainLinks.length) selective++;
    }
    expect(selective).toBeGreaterThan(20);
  });

  it('withoutType for a type no link uses keeps every link', async () => {
    const expected = await expectFilter({ filter: { tags: [{ tagTypeId: ids.typeEmpty, withoutType: true, tags: [] }] } });
    expect(expected).toHaveLength(mainLinks.length);
  });

  it('a tag on no link of this channel matches nothing', async () => {
    const expected = await expectFilter({ filter: { tags: [{ tagTypeId: ids.typeEmpty, tags: [ids.e1] }] } });
    expect(expected).toEqual([]);
  });

  it('tag groups combine with name, creatorId, linkIds and paging', async () => {
    const query: Query = {
      name: '1', // codes 01, 08-12
      creatorId: 111111,
      filter: {
        tags: [
          { tagTypeId: ids.typeSource, withoutType: true, tags: [ids.s1] },
          { tagTypeId: null, withoutType: true, tags: [ids.u2] },
        ],
        linkIds: mainLinks.slice(0, 40).map((l) => l.id),
      },
    };
    const expected = await expectFilter(query);
    expectSelective(expected);
    expect(expected.length).toBeGreaterThan(2);
    const order: Order[] = [{ field: 'BUDGET', direction: 'DESC' }];
    const walked: string[] = [];
    for (let page = 1; page <= Math.ceil(expected.length / 2); page++) {
      const result = await list({ ...query, orderBy: order, page, limit: 2 });
      expect(result.total).toBe(expected.length);
      walked.push(...result.items.map((item) => item.id));
    }
    expectOrder(walked, expected, order, 'combined filter, budget desc');
  });

  it('a group with no tags and withoutType false is VALIDATION_FAILED', async () => {
    for (const group of [{ tagTypeId: ids.typeSource }, { tagTypeId: ids.typeSource, withoutType: false, tags: [] }]) {
      const error = await listError({ filter: { tags: [{ tagTypeId: ids.typeCampaign, tags: [ids.c1] }, group] } });
      expect(error.extensions?.code).toBe('VALIDATION_FAILED');
      expect(fieldPaths(error)).toEqual([['filter', 'tags', '1']]);
    }
  });

  it('a tag of the wrong type is VALIDATION_FAILED with its path', async () => {
    const error = await listError({
      filter: {
        tags: [
          { tagTypeId: ids.typeSource, tags: [ids.s1] },
          { tagTypeId: ids.typeCampaign, tags: [ids.c1, ids.s2] },
        ],
      },
    });
    expect(error.extensions?.code).toBe('VALIDATION_FAILED');
    expect(fieldPaths(error)).toEqual([['filter', 'tags', '1', 'tags', '1']]);
  });

  it('a typed tag in the untyped group, and an untyped tag in a typed group, are VALIDATION_FAILED', async () => {
    const typedInUntyped = await listError({ filter: { tags: [{ tagTypeId: null, tags: [ids.u1, ids.s1] }] } });
    expect(typedInUntyped.extensions?.code).toBe('VALIDATION_FAILED');
    expect(fieldPaths(typedInUntyped)).toEqual([['filter', 'tags', '0', 'tags', '1']]);
    const untypedInTyped = await listError({ filter: { tags: [{ tagTypeId: ids.typeSource, tags: [ids.u2] }] } });
    expect(untypedInTyped.extensions?.code).toBe('VALIDATION_FAILED');
    expect(fieldPaths(untypedInTyped)).toEqual([['filter', 'tags', '0', 'tags', '0']]);
  });

  it('an unknown tag, or a tag of another account, is NOT_FOUND', async () => {
    for (const tagId of [randomUUID(), ids.bu1]) {
      const error = await listError({ filter: { tags: [{ tagTypeId: null, tags: [tagId] }] } });
      expect(error.extensions?.code).toBe('NOT_FOUND');
      expect(error.message).toContain(tagId);
    }
    const typed = await listError({ filter: { tags: [{ tagTypeId: ids.typeSource, tags: [ids.bs1] }] } });
    expect(typed.extensions?.code).toBe('NOT_FOUND');
  });

  it('an unknown tag type, or a tag type of another account, is NOT_FOUND', async () => {
    for (const tagTypeId of [randomUUID(), ids.typeSourceB]) {
      const error = await listError({ filter: { tags: [{ tagTypeId, withoutType: true }] } });
      expect(error.extensions?.code).toBe('NOT_FOUND');
      expect(error.message).toContain(tagTypeId);
    }
  });

  it('ids that are not UUIDs are VALIDATION_FAILED before any lookup', async () => {
    const cases: [Record<string, unknown>, string[]][] = [
      [{ tags: [{ tagTypeId: ids.typeSource, tags: [ids.s1, 'not-a-uuid'] }] }, ['filter', 'tags', '0', 'tags', '1']],
      [{ tags: [{ tagTypeId: 'not-a-uuid', withoutType: true }] }, ['filter', 'tags', '0', 'tagTypeId']],
      [{ linkIds: [mainLinks[0]!.id, '42'] }, ['filter', 'linkIds', '1']],
    ];
    for (const [filter, path] of cases) {
      const error = await listError({ filter });
      expect(error.extensions?.code, JSON.stringify(filter)).toBe('VALIDATION_FAILED');
      expect(fieldPaths(error), JSON.stringify(filter)).toEqual([path]);
    }
  });
});

describe('inviteLinks: orderBy', () => {
  /** Walks every page with a small limit; asserts no repeats, no gaps, and the exact order. */
  async function walk(orderBy: Order[], links: readonly LinkFx[] = mainLinks, limit = 7) {
    const seen: string[] = [];
    const pages = Math.ceil(links.length / limit);
    for (let page = 1; page <= pages; page++) {
      const result = await list({ orderBy, page, limit });
      expect(result.total).toBe(links.length);
      expect(result.page).toBe(page);
      expect(result.items).toHaveLength(Math.min(limit, links.length - (page - 1) * limit));
      seen.push(...result.items.map((item) => item.id));
    }
    expect(new Set(seen).size, 'a link repeated across pages').toBe(seen.length);
    expect(sorted(seen), 'a link was skipped').toEqual(sorted(links.map((l) => l.id)));
    expectOrder(seen, links, orderBy, JSON.stringify(orderBy));
    return seen;
  }

  const FIELDS: Field[] = ['CREATED_AT', 'UPDATED_AT', 'NAME', 'BUDGET', 'EXPIRE_DATE', 'MEMBER_LIMIT'];
  const single = FIELDS.flatMap((field) => (['ASC', 'DESC'] as const).map((direction) => ({ field, direction })));

  it.each(single)('$field $direction over all pages', async (order) => {
    await walk([order]);
  });

  it.each([
    ['EXPIRE_DATE', 'ASC'],
    ['EXPIRE_DATE', 'DESC'],
    ['MEMBER_LIMIT', 'ASC'],
    ['MEMBER_LIMIT', 'DESC'],
    ['UPDATED_AT', 'ASC'],
    ['UPDATED_AT', 'DESC'],
  ] as ['EXPIRE_DATE' | 'MEMBER_LIMIT' | 'UPDATED_AT', Direction][])('%s %s puts links without a value last', async (field, direction) => {
    const key = ({ EXPIRE_DATE: 'expireDate', MEMBER_LIMIT: 'memberLimit', UPDATED_AT: 'updatedAt' } as const)[field];
    const page = await list({ orderBy: [{ field, direction }], limit: 100 });
    const values = page.items.map((item) => item[key]);
    const firstNull = values.indexOf(null);
    expect(firstNull).toBeGreaterThan(0);
    expect(values.slice(firstNull).every((value) => value === null)).toBe(true);
    expect(values.length - firstNull).toBe(mainLinks.filter((l) => fieldValue(l, field) === null).length);
  });

  it.each([
    [
      [
        { field: 'BUDGET', direction: 'DESC' },
        { field: 'CREATED_AT', direction: 'ASC' },
      ],
    ],
    [
      [
        { field: 'CREATED_AT', direction: 'ASC' },
        { field: 'BUDGET', direction: 'DESC' },
      ],
    ],
    [
      [
        { field: 'MEMBER_LIMIT', direction: 'ASC' },
        { field: 'NAME', direction: 'DESC' },
        { field: 'EXPIRE_DATE', direction: 'DESC' },
      ],
    ],
    [
      [
        { field: 'NAME', direction: 'ASC' },
        { field: 'BUDGET', direction: 'ASC' },
      ],
    ],
    [
      [
        { field: 'UPDATED_AT', direction: 'DESC' },
        { field: 'MEMBER_LIMIT', direction: 'DESC' },
        { field: 'BUDGET', direction: 'ASC' },
      ],
    ],
  ] as Order[][][])('multi-key %j is applied in order', async (orderBy) => {
    const seen = await walk(orderBy, mainLinks, 5);
    // The keys are applied in the given order, not the reverse.
    const reversed = [...orderBy].reverse();
    expect(seen).not.toEqual(sortLinks(mainLinks, reversed, 'ASC').map((l) => l.id));
    expect(seen).not.toEqual(sortLinks(mainLinks, reversed, 'DESC').map((l) => l.id));
  });

  it('ties (same createdAt and budget) break consistently on id with limit 1', async () => {
    const orderBy: Order[] = [
      { field: 'CREATED_AT', direction: 'DESC' },
      { field: 'BUDGET', direction: 'ASC' },
    ];
    const tied = sortLinks(mainLinks, orderBy, 'ASC');
    // The fixture really has ties on both keys.
    expect(
      tied.some(
        (l, i) => i > 0 && fieldValue(l, 'CREATED_AT') === fieldValue(tied[i - 1]!, 'CREATED_AT') && l.budget === tied[i - 1]!.budget,
      ),
    ).toBe(true);
    await walk(orderBy, mainLinks, 1);
  });
});

describe('inviteLinks: pages', () => {
  it('is 1-based; the last page is partly filled; total counts every match', async () => {
    const order: Order[] = [{ field: 'NAME', direction: 'ASC' }];
    const expected = sortLinks(mainLinks, order, 'ASC');
    const first = await list({ orderBy: order, page: 1, limit: 20 });
    const last = await list({ orderBy: order, page: 3, limit: 20 });
    expect([first.page, first.limit, first.total, first.items.length]).toEqual([1, 20, 48, 20]);
    expect([last.page, last.limit, last.total, last.items.length]).toEqual([3, 20, 48, 8]);
    // Page 1 starts at the first link (not the 21st): the first item has the smallest name.
    expect(first.items[0]!.name).toBe(expected[0]!.name);
    expect(last.items.at(-1)!.name).toBe(expected.at(-1)!.name);
  });

  it('a page past the end has no items and the right total', async () => {
    const page = await list({ page: 6, limit: 10 });
    expect(page).toEqual({ page: 6, limit: 10, total: 48, items: [] });
    expect(await list({ page: 2147483647, limit: 100 })).toEqual({ page: 2147483647, limit: 100, total: 48, items: [] });
    const filtered = await list({ page: 2, limit: 100, name: 'реклама' });
    expect(filtered.items).toEqual([]);
    expect(filtered.total).toBe(expectedMatches(mainLinks, { name: 'реклама' }).length);
  });

  it.each([
    [{ page: 0 }, ['page']],
    [{ page: -1 }, ['page']],
    [{ limit: 0 }, ['limit']],
    [{ limit: 101 }, ['limit']],
    [{ limit: -5 }, ['limit']],
  ] as [Record<string, number>, string[]][])('%j is VALIDATION_FAILED at %j', async (variables, path) => {
    const error = await listError(variables);
    expect(error.extensions?.code).toBe('VALIDATION_FAILED');
    expect(fieldPaths(error)).toEqual([path]);
  });

  it('limit 100 is allowed', async () => {
    const page = await list({ limit: 100 });
    expect(page.limit).toBe(100);
    expect(page.items).toHaveLength(48);
  });
});

describe('tenancy', () => {
  it('account B sees only its own links in its row for the same Telegram channel', async () => {
    const page = await list({ limit: 100 }, B.token);
    expect(page.total).toBe(bLinks.length);
    expect(sorted(page.items.map((item) => item.id))).toEqual(sorted(bLinks.map((l) => l.id)));
    // The same filters that match A's links find only B's.
    await expectFilter({ name: 'реклама', creatorId: 111111 }, bLinks, B.token);
    await expectFilter({ filter: { tags: [{ tagTypeId: ids.typeSourceB, tags: [ids.bs1] }] } }, bLinks, B.token);
    await expectFilter({ filter: { tags: [{ tagTypeId: ids.typeSourceB, withoutType: true }] } }, bLinks, B.token);
  });

  it("account A never sees B's links or the other channel's", async () => {
    const page = await list({ limit: 100 });
    const foreign = new Set([...bLinks, ...secondLinks, ...bulkLinks].map((l) => l.id));
    expect(page.items.filter((item) => foreign.has(item.id))).toEqual([]);
    const untypedNone = await expectFilter({ filter: { tags: [{ tagTypeId: null, withoutType: true }] } });
    expect(untypedNone.every((l) => l.accountId === A.accountId)).toBe(true);
  });

  it('the second channel lists its own links only', async () => {
    const page = await list({ channelId: SECOND_CHANNEL, limit: 100 });
    expect(page.total).toBe(secondLinks.length);
    expect(sorted(page.items.map((item) => item.id))).toEqual(sorted(secondLinks.map((l) => l.id)));
    expect(page.items.every((item) => item.channelId === SECOND_CHANNEL)).toBe(true);
  });

  it('an unknown channel is NOT_FOUND', async () => {
    const error = await listError({ channelId: UNKNOWN_CHANNEL });
    expect(error.extensions?.code).toBe('NOT_FOUND');
    // B has no SECOND_CHANNEL row although A has.
    const other = await listError({ channelId: SECOND_CHANNEL }, B.token);
    expect(other.extensions?.code).toBe('NOT_FOUND');
  });

  const ONE = /* GraphQL */ `
    query One($id: ID!, $channelId: SafeInt!) {
      inviteLink(id: $id, channelId: $channelId) {
        id
        name
        channelId
        budget
        creatorId
        kind
        channel {
          title
        }
        partner {
          externalId
        }
        tags {
          id
          name
          type {
            id
          }
        }
      }
    }
  `;

  it('inviteLink returns the link of this account and channel', async () => {
    const l = mainLinks.find((x) => x.tagIds.length >= 3 && x.partnerId)!;
    const response = await t.gql(A.token, ONE, { id: l.id, channelId: CHANNEL });
    expect(response.errors).toBeUndefined();
    const got = response.data.inviteLink;
    expect(got).toMatchObject({ id: l.id, name: l.name, channelId: CHANNEL, budget: l.budget, creatorId: l.creatorId, kind: l.kind });
    expect(got.channel.title).toBe('Main channel');
    expect(got.partner.externalId).toBe(l.partnerId === ids.partner1 ? 501 : 502);
    const expectedTags = tagFx
      .filter((tag) => l.tagIds.includes(tag.id))
      .map((tag) => ({ id: tag.id, name: tag.name, type: tag.typeId ? { id: tag.typeId } : null }))
      .sort((x, y) => cmp(x.name, y.name));
    expect(got.tags).toEqual(expectedTags);
  });

  it("inviteLink is NOT_FOUND for another account's link, another channel's link and an unknown id", async () => {
    const cases: [string, string, number][] = [
      [A.token, bLinks[0]!.id, CHANNEL], // B's link, same Telegram channel id
      [B.token, mainLinks[0]!.id, CHANNEL], // A's link asked for by B
      [A.token, secondLinks[0]!.id, CHANNEL], // A's link, but in the other channel
      [A.token, mainLinks[0]!.id, SECOND_CHANNEL],
      [A.token, randomUUID(), CHANNEL],
      [A.token, mainLinks[0]!.id, UNKNOWN_CHANNEL],
    ];
    for (const [token, id, channelId] of cases) {
      const response = await t.gql(token, ONE, { id, channelId });
      expect(response.data?.inviteLink ?? null).toBeNull();
      expect(response.errors?.[0]?.extensions?.code, `${id} in ${channelId}`).toBe('NOT_FOUND');
    }
  });

  it('inviteLink with a non-UUID id is VALIDATION_FAILED', async () => {
    const response = await t.gql(A.token, ONE, { id: 'abc', channelId: CHANNEL });
    expect(response.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });

  it('channels, partners, tagTypes and tags return only the account’s own rows', async () => {
    const QUERY =
      '{ channels { id telegramId title } partners { id externalId title } tagTypes { id name tags { id name } } tags { id name color type { id } } }';
    for (const [who, accountId] of [
      [A.token, A.accountId],
      [B.token, B.accountId],
    ] as const) {
      const response = await t.gql(who, QUERY);
      expect(response.errors).toBeUndefined();
      const data = response.data;
      const channelRows = [
        { id: ids.channelA, accountId: A.accountId, telegramId: CHANNEL, title: 'Main channel' },
        { id: ids.channelA2, accountId: A.accountId, telegramId: SECOND_CHANNEL, title: 'Second channel' },
        { id: ids.channelBulk, accountId: A.accountId, telegramId: BULK_CHANNEL, title: 'Bulk channel' },
        { id: ids.channelB, accountId: B.accountId, telegramId: CHANNEL, title: 'B channel' },
      ];
      const partnerRows = [
        { id: ids.partner1, accountId: A.accountId, externalId: 501, title: 'Partner one' },
        { id: ids.partner2, accountId: A.accountId, externalId: 502, title: 'Partner two' },
        { id: ids.partnerB, accountId: B.accountId, externalId: 501, title: 'B partner' },
        { id: ids.partnerBOnly, accountId: B.accountId, externalId: 777, title: 'B only partner' },
      ];
      const typeRows = [
        { id: ids.typeSource, accountId: A.accountId, name: 'Source' },
        { id: ids.typeCampaign, accountId: A.accountId, name: 'Campaign' },
        { id: ids.typeEmpty, accountId: A.accountId, name: 'Empty' },
        { id: ids.typeSourceB, accountId: B.accountId, name: 'Source' },
      ];
      const own = <R extends { accountId: string }>(rows: R[]) => rows.filter((row) => row.accountId === accountId);
      const byId = (x: { id: string }, y: { id: string }) => cmp(x.id, y.id);

      expect([...data.channels].sort(byId)).toEqual(
        own(channelRows)
          .map(({ accountId: _, ...row }) => row)
          .sort(byId),
      );
      expect([...data.partners].sort(byId)).toEqual(
        own(partnerRows)
          .map(({ accountId: _, ...row }) => row)
          .sort(byId),
      );
      expect([...data.tagTypes].sort(byId)).toEqual(
        own(typeRows)
          .map((type) => ({
            id: type.id,
            name: type.name,
            tags: tagFx
              .filter((tag) => tag.typeId === type.id)
              .map((tag) => ({ id: tag.id, name: tag.name }))
              .sort((x, y) => cmp(x.name, y.name)),
          }))
          .sort(byId),
      );
      expect([...data.tags].sort(byId)).toEqual(
        own(tagFx)
          .map((tag) => ({ id: tag.id, name: tag.name, color: tag.color, type: tag.typeId ? { id: tag.typeId } : null }))
          .sort(byId),
      );
    }
  });
});

describe('partnerInviteLinks', () => {
  const PARTNER_LIST = /* GraphQL */ `
    query P($externalId: Int!, $channelId: SafeInt!, $page: Int, $limit: Int) {
      partnerInviteLinks(externalId: $externalId, channelId: $channelId, page: $page, limit: $limit) {
        page
        limit
        total
        items {
          id
          partner {
            externalId
          }
        }
      }
    }
  `;

  it.each([
    [501, 'partner1'],
    [502, 'partner2'],
  ] as const)("externalId %d lists only that partner's links in the channel, paged", async (externalId, key) => {
    const expected = mainLinks.filter((l) => l.partnerId === ids[key]);
    expectSelective(expected);
    const seen: string[] = [];
    for (let page = 1; page <= Math.ceil(expected.length / 3) + 1; page++) {
      const response = await t.gql(A.token, PARTNER_LIST, { externalId, channelId: CHANNEL, page, limit: 3 });
      expect(response.errors).toBeUndefined();
      const result = response.data.partnerInviteLinks as {
        page: number;
        limit: number;
        total: number;
        items: { id: string; partner: { externalId: number } }[];
      };
      expect([result.page, result.limit, result.total]).toEqual([page, 3, expected.length]);
      expect(result.items.every((item) => item.partner.externalId === externalId)).toBe(true);
      seen.push(...result.items.map((item) => item.id));
    }
    expectOrder(seen, expected, [{ field: 'CREATED_AT', direction: 'DESC' }], `partner ${externalId}`);
  });

  it("uses this account's partner when another account has the same externalId", async () => {
    const response = await t.gql(B.token, PARTNER_LIST, { externalId: 501, channelId: CHANNEL, limit: 100 });
    expect(response.errors).toBeUndefined();
    const expected = bLinks.filter((l) => l.partnerId === ids.partnerB);
    expect(response.data.partnerInviteLinks.total).toBe(expected.length);
    expect(sorted(response.data.partnerInviteLinks.items.map((item: { id: string }) => item.id))).toEqual(
      sorted(expected.map((l) => l.id)),
    );
  });

  it('an unknown externalId, or one of another account, is NOT_FOUND', async () => {
    for (const externalId of [999, 777]) {
      const response = await t.gql(A.token, PARTNER_LIST, { externalId, channelId: CHANNEL });
      expect(response.data?.partnerInviteLinks ?? null).toBeNull();
      expect(response.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(response.errors?.[0]?.message).toBe(`Partner with external id ${externalId} not found`);
    }
  });

  it('an unknown channel is NOT_FOUND; bad paging is VALIDATION_FAILED', async () => {
    const channel = await t.gql(A.token, PARTNER_LIST, { externalId: 501, channelId: UNKNOWN_CHANNEL });
    expect(channel.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const paging = await t.gql(A.token, PARTNER_LIST, { externalId: 501, channelId: CHANNEL, limit: 101 });
    expect(paging.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(fieldPaths(paging.errors![0]!)).toEqual([['limit']]);
  });
});

describe('no N+1', () => {
  const NESTED = /* GraphQL */ `
    query Nested($channelId: SafeInt!, $limit: Int) {
      inviteLinks(channelId: $channelId, limit: $limit) {
        total
        items {
          id
          name
          channel {
            title
          }
          partner {
            title
          }
          tags {
            name
            type {
              name
            }
          }
          shortLinks {
            url
          }
        }
      }
    }
  `;

  async function measure(limit: number) {
    const before = t.app.db.statementCount;
    const response = await t.gql(A.token, NESTED, { channelId: BULK_CHANNEL, limit });
    const statements = t.app.db.statementCount - before;
    expect(response.errors).toBeUndefined();
    const page = response.data.inviteLinks;
    // The nested data really is there, so every relation was loaded for every row.
    expect(page.total).toBe(bulkLinks.length);
    expect(page.items).toHaveLength(limit);
    for (const item of page.items) {
      expect(item.channel.title).toBe('Bulk channel');
      expect(item.partner.title).toMatch(/^Partner (one|two)$/);
      expect(item.tags).toHaveLength(2);
      expect(item.tags.filter((tag: { type: unknown }) => tag.type !== null)).toHaveLength(1);
      expect(item.shortLinks).toHaveLength(1);
    }
    return statements;
  }

  it('runs the same number of statements for 1, 20 and 100 items', async () => {
    await measure(5); // warm-up, which also caches the token
    const counts = [await measure(1), await measure(20), await measure(100)];
    expect(counts[1]).toBe(counts[0]);
    expect(counts[2]).toBe(counts[0]);
    // Measured 2 on PGlite and PostgreSQL: no token lookup (cached), the page statement (the
    // channel, the links with their channel, partner and tags (with tag_types) shaped as JSON, and
    // the total summed from the tag-set counters), and one batched load of every row's short_links,
    // which the statement does not shape. Per-row loading would make this grow with the page size.
    expect(counts[0]).toBe(2);
  });

  it('totals a tag-group filter in the page statement itself, whatever the page size', async () => {
    // Untyped u1 or u2 (every bulk link has one), and no Campaign tag: the odd-numbered links.
    const filter = {
      tags: [
        { tagTypeId: null, tags: [ids.u1, ids.u2] },
        { tagTypeId: ids.typeCampaign, withoutType: true },
      ],
    };
    const measureFiltered = async (limit: number) => {
      const before = t.app.db.statementCount;
      const response = await t.gql(A.token, FILTERED, { channelId: BULK_CHANNEL, limit, filter });
      const statements = t.app.db.statementCount - before;
      expect(response.errors).toBeUndefined();
      expect(response.data.inviteLinks.total).toBe(bulkLinks.length / 2);
      expect(response.data.inviteLinks.items).toHaveLength(Math.min(limit, bulkLinks.length / 2));
      return statements;
    };
    await measureFiltered(5); // warm-up
    const counts = [await measureFiltered(1), await measureFiltered(20), await measureFiltered(55)];
    expect(counts).toEqual([1, 1, 1]);
  });
});

describe('no N+1: name search', () => {
  it('totals a name search (with tag groups) in the page statement itself, whatever the page size', async () => {
    // Bulk link names are "bulk 000".."bulk 109": "BULK 0" matches the first 100, u1 half of those.
    const filter = { tags: [{ tagTypeId: null, tags: [ids.u1] }] };
    const measureSearch = async (limit: number) => {
      const before = t.app.db.statementCount;
      const response = await t.gql(A.token, FILTERED_BY_NAME, { channelId: BULK_CHANNEL, limit, name: 'BULK 0', filter });
      const statements = t.app.db.statementCount - before;
      expect(response.errors).toBeUndefined();
      const expected = bulkLinks.filter((l) => l.name.startsWith('bulk 0') && l.tagIds.includes(ids.u1));
      expect(response.data.inviteLinks.total).toBe(expected.length);
      expect(response.data.inviteLinks.items).toHaveLength(Math.min(limit, expected.length));
      return statements;
    };
    await measureSearch(5); // warm-up
    const counts = [await measureSearch(1), await measureSearch(20), await measureSearch(55)];
    expect(counts).toEqual([1, 1, 1]);
  });
});

const FILTERED_BY_NAME = /* GraphQL */ `
  query FilteredByName($channelId: SafeInt!, $limit: Int!, $name: String, $filter: InviteLinkFilter) {
    inviteLinks(channelId: $channelId, limit: $limit, name: $name, filter: $filter) {
      total
      items {
        id
        tags {
          name
          type {
            name
          }
        }
      }
    }
  }
`;

const FILTERED = /* GraphQL */ `
  query Filtered($channelId: SafeInt!, $limit: Int!, $filter: InviteLinkFilter) {
    inviteLinks(channelId: $channelId, limit: $limit, filter: $filter) {
      total
      items {
        id
        tags {
          name
          type {
            name
          }
        }
      }
    }
  }
`;

describe('invite_link_tags.channel_id', () => {
  it("is always the link's channel: the database refuses another", async () => {
    const link = bulkLinks[0]!;
    await expect(
      t.app.db.prisma.inviteLinkTag.create({ data: { inviteLinkId: link.id, channelId: ids.channelA, tagId: ids.s2 } }),
    ).rejects.toThrow();
    expect(await t.app.db.prisma.inviteLinkTag.count({ where: { inviteLinkId: link.id, tagId: ids.s2 } })).toBe(0);
  });
});

describe('errors', () => {
  // Runs last: every error above was a deliberate, client-facing one, never a masked failure.
  it('no request in this file hit an unexpected (masked) error', () => {
    expect(t.logs.filter((line) => line.includes('unexpected error'))).toEqual([]);
  });
});
