import { Prisma } from '../generated/prisma/client.ts';

/**
 * Shapes invite links as JSON in the database. A row shape lists the keys of each JSON object and
 * where each value comes from: a scalar column of the model, a constant, or a related row (or rows)
 * with a shape of its own. Two callers make shapes: the Prisma `select` that Pothos plans from a
 * GraphQL selection (`shapeOfSelect`: keys are model field names, the result is parsed and Pothos'
 * fields resolve over it), and the GraphQL selection itself (src/schema/statement-pages.ts: keys are
 * response keys, and the JSON is the response). A relation not listed here is left out; Pothos then
 * loads it on its own path (a batched loader), e.g. shortLinks. DateTime values come as ISO strings
 * with milliseconds, BigInt values as JSON numbers (Telegram ids fit in 53 bits).
 */

export type Model = 'InviteLink' | 'Channel' | 'Partner' | 'Tag' | 'TagType' | 'InviteLinkStats';

export type RowField =
  | { key: string; scalar: string }
  | { key: string; constant: string | number | boolean | null }
  | {
      key: string;
      relation: string;
      shape: RowShape;
      /** The JSON object to give when there is no related row (a to-one relation). */
      whenMissing?: Record<string, string | number | boolean | null>;
    };

export interface RowShape {
  model: Model;
  fields: RowField[];
}

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

/**
 * A link's tags ordered by name (the tags field's order), each as `wrap(row)`. Each tag's type is
 * joined as `<alias>_type` (Tag.type reads it there; PostgreSQL drops the join when nothing does).
 */
const linkTags = (wrap: (row: Prisma.Sql) => Prisma.Sql) => (parent: string, row: (alias: string) => Prisma.Sql, alias: string) =>
  Prisma.sql`COALESCE((SELECT json_agg(${wrap(row(alias))} ORDER BY ${Prisma.raw(`${alias}.name, ${alias}.id`)})
    FROM invite_link_tags ${Prisma.raw(`${alias}_lt`)} JOIN tags ${Prisma.raw(alias)} ON ${Prisma.raw(`${alias}.id = ${alias}_lt.tag_id`)}
    LEFT JOIN tag_types ${Prisma.raw(`${alias}_type`)} ON ${Prisma.raw(`${alias}_type.id = ${alias}.type_id`)}
    WHERE ${Prisma.raw(`${alias}_lt.invite_link_id = ${parent}.id`)}), '[]'::json)`;

/** Tag rows are shaped only inside linkTags, which has joined their type. */
const joinedTagType = (parent: string, row: (alias: string) => Prisma.Sql) =>
  Prisma.sql`CASE WHEN ${Prisma.raw(`${parent}_type.id`)} IS NULL THEN NULL ELSE ${row(`${parent}_type`)} END`;

const RELATIONS: Partial<Record<Model, Record<string, Relation>>> = {
  InviteLink: {
    channel: { model: 'Channel', sql: one('channels', 'id', 'channel_id') },
    partner: { model: 'Partner', sql: one('partners', 'id', 'partner_id') },
    stats: { model: 'InviteLinkStats', sql: one('invite_link_stats', 'invite_link_id', 'id') },
    // Prisma's shape: InviteLinkTag rows as `{ tag }`.
    tags: { model: 'Tag', sql: linkTags((row) => Prisma.sql`json_build_object('tag', ${row})`) },
    // The GraphQL tags field's shape: the Tag rows themselves.
    tagList: { model: 'Tag', sql: linkTags((row) => row) },
  },
  Tag: { type: { model: 'TagType', sql: joinedTagType } },
};

export const isScalarOf = (model: Model, field: string) => SCALARS[model].includes(field);

/** The model a relation of `model` leads to, if the statement can shape it. */
export function relationModel(model: Model, relation: string): Model | undefined {
  const relations = RELATIONS[model] ?? {};
  return Object.hasOwn(relations, relation) ? relations[relation]!.model : undefined;
}

function scalarSql(alias: string, field: string): Prisma.Sql {
  const ref = `${alias}.${column(field)}`;
  return Prisma.raw(DATE_FIELDS.has(field) ? `to_char(${ref} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')` : ref);
}

type Select = Record<string, unknown>;

/** What a Prisma query (or a relation's value) selects: `true` or `{}` (every scalar), `{ select }`, or `{ include }`. */
function selectOf(model: Model, value: unknown): Select {
  const every = () => Object.fromEntries(SCALARS[model].map((field) => [field, true]));
  if (typeof value !== 'object' || value === null) return every();
  const { select, include } = value as { select?: Select; include?: Select };
  if (select) return select;
  return { ...every(), ...include };
}

/** The row shape of a Prisma query on `model` (`{ select }`, `{ include }` or nothing), keyed by field names. */
export function shapeOfSelect(model: Model, query: unknown): RowShape {
  const fields: RowField[] = [];
  for (const [key, value] of Object.entries(selectOf(model, query))) {
    if (!value) continue;
    if (isScalarOf(model, key)) {
      fields.push({ key, scalar: key });
      continue;
    }
    const related = relationModel(model, key);
    if (!related) continue; // left to Pothos' own loading
    // tags are InviteLinkTag rows: the select names their `tag`.
    const nested =
      key === 'tags' && model === 'InviteLink'
        ? ((value as { select?: Select; include?: Select }).select ?? (value as { include?: Select }).include)?.tag
        : value;
    fields.push({ key, relation: key, shape: shapeOfSelect(related, nested) });
  }
  return { model, fields };
}

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
/** A key as an SQL literal: keys are GraphQL names or model fields, so they never need quoting. */
function keySql(key: string): Prisma.Sql {
  if (!NAME.test(key)) throw new Error(`not a name: ${key}`);
  return Prisma.raw(`'${key}'`);
}
/** A constant JSON value as an SQL literal (the statement's text stays the same for every request). */
const jsonSql = (value: unknown) => Prisma.raw(`'${JSON.stringify(value).replace(/'/g, "''")}'::json`);

/** Relations of a page's link that its statement already has as a row (relation → SQL naming the row). */
export type PresentRows = Readonly<Record<string, string>>;

const pageRows = new WeakMap<RowShape, Map<PresentRows, Prisma.Sql>>();

/**
 * rowJsonSql of a page's links (alias `p`), reading the `present` relations where the statement has
 * them; built once per shape and `present` (pass the same object each time): a planned operation keeps its shape.
 */
export function pageRowJsonSql(shape: RowShape, present: PresentRows): Prisma.Sql {
  let byPresent = pageRows.get(shape);
  if (!byPresent) pageRows.set(shape, (byPresent = new Map()));
  let sql = byPresent.get(present);
  if (!sql) byPresent.set(present, (sql = rowJsonSql(shape, 'p', 0, present)));
  return sql;
}

/**
 * `json_build_object(...)` of one row of `shape.model` at `alias`. `present`: relations of this row
 * that the statement already has as a row of its own (relation → alias), read there instead of looked up.
 */
function rowJsonSql(shape: RowShape, alias: string, depth = 0, present: PresentRows = {}): Prisma.Sql {
  const pairs: Prisma.Sql[] = [];
  let index = 0;
  for (const field of shape.fields) {
    const key = keySql(field.key);
    if ('scalar' in field) {
      pairs.push(Prisma.sql`${key}, ${scalarSql(alias, field.scalar)}`);
    } else if ('constant' in field) {
      pairs.push(Prisma.sql`${key}, ${jsonSql(field.constant)}`);
    } else {
      const relation = RELATIONS[shape.model]![field.relation]!;
      const childAlias = `j${depth}_${index++}`;
      const presentAs = Object.hasOwn(present, field.relation) ? present[field.relation] : undefined;
      let child = presentAs
        ? rowJsonSql(field.shape, presentAs, depth + 1)
        : relation.sql(alias, (a) => rowJsonSql(field.shape, a, depth + 1), childAlias);
      if (field.whenMissing) child = Prisma.sql`COALESCE(${child}, ${jsonSql(field.whenMissing)})`;
      pairs.push(Prisma.sql`${key}, ${child}`);
    }
  }
  // json_build_object takes at most 100 arguments: 50 keys, more than any model here has.
  return pairs.length ? Prisma.sql`json_build_object(${Prisma.join(pairs)})` : Prisma.sql`'{}'::json`;
}
