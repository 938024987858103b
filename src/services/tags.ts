import type { Prisma } from '../generated/prisma/client.ts';
import type { Context } from '../context.ts';
import { conflict, notFound } from '../errors.ts';
import { accountScope, requireFullToken } from './access.ts';
import { isUniqueViolation } from '../db/errors.ts';

export async function createTagType(ctx: Context, query: { select?: Prisma.TagTypeSelect; include?: Prisma.TagTypeInclude }, name: string) {
  requireFullToken(ctx);
  try {
    return await ctx.app.db.prisma.tagType.create({ ...query, data: { ...accountScope(ctx), name } });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`Tag type "${name}" already exists`);
    throw error;
  }
}

export async function createTag(
  ctx: Context,
  query: { select?: Prisma.TagSelect; include?: Prisma.TagInclude },
  input: { name: string; color: string; typeId?: string | null },
) {
  requireFullToken(ctx);
  if (input.typeId) {
    const type = await ctx.app.db.prisma.tagType.findFirst({ where: { id: input.typeId, ...accountScope(ctx) }, select: { id: true } });
    if (!type) throw notFound(`Tag type ${input.typeId} not found`);
  }
  return ctx.app.db.prisma.tag.create({
    ...query,
    data: { ...accountScope(ctx), name: input.name, color: input.color.toUpperCase(), typeId: input.typeId ?? null },
  });
}

/** Throws NOT_FOUND naming the first id that is not a tag of this account. */
export async function assertTagsExist(
  db: Prisma.TransactionClient,
  accountId: string,
  tagIds: readonly string[],
): Promise<void> {
  if (tagIds.length === 0) return;
  const found = await db.tag.findMany({ where: { accountId, id: { in: [...tagIds] } }, select: { id: true } });
  const known = new Set(found.map((tag) => tag.id));
  const missing = tagIds.find((id) => !known.has(id));
  if (missing) throw notFound(`Tag ${missing} not found`);
}
