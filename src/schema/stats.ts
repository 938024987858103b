import { queryFromInfo } from '@pothos/plugin-prisma';
import {
  channelSeries,
  channelStats,
  listMemberEvents,
  MAX_SERIES_POINTS,
  tagStats,
  type ChannelStatsTotals,
  type TagStatsRow,
} from '../services/link-stats.ts';
import { uuid } from '../services/input-rules.ts';
import type { Builder } from './builder.ts';
import type { addTagTypes } from './tag.ts';

interface MemberEventPageShape {
  page: number;
  limit: number;
  total: number;
  items: object[];
}

export function addStatsTypes(builder: Builder, { Tag }: Pick<ReturnType<typeof addTagTypes>, 'Tag'>) {
  const MemberEventKind = builder.enumType('MemberEventKind', {
    values: ['JOINED', 'LEFT', 'JOIN_REQUESTED', 'JOIN_REQUEST_APPROVED', 'JOIN_REQUEST_DECLINED'] as const,
  });
  const StatsInterval = builder.enumType('StatsInterval', {
    values: ['DAY', 'WEEK', 'MONTH'] as const,
    description: 'WEEK starts on Monday',
  });

  const MemberEvent = builder.prismaObject('MemberEvent', {
    select: { id: true },
    fields: (t) => ({
      id: t.exposeID('id'),
      kind: t.expose('kind', { type: MemberEventKind }),
      userId: t.expose('userId', { type: 'SafeInt', description: 'Telegram user id' }),
      inviteLink: t.relation('inviteLink', { nullable: true, description: 'null: unattributed' }),
      viaJoinRequest: t.exposeBoolean('viaJoinRequest'),
      inferred: t.exposeBoolean('inferred', {
        description: 'A leave the server inferred: a join arrived for a member it still held as present',
      }),
      at: t.expose('at', { type: 'DateTime', description: "The update's own date" }),
    }),
  });

  const MemberEventPage = builder.objectRef<MemberEventPageShape>('MemberEventPage').implement({
    fields: (t) => ({
      page: t.exposeInt('page', { description: '1-based' }),
      limit: t.exposeInt('limit'),
      total: t.exposeInt('total', { description: 'All matches, not just this page' }),
      items: t.field({ type: [MemberEvent], description: 'Newest first', resolve: (page) => page.items as never }),
    }),
  });

  const StatsPoint = builder.objectRef<{ start: Date; joins: number; leaves: number }>('StatsPoint').implement({
    fields: (t) => ({
      start: t.expose('start', { type: 'DateTime', description: "The interval's first instant, UTC" }),
      joins: t.exposeInt('joins'),
      leaves: t.exposeInt('leaves'),
    }),
  });

  const ChannelStats = builder.objectRef<ChannelStatsTotals>('ChannelStats').implement({
    description: "JOINED and LEFT member events in from..to (from included, to excluded). A partner token counts its partner's links only.",
    fields: (t) => ({
      joins: t.exposeInt('joins', { description: 'Unattributed joins included' }),
      leaves: t.exposeInt('leaves'),
      subscribers: t.exposeInt('subscribers', { description: 'joins - leaves (can be negative over a range)' }),
      unattributedJoins: t.exposeInt('unattributedJoins', {
        description: "Joins through none of the account's links; 0 for a partner token, which counts its own links only",
      }),
      budget: t.expose('budget', { type: 'SafeInt', description: "Sum of the channel's link budgets, whatever the range" }),
      costPerSubscriber: t.exposeFloat('costPerSubscriber', {
        nullable: true,
        description: 'budget / subscribers; null when subscribers is 0 or less',
      }),
      series: t.field({
        type: [StatsPoint],
        description: `Every interval from..to, zeros included (default: the last 30 days), cut in timeZone (IANA name); weeks start on Monday; the first and last count only what is inside from..to; at most ${MAX_SERIES_POINTS} points, more is VALIDATION_FAILED`,
        args: {
          interval: t.arg({ type: StatsInterval, defaultValue: 'DAY' }),
          timeZone: t.arg.string({ defaultValue: 'UTC' }),
        },
        resolve: (stats, args, ctx) =>
          channelSeries(ctx.deps, stats.scope, { interval: args.interval ?? 'DAY', timeZone: args.timeZone ?? 'UTC' }),
      }),
    }),
  });

  const TagStats = builder.objectRef<TagStatsRow<object>>('TagStats').implement({
    description: 'What the links carrying one tag brought, summed over their all-time counters',
    fields: (t) => ({
      tag: t.field({ type: Tag, resolve: (row) => row.tag as never }),
      links: t.exposeInt('links'),
      budget: t.expose('budget', { type: 'SafeInt' }),
      joins: t.exposeInt('joins'),
      leaves: t.exposeInt('leaves'),
      subscribers: t.exposeInt('subscribers'),
      costPerSubscriber: t.exposeFloat('costPerSubscriber', {
        nullable: true,
        description: 'budget / subscribers; null when subscribers is 0',
      }),
    }),
  });

  builder.queryFields((t) => ({
    channelStats: t.field({
      type: ChannelStats,
      description:
        'Joins and leaves between from and to (default: all time; series: the last 30 days). from after to is VALIDATION_FAILED.',
      args: {
        channelId: t.arg({ type: 'SafeInt', required: true }),
        from: t.arg({ type: 'DateTime' }),
        to: t.arg({ type: 'DateTime' }),
      },
      resolve: (_root, args, ctx) => channelStats(ctx.viewer, ctx.deps, args),
    }),
    tagStats: t.field({
      type: [TagStats],
      description:
        "Per tag of one type (tagTypeId null: the untyped tags) on the channel's links, cheapest costPerSubscriber first, tags without subscribers last, then by name",
      args: {
        channelId: t.arg({ type: 'SafeInt', required: true }),
        tagTypeId: t.arg.id({ validate: uuid.nullish() }),
      },
      resolve: (_root, args, ctx, info) => tagStats(ctx.viewer, ctx.deps, queryFromInfo({ context: ctx, info, path: ['tag'] }), args),
    }),
    memberEvents: t.field({
      type: MemberEventPage,
      description: "A channel's member events, newest first; inviteLinkId: only that link's",
      args: {
        channelId: t.arg({ type: 'SafeInt', required: true }),
        inviteLinkId: t.arg.id({ validate: uuid.nullish() }),
        page: t.arg.int({ defaultValue: 1 }),
        limit: t.arg.int({ defaultValue: 50, description: '1-100' }),
      },
      resolve: (_root, args, ctx, info) =>
        listMemberEvents(ctx.viewer, ctx.deps, queryFromInfo({ context: ctx, info, path: ['items'] }), {
          channelId: args.channelId,
          inviteLinkId: args.inviteLinkId,
          page: args.page ?? 1,
          limit: args.limit ?? 50,
        }),
    }),
  }));
}
