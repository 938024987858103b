import { connectChannel, listChannels } from '../services/channels.ts';
import type { Builder } from './builder.ts';

export function addChannelTypes(builder: Builder) {
  builder.prismaObject('Channel', {
    select: { id: true },
    fields: (t) => ({
      id: t.exposeID('id'),
      telegramId: t.expose('telegramId', { type: 'SafeInt' }),
      title: t.exposeString('title'),
      username: t.exposeString('username', { nullable: true }),
      botIsAdmin: t.exposeBoolean('botIsAdmin'),
      botCanInviteUsers: t.exposeBoolean('botCanInviteUsers'),
    }),
  });

  builder.queryFields((t) => ({
    channels: t.prismaField({
      type: ['Channel'],
      resolve: (query, _root, _args, ctx) => listChannels(ctx.viewer, ctx.deps, query),
    }),
  }));

  builder.mutationFields((t) => ({
    connectChannel: t.prismaField({
      type: 'Channel',
      args: { telegramId: t.arg({ type: 'SafeInt', required: true }) },
      resolve: (query, _root, args, ctx) => connectChannel(ctx.viewer, ctx.deps, query, args.telegramId),
    }),
  }));
}
