import type { Prisma } from '../generated/prisma/client.ts';
import type { Context } from '../context.ts';
import { notFound, validationFailed, type FieldError } from '../errors.ts';
import { findChannel } from './channels.ts';

export type OrderField = 'CREATED_AT' | 'UPDATED_AT' | 'NAME' | 'BUDGET' | 'EXPIRE_DATE' | 'MEMBER_LIMIT';
export interface InviteLinkOrder {
  field: OrderField;
  direction: 'ASC' | 'DESC';
}
export interface TagGroupFilter {
  tagTypeId?: string | null;
  withoutType?: boolean | null;
  tags?: readonly string[] | null;
}
export interface InviteLinkListing {
  channelId: number;
  page: number;
  limit: number;
  name?: string | null;
  creatorId?: number | null;
  partnerId?: string | null;
  filter?: { tags?: readonly TagGroupFilter[] | null; linkIds?: readonly string[] | null } | null;
  orderBy?: readonly InviteLinkOrder[] | null;
}

const ORDER_COLUMNS = {
  CREATED_AT: 'createdAt',
  UPDATED_AT: 'updatedAt',
  NAME: 'name',
  BUDGET: 'budget',
  EXPIRE_DATE: 'expireDate',
  MEMBER_LIMIT: 'memberLimit',
} as const satisfies Record<OrderField, keyof Prisma.InviteLinkOrderByWithRelationInput>;
const NULLABLE_ORDER_FIELDS = new Set<OrderField>(['UPDATED_AT', 'EXPIRE_DATE', 'MEMBER_LIMIT']);
export const DEFAULT_ORDER: InviteLinkOrder[] = [{ field: 'CREATED_AT', direction: 'DESC' }];

/** Orders as asked; links without a value sort last; ties break on id so pages never overlap. */
export function orderByClause(orderBy: readonly InviteLinkOrder[]): Prisma.InviteLinkOrderByWithRelationInput[] {
  const order = orderBy.length > 0 ? orderBy : DEFAULT_ORDER;
  const clauses: Prisma.InviteLinkOrderByWithRelationInput[] = order.map(({ field, direction }) => {
    const sort = direction === 'ASC' ? 'asc' : 'desc';
    return { [ORDER_COLUMNS[field]]: NULLABLE_ORDER_FIELDS.has(field) ? { sort, nulls: 'last' } : sort };
  });
  clauses.push({ id: order[0]!.direction === 'ASC' ? 'asc' : 'desc' });
  return clauses;
}

/**
 * Seed 001's tag groups: a link matches a group when it has one of the group's tags, or (with
 * withoutType) no tag of the group's type at all; it must match every group. A null type means
 * tags without a type. The groups' tags must be tags of that type in this account.
 */
export async function tagGroupsWhere(
  ctx: Context,
  groups: readonly TagGroupFilter[],
): Promise<Prisma.InviteLinkWhereInput[]> {
  const errors: FieldError[] = [];
  groups.forEach((group, index) => {
    if (!group.withoutType && (group.tags ?? []).length === 0) {
      errors.push({ path: ['filter', 'tags', String(index)], message: 'needs at least one tag, or withoutType: true' });
    }
  });
  if (errors.length) throw validationFailed(errors);

  const tagIds = [...new Set(groups.flatMap((group) => group.tags ?? []))];
  const typeIds = [...new Set(groups.map((group) => group.tagTypeId).filter((id): id is string => !!id))];
  const prisma = ctx.app.db.prisma;
  const [tags, types] = await Promise.all([
    tagIds.length ? prisma.tag.findMany({ where: { accountId: ctx.viewer.accountId, id: { in: tagIds } }, select: { id: true, typeId: true } }) : [],
    typeIds.length ? prisma.tagType.findMany({ where: { accountId: ctx.viewer.accountId, id: { in: typeIds } }, select: { id: true } }) : [],
  ]);
  const tagTypeOf = new Map(tags.map((tag) => [tag.id, tag.typeId]));
  const knownTypes = new Set(types.map((type) => type.id));
  const missingType = typeIds.find((id) => !knownTypes.has(id));
  if (missingType) throw notFound(`Tag type ${missingType} not found`);
  const missingTag = tagIds.find((id) => !tagTypeOf.has(id));
  if (missingTag) throw notFound(`Tag ${missingTag} not found`);
  groups.forEach((group, index) => {
    (group.tags ?? []).forEach((tagId, tagIndex) => {
      if ((tagTypeOf.get(tagId) ?? null) !== (group.tagTypeId ?? null)) {
        errors.push({
          path: ['filter', 'tags', String(index), 'tags', String(tagIndex)],
          message: group.tagTypeId ? `tag ${tagId} is not of type ${group.tagTypeId}` : `tag ${tagId} has a type`,
        });
      }
    });
  });
  if (errors.length) throw validationFailed(errors);

  return groups.map((group) => {
    const alternatives: Prisma.InviteLinkWhereInput[] = [];
    if ((group.tags ?? []).length) alternatives.push({ tags: { some: { tagId: { in: [...group.tags!] } } } });
    if (group.withoutType) alternatives.push({ tags: { none: { tag: { typeId: group.tagTypeId ?? null } } } });
    return { OR: alternatives };
  });
}

export function validatePage(page: number, limit: number): void {
  const errors: FieldError[] = [];
  if (!Number.isInteger(page) || page < 1) errors.push({ path: ['page'], message: 'must be 1 or more' });
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) errors.push({ path: ['limit'], message: 'must be between 1 and 100' });
  if (errors.length) throw validationFailed(errors);
}

/** Prisma passes `contains` into ILIKE as is: escape its wildcards so the name is a plain substring. */
const escapeLike = (text: string) => text.replace(/[\\%_]/g, '\\$&');

/** One page of a channel's links plus the total of all matches. */
export async function listInviteLinks(
  ctx: Context,
  query: { select?: Prisma.InviteLinkSelect; include?: Prisma.InviteLinkInclude },
  listing: InviteLinkListing,
) {
  validatePage(listing.page, listing.limit);
  const channel = await findChannel(ctx, listing.channelId);
  const and: Prisma.InviteLinkWhereInput[] = [];
  if (listing.name) and.push({ name: { contains: escapeLike(listing.name), mode: 'insensitive' } });
  if (listing.creatorId != null) and.push({ creatorId: BigInt(listing.creatorId) });
  if (listing.partnerId) and.push({ partnerId: listing.partnerId });
  if (listing.filter?.linkIds) and.push({ id: { in: [...listing.filter.linkIds] } });
  if (listing.filter?.tags?.length) and.push(...(await tagGroupsWhere(ctx, listing.filter.tags)));
  const where: Prisma.InviteLinkWhereInput = { accountId: ctx.viewer.accountId, channelId: channel.id, AND: and };

  const prisma = ctx.app.db.prisma;
  const [total, items] = await Promise.all([
    prisma.inviteLink.count({ where }),
    prisma.inviteLink.findMany({
      ...query,
      where,
      orderBy: orderByClause(listing.orderBy ?? DEFAULT_ORDER),
      skip: (listing.page - 1) * listing.limit,
      take: listing.limit,
    }),
  ]);
  return { page: listing.page, limit: listing.limit, total, items };
}
