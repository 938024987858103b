import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AmoCrmEmulator, type AmoCrmEmulatorOptions } from '../../src/sandbox/amocrm-emulator.ts';

const SHORT_LINKS = '/api/v4/short_links';
const ACCESS_TOKEN = '/oauth2/access_token';
const PRIVATE_TOKEN = 'private-integration-token';
const OTHER_PRIVATE_TOKEN = 'other-private-integration-token';
const CLIENT = { client_id: 'client-1', client_secret: 'secret-1', redirect_uri: 'https://app.test/amo/callback' };
const START_TIME = 1_700_000_000_000;

const UNAUTHORIZED = {
  title: 'Unauthorized',
  type: 'https://httpstatus.es/401',
  status: 401,
  detail: 'Неверный логин или пароль',
};
const TOO_MANY_REQUESTS = {
  title: 'Too Many Requests',
  type: 'https://httpstatus.es/429',
  status: 429,
  detail: 'Too many requests per second for this integration',
};
const OAUTH_TYPE = 'https://developers.amocrm.ru/v3/errors/OAuthProblemJson';
const OAUTH_BAD_REQUEST = {
  title: 'Некорректный запрос',
  type: OAUTH_TYPE,
  detail: 'В запросе отсутствует ряд параметров или параметры невалидны',
};

function validationProblem(requestId: string, errors: { code: string; path: string; detail: string }[]) {
  return {
    'validation-errors': [{ request_id: requestId, errors }],
    title: 'Bad Request',
    type: 'https://httpstatus.es/400',
    status: 400,
    detail: 'Request validation failed',
  };
}

function contact(entityId: number, url = `https://shop.test/offer?contact=${entityId}`) {
  return { url, metadata: { entity_type: 'contacts', entity_id: entityId } };
}

function postShortLinks(emulator: AmoCrmEmulator, body: unknown, token: string | null = PRIVATE_TOKEN, signal?: AbortSignal) {
  return fetch(`${emulator.baseUrl}${SHORT_LINKS}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== null && { authorization: `Bearer ${token}` }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal && { signal }),
  });
}

function postToken(emulator: AmoCrmEmulator, params: Record<string, string>, encoding: 'json' | 'form' = 'json') {
  return fetch(`${emulator.baseUrl}${ACCESS_TOKEN}`, {
    method: 'POST',
    headers: { 'content-type': encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded' },
    body: encoding === 'json' ? JSON.stringify(params) : new URLSearchParams(params).toString(),
  });
}

const startedPerTest: AmoCrmEmulator[] = [];
async function startEmulator(options: AmoCrmEmulatorOptions): Promise<AmoCrmEmulator> {
  const emulator = new AmoCrmEmulator(options);
  await emulator.listen(0);
  startedPerTest.push(emulator);
  return emulator;
}
afterEach(async () => {
  await Promise.all(startedPerTest.splice(0).map((emulator) => emulator.close()));
});

describe('short_links contract (shared emulator)', () => {
  const shared = new AmoCrmEmulator({
    accountId: 424242,
    longLivedTokens: [PRIVATE_TOKEN],
    rateLimitPerSecond: 100_000,
    deniedEntityIds: [900],
  });
  beforeAll(async () => {
    await shared.listen(0);
  });
  afterAll(async () => {
    await shared.close();
  });

  it('answers 200 hal+json with one link per item, in request order', async () => {
    const response = await postShortLinks(shared, [contact(11), contact(12, 'https://shop.test/b'), contact(13)]);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/hal+json');
    const body = (await response.json()) as { _embedded: { short_links: { url: string }[] } };
    const urls = body._embedded.short_links.map((link) => link.url);
    expect(body).toEqual({
      _links: { self: { href: SHORT_LINKS } },
      _embedded: {
        short_links: [11, 12, 13].map((entityId, index) => ({
          url: urls[index],
          account_id: 424242,
          metadata: { entity_type: 'contacts', entity_id: entityId },
        })),
      },
    });
    for (const url of urls) expect(url).toMatch(new RegExp(`^${shared.baseUrl}/sh/[0-9A-Za-z]{12}$`));
    expect(new Set(urls).size).toBe(3);
  });

  it('accepts 250 items and rejects 251', async () => {
    const items = Array.from({ length: 251 }, (_, index) => contact(1000 + index));

    const accepted = await postShortLinks(shared, items.slice(0, 250));
    expect(accepted.status).toBe(200);
    expect(((await accepted.json()) as { _embedded: { short_links: unknown[] } })._embedded.short_links).toHaveLength(250);

    const rejected = await postShortLinks(shared, items);
    expect(rejected.status).toBe(400);
    expect(rejected.headers.get('content-type')).toBe('application/problem+json');
    expect(await rejected.json()).toEqual(
      validationProblem('0', [{ code: 'Count', path: '', detail: 'This collection should contain 250 elements or less.' }]),
    );
  });

  it('rejects an entity_type other than contacts with NotSupportedChoice, reporting the item index', async () => {
    const response = await postShortLinks(shared, [
      contact(21),
      { url: 'https://shop.test', metadata: { entity_type: 'leads', entity_id: 22 } },
    ]);

    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toEqual(
      validationProblem('1', [
        { code: 'NotSupportedChoice', path: 'metadata.entity_type', detail: 'The value you selected is not a valid choice.' },
      ]),
    );
  });

  it.each([
    ['missing', undefined, { code: 'NotBlank', detail: 'This value should not be blank.' }],
    ['a string', '31', { code: 'InvalidType', detail: 'This value should be of type int.' }],
    ['a fraction', 3.5, { code: 'InvalidType', detail: 'This value should be of type int.' }],
    ['zero', 0, { code: 'InvalidValue', detail: 'This value should be positive.' }],
    ['negative', -4, { code: 'InvalidValue', detail: 'This value should be positive.' }],
  ])('rejects an entity_id that is %s', async (_, entityId, error) => {
    const response = await postShortLinks(shared, [
      { url: 'https://shop.test', metadata: { entity_type: 'contacts', entity_id: entityId } },
    ]);

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(validationProblem('0', [{ ...error, path: 'metadata.entity_id' }]));
  });

  it.each([
    ['missing', undefined, { code: 'NotBlank', detail: 'This value should not be blank.' }],
    ['not a URL', 'shop dot test', { code: 'InvalidUrl', detail: 'This value is not a valid URL.' }],
    ['not http(s)', 'ftp://shop.test/file', { code: 'InvalidUrl', detail: 'This value is not a valid URL.' }],
    ['a number', 42, { code: 'InvalidType', detail: 'This value should be of type string.' }],
  ])('rejects a url that is %s', async (_, url, error) => {
    const response = await postShortLinks(shared, [{ url, metadata: { entity_type: 'contacts', entity_id: 41 } }]);

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(validationProblem('0', [{ ...error, path: 'url' }]));
  });

  it.each([
    [
      'an object',
      { url: 'https://shop.test', metadata: { entity_type: 'contacts', entity_id: 51 } },
      'InvalidType',
      'This value should be of type array.',
    ],
    ['invalid JSON', '[{"url":', 'InvalidType', 'This value should be of type array.'],
    ['an empty array', [], 'Count', 'This collection should contain 1 element or more.'],
  ])('rejects a body that is %s', async (_, body, code, detail) => {
    const response = await postShortLinks(shared, body);

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(validationProblem('0', [{ code, path: '', detail }]));
  });

  it('answers 401 problem+json without a token and with an unknown one', async () => {
    for (const token of [null, 'not-a-real-token']) {
      const response = await postShortLinks(shared, [contact(61)], token);
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(await response.json()).toEqual(UNAUTHORIZED);
    }
  });

  it('skips entities the user has no rights to, from options and from denyEntity', async () => {
    shared.denyEntity(902);
    const response = await postShortLinks(shared, [contact(900), contact(901), contact(902), contact(903)]);

    expect(response.status).toBe(200);
    const body = (await response.json()) as { _embedded: { short_links: { metadata: { entity_id: number } }[] } };
    expect(body._embedded.short_links.map((link) => link.metadata.entity_id)).toEqual([901, 903]);
  });

  it('redirects a short link with 302, counting each click and adding a link_followed note', async () => {
    const response = await postShortLinks(shared, [contact(71, 'https://shop.test/spring'), contact(72, 'https://shop.test/summer')]);
    const [first, second] = ((await response.json()) as { _embedded: { short_links: { url: string }[] } })._embedded.short_links;
    if (!first || !second) throw new Error('expected two short links');

    for (let click = 1; click <= 2; click += 1) {
      const followed = await fetch(first.url, { redirect: 'manual' });
      expect(followed.status).toBe(302);
      expect(followed.headers.get('location')).toBe('https://shop.test/spring');
      expect(shared.clicks(first.url)).toBe(click);
    }
    expect(shared.clicks(second.url)).toBe(0);
    expect(shared.notes(71)).toEqual([
      { entity_id: 71, url: 'https://shop.test/spring' },
      { entity_id: 71, url: 'https://shop.test/spring' },
    ]);
    expect(shared.notes(72)).toEqual([]);
  });

  it('answers 404 for an unknown short link code', async () => {
    const response = await fetch(`${shared.baseUrl}/sh/AAAAAAAAAAAA`, { redirect: 'manual' });

    expect(response.status).toBe(404);
    expect(shared.clicks(`${shared.baseUrl}/sh/AAAAAAAAAAAA`)).toBe(0);
  });
});

describe('rate limit', () => {
  it('answers 429 past 7 requests in one second for one integration, not for another, and recovers', async () => {
    let clock = START_TIME;
    const emulator = await startEmulator({ longLivedTokens: [PRIVATE_TOKEN, OTHER_PRIVATE_TOKEN], now: () => clock });

    const statuses: number[] = [];
    for (let request = 0; request < 8; request += 1) {
      statuses.push((await postShortLinks(emulator, [contact(81)])).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 429]);

    const limited = await postShortLinks(emulator, [contact(81)]);
    expect(limited.headers.get('content-type')).toBe('application/problem+json');
    expect(await limited.json()).toEqual(TOO_MANY_REQUESTS);

    expect((await postShortLinks(emulator, [contact(81)], OTHER_PRIVATE_TOKEN)).status).toBe(200);

    clock += 999;
    expect((await postShortLinks(emulator, [contact(81)])).status).toBe(429);
    clock += 1;
    expect((await postShortLinks(emulator, [contact(81)])).status).toBe(200);
  });

  it('honours rateLimitPerSecond', async () => {
    const emulator = await startEmulator({ longLivedTokens: [PRIVATE_TOKEN], rateLimitPerSecond: 2, now: () => START_TIME });

    const statuses: number[] = [];
    for (let request = 0; request < 3; request += 1) statuses.push((await postShortLinks(emulator, [contact(82)])).status);

    expect(statuses).toEqual([200, 200, 429]);
  });
});

describe('OAuth', () => {
  async function exchangeCode(emulator: AmoCrmEmulator, encoding: 'json' | 'form' = 'json') {
    const code = emulator.issueAuthorizationCode();
    return postToken(emulator, { ...CLIENT, grant_type: 'authorization_code', code }, encoding);
  }

  it.each(['json', 'form'] as const)('exchanges an authorization code for a working pair (%s body)', async (encoding) => {
    const emulator = await startEmulator({ ...clientOptions(), accessTokenTtlSeconds: 3600 });

    const response = await exchangeCode(emulator, encoding);

    expect(response.status).toBe(200);
    const pair = (await response.json()) as Record<string, unknown>;
    expect(pair).toEqual({
      token_type: 'Bearer',
      expires_in: 3600,
      access_token: expect.any(String),
      refresh_token: expect.any(String),
    });
    expect((await postShortLinks(emulator, [contact(91)], pair.access_token as string)).status).toBe(200);
  });

  it('accepts an authorization code once', async () => {
    const emulator = await startEmulator(clientOptions());
    const code = emulator.issueAuthorizationCode();

    expect((await postToken(emulator, { ...CLIENT, grant_type: 'authorization_code', code })).status).toBe(200);
    const reused = await postToken(emulator, { ...CLIENT, grant_type: 'authorization_code', code });

    expect(reused.status).toBe(400);
    expect(await reused.json()).toEqual({ hint: 'Authorization code has been revoked', ...OAUTH_BAD_REQUEST, status: 400 });
  });

  it('refuses an unknown and an expired authorization code', async () => {
    let clock = START_TIME;
    const emulator = await startEmulator({ ...clientOptions(), now: () => clock });

    const unknown = await postToken(emulator, { ...CLIENT, grant_type: 'authorization_code', code: 'def50200made-up' });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ hint: 'Cannot decrypt the authorization code', ...OAUTH_BAD_REQUEST, status: 400 });

    const code = emulator.issueAuthorizationCode();
    clock += 20 * 60 * 1000;
    const expired = await postToken(emulator, { ...CLIENT, grant_type: 'authorization_code', code });
    expect(expired.status).toBe(400);
    expect(await expired.json()).toEqual({ hint: 'Authorization code has expired', ...OAUTH_BAD_REQUEST, status: 400 });
  });

  it.each([
    ['client_secret', { client_secret: 'wrong-secret' }],
    ['client_id', { client_id: 'someone-else' }],
    ['redirect_uri', { redirect_uri: 'https://app.test/other' }],
  ])('answers 401 invalid client for a wrong %s, leaving the code usable', async (_, override) => {
    const emulator = await startEmulator(clientOptions());
    const code = emulator.issueAuthorizationCode();

    const refused = await postToken(emulator, { ...CLIENT, ...override, grant_type: 'authorization_code', code });

    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({
      title: 'Некорректный клиент',
      type: OAUTH_TYPE,
      status: 401,
      detail: 'Авторизация клиента не прошла',
    });
    expect((await postToken(emulator, { ...CLIENT, grant_type: 'authorization_code', code })).status).toBe(200);
  });

  it('refuses an unsupported grant_type and a missing code', async () => {
    const emulator = await startEmulator(clientOptions());

    const password = await postToken(emulator, { ...CLIENT, grant_type: 'password' });
    expect(password.status).toBe(400);
    expect(await password.json()).toEqual({ hint: 'Unsupported grant type', ...OAUTH_BAD_REQUEST, status: 400 });

    const noCode = await postToken(emulator, { ...CLIENT, grant_type: 'authorization_code' });
    expect(noCode.status).toBe(400);
    expect(await noCode.json()).toEqual({ hint: 'Check the `code` parameter', ...OAUTH_BAD_REQUEST, status: 400 });
  });

  it('accepts a refresh token once; the new pair replaces the old access token', async () => {
    const emulator = await startEmulator(clientOptions());
    const original = emulator.issueTokenPair();

    const refreshed = await postToken(emulator, { ...CLIENT, grant_type: 'refresh_token', refresh_token: original.refresh_token });
    expect(refreshed.status).toBe(200);
    const pair = (await refreshed.json()) as { access_token: string; refresh_token: string };
    expect(pair.access_token).not.toBe(original.access_token);
    expect(pair.refresh_token).not.toBe(original.refresh_token);

    const reused = await postToken(emulator, { ...CLIENT, grant_type: 'refresh_token', refresh_token: original.refresh_token });
    expect(reused.status).toBe(401);
    expect(await reused.json()).toEqual({ hint: 'Token has been revoked', ...OAUTH_BAD_REQUEST, status: 401 });

    const withOldToken = await postShortLinks(emulator, [contact(92)], original.access_token);
    expect(withOldToken.status).toBe(401);
    expect(await withOldToken.json()).toEqual(UNAUTHORIZED);
    expect((await postShortLinks(emulator, [contact(92)], pair.access_token)).status).toBe(200);
  });

  it('refuses an unknown and an expired refresh token', async () => {
    let clock = START_TIME;
    const emulator = await startEmulator({ ...clientOptions(), now: () => clock });

    const unknown = await postToken(emulator, { ...CLIENT, grant_type: 'refresh_token', refresh_token: 'def50200made-up' });
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toEqual({ hint: 'Cannot decrypt the refresh token', ...OAUTH_BAD_REQUEST, status: 401 });

    const { refresh_token } = emulator.issueTokenPair();
    clock += 90 * 24 * 60 * 60 * 1000;
    const expired = await postToken(emulator, { ...CLIENT, grant_type: 'refresh_token', refresh_token });
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual({ hint: 'Token has expired', ...OAUTH_BAD_REQUEST, status: 401 });
  });

  it('expires access tokens after their ttl and on expireAccessTokens, but not long-lived tokens', async () => {
    let clock = START_TIME;
    const emulator = await startEmulator({
      ...clientOptions(),
      longLivedTokens: [PRIVATE_TOKEN],
      accessTokenTtlSeconds: 60,
      now: () => clock,
    });

    const shortLived = emulator.issueTokenPair();
    clock += 59_999;
    expect((await postShortLinks(emulator, [contact(93)], shortLived.access_token)).status).toBe(200);
    clock += 1;
    expect((await postShortLinks(emulator, [contact(93)], shortLived.access_token)).status).toBe(401);

    const fresh = emulator.issueTokenPair();
    expect((await postShortLinks(emulator, [contact(93)], fresh.access_token)).status).toBe(200);
    emulator.expireAccessTokens();
    const expired = await postShortLinks(emulator, [contact(93)], fresh.access_token);
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual(UNAUTHORIZED);
    expect((await postShortLinks(emulator, [contact(93)], PRIVATE_TOKEN)).status).toBe(200);

    const refreshed = await postToken(emulator, { ...CLIENT, grant_type: 'refresh_token', refresh_token: fresh.refresh_token });
    expect(refreshed.status).toBe(200);
  });
});

describe('injected failures', () => {
  it('answers an injected 5xx as problem+json once, default 500, then behaves normally', async () => {
    const emulator = await startEmulator({ longLivedTokens: [PRIVATE_TOKEN] });
    emulator.failNext({ kind: 'serverError' });
    emulator.failNext({ kind: 'serverError', status: 503 });

    const first = await postShortLinks(emulator, [contact(101)]);
    expect(first.status).toBe(500);
    expect(first.headers.get('content-type')).toBe('application/problem+json');
    expect(await first.json()).toEqual({
      title: 'Internal Server Error',
      type: 'https://httpstatus.es/500',
      status: 500,
      detail: 'Injected failure',
    });

    const second = await postShortLinks(emulator, [contact(101)]);
    expect(second.status).toBe(503);
    expect(await second.json()).toEqual({
      title: 'Service Unavailable',
      type: 'https://httpstatus.es/503',
      status: 503,
      detail: 'Injected failure',
    });

    expect((await postShortLinks(emulator, [contact(101)])).status).toBe(200);
  });

  it('answers an injected 429 regardless of the real limiter', async () => {
    const emulator = await startEmulator({ longLivedTokens: [PRIVATE_TOKEN] });
    emulator.failNext({ kind: 'rateLimit' });

    const limited = await postShortLinks(emulator, [contact(102)]);

    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual(TOO_MANY_REQUESTS);
    expect((await postShortLinks(emulator, [contact(102)])).status).toBe(200);
  });

  it('applies a failure only to its path, `times` times', async () => {
    const emulator = await startEmulator({ ...clientOptions(), longLivedTokens: [PRIVATE_TOKEN] });
    emulator.failNext({ kind: 'serverError', status: 502 }, { path: ACCESS_TOKEN, times: 2 });

    expect((await postShortLinks(emulator, [contact(103)])).status).toBe(200);
    const code = emulator.issueAuthorizationCode();
    const exchange = () => postToken(emulator, { ...CLIENT, grant_type: 'authorization_code', code });
    expect((await exchange()).status).toBe(502);
    expect((await exchange()).status).toBe(502);
    // The failures came before any state change: the code is still unused.
    expect((await exchange()).status).toBe(200);
  });

  it('leaves a hung request unanswered until the client gives up, and close() still resolves', async () => {
    const emulator = new AmoCrmEmulator({ longLivedTokens: [PRIVATE_TOKEN] });
    await emulator.listen(0);
    emulator.failNext({ kind: 'hang' }, { times: 2 });

    const abandoned = postShortLinks(emulator, [contact(104)], PRIVATE_TOKEN, AbortSignal.timeout(100));
    await expect(abandoned).rejects.toMatchObject({ name: 'TimeoutError' });

    const heldUntilClose = postShortLinks(emulator, [contact(104)]);
    await expect.poll(() => emulator.callCount(SHORT_LINKS)).toBe(2);
    await expect(emulator.close()).resolves.toBeUndefined();
    await expect(heldUntilClose).rejects.toThrow(TypeError);
    expect(emulator.calls.map((call) => call.status)).toEqual([0, 0]);
  });
});

describe('call log', () => {
  it('records every request that reached a route, with item counts and statuses', async () => {
    const emulator = await startEmulator({ ...clientOptions(), longLivedTokens: [PRIVATE_TOKEN], now: () => START_TIME });

    await postShortLinks(emulator, [contact(111), contact(112)]);
    await postShortLinks(emulator, [contact(113)], 'bad-token');
    await postShortLinks(emulator, { not: 'an array' });
    await postToken(emulator, { ...CLIENT, grant_type: 'refresh_token', refresh_token: 'unknown' });
    await fetch(`${emulator.baseUrl}/api/v4/leads`);

    expect(emulator.callCount(SHORT_LINKS)).toBe(3);
    expect(emulator.callCount(ACCESS_TOKEN)).toBe(1);
    expect(emulator.callCount('/api/v4/leads')).toBe(0);
    expect(emulator.calls).toEqual([
      { method: 'POST', path: SHORT_LINKS, at: START_TIME, itemCount: 2, status: 200 },
      { method: 'POST', path: SHORT_LINKS, at: START_TIME, itemCount: 1, status: 401 },
      { method: 'POST', path: SHORT_LINKS, at: START_TIME, status: 400 },
      { method: 'POST', path: ACCESS_TOKEN, at: START_TIME, status: 401 },
    ]);

    emulator.resetCalls();
    expect(emulator.calls).toEqual([]);
    expect(emulator.callCount(SHORT_LINKS)).toBe(0);
  });
});

describe('HTTP control surface', () => {
  it('injects failures, expires tokens and lists calls over HTTP', async () => {
    const emulator = await startEmulator({ ...clientOptions(), longLivedTokens: [PRIVATE_TOKEN], now: () => START_TIME });
    const control = (path: string, init?: RequestInit) => fetch(`${emulator.baseUrl}/_emulator/${path}`, init);

    const injected = await control('fail', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ failure: { kind: 'serverError', status: 504 }, path: SHORT_LINKS }),
    });
    expect(injected.status).toBe(204);
    expect((await postShortLinks(emulator, [contact(121)])).status).toBe(504);

    const invalid = await control('fail', { method: 'POST', body: JSON.stringify({ failure: { kind: 'explode' } }) });
    expect(invalid.status).toBe(400);

    const { access_token } = emulator.issueTokenPair();
    expect((await control('expire-tokens', { method: 'POST' })).status).toBe(204);
    expect((await postShortLinks(emulator, [contact(122)], access_token)).status).toBe(401);

    const listed = await control('calls');
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({
      calls: [
        { method: 'POST', path: SHORT_LINKS, at: START_TIME, itemCount: 1, status: 504 },
        { method: 'POST', path: SHORT_LINKS, at: START_TIME, itemCount: 1, status: 401 },
      ],
    });
  });
});

function clientOptions(): AmoCrmEmulatorOptions {
  return { clientId: CLIENT.client_id, clientSecret: CLIENT.client_secret, redirectUri: CLIENT.redirect_uri };
}
