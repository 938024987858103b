import { createHash, randomBytes } from 'node:crypto';
import type { Database } from '../db/database.ts';
import type { Viewer } from './actor.ts';
import { unauthenticated } from '../errors.ts';
import { TOKEN_PATTERN, TOKEN_PREFIX } from './token-format.ts';

export const hashToken = (secret: string) => createHash('sha256').update(secret).digest('hex');

export const generateTokenSecret = () => TOKEN_PREFIX + randomBytes(32).toString('base64url');

export async function issueApiToken(db: Database, input: { accountId: string; name: string; partnerId?: string | null; secret?: string }) {
  const secret = input.secret ?? generateTokenSecret();
  const apiToken = await db.prisma.apiToken.create({
    data: { accountId: input.accountId, name: input.name, partnerId: input.partnerId ?? null, tokenHash: hashToken(secret) },
  });
  return { apiToken, secret };
}

/**
 * The hash of the bearer token in an Authorization header; UNAUTHENTICATED when absent or not
 * "Bearer <token>". A token that cannot be one of ours is unknown, without a lookup.
 */
export function bearerTokenHash(authorization: string | null): string {
  if (!authorization) throw unauthenticated();
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match) throw unauthenticated('Malformed Authorization header: expected "Bearer iql_…"');
  if (!TOKEN_PATTERN.test(match[1]!)) throw unauthenticated('Unknown API token');
  return hashToken(match[1]!);
}

export type StoredToken = Awaited<ReturnType<typeof findTokenByHash>>;

export const findTokenByHash = (db: Database, tokenHash: string) =>
  db.prisma.apiToken.findUnique({
    where: { tokenHash },
    select: { id: true, accountId: true, partnerId: true, revokedAt: true },
  });

/** The caller a stored token stands for; UNAUTHENTICATED when it is unknown or revoked. */
export function viewerOfToken(token: StoredToken): Viewer {
  if (!token) throw unauthenticated('Unknown API token');
  if (token.revokedAt) throw unauthenticated('This API token has been revoked');
  return { kind: 'account', accountId: token.accountId, tokenId: token.id, partnerId: token.partnerId };
}
