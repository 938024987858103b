import {
  getArgumentValues,
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';
import { queryFromInfo } from '@pothos/plugin-prisma';
import {
  loadShortLinks,
  ShortLinkOperation,
  type ShortLinkInput as ShortLinkInputShape,
  type ShortLinksField,
} from '../services/short-links.ts';
import type { Context } from './context.ts';
import type { Builder } from './builder.ts';

interface ShortLinkFailureShape {
  index: number;
  code: string;
  message: string;
}

interface CreateShortLinksPayloadShape {
  shortLinks: (object | null)[];
  failures: ShortLinkFailureShape[];
}

/**
 * Every field of this operation that runs the same mutation field as `info` (aliases included),
 * with its arguments, in the order graphql-js executes them: what the service needs to send the
 * items of all of them to amoCRM as one batch.
 */
function sameFieldsInOperation(info: GraphQLResolveInfo): ShortLinksField[] {
  const fieldDef = info.parentType.getFields()[info.fieldName]!;
  const found = new Map<string, ShortLinksField>();
  const seenFragments = new Set<string>();
  const included = (node: Parameters<typeof getDirectiveValues>[1]) =>
    getDirectiveValues(GraphQLSkipDirective, node, info.variableValues)?.if !== true &&
    getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues)?.if !== false;
  const visit = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (!included(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        if (selection.name.value === info.fieldName && !found.has(key)) {
          const args = getArgumentValues(fieldDef, selection, info.variableValues) as { input: ShortLinkInputShape[] };
          found.set(key, { key, input: args.input });
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet);
      } else {
        const name = selection.name.value;
        const fragment = info.fragments[name];
        if (fragment && !seenFragments.has(name)) {
          seenFragments.add(name);
          visit(fragment.selectionSet);
        }
      }
    }
  };
  visit(info.operation.selectionSet);
  return [...found.values()];
}

/** The request's operation and its createShortLinks fields, handed to the service as one batch. */
const operations = new WeakMap<Context, { operation: object; batch: ShortLinkOperation }>();

function shortLinkOperation(ctx: Context, info: GraphQLResolveInfo): ShortLinkOperation {
  let entry = operations.get(ctx);
  if (entry?.operation !== info.operation) {
    let fields: ShortLinksField[];
    try {
      fields = sameFieldsInOperation(info);
    } catch (error) {
      ctx.deps.log.warn({ err: error }, 'could not read the other createShortLinks fields; sending this one alone');
      fields = [];
    }
    entry = { operation: info.operation, batch: new ShortLinkOperation(ctx.viewer, ctx.deps, fields) };
    operations.set(ctx, entry);
  }
  return entry.batch;
}

export function addShortLinkTypes(builder: Builder) {
  const ShortLinkEntityType = builder.enumType('ShortLinkEntityType', { values: ['CONTACTS'] as const });

  const ShortLink = builder.prismaObject('ShortLink', {
    select: { id: true },
    fields: (t) => ({
      id: t.exposeID('id'),
      url: t.expose('url', { type: 'URL', description: 'The short link returned by amoCRM' }),
      targetUrl: t.expose('targetUrl', { type: 'URL', description: 'The page it leads to' }),
      accountId: t.exposeInt('amoAccountId', { description: 'amoCRM account id' }),
      entityType: t.expose('entityType', { type: ShortLinkEntityType }),
      entityId: t.exposeInt('entityId', { description: 'amoCRM contact id' }),
      inviteLink: t.relation('inviteLink', { nullable: true }),
      createdAt: t.expose('createdAt', { type: 'DateTime' }),
    }),
  });

  const ShortLinkFailure = builder.objectRef<ShortLinkFailureShape>('ShortLinkFailure').implement({
    fields: (t) => ({
      index: t.exposeInt('index', { description: 'Position in the input list' }),
      code: t.exposeString('code'),
      message: t.exposeString('message'),
    }),
  });

  const CreateShortLinksPayload = builder.objectRef<CreateShortLinksPayloadShape>('CreateShortLinksPayload').implement({
    fields: (t) => ({
      shortLinks: t.field({
        type: [ShortLink],
        nullable: { list: false, items: true },
        description: 'One per input item, in input order; null where that item failed',
        resolve: (payload) => payload.shortLinks as never,
      }),
      failures: t.field({ type: [ShortLinkFailure], resolve: (payload) => payload.failures }),
    }),
  });

  const ShortLinkInput = builder.inputType('ShortLinkInput', {
    fields: (t) => ({
      url: t.field({ type: 'URL', required: true }),
      entityType: t.field({ type: ShortLinkEntityType, defaultValue: 'CONTACTS' }),
      entityId: t.int({ required: true }),
      inviteLinkId: t.id(),
    }),
  });

  builder.mutationFields((t) => ({
    createShortLinks: t.field({
      type: CreateShortLinksPayload,
      description:
        'amoCRM POST /api/v4/short_links: one short link per contact, in input order; at most 1000 items. The createShortLinks fields of one operation are sent together, 250 per amoCRM request.',
      args: { input: t.arg({ type: [ShortLinkInput], required: true }) },
      resolve: async (_root, args, ctx, info) => {
        const outcome = await shortLinkOperation(ctx, info).run({ key: String(info.path.key), input: args.input });
        return loadShortLinks(ctx.viewer, ctx.deps, queryFromInfo({ context: ctx, info, path: ['shortLinks'] }), outcome);
      },
    }),
  }));
}
