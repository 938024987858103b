import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import { amoCrmSettingsFromConfig, type AmoCrmSettings } from '../src/adapters/amocrm/index.ts';
import { AppError } from '../src/errors.ts';
import { createServer } from '../src/http/server.ts';
import { AmoCrmEmulator, type AmoCrmEmulatorOptions } from '../src/sandbox/amocrm-emulator.ts';
import { connectAmoCrm } from '../src/services/amocrm-credentials.ts';
import { createSecretBox, randomSecretsKey } from '../src/services/secret-box.ts';
import { createTestApp, type TestApp } from './support/app.ts';

/*
 * amoCRM OAuth against the real emulator: refresh on expiry (once, shared, across processes),
 * tokens stored encrypted, a reused refresh token, first-start seeding, configuration.
 */

const SHORT_LINKS = '/api/v4/short_links';
const TOKEN = '/oauth2/access_token';
const CLIENT = { clientId: 'emulator-client-id', clientSecret: 'emulator-client-secret', redirectUri: 'https://example.test/amocrm/oauth' };
const LIMITS = { rateLimitPerSecond: 6, maxRetries: 2, retryBackoffMs: 10, timeoutMs: 30_000 };

let t: TestApp;
let owner: { accountId: string; token: string };
let nextEntityId = 1;
/** Every token seen in these tests: none may reach the logs or the database in plain text. */
const seenTokens = new Set<string>();

const CREATE = /* GraphQL */ `
  mutation Create($input: [ShortLinkInput!]!) {
    createShortLinks(input: $input) {
      shortLinks {
        url
        entityId
      }
      failures {
        index
        code
        message
      }
    }
  }
`;
const create = (count: number) =>
  t.gql(owner.token, CREATE, {
    input: Array.from({ length: count }, () => ({ url: 'https://t.me/+invite', entityId: nextEntityId++ })),
  });

const callsTo = (emulator: AmoCrmEmulator, pathname: string) => emulator.callCount(pathname);

interface CredentialRow {
  base_url: string;
  access_token_encrypted: string;
  refresh_token_encrypted: string | null;
  access_token_expires_at: Date;
}
const credentialRow = async (app: TestApp) => {
  const rows = await app.app.db.prisma.$queryRawUnsafe<CredentialRow[]>(
    'SELECT base_url, access_token_encrypted, refresh_token_encrypted, access_token_expires_at FROM amocrm_credentials WHERE base_url = $1',
    app.amocrm.baseUrl,
  );
  return rows[0]!;
};
const dumpCredentials = async (app: TestApp) =>
  (
    await app.app.db.prisma.$queryRawUnsafe<{ dump: string | null }[]>(`SELECT string_agg(c::text, ' ') AS dump FROM amocrm_credentials c`)
  )[0]!.dump ?? '';

/** The stored pair, decrypted with the harness's SECRETS_KEY (what the server does). */
async function storedPair(app: TestApp) {
  const row = await credentialRow(app);
  const box = createSecretBox(app.secretsKey);
  const pair = {
    access: box.open(row.access_token_encrypted, `amocrm:${app.amocrm.baseUrl}:access_token`),
    refresh: box.open(row.refresh_token_encrypted!, `amocrm:${app.amocrm.baseUrl}:refresh_token`),
  };
  seenTokens.add(pair.access).add(pair.refresh);
  return pair;
}

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.createAccount('Owner');
  seenTokens.add(t.amocrmInitialPair.access_token).add(t.amocrmInitialPair.refresh_token);
});
afterAll(() => t?.close());

describe('token refresh', () => {
  it('refreshes an expired access token exactly once, stores the new pair encrypted, and succeeds', async () => {
    const before = await credentialRow(t);
    const old = await storedPair(t);
    expect(old.access).toBe(t.amocrmInitialPair.access_token);
    t.amocrm.expireAccessTokens();
    const [tokenCalls, linkCalls] = [callsTo(t.amocrm, TOKEN), callsTo(t.amocrm, SHORT_LINKS)];

    const response = await create(5);
    expect(response.errors).toBeUndefined();
    expect(response.data.createShortLinks.shortLinks).toHaveLength(5);
    expect(response.data.createShortLinks.failures).toEqual([]);
    expect(callsTo(t.amocrm, TOKEN) - tokenCalls).toBe(1);
    // The 401 with the old token, then the retry with the new one.
    expect(callsTo(t.amocrm, SHORT_LINKS) - linkCalls).toBe(2);

    const after = await credentialRow(t);
    const current = await storedPair(t);
    expect(after.access_token_encrypted).not.toBe(before.access_token_encrypted);
    expect(after.refresh_token_encrypted).not.toBe(before.refresh_token_encrypted);
    expect(after.access_token_expires_at.getTime()).toBeGreaterThan(Date.now() + 3_600_000);
    expect(current.access).not.toBe(old.access);
    expect(current.refresh).not.toBe(old.refresh);
    const dump = await dumpCredentials(t);
    for (const token of [old.access, old.refresh, current.access, current.refresh]) expect(dump).not.toContain(token);
  });

  it('shares one refresh between two concurrent requests', async () => {
    t.amocrm.expireAccessTokens();
    const tokenCalls = callsTo(t.amocrm, TOKEN);
    const [a, b] = await Promise.all([create(30), create(30)]);
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(a.data.createShortLinks.failures).toEqual([]);
    expect(b.data.createShortLinks.failures).toEqual([]);
    expect(callsTo(t.amocrm, TOKEN) - tokenCalls).toBe(1);
    await storedPair(t);

    // The same in-process sharing, without the timing of two HTTP requests: three callers, one refresh.
    const held = await t.amocrmCredentials.accessToken();
    t.amocrm.expireAccessTokens();
    const refreshed = await Promise.all([1, 2, 3].map(() => t.amocrmCredentials.refresh(held)));
    expect(new Set(refreshed).size).toBe(1);
    expect(refreshed[0]).not.toBe(held);
    expect(callsTo(t.amocrm, TOKEN) - tokenCalls).toBe(2);
    await storedPair(t);
  });

  /** Another server process: its own credential store over the same database and key. */
  const connectAnotherProcess = () =>
    connectAmoCrm({
      settings: { baseUrl: t.amocrm.baseUrl, auth: 'oauth', ...CLIENT, ...LIMITS },
      db: t.app.db,
      log: t.app.log,
      secretsKey: t.secretsKey,
    });

  it('uses the pair another process stored while it waited for the row lock, without refreshing again', async () => {
    const otherProcess = await connectAnotherProcess();
    const held = await t.amocrmCredentials.accessToken();
    t.amocrm.expireAccessTokens();
    const tokenCalls = callsTo(t.amocrm, TOKEN);
    await otherProcess.credentials!.refresh(held);
    expect(callsTo(t.amocrm, TOKEN) - tokenCalls).toBe(1);

    const linkCalls = callsTo(t.amocrm, SHORT_LINKS);
    const response = await create(3);
    expect(response.errors).toBeUndefined();
    expect(response.data.createShortLinks.failures).toEqual([]);
    // This process got a 401 with the token it held, found the other process's pair in the row: no second refresh.
    expect(callsTo(t.amocrm, TOKEN) - tokenCalls).toBe(1);
    expect(callsTo(t.amocrm, SHORT_LINKS) - linkCalls).toBe(2);
    await storedPair(t);
  });

  it('lets two processes that refresh at the same time redeem the refresh token once (row lock)', async () => {
    const processes = await Promise.all([connectAnotherProcess(), connectAnotherProcess()]);
    const held = await t.amocrmCredentials.accessToken();
    t.amocrm.expireAccessTokens();
    const tokenCalls = callsTo(t.amocrm, TOKEN);
    const tokens = await Promise.all(processes.map((connection) => connection.credentials!.refresh(held)));
    expect(callsTo(t.amocrm, TOKEN) - tokenCalls).toBe(1);
    expect(tokens[0]).toBe(tokens[1]);
    expect(tokens[0]).not.toBe(held);
    expect((await create(2)).data.createShortLinks.failures).toEqual([]);
    expect(callsTo(t.amocrm, TOKEN) - tokenCalls).toBe(1);
    await storedPair(t);
  });

  it('answers UPSTREAM_ERROR asking for re-authorisation when the refresh token was used elsewhere', async () => {
    // Another client redeems the stored refresh token first (which also ends our access token).
    const stolen = await storedPair(t);
    const redeemed = await fetch(`${t.amocrm.baseUrl}${TOKEN}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ...{ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, redirect_uri: CLIENT.redirectUri },
        grant_type: 'refresh_token',
        refresh_token: stolen.refresh,
      }),
    });
    expect(redeemed.status).toBe(200);
    const theirs = (await redeemed.json()) as { access_token: string; refresh_token: string };
    seenTokens.add(theirs.access_token).add(theirs.refresh_token);

    const tokenCalls = callsTo(t.amocrm, TOKEN);
    const response = await create(2);
    expect(response.data).toBeNull();
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', reason: 'AMOCRM_REAUTHORIZATION_REQUIRED' });
    expect(response.errors?.[0]?.message).toMatch(/re-authoris/);
    expect(callsTo(t.amocrm, TOKEN) - tokenCalls).toBe(1);

    // The refused token is not sent again; the answer stays the same.
    const again = await create(2);
    expect(again.errors?.[0]?.extensions?.reason).toBe('AMOCRM_REAUTHORIZATION_REQUIRED');
    expect(callsTo(t.amocrm, TOKEN) - tokenCalls).toBe(1);

    // Re-authorising (a new pair stored) makes it work again.
    const fresh = t.amocrm.issueTokenPair();
    seenTokens.add(fresh.access_token).add(fresh.refresh_token);
    await t.amocrmCredentials.save(fresh);
    const recovered = await create(2);
    expect(recovered.errors).toBeUndefined();
    expect(recovered.data.createShortLinks.failures).toEqual([]);
  });

  it('never writes a token to the logs', () => {
    const logs = t.logs.join('\n');
    expect(logs).toContain('amoCRM access token refreshed');
    for (const token of seenTokens) expect(logs).not.toContain(token);
  });
});

describe('first start and stored credentials', () => {
  const emulators: AmoCrmEmulator[] = [];
  const startEmulator = async (options: AmoCrmEmulatorOptions = {}) => {
    const emulator = new AmoCrmEmulator({ ...CLIENT, ...options });
    emulators.push(emulator);
    return { emulator, baseUrl: await emulator.listen() };
  };
  afterAll(() => Promise.all(emulators.map((emulator) => emulator.close())));
  const item = () => ({ url: 'https://example.com/x', entityType: 'contacts' as const, entityId: nextEntityId++ });
  const oauth = (baseUrl: string, seed: Partial<Extract<AmoCrmSettings, { auth: 'oauth' }>> = {}): AmoCrmSettings => ({
    baseUrl,
    auth: 'oauth',
    ...CLIENT,
    ...LIMITS,
    ...seed,
  });

  it('redeems AMOCRM_AUTHORIZATION_CODE into a stored pair; a later start with the used code keeps it', async () => {
    const { emulator, baseUrl } = await startEmulator();
    const code = emulator.issueAuthorizationCode();
    const first = await connectAmoCrm({
      settings: oauth(baseUrl, { authorizationCode: code }),
      db: t.app.db,
      log: t.app.log,
      secretsKey: t.secretsKey,
    });
    expect(callsTo(emulator, TOKEN)).toBe(1);
    const [created] = await first.gateway.createShortLinks([item()]);
    expect(created).toMatchObject({ ok: true });
    const row = await t.app.db.prisma.amoCrmCredential.findUniqueOrThrow({ where: { baseUrl } });

    const restarted = await connectAmoCrm({
      settings: oauth(baseUrl, { authorizationCode: code }),
      db: t.app.db,
      log: t.app.log,
      secretsKey: t.secretsKey,
    });
    expect(callsTo(emulator, TOKEN)).toBe(2);
    const kept = await t.app.db.prisma.amoCrmCredential.findUniqueOrThrow({ where: { baseUrl } });
    expect(kept.accessTokenEncrypted).toBe(row.accessTokenEncrypted);
    expect(kept.refreshTokenEncrypted).toBe(row.refreshTokenEncrypted);
    expect((await restarted.gateway.createShortLinks([item()]))[0]).toMatchObject({ ok: true });
    expect(t.logs.join('\n')).toContain('AMOCRM_AUTHORIZATION_CODE was already used');
    expect(t.logs.join('\n')).not.toContain(code);
  });

  it('seeds from AMOCRM_REFRESH_TOKEN and refreshes before the first call', async () => {
    const { emulator, baseUrl } = await startEmulator();
    const pair = emulator.issueTokenPair();
    const connection = await connectAmoCrm({
      settings: oauth(baseUrl, { refreshToken: pair.refresh_token }),
      db: t.app.db,
      log: t.app.log,
      secretsKey: t.secretsKey,
    });
    expect(callsTo(emulator, TOKEN)).toBe(0);
    const dump = await dumpCredentials(t);
    expect(dump).not.toContain(pair.refresh_token);
    const results = await connection.gateway.createShortLinks([item(), item()]);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(callsTo(emulator, TOKEN)).toBe(1);
    // The stored access token had expired: refreshed first, so no 401 round trip.
    expect(emulator.calls.filter((call) => call.path === SHORT_LINKS).map((call) => call.status)).toEqual([200]);
  });

  it('asks for re-authorisation when nothing is stored, sending nothing', async () => {
    const { emulator, baseUrl } = await startEmulator();
    const connection = await connectAmoCrm({ settings: oauth(baseUrl), db: t.app.db, log: t.app.log, secretsKey: t.secretsKey });
    const failure = await connection.gateway.createShortLinks([item()]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AppError);
    expect((failure as AppError).extensions).toMatchObject({ code: 'UPSTREAM_ERROR', reason: 'AMOCRM_REAUTHORIZATION_REQUIRED' });
    expect(emulator.calls).toEqual([]);
  });

  it('asks for re-authorisation when the stored pair was sealed under another SECRETS_KEY', async () => {
    const { emulator, baseUrl } = await startEmulator();
    const sealedUnderOld = await connectAmoCrm({ settings: oauth(baseUrl), db: t.app.db, log: t.app.log, secretsKey: randomSecretsKey() });
    await sealedUnderOld.credentials!.save(emulator.issueTokenPair());
    const withNewKey = await connectAmoCrm({ settings: oauth(baseUrl), db: t.app.db, log: t.app.log, secretsKey: randomSecretsKey() });
    const failure = (await withNewKey.gateway.createShortLinks([item()]).catch((error: unknown) => error)) as AppError;
    expect(failure.extensions.reason).toBe('AMOCRM_REAUTHORIZATION_REQUIRED');
    expect(failure.message).toMatch(/cannot be decrypted/);
    expect(emulator.calls).toEqual([]);
  });

  it('answers UPSTREAM_ERROR when amoCRM still says 401 after a refresh, without looping', async () => {
    // Every token this emulator issues is already expired.
    const { emulator, baseUrl } = await startEmulator({ accessTokenTtlSeconds: 0 });
    const connection = await connectAmoCrm({ settings: oauth(baseUrl), db: t.app.db, log: t.app.log, secretsKey: t.secretsKey });
    await connection.credentials!.save(emulator.issueTokenPair());
    const failure = (await connection.gateway.createShortLinks([item()]).catch((error: unknown) => error)) as AppError;
    expect(failure.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', reason: 'AMOCRM_UNAUTHORIZED' });
    expect(emulator.calls.filter((call) => call.path === SHORT_LINKS).map((call) => call.status)).toEqual([401, 401]);
    // One refresh before the call (the stored token had expired), one after its 401.
    expect(callsTo(emulator, TOKEN)).toBe(2);
  });

  it('uses a long-lived token as is, and never tries to refresh it', async () => {
    const { emulator, baseUrl } = await startEmulator({ longLivedTokens: ['private-integration-token'] });
    const settings: AmoCrmSettings = { baseUrl, auth: 'long-lived', accessToken: 'private-integration-token', ...LIMITS };
    const connection = await connectAmoCrm({ settings, db: t.app.db, log: t.app.log });
    emulator.expireAccessTokens();
    expect((await connection.gateway.createShortLinks([item()]))[0]).toMatchObject({ ok: true });

    const wrong = await connectAmoCrm({ settings: { ...settings, accessToken: 'wrong' }, db: t.app.db, log: t.app.log });
    const failure = (await wrong.gateway.createShortLinks([item()]).catch((error: unknown) => error)) as AppError;
    expect(failure.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', reason: 'AMOCRM_UNAUTHORIZED' });
    expect(callsTo(emulator, TOKEN)).toBe(0);
  });
});

describe('configuration', () => {
  const oauthEnv = {
    AMOCRM_BASE_URL: 'https://mycompany.amocrm.ru',
    AMOCRM_CLIENT_ID: 'id',
    AMOCRM_CLIENT_SECRET: 'secret',
    AMOCRM_REDIRECT_URI: 'https://example.com/oauth',
  };

  it('refuses OAuth without SECRETS_KEY, naming it', () => {
    expect(() => loadConfig(oauthEnv)).toThrow(ConfigError);
    expect(() => loadConfig(oauthEnv)).toThrow(
      /^Invalid configuration: SECRETS_KEY=\[redacted\]: required when amoCRM OAuth is configured/,
    );
  });

  it.each([
    ['SECRETS_KEY', { ...oauthEnv, SECRETS_KEY: 'c2hvcnQ=' }],
    ['AMOCRM_CLIENT_SECRET', { AMOCRM_BASE_URL: 'https://x.amocrm.ru', AMOCRM_CLIENT_ID: 'id' }],
    ['AMOCRM_BASE_URL', { AMOCRM_ACCESS_TOKEN: 'token' }],
    ['AMOCRM_ACCESS_TOKEN', { AMOCRM_SUBDOMAIN: 'mycompany' }],
    ['AMOCRM_SUBDOMAIN', { AMOCRM_SUBDOMAIN: 'https://mycompany.amocrm.ru', AMOCRM_ACCESS_TOKEN: 'token' }],
    ['AMOCRM_CLIENT_ID', { AMOCRM_SUBDOMAIN: 'x', AMOCRM_ACCESS_TOKEN: 'token', AMOCRM_REFRESH_TOKEN: 'r' }],
    ['AMOCRM_RATE_LIMIT_PER_SECOND', { AMOCRM_RATE_LIMIT_PER_SECOND: '0' }],
  ])('names %s in a one-line error', (variable, env) => {
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: ${variable}=`));
  });

  it('reads OAuth, long-lived and subdomain settings', () => {
    const secretsKey = randomSecretsKey();
    expect(amoCrmSettingsFromConfig(loadConfig({ ...oauthEnv, SECRETS_KEY: secretsKey, AMOCRM_REFRESH_TOKEN: 'r' }))).toEqual({
      baseUrl: 'https://mycompany.amocrm.ru',
      auth: 'oauth',
      clientId: 'id',
      clientSecret: 'secret',
      redirectUri: 'https://example.com/oauth',
      authorizationCode: undefined,
      refreshToken: 'r',
      rateLimitPerSecond: 5,
      maxRetries: 2,
      retryBackoffMs: 250,
      timeoutMs: 10_000,
    });
    expect(
      amoCrmSettingsFromConfig(loadConfig({ AMOCRM_SUBDOMAIN: 'acme', AMOCRM_ACCESS_TOKEN: 'token', AMOCRM_RATE_LIMIT_PER_SECOND: '3' })),
    ).toMatchObject({ baseUrl: 'https://acme.amocrm.ru', auth: 'long-lived', accessToken: 'token', rateLimitPerSecond: 3 });
    expect(amoCrmSettingsFromConfig(loadConfig({}))).toBeUndefined();
  });
});

describe('sandbox mode', () => {
  it('starts the amoCRM emulator in-process over OAuth: short links work and can be followed', async () => {
    const running = await buildApp(loadConfig({ DATA_DIR: 'memory://', LOG_LEVEL: 'silent' }), t.app.log.child({ sandbox: true }));
    try {
      expect(running.app.amocrm).toBeDefined();
      const server = createServer(running.app);
      const response = await server.fetch('http://inviteql.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${running.sandboxToken}` },
        body: JSON.stringify({ query: CREATE, variables: { input: [{ url: 'https://t.me/+sandbox', entityId: 42 }] } }),
      });
      const body = await response.json();
      expect(body.errors).toBeUndefined();
      const [link] = body.data.createShortLinks.shortLinks;
      const followed = await fetch(link.url, { redirect: 'manual' });
      expect(followed.status).toBe(302);
      expect(followed.headers.get('location')).toBe('https://t.me/+sandbox');
      expect(await running.app.db.prisma.amoCrmCredential.count()).toBe(1);
    } finally {
      await running.close();
    }
  }, 60_000);
});
