import type { Prisma } from '../generated/prisma/client.ts';
import type { Context } from '../context.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { accountScope, requireFullToken } from './access.ts';
import { isUniqueViolation } from '../db/errors.ts';

export async function createPartner(
  ctx: Context,
  query: { select?: Prisma.PartnerSelect; include?: Prisma.PartnerInclude },
  input: { externalId: number; title: string },
) {
  requireFullToken(ctx);
  const title = input.title.trim();
  // Seed 000's 400: "Partner title incorrect or does not exist".
  if (title.length === 0 || title.length > 255) {
    throw badRequest('Partner title incorrect: it must be 1-255 characters', {
      fields: [{ path: ['title'], message: 'must be 1-255 characters' }],
    });
  }
  try {
    return await ctx.app.db.prisma.partner.create({ ...query, data: { ...accountScope(ctx), externalId: input.externalId, title } });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`Partner with external id ${input.externalId} already exists`);
    throw error;
  }
}

/** The partner behind `externalId` in this account; a partner token may only name its own partner. */
export async function findPartnerByExternalId(ctx: Context, externalId: number) {
  const partner = await ctx.app.db.prisma.partner.findUnique({
    where: { accountId_externalId: { accountId: ctx.viewer.accountId, externalId } },
    select: { id: true, title: true },
  });
  if (!partner || (ctx.viewer.partnerId !== null && ctx.viewer.partnerId !== partner.id)) {
    throw notFound(`Partner with external id ${externalId} not found`);
  }
  return partner;
}
