import { setTimeout as sleep } from 'node:timers/promises';
import pThrottle from 'p-throttle';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { AppError, forbidden, rateLimited, upstreamError } from '../errors.ts';

/** amoCRM answers at most this many short links per request (seed 004). */
export const AMOCRM_SHORT_LINKS_PER_REQUEST = 250;
export const AMOCRM_SHORT_LINKS_PATH = '/api/v4/short_links';
export const AMOCRM_ACCESS_TOKEN_PATH = '/oauth2/access_token';

/** A 429 asking to wait longer than this is not retried here: the client gets RATE_LIMITED. */
const MAX_RETRY_AFTER_MS = 5000;
/** A request that would wait longer than this in the rate limiter's queue is refused at once (RATE_LIMITED). */
const MAX_QUEUE_WAIT_SECONDS = 30;

export interface AmoShortLinkRequest {
  url: string;
  entityType: 'contacts';
  entityId: number;
}

/** Per item: the short link, or why amoCRM made none for it (e.g. FORBIDDEN: no rights to the contact). */
export type AmoShortLinkResult = { ok: true; url: string; accountId: number } | { ok: false; error: AppError };

/** What the service needs from amoCRM; implemented over its API (or the emulator in sandbox mode). */
export interface AmoCrmGateway {
  /**
   * One upstream request (plus bounded retries) for at most 250 items; one result per item, in
   * order. Throws an AppError when the request as a whole failed.
   */
  createShortLinks(items: readonly AmoShortLinkRequest[]): Promise<AmoShortLinkResult[]>;
}

export interface AmoTokenPair {
  access_token: string;
  refresh_token: string;
  /** Seconds. */
  expires_in: number;
}

export type AmoGrant = { grant_type: 'authorization_code'; code: string } | { grant_type: 'refresh_token'; refresh_token: string };

/** Where the adapter gets its bearer token from: a long-lived token, or the stored OAuth pair. */
export interface AmoCrmTokenSource {
  accessToken(): Promise<string>;
  /** After a 401 for `rejected`: a working token (refreshing once, shared by concurrent callers). Absent for long-lived tokens. */
  refresh?(rejected: string): Promise<string>;
}

export const longLivedToken = (token: string): AmoCrmTokenSource => ({ accessToken: async () => token });

export interface AmoCrmLimits {
  /** Client-side limit, under amoCRM's 7 requests per second per integration. */
  rateLimitPerSecond: number;
  /** Retries after a 429 or 5xx; timeouts and network errors are not retried (the links may exist). */
  maxRetries: number;
  /** The first retry waits this long, then twice as long each time (a 429's Retry-After wins). */
  retryBackoffMs: number;
  /** Per attempt. */
  timeoutMs: number;
}

export type AmoCrmSettings = AmoCrmLimits & { baseUrl: string } & (
    | { auth: 'long-lived'; accessToken: string }
    | {
        auth: 'oauth';
        clientId: string;
        clientSecret: string;
        redirectUri: string;
        /** First start: a grant to create the stored credential from. */
        authorizationCode?: string;
        refreshToken?: string;
      }
  );

/** The amoCRM integration the configuration asks for, or undefined when amoCRM is not configured. */
export function amoCrmSettingsFromConfig(config: Config): AmoCrmSettings | undefined {
  const baseUrl = config.AMOCRM_BASE_URL ?? (config.AMOCRM_SUBDOMAIN ? `https://${config.AMOCRM_SUBDOMAIN}.amocrm.ru` : undefined);
  if (baseUrl === undefined) return undefined;
  const limits: AmoCrmLimits & { baseUrl: string } = {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    rateLimitPerSecond: config.AMOCRM_RATE_LIMIT_PER_SECOND,
    maxRetries: config.AMOCRM_MAX_RETRIES,
    retryBackoffMs: config.AMOCRM_RETRY_BACKOFF_MS,
    timeoutMs: config.AMOCRM_TIMEOUT_MS,
  };
  if (config.AMOCRM_ACCESS_TOKEN) return { ...limits, auth: 'long-lived', accessToken: config.AMOCRM_ACCESS_TOKEN };
  if (config.AMOCRM_CLIENT_ID && config.AMOCRM_CLIENT_SECRET && config.AMOCRM_REDIRECT_URI) {
    return {
      ...limits,
      auth: 'oauth',
      clientId: config.AMOCRM_CLIENT_ID,
      clientSecret: config.AMOCRM_CLIENT_SECRET,
      redirectUri: config.AMOCRM_REDIRECT_URI,
      authorizationCode: config.AMOCRM_AUTHORIZATION_CODE,
      refreshToken: config.AMOCRM_REFRESH_TOKEN,
    };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Transport: one throttled HTTP request with a timeout. Failures are thrown as the two errors
// below and turned into contract errors only by mapAmoCrmError.
// ---------------------------------------------------------------------------------------------

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
      this.options.log.warn({ path, ms: Math.round(performance.now() - startedAt), kind: timedOut ? 'timeout' : 'network' }, 'amoCRM unreachable');
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

// ---------------------------------------------------------------------------------------------
// The one place that turns an amoCRM failure into a contract error.
// ---------------------------------------------------------------------------------------------

export interface AmoCrmFailure {
  /** The error for the whole request (or for every item it does not name). */
  error: AppError;
  /** A 400 whose validation-errors name items by request_id: index in the request → that item's error. */
  itemErrors?: Map<number, AppError>;
}

interface ProblemBody {
  title?: unknown;
  detail?: unknown;
  hint?: unknown;
  'validation-errors'?: unknown;
}

const problemOf = (body: unknown): ProblemBody => (typeof body === 'object' && body !== null ? (body as ProblemBody) : {});
const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);

export const REAUTHORIZATION_HINT =
  're-authorisation is needed: install the amoCRM integration again and start the server once with the new AMOCRM_AUTHORIZATION_CODE';

/** `operation`: which call failed; OAuth answers mean something else than API answers. */
export function mapAmoCrmError(error: unknown, operation: 'short_links' | 'oauth'): AmoCrmFailure {
  if (error instanceof AppError) return { error };
  if (error instanceof AmoTransportError) {
    if (error.kind === 'timeout') return { error: upstreamError('amoCRM did not answer in time', { reason: 'AMOCRM_TIMEOUT' }) };
    if (error.kind === 'network') return { error: upstreamError('amoCRM could not be reached', { reason: 'AMOCRM_UNREACHABLE' }) };
    if (error.kind === 'queue-full') {
      const retryAfter = error.retryAfterSeconds ?? MAX_QUEUE_WAIT_SECONDS;
      return { error: rateLimited(retryAfter, `Too many amoCRM requests are waiting: retry after ${retryAfter} s`) };
    }
    return { error: upstreamError('amoCRM answered with an unexpected body', { reason: 'AMOCRM_UNEXPECTED_ANSWER' }) };
  }
  if (!(error instanceof AmoHttpError)) return { error: upstreamError('amoCRM call failed') };

  const { status } = error;
  const problem = problemOf(error.body);
  const detail = text(problem.detail) ?? text(problem.title) ?? `HTTP ${status}`;
  if (status === 429) {
    const retryAfter = error.retryAfterSeconds ?? 1;
    return { error: rateLimited(retryAfter, `amoCRM rate limit: retry after ${retryAfter} s`) };
  }
  if (status >= 500) return { error: upstreamError(`amoCRM failed (HTTP ${status})`, { reason: 'AMOCRM_UNAVAILABLE', status }) };

  if (operation === 'oauth') {
    const hint = text(problem.hint);
    if (status === 401 && hint === undefined) {
      return {
        error: upstreamError(
          'amoCRM rejected the integration (check AMOCRM_CLIENT_ID, AMOCRM_CLIENT_SECRET and AMOCRM_REDIRECT_URI)',
          { reason: 'AMOCRM_CLIENT_REJECTED' },
        ),
      };
    }
    // A used ("revoked"), expired or unknown refresh token or authorization code.
    return {
      error: upstreamError(`amoCRM refused the stored grant (${hint ?? detail}): ${REAUTHORIZATION_HINT}`, {
        reason: 'AMOCRM_REAUTHORIZATION_REQUIRED',
      }),
    };
  }

  if (status === 401) {
    return { error: upstreamError('amoCRM rejected the access token', { reason: 'AMOCRM_UNAUTHORIZED' }) };
  }
  if (status === 403) {
    // amoCRM's web server answers an HTML 403 to integrations it blocks for abuse.
    return { error: upstreamError('amoCRM refused access (HTTP 403): the integration may be blocked', { reason: 'AMOCRM_FORBIDDEN' }) };
  }
  if (status === 400 && Array.isArray(problem['validation-errors'])) {
    const itemErrors = new Map<number, AppError>();
    for (const entry of problem['validation-errors'] as { request_id?: unknown; errors?: unknown }[]) {
      const index = Number(entry?.request_id);
      const errors = Array.isArray(entry?.errors) ? (entry.errors as { path?: unknown; detail?: unknown; code?: unknown }[]) : [];
      // An error without a path is about the request body as a whole, not about this item.
      if (!Number.isInteger(index) || index < 0 || errors.length === 0 || errors.some((e) => !text(e?.path))) continue;
      const reasons = errors.map((e) => `${text(e.path)}: ${text(e.detail) ?? text(e.code) ?? 'invalid'}`);
      itemErrors.set(index, new AppError('VALIDATION_FAILED', `amoCRM rejected this item: ${reasons.join('; ')}`));
    }
    return {
      error: upstreamError(`amoCRM refused the request: ${detail}`, { reason: 'AMOCRM_REJECTED' }),
      ...(itemErrors.size > 0 ? { itemErrors } : {}),
    };
  }
  return { error: upstreamError(`amoCRM refused the request (HTTP ${status}): ${detail}`, { reason: 'AMOCRM_REJECTED' }) };
}

// ---------------------------------------------------------------------------------------------

/** The OAuth token endpoint (its own rate limiter, so a refresh never queues behind API calls). */
export class AmoCrmOAuthClient {
  private readonly transport: AmoCrmTransport;

  constructor(
    private readonly options: {
      baseUrl: string;
      clientId: string;
      clientSecret: string;
      redirectUri: string;
      rateLimitPerSecond: number;
      timeoutMs: number;
      log: Logger;
      signal?: AbortSignal;
    },
  ) {
    this.transport = new AmoCrmTransport(options);
  }

  /** Throws a mapped AppError (reason AMOCRM_REAUTHORIZATION_REQUIRED for a used or expired grant). */
  async exchange(grant: AmoGrant): Promise<AmoTokenPair> {
    let body: unknown;
    try {
      body = await this.transport.post({
        path: AMOCRM_ACCESS_TOKEN_PATH,
        body: {
          client_id: this.options.clientId,
          client_secret: this.options.clientSecret,
          redirect_uri: this.options.redirectUri,
          ...grant,
        },
      });
    } catch (error) {
      const { error: mapped } = mapAmoCrmError(error, 'oauth');
      this.options.log.warn({ grantType: grant.grant_type, code: mapped.code, reason: mapped.details.reason }, 'amoCRM token request failed');
      throw mapped;
    }
    const pair = body as Partial<AmoTokenPair>;
    if (typeof pair.access_token !== 'string' || typeof pair.refresh_token !== 'string' || typeof pair.expires_in !== 'number') {
      throw mapAmoCrmError(new AmoTransportError('unexpected-body', AMOCRM_ACCESS_TOKEN_PATH), 'oauth').error;
    }
    return { access_token: pair.access_token, refresh_token: pair.refresh_token, expires_in: pair.expires_in };
  }
}

export interface AmoCrmAdapterOptions extends AmoCrmLimits {
  baseUrl: string;
  tokens: AmoCrmTokenSource;
  log: Logger;
  signal?: AbortSignal;
}

interface ShortLinkAnswer {
  url: string;
  account_id: number;
  metadata: { entity_id: number };
}

function shortLinksOf(body: unknown): ShortLinkAnswer[] {
  const links = (body as { _embedded?: { short_links?: unknown } } | undefined)?._embedded?.short_links;
  const valid =
    Array.isArray(links) &&
    links.every(
      (link: Partial<ShortLinkAnswer> | null) =>
        typeof link?.url === 'string' && typeof link.account_id === 'number' && typeof link.metadata?.entity_id === 'number',
    );
  if (!valid) throw new AmoTransportError('unexpected-body', AMOCRM_SHORT_LINKS_PATH);
  return links as ShortLinkAnswer[];
}

const noLinkError = (entityId: number) =>
  forbidden(
    `amoCRM made no short link for contact ${entityId}: the amoCRM user has no rights to it (or it does not exist)`,
    { reason: 'AMOCRM_ENTITY_DENIED', entityId },
  );

export class AmoCrmApiAdapter implements AmoCrmGateway {
  private readonly transport: AmoCrmTransport;

  constructor(private readonly options: AmoCrmAdapterOptions) {
    this.transport = new AmoCrmTransport(options);
  }

  async createShortLinks(items: readonly AmoShortLinkRequest[]): Promise<AmoShortLinkResult[]> {
    if (items.length > AMOCRM_SHORT_LINKS_PER_REQUEST) {
      throw new Error(`at most ${AMOCRM_SHORT_LINKS_PER_REQUEST} short links per amoCRM request, got ${items.length}`);
    }
    const results: (AmoShortLinkResult | undefined)[] = new Array(items.length);
    let pending = items.map((item, index) => ({ item, index }));
    // A 400 naming some items: those fail, and the others are sent once more on their own.
    for (let pass = 0; pending.length > 0; pass++) {
      let answer: ShortLinkAnswer[];
      try {
        answer = shortLinksOf(await this.send(pending.map(({ item }) => item)));
      } catch (error) {
        const failure = mapAmoCrmError(error, 'short_links');
        this.options.log.warn(
          { items: pending.length, code: failure.error.code, reason: failure.error.details.reason, rejectedItems: failure.itemErrors?.size },
          'amoCRM short links failed',
        );
        const named = failure.itemErrors;
        if (pass === 0 && !named) throw failure.error;
        const rest: typeof pending = [];
        pending.forEach((entry, position) => {
          const itemError = named?.get(position);
          if (itemError) results[entry.index] = { ok: false, error: itemError };
          else if (pass === 0) rest.push(entry);
          else results[entry.index] = { ok: false, error: failure.error };
        });
        pending = rest;
        continue;
      }
      // amoCRM answers in request order and leaves out entities the user has no rights to.
      let next = 0;
      for (const { item, index } of pending) {
        const link = answer[next];
        if (link && link.metadata.entity_id === item.entityId) {
          results[index] = { ok: true, url: link.url, accountId: link.account_id };
          next++;
        } else {
          results[index] = { ok: false, error: noLinkError(item.entityId) };
        }
      }
      if (next < answer.length) this.options.log.warn({ unmatched: answer.length - next }, 'amoCRM answered short links that match no item');
      pending = [];
    }
    return results.map((result) => result ?? { ok: false, error: upstreamError('amoCRM call failed') });
  }

  /** One request: bounded retries after a 429 or 5xx, one token refresh after a 401. */
  private async send(items: readonly AmoShortLinkRequest[]): Promise<unknown> {
    const { tokens, maxRetries } = this.options;
    const body = items.map((item) => ({ url: item.url, metadata: { entity_type: item.entityType, entity_id: item.entityId } }));
    let token = await tokens.accessToken();
    let refreshed = false;
    for (let attempt = 0; ; ) {
      try {
        return await this.transport.post({ path: AMOCRM_SHORT_LINKS_PATH, bearer: token, body });
      } catch (error) {
        if (error instanceof AmoHttpError && error.status === 401 && !refreshed && tokens.refresh) {
          refreshed = true;
          token = await tokens.refresh(token);
          continue;
        }
        const wait = this.retryDelay(error, attempt);
        if (wait === undefined || attempt >= maxRetries) throw error;
        attempt++;
        await sleep(wait);
      }
    }
  }

  private retryDelay(error: unknown, attempt: number): number | undefined {
    if (!(error instanceof AmoHttpError) || (error.status !== 429 && error.status < 500)) return undefined;
    if (error.status === 429 && error.retryAfterSeconds !== undefined) {
      const ms = error.retryAfterSeconds * 1000;
      return ms <= MAX_RETRY_AFTER_MS ? ms : undefined;
    }
    return this.options.retryBackoffMs * 2 ** attempt;
  }
}
