import { Prisma } from '../generated/prisma/client.ts';
import type { ChannelStatus } from '../generated/prisma/client.ts';
import { PREPARED_STATEMENT_MARK } from '../db/prepared-statements.ts';
import { pageRowJsonSql, shapeOfSelect, type PresentRows, type RowShape } from './invite-link-json.ts';
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

/** Columns of invite_links (alias `l`), or of invite_link_stats (alias `st`), that the orders sort on. */
const ORDER_COLUMNS: Record<OrderField, { column: string; stats?: true; nullable?: true }> = {
  CREATED_AT: { column: 'created_at' },
  UPDATED_AT: { column: 'updated_at', nullable: true },
  NAME: { column: 'name' },
  BUDGET: { column: 'budget' },
  EXPIRE_DATE: { column: 'expire_date', nullable: true },
  MEMBER_LIMIT: { column: 'member_limit', nullable: true },
  JOINS: { column: 'joins', stats: true },
  SUBSCRIBERS: { column: 'subscribers', stats: true },
  COST_PER_SUBSCRIBER: { column: 'cost_per_subscriber', stats: true, nullable: true },
};
export const DEFAULT_ORDER: InviteLinkOrder[] = [{ field: 'CREATED_AT', direction: 'DESC' }];

/**
 * The page's order, as asked; links without a value sort last in either direction; ties break on
 * id so pages never overlap. `inner` sorts invite_links `l` (stats columns from `st`), `outer` the
 * page's rows `p`, which carry the stats columns as `stats_<column>`; `statsColumns` lists those.
 */
export function orderSql(orderBy: readonly InviteLinkOrder[]) {
  const order = orderBy.length > 0 ? orderBy : DEFAULT_ORDER;
  const inner: string[] = [];
  const outer: string[] = [];
  const statsColumns = new Set<string>();
  for (const { field, direction } of order) {
    const { column, stats, nullable } = ORDER_COLUMNS[field];
    const sort = `${direction === 'ASC' ? 'ASC' : 'DESC'}${nullable ? ' NULLS LAST' : ''}`;
    if (stats) statsColumns.add(column);
    inner.push(`${stats ? 'st' : 'l'}.${column} ${sort}`);
    outer.push(`p.${stats ? `stats_${column}` : column} ${sort}`);
  }
  const tie = order[0]!.direction === 'ASC' ? 'ASC' : 'DESC';
  inner.push(`l.id ${tie}`);
  outer.push(`p.id ${tie}`);
  return { inner: inner.join(', '), outer: outer.join(', '), statsColumns: [...statsColumns] };
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
  return { tagIds, typeIds, check };
}

/**
 * The tag-group test as SQL over a sorted tag-id array (`tagIds`: invite_links.tag_ids, or the
 * same column of a counting table), one condition per group: one of the group's tags, or
 * (withoutType) no tag of the group's type in the account.
 */
export function tagGroupsConditionsSql(groups: readonly TagGroupFilter[], tagIds: string, accountId: Prisma.Sql): Prisma.Sql[] {
  const ids = Prisma.raw(tagIds);
  return groups.map((group) => {
    const tags = group.tags ?? [];
    const alternatives: Prisma.Sql[] = [];
    if (tags.length) alternatives.push(Prisma.sql`${ids} && ${[...tags]}::uuid[]`);
    if (group.withoutType) {
      const typeTest = group.tagTypeId ? Prisma.sql`type_id = ${group.tagTypeId}::uuid` : Prisma.sql`type_id IS NULL`;
      alternatives.push(Prisma.sql`NOT ${ids} && ARRAY(SELECT id FROM tags WHERE account_id = ${accountId} AND ${typeTest})`);
    }
    return alternatives.length === 1 ? alternatives[0]! : Prisma.sql`(${Prisma.join(alternatives, ' OR ')})`;
  });
}

export function validatePage(page: number, limit: number): void {
  parseInput(pageArgs, { page, limit });
}

/** LIKE and ILIKE take `%`, `_` and `\\` in a pattern as wildcards: escaped, a name is a plain substring. */
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, '\\$&');

/** What a page of links (and its total) is filtered by; partnerId is the visible partner (see visiblePartnerId). */
export interface LinkFilter {
  name?: string | null;
  creatorId?: number | null;
  partnerId?: string | null;
  linkIds?: readonly string[] | null;
  tagGroups?: readonly TagGroupFilter[] | null;
}

/**
 * Where the filter is tested: invite_links (alias `l`), or one of the narrow tables the triggers
 * keep for totals (alias `s`): invite_link_search (lowercased name and tag ids) and
 * invite_link_tag_sets (tag ids, no name). Those two hold neither creators, partners nor ids.
 */
export type FilterTarget = 'links' | 'search' | 'tagSets';

/**
 * The one filter builder: the conditions a link must meet, besides being in the channel, for the
 * page and for its total alike. `name_lower LIKE lower(pattern)` is what `name ILIKE pattern`
 * computes, without lowercasing every candidate again.
 */
export function linkFilterSql(filter: LinkFilter, target: FilterTarget, accountId: Prisma.Sql): Prisma.Sql[] {
  const conditions: Prisma.Sql[] = [];
  const onLinks = target === 'links';
  if (!onLinks && (filter.creatorId != null || filter.partnerId != null || filter.linkIds)) {
    throw new Error(`${target} cannot test creators, partners or link ids`);
  }
  if (filter.name) {
    const pattern = `%${escapeLike(filter.name)}%`;
    if (target === 'tagSets') throw new Error('tag sets cannot test names');
    conditions.push(onLinks ? Prisma.sql`l.name ILIKE ${pattern}` : Prisma.sql`s.name_lower LIKE lower(${pattern})`);
  }
  if (filter.creatorId != null) conditions.push(Prisma.sql`l.creator_id = ${BigInt(filter.creatorId)}::bigint`);
  if (filter.partnerId != null) conditions.push(Prisma.sql`l.partner_id = ${filter.partnerId}::uuid`);
  if (filter.linkIds) conditions.push(Prisma.sql`l.id = ANY(${[...filter.linkIds]}::uuid[])`);
  conditions.push(...tagGroupsConditionsSql(filter.tagGroups ?? [], onLinks ? 'l.tag_ids' : 's.tag_ids', accountId));
  return conditions;
}

const and = (conditions: Prisma.Sql[]) => Prisma.join(conditions, ' AND ');

/**
 * The exact number of a channel's (`channelId`: an SQL expression) links that match, the cheapest
 * way: with no filter but tag groups (or none), a sum over invite_link_tag_sets, the per-channel
 * counts of links by their exact set of tags: O(distinct sets) rather than O(links); with a name
 * too, a count over invite_link_search; otherwise a count over invite_links.
 */
export function linkTotalSql(filter: LinkFilter, channelId: Prisma.Sql, accountId: Prisma.Sql): Prisma.Sql {
  if (filter.creatorId == null && filter.partnerId == null && !filter.linkIds) {
    if (!filter.name) {
      const conditions = [Prisma.sql`s.channel_id = ${channelId}`, ...linkFilterSql(filter, 'tagSets', accountId)];
      return Prisma.sql`(SELECT coalesce(sum(s.link_count), 0) FROM invite_link_tag_sets s WHERE ${and(conditions)})`;
    }
    const conditions = [Prisma.sql`s.channel_id = ${channelId}`, ...linkFilterSql(filter, 'search', accountId)];
    return Prisma.sql`(SELECT count(*) FROM invite_link_search s WHERE ${and(conditions)})`;
  }
  const conditions = [Prisma.sql`l.channel_id = ${channelId}`, ...linkFilterSql(filter, 'links', accountId)];
  return Prisma.sql`(SELECT count(*) FROM invite_links l WHERE ${and(conditions)})`;
}

/** Statements this marks are prepared (named) on each connection; see src/db/prepared-statements.ts. */
export const PREPARED = Prisma.raw(PREPARED_STATEMENT_MARK);

interface PageHead {
  status: ChannelStatus;
  total: number;
  tags?: TagGroupLookup['tags'];
  tagTypes?: TagGroupLookup['tagTypes'];
}

/** A page whose items are still the statement's JSON text, in the order asked. */
export interface InviteLinkJsonPage {
  page: number;
  limit: number;
  total: number;
  itemsJson: string;
}

/**
 * The first page has no OFFSET. PostgreSQL's generic plan for a prepared statement with an unknown
 * OFFSET expects to fetch many rows: it then collects every match (a name search's trigram index)
 * and sorts them, where a first page walks the order's index and stops at the limit, several times faster.
 */
const offsetSql = (offset: number) => (offset === 0 ? Prisma.empty : Prisma.sql` OFFSET ${offset}::bigint`);

/** A page's link reads its channel from the statement's channel row `c`. */
const CHANNEL_PRESENT: PresentRows = { channel: 'c' };
/** Ordered by a counter, the page's rows carry their stats row too (`stats_row`), which the link's stats read. */
const CHANNEL_AND_STATS_PRESENT: PresentRows = { channel: 'c', stats: '(p.stats_row)' };

/**
 * One page of a channel's links plus the total of all matches, in one statement: the channel row
 * (looked up within the account: no row, NOT_FOUND), the page shaped as JSON by `rows`
 * (invite-link-json.ts), the total (linkTotalSql) and, with a tag-group filter, the account's tags
 * and tag types it names. The same statement whatever the page size. The items stay JSON text.
 */
export async function listInviteLinksJson(
  actor: AccountActor,
  deps: ServiceDeps,
  rows: RowShape,
  listing: InviteLinkListing,
): Promise<InviteLinkJsonPage> {
  validatePage(listing.page, listing.limit);
  const groups = listing.filter?.tags?.length ? listing.filter.tags : null;
  const tagGroups = groups ? tagGroupsFilter(groups) : undefined;
  const filter: LinkFilter = {
    name: listing.name,
    creatorId: listing.creatorId,
    partnerId: visiblePartnerId(actor, listing.partnerId ?? null),
    linkIds: listing.filter?.linkIds,
    tagGroups: groups,
  };
  const accountId = Prisma.sql`${actor.accountId}::uuid`;
  // Links are reached through the channel, which belongs to the viewer's account; every link of a
  // channel belongs to the channel's account, so they need no account_id test of their own.
  const conditions = [Prisma.sql`l.channel_id = c.id`, ...linkFilterSql(filter, 'links', accountId)];
  const order = orderSql(listing.orderBy ?? DEFAULT_ORDER);
  // Every link has its stats row (a trigger adds it with the link), so an inner join loses none;
  // with the channel on both sides it walks invite_link_stats' (channel_id, counter, id) index.
  const statsJoined = order.statsColumns.length > 0;
  const statsJoin = statsJoined
    ? Prisma.raw(`, st AS stats_row, ${order.statsColumns.map((column) => `st.${column} AS stats_${column}`).join(', ')}
        FROM invite_links l JOIN invite_link_stats st ON st.invite_link_id = l.id AND st.channel_id = l.channel_id`)
    : Prisma.raw(' FROM invite_links l');
  const lookups = tagGroups
    ? Prisma.sql`,
      'tags', (SELECT coalesce(json_agg(json_build_object('id', t.id, 'typeId', t.type_id)), '[]') FROM tags t
               WHERE t.account_id = c.account_id AND t.id = ANY(${tagGroups.tagIds}::uuid[])),
      'tagTypes', (SELECT coalesce(json_agg(json_build_object('id', tt.id)), '[]') FROM tag_types tt
               WHERE tt.account_id = c.account_id AND tt.id = ANY(${tagGroups.typeIds}::uuid[]))`
    : Prisma.empty;
  const statement = Prisma.sql`${PREPARED}
SELECT json_build_object(
  'status', c.status,
  'total', ${linkTotalSql(filter, Prisma.sql`c.id`, accountId)}${lookups}
)::text AS head,
COALESCE((
  SELECT json_agg(${pageRowJsonSql(rows, statsJoined ? CHANNEL_AND_STATS_PRESENT : CHANNEL_PRESENT)} ORDER BY ${Prisma.raw(order.outer)})
  FROM (
    SELECT l.*${statsJoin}
    WHERE ${and(conditions)}
    ORDER BY ${Prisma.raw(order.inner)}
    LIMIT ${listing.limit}::int${offsetSql((listing.page - 1) * listing.limit)}
  ) p
), '[]'::json)::text AS items
FROM channels c
WHERE c.account_id = ${accountId} AND c.telegram_id = ${BigInt(listing.channelId)}::bigint`;

  const [found] = await deps.db.queryTextRows<'head' | 'items'>(statement);
  if (!found) throw notFound(`Channel ${listing.channelId} not found`);
  const head = JSON.parse(found.head!) as PageHead;
  const refusal = channelStateError(head.status, listing.channelId, 'read');
  if (refusal) throw refusal;
  if (tagGroups) tagGroups.check({ tags: head.tags!, tagTypes: head.tagTypes! });
  return { page: listing.page, limit: listing.limit, total: Number(head.total), itemsJson: found.items! };
}

/** The same page with its items as objects in the shape of the Prisma `query` Pothos planned. */
export async function listInviteLinks(
  actor: AccountActor,
  deps: ServiceDeps,
  query: { select?: Prisma.InviteLinkSelect; include?: Prisma.InviteLinkInclude },
  listing: InviteLinkListing,
) {
  const { itemsJson, ...page } = await listInviteLinksJson(actor, deps, shapeOfSelect('InviteLink', query), listing);
  return { ...page, items: JSON.parse(itemsJson) as object[] };
}
