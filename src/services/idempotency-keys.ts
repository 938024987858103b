import { setTimeout as sleep } from 'node:timers/promises';
import type { Prisma } from '../generated/prisma/client.ts';
import type { Database } from '../db/database.ts';
import { conflict } from '../errors.ts';

/**
 * Holding an idempotency key while its create runs. A row in invite_link_creates_in_progress,
 * inserted in a statement of its own before Telegram is called and deleted in the transaction that
 * stores the link, says the key is taken: a concurrent create with the key waits for that link
 * instead of making a second one. A row, not an advisory lock held across the Telegram call: a lock
 * would hold a pooled connection for the whole call, for the holder and every waiter (and the embedded
 * database's only connection), while the row costs two short statements and survives nothing but
 * its own expiry.
 */

/** A key whose process died mid-create is free again after this. */
const HOLD_MS = 120_000;
/** How long a concurrent create waits for the first one's link, polling every POLL_MS. */
const WAIT_MS = 30_000;
const POLL_MS = 50;

type Runner = Pick<Prisma.TransactionClient, '$queryRaw' | '$executeRaw'>;

/** Takes the key, or an expired hold of it; false when another create holds it. */
async function take(db: Database, accountId: string, idempotencyKey: string): Promise<boolean> {
  const rows = await db.prisma.$queryRaw<{ held: number }[]>`
    INSERT INTO invite_link_creates_in_progress AS hold (account_id, idempotency_key, expires_at)
    VALUES (${accountId}::uuid, ${idempotencyKey}, now() + make_interval(secs => ${HOLD_MS / 1000}::double precision))
    ON CONFLICT (account_id, idempotency_key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE hold.expires_at < now()
    RETURNING 1 AS held`;
  return rows.length > 0;
}

/** Frees the key: in the transaction that stores the link, or after a create that failed. */
export async function releaseIdempotencyKey(runner: Runner, accountId: string, idempotencyKey: string): Promise<void> {
  await runner.$executeRaw`DELETE FROM invite_link_creates_in_progress WHERE account_id = ${accountId}::uuid AND idempotency_key = ${idempotencyKey}`;
}

/**
 * Runs `create` holding the key. While another create holds it, waits for that create's link
 * (`findLink`) and returns it; if that create fails (and frees the key), takes the key and runs
 * `create` itself. `create` should release the key where it stores the link; whatever happens it is released after.
 */
export async function withIdempotencyKeyHeld<T>(
  db: Database,
  accountId: string,
  idempotencyKey: string,
  findLink: () => Promise<T | null>,
  create: () => Promise<T>,
): Promise<T> {
  const giveUpAt = performance.now() + WAIT_MS;
  while (!(await take(db, accountId, idempotencyKey))) {
    const link = await findLink();
    if (link) return link;
    if (performance.now() > giveUpAt) {
      throw conflict('A create with this idempotencyKey is still under way: retry later', { reason: 'IDEMPOTENCY_KEY_IN_PROGRESS' });
    }
    await sleep(POLL_MS);
  }
  try {
    return await create();
  } finally {
    // Already gone when create stored its link; else (it failed, or found the link) freed here.
    await releaseIdempotencyKey(db.prisma, accountId, idempotencyKey).catch(() => {});
  }
}
