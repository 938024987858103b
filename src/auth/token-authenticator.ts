import type { Database, Unlisten } from '../db/database.ts';
import type { Viewer } from './actor.ts';
import type { Logger } from '../logger.ts';
import { bearerTokenHash, findTokenByHash, viewerOfToken, type StoredToken } from './api-tokens.ts';

/** The api_tokens trigger notifies the hash of every updated or deleted row here ('' after TRUNCATE). */
const API_TOKEN_CHANGED_CHANNEL = 'api_token_changed';

export interface TokenAuthenticatorOptions {
  /** How long a successful lookup is reused; 0 turns the cache (and its listener) off. */
  ttlMs: number;
  maxEntries?: number;
  /** First wait before listening again after the connection is lost; doubled up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  log: Logger;
}

interface CachedViewer {
  viewer: Viewer;
  expiresAt: number;
}

/**
 * Authenticates requests like `authenticate`, reusing successful lookups (keyed by token hash) for
 * a while. Revocation stays immediate: every process LISTENs for the api_tokens trigger's
 * notifications and evicts the changed token, and the cache is used only while that listener is
 * connected; otherwise every request looks its token up.
 */
export class TokenAuthenticator {
  private readonly cache = new Map<string, CachedViewer>();
  /** Concurrent lookups of one hash share one query. */
  private readonly lookups = new Map<string, Promise<StoredToken>>();
  /** Bumped by every eviction, so a lookup that raced one is not cached. */
  private generation = 0;
  private unlisten: Unlisten | undefined;
  private connected = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly maxEntries: number;
  private readonly firstRetryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private retryDelayMs: number;

  constructor(
    private readonly db: Database,
    private readonly options: TokenAuthenticatorOptions,
  ) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.firstRetryDelayMs = options.retryDelayMs ?? 250;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.retryDelayMs = this.firstRetryDelayMs;
  }

  /** Starts listening; resolves after the first attempt, whether it connected or not. */
  async start(): Promise<void> {
    if (this.options.ttlMs > 0) await this.listen();
  }

  /** Whether the cache is in use: the change listener is connected. */
  get listening(): boolean {
    return this.connected;
  }

  async authenticate(authorization: string | null): Promise<Viewer> {
    const tokenHash = bearerTokenHash(authorization);
    if (!this.connected) return viewerOfToken(await findTokenByHash(this.db, tokenHash));
    const cached = this.cache.get(tokenHash);
    if (cached && cached.expiresAt > performance.now()) return cached.viewer;
    if (cached) this.cache.delete(tokenHash);
    return viewerOfToken(await this.lookUp(tokenHash));
  }

  /** Forgets a token this process changed, without waiting for the notification. */
  forgetToken(tokenId: string): void {
    for (const [tokenHash, entry] of this.cache) {
      if (entry.viewer.tokenId === tokenId) this.cache.delete(tokenHash);
    }
    this.invalidateLookups();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.disconnect();
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    await unlisten?.();
  }

  private lookUp(tokenHash: string): Promise<StoredToken> {
    const pending = this.lookups.get(tokenHash);
    if (pending) return pending;
    const generation = this.generation;
    // Counted from before the query, never from after it.
    const expiresAt = performance.now() + this.options.ttlMs;
    const lookup = findTokenByHash(this.db, tokenHash);
    this.lookups.set(tokenHash, lookup);
    const settle = () => {
      if (this.lookups.get(tokenHash) === lookup) this.lookups.delete(tokenHash);
    };
    lookup.then((token) => {
      settle();
      if (!token || token.revokedAt || !this.connected || generation !== this.generation) return;
      this.remember(tokenHash, { viewer: Object.freeze(viewerOfToken(token)), expiresAt });
    }, settle);
    return lookup;
  }

  private remember(tokenHash: string, entry: CachedViewer) {
    this.cache.delete(tokenHash);
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(tokenHash, entry);
  }

  private evict(tokenHash: string) {
    if (tokenHash === '') this.cache.clear();
    else this.cache.delete(tokenHash);
    this.invalidateLookups();
  }

  /** Lookups under way may have read the old row: they are not cached, and later requests query anew. */
  private invalidateLookups() {
    this.generation++;
    this.lookups.clear();
  }

  private disconnect() {
    this.connected = false;
    this.cache.clear();
    this.invalidateLookups();
  }

  private async listen() {
    try {
      const unlisten = await this.db.listen(API_TOKEN_CHANGED_CHANNEL, {
        onNotification: (tokenHash) => this.evict(tokenHash),
        onLost: (error) => this.lost(error),
      });
      if (this.closed) {
        await unlisten();
        return;
      }
      this.unlisten = unlisten;
      // Lookups started before LISTEN took effect could miss a change: none of them is cached.
      this.invalidateLookups();
      this.connected = true;
      if (this.retryDelayMs !== this.firstRetryDelayMs) this.options.log.info('API token change listener connected; token cache on');
      this.retryDelayMs = this.firstRetryDelayMs;
    } catch (error) {
      if (this.closed) return;
      this.options.log.warn({ err: error }, 'cannot listen for API token changes; every request looks its token up until it can');
      this.retryLater();
    }
  }

  private lost(error: Error) {
    if (this.closed) return;
    this.disconnect();
    this.unlisten = undefined;
    this.options.log.warn({ err: error }, 'lost the API token change listener; token cache off until it reconnects');
    this.retryLater();
  }

  private retryLater() {
    if (this.closed) return;
    // Jitter, so processes that lost the database together do not come back in step.
    const delay = this.retryDelayMs * (0.5 + Math.random() / 2);
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.maxRetryDelayMs);
    this.retryTimer = setTimeout(() => void this.listen(), delay);
    this.retryTimer.unref();
  }
}
