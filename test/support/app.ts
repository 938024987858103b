import { Writable } from 'node:stream';
import { buildApp, type App, type RunningApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createServer, type InviteqlServer } from '../../src/http/server.ts';
import { SANDBOX_CHATS, TelegramEmulator, type TelegramEmulatorTiming } from '../../src/sandbox/telegram-emulator.ts';
import type { TelegramPollerOptions } from '../../src/services/telegram-poller.ts';
import { createAccount } from '../../src/services/accounts.ts';
import { DEMO_CHAT_IDS } from '../../src/sandbox/demo-data.ts';
import { AmoCrmEmulator, type AmoCrmEmulatorOptions, type AmoTokenPair } from '../../src/sandbox/amocrm-emulator.ts';
import type { AmoCrmCredentials } from '../../src/services/amocrm-credentials.ts';
import { randomSecretsKey } from '../../src/services/secret-box.ts';
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
  server: InviteqlServer;
  database: TestDatabase;
  telegram: TelegramEmulator;
  /** The amoCRM emulator the app talks to over OAuth (client credentials + a stored token pair). */
  amocrm: AmoCrmEmulator;
  /** The stored amoCRM credential, its SECRETS_KEY, and the pair it was created with. */
  amocrmCredentials: AmoCrmCredentials;
  secretsKey: string;
  amocrmInitialPair: AmoTokenPair;
  /** The app's pending-revoke reconciler (runOnce to complete revokes now). */
  pendingRevokes: RunningApp['pendingRevokes'];
  /** Running only with receiveUpdates and no telegramWebhookUrl. */
  telegramPoller: RunningApp['telegramPoller'];
  telegramUpdates: RunningApp['telegramUpdates'];
  /** Resolves once every update stored so far is applied (member events, counters, bot flags). */
  settleUpdates(): Promise<void>;
  /** Every log line written, for asserting what reaches the logs. */
  logs: string[];
  createAccount(name?: string): Promise<{ accountId: string; token: string }>;
  /**
   * connectChannel, then the proof a real owner gives: the code into the chat's description (in
   * the emulator), then verifyChannel. Answers verifyChannel's response, or the first that failed.
   */
  connectVerifiedChannel(token: string, telegramId: number): Promise<GraphQLResponse>;
  /**
   * A new emulated channel where the bot may invite users. A chat belongs to one account, so each
   * account of a test that manages links needs a chat of its own.
   */
  addChannel(fields?: { title?: string; username?: string }): number;
  gql<T = any>(token: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  telegramTimeoutMs?: number;
  /** How long a create's answer is awaited after telegramTimeoutMs, to revoke a late link. */
  telegramCreateAnswerWaitMs?: number;
  telegramMaxRetries?: number;
  /** TELEGRAM_MAX_RETRY_AFTER_S: the longest 429 wait the adapter sits out. */
  telegramMaxRetryAfterS?: number;
  /** Receive Telegram updates (poll, or with telegramWebhookUrl the webhook); off by default. */
  receiveUpdates?: boolean;
  /** TELEGRAM_WEBHOOK_URL (implies receiveUpdates). */
  telegramWebhookUrl?: string;
  /** TELEGRAM_POLL_TIMEOUT_S (the emulator's seconds are telegramTiming.longPollSecondMs long). */
  telegramPollTimeoutS?: number;
  poller?: Partial<TelegramPollerOptions>;
  telegramTiming?: TelegramEmulatorTiming;
  /** How the emulator shapes a join approved from a link's request (see TelegramEmulatorOptions). */
  approvedLinkJoinShape?: 'invite_link' | 'via_join_request';
  amocrm?: {
    /** The adapter's limit; default 6/s, under the emulator's 7/s. */
    rateLimitPerSecond?: number;
    maxRetries?: number;
    retryBackoffMs?: number;
    timeoutMs?: number;
    emulator?: AmoCrmEmulatorOptions;
  };
}

/** The server in-process (its fetch) on this file's own database and real Telegram and amoCRM emulators. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const telegram = new TelegramEmulator({
    botToken: BOT_TOKEN,
    botUsername: 'inviteql_test_bot',
    chats: SANDBOX_CHATS,
    timing: options.telegramTiming,
    approvedLinkJoinShape: options.approvedLinkJoinShape,
  });
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
  const setting = (value: number | undefined, fallback: number) => String(value ?? fallback);
  const config = loadConfig({
    NODE_ENV: 'test',
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_TIMEOUT_MS: setting(options.telegramTimeoutMs, 1000),
    TELEGRAM_MAX_RETRIES: setting(options.telegramMaxRetries, 1),
    TELEGRAM_MAX_RETRY_AFTER_S: setting(options.telegramMaxRetryAfterS, 5),
    TELEGRAM_CREATE_ANSWER_WAIT_MS: setting(options.telegramCreateAnswerWaitMs, 5000),
    // The adapter's limit: under the emulator's 7/s.
    AMOCRM_RATE_LIMIT_PER_SECOND: setting(options.amocrm?.rateLimitPerSecond, 6),
    AMOCRM_MAX_RETRIES: setting(options.amocrm?.maxRetries, 2),
    AMOCRM_RETRY_BACKOFF_MS: setting(options.amocrm?.retryBackoffMs, 10),
    // Generous: the emulator shares this process's event loop with PGlite, and a loaded machine is slow.
    AMOCRM_TIMEOUT_MS: setting(options.amocrm?.timeoutMs, 30_000),
    SECRETS_KEY: randomSecretsKey(),
    TELEGRAM_WEBHOOK_URL: options.telegramWebhookUrl,
    TELEGRAM_POLL_TIMEOUT_S: setting(options.telegramPollTimeoutS, 25),
  });
  const emulatorOptions = options.amocrm?.emulator;
  const amocrm = new AmoCrmEmulator(emulatorOptions);
  const running = await buildApp(config, log, {
    db: database.db,
    receiveUpdates: options.receiveUpdates === true || options.telegramWebhookUrl !== undefined,
    poller: options.poller,
    // Kicked by each store; no periodic sweep, whose statements would land in the tests' statement counts.
    updateProcessor: { sweepIntervalMs: 3_600_000 },
    telegramEmulator: telegram,
    amocrmEmulator: {
      emulator: amocrm,
      client: {
        clientId: emulatorOptions?.clientId ?? 'emulator-client-id',
        clientSecret: emulatorOptions?.clientSecret ?? 'emulator-client-secret',
        redirectUri: emulatorOptions?.redirectUri ?? 'https://example.test/amocrm/oauth',
      },
    },
  });
  const app = running.app;
  const amocrmEmulated = running.amocrmEmulated!;
  const server = createServer(app);

  const testApp: TestApp = {
    app,
    server,
    database,
    telegram,
    amocrm,
    amocrmCredentials: amocrmEmulated.credentials,
    secretsKey: amocrmEmulated.secretsKey,
    amocrmInitialPair: amocrmEmulated.initialPair,
    pendingRevokes: running.pendingRevokes,
    telegramPoller: running.telegramPoller,
    telegramUpdates: running.telegramUpdates,
    settleUpdates: () => app.updateProcessor.settle(),
    logs,
    async createAccount(name = 'Test account') {
      const { account, secret } = await createAccount(database.db, name);
      return { accountId: account.id, token: secret };
    },
    async connectVerifiedChannel(token, telegramId) {
      const connected = await testApp.gql(token, CONNECT_CHANNEL, { telegramId });
      if (connected.errors) return connected;
      const code = connected.data.connectChannel.verification?.code;
      if (code) telegram.setChatDescription(telegramId, `Our channel. ${code}`);
      return testApp.gql(token, VERIFY_CHANNEL, { telegramId });
    },
    addChannel({ title = 'Test channel', username }: { title?: string; username?: string } = {}) {
      const id = nextChannelId--;
      telegram.setChat({ id, type: 'channel', title, username, botStatus: 'administrator', canInviteUsers: true });
      return id;
    },
    async gql(token, query, variables) {
      const response = await server.fetch('http://inviteql.test/graphql', {
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
      await running.close();
      await database.drop();
    },
  };
  return testApp;
}

const CHANNEL_FIELDS = /* GraphQL */ `
  fragment ChannelFields on Channel {
    id
    telegramId
    title
    botIsAdmin
    botCanInviteUsers
    status
    verification {
      code
      expiresAt
    }
  }
`;

export const CONNECT_CHANNEL = /* GraphQL */ `
  mutation Connect($telegramId: SafeInt!) {
    connectChannel(telegramId: $telegramId) {
      ...ChannelFields
    }
  }
  ${CHANNEL_FIELDS}
`;

export const VERIFY_CHANNEL = /* GraphQL */ `
  mutation Verify($telegramId: SafeInt!) {
    verifyChannel(telegramId: $telegramId) {
      ...ChannelFields
    }
  }
  ${CHANNEL_FIELDS}
`;

/** Chat ids addChannel hands out, below the demo chats'. */
let nextChannelId = -1001000100001;
