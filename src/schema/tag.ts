import { createTag, createTagType, listTags, listTagTypes } from '../services/tags.ts';
import { requiredName, uuid } from '../services/input-rules.ts';
import type { Builder } from './builder.ts';

export function addTagTypes(builder: Builder) {
  builder.prismaObject('TagType', {
    fields: (t) => ({
      id: t.exposeID('id'),
      name: t.exposeString('name'),
      tags: t.relation('tags', { query: { orderBy: [{ name: 'asc' }, { id: 'asc' }] } }),
    }),
  });

  const Tag = builder.prismaObject('Tag', {
    fields: (t) => ({
      id: t.exposeID('id'),
      name: t.exposeString('name'),
      color: t.expose('color', { type: 'HexColorCode' }),
      type: t.relation('type', { nullable: true }),
    }),
  });

  builder.queryFields((t) => ({
    tagTypes: t.prismaField({
      type: ['TagType'],
      resolve: (query, _root, _args, ctx) => listTagTypes(ctx.viewer, ctx.deps, query),
    }),
    tags: t.prismaField({
      type: ['Tag'],
      resolve: (query, _root, _args, ctx) => listTags(ctx.viewer, ctx.deps, query),
    }),
  }));

  builder.mutationFields((t) => ({
    createTagType: t.prismaField({
      type: 'TagType',
      args: { name: t.arg.string({ required: true, validate: requiredName(64) }) },
      resolve: (query, _root, args, ctx) => createTagType(ctx.viewer, ctx.deps, query, args.name),
    }),
    createTag: t.prismaField({
      type: 'Tag',
      args: {
        name: t.arg.string({ required: true, validate: requiredName(64) }),
        color: t.arg({ type: 'HexColorCode', required: true }),
        typeId: t.arg.id({ validate: uuid.nullish() }),
      },
      resolve: (query, _root, args, ctx) => createTag(ctx.viewer, ctx.deps, query, args),
    }),
  }));
  return { Tag };
}
