import { createPartner, listPartners } from '../services/partners.ts';
import { positiveInt } from '../services/input-rules.ts';
import type { Builder } from './builder.ts';

export function addPartnerTypes(builder: Builder) {
  builder.prismaObject('Partner', {
    fields: (t) => ({
      id: t.exposeID('id'),
      externalId: t.exposeInt('externalId'),
      title: t.exposeString('title'),
    }),
  });

  builder.queryFields((t) => ({
    partners: t.prismaField({
      type: ['Partner'],
      resolve: (query, _root, _args, ctx) => listPartners(ctx.viewer, ctx.deps, query),
    }),
  }));

  builder.mutationFields((t) => ({
    createPartner: t.prismaField({
      type: 'Partner',
      args: {
        externalId: t.arg.int({ required: true, validate: positiveInt }),
        title: t.arg.string({ required: true }),
      },
      resolve: (query, _root, args, ctx) => createPartner(ctx.viewer, ctx.deps, query, args),
    }),
  }));
}
