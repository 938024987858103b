import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.ts';
import type { App } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { createServer, type InviteqlServer } from '../../src/server.ts';
import { TelegramBotApiAdapter } from '../../src/adapters/telegram.ts';
import { SANDBOX_CHATS, TelegramEmulator } from '../../src/sandbox/telegram-emulator.ts';
import { createAccount } from '../../src/services/accounts.ts';
import { DEMO_CHAT_IDS } from '../../src/sandbox/demo-data.ts';
import { AmoCrmEmulator, type AmoCrmEmulatorOptions, type AmoTokenPair } from '../../src/sandbox/amocrm-emulator.ts';
import { connectAmoCrm, type AmoCrmCredentials } from '../../src/services/amocrm-credentials.ts';
import { randomSecretsKey } from '../../src/services/secret-box.ts';
import { TokenAuthenticator } from '../../src/services/api-token-cache.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export const BOT_TOKEN = '1000000001:test-bot-token-AAAAAAAAAAAAAAAAAAAA';
export const CHANNEL = DEMO_CHAT_IDS.botCanInvite;

export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  data?: T;
  errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[];
}

export interface TestApp {
  app: App;
  yoga: InviteqlServer;
  database: TestDatabase;
  telegram: TelegramEmulator;
  /** The amoCRM emulator the app talks to over OAuth (client credentials + a stored token pair). */
  amocrm: AmoCrmEmulator;
  /** The stored amoCRM credential, its SECRETS_KEY, and the pair it was created with. */
  amocrmCredentials: AmoCrmCredentials;
  secretsKey: string;
  amocrmInitialPair: AmoTokenPair;
  /** Every log line written, for asserting what reaches the logs. */
  logs: string[];
  createAccount(name?: string): Promise<{ accountId: string; token: string }>;
  gql<T = any>(token: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  telegramTimeoutMs?: number;
  /** How long a create's answer is awaited after telegramTimeoutMs, to revoke a late link. */
  telegramCreateAnswerWaitMs?: number;
  telegramMaxRetries?: number;
  amocrm?: {
    /** The adapter's limit; default 6/s, under the emulator's 7/s. */
    rateLimitPerSecond?: number;
    maxRetries?: number;
    retryBackoffMs?: number;
    timeoutMs?: number;
    emulator?: AmoCrmEmulatorOptions;
  };
}

/** The server in-process (yoga.fetch) on this file's own database and real Telegram and amoCRM emulators. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const telegram = new TelegramEmulator({ botToken: BOT_TOKEN, botUsername: 'inviteql_test_bot', chats: SANDBOX_CHATS });
  const apiRoot = await telegram.listen();
  const logs: string[] = [];
  const log = createLogger(
    'debug',
    new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    }),
  );
  const config = loadConfig({ NODE_ENV: 'test', TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_API_ROOT: apiRoot });
  const adapter = new TelegramBotApiAdapter({
    token: BOT_TOKEN,
    apiRoot,
    timeoutMs: options.telegramTimeoutMs ?? 1000,
    maxRetries: options.telegramMaxRetries ?? 1,
    createAnswerWaitMs: options.telegramCreateAnswerWaitMs ?? 5000,
    log,
  });
  const amocrm = new AmoCrmEmulator(options.amocrm?.emulator);
  const secretsKey = randomSecretsKey();
  const amocrmConnection = await connectAmoCrm({
    settings: {
      baseUrl: await amocrm.listen(),
      auth: 'oauth',
      clientId: options.amocrm?.emulator?.clientId ?? 'emulator-client-id',
      clientSecret: options.amocrm?.emulator?.clientSecret ?? 'emulator-client-secret',
      redirectUri: options.amocrm?.emulator?.redirectUri ?? 'https://example.test/amocrm/oauth',
      rateLimitPerSecond: options.amocrm?.rateLimitPerSecond ?? 6,
      maxRetries: options.amocrm?.maxRetries ?? 2,
      retryBackoffMs: options.amocrm?.retryBackoffMs ?? 10,
      // Generous: the emulator shares this process's event loop with PGlite, and a loaded machine is slow.
      timeoutMs: options.amocrm?.timeoutMs ?? 30_000,
    },
    db: database.db,
    log,
    secretsKey,
  });
  const amocrmInitialPair = amocrm.issueTokenPair();
  await amocrmConnection.credentials!.save(amocrmInitialPair);
  const tokens = new TokenAuthenticator(database.db, { ttlMs: config.API_TOKEN_CACHE_TTL_MS, log });
  await tokens.start();
  const app: App = Object.freeze({ config, db: database.db, log, telegram: adapter, amocrm: amocrmConnection.gateway, tokens });
  const yoga = createServer(app);

  return {
    app,
    yoga,
    database,
    telegram,
    amocrm,
    amocrmCredentials: amocrmConnection.credentials!,
    secretsKey,
    amocrmInitialPair,
    logs,
    async createAccount(name = 'Test account') {
      const { account, secret } = await createAccount(database.db, name);
      return { accountId: account.id, token: secret };
    },
    async gql(token, query, variables) {
      const response = await yoga.fetch('http://inviteql.test/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: any; errors?: any[] };
      return { status: response.status, headers: response.headers, data: body.data, errors: body.errors };
    },
    async close() {
      await tokens.close();
      await telegram.close();
      await amocrm.close();
      await database.drop();
    },
  };
}

export const CONNECT_CHANNEL = /* GraphQL */ `
  mutation Connect($telegramId: SafeInt!) {
    connectChannel(telegramId: $telegramId) { id telegramId title botIsAdmin botCanInviteUsers }
  }
`;
