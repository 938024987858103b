import type { Prisma } from '../generated/prisma/client.ts';
import type { AccountActor } from '../auth/actor.ts';
import type { ServiceDeps } from './deps.ts';
import { AppError, conflict, forbidden, notFound } from '../errors.ts';
import type { ChatBotStatus } from '../adapters/telegram.ts';
import { accountScope, requireFullToken } from '../auth/access.ts';
import { isUniqueViolation } from '../db/errors.ts';
import {
  assertNotConnectedElsewhere,
  claimFields,
  connectedElsewhere,
  descriptionHasCode,
  requireLinkChannel,
} from './channel-ownership.ts';

type ChannelQuery = { select?: Prisma.ChannelSelect; include?: Prisma.ChannelInclude };

/**
 * Asks Telegram about the helper bot in the chat and stores the channel. The bot must be an
 * administrator with can_invite_users; a stored channel gets its latest bot status either way.
 * A chat another account holds is refused before Telegram is asked. A new connection is PENDING
 * with a verification code (see channel-ownership.ts); an unexpired code is kept, so a retried
 * connect does not invalidate one already put in the description.
 */
export async function connectChannel(actor: AccountActor, deps: ServiceDeps, query: ChannelQuery, telegramId: number) {
  requireFullToken(actor);
  const key = { accountId_telegramId: { accountId: actor.accountId, telegramId: BigInt(telegramId) } };
  await assertNotConnectedElsewhere(deps, actor.accountId, telegramId);
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
  const own = await deps.db.prisma.channel.findUnique({
    where: key,
    select: { status: true, verificationCode: true, verificationExpiresAt: true },
  });
  const claim = claimFields(own);
  return deps.db.prisma.channel.upsert({
    ...query,
    where: key,
    create: { accountId: actor.accountId, telegramId: BigInt(telegramId), ...fields, ...claim },
    update: { ...fields, ...claim },
  });
}

/**
 * Completes a pending connection: the chat's description (getChat) must contain the claim's code.
 * An expired code is refused (connectChannel issues a new one); a verified channel is returned as it is.
 */
export async function verifyChannel(actor: AccountActor, deps: ServiceDeps, query: ChannelQuery, telegramId: number) {
  requireFullToken(actor);
  const { prisma } = deps.db;
  const channel = await prisma.channel.findUnique({
    where: { accountId_telegramId: { accountId: actor.accountId, telegramId: BigInt(telegramId) } },
    select: { id: true, status: true, verificationCode: true, verificationExpiresAt: true },
  });
  if (!channel) throw notFound(`Channel ${telegramId} not found: connect it first (connectChannel)`);
  if (channel.status === 'VERIFIED') return prisma.channel.findUniqueOrThrow({ ...query, where: { id: channel.id } });
  await assertNotConnectedElsewhere(deps, actor.accountId, telegramId);
  const code = channel.verificationCode;
  if (!code || !channel.verificationExpiresAt || channel.verificationExpiresAt.getTime() <= Date.now()) {
    throw conflict(`The verification code of channel ${telegramId} has expired: call connectChannel for a new one`, {
      reason: 'VERIFICATION_EXPIRED',
      channelId: telegramId,
    });
  }
  const description = await deps.telegram.getChatDescription(telegramId);
  if (!descriptionHasCode(description, code)) {
    throw conflict(
      `The description of channel ${telegramId} does not contain its verification code ${code}: add it, then call verifyChannel again`,
      {
        reason: 'VERIFICATION_CODE_NOT_FOUND',
        channelId: telegramId,
      },
    );
  }
  try {
    const verified = await prisma.channel.update({
      ...query,
      where: { id: channel.id },
      data: { status: 'VERIFIED', verificationCode: null, verificationExpiresAt: null },
    });
    // Members who came while ownership was being proven count too: their updates are applied again.
    await prisma.telegramUpdate.updateMany({
      where: { chatId: BigInt(telegramId), kind: { in: ['chat_member', 'chat_join_request'] }, processedAt: { not: null } },
      data: { processedAt: null },
    });
    return verified;
  } catch (error) {
    // Another account verified the same chat first.
    if (isUniqueViolation(error)) throw connectedElsewhere(telegramId);
    throw error;
  }
}

/** The account's channel with this Telegram id, or NOT_FOUND; CONFLICT while its state forbids link changes. */
export const findChannel = (actor: AccountActor, deps: ServiceDeps, telegramId: number) =>
  requireLinkChannel(actor, deps, telegramId, 'write');

export const listChannels = (actor: AccountActor, deps: ServiceDeps, query: ChannelQuery) =>
  deps.db.prisma.channel.findMany({ ...query, where: accountScope(actor), orderBy: [{ title: 'asc' }, { id: 'asc' }] });
