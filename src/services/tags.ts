import type { Prisma } from '../generated/prisma/client.ts';
import type { AccountActor } from '../auth/actor.ts';
import type { ServiceDeps } from './deps.ts';
import { conflict, notFound } from '../errors.ts';
import { accountScope, requireFullToken } from '../auth/access.ts';
import { isUniqueViolation } from '../db/errors.ts';

type TagTypeQuery = { select?: Prisma.TagTypeSelect; include?: Prisma.TagTypeInclude };
type TagQuery = { select?: Prisma.TagSelect; include?: Prisma.TagInclude };
const byName = [{ name: 'asc' as const }, { id: 'asc' as const }];

export const listTagTypes = (actor: AccountActor, deps: ServiceDeps, query: TagTypeQuery) =>
  deps.db.prisma.tagType.findMany({ ...query, where: accountScope(actor), orderBy: byName });

export const listTags = (actor: AccountActor, deps: ServiceDeps, query: TagQuery) =>
  deps.db.prisma.tag.findMany({ ...query, where: accountScope(actor), orderBy: byName });

export async function createTagType(actor: AccountActor, deps: ServiceDeps, query: TagTypeQuery, name: string) {
  requireFullToken(actor);
  try {
    return await deps.db.prisma.tagType.create({ ...query, data: { ...accountScope(actor), name } });
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`Tag type "${name}" already exists`);
    throw error;
  }
}

export async function createTag(
  actor: AccountActor,
  deps: ServiceDeps,
  query: TagQuery,
  input: { name: string; color: string; typeId?: string | null },
) {
  requireFullToken(actor);
  if (input.typeId) {
    const type = await deps.db.prisma.tagType.findFirst({ where: { id: input.typeId, ...accountScope(actor) }, select: { id: true } });
    if (!type) throw notFound(`Tag type ${input.typeId} not found`);
  }
  return deps.db.prisma.tag.create({
    ...query,
    data: { ...accountScope(actor), name: input.name, color: input.color.toUpperCase(), typeId: input.typeId ?? null },
  });
}

/** Throws NOT_FOUND naming the first id that is not a tag of this account. */
export async function assertTagsExist(db: Prisma.TransactionClient, accountId: string, tagIds: readonly string[]): Promise<void> {
  if (tagIds.length === 0) return;
  const found = await db.tag.findMany({ where: { accountId, id: { in: [...tagIds] } }, select: { id: true } });
  const known = new Set(found.map((tag) => tag.id));
  const missing = tagIds.find((id) => !known.has(id));
  if (missing) throw notFound(`Tag ${missing} not found`);
}
