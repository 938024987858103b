import type { Prisma } from '../generated/prisma/client.ts';
import type { Context } from '../context.ts';
import { notFound } from '../errors.ts';
import { requireFullToken } from './access.ts';
import { issueApiToken } from './api-tokens.ts';
import { findPartnerByExternalId } from './partners.ts';

export async function createApiToken(ctx: Context, input: { name: string; partnerExternalId?: number | null }) {
  requireFullToken(ctx);
  const partner = input.partnerExternalId ? await findPartnerByExternalId(ctx, input.partnerExternalId) : null;
  return issueApiToken(ctx.app.db, { accountId: ctx.viewer.accountId, name: input.name, partnerId: partner?.id ?? null });
}

/**
 * Takes effect at once: this process forgets the token now, the others when the api_tokens trigger
 * notifies them. Revoking twice keeps the first time.
 */
export async function revokeApiToken(ctx: Context, query: { select?: Prisma.ApiTokenSelect; include?: Prisma.ApiTokenInclude }, id: string) {
  requireFullToken(ctx);
  const prisma = ctx.app.db.prisma;
  await prisma.apiToken.updateMany({
    where: { id, accountId: ctx.viewer.accountId, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  ctx.app.tokens.forgetToken(id);
  const token = await prisma.apiToken.findFirst({ ...query, where: { id, accountId: ctx.viewer.accountId } });
  if (!token) throw notFound(`API token ${id} not found`);
  return token;
}
