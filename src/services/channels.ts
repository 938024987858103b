import type { Prisma } from '../generated/prisma/client.ts';
import type { AccountActor } from '../auth/actor.ts';
import type { ServiceDeps } from './deps.ts';
import { AppError, conflict, forbidden, notFound } from '../errors.ts';
import type { ChatBotStatus } from '../adapters/telegram.ts';
import { accountScope, requireFullToken } from '../auth/access.ts';

type ChannelQuery = { select?: Prisma.ChannelSelect; include?: Prisma.ChannelInclude };

/**
 * Asks Telegram about the helper bot in the chat and stores the channel. The bot must be an
 * administrator with can_invite_users; a stored channel gets its latest bot status either way.
 */
export async function connectChannel(actor: AccountActor, deps: ServiceDeps, query: ChannelQuery, telegramId: number) {
  requireFullToken(actor);
  const key = { accountId_telegramId: { accountId: actor.accountId, telegramId: BigInt(telegramId) } };
  let status: ChatBotStatus;
  try {
    status = await deps.telegram.getChatStatus(telegramId);
  } catch (error) {
    // Kicked, or the chat is gone: Telegram answers with an error instead of a status.
    if (error instanceof AppError && error.details.reason === 'BOT_NOT_IN_CHANNEL') {
      await deps.db.prisma.channel.updateMany({
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
    await deps.db.prisma.channel.updateMany({ where: key.accountId_telegramId, data: fields });
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
  return deps.db.prisma.channel.upsert({
    ...query,
    where: key,
    create: { accountId: actor.accountId, telegramId: BigInt(telegramId), ...fields },
    update: fields,
  });
}

/** The account's channel with this Telegram id, or NOT_FOUND. */
export async function findChannel(actor: AccountActor, deps: ServiceDeps, telegramId: number) {
  const channel = await deps.db.prisma.channel.findUnique({
    where: { accountId_telegramId: { accountId: actor.accountId, telegramId: BigInt(telegramId) } },
    select: { id: true, telegramId: true },
  });
  if (!channel) throw notFound(`Channel ${telegramId} not found`);
  return channel;
}

export const listChannels = (actor: AccountActor, deps: ServiceDeps, query: ChannelQuery) =>
  deps.db.prisma.channel.findMany({ ...query, where: accountScope(actor), orderBy: [{ title: 'asc' }, { id: 'asc' }] });
