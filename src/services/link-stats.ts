import { Prisma } from '../generated/prisma/client.ts';
import type { ChannelStatus } from '../generated/prisma/client.ts';
import { visiblePartnerId } from '../auth/access.ts';
import type { AccountActor } from '../auth/actor.ts';
import type { ServiceDeps } from './deps.ts';
import { notFound, validationFailed } from '../errors.ts';
import { isUnknownTimeZone } from '../db/errors.ts';
import { parseInput, statsRange, timeZoneName } from './input-rules.ts';
import { channelStateError } from './channel-ownership.ts';
import { listChannelRelationPage } from './channel-pages.ts';

/**
 * What a channel's links brought, read side. Joins and leaves are JOINED and LEFT member events
 * (member_events); all-time per-link numbers come from the invite_link_stats counters, anything
 * over a time range from the events themselves. Every read is a fixed number of statements.
 *
 * A partner token sees its own partner's links only: its channel totals and series count the
 * events attributed to those links (so unattributedJoins is 0), its tag stats sum those links, and
 * its event list holds their events.
 */

export type StatsInterval = 'DAY' | 'WEEK' | 'MONTH';

/** What channelStats counted over, kept for its series. */
export interface StatsScope {
  channelId: string;
  /** Only this partner's links (a partner token); null: every event of the channel. */
  partnerId: string | null;
  from: Date | null;
  to: Date | null;
}

export interface ChannelStatsTotals {
  joins: number;
  leaves: number;
  subscribers: number;
  unattributedJoins: number;
  budget: number;
  costPerSubscriber: number | null;
  scope: StatsScope;
}

export interface StatsPoint {
  start: Date;
  joins: number;
  leaves: number;
}

export const MAX_SERIES_POINTS = 400;
/** The series' range when channelStats names neither end: the last 30 days. */
export const DEFAULT_SERIES_MS = 30 * 24 * 60 * 60 * 1000;

const HOUR_MS = 60 * 60 * 1000;
/** The longest an interval can be, with a DST hour: a range longer than 2 × 400 of them is refused before any SQL. */
const LONGEST_INTERVAL_MS: Record<StatsInterval, number> = {
  DAY: 25 * HOUR_MS,
  WEEK: 7 * 24 * HOUR_MS + HOUR_MS,
  MONTH: 31 * 24 * HOUR_MS + HOUR_MS,
};
const TRUNC_UNIT: Record<StatsInterval, string> = { DAY: 'day', WEEK: 'week', MONTH: 'month' };

/** budget / subscribers; null when there are none (or more left than joined in a range). */
export const costPer = (budget: number, subscribers: number) => (subscribers > 0 ? budget / subscribers : null);

const tooManyPoints = (interval: StatsInterval) =>
  validationFailed([
    {
      path: ['series'],
      message: `more than ${MAX_SERIES_POINTS} ${interval.toLowerCase()} points: narrow from..to or take a longer interval`,
    },
  ]);

/** NOT_FOUND for a channel not in the account (another account's too), CONFLICT for a pending one. */
function requireReadable(channel: { id: string | null; status: string | null }, telegramId: number): string {
  if (!channel.id) throw notFound(`Channel ${telegramId} not found`);
  const refusal = channelStateError(channel.status as ChannelStatus, telegramId, 'read');
  if (refusal) throw refusal;
  return channel.id;
}

const channelCte = (actor: AccountActor, telegramId: number) =>
  Prisma.sql`channel AS (SELECT id, status::text AS status FROM channels WHERE account_id = ${actor.accountId}::uuid AND telegram_id = ${BigInt(telegramId)}::bigint)`;

/** `column` is one of the partner's links in the channel; nothing with no partner. */
const partnerLinkTest = (column: Prisma.Sql, channelId: Prisma.Sql, partnerId: string | null) =>
  partnerId === null
    ? Prisma.empty
    : Prisma.sql`AND ${column} IN (SELECT id FROM invite_links WHERE channel_id = ${channelId} AND partner_id = ${partnerId}::uuid)`;

/**
 * A channel's joins, leaves and budget, in one statement. With neither from nor to, the links'
 * joins and leaves are summed from their counters and only the unattributed ones are counted from
 * member_events; with a range, all of them are counted from member_events (at in [from, to)).
 * Budget is the sum of the (visible) links' budgets, whatever the range.
 */
export async function channelStats(
  actor: AccountActor,
  deps: ServiceDeps,
  args: { channelId: number; from?: Date | null; to?: Date | null },
): Promise<ChannelStatsTotals> {
  parseInput(statsRange, { from: args.from, to: args.to });
  const partnerId = visiblePartnerId(actor);
  const from = args.from ?? null;
  const to = args.to ?? null;
  const channelId = Prisma.sql`(SELECT id FROM channel)`;
  const links = partnerId === null ? Prisma.empty : Prisma.sql`AND partner_id = ${partnerId}::uuid`;
  let counts: Prisma.Sql;
  if (from === null && to === null) {
    const unattributed =
      partnerId === null
        ? Prisma.sql`SELECT count(*) FILTER (WHERE kind = 'JOINED') AS joins, count(*) FILTER (WHERE kind = 'LEFT') AS leaves
            FROM member_events WHERE channel_id = ${channelId} AND invite_link_id IS NULL AND kind IN ('JOINED', 'LEFT')`
        : Prisma.sql`SELECT 0 AS joins, 0 AS leaves`;
    counts = Prisma.sql`
      attributed AS (SELECT coalesce(sum(s.joins), 0) AS joins, coalesce(sum(s.leaves), 0) AS leaves FROM invite_link_stats s
        WHERE s.channel_id = ${channelId} ${partnerLinkTest(Prisma.sql`s.invite_link_id`, channelId, partnerId)}),
      unattributed AS (${unattributed}),
      counted AS (SELECT a.joins + u.joins AS joins, a.leaves + u.leaves AS leaves, u.joins AS unattributed_joins FROM attributed a, unattributed u)`;
  } else {
    counts = Prisma.sql`
      counted AS (SELECT count(*) FILTER (WHERE kind = 'JOINED') AS joins, count(*) FILTER (WHERE kind = 'LEFT') AS leaves,
          count(*) FILTER (WHERE kind = 'JOINED' AND invite_link_id IS NULL) AS unattributed_joins
        FROM member_events e
        WHERE e.channel_id = ${channelId} AND e.kind IN ('JOINED', 'LEFT')
          ${from ? Prisma.sql`AND e.at >= ${from}::timestamptz` : Prisma.empty}
          ${to ? Prisma.sql`AND e.at < ${to}::timestamptz` : Prisma.empty}
          ${partnerLinkTest(Prisma.sql`e.invite_link_id`, channelId, partnerId)})`;
  }
  const [row] = await deps.db.prisma.$queryRaw<
    { id: string | null; status: string | null; joins: number; leaves: number; unattributed_joins: number; budget: bigint | number }[]
  >`
    WITH ${channelCte(actor, args.channelId)}, ${counts}
    SELECT (SELECT id::text FROM channel) AS id, (SELECT status FROM channel) AS status,
      c.joins::int AS joins, c.leaves::int AS leaves, c.unattributed_joins::int AS unattributed_joins,
      (SELECT coalesce(sum(budget), 0) FROM invite_links WHERE channel_id = ${channelId} ${links})::bigint AS budget
    FROM counted c`;
  const id = requireReadable(row!, args.channelId);
  const budget = Number(row!.budget);
  const subscribers = row!.joins - row!.leaves;
  return {
    joins: row!.joins,
    leaves: row!.leaves,
    subscribers,
    unattributedJoins: row!.unattributed_joins,
    budget,
    costPerSubscriber: costPer(budget, subscribers),
    scope: { channelId: id, partnerId, from, to },
  };
}

/** The series' range: channelStats' own, else ending now (or at from, if later) and 30 days long. */
export function seriesRange(scope: Pick<StatsScope, 'from' | 'to'>, now = new Date()): { from: Date; to: Date } {
  const to = scope.to ?? new Date(Math.max(now.getTime(), scope.from?.getTime() ?? 0));
  const from = scope.from ?? new Date(to.getTime() - DEFAULT_SERIES_MS);
  return { from, to };
}

/**
 * Joins and leaves per interval of [from, to), every interval that overlaps it, zeros included, in
 * one statement. Intervals are cut in the time zone: the local timestamps of the interval starts
 * are generated (weeks start on Monday, date_trunc's ISO week) and turned back into instants, so a
 * DST day is 23 or 25 hours long. The first and last intervals count only what falls in the range,
 * so the points add up to the range's totals.
 */
export async function channelSeries(
  deps: ServiceDeps,
  scope: StatsScope,
  args: { interval: StatsInterval; timeZone: string },
  now = new Date(),
): Promise<StatsPoint[]> {
  const timeZone = parseInput(timeZoneName, args.timeZone, ['timeZone']);
  const { from, to } = seriesRange(scope, now);
  if (from.getTime() >= to.getTime()) return [];
  if (to.getTime() - from.getTime() > 2 * MAX_SERIES_POINTS * LONGEST_INTERVAL_MS[args.interval]) throw tooManyPoints(args.interval);
  const unit = TRUNC_UNIT[args.interval];
  const step = `1 ${unit}`;
  const channelId = Prisma.sql`${scope.channelId}::uuid`;
  let rows: { start: Date; joins: number; leaves: number }[];
  try {
    rows = await deps.db.prisma.$queryRaw`
      WITH slots AS (
        SELECT local FROM generate_series(
          date_trunc(${unit}, ${from}::timestamptz AT TIME ZONE ${timeZone}::text),
          (${to}::timestamptz - interval '1 millisecond') AT TIME ZONE ${timeZone}::text,
          ${step}::interval) AS local
        LIMIT ${MAX_SERIES_POINTS + 1}
      ),
      counted AS (
        SELECT date_trunc(${unit}, e.at AT TIME ZONE ${timeZone}::text) AS local,
          count(*) FILTER (WHERE e.kind = 'JOINED') AS joins, count(*) FILTER (WHERE e.kind = 'LEFT') AS leaves
        FROM member_events e
        WHERE e.channel_id = ${channelId} AND e.kind IN ('JOINED', 'LEFT')
          AND e.at >= ${from}::timestamptz AND e.at < ${to}::timestamptz
          ${partnerLinkTest(Prisma.sql`e.invite_link_id`, channelId, scope.partnerId)}
        GROUP BY 1
      )
      SELECT s.local AT TIME ZONE ${timeZone}::text AS start, coalesce(c.joins, 0)::int AS joins, coalesce(c.leaves, 0)::int AS leaves
      FROM slots s LEFT JOIN counted c ON c.local = s.local
      ORDER BY s.local`;
  } catch (error) {
    // The runtime knew the zone and PostgreSQL's time zone database does not.
    if (isUnknownTimeZone(error)) throw validationFailed([{ path: ['timeZone'], message: 'is not a known IANA time zone' }]);
    throw error;
  }
  if (rows.length > MAX_SERIES_POINTS) throw tooManyPoints(args.interval);
  return rows.map((row) => ({ start: new Date(row.start), joins: row.joins, leaves: row.leaves }));
}

export interface TagStatsRow<T> {
  tag: T;
  links: number;
  budget: number;
  joins: number;
  leaves: number;
  subscribers: number;
  costPerSubscriber: number | null;
}

type TagQuery = { select?: Prisma.TagSelect; include?: Prisma.TagInclude };

/**
 * Per tag of one type (null: the untyped tags), the channel's links that carry it, summed from
 * their counters: links, budget, joins, leaves, subscribers and budget / subscribers. Only tags on
 * at least one (visible) link of the channel; a link with two tags of the type counts for each.
 * Cheapest subscribers first: costPerSubscriber ascending, tags without subscribers last, then by
 * name and id. Two statements beside each other: the sums (with the channel and the tag type
 * looked up in the account), and the tags as the GraphQL selection wants them.
 */
export async function tagStats<T extends { id: string }>(
  actor: AccountActor,
  deps: ServiceDeps,
  query: TagQuery,
  args: { channelId: number; tagTypeId?: string | null },
): Promise<TagStatsRow<T>[]> {
  const partnerId = visiblePartnerId(actor);
  const typeId = args.tagTypeId ?? null;
  const channelId = Prisma.sql`(SELECT id FROM channel)`;
  const typeTest = typeId === null ? Prisma.sql`t.type_id IS NULL` : Prisma.sql`t.type_id = ${typeId}::uuid`;
  const [[head], tags] = await Promise.all([
    deps.db.prisma.$queryRaw<
      {
        id: string | null;
        status: string | null;
        type_found: boolean;
        tags: { id: string; name: string; links: number; budget: number; joins: number; leaves: number }[];
      }[]
    >`
      WITH ${channelCte(actor, args.channelId)}
      SELECT (SELECT id::text FROM channel) AS id, (SELECT status FROM channel) AS status,
        ${typeId === null ? Prisma.sql`true` : Prisma.sql`EXISTS (SELECT 1 FROM tag_types WHERE id = ${typeId}::uuid AND account_id = ${actor.accountId}::uuid)`} AS type_found,
        coalesce((SELECT json_agg(row_to_json(summed)) FROM (
          SELECT t.id, t.name, count(*)::int AS links, sum(l.budget)::bigint AS budget,
            coalesce(sum(s.joins), 0)::int AS joins, coalesce(sum(s.leaves), 0)::int AS leaves
          FROM tags t
          JOIN invite_link_tags lt ON lt.tag_id = t.id AND lt.channel_id = ${channelId}
          JOIN invite_links l ON l.id = lt.invite_link_id ${partnerId === null ? Prisma.empty : Prisma.sql`AND l.partner_id = ${partnerId}::uuid`}
          LEFT JOIN invite_link_stats s ON s.invite_link_id = l.id
          WHERE t.account_id = ${actor.accountId}::uuid AND ${typeTest}
          GROUP BY t.id, t.name
        ) summed), '[]') AS tags`,
    deps.db.prisma.tag.findMany({ ...query, where: { accountId: actor.accountId, typeId } }) as unknown as Promise<T[]>,
  ]);
  requireReadable(head!, args.channelId);
  if (!head!.type_found) throw notFound(`Tag type ${typeId} not found`);
  const tagById = new Map(tags.map((tag) => [tag.id, tag]));
  const rows = head!.tags.flatMap((summed) => {
    const tag = tagById.get(summed.id);
    if (!tag) return [];
    const budget = Number(summed.budget);
    const subscribers = summed.joins - summed.leaves;
    return [
      {
        name: summed.name,
        row: {
          tag,
          links: summed.links,
          budget,
          joins: summed.joins,
          leaves: summed.leaves,
          subscribers,
          costPerSubscriber: costPer(budget, subscribers),
        },
      },
    ];
  });
  rows.sort(
    (a, b) =>
      (a.row.costPerSubscriber ?? Infinity) - (b.row.costPerSubscriber ?? Infinity) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
      (a.row.tag.id < b.row.tag.id ? -1 : a.row.tag.id > b.row.tag.id ? 1 : 0),
  );
  return rows.map(({ row }) => row);
}

type MemberEventQuery = { select?: Prisma.MemberEventSelect; include?: Prisma.MemberEventInclude };

/** A page of a channel's member events (all kinds), newest first (at, then id, descending), with the exact total (listChannelRelationPage). */
export function listMemberEvents(
  actor: AccountActor,
  deps: ServiceDeps,
  query: MemberEventQuery,
  args: { channelId: number; inviteLinkId?: string | null; page: number; limit: number },
) {
  const partnerId = visiblePartnerId(actor);
  return listChannelRelationPage(actor, deps, {
    relation: 'memberEvents',
    ...args,
    where: {
      ...(args.inviteLinkId ? { inviteLinkId: args.inviteLinkId } : {}),
      ...(partnerId !== null ? { inviteLink: { is: { partnerId } } } : {}),
    },
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
    query,
  });
}
