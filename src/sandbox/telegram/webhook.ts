import { WEBHOOK_ERRORS } from './errors.ts';
import type { QueuedUpdate, UpdateQueue } from './updates.ts';

/**
 * Delivery to a webhook as telegram-bot-api's WebhookActor does it: a POST of the update as JSON
 * (with X-Telegram-Bot-Api-Secret-Token when a secret is set), up to max_connections at once, one
 * at a time per delivery queue (so one user's updates arrive in order), confirmed only by a 2xx.
 * A failed update is retried at once, then after 2, 4, 8 … up to 60 "seconds", or after the
 * webhook's Retry-After; one that would outlive its 24 hours is dropped (on_update_error).
 */

export interface WebhookSettings {
  /** As given to setWebhook (getWebhookInfo reports it so). */
  url: string;
  secretToken: string;
  maxConnections: number;
}

export interface WebhookTiming {
  /** Milliseconds in one second of retry delay: 1000 like Telegram, small in tests. */
  retrySecondMs: number;
  /** How long one delivery may take before it counts as failed. */
  requestTimeoutMs: number;
}

const MAX_RETRY_DELAY_SECONDS = 60;
const MAX_RETRY_AFTER_SECONDS = 3600;

interface RetryState {
  failCount: number;
  /** Seconds; doubles with each failure after the first. */
  delay: number;
  /** Date.now() milliseconds. */
  wakeupAt: number;
}

export class WebhookDelivery {
  lastErrorDate = 0;
  lastErrorMessage = '';

  private readonly inFlight = new Map<number, AbortController>();
  private readonly busyQueues = new Set<string>();
  private readonly retries = new Map<number, RetryState>();
  private readonly target: URL;
  private readonly authorization: string | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly settings: WebhookSettings,
    /** settings.url, parsed */
    url: URL,
    private readonly queue: UpdateQueue,
    private readonly timing: WebhookTiming,
    /** The emulator's clock, in Unix seconds. */
    private readonly nowSeconds: () => number,
  ) {
    const target = new URL(url);
    // fetch refuses credentials in the URL; telegram-bot-api sends them as Basic auth.
    if (target.username || target.password) {
      const userinfo = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
      this.authorization = `Basic ${Buffer.from(userinfo).toString('base64')}`;
      target.username = '';
      target.password = '';
    }
    this.target = target;
  }

  /** Sends whatever may be sent now; call after each new update. */
  pump(): void {
    if (this.closed) return;
    const seenQueues = new Set<string>();
    let nextWakeup = Number.POSITIVE_INFINITY;
    const now = Date.now();
    for (const update of this.queue.pending()) {
      if (this.inFlight.size >= this.settings.maxConnections) break;
      if (seenQueues.has(update.deliveryQueue)) continue;
      seenQueues.add(update.deliveryQueue);
      if (this.busyQueues.has(update.deliveryQueue)) continue;
      const retry = this.retries.get(update.id);
      if (retry && retry.wakeupAt > now) {
        nextWakeup = Math.min(nextWakeup, retry.wakeupAt);
        continue;
      }
      this.deliver(update);
    }
    if (Number.isFinite(nextWakeup)) this.wakeAt(nextWakeup);
  }

  /** Stops delivering; deliveries under way are aborted and their updates stay pending. */
  close(): void {
    this.closed = true;
    clearTimeout(this.wakeTimer);
    for (const controller of this.inFlight.values()) controller.abort();
    this.inFlight.clear();
    this.busyQueues.clear();
  }

  private deliver(update: QueuedUpdate): void {
    const controller = new AbortController();
    this.inFlight.set(update.id, controller);
    this.busyQueues.add(update.deliveryQueue);
    void this.post(update, controller.signal).then((outcome) => {
      if (controller.signal.aborted && this.closed) return;
      this.inFlight.delete(update.id);
      this.busyQueues.delete(update.deliveryQueue);
      if (outcome.ok) {
        this.retries.delete(update.id);
        this.queue.remove(update.id);
      } else {
        this.failed(update, outcome.error, outcome.retryAfter);
      }
      this.pump();
    });
  }

  private async post(update: QueuedUpdate, signal: AbortSignal): Promise<{ ok: true } | { ok: false; error: string; retryAfter: number }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.settings.secretToken) headers['x-telegram-bot-api-secret-token'] = this.settings.secretToken;
    if (this.authorization) headers.authorization = this.authorization;
    try {
      const response = await fetch(this.target, {
        method: 'POST',
        headers,
        body: JSON.stringify({ update_id: update.id, [update.type]: update.payload }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.timing.requestTimeoutMs)]),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status <= 299) return { ok: true };
      const retryAfter = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
      return {
        ok: false,
        error: WEBHOOK_ERRORS.wrongResponse(response.status, response.statusText),
        retryAfter: Number.isFinite(retryAfter) ? retryAfter : 0,
      };
    } catch (error) {
      return { ok: false, error: connectionError(error), retryAfter: 0 };
    }
  }

  private failed(update: QueuedUpdate, error: string, retryAfterSeconds: number): void {
    this.lastErrorDate = this.nowSeconds();
    this.lastErrorMessage = error;
    const state = this.retries.get(update.id) ?? { failCount: 0, delay: 1, wakeupAt: 0 };
    const retryAfter = Math.min(Math.max(retryAfterSeconds, 0), MAX_RETRY_AFTER_SECONDS);
    let delay = state.delay;
    let wait = retryAfter;
    if (retryAfter === 0 && state.failCount > 0) {
      delay = Math.min(MAX_RETRY_DELAY_SECONDS, delay * 2);
      wait = delay;
    }
    if (this.nowSeconds() + wait > update.expiresAt) {
      this.retries.delete(update.id);
      this.queue.remove(update.id);
      return;
    }
    this.retries.set(update.id, {
      failCount: state.failCount + 1,
      delay,
      wakeupAt: Date.now() + wait * this.timing.retrySecondMs,
    });
  }

  private wakeAt(at: number): void {
    clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => this.pump(), Math.max(0, at - Date.now()));
    this.wakeTimer.unref();
  }
}

function connectionError(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return WEBHOOK_ERRORS.readTimeout;
  }
  const code = (error as { cause?: { code?: string } }).cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return WEBHOOK_ERRORS.connectionRefused;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return WEBHOOK_ERRORS.hostNotResolved;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return WEBHOOK_ERRORS.connectionReset;
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
