import { Prisma } from '../generated/prisma/client.ts';

/**
 * Shapes invite links as JSON in the database, in the shape Prisma would return for a `select`
 * (the one Pothos plans from the GraphQL selection): scalars under their field names, and the
 * relations below as nested objects. A relation it does not know is left out; Pothos then loads it
 * on its own path (a batched loader), e.g. shortLinks. DateTime values come as ISO strings with
 * milliseconds, BigInt values as JSON numbers (Telegram ids fit in 53 bits).
 */

type Select = Record<string, unknown>;
type Model = 'InviteLink' | 'Channel' | 'Partner' | 'Tag' | 'TagType' | 'InviteLinkStats';

const SCALARS: Record<Model, readonly string[]> = {
  InviteLink: Object.values(Prisma.InviteLinkScalarFieldEnum),
  Channel: Object.values(Prisma.ChannelScalarFieldEnum),
  Partner: Object.values(Prisma.PartnerScalarFieldEnum),
  Tag: Object.values(Prisma.TagScalarFieldEnum),
  TagType: Object.values(Prisma.TagTypeScalarFieldEnum),
  InviteLinkStats: Object.values(Prisma.InviteLinkStatsScalarFieldEnum),
};
const DATE_FIELDS = new Set(['createdAt', 'updatedAt', 'expireDate', 'revokeRequestedAt', 'verificationExpiresAt']);

/** Every model here maps its fields to snake_case columns. */
const column = (field: string) => field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

interface Relation {
  model: Model;
  /** The related row(s) as JSON, given the parent's alias, the row's JSON and a fresh alias. */
  sql(parent: string, row: (alias: string) => Prisma.Sql, alias: string): Prisma.Sql;
}

const one = (table: string, key: string, parentKey: string) => (parent: string, row: (alias: string) => Prisma.Sql, alias: string) =>
  Prisma.sql`(SELECT ${row(alias)} FROM ${Prisma.raw(table)} ${Prisma.raw(alias)} WHERE ${Prisma.raw(`${alias}.${key} = ${parent}.${parentKey}`)})`;

const RELATIONS: Partial<Record<Model, Record<string, Relation>>> = {
  InviteLink: {
    channel: { model: 'Channel', sql: one('channels', 'id', 'channel_id') },
    partner: { model: 'Partner', sql: one('partners', 'id', 'partner_id') },
    stats: { model: 'InviteLinkStats', sql: one('invite_link_stats', 'invite_link_id', 'id') },
    // InviteLinkTag rows as `{ tag }`, ordered by the tag's name (the tags field's order).
    tags: {
      model: 'Tag',
      sql: (parent, row, alias) =>
        Prisma.sql`COALESCE((SELECT json_agg(json_build_object('tag', ${row(alias)}) ORDER BY ${Prisma.raw(`${alias}.name, ${alias}.id`)})
          FROM invite_link_tags ${Prisma.raw(`${alias}_lt`)} JOIN tags ${Prisma.raw(alias)} ON ${Prisma.raw(`${alias}.id = ${alias}_lt.tag_id`)}
          WHERE ${Prisma.raw(`${alias}_lt.invite_link_id = ${parent}.id`)}), '[]'::json)`,
    },
  },
  Tag: { type: { model: 'TagType', sql: one('tag_types', 'id', 'type_id') } },
};

function scalarSql(alias: string, field: string): Prisma.Sql {
  const ref = `${alias}.${column(field)}`;
  return Prisma.raw(DATE_FIELDS.has(field) ? `to_char(${ref} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')` : ref);
}

const allScalars = (model: Model): Select => Object.fromEntries(SCALARS[model].map((field) => [field, true]));

/** What a query (or a relation's value) selects: `true` or `{}` (every scalar), `{ select }`, or `{ include }` (every scalar and those relations). */
export function selectOf(model: Model, value: unknown): Select {
  if (typeof value !== 'object' || value === null) return allScalars(model);
  const { select, include } = value as { select?: Select; include?: Select };
  if (select) return select;
  return { ...allScalars(model), ...include };
}

/** `json_build_object(...)` of one row of `model` at `alias`, as `select` asks. */
export function rowJsonSql(model: Model, select: Select, alias: string, depth = 0): Prisma.Sql {
  const pairs: Prisma.Sql[] = [];
  const scalars = SCALARS[model];
  const relations = RELATIONS[model] ?? {};
  let index = 0;
  for (const [key, value] of Object.entries(select)) {
    if (!value) continue;
    if (scalars.includes(key)) {
      pairs.push(Prisma.sql`${Prisma.raw(`'${key}'`)}, ${scalarSql(alias, key)}`);
      continue;
    }
    const relation = Object.hasOwn(relations, key) ? relations[key]! : undefined;
    if (!relation) continue; // left to Pothos' own loading
    // tags are InviteLinkTag rows: the select names their `tag`.
    const childSelect =
      relation === RELATIONS.InviteLink!.tags
        ? selectOf(
            'Tag',
            (value as { select?: { tag?: unknown }; include?: { tag?: unknown } }).select?.tag ??
              (value as { include?: { tag?: unknown } }).include?.tag,
          )
        : selectOf(relation.model, value);
    const childAlias = `j${depth}_${index++}`;
    const child = relation.sql(alias, (a) => rowJsonSql(relation.model, childSelect, a, depth + 1), childAlias);
    pairs.push(Prisma.sql`${Prisma.raw(`'${key}'`)}, ${child}`);
  }
  // json_build_object takes at most 100 arguments: 50 keys, more than any model here has.
  return pairs.length ? Prisma.sql`json_build_object(${Prisma.join(pairs)})` : Prisma.sql`'{}'::json`;
}
