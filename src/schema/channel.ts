import { builder } from './builder.ts';
import { connectChannel } from '../services/channels.ts';

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
    resolve: (query, _root, _args, ctx) =>
      ctx.app.db.prisma.channel.findMany({
        ...query,
        where: { accountId: ctx.viewer.accountId },
        orderBy: [{ title: 'asc' }, { id: 'asc' }],
      }),
  }),
}));

builder.mutationFields((t) => ({
  connectChannel: t.prismaField({
    type: 'Channel',
    args: { telegramId: t.arg({ type: 'SafeInt', required: true }) },
    resolve: (query, _root, args, ctx) => connectChannel(ctx, query, args.telegramId),
  }),
}));
