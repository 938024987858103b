import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, CHANNEL, type TestApp } from './support/app.ts';
import { mulberry32 } from './support/random.ts';

/*
 * InviteLink.stats and ordering by JOINS, SUBSCRIBERS and COST_PER_SUBSCRIBER. Joins and leaves are
 * written straight into member_events (the triggers keep invite_link_stats); every expectation is
 * computed here from the counts chosen, never by the service under test.
 */

let t: TestApp;
let A: { accountId: string; token: string };
const channelRowId = randomUUID();

interface LinkFx {
  id: string;
  budget: number;
  joins: number;
  leaves: number;
  createdAt: Date;
}
let links: LinkFx[] = [];

const subscribers = (l: LinkFx) => l.joins - l.leaves;
const costPerJoin = (l: LinkFx) => (l.joins > 0 ? l.budget / l.joins : null);
const costPerSubscriber = (l: LinkFx) => (subscribers(l) > 0 ? l.budget / subscribers(l) : null);

type Field = 'JOINS' | 'SUBSCRIBERS' | 'COST_PER_SUBSCRIBER';
type Direction = 'ASC' | 'DESC';
const value = (l: LinkFx, field: Field) => (field === 'JOINS' ? l.joins : field === 'SUBSCRIBERS' ? subscribers(l) : costPerSubscriber(l));

/** By the field, links without a value last in either direction, then by id in the field's direction. */
function oracle(field: Field, direction: Direction): string[] {
  const sign = direction === 'ASC' ? 1 : -1;
  return [...links]
    .sort((x, y) => {
      const a = value(x, field);
      const b = value(y, field);
      if (a === null && b !== null) return 1;
      if (b === null && a !== null) return -1;
      if (a !== null && b !== null && a !== b) return sign * (a < b ? -1 : 1);
      return sign * (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
    })
    .map((l) => l.id);
}

const LIST = /* GraphQL */ `
  query Stats($channelId: SafeInt!, $page: Int, $limit: Int, $orderBy: [InviteLinkOrder!]) {
    inviteLinks(channelId: $channelId, page: $page, limit: $limit, orderBy: $orderBy) {
      total
      items {
        id
        budget
        stats {
          joins
          leaves
          subscribers
          pendingJoinRequests
          costPerJoin
          costPerSubscriber
        }
      }
    }
  }
`;
interface Item {
  id: string;
  budget: number;
  stats: {
    joins: number;
    leaves: number;
    subscribers: number;
    pendingJoinRequests: number;
    costPerJoin: number | null;
    costPerSubscriber: number | null;
  };
}

async function page(variables: Record<string, unknown>) {
  const response = await t.gql<{ inviteLinks: { total: number; items: Item[] } }>(A.token, LIST, { channelId: CHANNEL, ...variables });
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  return response.data!.inviteLinks;
}

beforeAll(async () => {
  t = await createTestApp();
  A = await t.createAccount('Stats account');
  const random = mulberry32(16);
  // Budgets repeat and joins are small, so values tie (ties break on id); some links have no
  // subscribers (no cost), some lost every member they brought, a few have a zero budget.
  links = Array.from({ length: 26 }, (_, i) => {
    const joins = Math.floor(random() * 5);
    const leaves = Math.min(joins, Math.floor(random() * 3));
    return { id: randomUUID(), budget: [0, 100, 300, 300, 1000][i % 5]!, joins, leaves, createdAt: new Date(Date.UTC(2025, 0, 1, i)) };
  });
  const prisma = t.app.db.prisma;
  await prisma.channel.create({
    data: {
      id: channelRowId,
      accountId: A.accountId,
      telegramId: BigInt(CHANNEL),
      title: 'Stats channel',
      botIsAdmin: true,
      botCanInviteUsers: true,
      status: 'VERIFIED',
    },
  });
  await prisma.inviteLink.createMany({
    data: links.map((l, i) => ({
      id: l.id,
      accountId: A.accountId,
      channelId: channelRowId,
      chatId: BigInt(CHANNEL),
      name: `link ${i}`,
      inviteLink: `https://t.me/+stats${i}`,
      budget: l.budget,
      createdAt: l.createdAt,
    })),
  });
  // One statement for every event, as the update processor may write several at once.
  const events = links.flatMap((l) => [
    ...Array.from({ length: l.joins }, (_, n) => ({ link: l.id, kind: 'JOINED', user: 1000 + n })),
    ...Array.from({ length: l.leaves }, (_, n) => ({ link: l.id, kind: 'LEFT', user: 1000 + n })),
  ]);
  await prisma.$executeRaw`
    INSERT INTO member_events (id, account_id, channel_id, chat_id, user_id, kind, invite_link_id, at)
    SELECT gen_random_uuid(), ${A.accountId}::uuid, ${channelRowId}::uuid, ${BigInt(CHANNEL)}::bigint, e.user_id, e.kind::"MemberEventKind", e.link, now()
    FROM unnest(${events.map((e) => e.link)}::uuid[], ${events.map((e) => e.kind)}::text[], ${events.map((e) => BigInt(e.user))}::bigint[])
      AS e (link, kind, user_id)`;
});
afterAll(() => t?.close());

describe('InviteLink.stats', () => {
  // Ordered by a counter, the page's statement joins the stats rows and reads the stats there.
  it.each([
    ['the default order', undefined],
    ['a counter order', [{ field: 'JOINS', direction: 'DESC' }]],
  ])('counts the joins and leaves written for each link, and derives subscribers and costs (%s)', async (_, orderBy) => {
    const result = await page({ limit: 100, orderBy });
    expect(result.total).toBe(links.length);
    expect(result.items).toHaveLength(links.length);
    const byId = new Map(links.map((l) => [l.id, l]));
    for (const item of result.items) {
      const l = byId.get(item.id)!;
      expect(item.stats).toEqual({
        joins: l.joins,
        leaves: l.leaves,
        subscribers: subscribers(l),
        pendingJoinRequests: 0,
        costPerJoin: costPerJoin(l),
        costPerSubscriber: costPerSubscriber(l),
      });
    }
    // The fixture is not vacuous: it has links with and without a cost per subscriber, and ties.
    expect(links.some((l) => costPerSubscriber(l) === null)).toBe(true);
    expect(links.some((l) => costPerSubscriber(l) !== null)).toBe(true);
    expect(new Set(links.map((l) => l.joins)).size).toBeLessThan(links.length);
  });
});

describe('orderBy JOINS, SUBSCRIBERS, COST_PER_SUBSCRIBER', () => {
  const orders = (['JOINS', 'SUBSCRIBERS', 'COST_PER_SUBSCRIBER'] as const).flatMap((field) =>
    (['ASC', 'DESC'] as const).map((direction) => ({ field, direction })),
  );

  it.each(orders)('$field $direction over all pages agrees with the oracle', async (order) => {
    const seen: string[] = [];
    for (let p = 1; p <= Math.ceil(links.length / 4); p++) {
      const result = await page({ orderBy: [order], page: p, limit: 4 });
      expect(result.total).toBe(links.length);
      seen.push(...result.items.map((item) => item.id));
    }
    expect(seen).toEqual(oracle(order.field, order.direction));
  });

  it.each(['ASC', 'DESC'] as const)('COST_PER_SUBSCRIBER %s puts links without subscribers last', async (direction) => {
    const result = await page({ orderBy: [{ field: 'COST_PER_SUBSCRIBER', direction }], limit: 100 });
    const costs = result.items.map((item) => item.stats.costPerSubscriber);
    const firstNull = costs.indexOf(null);
    expect(firstNull).toBeGreaterThan(0);
    expect(costs.slice(firstNull).every((cost) => cost === null)).toBe(true);
    expect(costs.length - firstNull).toBe(links.filter((l) => costPerSubscriber(l) === null).length);
  });

  it('a stats order combines with a second key', async () => {
    const orderBy = [
      { field: 'SUBSCRIBERS', direction: 'DESC' },
      { field: 'BUDGET', direction: 'ASC' },
    ];
    const result = await page({ orderBy, limit: 100 });
    const expected = [...links]
      .sort((x, y) => subscribers(y) - subscribers(x) || x.budget - y.budget || (x.id < y.id ? 1 : x.id > y.id ? -1 : 0))
      .map((l) => l.id);
    expect(result.items.map((item) => item.id)).toEqual(expected);
  });
});
