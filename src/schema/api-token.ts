import { createApiToken, revokeApiToken } from '../services/api-token-management.ts';
import { positiveInt, requiredName, uuid } from '../services/input-rules.ts';
import type { Builder } from './builder.ts';

export function addApiTokenTypes(builder: Builder) {
  const ApiToken = builder.prismaObject('ApiToken', {
    select: { id: true },
    fields: (t) => ({
      id: t.exposeID('id'),
      name: t.exposeString('name'),
      partner: t.relation('partner', { nullable: true }),
      createdAt: t.expose('createdAt', { type: 'DateTime' }),
      revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    }),
  });

  interface ApiTokenCreatedShape {
    token: string;
    apiToken: { id: string };
  }

  const ApiTokenCreated = builder.objectRef<ApiTokenCreatedShape>('ApiTokenCreated').implement({
    fields: (t) => ({
      apiToken: t.field({ type: ApiToken, resolve: (created) => created.apiToken }),
      token: t.exposeString('token', { description: 'The secret, shown once; only a hash of it is stored' }),
    }),
  });

  builder.mutationFields((t) => ({
    createApiToken: t.field({
      type: ApiTokenCreated,
      args: {
        name: t.arg.string({ required: true, validate: requiredName(64) }),
        partnerExternalId: t.arg.int({ validate: positiveInt.nullish() }),
      },
      resolve: async (_root, args, ctx) => {
        const { apiToken, secret } = await createApiToken(ctx.viewer, ctx.deps, args);
        return { token: secret, apiToken };
      },
    }),
    revokeApiToken: t.prismaField({
      type: ApiToken,
      args: { id: t.arg.id({ required: true, validate: uuid }) },
      resolve: (query, _root, args, ctx) => revokeApiToken(ctx.viewer, ctx.deps, query, args.id),
    }),
  }));
}
