import { randomBytes, randomInt } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { EmulatorServer, jsonReply as json, matchControlRoute, parseJson, readBody, send, type Reply } from './http-kit.ts';

// ---------------------------------------------------------------------------------------------
// Every body and text the emulator answers with. Sources:
//   [errors-page]  amoCRM "Справочник ошибок и ответов API" (validation-errors example)
//   [php#333]      github.com/amocrm/amocrm-api-php/issues/333 (401 on an API call with a bad token)
//   [php#123/#315] github.com/amocrm/amocrm-api-php/issues/123, /315 (reused refresh token, status 401)
//   [client-401]   github.com/ufee/amoapi/issues/26, github.com/Krukov/amocrm_api/issues/41,
//                  amocrm-api-php#150 (wrong client_id / client_secret / redirect_uri)
//   [client-code]  a public amoCRM client that retries on status 400 + hint "Authorization code has
//                  been revoked" and tells it apart from "Cannot decrypt the authorization code"
// The hints follow league/oauth2-server, which amoCRM's OAuth answers are built on.
// ---------------------------------------------------------------------------------------------

const OAUTH_PROBLEM_TYPE = 'https://developers.amocrm.ru/v3/errors/OAuthProblemJson';
const OAUTH_INVALID_REQUEST = {
  title: 'Некорректный запрос',
  type: OAUTH_PROBLEM_TYPE,
  detail: 'В запросе отсутствует ряд параметров или параметры невалидны',
};

const PROBLEMS = {
  // [php#333]
  unauthorized: {
    title: 'Unauthorized',
    type: 'https://httpstatus.es/401',
    status: 401,
    detail: 'Неверный логин или пароль',
  },
  // [errors-page]; `validation-errors` is added per request
  validationFailed: {
    title: 'Bad Request',
    type: 'https://httpstatus.es/400',
    status: 400,
    detail: 'Request validation failed',
  },
  // unverified
  tooManyRequests: {
    title: 'Too Many Requests',
    type: 'https://httpstatus.es/429',
    status: 429,
    detail: 'Too many requests per second for this integration',
  },
  // unverified
  notFound: { title: 'Not Found', type: 'https://httpstatus.es/404', status: 404, detail: 'Not found' },
  // only for control routes asked from elsewhere than loopback
  forbidden: { title: 'Forbidden', type: 'https://httpstatus.es/403', status: 403, detail: 'Forbidden' },
  // unverified: only ever sent for an injected failure
  serverError: (status: number) => ({
    title: STATUS_CODES[status] ?? 'Server Error',
    type: `https://httpstatus.es/${status}`,
    status,
    detail: 'Injected failure',
  }),
  oauth: {
    // [client-401]
    invalidClient: {
      title: 'Некорректный клиент',
      type: OAUTH_PROBLEM_TYPE,
      status: 401,
      detail: 'Авторизация клиента не прошла',
    },
    // [php#123/#315]
    refreshTokenRevoked: { hint: 'Token has been revoked', ...OAUTH_INVALID_REQUEST, status: 401 },
    // unverified
    refreshTokenExpired: { hint: 'Token has expired', ...OAUTH_INVALID_REQUEST, status: 401 },
    // unverified
    refreshTokenUnknown: { hint: 'Cannot decrypt the refresh token', ...OAUTH_INVALID_REQUEST, status: 401 },
    // [client-code]
    codeRevoked: { hint: 'Authorization code has been revoked', ...OAUTH_INVALID_REQUEST, status: 400 },
    // unverified status; hint named by [client-code]
    codeUnknown: { hint: 'Cannot decrypt the authorization code', ...OAUTH_INVALID_REQUEST, status: 400 },
    // unverified
    codeExpired: { hint: 'Authorization code has expired', ...OAUTH_INVALID_REQUEST, status: 400 },
    // unverified
    missingParameter: (name: string) => ({ hint: `Check the \`${name}\` parameter`, ...OAUTH_INVALID_REQUEST, status: 400 }),
    // unverified
    unsupportedGrantType: { hint: 'Unsupported grant type', ...OAUTH_INVALID_REQUEST, status: 400 },
  },
};

/** The `{code, detail}` of entries in `validation-errors`. */
const VALIDATION_ERRORS = {
  // [errors-page]
  notSupportedChoice: { code: 'NotSupportedChoice', detail: 'The value you selected is not a valid choice.' },
  // unverified (all below): Symfony validator messages, which the verified one above is
  missing: { code: 'NotBlank', detail: 'This value should not be blank.' },
  notString: { code: 'InvalidType', detail: 'This value should be of type string.' },
  notObject: { code: 'InvalidType', detail: 'This value should be of type object.' },
  notInteger: { code: 'InvalidType', detail: 'This value should be of type int.' },
  notPositive: { code: 'InvalidValue', detail: 'This value should be positive.' },
  notUrl: { code: 'InvalidUrl', detail: 'This value is not a valid URL.' },
  notArray: { code: 'InvalidType', detail: 'This value should be of type array.' },
  empty: { code: 'Count', detail: 'This collection should contain 1 element or more.' },
  tooMany: { code: 'Count', detail: 'This collection should contain 250 elements or less.' },
};

// ---------------------------------------------------------------------------------------------

const SHORT_LINKS_PATH = '/api/v4/short_links';
const ACCESS_TOKEN_PATH = '/oauth2/access_token';
const SHORT_LINK_PREFIX = '/sh/';
const MAX_SHORT_LINKS_PER_REQUEST = 250;
const AUTHORIZATION_CODE_TTL_MS = 20 * 60 * 1000;
const REFRESH_TOKEN_TTL_MS = 90 * 24 * 60 * 60 * 1000;
const RATE_LIMIT_WINDOW_MS = 1000;
const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export type AmoInjectedFailure = { kind: 'serverError'; status?: number } | { kind: 'hang' } | { kind: 'rateLimit' };

export interface AmoCrmEmulatorOptions {
  accountId?: number;
  clientId?: string;
  clientSecret?: string;
  redirectUri?: string;
  /** Bearer tokens of private integrations: never expire, one integration each. */
  longLivedTokens?: string[];
  accessTokenTtlSeconds?: number;
  /** Per integration, over a sliding one-second window. */
  rateLimitPerSecond?: number;
  /** Contacts the user has no rights to: no short link is generated for them. */
  deniedEntityIds?: number[];
  /** Clock in milliseconds. */
  now?: () => number;
  /** When set (sandbox mode), control routes live under `/_emulator/<controlSecret>/`. */
  controlSecret?: string;
}

export interface AmoCall {
  method: string;
  path: string;
  at: number;
  /** Items in a short_links request body, when it was an array. */
  itemCount?: number;
  /** 0 while unanswered (an injected hang). */
  status: number;
}

export interface AmoTokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export interface AmoLinkFollowedNote {
  entity_id: number;
  url: string;
}

const injectedFailureSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('serverError'), status: z.number().int().min(500).max(599).optional() }),
  z.object({ kind: z.literal('hang') }),
  z.object({ kind: z.literal('rateLimit') }),
]);

/** Body of `POST /_emulator/fail`: the arguments of `failNext`. */
const failRequestSchema = z.object({
  failure: injectedFailureSchema,
  path: z.string().optional(),
  times: z.number().int().positive().optional(),
});

/** A handler's answer to leave the request unanswered. */
const HANG = Symbol('hang');

interface EmulatorRequest {
  headers: IncomingMessage['headers'];
  rawBody: string;
  path: string;
}

type RouteHandler = (request: EmulatorRequest) => Reply | typeof HANG;

interface PendingFailure {
  failure: AmoInjectedFailure;
  path: string | undefined;
  remaining: number;
}

interface ShortLink {
  targetUrl: string;
  entityId: number;
  clicks: number;
}

interface ShortLinkItem {
  url: string;
  entityId: number;
}

export class AmoCrmEmulator {
  readonly calls: AmoCall[] = [];

  private readonly accountId: number;
  private readonly clientId: string;
  private readonly clientSecret: string;
  private readonly redirectUri: string;
  private readonly longLivedTokens: Set<string>;
  private readonly accessTokenTtlMs: number;
  private readonly rateLimitPerSecond: number;
  private readonly deniedEntityIds: Set<number>;
  private readonly now: () => number;
  private readonly controlSecret: string | undefined;

  /** Access token → the integration it belongs to and when it stops working. */
  private readonly accessTokens = new Map<string, { integration: string; expiresAt: number }>();
  private readonly refreshTokens = new Map<string, { accessToken: string; expiresAt: number; used: boolean }>();
  private readonly authorizationCodes = new Map<string, { expiresAt: number; used: boolean }>();
  /** Integration → times of the requests it was allowed within the current window. */
  private readonly admittedAt = new Map<string, number[]>();
  private readonly pendingFailures: PendingFailure[] = [];
  /** Short link code → link. */
  private readonly shortLinks = new Map<string, ShortLink>();
  private readonly notesByEntity = new Map<number, AmoLinkFollowedNote[]>();

  private readonly server = new EmulatorServer(
    'AmoCrmEmulator',
    (request, response) => this.handle(request, response),
    (_error, response) => response.destroy(),
  );

  constructor(options: AmoCrmEmulatorOptions = {}) {
    this.accountId = options.accountId ?? 31000001;
    this.clientId = options.clientId ?? 'emulator-client-id';
    this.clientSecret = options.clientSecret ?? 'emulator-client-secret';
    this.redirectUri = options.redirectUri ?? 'https://example.test/amocrm/oauth';
    this.longLivedTokens = new Set(options.longLivedTokens ?? []);
    this.accessTokenTtlMs = (options.accessTokenTtlSeconds ?? 86400) * 1000;
    this.rateLimitPerSecond = options.rateLimitPerSecond ?? 7;
    this.deniedEntityIds = new Set(options.deniedEntityIds ?? []);
    this.now = options.now ?? Date.now;
    this.controlSecret = options.controlSecret;
  }

  get baseUrl(): string {
    return this.server.url;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    return this.server.listen(port, host);
  }

  /** Also destroys keep-alive sockets and requests held by an injected hang. */
  async close(): Promise<void> {
    await this.server.close();
  }

  issueAuthorizationCode(): string {
    const code = `def50200${randomBytes(32).toString('hex')}`;
    this.authorizationCodes.set(code, { expiresAt: this.now() + AUTHORIZATION_CODE_TTL_MS, used: false });
    return code;
  }

  issueTokenPair(): AmoTokenPair {
    const accessToken = randomBytes(32).toString('hex');
    const refreshToken = `def50200${randomBytes(48).toString('hex')}`;
    const now = this.now();
    this.accessTokens.set(accessToken, { integration: this.clientId, expiresAt: now + this.accessTokenTtlMs });
    this.refreshTokens.set(refreshToken, { accessToken, expiresAt: now + REFRESH_TOKEN_TTL_MS, used: false });
    return { access_token: accessToken, refresh_token: refreshToken, expires_in: this.accessTokenTtlMs / 1000 };
  }

  /** Every issued access token answers 401 from now on; long-lived tokens keep working. */
  expireAccessTokens(): void {
    for (const record of this.accessTokens.values()) record.expiresAt = Number.NEGATIVE_INFINITY;
  }

  /** Queues a failure for the next routed request (to `path`, if given), `times` times in a row. */
  failNext(failure: AmoInjectedFailure, options: { path?: string; times?: number } = {}): void {
    const times = options.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new Error(`times must be a positive integer, got ${times}`);
    this.pendingFailures.push({ failure, path: options.path, remaining: times });
  }

  denyEntity(id: number): void {
    this.deniedEntityIds.add(id);
  }

  callCount(path: string): number {
    return this.calls.filter((call) => call.path === path).length;
  }

  clicks(shortUrl: string): number {
    return this.shortLinks.get(shortLinkCode(shortUrl))?.clicks ?? 0;
  }

  /** The "link_followed" notes added to a contact, one per click. */
  notes(entityId: number): AmoLinkFollowedNote[] {
    return [...(this.notesByEntity.get(entityId) ?? [])];
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  private async handle(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = incoming.method ?? 'GET';
    const path = new URL(incoming.url ?? '/', 'http://emulator.invalid').pathname;
    const request: EmulatorRequest = {
      headers: incoming.headers,
      rawBody: (await readBody(incoming)).toString('utf8'),
      path,
    };

    const control = matchControlRoute(incoming, path, this.controlSecret);
    if (control?.kind === 'refused') {
      send(response, problem(control.status === 403 ? PROBLEMS.forbidden : PROBLEMS.notFound));
      return;
    }
    if (control) {
      const controlHandler = this.controlRoute(method, control.route);
      send(response, controlHandler ? controlHandler(request) : problem(PROBLEMS.notFound));
      return;
    }
    const handler = this.route(method, path);
    if (!handler) {
      send(response, problem(PROBLEMS.notFound));
      return;
    }

    const call: AmoCall = { method, path, at: this.now(), status: 0 };
    if (path === SHORT_LINKS_PATH) {
      const itemCount = countJsonArrayItems(request.rawBody);
      if (itemCount !== undefined) call.itemCount = itemCount;
    }
    this.calls.push(call);

    const failure = this.takeFailure(path);
    const reply = failure ? failureReply(failure) : handler(request);
    if (reply === HANG) return;
    call.status = reply.status;
    send(response, reply);
  }

  private route(method: string, path: string): RouteHandler | undefined {
    if (method === 'POST' && path === SHORT_LINKS_PATH) return (request) => this.createShortLinks(request);
    if (method === 'POST' && path === ACCESS_TOKEN_PATH) return (request) => this.grantAccessToken(request);
    if (method === 'GET' && path.startsWith(SHORT_LINK_PREFIX)) return (request) => this.followShortLink(request);
    return undefined;
  }

  /** `route` is the path after `/_emulator/` (and the control secret). */
  private controlRoute(method: string, route: string): ((request: EmulatorRequest) => Reply) | undefined {
    if (method === 'POST' && route === 'fail') return (request) => this.controlFail(request);
    if (method === 'POST' && route === 'expire-tokens') {
      return () => {
        this.expireAccessTokens();
        return { status: 204 };
      };
    }
    if (method === 'GET' && route === 'calls') return () => json(200, { calls: this.calls });
    return undefined;
  }

  private controlFail(request: EmulatorRequest): Reply {
    const parsed = failRequestSchema.safeParse(parseJson(request.rawBody));
    if (!parsed.success) return json(400, { error: z.prettifyError(parsed.error) });
    const { failure, path, times } = parsed.data;
    this.failNext(failure, { path, times });
    return { status: 204 };
  }

  private takeFailure(path: string): AmoInjectedFailure | undefined {
    const index = this.pendingFailures.findIndex((pending) => pending.path === undefined || pending.path === path);
    const pending = this.pendingFailures[index];
    if (!pending) return undefined;
    pending.remaining -= 1;
    if (pending.remaining === 0) this.pendingFailures.splice(index, 1);
    return pending.failure;
  }

  private createShortLinks(request: EmulatorRequest): Reply {
    const integration = this.authenticate(request.headers.authorization);
    if (integration === undefined) return problem(PROBLEMS.unauthorized);
    if (!this.admit(integration)) return problem(PROBLEMS.tooManyRequests);

    const validated = validateShortLinkRequest(parseJson(request.rawBody));
    if (!validated.ok) {
      return problem({ 'validation-errors': validated.validationErrors, ...PROBLEMS.validationFailed });
    }

    const created = validated.items
      .filter((item) => !this.deniedEntityIds.has(item.entityId))
      .map((item) => ({
        url: `${this.baseUrl}${SHORT_LINK_PREFIX}${this.createShortLink(item)}`,
        account_id: this.accountId,
        metadata: { entity_type: 'contacts', entity_id: item.entityId },
      }));
    // When every entity is denied the answer is still 200 with an empty list (unverified).
    return json(200, { _links: { self: { href: SHORT_LINKS_PATH } }, _embedded: { short_links: created } }, 'application/hal+json');
  }

  private createShortLink(item: ShortLinkItem): string {
    let code: string;
    do code = randomBase62(12);
    while (this.shortLinks.has(code));
    this.shortLinks.set(code, { targetUrl: item.url, entityId: item.entityId, clicks: 0 });
    return code;
  }

  private followShortLink(request: EmulatorRequest): Reply {
    const link = this.shortLinks.get(request.path.slice(SHORT_LINK_PREFIX.length));
    if (!link) return problem(PROBLEMS.notFound);
    link.clicks += 1;
    const notes = this.notesByEntity.get(link.entityId) ?? [];
    notes.push({ entity_id: link.entityId, url: link.targetUrl });
    this.notesByEntity.set(link.entityId, notes);
    return { status: 302, headers: { location: link.targetUrl } };
  }

  /** The integration a bearer token belongs to, or undefined when it does not authenticate. */
  private authenticate(authorization: string | undefined): string | undefined {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (token === undefined) return undefined;
    if (this.longLivedTokens.has(token)) return `private:${token}`;
    const record = this.accessTokens.get(token);
    if (!record || this.now() >= record.expiresAt) return undefined;
    return record.integration;
  }

  /** Counts the request against the integration's window, unless the window is already full. */
  private admit(integration: string): boolean {
    const now = this.now();
    const recent = (this.admittedAt.get(integration) ?? []).filter((at) => now - at < RATE_LIMIT_WINDOW_MS);
    const admitted = recent.length < this.rateLimitPerSecond;
    if (admitted) recent.push(now);
    this.admittedAt.set(integration, recent);
    return admitted;
  }

  private grantAccessToken(request: EmulatorRequest): Reply {
    const params = parseFormOrJson(request.headers['content-type'], request.rawBody);
    const grantType = params.get('grant_type');
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
      return problem(PROBLEMS.oauth.unsupportedGrantType);
    }
    if (
      params.get('client_id') !== this.clientId ||
      params.get('client_secret') !== this.clientSecret ||
      params.get('redirect_uri') !== this.redirectUri
    ) {
      return problem(PROBLEMS.oauth.invalidClient);
    }
    return grantType === 'authorization_code'
      ? this.redeemAuthorizationCode(params.get('code'))
      : this.redeemRefreshToken(params.get('refresh_token'));
  }

  private redeemAuthorizationCode(code: string | undefined): Reply {
    if (!code) return problem(PROBLEMS.oauth.missingParameter('code'));
    const record = this.authorizationCodes.get(code);
    if (!record) return problem(PROBLEMS.oauth.codeUnknown);
    if (record.used) return problem(PROBLEMS.oauth.codeRevoked);
    if (this.now() >= record.expiresAt) return problem(PROBLEMS.oauth.codeExpired);
    record.used = true;
    return this.tokenReply();
  }

  private redeemRefreshToken(refreshToken: string | undefined): Reply {
    if (!refreshToken) return problem(PROBLEMS.oauth.missingParameter('refresh_token'));
    const record = this.refreshTokens.get(refreshToken);
    if (!record) return problem(PROBLEMS.oauth.refreshTokenUnknown);
    if (record.used) return problem(PROBLEMS.oauth.refreshTokenRevoked);
    if (this.now() >= record.expiresAt) return problem(PROBLEMS.oauth.refreshTokenExpired);
    record.used = true;
    this.accessTokens.delete(record.accessToken);
    return this.tokenReply();
  }

  private tokenReply(): Reply {
    return json(200, { token_type: 'Bearer', ...this.issueTokenPair() });
  }
}

type ShortLinkValidation =
  | { ok: true; items: ShortLinkItem[] }
  | { ok: false; validationErrors: { request_id: string; errors: { code: string; path: string; detail: string }[] }[] };

function validateShortLinkRequest(body: unknown): ShortLinkValidation {
  // Errors about the whole body are reported against request "0", path "" (unverified).
  const wholeBodyError = (error: { code: string; detail: string }): ShortLinkValidation => ({
    ok: false,
    validationErrors: [{ request_id: '0', errors: [{ ...error, path: '' }] }],
  });
  if (!Array.isArray(body)) return wholeBodyError(VALIDATION_ERRORS.notArray);
  if (body.length === 0) return wholeBodyError(VALIDATION_ERRORS.empty);
  if (body.length > MAX_SHORT_LINKS_PER_REQUEST) return wholeBodyError(VALIDATION_ERRORS.tooMany);

  const items: ShortLinkItem[] = [];
  const validationErrors: { request_id: string; errors: { code: string; path: string; detail: string }[] }[] = [];
  body.forEach((item: unknown, index) => {
    const errors = validateShortLinkItem(item);
    if (errors.length > 0) {
      validationErrors.push({ request_id: String(index), errors });
    } else {
      const { url, metadata } = item as { url: string; metadata: { entity_id: number } };
      items.push({ url, entityId: metadata.entity_id });
    }
  });
  return validationErrors.length > 0 ? { ok: false, validationErrors } : { ok: true, items };
}

function validateShortLinkItem(item: unknown): { code: string; path: string; detail: string }[] {
  const errors: { code: string; path: string; detail: string }[] = [];
  const fail = (path: string, error: { code: string; detail: string }) => errors.push({ ...error, path });
  const fields = isPlainObject(item) ? item : {};

  const { url } = fields;
  if (url === undefined || url === null || url === '') fail('url', VALIDATION_ERRORS.missing);
  else if (typeof url !== 'string') fail('url', VALIDATION_ERRORS.notString);
  else if (!isHttpUrl(url)) fail('url', VALIDATION_ERRORS.notUrl);

  const { metadata } = fields;
  if (metadata === undefined || metadata === null) {
    fail('metadata', VALIDATION_ERRORS.missing);
    return errors;
  }
  if (!isPlainObject(metadata)) {
    fail('metadata', VALIDATION_ERRORS.notObject);
    return errors;
  }

  const { entity_type: entityType, entity_id: entityId } = metadata;
  if (entityType === undefined || entityType === null || entityType === '') {
    fail('metadata.entity_type', VALIDATION_ERRORS.missing);
  } else if (entityType !== 'contacts') {
    fail('metadata.entity_type', VALIDATION_ERRORS.notSupportedChoice);
  }

  if (entityId === undefined || entityId === null) fail('metadata.entity_id', VALIDATION_ERRORS.missing);
  else if (typeof entityId !== 'number' || !Number.isInteger(entityId)) fail('metadata.entity_id', VALIDATION_ERRORS.notInteger);
  else if (entityId <= 0) fail('metadata.entity_id', VALIDATION_ERRORS.notPositive);

  return errors;
}

function failureReply(failure: AmoInjectedFailure): Reply | typeof HANG {
  switch (failure.kind) {
    case 'serverError':
      return problem(PROBLEMS.serverError(failure.status ?? 500));
    case 'rateLimit':
      return problem(PROBLEMS.tooManyRequests);
    case 'hang':
      return HANG;
  }
}

function problem(body: { status: number; [field: string]: unknown }): Reply {
  return { status: body.status, body: { contentType: 'application/problem+json', value: body } };
}

/** OAuth parameters from a form-encoded or JSON body; non-string JSON values are ignored. */
function parseFormOrJson(contentType: string | undefined, rawBody: string): Map<string, string> {
  if (contentType?.includes('application/x-www-form-urlencoded')) return new Map(new URLSearchParams(rawBody));
  const body = parseJson(rawBody);
  if (!isPlainObject(body)) return new Map();
  return new Map(Object.entries(body).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

function countJsonArrayItems(rawBody: string): number | undefined {
  const body = parseJson(rawBody);
  return Array.isArray(body) ? body.length : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHttpUrl(text: string): boolean {
  try {
    const { protocol } = new URL(text);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function shortLinkCode(shortUrl: string): string {
  return shortUrl.slice(shortUrl.lastIndexOf('/') + 1);
}

function randomBase62(length: number): string {
  let text = '';
  for (let i = 0; i < length; i += 1) text += BASE62_ALPHABET.charAt(randomInt(BASE62_ALPHABET.length));
  return text;
}
