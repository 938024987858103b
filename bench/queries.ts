// The benchmark's requests. Each line is one GraphQL request; the raw-SQL floor (bench/floor.ts)
// answers the same request body with the same JSON.

const ITEM_FIELDS = /* GraphQL */ `
      id
      name
      inviteLink
      budget
      createdAt
      channel { title }
      tags { name color type { name } }`;

/** What every line selects: a page of links with their channel and tags (tag type included). */
export const PAGE_SELECTION = /* GraphQL */ `
    total
    items {${ITEM_FIELDS}
    }`;

/** The cost-per-subscriber line's selection: the page's, plus the link's stats. */
export const STATS_PAGE_SELECTION = /* GraphQL */ `
    total
    items {${ITEM_FIELDS}
      stats { joins leaves subscribers pendingJoinRequests costPerJoin costPerSubscriber }
    }`;

export const PAGE_SIZE = 20;

/** The demo account's channel reserved for the benchmark (not one of the emulator's chats). */
export const BENCH_CHANNEL_TELEGRAM_ID = -1001000099999;

export interface BenchQuery {
  /** Short key used in the table and the JSON summary. */
  key: string;
  description: string;
  operationName: string;
  query: string;
  variables: Record<string, unknown>;
}

/** Ids and values the lines need, looked up after seeding. */
export interface BenchFixtures {
  channelTelegramId: number;
  /** A tag type and two of its tags: links with either tag. */
  anyOf: { tagTypeId: string; tagIds: [string, string] };
  /** A tag type: links with no tag of it. */
  withoutTypeId: string;
  /** Case-insensitive substring of a few per cent of the names. */
  nameSearch: string;
}

export function inviteLinkQueries(f: BenchFixtures): BenchQuery[] {
  return [
    {
      key: 'default',
      description: 'first page, default order (CREATED_AT DESC)',
      operationName: 'BenchDefaultPage',
      query: `query BenchDefaultPage($channelId: SafeInt!) {
  inviteLinks(channelId: $channelId, limit: ${PAGE_SIZE}) {${PAGE_SELECTION}
  }
}`,
      variables: { channelId: f.channelTelegramId },
    },
    {
      key: 'tagFilter',
      description: 'tag groups: one of two tags of one type AND no tag of another type',
      operationName: 'BenchTagFilter',
      query: `query BenchTagFilter($channelId: SafeInt!, $filter: InviteLinkFilter) {
  inviteLinks(channelId: $channelId, limit: ${PAGE_SIZE}, filter: $filter) {${PAGE_SELECTION}
  }
}`,
      variables: {
        channelId: f.channelTelegramId,
        filter: {
          tags: [
            { tagTypeId: f.anyOf.tagTypeId, tags: f.anyOf.tagIds },
            { tagTypeId: f.withoutTypeId, withoutType: true },
          ],
        },
      },
    },
    {
      key: 'nameSearch',
      description: `name contains "${f.nameSearch}" (case-insensitive)`,
      operationName: 'BenchNameSearch',
      query: `query BenchNameSearch($channelId: SafeInt!, $name: String) {
  inviteLinks(channelId: $channelId, limit: ${PAGE_SIZE}, name: $name) {${PAGE_SELECTION}
  }
}`,
      variables: { channelId: f.channelTelegramId, name: f.nameSearch },
    },
    {
      key: 'costPerSubscriber',
      description: 'cheapest subscribers first (COST_PER_SUBSCRIBER ASC, links without subscribers last), stats selected',
      operationName: 'BenchCostPerSubscriber',
      query: `query BenchCostPerSubscriber($channelId: SafeInt!, $orderBy: [InviteLinkOrder!]) {
  inviteLinks(channelId: $channelId, limit: ${PAGE_SIZE}, orderBy: $orderBy) {${STATS_PAGE_SELECTION}
  }
}`,
      variables: { channelId: f.channelTelegramId, orderBy: [{ field: 'COST_PER_SUBSCRIBER', direction: 'ASC' }] },
    },
  ];
}

/**
 * Issue 5's slot: the amoCRM short-links line(s). Return BenchQuery entries here (and teach
 * bench/floor.ts their operationName) and run.ts measures and reports them like the others.
 * Their ratios then count towards the overall "ratio" as well.
 */
export function amoCrmShortLinkQueries(_f: BenchFixtures): BenchQuery[] {
  return [];
}

export function benchQueries(f: BenchFixtures): BenchQuery[] {
  return [...inviteLinkQueries(f), ...amoCrmShortLinkQueries(f)];
}

export const requestBody = (q: BenchQuery) => JSON.stringify({ query: q.query, variables: q.variables, operationName: q.operationName });
