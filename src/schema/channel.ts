import { connectChannel, listChannels, verifyChannel } from '../services/channels.ts';
import type { Builder } from './builder.ts';

interface ChannelVerificationShape {
  code: string;
  expiresAt: Date;
}

export function addChannelTypes(builder: Builder) {
  const ChannelStatus = builder.enumType('ChannelStatus', {
    description: "Who may manage the channel's links",
    values: {
      PENDING: {
        description:
          'Connected, ownership not proven yet: put verification.code in the channel description, then verifyChannel. Link calls answer CONFLICT CHANNEL_NOT_VERIFIED.',
      },
      VERIFIED: { description: "The channel's one live connection." },
      SUPERSEDED: {
        description:
          'Another account held the channel first: its links list, but link changes answer CONFLICT CHANNEL_CONNECTED_ELSEWHERE.',
      },
    } as const,
  });

  const ChannelVerification = builder.objectRef<ChannelVerificationShape>('ChannelVerification').implement({
    fields: (t) => ({
      code: t.exposeString('code', {
        description: "Put this in the channel's description (anywhere, as a word of its own), then call verifyChannel",
      }),
      expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'After this, connectChannel issues a new code' }),
    }),
  });

  builder.prismaObject('Channel', {
    fields: (t) => ({
      id: t.exposeID('id'),
      telegramId: t.expose('telegramId', { type: 'SafeInt' }),
      title: t.exposeString('title'),
      username: t.exposeString('username', { nullable: true }),
      botIsAdmin: t.exposeBoolean('botIsAdmin'),
      botCanInviteUsers: t.exposeBoolean('botCanInviteUsers'),
      status: t.expose('status', { type: ChannelStatus }),
      verification: t.field({
        type: ChannelVerification,
        nullable: true,
        description: "The pending claim's code; null once verified",
        select: { status: true, verificationCode: true, verificationExpiresAt: true },
        resolve: (channel) =>
          channel.status === 'PENDING' && channel.verificationCode && channel.verificationExpiresAt
            ? { code: channel.verificationCode, expiresAt: channel.verificationExpiresAt }
            : null,
      }),
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
      description:
        "Checks the helper bot's rights and stores the channel; a new connection is PENDING with a verification code. CONFLICT CHANNEL_CONNECTED_ELSEWHERE when another account holds the channel",
      args: { telegramId: t.arg({ type: 'SafeInt', required: true }) },
      resolve: (query, _root, args, ctx) => connectChannel(ctx.viewer, ctx.deps, query, args.telegramId),
    }),
    verifyChannel: t.prismaField({
      type: 'Channel',
      description:
        "Reads the channel's description (getChat); when it contains the verification code, the channel becomes VERIFIED. CONFLICT VERIFICATION_CODE_NOT_FOUND, VERIFICATION_EXPIRED or CHANNEL_CONNECTED_ELSEWHERE otherwise",
      args: { telegramId: t.arg({ type: 'SafeInt', required: true }) },
      resolve: (query, _root, args, ctx) => verifyChannel(ctx.viewer, ctx.deps, query, args.telegramId),
    }),
  }));
}
