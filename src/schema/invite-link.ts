import { queryFromInfo } from '@pothos/plugin-prisma';
import { createRegularLink, createSubscriptionLink, findInviteLink, revokeInviteLink, updateInviteLink } from '../services/invite-links.ts';
import { listInviteLinks, listInviteLinksJson, type InviteLinkListing } from '../services/invite-link-listing.ts';
import { rowShapeOf, STATEMENT_PAGE, statementRelation } from './statement-pages.ts';
import { findPartnerByExternalId } from '../services/partners.ts';
import {
  idempotencyKey,
  linkName,
  memberLimit,
  nonNegativeInt,
  positiveInt,
  subscriptionPeriod,
  subscriptionPrice,
  uuid,
  uuidList,
} from '../services/input-rules.ts';
import type { Context } from './context.ts';
import { TELEGRAM_LIMITS } from '../telegram-limits.ts';
import type { GraphQLResolveInfo } from 'graphql';
import type { Builder } from './builder.ts';
import type { addTagTypes } from './tag.ts';

interface InviteLinkPageShape {
  page: number;
  limit: number;
  total: number;
  items: object[];
}

const LINK_STATS_SELECT = {
  joins: true,
  leaves: true,
  subscribers: true,
  pendingJoinRequests: true,
  costPerJoin: true,
  costPerSubscriber: true,
} as const;
type LinkStatsShape = { [K in keyof typeof LINK_STATS_SELECT]: K extends `cost${string}` ? number | null : number };
/** A link whose stats row is not there yet (the trigger adds one with the link): nothing counted. */
const NO_STATS: LinkStatsShape = {
  joins: 0,
  leaves: 0,
  subscribers: 0,
  pendingJoinRequests: 0,
  costPerJoin: null,
  costPerSubscriber: null,
};

const itemsQuery = (ctx: Context, info: GraphQLResolveInfo) => queryFromInfo({ context: ctx, info, path: ['items'] });

/** A page of links: as objects for the executor, or as the response's own JSON when statement-pages.ts runs the field. */
const listLinks = (ctx: Context, info: GraphQLResolveInfo, listing: InviteLinkListing): Promise<InviteLinkPageShape> => {
  const shape = rowShapeOf(info);
  if (shape) return listInviteLinksJson(ctx.viewer, ctx.deps, shape, listing) as Promise<never>;
  return listInviteLinks(ctx.viewer, ctx.deps, itemsQuery(ctx, info), listing);
};

export function addInviteLinkTypes(builder: Builder, { Tag }: Pick<ReturnType<typeof addTagTypes>, 'Tag'>) {
  const InviteLinkKind = builder.enumType('InviteLinkKind', { values: ['REGULAR', 'SUBSCRIPTION'] as const });
  const OrderDirection = builder.enumType('OrderDirection', { values: ['ASC', 'DESC'] as const });
  const InviteLinkOrderField = builder.enumType('InviteLinkOrderField', {
    values: [
      'CREATED_AT',
      'UPDATED_AT',
      'NAME',
      'BUDGET',
      'EXPIRE_DATE',
      'MEMBER_LIMIT',
      'JOINS',
      'SUBSCRIBERS',
      'COST_PER_SUBSCRIBER',
    ] as const,
    description: 'COST_PER_SUBSCRIBER puts links without subscribers (no cost) last in either direction',
  });

  const InviteLinkStats = builder.objectRef<LinkStatsShape>('InviteLinkStats').implement({
    description:
      "What the link brought, counted from Telegram's chat_member and chat_join_request updates (see the README's Join tracking)",
    fields: (t) => ({
      joins: t.exposeInt('joins', { description: 'Times a member joined through this link, approved join requests included' }),
      leaves: t.exposeInt('leaves', { description: 'Times a member who had joined through this link left or was removed' }),
      subscribers: t.exposeInt('subscribers', { description: 'joins - leaves' }),
      pendingJoinRequests: t.exposeInt('pendingJoinRequests'),
      costPerJoin: t.exposeFloat('costPerJoin', { nullable: true, description: 'budget / joins; null when joins is 0' }),
      costPerSubscriber: t.exposeFloat('costPerSubscriber', {
        nullable: true,
        description: 'budget / subscribers; null when subscribers is 0',
      }),
    }),
  });

  const InviteLink = builder.prismaObject('InviteLink', {
    fields: (t) => ({
      id: t.exposeID('id'),
      name: t.exposeString('name'),
      channelId: t.expose('chatId', { type: 'SafeInt', description: 'Telegram chat id of the channel' }),
      channel: t.relation('channel'),
      inviteLink: t.expose('inviteLink', { type: 'URL' }),
      kind: t.expose('kind', { type: InviteLinkKind }),
      createsJoinRequest: t.exposeBoolean('createsJoinRequest'),
      expireDate: t.expose('expireDate', { type: 'DateTime', nullable: true }),
      memberLimit: t.exposeInt('memberLimit', { nullable: true }),
      subscriptionPeriod: t.exposeInt('subscriptionPeriod', { nullable: true }),
      subscriptionPrice: t.exposeInt('subscriptionPrice', { nullable: true }),
      isRevoked: t.exposeBoolean('isRevoked'),
      isBotCreated: t.exposeBoolean('isBotCreated'),
      creatorId: t.expose('creatorId', { type: 'SafeInt', nullable: true }),
      partner: t.relation('partner', { nullable: true }),
      budget: t.exposeInt('budget'),
      tags: t.field({
        type: [Tag],
        select: (_args, _ctx, nestedSelection) => ({
          tags: { select: { tag: nestedSelection(true) }, orderBy: { tag: { name: 'asc' } } },
        }),
        resolve: (link) => link.tags.map(({ tag }) => tag),
        extensions: statementRelation('tagList'),
      }),
      shortLinks: t.relation('shortLinks', { query: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] } }),
      createdAt: t.expose('createdAt', { type: 'DateTime' }),
      updatedAt: t.expose('updatedAt', { type: 'DateTime', nullable: true }),
      stats: t.field({
        type: InviteLinkStats,
        select: { stats: { select: LINK_STATS_SELECT } },
        resolve: (link) => link.stats ?? NO_STATS,
        extensions: statementRelation('stats', NO_STATS),
      }),
    }),
  });

  const InviteLinkPage = builder.objectRef<InviteLinkPageShape>('InviteLinkPage').implement({
    fields: (t) => ({
      page: t.exposeInt('page', { description: '1-based' }),
      limit: t.exposeInt('limit'),
      total: t.exposeInt('total', { description: 'All matches, not just this page' }),
      items: t.field({ type: [InviteLink], resolve: (page) => page.items as never }),
    }),
  });

  const TagGroupFilter = builder.inputType('TagGroupFilter', {
    description:
      'One group per tag type. A link matches a group when it has at least one of its tags, or, with withoutType, no tag of that type at all. A link must match every group. tagTypeId null means tags without a type.',
    fields: (t) => ({
      tagTypeId: t.id({ validate: uuid.nullish() }),
      withoutType: t.boolean({ defaultValue: false }),
      tags: t.idList({ defaultValue: [], validate: uuidList.nullish() }),
    }),
  });

  const InviteLinkFilter = builder.inputType('InviteLinkFilter', {
    fields: (t) => ({
      tags: t.field({ type: [TagGroupFilter] }),
      linkIds: t.idList({ validate: uuidList.nullish() }),
    }),
  });

  const InviteLinkOrder = builder.inputType('InviteLinkOrder', {
    fields: (t) => ({
      field: t.field({ type: InviteLinkOrderField, required: true }),
      direction: t.field({ type: OrderDirection, required: true }),
    }),
  });

  const CreateInviteLinkInput = builder.inputType('CreateInviteLinkInput', {
    fields: (t) => ({
      channelId: t.field({ type: 'SafeInt', required: true }),
      name: t.string({ required: true, validate: linkName, description: `1-${TELEGRAM_LIMITS.linkNameMaxLength} characters` }),
      createsJoinRequest: t.boolean({ defaultValue: false }),
      expireDate: t.field({ type: 'DateTime', description: 'In the future' }),
      memberLimit: t.int({
        validate: memberLimit.nullish(),
        description: `${TELEGRAM_LIMITS.memberLimitMin}-${TELEGRAM_LIMITS.memberLimitMax}; not with createsJoinRequest: true`,
      }),
      budget: t.int({ defaultValue: 0, validate: nonNegativeInt.nullish() }),
      tagIds: t.idList({ defaultValue: [], validate: uuidList.nullish() }),
      idempotencyKey: t.string({
        validate: idempotencyKey.nullish(),
        description: 'A retry with the same key returns the same link and creates no second Telegram link',
      }),
    }),
  });

  const CreateSubscriptionInviteLinkInput = builder.inputType('CreateSubscriptionInviteLinkInput', {
    fields: (t) => ({
      channelId: t.field({ type: 'SafeInt', required: true }),
      name: t.string({ required: true, validate: linkName }),
      subscriptionPeriod: t.int({ defaultValue: TELEGRAM_LIMITS.subscriptionPeriodSeconds, validate: subscriptionPeriod.nullish() }),
      subscriptionPrice: t.int({
        required: true,
        validate: subscriptionPrice,
        description: `${TELEGRAM_LIMITS.subscriptionPriceMinStars}-${TELEGRAM_LIMITS.subscriptionPriceMaxStars} Telegram Stars`,
      }),
      budget: t.int({ defaultValue: 0, validate: nonNegativeInt.nullish() }),
      tagIds: t.idList({ defaultValue: [], validate: uuidList.nullish() }),
      idempotencyKey: t.string({ validate: idempotencyKey.nullish() }),
    }),
  });

  const UpdateInviteLinkInput = builder.inputType('UpdateInviteLinkInput', {
    description: 'Absent fields stay as they are; null clears expireDate or memberLimit.',
    fields: (t) => ({
      id: t.id({ required: true, validate: uuid }),
      channelId: t.field({ type: 'SafeInt', required: true }),
      name: t.string({ validate: linkName.nullish(), description: 'SUBSCRIPTION links: only name, budget and tagIds may change' }),
      expireDate: t.field({ type: 'DateTime' }),
      memberLimit: t.int({ validate: memberLimit.nullish() }),
      createsJoinRequest: t.boolean(),
      budget: t.int({ validate: nonNegativeInt.nullish() }),
      tagIds: t.idList({ validate: uuidList.nullish(), description: "Replaces the link's tags" }),
    }),
  });

  const PartnerCreateInviteLinkInput = builder.inputType('PartnerCreateInviteLinkInput', {
    fields: (t) => ({
      channelId: t.field({ type: 'SafeInt', required: true }),
      name: t.string({ required: true, validate: linkName }),
      createsJoinRequest: t.boolean({ defaultValue: false }),
      expireDate: t.field({ type: 'DateTime' }),
      memberLimit: t.int({ validate: memberLimit.nullish() }),
      idempotencyKey: t.string({ validate: idempotencyKey.nullish() }),
    }),
  });

  builder.queryFields((t) => ({
    inviteLink: t.prismaField({
      type: InviteLink,
      description: 'NOT_FOUND when the link is not in this account and channel',
      args: {
        id: t.arg.id({ required: true, validate: uuid }),
        channelId: t.arg({ type: 'SafeInt', required: true }),
      },
      resolve: (query, _root, args, ctx) => findInviteLink(ctx.viewer, ctx.deps, query, args.id, args.channelId),
    }),
    inviteLinks: t.field({
      type: InviteLinkPage,
      extensions: STATEMENT_PAGE,
      args: {
        channelId: t.arg({ type: 'SafeInt', required: true }),
        page: t.arg.int({ defaultValue: 1 }),
        limit: t.arg.int({ defaultValue: 10, description: '1-100' }),
        name: t.arg.string({ description: 'Case-insensitive substring' }),
        creatorId: t.arg({ type: 'SafeInt' }),
        filter: t.arg({ type: InviteLinkFilter }),
        orderBy: t.arg({ type: [InviteLinkOrder], defaultValue: [{ field: 'CREATED_AT', direction: 'DESC' }] }),
      },
      resolve: (_root, args, ctx, info) =>
        listLinks(ctx, info, {
          channelId: args.channelId,
          page: args.page ?? 1,
          limit: args.limit ?? 10,
          name: args.name,
          creatorId: args.creatorId,
          filter: args.filter,
          orderBy: args.orderBy,
        }),
    }),
    partnerInviteLinks: t.field({
      type: InviteLinkPage,
      description: "The partner's own links in a channel (partner REST API: POST /links/all)",
      extensions: STATEMENT_PAGE,
      args: {
        externalId: t.arg.int({ required: true }),
        channelId: t.arg({ type: 'SafeInt', required: true }),
        page: t.arg.int({ defaultValue: 1 }),
        limit: t.arg.int({ defaultValue: 10 }),
      },
      resolve: async (_root, args, ctx, info) => {
        const partner = await findPartnerByExternalId(ctx.viewer, ctx.deps, args.externalId);
        return listLinks(ctx, info, {
          channelId: args.channelId,
          page: args.page ?? 1,
          limit: args.limit ?? 10,
          partnerId: partner.id,
        });
      },
    }),
  }));

  builder.mutationFields((t) => ({
    createInviteLink: t.prismaField({
      type: InviteLink,
      description: 'Creates the link in Telegram (createChatInviteLink), then stores it',
      args: { input: t.arg({ type: CreateInviteLinkInput, required: true }) },
      resolve: (query, _root, args, ctx) => createRegularLink(ctx.viewer, ctx.deps, query, args.input),
    }),
    createSubscriptionInviteLink: t.prismaField({
      type: InviteLink,
      description: 'Creates the subscription link in Telegram (createChatSubscriptionInviteLink), then stores it',
      args: { input: t.arg({ type: CreateSubscriptionInviteLinkInput, required: true }) },
      resolve: (query, _root, args, ctx) => createSubscriptionLink(ctx.viewer, ctx.deps, query, args.input),
    }),
    updateInviteLink: t.prismaField({
      type: InviteLink,
      description: 'Telegram editChatInviteLink / editChatSubscriptionInviteLink when a Telegram field changes',
      args: { input: t.arg({ type: UpdateInviteLinkInput, required: true }) },
      resolve: (query, _root, args, ctx) => updateInviteLink(ctx.viewer, ctx.deps, query, args.input),
    }),
    revokeInviteLink: t.prismaField({
      type: InviteLink,
      description: 'Telegram revokeChatInviteLink',
      args: {
        id: t.arg.id({ required: true, validate: uuid }),
        channelId: t.arg({ type: 'SafeInt', required: true }),
      },
      resolve: (query, _root, args, ctx) => revokeInviteLink(ctx.viewer, ctx.deps, query, args.id, args.channelId),
    }),
    partnerCreateInviteLink: t.prismaField({
      type: InviteLink,
      description: 'Creates a link for the partner with this external id (partner REST API: POST /links?external_id=)',
      args: {
        externalId: t.arg.int({ required: true, validate: positiveInt }),
        input: t.arg({ type: PartnerCreateInviteLinkInput, required: true }),
      },
      resolve: async (query, _root, args, ctx) => {
        const partner = await findPartnerByExternalId(ctx.viewer, ctx.deps, args.externalId);
        return createRegularLink(ctx.viewer, ctx.deps, query, args.input, partner.id);
      },
    }),
  }));
}
