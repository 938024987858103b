import type { Database } from '../db/database.ts';
import { issueApiToken } from '../auth/api-tokens.ts';

/** A new tenant with one full API token; the secret is returned once. */
export async function createAccount(db: Database, name: string) {
  const account = await db.prisma.account.create({ data: { name } });
  const { secret } = await issueApiToken(db, { accountId: account.id, name: 'owner' });
  return { account, secret };
}
