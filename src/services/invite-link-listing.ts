import type { Prisma } from '../generated/prisma/client.ts';
import { visiblePartnerId } from '../auth/access.ts';
import type { AccountActor } from '../auth/actor.ts';
import type { ServiceDeps } from './deps.ts';
import { notFound, validationFailed, type FieldError } from '../errors.ts';
import { pageArgs, parseInput, tagGroupRules } from './input-rules.ts';
import { channelStateError } from './channel-ownership.ts';

export type OrderField =
  'CREATED_AT' | 'UPDATED_AT' | 'NAME' | 'BUDGET' | 'EXPIRE_DATE' | 'MEMBER_LIMIT' | 'JOINS' | 'SUBSCRIBERS' | 'COST_PER_SUBSCRIBER';
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
  /** Only this partner's links; a partner token always sees its own partner's only. */
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
} as const satisfies Partial<Record<OrderField, keyof Prisma.InviteLinkOrderByWithRelationInput>>;
/** Order fields read from the link's invite_link_stats row. */
const STATS_ORDER_COLUMNS = {
  JOINS: 'joins',
  SUBSCRIBERS: 'subscribers',
  COST_PER_SUBSCRIBER: 'costPerSubscriber',
} as const satisfies Partial<Record<OrderField, keyof Prisma.InviteLinkStatsOrderByWithRelationInput>>;
const NULLABLE_ORDER_FIELDS = new Set<OrderField>(['UPDATED_AT', 'EXPIRE_DATE', 'MEMBER_LIMIT', 'COST_PER_SUBSCRIBER']);
export const DEFAULT_ORDER: InviteLinkOrder[] = [{ field: 'CREATED_AT', direction: 'DESC' }];

/** Orders as asked; links without a value sort last; ties break on id so pages never overlap. */
export function orderByClause(orderBy: readonly InviteLinkOrder[]): Prisma.InviteLinkOrderByWithRelationInput[] {
  const order = orderBy.length > 0 ? orderBy : DEFAULT_ORDER;
  const clauses: Prisma.InviteLinkOrderByWithRelationInput[] = order.map(({ field, direction }) => {
    const sort = direction === 'ASC' ? 'asc' : 'desc';
    const order = NULLABLE_ORDER_FIELDS.has(field) ? { sort, nulls: 'last' as const } : sort;
    if (field in STATS_ORDER_COLUMNS) return { stats: { [STATS_ORDER_COLUMNS[field as keyof typeof STATS_ORDER_COLUMNS]]: order } };
    return { [ORDER_COLUMNS[field as keyof typeof ORDER_COLUMNS]]: order };
  });
  clauses.push({ id: order[0]!.direction === 'ASC' ? 'asc' : 'desc' });
  return clauses;
}

/** The account's tags and tag types a tag-group filter names, as looked up with the page. */
export interface TagGroupLookup {
  tags: { id: string; typeId: string | null }[];
  tagTypes: { id: string }[];
}

/**
 * Seed 001's tag groups: a link matches a group when it has one of the group's tags, or (with
 * withoutType) no tag of the group's type at all; it must match every group. A null type means
 * tags without a type. The groups' tags must be tags of that type in this account: the caller
 * looks up `tagIds` and `typeIds` in the account (in the same statement as the page) and passes
 * what it found to `check`, which throws NOT_FOUND or VALIDATION_FAILED before anything is returned.
 */
export function tagGroupsFilter(groups: readonly TagGroupFilter[]) {
  parseInput(tagGroupRules, groups, ['filter', 'tags']);

  const tagIds = [...new Set(groups.flatMap((group) => group.tags ?? []))];
  const typeIds = [...new Set(groups.map((group) => group.tagTypeId).filter((id): id is string => !!id))];
  const where = groups.map((group): Prisma.InviteLinkWhereInput => {
    const alternatives: Prisma.InviteLinkWhereInput[] = [];
    if ((group.tags ?? []).length) alternatives.push({ tagIds: { hasSome: [...group.tags!] } });
    if (group.withoutType) alternatives.push({ tags: { none: { tag: { typeId: group.tagTypeId ?? null } } } });
    return { OR: alternatives };
  });

  const check = ({ tags, tagTypes }: TagGroupLookup): void => {
    const errors: FieldError[] = [];
    const tagTypeOf = new Map(tags.map((tag) => [tag.id, tag.typeId]));
    const knownTypes = new Set(tagTypes.map((type) => type.id));
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
  };
  return { tagIds, typeIds, where, check };
}

/** Binds a value and returns its placeholder (`$n`): raw SQL never holds the values themselves. */
export type Bind = (value: unknown) => string;

/**
 * `tagGroupsFilter`'s test as SQL over a sorted tag-id array (`tagIds`: an expression such as
 * invite_links.tag_ids), one condition per group: one of the group's tags, or (withoutType) no
 * tag of the group's type in the account.
 */
export function tagGroupsConditionsSql(groups: readonly TagGroupFilter[], tagIds: string, accountId: string, bind: Bind): string[] {
  return groups.map((group) => {
    const tags = group.tags ?? [];
    const alternatives: string[] = [];
    if (tags.length) alternatives.push(`${tagIds} && ${bind([...tags])}::uuid[]`);
    if (group.withoutType) {
      const typeTest = group.tagTypeId ? `type_id = ${bind(group.tagTypeId)}::uuid` : 'type_id IS NULL';
      alternatives.push(`NOT ${tagIds} && ARRAY(SELECT id FROM tags WHERE account_id = ${accountId} AND ${typeTest})`);
    }
    return alternatives.length === 1 ? alternatives[0]! : `(${alternatives.join(' OR ')})`;
  });
}

/**
 * How many of a channel's links match these tag groups (none: all of them), summed over
 * invite_link_tag_sets, the per-channel counts of links by their exact set of tags (kept by
 * triggers, see its migration): O(distinct sets) rather than O(links).
 */
export function tagGroupsCountSql(groups: readonly TagGroupFilter[], scope: { channelId: string; accountId: string }, bind: Bind): string {
  const conditions = [`s.channel_id = ${scope.channelId}`, ...tagGroupsConditionsSql(groups, 's.tag_ids', scope.accountId, bind)];
  return `(SELECT coalesce(sum(s.link_count), 0) FROM invite_link_tag_sets s WHERE ${conditions.join(' AND ')})`;
}

export function validatePage(page: number, limit: number): void {
  parseInput(pageArgs, { page, limit });
}

/** LIKE and ILIKE take `%`, `_` and `\\` in a pattern as wildcards: escaped, a name is a plain substring. */
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, '\\$&');

/**
 * How many of a channel's links have `name` in their name, case-insensitively, and match these tag
 * groups, counted over invite_link_search (a narrow copy of each link's lowercased name and tag
 * ids, kept by triggers, see its migration). `name_lower LIKE lower(pattern)` is what
 * `name ILIKE pattern` computes, without lowercasing every candidate again.
 */
export function nameSearchCountSql(
  name: string,
  groups: readonly TagGroupFilter[],
  scope: { channelId: string; accountId: string },
  bind: Bind,
): string {
  const conditions = [
    `s.channel_id = ${scope.channelId}`,
    `s.name_lower LIKE '%' || lower(${bind(escapeLike(name))}) || '%'`,
    ...tagGroupsConditionsSql(groups, 's.tag_ids', scope.accountId, bind),
  ];
  return `(SELECT count(*) FROM invite_link_search s WHERE ${conditions.join(' AND ')})`;
}

/**
 * One page of a channel's links plus the total of all matches. One statement (relationJoins) reads
 * the channel row (looked up within the account: no row, NOT_FOUND), the page with every relation
 * the GraphQL selection asks for, and, with a tag-group filter, the account's tags and tag types it
 * names. The total, cheapest way first:
 *  - no filter but tag groups (or none): a sum over the channel's tag-set counts (tagGroupsCountSql);
 *  - a name, with or without tag groups: a count over invite_link_search (nameSearchCountSql);
 * each in a second statement run beside the first; with any other filter, an exact count of the
 * matches inside the first. The same number of statements whatever the page size.
 */
export async function listInviteLinks(
  actor: AccountActor,
  deps: ServiceDeps,
  query: { select?: Prisma.InviteLinkSelect; include?: Prisma.InviteLinkInclude },
  listing: InviteLinkListing,
) {
  validatePage(listing.page, listing.limit);
  const partnerId = visiblePartnerId(actor, listing.partnerId ?? null);
  const and: Prisma.InviteLinkWhereInput[] = [];
  if (listing.name) and.push({ name: { contains: escapeLike(listing.name), mode: 'insensitive' } });
  if (listing.creatorId != null) and.push({ creatorId: BigInt(listing.creatorId) });
  if (partnerId !== null) and.push({ partnerId });
  if (listing.filter?.linkIds) and.push({ id: { in: [...listing.filter.linkIds] } });
  const tagGroups = listing.filter?.tags?.length ? tagGroupsFilter(listing.filter.tags) : undefined;
  if (tagGroups) and.push(...tagGroups.where);
  // Links are reached through the channel, which belongs to the viewer's account; every link of a
  // channel belongs to the channel's account, so they need no account_id test of their own.
  const where: Prisma.InviteLinkWhereInput = { AND: and };

  const countedApart = listing.creatorId == null && partnerId === null && !listing.filter?.linkIds;
  const prisma = deps.db.prisma;
  const [channel, totalApart] = await Promise.all([
    prisma.channel.findUnique({
      relationLoadStrategy: 'join',
      where: { accountId_telegramId: { accountId: actor.accountId, telegramId: BigInt(listing.channelId) } },
      select: {
        status: true,
        ...(!countedApart && { _count: { select: { inviteLinks: { where } } } }),
        inviteLinks: {
          ...query,
          where,
          orderBy: orderByClause(listing.orderBy ?? DEFAULT_ORDER),
          skip: (listing.page - 1) * listing.limit,
          take: listing.limit,
        },
        ...(tagGroups && {
          account: {
            select: {
              tags: { where: { id: { in: tagGroups.tagIds } }, select: { id: true, typeId: true } },
              tagTypes: { where: { id: { in: tagGroups.typeIds } }, select: { id: true } },
            },
          },
        }),
      },
    }),
    countedApart ? countApart(actor, deps, listing) : undefined,
  ]);
  if (!channel) throw notFound(`Channel ${listing.channelId} not found`);
  const refusal = channelStateError(channel.status, listing.channelId, 'read');
  if (refusal) throw refusal;
  // The conditional selects defeat Prisma's result type: `account` is there exactly with tag groups,
  // `_count` exactly when the total is not counted apart.
  const found = channel as unknown as { account?: TagGroupLookup; _count?: { inviteLinks: number }; inviteLinks: object[] };
  if (tagGroups) tagGroups.check(found.account!);
  const total = totalApart ?? found._count!.inviteLinks;
  return { page: listing.page, limit: listing.limit, total, items: found.inviteLinks };
}

/** The total from tag-set counts, or from invite_link_search with a name (see listInviteLinks). */
async function countApart(actor: AccountActor, deps: ServiceDeps, listing: InviteLinkListing) {
  const values: unknown[] = [actor.accountId, BigInt(listing.channelId)];
  const bind: Bind = (value) => `$${values.push(value)}`;
  const scope = { channelId: '(SELECT id FROM channel)', accountId: '$1::uuid' };
  const groups = listing.filter?.tags ?? [];
  const count = listing.name ? nameSearchCountSql(listing.name, groups, scope, bind) : tagGroupsCountSql(groups, scope, bind);
  const [row] = await deps.db.prisma.$queryRawUnsafe<{ total: number }[]>(
    `WITH channel AS (SELECT id FROM channels WHERE account_id = $1::uuid AND telegram_id = $2::bigint) SELECT (${count})::int AS total`,
    ...values,
  );
  return Number(row!.total);
}
