// The raw-SQL floor: a bare node:http server that answers the benchmark's GraphQL requests with
// ONE SQL statement each. The database builds the whole response JSON (json_build_object/json_agg),
// node passes the text through untouched. Named (prepared) statements, a pool of 10 connections.
// It is what the GraphQL server would cost with no GraphQL, ORM or auth layer at all.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { SANDBOX_ACCOUNT_ID } from '../src/sandbox/demo-data.ts';
import { Prisma } from '../src/generated/prisma/client.ts';
import { linkFilterSql, linkTotalSql, orderSql, type InviteLinkOrder } from '../src/services/invite-link-listing.ts';
import { PAGE_SIZE } from './queries.ts';

export interface SqlStatement {
  /** Prepared-statement name: one per distinct text. */
  name: string;
  text: string;
  values: unknown[];
}

/** Runs a statement whose single row has a single text column, the response body. */
export type SqlRunner = (statement: SqlStatement) => Promise<string | undefined>;

type Variables = Record<string, unknown>;
/** One handler per operationName; issue 5's amoCRM line adds its own here. */
export type FloorHandler = (variables: Variables) => SqlStatement;

class BadRequest extends Error {}

const statementNames = new Map<string, string>();
function statement(text: string, values: unknown[]): SqlStatement {
  let name = statementNames.get(text);
  if (!name) {
    name = `floor_${statementNames.size + 1}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}

interface TagGroup {
  tagTypeId?: string | null;
  withoutType?: boolean | null;
  tags?: string[] | null;
}

/**
 * inviteLinks(channelId, limit 20, name?, filter.tags?, orderBy?) as
 * `{"data":{"inviteLinks":{"total":N,"items":[...]}}}`, with each link's stats when ordered by one
 * of them. Links are reached through the channel, which is looked up within the account, so the
 * links need no account_id test of their own (every link of a channel belongs to the channel's account).
 */
export function inviteLinksSql(variables: Variables): Prisma.Sql {
  const channelId = variables.channelId;
  if (typeof channelId !== 'number' || !Number.isSafeInteger(channelId)) throw new BadRequest('channelId');
  const name = typeof variables.name === 'string' && variables.name !== '' ? variables.name : null;
  const filter = variables.filter as { tags?: TagGroup[] | null } | null | undefined;
  if (filter?.tags?.some((group) => !group.withoutType && !group.tags?.length)) throw new BadRequest('empty tag group');
  const orderBy = (variables.orderBy as InviteLinkOrder[] | undefined) ?? [];
  const withStats = orderBy.length > 0;
  const accountId = Prisma.sql`${SANDBOX_ACCOUNT_ID}::uuid`;
  // The link's own sorted tag ids (invite_links.tag_ids) answer a group without a subquery per link;
  // the total is counted as the GraphQL server counts it (tag-set counts, or invite_link_search with a name).
  const linkFilter = { name, tagGroups: filter?.tags ?? [] };
  const conditions = [Prisma.sql`l.channel_id = c.id`, ...linkFilterSql(linkFilter, 'links', accountId)];
  const order = orderSql(orderBy);
  const stats = withStats
    ? Prisma.sql`,
      'stats', json_build_object('joins', p.stats_joins, 'leaves', p.stats_leaves, 'subscribers', p.stats_subscribers,
        'pendingJoinRequests', p.stats_pending_join_requests, 'costPerJoin', p.stats_cost_per_join, 'costPerSubscriber', p.stats_cost_per_subscriber)`
    : Prisma.empty;
  const from = withStats
    ? Prisma.sql`, st.joins AS stats_joins, st.leaves AS stats_leaves, st.subscribers AS stats_subscribers,
        st.pending_join_requests AS stats_pending_join_requests, st.cost_per_join AS stats_cost_per_join,
        st.cost_per_subscriber AS stats_cost_per_subscriber
      FROM invite_links l JOIN invite_link_stats st ON st.invite_link_id = l.id AND st.channel_id = l.channel_id`
    : Prisma.sql` FROM invite_links l`;

  return Prisma.sql`
SELECT json_build_object('data', json_build_object('inviteLinks', json_build_object(
  'total', ${linkTotalSql(linkFilter, Prisma.sql`c.id`, accountId)},
  'items', COALESCE((
    SELECT json_agg(json_build_object(
      'id', p.id,
      'name', p.name,
      'inviteLink', p.invite_link,
      'budget', p.budget,
      'createdAt', to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'channel', json_build_object('title', c.title),
      'tags', COALESCE((
        SELECT json_agg(json_build_object(
          'name', t.name,
          'color', t.color,
          'type', CASE WHEN tt.id IS NULL THEN NULL ELSE json_build_object('name', tt.name) END
        ) ORDER BY t.name)
        FROM invite_link_tags lt
        JOIN tags t ON t.id = lt.tag_id
        LEFT JOIN tag_types tt ON tt.id = t.type_id
        WHERE lt.invite_link_id = p.id
      ), '[]'::json)${stats}
    ) ORDER BY ${Prisma.raw(order.outer)})
    FROM (
      SELECT l.id, l.name, l.invite_link, l.budget, l.created_at, l.updated_at, l.expire_date, l.member_limit${from}
      WHERE ${Prisma.join(conditions, ' AND ')}
      ORDER BY ${Prisma.raw(order.inner)}
      LIMIT ${PAGE_SIZE}
    ) p
  ), '[]'::json)
)))::text AS body
FROM channels c
WHERE c.account_id = ${accountId} AND c.telegram_id = ${String(channelId)}::bigint`;
}

export function inviteLinksStatement(variables: Variables): SqlStatement {
  const sql = inviteLinksSql(variables);
  return statement(sql.text, sql.values);
}

export const floorHandlers: Record<string, FloorHandler> = {
  BenchDefaultPage: inviteLinksStatement,
  BenchTagFilter: inviteLinksStatement,
  BenchNameSearch: inviteLinksStatement,
  BenchCostPerSubscriber: inviteLinksStatement,
};

const NOT_FOUND_BODY = JSON.stringify({ errors: [{ message: 'Channel not found' }], data: null });

function send(res: ServerResponse, status: number, body: string) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function handle(run: SqlRunner, handlers: Record<string, FloorHandler>) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST' || req.url !== '/graphql') return send(res, 404, '{"errors":[{"message":"Not found"}]}');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let sql: SqlStatement;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { operationName?: string; variables?: Variables };
        const handler = handlers[body.operationName ?? ''];
        if (!handler) throw new BadRequest(`unknown operation ${body.operationName}`);
        sql = handler(body.variables ?? {});
      } catch (error) {
        return send(res, 400, JSON.stringify({ errors: [{ message: String((error as Error).message) }] }));
      }
      run(sql).then(
        (text) => send(res, 200, text ?? NOT_FOUND_BODY),
        (error: Error) => send(res, 500, JSON.stringify({ errors: [{ message: error.message }] })),
      );
    });
  };
}

export interface Floor {
  url: string;
  close(): Promise<void>;
}

export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** The floor on PostgreSQL through `pg` directly. */
export async function startPgFloor(connectionString: string, poolSize = 10): Promise<Floor> {
  const pool = new pg.Pool({ connectionString, max: poolSize, connectionTimeoutMillis: 5000 });
  const run: SqlRunner = async ({ name, text, values }) => {
    const result = await pool.query<{ body: string }>({ name, text, values });
    return result.rows[0]?.body;
  };
  const server = createServer(handle(run, floorHandlers));
  const url = await listen(server);
  return {
    url,
    close: async () => {
      await closeServer(server);
      await pool.end();
    },
  };
}

/** The floor on an open PGlite (a single connection; only for the not-representative fallback). */
export async function startPgliteFloor(client: PGlite): Promise<Floor> {
  const run: SqlRunner = async ({ text, values }) => {
    const result = await client.query<{ body: string }>(text, values);
    return result.rows[0]?.body;
  };
  const server = createServer(handle(run, floorHandlers));
  const url = await listen(server);
  return { url, close: () => closeServer(server) };
}
