import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/database.ts';
import { isDatabaseUnavailable } from '../db/errors.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { TelegramGateway } from '../adapters/telegram.ts';

/**
 * A revoke records its intent (invite_links.revoke_requested_at) before it calls Telegram and
 * clears it when the row says revoked, so a database failure in between leaves a trace: the
 * reconciler revokes such links again (Telegram's revoke is idempotent) and completes the row.
 * It takes over an intent only this long after it was recorded (or last taken over), far longer
 * than a revoke request can take (its Telegram attempts and waits are bounded by config).
 */
export const PENDING_REVOKE_GRACE_MS = 60_000;
export const PENDING_REVOKE_INTERVAL_MS = 30_000;

/** How long the service asks a client to wait when only the row update of its revoke is missing. */
const REVOKE_PENDING_RETRY_AFTER_S = 5;
/** Row updates after Telegram revoked: the first try and retries after these waits. */
const MARK_REVOKED_RETRY_DELAYS_MS = [100, 250, 500];

type RevokeDeps = { db: Database; telegram: TelegramGateway; log: Logger };

export async function recordRevokeIntent(db: Database, linkId: string): Promise<void> {
  await db.prisma.$executeRaw`UPDATE invite_links SET revoke_requested_at = now() WHERE id = ${linkId}::uuid`;
}

/**
 * Telegram refused the revoke, so the link is live there as in the row: the intent goes. After an
 * UPSTREAM_ERROR (a timeout, a 5xx) Telegram may have revoked it, so the intent stays for the
 * reconciler. Best effort: a database that fails here leaves the intent, and the reconciler tries.
 */
export async function settleRevokeIntentAfterFailure(deps: RevokeDeps, linkId: string, error: unknown): Promise<void> {
  if (!(error instanceof AppError) || error.code === 'UPSTREAM_ERROR') return;
  await deps.db.prisma.$executeRaw`UPDATE invite_links SET revoke_requested_at = NULL WHERE id = ${linkId}::uuid`.catch((cause: unknown) =>
    deps.log.warn({ linkId, err: cause }, 'could not clear a refused revoke intent; the reconciler will try the revoke again'),
  );
}

/**
 * The row follows Telegram's revoke, retried while the database is unreachable; when it stays
 * unreachable the client gets SERVICE_UNAVAILABLE and the reconciler completes the row.
 */
export async function markRevoked(deps: RevokeDeps, linkId: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await deps.db.prisma.$executeRaw`
        UPDATE invite_links SET is_revoked = true, revoke_requested_at = NULL, updated_at = now() WHERE id = ${linkId}::uuid`;
      return;
    } catch (error) {
      const delay = MARK_REVOKED_RETRY_DELAYS_MS[attempt];
      if (!isDatabaseUnavailable(error)) throw error;
      if (delay === undefined) {
        deps.log.warn(
          { linkId, err: error },
          'revoked in Telegram but the row could not be updated; the pending-revoke reconciler completes it',
        );
        throw new AppError(
          'SERVICE_UNAVAILABLE',
          'The link is revoked in Telegram; the service cannot reach its database to record it and will do so shortly',
          {
            reason: 'REVOKE_PENDING',
            retryAfter: REVOKE_PENDING_RETRY_AFTER_S,
          },
        );
      }
      await sleep(delay);
    }
  }
}

export interface PendingRevokeRun {
  /** Revoked in Telegram and recorded. */
  completed: number;
  /** Telegram refused (the bot lost its rights, the link is gone): intent dropped, logged. */
  dropped: number;
  /** Telegram or the database failed: tried again after the grace period. */
  retried: number;
}

/**
 * Completes pending revokes older than olderThanMs, up to batchSize of them. Safe with several
 * processes: a batch is claimed with FOR UPDATE SKIP LOCKED and its intents re-stamped (a lease),
 * so no other process takes them for another olderThanMs; no connection is held over Telegram calls.
 */
export async function completePendingRevokes(
  deps: RevokeDeps,
  { olderThanMs = PENDING_REVOKE_GRACE_MS, batchSize = 100 }: { olderThanMs?: number; batchSize?: number } = {},
): Promise<PendingRevokeRun> {
  const claimed = await deps.db.prisma.$queryRaw<{ id: string; chat_id: bigint; invite_link: string }[]>`
    UPDATE invite_links SET revoke_requested_at = now()
    WHERE id IN (
      SELECT id FROM invite_links
      WHERE revoke_requested_at <= now() - make_interval(secs => ${olderThanMs / 1000}::double precision) AND NOT is_revoked
      ORDER BY revoke_requested_at
      LIMIT ${batchSize}
      FOR UPDATE SKIP LOCKED
    )
    RETURNING id::text, chat_id, invite_link`;
  const run: PendingRevokeRun = { completed: 0, dropped: 0, retried: 0 };
  for (const link of claimed) {
    const chatId = Number(link.chat_id);
    try {
      await deps.telegram.revokeInviteLink(chatId, link.invite_link);
    } catch (error) {
      if (error instanceof AppError && error.code !== 'UPSTREAM_ERROR' && error.code !== 'RATE_LIMITED') {
        await deps.db.prisma.$executeRaw`UPDATE invite_links SET revoke_requested_at = NULL WHERE id = ${link.id}::uuid`;
        deps.log.warn(
          { linkId: link.id, chatId, code: error.code },
          'Telegram refused a pending revoke; the link stays live, as its row says',
        );
        run.dropped++;
      } else {
        run.retried++;
      }
      continue;
    }
    try {
      await markRevoked(deps, link.id);
      deps.log.info({ linkId: link.id, chatId }, 'completed a pending revoke');
      run.completed++;
    } catch {
      run.retried++;
    }
  }
  return run;
}

/** Runs completePendingRevokes at start and then every intervalMs, one run at a time; close() waits for the current run. */
export class PendingRevokeReconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly deps: RevokeDeps,
    private readonly options: { intervalMs?: number; olderThanMs?: number } = {},
  ) {}

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? PENDING_REVOKE_INTERVAL_MS);
    this.timer.unref();
  }

  /** One run now (after the one under way, if any). */
  async runOnce(options: { olderThanMs?: number } = {}): Promise<PendingRevokeRun> {
    await this.running;
    return completePendingRevokes(this.deps, { olderThanMs: options.olderThanMs ?? this.options.olderThanMs });
  }

  private tick(): Promise<void> {
    if (this.closed || this.running) return this.running ?? Promise.resolve();
    this.running = completePendingRevokes(this.deps, { olderThanMs: this.options.olderThanMs })
      .then(
        (run) => {
          if (run.completed + run.dropped + run.retried > 0) this.deps.log.info(run, 'pending revokes');
        },
        (error: unknown) => this.deps.log.warn({ err: error }, 'could not check pending revokes; trying again later'),
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
  }
}
