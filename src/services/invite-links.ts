import type { Prisma } from '../generated/prisma/client.ts';
import type { AccountActor } from '../auth/actor.ts';
import type { ServiceDeps } from './deps.ts';
import type { TelegramInviteLink, RegularLinkFields } from '../adapters/telegram.ts';
import { conflict, notFound, validationFailed, type FieldError } from '../errors.ts';
import { fieldErrorsOf, inviteLinkUpdateRules, parseInput, regularLinkRules } from './input-rules.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { TELEGRAM_LIMITS } from '../telegram-limits.ts';
import { findChannel } from './channels.ts';
import { notVerified, requireLinkChannel } from './channel-ownership.ts';
import { assertTagsExist } from './tags.ts';
import { partnerScope, requireFullToken } from '../auth/access.ts';
import { releaseIdempotencyKey, withIdempotencyKeyHeld } from './idempotency-keys.ts';
import { markRevoked, recordRevokeIntent, settleRevokeIntentAfterFailure } from './pending-revokes.ts';

type LinkQuery = { select?: Prisma.InviteLinkSelect; include?: Prisma.InviteLinkInclude };

export interface CreateRegularLinkInput {
  channelId: number;
  name: string;
  createsJoinRequest?: boolean | null;
  expireDate?: Date | null;
  memberLimit?: number | null;
  budget?: number | null;
  tagIds?: readonly string[] | null;
  idempotencyKey?: string | null;
}

export interface CreateSubscriptionLinkInput {
  channelId: number;
  name: string;
  subscriptionPeriod?: number | null;
  subscriptionPrice: number;
  budget?: number | null;
  tagIds?: readonly string[] | null;
  idempotencyKey?: string | null;
}

export interface UpdateInviteLinkInput {
  id: string;
  channelId: number;
  name?: string | null;
  expireDate?: Date | null;
  memberLimit?: number | null;
  createsJoinRequest?: boolean | null;
  budget?: number | null;
  tagIds?: readonly string[] | null;
}

/** Rules Telegram enforces too, checked first so a bad request never reaches it. */
function regularLinkErrors(fields: RegularLinkFields, now = new Date()): FieldError[] {
  const result = regularLinkRules(now).safeParse(fields);
  return result.success ? [] : fieldErrorsOf(result.error.issues, ['input']);
}

/**
 * A link of this account in this channel, unless the channel is pending verification; a partner
 * token sees only its partner's links.
 */
function ownedLinkWhere(actor: AccountActor, id: string, channelId: number): Prisma.InviteLinkWhereInput {
  return { id, chatId: BigInt(channelId), ...partnerScope(actor), channel: { status: { not: 'PENDING' } } };
}

export async function findInviteLink(actor: AccountActor, deps: ServiceDeps, query: LinkQuery, id: string, channelId: number) {
  const link = await deps.db.prisma.inviteLink.findFirst({ ...query, where: ownedLinkWhere(actor, id, channelId) });
  if (!link) {
    // Only on a miss: tell a pending channel apart from a missing link.
    const channel = await deps.db.prisma.channel.findUnique({
      where: { accountId_telegramId: { accountId: actor.accountId, telegramId: BigInt(channelId) } },
      select: { status: true },
    });
    if (channel?.status === 'PENDING') throw notVerified(channelId);
    throw notFound(`Invite link ${id} not found in channel ${channelId}`);
  }
  return link;
}

const findOwnedLink = (actor: AccountActor, deps: ServiceDeps, id: string, channelId: number) =>
  findInviteLink(actor, deps, {}, id, channelId);

interface NewLinkRecord {
  channel: { id: string; telegramId: bigint };
  created: TelegramInviteLink;
  kind: 'REGULAR' | 'SUBSCRIPTION';
  budget: number;
  tagIds: readonly string[];
  partnerId: string | null;
  idempotencyKey: string | null;
}

/**
 * Stores a link Telegram has just created. If storing fails, the Telegram link is revoked so no
 * live link exists without its row; a lost race on the idempotency key returns the winner's link.
 */
async function storeCreatedLink(actor: AccountActor, deps: ServiceDeps, query: LinkQuery, record: NewLinkRecord) {
  const { prisma } = deps.db;
  const chatId = Number(record.channel.telegramId);
  try {
    return await prisma.$transaction(async (tx) => {
      await assertTagsExist(tx, actor.accountId, record.tagIds);
      const link = await tx.inviteLink.create({
        data: {
          accountId: actor.accountId,
          channelId: record.channel.id,
          chatId: record.channel.telegramId,
          name: record.created.name ?? '',
          inviteLink: record.created.inviteLink,
          kind: record.kind,
          createsJoinRequest: record.created.createsJoinRequest,
          expireDate: record.created.expireDate,
          memberLimit: record.created.memberLimit,
          subscriptionPeriod: record.created.subscriptionPeriod,
          subscriptionPrice: record.created.subscriptionPrice,
          isRevoked: record.created.isRevoked,
          isBotCreated: true,
          creatorId: record.created.creatorId === null ? null : BigInt(record.created.creatorId),
          partnerId: record.partnerId,
          budget: record.budget,
          idempotencyKey: record.idempotencyKey,
          tags: { createMany: { data: record.tagIds.map((tagId) => ({ tagId })) } },
        },
        select: { id: true },
      });
      if (record.idempotencyKey) await releaseIdempotencyKey(tx, actor.accountId, record.idempotencyKey);
      return tx.inviteLink.findUniqueOrThrow({ ...query, where: { id: link.id } });
    });
  } catch (error) {
    await revokeOrphan(actor, deps, chatId, record.created.inviteLink, error);
    if (record.idempotencyKey && isUniqueViolation(error)) {
      const winner = await findByIdempotencyKey(actor, deps, query, record.idempotencyKey, record.partnerId);
      if (winner) return winner;
    }
    throw error;
  }
}

async function revokeOrphan(actor: AccountActor, deps: ServiceDeps, chatId: number, inviteLink: string, cause: unknown) {
  try {
    await deps.telegram.revokeInviteLink(chatId, inviteLink);
    deps.log.warn({ chatId, inviteLink, err: cause }, 'storing a created invite link failed; revoked it in Telegram');
  } catch (revokeError) {
    deps.log.error(
      { chatId, inviteLink, err: cause, revokeError },
      'storing a created invite link failed and revoking it failed too: revoke it by hand',
    );
  }
}

/**
 * The link an earlier create with this key made. Keys are unique per account, so a key that made
 * a link for another partner (or for no partner) is a CONFLICT: a retry never hands over a link
 * the caller could not have created.
 */
async function findByIdempotencyKey(
  actor: AccountActor,
  deps: ServiceDeps,
  query: LinkQuery,
  idempotencyKey: string,
  partnerId: string | null,
) {
  const where = { accountId_idempotencyKey: { accountId: actor.accountId, idempotencyKey } };
  const existing = await deps.db.prisma.inviteLink.findUnique({ where, select: { partnerId: true } });
  if (!existing) return null;
  if (existing.partnerId !== partnerId) {
    throw conflict('This idempotencyKey was already used for another invite link', { reason: 'IDEMPOTENCY_KEY_IN_USE' });
  }
  return deps.db.prisma.inviteLink.findUnique({ ...query, where });
}

async function precheckCreate(actor: AccountActor, deps: ServiceDeps, channelId: number, tagIds: readonly string[]) {
  const channel = await findChannel(actor, deps, channelId);
  await assertTagsExist(deps.db.prisma, actor.accountId, tagIds);
  return channel;
}

export async function createRegularLink(
  actor: AccountActor,
  deps: ServiceDeps,
  query: LinkQuery,
  input: CreateRegularLinkInput,
  partnerId: string | null = null,
) {
  if (partnerId === null) requireFullToken(actor);
  const fields: RegularLinkFields = {
    name: input.name,
    expireDate: input.expireDate ?? null,
    memberLimit: input.memberLimit ?? null,
    createsJoinRequest: input.createsJoinRequest ?? false,
  };
  const errors = regularLinkErrors(fields);
  if (errors.length) throw validationFailed(errors);
  return createLink(actor, deps, query, { ...input, kind: 'REGULAR', partnerId }, () =>
    deps.telegram.createInviteLink(input.channelId, fields),
  );
}

export async function createSubscriptionLink(actor: AccountActor, deps: ServiceDeps, query: LinkQuery, input: CreateSubscriptionLinkInput) {
  requireFullToken(actor);
  return createLink(actor, deps, query, { ...input, kind: 'SUBSCRIPTION', partnerId: null }, () =>
    deps.telegram.createSubscriptionInviteLink(input.channelId, {
      name: input.name,
      subscriptionPeriod: input.subscriptionPeriod ?? TELEGRAM_LIMITS.subscriptionPeriodSeconds,
      subscriptionPrice: input.subscriptionPrice,
    }),
  );
}

interface CreateLinkRequest {
  channelId: number;
  kind: 'REGULAR' | 'SUBSCRIPTION';
  partnerId: string | null;
  budget?: number | null;
  tagIds?: readonly string[] | null;
  idempotencyKey?: string | null;
}

/** Checks what can be checked locally, creates the link in Telegram, then stores it. */
async function createLink(
  actor: AccountActor,
  deps: ServiceDeps,
  query: LinkQuery,
  request: CreateLinkRequest,
  createInTelegram: () => Promise<TelegramInviteLink>,
) {
  const idempotencyKey = request.idempotencyKey;
  if (!idempotencyKey) return createAndStoreLink(actor, deps, query, request, createInTelegram);
  const findEarlier = () => findByIdempotencyKey(actor, deps, query, idempotencyKey, request.partnerId);
  const existing = await findEarlier();
  if (existing) return existing;
  return withIdempotencyKeyHeld(
    deps.db,
    actor.accountId,
    idempotencyKey,
    findEarlier,
    async () => (await findEarlier()) ?? createAndStoreLink(actor, deps, query, request, createInTelegram),
  );
}

async function createAndStoreLink(
  actor: AccountActor,
  deps: ServiceDeps,
  query: LinkQuery,
  request: CreateLinkRequest,
  createInTelegram: () => Promise<TelegramInviteLink>,
) {
  const tagIds = [...new Set(request.tagIds ?? [])];
  const channel = await precheckCreate(actor, deps, request.channelId, tagIds);
  const created = await createInTelegram();
  return storeCreatedLink(actor, deps, query, {
    channel,
    created,
    kind: request.kind,
    budget: request.budget ?? 0,
    tagIds,
    partnerId: request.partnerId,
    idempotencyKey: request.idempotencyKey ?? null,
  });
}

const given = <T>(value: T | null | undefined): value is T | null => value !== undefined;

export async function updateInviteLink(actor: AccountActor, deps: ServiceDeps, query: LinkQuery, input: UpdateInviteLinkInput) {
  requireFullToken(actor);
  await requireLinkChannel(actor, deps, input.channelId, 'write');
  const link = await findOwnedLink(actor, deps, input.id, input.channelId);
  if (link.isRevoked) throw conflict('A revoked invite link cannot be edited', { reason: 'LINK_REVOKED' });
  parseInput(inviteLinkUpdateRules(link.kind), input, ['input']);

  const next: RegularLinkFields = {
    name: input.name ?? link.name,
    expireDate: given(input.expireDate) ? input.expireDate : link.expireDate,
    memberLimit: given(input.memberLimit) ? input.memberLimit : link.memberLimit,
    createsJoinRequest: input.createsJoinRequest ?? link.createsJoinRequest,
  };
  const telegramChanged =
    next.name !== link.name ||
    next.expireDate?.getTime() !== link.expireDate?.getTime() ||
    next.memberLimit !== link.memberLimit ||
    next.createsJoinRequest !== link.createsJoinRequest;
  if (telegramChanged && link.kind === 'REGULAR') {
    const ruleErrors = regularLinkErrors(next).filter((error) => error.path[1] !== 'expireDate' || given(input.expireDate));
    if (ruleErrors.length) throw validationFailed(ruleErrors);
    // Telegram edits send every field, and it refuses an expiry date in the past.
    if (next.expireDate && next.expireDate.getTime() <= Date.now()) {
      throw conflict('This link has expired: Telegram edits it only together with a new expireDate (or expireDate: null)', {
        reason: 'LINK_EXPIRED',
      });
    }
  }
  const tagIds = input.tagIds ? [...new Set(input.tagIds)] : null;
  if (tagIds) await assertTagsExist(deps.db.prisma, actor.accountId, tagIds);

  const chatId = Number(link.chatId);
  let edited: TelegramInviteLink | null = null;
  if (telegramChanged) {
    edited =
      link.kind === 'SUBSCRIPTION'
        ? await deps.telegram.editSubscriptionInviteLink(chatId, link.inviteLink, next.name)
        : await deps.telegram.editInviteLink(chatId, link.inviteLink, next);
  }
  try {
    return await deps.db.prisma.$transaction(async (tx) => {
      if (tagIds) {
        await tx.inviteLinkTag.deleteMany({ where: { inviteLinkId: link.id } });
        await tx.inviteLinkTag.createMany({ data: tagIds.map((tagId) => ({ inviteLinkId: link.id, channelId: link.channelId, tagId })) });
      }
      return tx.inviteLink.update({
        ...query,
        where: { id: link.id },
        data: {
          ...(edited
            ? {
                name: edited.name ?? '',
                expireDate: edited.expireDate,
                memberLimit: edited.memberLimit,
                createsJoinRequest: edited.createsJoinRequest,
              }
            : {}),
          ...(input.budget != null ? { budget: input.budget } : {}),
          updatedAt: new Date(),
        },
      });
    });
  } catch (error) {
    if (edited) await restoreTelegramFields(actor, deps, link, error);
    throw error;
  }
}

/** Puts the previous values back in Telegram when the database refused an edit Telegram accepted. */
async function restoreTelegramFields(
  actor: AccountActor,
  deps: ServiceDeps,
  link: {
    chatId: bigint;
    inviteLink: string;
    kind: string;
    name: string;
    expireDate: Date | null;
    memberLimit: number | null;
    createsJoinRequest: boolean;
  },
  cause: unknown,
) {
  const chatId = Number(link.chatId);
  try {
    if (link.kind === 'SUBSCRIPTION') await deps.telegram.editSubscriptionInviteLink(chatId, link.inviteLink, link.name);
    else await deps.telegram.editInviteLink(chatId, link.inviteLink, link);
    deps.log.warn({ chatId, inviteLink: link.inviteLink, err: cause }, 'storing an edit failed; restored the link in Telegram');
  } catch (restoreError) {
    deps.log.error(
      { chatId, inviteLink: link.inviteLink, err: cause, restoreError },
      'storing an edit failed and restoring Telegram failed too',
    );
  }
}

export async function revokeInviteLink(actor: AccountActor, deps: ServiceDeps, query: LinkQuery, id: string, channelId: number) {
  requireFullToken(actor);
  await requireLinkChannel(actor, deps, channelId, 'write');
  const link = await findOwnedLink(actor, deps, id, channelId);
  if (!link.isRevoked) {
    // The intent is stored first, so the row follows Telegram whatever fails after the revoke.
    await recordRevokeIntent(deps.db, link.id);
    try {
      await deps.telegram.revokeInviteLink(Number(link.chatId), link.inviteLink);
    } catch (error) {
      await settleRevokeIntentAfterFailure(deps, link.id, error);
      throw error;
    }
    await markRevoked(deps, link.id);
  }
  return deps.db.prisma.inviteLink.findUniqueOrThrow({ ...query, where: { id: link.id } });
}
