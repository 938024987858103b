import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPartnerManifest } from '../src/http/persisted-operations.ts';
import { CHANNEL, CONNECT_CHANNEL, createTestApp, type TestApp } from './support/app.ts';
import { mulberry32 } from './support/random.ts';
import { waitFor } from './support/processes.ts';

/**
 * Stats over member_events rows this file inserts itself (SQL), checked against an oracle computed
 * here from the same rows: totals, series (zero intervals, time-zone cuts, DST days, Monday weeks,
 * the 400-point limit), tag stats, the event list, tenant and partner scoping, and statement counts.
 */

type Kind = 'JOINED' | 'LEFT' | 'JOIN_REQUESTED' | 'JOIN_REQUEST_APPROVED' | 'JOIN_REQUEST_DECLINED';
interface EventRow {
  id: string;
  kind: Kind;
  userId: number;
  inviteLinkId: string | null;
  viaJoinRequest: boolean;
  inferred: boolean;
  at: Date;
}
interface LinkRow {
  id: string;
  budget: number;
  tagIds: string[];
  partner: 7 | 8 | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const random = mulberry32(15_042);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

let t: TestApp;
let owner: string;
let partnerToken: string;
let other: string;
let otherChannel: number;
const links: LinkRow[] = [];
const events: EventRow[] = [];
const tagIds: Record<string, string> = {};
const tagTypeIds: Record<string, string> = {};
const tagTypeOf: Record<string, string | null> = {};
const tagNameOf: Record<string, string> = {};
let otherTagTypeId: string;
let otherLinkId: string;

const manifest = readPartnerManifest();
const idOf = (operationName: string) => {
  const entry = Object.entries(manifest).find(([, document]) => new RegExp(`query ${operationName}\\(`).test(document));
  if (!entry) throw new Error(`no persisted operation ${operationName}`);
  return entry[0];
};
async function persisted(token: string, operationName: string, variables: Record<string, unknown>) {
  const response = await t.server.fetch('http://inviteql.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ documentId: idOf(operationName), variables }),
  });
  return (await response.json()) as { data?: any; errors?: any[] };
}

async function ok(token: string, query: string, variables?: Record<string, unknown>) {
  const response = await t.gql(token, query, variables);
  expect(response.errors).toBeUndefined();
  return response.data;
}

// ---- the oracle -------------------------------------------------------------------------------

const counts = (rows: EventRow[]) => ({
  joins: rows.filter((e) => e.kind === 'JOINED').length,
  leaves: rows.filter((e) => e.kind === 'LEFT').length,
});
const inRange = (rows: EventRow[], from?: Date, to?: Date) =>
  rows.filter((e) => (!from || e.at.getTime() >= from.getTime()) && (!to || e.at.getTime() < to.getTime()));
const costPer = (budget: number, subscribers: number) => (subscribers > 0 ? budget / subscribers : null);

function expectedChannelStats(scope: { partner?: 7 }, from?: Date, to?: Date) {
  const visible = links.filter((l) => scope.partner === undefined || l.partner === scope.partner);
  const visibleIds = new Set(visible.map((l) => l.id));
  const rows = inRange(events, from, to).filter(
    (e) => scope.partner === undefined || (e.inviteLinkId !== null && visibleIds.has(e.inviteLinkId)),
  );
  const { joins, leaves } = counts(rows);
  const budget = visible.reduce((sum, l) => sum + l.budget, 0);
  return {
    joins,
    leaves,
    subscribers: joins - leaves,
    unattributedJoins: rows.filter((e) => e.kind === 'JOINED' && e.inviteLinkId === null).length,
    budget,
    costPerSubscriber: costPer(budget, joins - leaves),
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The local wall-clock fields of an instant in a zone, from the runtime's own tz database. */
function local(ms: number, timeZone: string) {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return {
    y: Number(parts.year),
    m: Number(parts.month),
    d: Number(parts.day),
    wallMs: Date.UTC(
      Number(parts.year),
      Number(parts.month) - 1,
      Number(parts.day),
      Number(parts.hour),
      Number(parts.minute),
      Number(parts.second),
    ),
    weekday: parts.weekday!,
  };
}
/** The instant a local midnight (a y-m-d as a UTC date) happens in the zone. */
function midnight(dateUtcMs: number, timeZone: string): number {
  let guess = dateUtcMs;
  for (let i = 0; i < 3; i++) guess = dateUtcMs - (local(guess, timeZone).wallMs - guess);
  return guess;
}
/** The local date (as a UTC midnight) an interval containing this instant starts on. */
function bucketDate(ms: number, interval: 'DAY' | 'WEEK' | 'MONTH', timeZone: string): number {
  const { y, m, d } = local(ms, timeZone);
  const date = Date.UTC(y, m - 1, d);
  if (interval === 'DAY') return date;
  if (interval === 'MONTH') return Date.UTC(y, m - 1, 1);
  return date - ((new Date(date).getUTCDay() + 6) % 7) * DAY_MS;
}
const nextDate = (date: number, interval: 'DAY' | 'WEEK' | 'MONTH') => {
  if (interval === 'DAY') return date + DAY_MS;
  if (interval === 'WEEK') return date + 7 * DAY_MS;
  const d = new Date(date);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
};

function expectedSeries(scope: { partner?: 7 }, from: Date, to: Date, interval: 'DAY' | 'WEEK' | 'MONTH', timeZone: string) {
  if (from.getTime() >= to.getTime()) return [];
  const visibleIds = new Set(links.filter((l) => scope.partner === undefined || l.partner === scope.partner).map((l) => l.id));
  const rows = inRange(events, from, to).filter(
    (e) => scope.partner === undefined || (e.inviteLinkId !== null && visibleIds.has(e.inviteLinkId)),
  );
  const points: { start: string; joins: number; leaves: number }[] = [];
  const last = bucketDate(to.getTime() - 1, interval, timeZone);
  for (let date = bucketDate(from.getTime(), interval, timeZone); date <= last; date = nextDate(date, interval)) {
    const inBucket = rows.filter((e) => bucketDate(e.at.getTime(), interval, timeZone) === date);
    points.push({ start: new Date(midnight(date, timeZone)).toISOString(), ...counts(inBucket) });
  }
  return points;
}

function expectedTagStats(typeId: string | null, scope: { partner?: 7 }) {
  const visible = links.filter((l) => scope.partner === undefined || l.partner === scope.partner);
  const rows = Object.values(tagIds)
    .filter((tagId) => tagTypeOf[tagId] === typeId)
    .map((tagId) => {
      const carrying = visible.filter((l) => l.tagIds.includes(tagId));
      const linkIds = new Set(carrying.map((l) => l.id));
      const { joins, leaves } = counts(events.filter((e) => e.inviteLinkId !== null && linkIds.has(e.inviteLinkId)));
      const budget = carrying.reduce((sum, l) => sum + l.budget, 0);
      return {
        tagId,
        name: tagNameOf[tagId]!,
        links: carrying.length,
        budget,
        joins,
        leaves,
        subscribers: joins - leaves,
        costPerSubscriber: costPer(budget, joins - leaves),
      };
    })
    .filter((row) => row.links > 0);
  rows.sort(
    (a, b) =>
      (a.costPerSubscriber ?? Infinity) - (b.costPerSubscriber ?? Infinity) ||
      a.name.localeCompare(b.name) ||
      a.tagId.localeCompare(b.tagId),
  );
  return rows.map(({ name: _name, ...row }) => row);
}

const newestFirst = (rows: EventRow[]) =>
  [...rows].sort((a, b) => b.at.getTime() - a.at.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));

// ---- the data ---------------------------------------------------------------------------------

/** Inserts member_events rows in one statement, as the update processor would store them. */
async function insertEvents(telegramId: number, rows: EventRow[]) {
  const [channel] = await t.database.db.prisma.$queryRaw<{ id: string; account_id: string }[]>`
    SELECT id::text, account_id::text FROM channels WHERE telegram_id = ${BigInt(telegramId)} AND status = 'VERIFIED'`;
  await t.database.db.prisma.$executeRaw`
    INSERT INTO member_events (id, account_id, channel_id, chat_id, user_id, kind, invite_link_id, via_join_request, inferred, at)
    SELECT r.id, ${channel!.account_id}::uuid, ${channel!.id}::uuid, ${BigInt(telegramId)}, r.user_id, r.kind::"MemberEventKind", r.link, r.via, r.inferred, r.at
    FROM unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.userId)}::bigint[], ${rows.map((r) => r.kind)}::text[],
      ${rows.map((r) => r.inviteLinkId)}::uuid[], ${rows.map((r) => r.viaJoinRequest)}::boolean[], ${rows.map((r) => r.inferred)}::boolean[],
      ${rows.map((r) => r.at.toISOString())}::timestamptz[]) AS r(id, user_id, kind, link, via, inferred, at)`;
}

function randomEvent(at: Date, linkIds: readonly (string | null)[]): EventRow {
  const roll = random();
  const kind: Kind =
    roll < 0.45 ? 'JOINED' : roll < 0.75 ? 'LEFT' : pick(['JOIN_REQUESTED', 'JOIN_REQUEST_APPROVED', 'JOIN_REQUEST_DECLINED'] as const);
  return {
    id: randomUUID(),
    kind,
    userId: 1000 + Math.floor(random() * 5000),
    inviteLinkId: random() < 0.2 ? null : pick(linkIds),
    viaJoinRequest: kind !== 'LEFT' && random() < 0.2,
    inferred: kind === 'LEFT' && random() < 0.1,
    at,
  };
}

/** Events on 2026-02-20..2026-04-15 (no events on 2026-03-10..14), around Berlin's DST end, and in the last 30 days. */
function generateEvents(): EventRow[] {
  const linkIds = links.map((l) => l.id);
  const rows: EventRow[] = [];
  const start = Date.UTC(2026, 1, 20);
  const span = Date.UTC(2026, 3, 15) - start;
  const gap = [Date.UTC(2026, 2, 10), Date.UTC(2026, 2, 15)];
  while (rows.length < 500) {
    const at = start + Math.floor(random() * span);
    if (at >= gap[0]! && at < gap[1]!) continue;
    rows.push(randomEvent(new Date(at), linkIds));
  }
  // Instants on the cuts themselves: a Berlin midnight (23:00 UTC before the DST start, 22:00 after),
  // the UTC midnight, and a millisecond either side.
  for (const cut of [Date.UTC(2026, 2, 28, 23), Date.UTC(2026, 2, 29, 22), Date.UTC(2026, 2, 30), Date.UTC(2026, 9, 25, 23)]) {
    for (const delta of [-1, 0, 1]) rows.push(randomEvent(new Date(cut + delta), linkIds));
  }
  const autumn = Date.UTC(2026, 9, 20);
  for (let i = 0; i < 60; i++) rows.push(randomEvent(new Date(autumn + Math.floor(random() * 10 * DAY_MS)), linkIds));
  const now = Date.now();
  for (let i = 0; i < 40; i++) rows.push(randomEvent(new Date(now - HOUR_MS - Math.floor(random() * 28 * DAY_MS)), linkIds));
  return rows;
}

beforeAll(async () => {
  t = await createTestApp();
  owner = (await t.createAccount('Stats owner')).token;
  expect((await t.connectVerifiedChannel(owner, CHANNEL)).errors).toBeUndefined();
  const created = await ok(
    owner,
    `mutation {
      p7: createPartner(externalId: 7, title: "Agency Seven") { id }
      p8: createPartner(externalId: 8, title: "Agency Eight") { id }
      source: createTagType(name: "Source") { id }
      campaign: createTagType(name: "Campaign") { id }
    }`,
  );
  tagTypeIds.source = created.source.id;
  tagTypeIds.campaign = created.campaign.id;
  partnerToken = (await ok(owner, 'mutation { createApiToken(name: "agency 7", partnerExternalId: 7) { token } }')).createApiToken.token;
  const tagSpecs: [string, string | null][] = [
    ['ads', tagTypeIds.source!],
    ['blog', tagTypeIds.source!],
    ['chat', tagTypeIds.source!],
    ['unused source', tagTypeIds.source!],
    ['spring', tagTypeIds.campaign!],
    ['autumn', tagTypeIds.campaign!],
    ['vip', null],
    ['test', null],
  ];
  for (const [name, typeId] of tagSpecs) {
    const tag = await ok(owner, 'mutation($n: String!, $t: ID) { createTag(name: $n, color: "#AABBCC", typeId: $t) { id } }', {
      n: name,
      t: typeId,
    });
    tagIds[name] = tag.createTag.id;
    tagTypeOf[tag.createTag.id] = typeId;
    tagNameOf[tag.createTag.id] = name;
  }
  const usable = ['ads', 'blog', 'chat', 'spring', 'autumn', 'vip', 'test'].map((name) => tagIds[name]!);
  for (let i = 0; i < 9; i++) {
    const partner = i % 3 === 0 ? 7 : i % 3 === 1 ? 8 : null;
    const link = partner
      ? (
          await ok(
            owner,
            'mutation($c: SafeInt!, $p: Int!, $n: String!) { partnerCreateInviteLink(externalId: $p, input: { channelId: $c, name: $n }) { id } }',
            { c: CHANNEL, p: partner, n: `link ${i}` },
          )
        ).partnerCreateInviteLink
      : (
          await ok(owner, 'mutation($c: SafeInt!, $n: String!) { createInviteLink(input: { channelId: $c, name: $n }) { id } }', {
            c: CHANNEL,
            n: `link ${i}`,
          })
        ).createInviteLink;
    const budget = i === 4 ? 0 : 100 * Math.floor(random() * 50);
    const tags = usable.filter(() => random() < 0.4);
    await ok(owner, 'mutation($i: UpdateInviteLinkInput!) { updateInviteLink(input: $i) { id } }', {
      i: { id: link.id, channelId: CHANNEL, budget, tagIds: tags },
    });
    links.push({ id: link.id, budget, tagIds: tags, partner });
  }
  events.push(...generateEvents());
  await insertEvents(CHANNEL, events);

  // Another account, with a channel, a link, a tag type and events of its own: none of it counts above.
  other = (await t.createAccount('Other')).token;
  otherChannel = t.addChannel({ title: 'Other channel' });
  expect((await t.connectVerifiedChannel(other, otherChannel)).errors).toBeUndefined();
  otherTagTypeId = (await ok(other, 'mutation { createTagType(name: "Source") { id } }')).createTagType.id;
  otherLinkId = (
    await ok(other, 'mutation($c: SafeInt!) { createInviteLink(input: { channelId: $c, name: "theirs" }) { id } }', { c: otherChannel })
  ).createInviteLink.id;
  await insertEvents(
    otherChannel,
    Array.from({ length: 50 }, () => randomEvent(new Date(Date.UTC(2026, 2, 1) + Math.floor(random() * 30 * DAY_MS)), [otherLinkId, null])),
  );
}, 60_000);
afterAll(() => t?.close());

const CHANNEL_STATS = /* GraphQL */ `
  query ChannelStats($channelId: SafeInt!, $from: DateTime, $to: DateTime, $interval: StatsInterval, $timeZone: String, $series: Boolean!) {
    channelStats(channelId: $channelId, from: $from, to: $to) {
      joins
      leaves
      subscribers
      unattributedJoins
      budget
      costPerSubscriber
      series(interval: $interval, timeZone: $timeZone) @include(if: $series) {
        start
        joins
        leaves
      }
    }
  }
`;
const totals = (variables: Record<string, unknown>, token = owner) =>
  t.gql(token, CHANNEL_STATS, { channelId: CHANNEL, series: false, ...variables });
const series = (variables: Record<string, unknown>, token = owner) =>
  t.gql(token, CHANNEL_STATS, { channelId: CHANNEL, series: true, ...variables });

describe('channelStats', () => {
  it('totals all time from the counters and the unattributed events', async () => {
    const response = await totals({});
    expect(response.errors).toBeUndefined();
    const expected = expectedChannelStats({});
    expect(response.data.channelStats).toEqual(expected);
    // The data set really exercises every part.
    expect(expected.unattributedJoins).toBeGreaterThan(0);
    expect(expected.joins).toBeGreaterThan(expected.unattributedJoins);
  });

  it('totals any range from member_events: from included, to excluded', async () => {
    const ranges: [Date | undefined, Date | undefined][] = [
      [new Date(Date.UTC(2026, 2, 29, 22)), new Date(Date.UTC(2026, 2, 30))],
      [new Date(Date.UTC(2026, 2, 29, 22) + 1), undefined],
      [undefined, new Date(Date.UTC(2026, 2, 28, 23))],
      [new Date(Date.UTC(2000, 0, 1)), new Date(Date.UTC(2100, 0, 1))],
    ];
    for (let i = 0; i < 6; i++) {
      const a = Date.UTC(2026, 1, 15) + Math.floor(random() * 70 * DAY_MS);
      const b = a + Math.floor(random() * 30 * DAY_MS);
      ranges.push([new Date(a), new Date(b)]);
    }
    for (const [from, to] of ranges) {
      const response = await totals({ from: from?.toISOString(), to: to?.toISOString() });
      expect(response.errors).toBeUndefined();
      expect(response.data.channelStats, `${from?.toISOString()}..${to?.toISOString()}`).toEqual(expectedChannelStats({}, from, to));
    }
    // All time counted over the events equals all time from the counters.
    expect((await totals({ from: new Date(0).toISOString() })).data.channelStats).toEqual((await totals({})).data.channelStats);
  });

  it('an empty range (from = to) counts nothing and has no points; from after to is VALIDATION_FAILED', async () => {
    const at = new Date(Date.UTC(2026, 2, 1)).toISOString();
    const empty = await series({ from: at, to: at });
    expect(empty.errors).toBeUndefined();
    expect(empty.data.channelStats).toMatchObject({
      joins: 0,
      leaves: 0,
      subscribers: 0,
      unattributedJoins: 0,
      costPerSubscriber: null,
      series: [],
    });
    const reversed = await totals({ from: new Date(Date.UTC(2026, 2, 2)).toISOString(), to: at });
    expect(reversed.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: ['to'] }] });
  });
});

describe('channelStats.series', () => {
  it('has every UTC day, zero days included, and adds up to the totals', async () => {
    const from = new Date(Date.UTC(2026, 2, 1, 12));
    const to = new Date(Date.UTC(2026, 2, 20, 6));
    const response = await series({ from: from.toISOString(), to: to.toISOString() });
    expect(response.errors).toBeUndefined();
    const points = response.data.channelStats.series;
    expect(points).toEqual(expectedSeries({}, from, to, 'DAY', 'UTC'));
    expect(points).toHaveLength(20);
    // The gap 10..14 March: five zero days.
    expect(points.filter((p: { joins: number; leaves: number }) => p.joins === 0 && p.leaves === 0).length).toBeGreaterThanOrEqual(5);
    const summed = points.reduce(
      (s: { joins: number; leaves: number }, p: { joins: number; leaves: number }) => ({
        joins: s.joins + p.joins,
        leaves: s.leaves + p.leaves,
      }),
      { joins: 0, leaves: 0 },
    );
    expect(summed).toEqual({ joins: response.data.channelStats.joins, leaves: response.data.channelStats.leaves });
  });

  it('cuts days in the time zone: DST days are 23 and 25 hours long', async () => {
    const cases: [string, Date, Date][] = [
      ['Europe/Berlin', new Date(Date.UTC(2026, 2, 25)), new Date(Date.UTC(2026, 3, 2))],
      ['Europe/Berlin', new Date(Date.UTC(2026, 9, 20)), new Date(Date.UTC(2026, 9, 30))],
      ['America/New_York', new Date(Date.UTC(2026, 2, 5)), new Date(Date.UTC(2026, 2, 12))],
      ['Asia/Kolkata', new Date(Date.UTC(2026, 2, 25, 3)), new Date(Date.UTC(2026, 3, 2, 3))],
    ];
    const lengths = new Set<number>();
    for (const [timeZone, from, to] of cases) {
      const response = await series({ from: from.toISOString(), to: to.toISOString(), timeZone });
      expect(response.errors).toBeUndefined();
      const points = response.data.channelStats.series as { start: string }[];
      expect(points, timeZone).toEqual(expectedSeries({}, from, to, 'DAY', timeZone));
      for (const point of points) {
        const wall = local(Date.parse(point.start), timeZone);
        expect(wall.wallMs % DAY_MS, `${point.start} is a local midnight in ${timeZone}`).toBe(0);
      }
      for (let i = 1; i < points.length; i++) lengths.add(Date.parse(points[i]!.start) - Date.parse(points[i - 1]!.start));
    }
    expect([...lengths].sort()).toEqual([23 * HOUR_MS, 24 * HOUR_MS, 25 * HOUR_MS]);
  });

  it('starts weeks on Monday and months on the 1st, in the zone', async () => {
    const from = new Date(Date.UTC(2026, 1, 18));
    const to = new Date(Date.UTC(2026, 3, 20));
    for (const timeZone of ['UTC', 'Europe/Berlin', 'America/Los_Angeles']) {
      const weeks = await series({ from: from.toISOString(), to: to.toISOString(), interval: 'WEEK', timeZone });
      expect(weeks.errors).toBeUndefined();
      expect(weeks.data.channelStats.series).toEqual(expectedSeries({}, from, to, 'WEEK', timeZone));
      for (const point of weeks.data.channelStats.series) expect(local(Date.parse(point.start), timeZone).weekday).toBe('Mon');
      const months = await series({ from: from.toISOString(), to: to.toISOString(), interval: 'MONTH', timeZone });
      expect(months.data.channelStats.series).toEqual(expectedSeries({}, from, to, 'MONTH', timeZone));
      expect(months.data.channelStats.series).toHaveLength(3);
    }
  });

  it('defaults to the last 30 days, ending now', async () => {
    const before = Date.now();
    const response = await series({});
    const after = Date.now();
    expect(response.errors).toBeUndefined();
    const points = response.data.channelStats.series as { start: string; joins: number; leaves: number }[];
    expect([30, 31]).toContain(points.length);
    expect(Date.parse(points[0]!.start)).toBeLessThanOrEqual(after - 30 * DAY_MS);
    expect(Date.parse(points[0]!.start)).toBeGreaterThan(before - 31 * DAY_MS);
    expect(Date.parse(points.at(-1)!.start)).toBeLessThanOrEqual(after);
    expect(Date.parse(points.at(-1)!.start)).toBeGreaterThan(before - DAY_MS);
    // The recent events are an hour or more old and under 29 days: all of them are in the points.
    const recent = counts(inRange(events, new Date(after - 29 * DAY_MS), new Date(before - HOUR_MS + 1)));
    const summed = counts(
      points.flatMap((p) => [...Array(p.joins).fill({ kind: 'JOINED' }), ...Array(p.leaves).fill({ kind: 'LEFT' })]) as EventRow[],
    );
    expect(summed).toEqual(recent);
    // The totals stay all-time.
    expect(response.data.channelStats.joins).toBe(expectedChannelStats({}).joins);
  });

  it('allows 400 points and refuses 401, and a huge range before any SQL', async () => {
    const from = Date.UTC(2025, 0, 1);
    const four = await series({ from: new Date(from).toISOString(), to: new Date(from + 400 * DAY_MS).toISOString() });
    expect(four.errors).toBeUndefined();
    expect(four.data.channelStats.series).toHaveLength(400);
    const five = await series({ from: new Date(from).toISOString(), to: new Date(from + 400 * DAY_MS + 1).toISOString() });
    expect(five.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(five.errors?.[0]?.message).toMatch(/400/);
    const statementsBefore = t.app.db.statementCount;
    const huge = await series({ from: '1970-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', interval: 'WEEK' });
    expect(huge.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    // Only the totals' statement ran.
    expect(t.app.db.statementCount - statementsBefore).toBe(1);
    const months = await series({ from: '2000-01-01T00:00:00Z', to: '2033-04-01T00:00:00Z', interval: 'MONTH' });
    expect(months.data.channelStats.series).toHaveLength(399);
  });

  it('refuses unknown and POSIX time zones with VALIDATION_FAILED', async () => {
    for (const timeZone of ['Mars/Olympus_Mons', 'UTC+3', '+03:00', '', 'Europe/Berlin; DROP TABLE x']) {
      const response = await series({ from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', timeZone });
      expect(response.errors?.[0]?.extensions, timeZone).toMatchObject({ code: 'VALIDATION_FAILED', fields: [{ path: ['timeZone'] }] });
    }
    const aliased = await series({ from: '2026-03-01T00:00:00Z', to: '2026-03-03T00:00:00Z', timeZone: 'europe/berlin' });
    expect(aliased.errors).toBeUndefined();
    expect(aliased.data.channelStats.series.map((p: { start: string }) => p.start)).toEqual([
      '2026-02-28T23:00:00.000Z',
      '2026-03-01T23:00:00.000Z',
      '2026-03-02T23:00:00.000Z',
    ]);
  });
});

const TAG_STATS = /* GraphQL */ `
  query TagStats($channelId: SafeInt!, $tagTypeId: ID) {
    tagStats(channelId: $channelId, tagTypeId: $tagTypeId) {
      tag {
        id
        name
        type {
          id
        }
      }
      links
      budget
      joins
      leaves
      subscribers
      costPerSubscriber
    }
  }
`;
const tagRows = (data: any[]) => data.map(({ tag, ...row }) => ({ tagId: tag.id, ...row }));

describe('tagStats', () => {
  it('sums each tag of a type over the links carrying it, cheapest subscribers first', async () => {
    for (const typeId of [tagTypeIds.source!, tagTypeIds.campaign!, null]) {
      const response = await t.gql(owner, TAG_STATS, { channelId: CHANNEL, tagTypeId: typeId });
      expect(response.errors).toBeUndefined();
      expect(tagRows(response.data.tagStats)).toEqual(expectedTagStats(typeId, {}));
      for (const row of response.data.tagStats) expect(row.tag.type?.id ?? null).toBe(typeId);
    }
    // A tag on no link of the channel is not listed.
    const source = await t.gql(owner, TAG_STATS, { channelId: CHANNEL, tagTypeId: tagTypeIds.source });
    expect(source.data.tagStats.map((row: { tag: { name: string } }) => row.tag.name)).not.toContain('unused source');
  });

  it('answers NOT_FOUND for an unknown tag type and for another account’s', async () => {
    for (const tagTypeId of [randomUUID(), otherTagTypeId]) {
      const response = await t.gql(owner, TAG_STATS, { channelId: CHANNEL, tagTypeId });
      expect(response.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    const malformed = await t.gql(owner, TAG_STATS, { channelId: CHANNEL, tagTypeId: 'nope' });
    expect(malformed.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });
});

const MEMBER_EVENTS = /* GraphQL */ `
  query MemberEvents($channelId: SafeInt!, $inviteLinkId: ID, $page: Int, $limit: Int) {
    memberEvents(channelId: $channelId, inviteLinkId: $inviteLinkId, page: $page, limit: $limit) {
      page
      limit
      total
      items {
        id
        kind
        userId
        viaJoinRequest
        inferred
        at
        inviteLink {
          id
          budget
        }
      }
    }
  }
`;
const asEvent = (row: EventRow) => ({
  id: row.id,
  kind: row.kind,
  userId: row.userId,
  viaJoinRequest: row.viaJoinRequest,
  inferred: row.inferred,
  at: row.at.toISOString(),
  inviteLink: row.inviteLinkId ? { id: row.inviteLinkId, budget: links.find((l) => l.id === row.inviteLinkId)!.budget } : null,
});

describe('memberEvents', () => {
  it('pages every kind of event newest first with the exact total', async () => {
    const expected = newestFirst(events).map(asEvent);
    const first = await t.gql(owner, MEMBER_EVENTS, { channelId: CHANNEL });
    expect(first.errors).toBeUndefined();
    expect(first.data.memberEvents).toMatchObject({ page: 1, limit: 50, total: events.length });
    expect(first.data.memberEvents.items).toEqual(expected.slice(0, 50));
    const third = await t.gql(owner, MEMBER_EVENTS, { channelId: CHANNEL, page: 3, limit: 100 });
    expect(third.data.memberEvents.items).toEqual(expected.slice(200, 300));
    const beyond = await t.gql(owner, MEMBER_EVENTS, { channelId: CHANNEL, page: 100, limit: 100 });
    expect(beyond.data.memberEvents).toMatchObject({ total: events.length, items: [] });
  });

  it("filters by link; another channel's or an unknown link is NOT_FOUND", async () => {
    const link = links[2]!;
    const expected = newestFirst(events.filter((e) => e.inviteLinkId === link.id)).map(asEvent);
    const response = await t.gql(owner, MEMBER_EVENTS, { channelId: CHANNEL, inviteLinkId: link.id, limit: 100 });
    expect(response.data.memberEvents.total).toBe(expected.length);
    expect(response.data.memberEvents.items).toEqual(expected.slice(0, 100));
    for (const inviteLinkId of [otherLinkId, randomUUID()]) {
      const refused = await t.gql(owner, MEMBER_EVENTS, { channelId: CHANNEL, inviteLinkId });
      expect(refused.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
  });

  it('refuses page and limit out of range', async () => {
    for (const [page, limit] of [
      [0, 10],
      [1, 0],
      [1, 101],
    ]) {
      const response = await t.gql(owner, MEMBER_EVENTS, { channelId: CHANNEL, page, limit });
      expect(response.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    }
  });
});

describe('tenant isolation', () => {
  it("answers NOT_FOUND for another account's channel on every stats read", async () => {
    for (const [query, variables] of [
      [CHANNEL_STATS, { channelId: CHANNEL, series: true }],
      [TAG_STATS, { channelId: CHANNEL }],
      [MEMBER_EVENTS, { channelId: CHANNEL }],
    ] as const) {
      const response = await t.gql(other, query, variables);
      expect(response.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(response.data ?? null).toBeNull();
    }
    // Its own channel counts its own events only.
    const own = await t.gql(other, CHANNEL_STATS, { channelId: otherChannel, series: false });
    expect(own.data.channelStats.joins + own.data.channelStats.leaves).toBeGreaterThan(0);
    expect(own.data.channelStats.joins + own.data.channelStats.leaves).toBeLessThanOrEqual(50);
  });
});

it('refuses a channel whose ownership is not proven yet (CONFLICT CHANNEL_NOT_VERIFIED)', async () => {
  const pendingChannel = t.addChannel({ title: 'Pending channel' });
  expect((await t.gql(other, CONNECT_CHANNEL, { telegramId: pendingChannel })).errors).toBeUndefined();
  for (const [query, variables] of [
    [CHANNEL_STATS, { channelId: pendingChannel, series: false }],
    [TAG_STATS, { channelId: pendingChannel }],
    [MEMBER_EVENTS, { channelId: pendingChannel }],
  ] as const) {
    const response = await t.gql(other, query, variables);
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'CHANNEL_NOT_VERIFIED' });
  }
});

describe('partner tokens', () => {
  const mine = () => links.filter((l) => l.partner === 7);

  it("count only their partner's links in channelStats and its series (unattributedJoins 0)", async () => {
    const all = await persisted(partnerToken, 'PartnerChannelStats', { channelId: CHANNEL });
    expect(all.errors).toBeUndefined();
    const { series: _series, ...allTotals } = all.data.channelStats;
    expect(allTotals).toEqual(expectedChannelStats({ partner: 7 }));
    expect(allTotals.unattributedJoins).toBe(0);
    const from = new Date(Date.UTC(2026, 2, 20));
    const to = new Date(Date.UTC(2026, 3, 10));
    const ranged = await persisted(partnerToken, 'PartnerChannelStats', {
      channelId: CHANNEL,
      from: from.toISOString(),
      to: to.toISOString(),
      interval: 'WEEK',
      timeZone: 'Europe/Berlin',
    });
    const { series: points, ...rangedTotals } = ranged.data.channelStats;
    expect(rangedTotals).toEqual(expectedChannelStats({ partner: 7 }, from, to));
    expect(points).toEqual(expectedSeries({ partner: 7 }, from, to, 'WEEK', 'Europe/Berlin'));
    expect(rangedTotals.joins).toBeLessThan(expectedChannelStats({}, from, to).joins);
  });

  it('sum tag stats over their links only', async () => {
    for (const typeId of [tagTypeIds.source!, null]) {
      const response = await persisted(partnerToken, 'PartnerTagStats', { channelId: CHANNEL, tagTypeId: typeId });
      expect(response.errors).toBeUndefined();
      expect(tagRows(response.data.tagStats).map(({ tagId, ...row }) => ({ tagId, ...row }))).toEqual(
        expectedTagStats(typeId, { partner: 7 }).map((row) => ({ ...row })),
      );
    }
  });

  it("list only their links' events; another partner's link is NOT_FOUND", async () => {
    const ids = new Set(mine().map((l) => l.id));
    const expected = newestFirst(events.filter((e) => e.inviteLinkId !== null && ids.has(e.inviteLinkId)));
    const response = await persisted(partnerToken, 'PartnerMemberEvents', { channelId: CHANNEL, limit: 100 });
    expect(response.errors).toBeUndefined();
    expect(response.data.memberEvents.total).toBe(expected.length);
    expect(response.data.memberEvents.items.map((e: { id: string }) => e.id)).toEqual(expected.slice(0, 100).map((e) => e.id));
    const foreign = links.find((l) => l.partner === 8)!;
    const refused = await persisted(partnerToken, 'PartnerMemberEvents', { channelId: CHANNEL, inviteLinkId: foreign.id });
    expect(refused.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('read their links with stats through the persisted operation', async () => {
    const response = await persisted(partnerToken, 'PartnerInviteLinksWithStats', { externalId: 7, channelId: CHANNEL, limit: 100 });
    expect(response.errors).toBeUndefined();
    const byId = new Map(response.data.partnerInviteLinks.items.map((item: { id: string; stats: object }) => [item.id, item.stats]));
    expect([...byId.keys()].sort()).toEqual(
      mine()
        .map((l) => l.id)
        .sort(),
    );
    for (const link of mine()) {
      const { joins, leaves } = counts(events.filter((e) => e.inviteLinkId === link.id));
      expect(byId.get(link.id)).toMatchObject({
        joins,
        leaves,
        subscribers: joins - leaves,
        costPerSubscriber: costPer(link.budget, joins - leaves),
      });
    }
  });
});

describe('statements', () => {
  async function measure(query: string, variables: Record<string, unknown>) {
    const before = t.app.db.statementCount;
    const response = await t.gql(owner, query, variables);
    const statements = t.app.db.statementCount - before;
    expect(response.errors).toBeUndefined();
    return statements;
  }

  it('are the same whatever the number of points, events, tags or page size', async () => {
    await measure(MEMBER_EVENTS, { channelId: CHANNEL, limit: 1 }); // warm-up: caches the token
    const range = (days: number) => ({ from: '2026-01-01T00:00:00Z', to: new Date(Date.UTC(2026, 0, 1) + days * DAY_MS).toISOString() });
    const seriesCounts = [
      await measure(CHANNEL_STATS, { channelId: CHANNEL, series: true, ...range(1) }),
      await measure(CHANNEL_STATS, { channelId: CHANNEL, series: true, ...range(400) }),
    ];
    // One statement for the totals, one for the series.
    expect(seriesCounts).toEqual([2, 2]);
    expect([
      await measure(CHANNEL_STATS, { channelId: CHANNEL, series: false }),
      await measure(CHANNEL_STATS, { channelId: CHANNEL, series: false, ...range(400) }),
    ]).toEqual([1, 1]);
    // The sums and the tags, beside each other.
    expect([
      await measure(TAG_STATS, { channelId: CHANNEL, tagTypeId: tagTypeIds.source }),
      await measure(TAG_STATS, { channelId: CHANNEL, tagTypeId: tagTypeIds.campaign }),
      await measure(TAG_STATS, { channelId: CHANNEL }),
    ]).toEqual([2, 2, 2]);
    // One statement: the channel, the page with its links, and the total.
    expect([
      await measure(MEMBER_EVENTS, { channelId: CHANNEL, limit: 1 }),
      await measure(MEMBER_EVENTS, { channelId: CHANNEL, limit: 100 }),
      await measure(MEMBER_EVENTS, { channelId: CHANNEL, inviteLinkId: links[0]!.id, limit: 100 }),
    ]).toEqual([1, 1, 1]);
  });
});

describe('end to end: emulated users join and leave through links', () => {
  let live: TestApp;
  let token: string;
  let chatId: number;
  const created: { id: string; inviteLink: string; budget: number }[] = [];

  beforeAll(async () => {
    live = await createTestApp({ receiveUpdates: true, telegramPollTimeoutS: 1 });
    ({ token } = await live.createAccount());
    chatId = live.addChannel({ title: 'Live channel', username: 'live_stats' });
    expect((await live.connectVerifiedChannel(token, chatId)).errors).toBeUndefined();
    await waitFor(() => live.telegram.calls.find((call) => call.method === 'getUpdates'), 'the poller to call getUpdates');
    for (const [name, budget] of [
      ['Ads', 600],
      ['Blog', 90],
    ] as const) {
      const response = await live.gql(token, 'mutation($i: CreateInviteLinkInput!) { createInviteLink(input: $i) { id inviteLink } }', {
        i: { channelId: chatId, name, budget },
      });
      expect(response.errors).toBeUndefined();
      created.push({ ...response.data.createInviteLink, budget });
    }
  }, 60_000);
  afterAll(() => live?.close());

  it('stats, series and events reflect what the users did', async () => {
    const from = new Date(Date.now() - 5000);
    // The scenario's own account of what happened: each member's current link (null: the public username).
    const present = new Map<number, string | null>();
    const expected = { joins: 0, leaves: 0, unattributedJoins: 0 };
    const perLink = new Map<string | null, { joins: number; leaves: number }>();
    const bump = (link: string | null, field: 'joins' | 'leaves') => {
      const entry = perLink.get(link) ?? { joins: 0, leaves: 0 };
      entry[field]++;
      perLink.set(link, entry);
    };
    const done: { kind: 'JOINED' | 'LEFT'; userId: number; link: string | null }[] = [];
    for (let step = 0; step < 40; step++) {
      const userId = 500 + Math.floor(random() * 12);
      if (present.has(userId)) {
        const link = present.get(userId)!;
        live.telegram.leave(chatId, userId);
        present.delete(userId);
        expected.leaves++;
        bump(link, 'leaves');
        done.push({ kind: 'LEFT', userId, link });
      } else {
        const target = pick([...created, null]);
        expect(live.telegram.join(target ? target.inviteLink : chatId, userId)).toBe('joined');
        present.set(userId, target?.id ?? null);
        expected.joins++;
        if (!target) expected.unattributedJoins++;
        bump(target?.id ?? null, 'joins');
        done.push({ kind: 'JOINED', userId, link: target?.id ?? null });
      }
    }
    const budget = created.reduce((sum, link) => sum + link.budget, 0);
    const subscribers = expected.joins - expected.leaves;
    await expect
      .poll(async () => (await live.gql(token, CHANNEL_STATS, { channelId: chatId, series: false })).data?.channelStats, {
        timeout: 15_000,
      })
      .toEqual({ ...expected, subscribers, budget, costPerSubscriber: subscribers > 0 ? budget / subscribers : null });

    const to = new Date(Date.now() + 1000);
    const ranged = await live.gql(token, CHANNEL_STATS, {
      channelId: chatId,
      series: true,
      from: from.toISOString(),
      to: to.toISOString(),
    });
    expect(ranged.errors).toBeUndefined();
    const points = ranged.data.channelStats.series as { joins: number; leaves: number }[];
    expect(points.reduce((sum, p) => sum + p.joins, 0)).toBe(expected.joins);
    expect(points.reduce((sum, p) => sum + p.leaves, 0)).toBe(expected.leaves);

    for (const link of created) {
      const linkStats = await live.gql(
        token,
        'query($id: ID!, $c: SafeInt!) { inviteLink(id: $id, channelId: $c) { stats { joins leaves } } }',
        {
          id: link.id,
          c: chatId,
        },
      );
      expect(linkStats.data.inviteLink.stats).toEqual(perLink.get(link.id) ?? { joins: 0, leaves: 0 });
    }

    const listed = await live.gql(token, MEMBER_EVENTS, { channelId: chatId, limit: 100 });
    expect(listed.errors).toBeUndefined();
    expect(listed.data.memberEvents.total).toBe(done.length);
    const key = (e: { kind: string; userId: number; link: string | null }) => `${e.kind} ${e.userId} ${e.link}`;
    const items = listed.data.memberEvents.items as { kind: string; userId: number; at: string; inviteLink: { id: string } | null }[];
    expect(items.map((e) => key({ kind: e.kind, userId: e.userId, link: e.inviteLink?.id ?? null })).sort()).toEqual(done.map(key).sort());
    const times = items.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });
});
