import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Update } from 'node-telegram-bot-api/types';
import type { TelegramUpdateSource } from '../adapters/telegram.ts';
import type { Database } from '../db/database.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { ALLOWED_UPDATES, nextUpdateOffset, parseUpdate, storeParsedUpdates, type ParsedUpdate } from './telegram-updates.ts';

/** The advisory lock whose holder is the one process that polls (any fixed bigint, the same in every process). */
export const POLLER_LOCK_KEY = 4_715_120_015_001n;

export interface TelegramPollerOptions {
  /** getUpdates' own wait, in seconds. */
  pollTimeoutS: number;
  /** How often a process without the lock tries to take it (default 5 s). */
  lockRetryMs?: number;
  /** The first wait after a failure, doubled after each further one up to backoffMaxMs. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

type PollerDeps = { db: Database; source: TelegramUpdateSource; log: Logger; onStored?: () => void };

/** The right to poll: on PostgreSQL an advisory lock held by a connection of its own, which is lost when that connection drops. */
interface PollerLease {
  /** Aborted when the lock is lost. */
  readonly lost: AbortSignal;
  /** Proves the lock is still held (its connection answers), or throws. */
  check(): Promise<void>;
  release(): Promise<void>;
}

const HELD_FOREVER: PollerLease = { lost: new AbortController().signal, check: async () => {}, release: async () => {} };

/**
 * Long-polls getUpdates and stores each batch before the next call confirms it (the offset moves
 * past a batch only once the batch is stored), so a crash loses nothing: a restart continues from
 * one past the highest update stored. Exactly one process polls: on PostgreSQL the one holding
 * pg_try_advisory_lock on a dedicated connection (the others try again every lockRetryMs and take
 * over when its connection drops); on the embedded database the data folder's lock already makes
 * this the only process. Failures back off exponentially; a 429 waits its retry_after.
 */
export class TelegramUpdatePoller {
  /** getUpdates calls made, and updates this poller stored (new ones): what tests count. */
  polls = 0;
  stored = 0;
  private holding = false;
  private readonly shutdown = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly deps: PollerDeps,
    private readonly options: TelegramPollerOptions,
  ) {}

  /** Whether this process holds the poller lock now. */
  get isPolling(): boolean {
    return this.holding;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Aborts the long poll under way, releases the lock and waits for the loop to end. */
  async close(): Promise<void> {
    this.shutdown.abort(new Error('shutting down'));
    await this.loop;
  }

  private get stopped(): boolean {
    return this.shutdown.signal.aborted;
  }

  private async run(): Promise<void> {
    const retryMs = this.options.lockRetryMs ?? 5000;
    let waitingLogged = false;
    while (!this.stopped) {
      let lease: PollerLease | null;
      try {
        lease = await this.acquire();
      } catch (error) {
        this.deps.log.warn({ err: error }, 'could not try the Telegram poller lock; trying again');
        await this.wait(retryMs);
        continue;
      }
      if (!lease) {
        if (!waitingLogged) this.deps.log.info('another process polls Telegram for updates; this one takes over if it stops');
        waitingLogged = true;
        await this.wait(retryMs);
        continue;
      }
      waitingLogged = false;
      this.holding = true;
      this.deps.log.info('polling Telegram for updates');
      try {
        await this.pollWhileHolding(lease);
      } finally {
        this.holding = false;
        await lease.release();
      }
      if (lease.lost.aborted && !this.stopped) {
        this.deps.log.warn('lost the Telegram poller lock (its connection dropped); trying to take it again');
        await this.wait(retryMs);
      }
    }
  }

  private async acquire(): Promise<PollerLease | null> {
    const client = await this.deps.db.openSessionClient('inviteql telegram poller');
    if (!client) return HELD_FOREVER;
    let taken = false;
    try {
      const result = await client.query<{ taken: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS taken', [
        POLLER_LOCK_KEY.toString(),
      ]);
      taken = result.rows[0]?.taken === true;
    } finally {
      if (!taken) await client.end().catch(() => {});
    }
    return taken ? leaseOn(client) : null;
  }

  private async pollWhileHolding(lease: PollerLease): Promise<void> {
    const signal = AbortSignal.any([this.shutdown.signal, lease.lost]);
    let webhookDeleted = false;
    let offset: number | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        // A webhook left from an earlier deployment makes every getUpdates answer 409.
        if (!webhookDeleted) {
          await this.deps.source.deleteWebhook();
          webhookDeleted = true;
        }
        offset ??= await nextUpdateOffset(this.deps);
        await lease.check();
        this.polls++;
        const updates = await this.deps.source.getUpdates(
          { offset, timeoutS: this.options.pollTimeoutS, allowedUpdates: ALLOWED_UPDATES },
          signal,
        );
        if (updates.length) offset = await this.storeBatch(updates, offset);
        failures = 0;
      } catch (error) {
        if (signal.aborted) return;
        failures++;
        if (error instanceof AppError && error.code === 'CONFLICT') webhookDeleted = false;
        const waitMs = this.backoffMs(error, failures);
        this.deps.log.warn(
          { err: error instanceof AppError ? undefined : error, code: error instanceof AppError ? error.code : undefined, waitMs },
          'receiving Telegram updates failed; backing off',
        );
        await this.wait(waitMs, signal);
      }
    }
  }

  /**
   * Stores the batch; answers the offset past it. A malformed update can never be stored, so it is
   * logged and skipped rather than fetched forever.
   */
  private async storeBatch(updates: Update[], offset: number): Promise<number> {
    const valid: ParsedUpdate[] = [];
    let next = offset;
    for (const raw of updates) {
      const parsed = parseUpdate(raw);
      const id = parsed.ok ? parsed.update.updateId : parsed.updateId;
      if (id !== null) next = Math.max(next, id + 1);
      if (parsed.ok) valid.push(parsed.update);
      else this.deps.log.error({ updateId: parsed.updateId, problem: parsed.problem }, 'skipped a malformed Telegram update');
    }
    const stored = await storeParsedUpdates(this.deps, valid);
    this.stored += stored;
    if (stored > 0) this.deps.onStored?.();
    return next;
  }

  private backoffMs(error: unknown, failures: number): number {
    if (error instanceof AppError && error.code === 'RATE_LIMITED' && typeof error.details.retryAfter === 'number') {
      return error.details.retryAfter * 1000;
    }
    const base = this.options.backoffBaseMs ?? 500;
    return Math.min(base * 2 ** (failures - 1), this.options.backoffMaxMs ?? 30_000);
  }

  private async wait(ms: number, signal: AbortSignal = this.shutdown.signal): Promise<void> {
    await sleep(ms, undefined, { signal }).catch(() => {});
  }
}

function leaseOn(client: pg.Client): PollerLease {
  const lost = new AbortController();
  const lose = () => lost.abort(new Error('the poller lock connection dropped'));
  client.on('error', lose);
  client.on('end', lose);
  return {
    lost: lost.signal,
    check: async () => {
      try {
        await client.query('SELECT 1');
      } catch (error) {
        lose();
        throw error;
      }
    },
    release: async () => {
      client.removeListener('end', lose);
      // Ending the session releases its advisory lock.
      await client.end().catch(() => {});
    },
  };
}
