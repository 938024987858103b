import type { JoinRequestStatus, Prisma } from '../generated/prisma/client.ts';
import type { AccountActor } from '../auth/actor.ts';
import { visiblePartnerId } from '../auth/access.ts';
import type { ServiceDeps } from './deps.ts';
import { AppError, notFound } from '../errors.ts';
import { requireLinkChannel } from './channel-ownership.ts';
import { listChannelRelationPage } from './channel-pages.ts';

type JoinRequestQuery = { select?: Prisma.JoinRequestSelect; include?: Prisma.JoinRequestInclude };

export interface JoinRequestListing {
  channelId: number;
  inviteLinkId?: string | null;
  /** null: every status. */
  status?: JoinRequestStatus | null;
  page: number;
  limit: number;
}

/** A partner token sees only the requests that came through its partner's links. */
const partnerRequestScope = (actor: AccountActor): Prisma.JoinRequestWhereInput => {
  const partnerId = visiblePartnerId(actor);
  return partnerId === null ? {} : { inviteLink: { partnerId } };
};

/** One page of a channel's join requests, oldest first, with the exact total (listChannelRelationPage). */
export const listJoinRequests = (actor: AccountActor, deps: ServiceDeps, query: JoinRequestQuery, listing: JoinRequestListing) =>
  listChannelRelationPage(actor, deps, {
    relation: 'joinRequests',
    channelId: listing.channelId,
    inviteLinkId: listing.inviteLinkId,
    page: listing.page,
    limit: listing.limit,
    where: {
      ...partnerRequestScope(actor),
      ...(listing.status ? { status: listing.status } : {}),
      ...(listing.inviteLinkId ? { inviteLinkId: listing.inviteLinkId } : {}),
    },
    orderBy: [{ requestedAt: 'asc' }, { id: 'asc' }],
    query,
  });

const noPendingRequest = (channelId: number, userId: number) =>
  notFound(`There is no pending join request of user ${userId} in channel ${channelId}`);

/**
 * Approves or declines the pending join request of a user in Telegram, then records the decision:
 * in one transaction the request's status and decided_at, and a JOIN_REQUEST_APPROVED or
 * JOIN_REQUEST_DECLINED member event (unique per request and kind, so recorded once).
 *
 * A partner token decides only requests through its partner's links; any other is NOT_FOUND, as if
 * there were none. Telegram refusing changes nothing stored, except HIDE_REQUESTER_MISSING: Telegram
 * holds no such request any more (the user cancelled it, another administrator decided it, or an
 * earlier attempt of ours went through unanswered), so the stored one is closed as what it became,
 * APPROVED when the user is a member now and DECLINED otherwise, and the caller gets NOT_FOUND.
 *
 * On approve Telegram at once sends the member's chat_member update, and the update processor may
 * mark the request APPROVED before this write: the write then matches no pending row, and the row
 * is returned as it is.
 */
export async function decideJoinRequest(
  actor: AccountActor,
  deps: ServiceDeps,
  query: JoinRequestQuery,
  target: { channelId: number; userId: number },
  approve: boolean,
) {
  const channel = await requireLinkChannel(actor, deps, target.channelId, 'write');
  const { prisma } = deps.db;
  const request = await prisma.joinRequest.findFirst({
    where: { channelId: channel.id, userId: BigInt(target.userId), status: 'PENDING', ...partnerRequestScope(actor) },
    select: { id: true, accountId: true, channelId: true, chatId: true, userId: true, inviteLinkId: true },
  });
  if (!request) throw noPendingRequest(target.channelId, target.userId);

  try {
    await deps.telegram.decideJoinRequest(target.channelId, target.userId, approve);
  } catch (error) {
    if (error instanceof AppError && error.details.reason === 'JOIN_REQUEST_MISSING') {
      await closeVanishedRequest(deps, request.id, target);
    }
    throw error;
  }

  const status: JoinRequestStatus = approve ? 'APPROVED' : 'DECLINED';
  const at = new Date();
  await prisma.$transaction([
    prisma.joinRequest.updateMany({ where: { id: request.id, status: 'PENDING' }, data: { status, decidedAt: at } }),
    prisma.memberEvent.createMany({
      data: [
        {
          accountId: request.accountId,
          channelId: request.channelId,
          chatId: request.chatId,
          userId: request.userId,
          kind: approve ? 'JOIN_REQUEST_APPROVED' : 'JOIN_REQUEST_DECLINED',
          inviteLinkId: request.inviteLinkId,
          at,
          joinRequestId: request.id,
        },
      ],
      skipDuplicates: true,
    }),
  ]);
  return prisma.joinRequest.findUniqueOrThrow({ ...query, where: { id: request.id } });
}

/** Telegram no longer has the request: the stored one stops being pending, as APPROVED if the user got in. */
async function closeVanishedRequest(deps: ServiceDeps, requestId: string, target: { channelId: number; userId: number }) {
  let status: JoinRequestStatus = 'DECLINED';
  try {
    const member = await deps.telegram.getMemberStatus(target.channelId, target.userId);
    if (['creator', 'administrator', 'member', 'restricted'].includes(member)) status = 'APPROVED';
  } catch (error) {
    deps.log.warn({ ...target, err: error }, 'could not read the member status of a vanished join request; closing it as declined');
  }
  await deps.db.prisma.joinRequest.updateMany({ where: { id: requestId, status: 'PENDING' }, data: { status, decidedAt: new Date() } });
}
