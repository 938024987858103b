import type { Prisma } from '../generated/prisma/client.ts';
import type { AccountActor } from '../auth/actor.ts';
import type { ServiceDeps } from './deps.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { accountScope, requireFullToken, visiblePartnerId } from '../auth/access.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { fieldErrorsOf, partnerTitle } from './input-rules.ts';

type PartnerQuery = { select?: Prisma.PartnerSelect; include?: Prisma.PartnerInclude };

/** The account's partners; a partner token sees its own partner only. */
export function listPartners(actor: AccountActor, deps: ServiceDeps, query: PartnerQuery) {
  const visible = visiblePartnerId(actor);
  return deps.db.prisma.partner.findMany({
    ...query,
    where: { ...accountScope(actor), ...(visible !== null ? { id: visible } : {}) },
    orderBy: [{ externalId: 'asc' }],
  });
}

export async function createPartner(
  actor: AccountActor,
  deps: ServiceDeps,
  query: PartnerQuery,
  input: { externalId: number; title: string },
) {
  requireFullToken(actor);
  const parsed = partnerTitle.safeParse(input.title);
  // The partner REST API's 400: "Partner title incorrect or does not exist".
  if (!parsed.success) {
    throw badRequest('Partner title incorrect: it must be 1-255 characters', { fields: fieldErrorsOf(parsed.error.issues, ['title']) });
  }
  const title = parsed.data;
  try {
    return await deps.db.prisma.partner.create({ ...query, data: { ...accountScope(actor), externalId: input.externalId, title } });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`Partner with external id ${input.externalId} already exists`);
    throw error;
  }
}

/** The partner behind `externalId` in this account; a partner token may only name its own partner. */
export async function findPartnerByExternalId(actor: AccountActor, deps: ServiceDeps, externalId: number) {
  const partner = await deps.db.prisma.partner.findUnique({
    where: { accountId_externalId: { accountId: actor.accountId, externalId } },
    select: { id: true, title: true },
  });
  if (!partner || visiblePartnerId(actor, partner.id) !== partner.id) {
    throw notFound(`Partner with external id ${externalId} not found`);
  }
  return partner;
}
