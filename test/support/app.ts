import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.ts';
import type { App } from '../../src/context.ts';
import { createLogger } from '../../src/logger.ts';
import { createServer, type InviteqlServer } from '../../src/server.ts';
import { TelegramBotApiAdapter } from '../../src/adapters/telegram.ts';
import { SANDBOX_CHATS, TelegramEmulator } from '../../src/sandbox/telegram-emulator.ts';
import { createAccount } from '../../src/services/accounts.ts';
import { DEMO_CHAT_IDS } from '../../src/sandbox/demo-data.ts';
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
  /** Every log line written, for asserting what reaches the logs. */
  logs: string[];
  createAccount(name?: string): Promise<{ accountId: string; token: string }>;
  gql<T = any>(token: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
}

/** The server in-process (yoga.fetch) on this file's own database and a real Telegram emulator. */
export async function createTestApp(options: { telegramTimeoutMs?: number; telegramMaxRetries?: number } = {}): Promise<TestApp> {
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
    log,
  });
  const app: App = Object.freeze({ config, db: database.db, log, telegram: adapter });
  const yoga = createServer(app);

  return {
    app,
    yoga,
    database,
    telegram,
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
      await telegram.close();
      await database.drop();
    },
  };
}

export const CONNECT_CHANNEL = /* GraphQL */ `
  mutation Connect($telegramId: SafeInt!) {
    connectChannel(telegramId: $telegramId) { id telegramId title botIsAdmin botCanInviteUsers }
  }
`;
