import type { Config } from '../../config.ts';
import type { AppError } from '../../errors.ts';

/** amoCRM answers at most this many short links per request (seed 004). */
export const AMOCRM_SHORT_LINKS_PER_REQUEST = 250;
export const AMOCRM_SHORT_LINKS_PATH = '/api/v4/short_links';
export const AMOCRM_ACCESS_TOKEN_PATH = '/oauth2/access_token';

/** A 429 asking to wait longer than this is not retried here: the client gets RATE_LIMITED. */
export const MAX_RETRY_AFTER_MS = 5000;
/** A request that would wait longer than this in the rate limiter's queue is refused at once (RATE_LIMITED). */
export const MAX_QUEUE_WAIT_SECONDS = 30;

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
