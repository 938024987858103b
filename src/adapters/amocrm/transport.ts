// Transport: one throttled HTTP request with a timeout. Failures are thrown as the two errors
// here and turned into contract errors only by mapAmoCrmError (errors.ts).
import type { Logger } from '../../logger.ts';
import { MAX_QUEUE_WAIT_SECONDS } from './settings.ts';
import pThrottle from 'p-throttle';

/** amoCRM answered with a status other than 2xx. */
export class AmoHttpError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    /** The parsed JSON body (a problem+json object), or undefined (e.g. an HTML 403). */
    readonly body: unknown,
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(`amoCRM ${path} answered HTTP ${status}`);
  }
}

/** No usable answer: timed out, unreachable, a body that is not what amoCRM sends, or not sent (queue full). */
export class AmoTransportError extends Error {
  constructor(
    readonly kind: 'timeout' | 'network' | 'unexpected-body' | 'queue-full',
    readonly path: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(`amoCRM ${path}: ${kind}`, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  readonly retryAfterSeconds: number | undefined;
}

interface AmoRequest {
  path: string;
  bearer?: string;
  body: unknown;
}

/** POSTs JSON to amoCRM under a client-side rate limit, each attempt with its own timeout. */
export class AmoCrmTransport {
  private readonly throttled: ((request: AmoRequest) => Promise<unknown>) & { readonly queueSize: number };

  constructor(
    private readonly options: {
      baseUrl: string;
      rateLimitPerSecond: number;
      timeoutMs: number;
      log: Logger;
      /** Aborting it rejects every request still waiting in the rate limiter's queue. */
      signal?: AbortSignal;
    },
  ) {
    // strict: a sliding window, so no burst straddles two windows (amoCRM counts a sliding second).
    const throttle = pThrottle({ limit: options.rateLimitPerSecond, interval: 1000, strict: true, signal: options.signal });
    this.throttled = throttle((request: AmoRequest) => this.sendNow(request));
  }

  /** The parsed JSON of a 2xx answer; throws AmoHttpError or AmoTransportError. */
  post(request: AmoRequest): Promise<unknown> {
    const waitSeconds = Math.ceil((this.throttled.queueSize + 1) / this.options.rateLimitPerSecond);
    if (waitSeconds > MAX_QUEUE_WAIT_SECONDS) {
      this.options.log.warn({ path: request.path, queued: this.throttled.queueSize }, 'amoCRM request queue is full');
      return Promise.reject(new AmoTransportError('queue-full', request.path, { retryAfterSeconds: waitSeconds }));
    }
    return this.throttled(request);
  }

  private async sendNow({ path, bearer, body }: AmoRequest): Promise<unknown> {
    const startedAt = performance.now();
    let response: Response;
    let text: string;
    try {
      // The timer starts when the request leaves the rate limiter's queue, not when it joined it.
      response = await fetch(`${this.options.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      this.options.log.warn(
        { path, ms: Math.round(performance.now() - startedAt), kind: timedOut ? 'timeout' : 'network' },
        'amoCRM unreachable',
      );
      throw new AmoTransportError(timedOut ? 'timeout' : 'network', path, { cause: error });
    }
    const ms = Math.round(performance.now() - startedAt);
    // Only the path, status and timing: bodies of the token endpoint carry secrets.
    this.options.log.debug({ path, status: response.status, ms }, 'amoCRM call');
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new AmoHttpError(response.status, path, parsed, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined);
    }
    if (parsed === undefined) throw new AmoTransportError('unexpected-body', path);
    return parsed;
  }
}
