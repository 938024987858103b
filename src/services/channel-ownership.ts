import { randomBytes } from 'node:crypto';
import type { ChannelStatus } from '../generated/prisma/client.ts';
import type { AccountActor } from '../auth/actor.ts';
import type { ServiceDeps } from './deps.ts';
import { conflict, notFound } from '../errors.ts';

/**
 * Who may manage a Telegram chat's links. The helper bot is shared, so its rights in a chat prove
 * nothing about the caller: connectChannel makes a PENDING claim with a code, and the claim becomes
 * the chat's one VERIFIED connection once the code appears in the chat's description
 * (verifyChannel). Several accounts may hold pending claims on one chat at once, so nobody can
 * squat on a channel they do not control; the first to verify wins, and the database's partial
 * unique index (channels_verified_telegram_id_key) settles a race between two verifications.
 */

export const VERIFICATION_TTL_MS = 24 * 60 * 60 * 1000;
export const VERIFICATION_CODE_PREFIX = 'inviteql-';
// 32 letters and digits without the look-alikes 0/o and 1/l: 256 % 32 = 0, so every byte maps unbiased.
const CODE_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
const CODE_LENGTH = 12;

/**
 * A fresh code (60 random bits). Stored as it is: it proves control only by showing up in the
 * chat's public description, and only for the claim it was issued to, so knowing it gives nothing.
 */
export function newVerificationCode(): string {
  const bytes = randomBytes(CODE_LENGTH);
  return VERIFICATION_CODE_PREFIX + Array.from(bytes, (byte) => CODE_ALPHABET[byte % CODE_ALPHABET.length]).join('');
}

/**
 * What connectChannel writes about ownership: nothing for a verified channel; a pending claim keeps
 * its unexpired code (one already put in the description stays good); otherwise a new code.
 */
export function claimFields(
  own: { status: ChannelStatus; verificationCode: string | null; verificationExpiresAt: Date | null } | null,
  now = Date.now(),
) {
  if (own?.status === 'VERIFIED') return {};
  const live = own?.status === 'PENDING' && own.verificationCode !== null && (own.verificationExpiresAt?.getTime() ?? 0) > now;
  if (live) return { status: 'PENDING' as const };
  return {
    status: 'PENDING' as const,
    verificationCode: newVerificationCode(),
    verificationExpiresAt: new Date(now + VERIFICATION_TTL_MS),
  };
}

/** The code as a whole word of the description. */
export const descriptionHasCode = (description: string | null, code: string) =>
  description !== null && description.split(/\s+/).includes(code);

/** The same answer whichever account holds the chat: nothing about it is revealed. */
export const connectedElsewhere = (telegramId: number) =>
  conflict(`Channel ${telegramId} is connected to another account`, { reason: 'CHANNEL_CONNECTED_ELSEWHERE', channelId: telegramId });

export const notVerified = (telegramId: number) =>
  conflict(`Channel ${telegramId} is not verified yet: put its verification code in the channel's description and call verifyChannel`, {
    reason: 'CHANNEL_NOT_VERIFIED',
    channelId: telegramId,
  });

/** CONFLICT when another account holds the chat's verified connection. */
export async function assertNotConnectedElsewhere(deps: ServiceDeps, accountId: string, telegramId: number): Promise<void> {
  const holder = await deps.db.prisma.channel.findFirst({
    where: { telegramId: BigInt(telegramId), status: 'VERIFIED', accountId: { not: accountId } },
    select: { id: true },
  });
  if (holder) throw connectedElsewhere(telegramId);
}

export type LinkAccess = 'read' | 'write';

/**
 * Why a channel in this state refuses link calls, or null. A pending channel refuses them all; a
 * superseded one (another account held the chat first) lists its links but changes nothing.
 */
export function channelStateError(status: ChannelStatus, telegramId: number, access: LinkAccess) {
  if (status === 'PENDING') return notVerified(telegramId);
  if (status === 'SUPERSEDED' && access === 'write') return connectedElsewhere(telegramId);
  return null;
}

/** The account's channel with this Telegram id, if its state allows this use of its links. */
export async function requireLinkChannel(actor: AccountActor, deps: ServiceDeps, telegramId: number, access: LinkAccess) {
  const channel = await deps.db.prisma.channel.findUnique({
    where: { accountId_telegramId: { accountId: actor.accountId, telegramId: BigInt(telegramId) } },
    select: { id: true, telegramId: true, status: true },
  });
  if (!channel) throw notFound(`Channel ${telegramId} not found`);
  const refusal = channelStateError(channel.status, telegramId, access);
  if (refusal) throw refusal;
  return { id: channel.id, telegramId: channel.telegramId };
}
