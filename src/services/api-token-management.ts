import type { Prisma } from '../generated/prisma/client.ts';
import type { AccountActor } from '../auth/actor.ts';
import type { ServiceDeps } from './deps.ts';
import { notFound } from '../errors.ts';
import { requireFullToken } from '../auth/access.ts';
import { issueApiToken } from '../auth/api-tokens.ts';
import { findPartnerByExternalId } from './partners.ts';

export async function createApiToken(actor: AccountActor, deps: ServiceDeps, input: { name: string; partnerExternalId?: number | null }) {
  requireFullToken(actor);
  const partner = input.partnerExternalId ? await findPartnerByExternalId(actor, deps, input.partnerExternalId) : null;
  return issueApiToken(deps.db, { accountId: actor.accountId, name: input.name, partnerId: partner?.id ?? null });
}

/**
 * Takes effect at once: this process forgets the token now, the others when the api_tokens trigger
 * notifies them. Revoking twice keeps the first time.
 */
export async function revokeApiToken(
  actor: AccountActor,
  deps: ServiceDeps,
  query: { select?: Prisma.ApiTokenSelect; include?: Prisma.ApiTokenInclude },
  id: string,
) {
  requireFullToken(actor);
  const prisma = deps.db.prisma;
  await prisma.apiToken.updateMany({
    where: { id, accountId: actor.accountId, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  deps.tokens.forgetToken(id);
  const token = await prisma.apiToken.findFirst({ ...query, where: { id, accountId: actor.accountId } });
  if (!token) throw notFound(`API token ${id} not found`);
  return token;
}
