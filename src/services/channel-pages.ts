import type { Prisma } from '../generated/prisma/client.ts';
import { visiblePartnerId } from '../auth/access.ts';
import type { AccountActor } from '../auth/actor.ts';
import type { ServiceDeps } from './deps.ts';
import { notFound } from '../errors.ts';
import { pageArgs, parseInput } from './input-rules.ts';
import { channelStateError } from './channel-ownership.ts';

/** The channel's relations listed a page at a time. */
type PagedRelation = 'joinRequests' | 'memberEvents';

export interface ChannelRelationPage<R extends PagedRelation> {
  relation: R;
  channelId: number;
  /** With it, NOT_FOUND unless it is a link of the channel the actor may see. */
  inviteLinkId?: string | null;
  page: number;
  limit: number;
  where: R extends 'joinRequests' ? Prisma.JoinRequestWhereInput : Prisma.MemberEventWhereInput;
  orderBy: object[];
  /** What the GraphQL selection asks of each item (plugin-prisma's query). */
  query: { select?: object; include?: object };
}

/**
 * One page of a channel's relation with the exact total, in one statement (relationJoins): the
 * channel within the account (none: NOT_FOUND; one whose state forbids reading: its error), the
 * named link, the page with what the selection asks for, and the count. The same statements
 * whatever the page size.
 */
export async function listChannelRelationPage<R extends PagedRelation>(
  actor: AccountActor,
  deps: ServiceDeps,
  spec: ChannelRelationPage<R>,
) {
  parseInput(pageArgs, { page: spec.page, limit: spec.limit });
  const partnerId = visiblePartnerId(actor);
  const { relation, where } = spec;
  const select = {
    status: true,
    _count: { select: { [relation]: { where } } },
    [relation]: { ...spec.query, where, orderBy: spec.orderBy, skip: (spec.page - 1) * spec.limit, take: spec.limit },
    ...(spec.inviteLinkId && {
      inviteLinks: { where: { id: spec.inviteLinkId, ...(partnerId !== null ? { partnerId } : {}) }, select: { id: true } },
    }),
  } as Prisma.ChannelSelect;
  const channel = await deps.db.prisma.channel.findUnique({
    relationLoadStrategy: 'join',
    where: { accountId_telegramId: { accountId: actor.accountId, telegramId: BigInt(spec.channelId) } },
    select,
  });
  if (!channel) throw notFound(`Channel ${spec.channelId} not found`);
  const refusal = channelStateError(channel.status, spec.channelId, 'read');
  if (refusal) throw refusal;
  // The computed select defeats Prisma's result type.
  const found = channel as unknown as { inviteLinks?: { id: string }[]; _count: Record<R, number> } & Record<R, object[]>;
  if (spec.inviteLinkId && !found.inviteLinks?.length) {
    throw notFound(`Invite link ${spec.inviteLinkId} not found in channel ${spec.channelId}`);
  }
  return { page: spec.page, limit: spec.limit, total: found._count[relation], items: found[relation] };
}
