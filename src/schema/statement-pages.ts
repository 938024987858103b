import {
  getArgumentValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isEnumType,
  isLeafType,
  isObjectType,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { isScalarOf, relationModel, type Model, type RowField, type RowShape } from '../services/invite-link-json.ts';
import type { InviteLinkJsonPage } from '../services/invite-link-listing.ts';

/**
 * Pages of links answered as the database shapes them. The links page's statement can shape its
 * items as the GraphQL response itself (keys are response keys, values as GraphQL serializes
 * them), so an operation whose one field is a page of links, selecting only what the statement
 * shapes, skips the executor's walk over every item and the JSON round trip: its root field's
 * resolver still runs as Pothos built it (argument coercion, validation, access), and gets the
 * row shape through its `info`. Anything else, and any error, runs on the executor as usual.
 */

/** Field extensions: the root fields whose resolver honours `rowShapeOf(info)`. */
export const STATEMENT_PAGE = { statementPage: true } as const;

/** Field extensions: a field the statement shapes as one of its relations (invite-link-json.ts). */
export const statementRelation = (relation: string, whenMissing?: Record<string, string | number | boolean | null>) => ({
  statementRelation: { relation, whenMissing },
});

interface FieldExtensions {
  statementPage?: true;
  statementRelation?: { relation: string; whenMissing?: Record<string, string | number | boolean | null> };
  pothosExposedField?: string;
  pothosPrismaRelationField?: { name: string };
}

const ROW_SHAPE = Symbol('rowShape');

/** The row shape a statement page's resolver is asked to answer with (only when this plugin runs it). */
export const rowShapeOf = (info: GraphQLResolveInfo): RowShape | undefined => (info as { [ROW_SHAPE]?: RowShape })[ROW_SHAPE];

/**
 * Scalars whose serialized value is the stored value as the statement writes it (DateTime: ISO
 * text; URL: links are stored as Telegram gives them, already in URL's canonical form).
 */
const STORED_SCALARS = new Set(['ID', 'String', 'Int', 'Float', 'Boolean', 'SafeInt', 'DateTime', 'URL', 'HexColorCode']);

function servesAsStored(type: GraphQLNamedType): boolean {
  if (isEnumType(type)) return type.getValues().every((value) => value.value === value.name);
  return STORED_SCALARS.has(type.name);
}

type Fragments = Record<string, FragmentDefinitionNode>;

/** The fields of a selection on `type`, fragments flattened; null when it has directives or another type's fragments. */
function fieldsOf(
  selectionSet: SelectionSetNode,
  type: GraphQLObjectType,
  fragments: Fragments,
  into: FieldNode[] = [],
): FieldNode[] | null {
  for (const selection of selectionSet.selections) {
    if (selection.directives?.length) return null;
    if (selection.kind === Kind.FIELD) {
      into.push(selection);
      continue;
    }
    const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments[selection.name.value];
    if (!fragment || (fragment.typeCondition && fragment.typeCondition.name.value !== type.name)) return null;
    if (!fieldsOf(fragment.selectionSet, type, fragments, into)) return null;
  }
  // A response key twice would need its selections merged: left to the executor.
  const keys = new Set(into.map(responseKey));
  return keys.size === into.length ? into : null;
}

const responseKey = (node: FieldNode) => node.alias?.value ?? node.name.value;

/** What the statement gives when a to-one relation has no row, keyed as the shape asks; null if it can't. */
function missingRow(shape: RowShape, defaults: Record<string, string | number | boolean | null>) {
  const row: Record<string, string | number | boolean | null> = {};
  for (const field of shape.fields) {
    if ('constant' in field) row[field.key] = field.constant;
    else if ('scalar' in field && Object.hasOwn(defaults, field.scalar)) row[field.key] = defaults[field.scalar]!;
    else return null;
  }
  return row;
}

/** The row shape of a selection on `type` (backed by `model`), or null when the statement can't answer all of it. */
function rowShape(type: GraphQLObjectType, model: Model, selectionSet: SelectionSetNode, fragments: Fragments): RowShape | null {
  const nodes = fieldsOf(selectionSet, type, fragments);
  if (!nodes) return null;
  const fields: RowField[] = [];
  for (const node of nodes) {
    const key = responseKey(node);
    if (node.name.value === '__typename') {
      fields.push({ key, constant: type.name });
      continue;
    }
    const definition = type.getFields()[node.name.value];
    if (!definition || definition.args.length) return null;
    const extensions = definition.extensions as FieldExtensions;
    const named = getNamedType(definition.type);
    if (isLeafType(named)) {
      const exposed = extensions.pothosExposedField;
      if (!exposed || !isScalarOf(model, exposed) || !servesAsStored(named)) return null;
      fields.push({ key, scalar: exposed });
      continue;
    }
    const relation = extensions.statementRelation?.relation ?? extensions.pothosPrismaRelationField?.name;
    const related = relation && relationModel(model, relation);
    if (!relation || !related || !isObjectType(named) || !node.selectionSet) return null;
    const shape = rowShape(named, related, node.selectionSet, fragments);
    if (!shape) return null;
    const defaults = extensions.statementRelation?.whenMissing;
    const whenMissing = defaults ? missingRow(shape, defaults) : undefined;
    if (whenMissing === null) return null;
    fields.push({ key, relation, shape, ...(whenMissing && { whenMissing }) });
  }
  return { model, fields };
}

type PagePart = { key: string; number: 'page' | 'limit' | 'total' } | { key: string; constant: string } | { key: string; items: true };

interface PagePlan {
  operation: OperationDefinitionNode;
  field: GraphQLField<unknown, unknown>;
  node: FieldNode;
  fragments: Fragments;
  parts: PagePart[];
  items: RowShape;
}

const PAGE_NUMBERS = new Set(['page', 'limit', 'total']);

function planOf(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): PagePlan | null {
  const operation = getOperationAST(document, operationName);
  const query = schema.getQueryType();
  if (!operation || operation.operation !== 'query' || !query) return null;
  const fragments: Fragments = {};
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const roots = fieldsOf(operation.selectionSet, query, fragments);
  if (roots?.length !== 1) return null;
  const node = roots[0]!;
  const field = query.getFields()[node.name.value];
  if (!field || !(field.extensions as FieldExtensions).statementPage || !node.selectionSet) return null;
  const pageType = getNamedType(field.type);
  if (!isObjectType(pageType)) return null;
  const pageFields = fieldsOf(node.selectionSet, pageType, fragments);
  if (!pageFields) return null;
  const parts: PagePart[] = [];
  let items: RowShape = { model: 'InviteLink', fields: [] };
  for (const pageField of pageFields) {
    const key = responseKey(pageField);
    const name = pageField.name.value;
    if (name === '__typename') parts.push({ key, constant: pageType.name });
    else if (PAGE_NUMBERS.has(name)) parts.push({ key, number: name as 'page' | 'limit' | 'total' });
    else if (name === 'items' && pageField.selectionSet) {
      const itemType = getNamedType(pageType.getFields().items!.type);
      const shape = isObjectType(itemType) ? rowShape(itemType, 'InviteLink', pageField.selectionSet, fragments) : null;
      if (!shape) return null;
      items = shape;
      parts.push({ key, items: true });
    } else return null;
  }
  return { operation, field, node, fragments, parts, items };
}

/** Whether the plugin answers this operation itself (it still falls back to the executor on any error). */
export const isStatementPage = (schema: GraphQLSchema, document: DocumentNode, operationName?: string) =>
  planOf(schema, document, operationName) !== null;

/** Runs the plan's one field through its own resolver, and writes the response from the page it returns; null: let the executor run it. */
async function runPlan(plan: PagePlan, args: ExecutionArgs): Promise<string | null> {
  const variables = getVariableValues(args.schema, plan.operation.variableDefinitions ?? [], args.variableValues ?? {});
  if (variables.errors) return null;
  const key = responseKey(plan.node);
  let fieldArgs: Record<string, unknown>;
  try {
    fieldArgs = getArgumentValues(plan.field, plan.node, variables.coerced);
  } catch {
    return null;
  }
  const info: GraphQLResolveInfo & { [ROW_SHAPE]: RowShape } = {
    fieldName: plan.node.name.value,
    fieldNodes: [plan.node],
    returnType: plan.field.type,
    parentType: args.schema.getQueryType()!,
    path: { prev: undefined, key, typename: args.schema.getQueryType()!.name },
    schema: args.schema,
    fragments: plan.fragments,
    rootValue: args.rootValue,
    operation: plan.operation,
    variableValues: variables.coerced,
    [ROW_SHAPE]: plan.items,
  };
  let page: InviteLinkJsonPage;
  try {
    page = (await plan.field.resolve!(args.rootValue, fieldArgs, args.contextValue, info)) as InviteLinkJsonPage;
  } catch {
    return null; // the executor runs it again and reports the error as it always does
  }
  if (typeof page?.itemsJson !== 'string') throw new Error(`${plan.field.name} did not answer with the row shape it was given`);
  // One join: a flat string. Concatenating around the items would leave a rope that yoga's Response
  // flattens again, one more copy of the items per request.
  const pieces = [`{"data":{${JSON.stringify(key)}:{`];
  plan.parts.forEach((part, i) => {
    const value = 'items' in part ? page.itemsJson : 'number' in part ? String(page[part.number]) : JSON.stringify(part.constant);
    pieces.push(`${i ? ',' : ''}${JSON.stringify(part.key)}:`, value);
  });
  pieces.push('}}}');
  return pieces.join('');
}

/** A page answered as its text: `stringify` is what yoga's result processors write; `data` is parsed only if asked for. */
export interface StatementPageResult {
  readonly data: Record<string, unknown>;
  stringify(): string;
}

/**
 * The planner for the edge's GraphQL server: for an operation it can answer, a function that runs
 * it (null from that function: let the executor run it); for any other, undefined. Plans are kept
 * per parsed document (yoga caches those).
 */
export function statementPages() {
  const plans = new WeakMap<DocumentNode, Map<string, PagePlan | null>>();
  return (args: ExecutionArgs) => {
    let byName = plans.get(args.document);
    if (!byName) plans.set(args.document, (byName = new Map()));
    const name = args.operationName ?? '';
    if (!byName.has(name)) byName.set(name, planOf(args.schema, args.document, args.operationName));
    const plan = byName.get(name);
    if (!plan) return undefined;
    return async (executionArgs: ExecutionArgs): Promise<StatementPageResult | null> => {
      const text = await runPlan(plan, executionArgs);
      if (text === null) return null;
      let data: Record<string, unknown> | undefined;
      return {
        get data() {
          return (data ??= (JSON.parse(text) as { data: Record<string, unknown> }).data);
        },
        stringify: () => text,
      };
    };
  };
}
