import { queryFromInfo } from '@pothos/plugin-prisma';
import { decideJoinRequest, listJoinRequests } from '../services/join-requests.ts';
import { uuid } from '../services/input-rules.ts';
import type { Builder } from './builder.ts';

interface JoinRequestPageShape {
  page: number;
  limit: number;
  total: number;
  items: object[];
}

export function addJoinRequestTypes(builder: Builder) {
  const JoinRequestStatus = builder.enumType('JoinRequestStatus', { values: ['PENDING', 'APPROVED', 'DECLINED'] as const });

  const JoinRequest = builder.prismaObject('JoinRequest', {
    description: 'A chat_join_request Telegram sent for a verified channel: someone asked to join through a createsJoinRequest link',
    select: { id: true },
    fields: (t) => ({
      id: t.exposeID('id'),
      userId: t.expose('userId', { type: 'SafeInt', description: 'Telegram user id' }),
      inviteLink: t.relation('inviteLink', { nullable: true, description: "The account's link it came through; null: none of them" }),
      status: t.expose('status', { type: JoinRequestStatus }),
      requestedAt: t.expose('requestedAt', { type: 'DateTime' }),
      decidedAt: t.expose('decidedAt', { type: 'DateTime', nullable: true }),
    }),
  });

  const JoinRequestPage = builder.objectRef<JoinRequestPageShape>('JoinRequestPage').implement({
    fields: (t) => ({
      page: t.exposeInt('page', { description: '1-based' }),
      limit: t.exposeInt('limit'),
      total: t.exposeInt('total', { description: 'All matches, not just this page' }),
      items: t.field({ type: [JoinRequest], description: 'Oldest first', resolve: (page) => page.items as never }),
    }),
  });

  builder.queryFields((t) => ({
    joinRequests: t.field({
      type: JoinRequestPage,
      description: "A channel's join requests; a partner token sees those through its partner's links only",
      args: {
        channelId: t.arg({ type: 'SafeInt', required: true }),
        inviteLinkId: t.arg.id({ validate: uuid.nullish(), description: 'Only those through this link' }),
        status: t.arg({ type: JoinRequestStatus, defaultValue: 'PENDING', description: 'null: every status' }),
        page: t.arg.int({ defaultValue: 1 }),
        limit: t.arg.int({ defaultValue: 50, description: '1-100' }),
      },
      resolve: (_root, args, ctx, info) =>
        listJoinRequests(ctx.viewer, ctx.deps, queryFromInfo({ context: ctx, info, path: ['items'] }), {
          channelId: args.channelId,
          inviteLinkId: args.inviteLinkId,
          status: args.status,
          page: args.page ?? 1,
          limit: args.limit ?? 50,
        }),
    }),
  }));

  const decision = (approve: boolean) =>
    builder.mutationField(approve ? 'approveJoinRequest' : 'declineJoinRequest', (t) =>
      t.prismaField({
        type: JoinRequest,
        description: `Telegram ${approve ? 'approveChatJoinRequest' : 'declineChatJoinRequest'}; NOT_FOUND when there is no pending request (reason JOIN_REQUEST_MISSING when Telegram has none any more)`,
        args: {
          channelId: t.arg({ type: 'SafeInt', required: true }),
          userId: t.arg({ type: 'SafeInt', required: true }),
        },
        resolve: (query, _root, args, ctx) => decideJoinRequest(ctx.viewer, ctx.deps, query, args, approve),
      }),
    );
  decision(true);
  decision(false);
}
