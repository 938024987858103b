import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Database } from '../db/database.ts';
import { rateLimited } from '../errors.ts';

export interface RequestRateLimiter {
  /** Counts one request for the token; throws RATE_LIMITED with retryAfter once over the limit. */
  consume(tokenId: string): Promise<void>;
}

/**
 * Requests per token per minute. On PostgreSQL the counters live in the rate_limits table, so
 * every server process sharing the database shares them; on the embedded database (one process)
 * they live in memory. A limit of 0 turns it off.
 */
export function createRequestRateLimiter(db: Database, requestsPerMinute: number): RequestRateLimiter {
  if (requestsPerMinute === 0) return { consume: async () => {} };
  const options = { points: requestsPerMinute, duration: 60, keyPrefix: 'token' };
  const limiter: RateLimiterAbstract = db.pgPool
    ? new RateLimiterPostgres({
        ...options,
        storeClient: db.pgPool,
        storeType: 'pool',
        tableName: 'rate_limits',
        tableCreated: true,
        clearExpiredByTimeout: false,
      })
    : new RateLimiterMemory(options);
  return {
    async consume(tokenId) {
      try {
        await limiter.consume(tokenId);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) throw rateLimited(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
        throw rejection;
      }
    },
  };
}
