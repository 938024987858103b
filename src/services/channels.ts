import type { Prisma } from '../generated/prisma/client.ts';
import type { Context } from '../context.ts';
import { AppError, conflict, forbidden, notFound } from '../errors.ts';
import type { ChatBotStatus } from '../adapters/telegram.ts';
import { requireFullToken } from './access.ts';

type ChannelQuery = { select?: Prisma.ChannelSelect; include?: Prisma.ChannelInclude };

/**
 * Asks Telegram about the helper bot in the chat and stores the channel. The bot must be an
 * administrator with can_invite_users; a stored channel gets its latest bot status either way.
 */
export async function connectChannel(ctx: Context, query: ChannelQuery, telegramId: number) {
  requireFullToken(ctx);
  const key = { accountId_telegramId: { accountId: ctx.viewer.accountId, telegramId: BigInt(telegramId) } };
  let status: ChatBotStatus;
  try {
    status = await ctx.app.telegram.getChatStatus(telegramId);
  } catch (error) {
    // Kicked, or the chat is gone: Telegram answers with an error instead of a status.
    if (error instanceof AppError && error.extensions.reason === 'BOT_NOT_IN_CHANNEL') {
      await ctx.app.db.prisma.channel.updateMany({
        where: key.accountId_telegramId,
        data: { botIsAdmin: false, botCanInviteUsers: false },
      });
    }
    throw error;
  }
  const fields = {
    title: status.title,
    username: status.username,
    botIsAdmin: status.botIsAdmin,
    botCanInviteUsers: status.botCanInviteUsers,
  };
  if (!status.botIsMember || !status.botIsAdmin || !status.botCanInviteUsers) {
    await ctx.app.db.prisma.channel.updateMany({ where: key.accountId_telegramId, data: fields });
    if (!status.botIsMember) {
      throw conflict(`The helper bot is not added to channel ${telegramId}`, {
        reason: 'BOT_NOT_IN_CHANNEL',
        channelId: telegramId,
      });
    }
    throw forbidden(`The helper bot has no rights to manage invite links in channel ${telegramId}`, {
      reason: 'BOT_RIGHTS_MISSING',
      channelId: telegramId,
    });
  }
  return ctx.app.db.prisma.channel.upsert({
    ...query,
    where: key,
    create: { accountId: ctx.viewer.accountId, telegramId: BigInt(telegramId), ...fields },
    update: fields,
  });
}

/** The account's channel with this Telegram id, or NOT_FOUND. */
export async function findChannel(ctx: Context, telegramId: number) {
  const channel = await ctx.app.db.prisma.channel.findUnique({
    where: { accountId_telegramId: { accountId: ctx.viewer.accountId, telegramId: BigInt(telegramId) } },
    select: { id: true, telegramId: true },
  });
  if (!channel) throw notFound(`Channel ${telegramId} not found`);
  return channel;
}
