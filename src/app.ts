import { randomBytes } from 'node:crypto';
import { isSandbox, type Config } from './config.ts';
import type { App } from './context.ts';
import type { Database } from './db/database.ts';
import { openMigratedDatabase } from './db/startup.ts';
import type { Logger } from './logger.ts';
import { TelegramBotApiAdapter } from './adapters/telegram.ts';
import { SANDBOX_CHATS, TelegramEmulator } from './sandbox/telegram-emulator.ts';
import { ensureSandboxAccount } from './sandbox/demo-data.ts';
import { amoCrmSettingsFromConfig, type AmoCrmSettings } from './adapters/amocrm.ts';
import { AmoCrmEmulator } from './sandbox/amocrm-emulator.ts';
import { connectAmoCrm } from './services/amocrm-credentials.ts';
import { randomSecretsKey } from './services/secret-box.ts';
import { TokenAuthenticator } from './services/api-token-cache.ts';

export interface RunningApp {
  app: App;
  /** Sandbox mode: the demo account's token, to print and pre-fill in GraphiQL. */
  sandboxToken?: string;
  close(): Promise<void>;
}

/** Opens the database, applies migrations (DatabaseStartupError: one line to print), and connects Telegram (or its emulator in sandbox mode). */
export async function buildApp(config: Config, log: Logger): Promise<RunningApp> {
  const { db, applied } = await openMigratedDatabase({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: config.DATABASE_POOL_SIZE,
    acquireTimeoutMs: config.DATABASE_ACQUIRE_TIMEOUT_MS,
    onIdleConnectionError: (error) => log.warn({ err: error }, 'an idle database connection failed; the pool replaces it'),
  });
  const closers: (() => Promise<void>)[] = [() => db.close()];
  try {
    if (applied.length) log.info({ migrations: applied }, 'applied migrations');

    let botToken = config.TELEGRAM_BOT_TOKEN;
    let apiRoot = config.TELEGRAM_API_ROOT;
    let sandboxToken: string | undefined;
    if (isSandbox(config)) {
      botToken = `1000000001:${randomBytes(18).toString('base64url')}`;
      const emulator = new TelegramEmulator({ botToken, botUsername: 'inviteql_sandbox_bot', chats: SANDBOX_CHATS });
      apiRoot = await emulator.listen(0, '127.0.0.1');
      closers.unshift(() => emulator.close());
      sandboxToken = await ensureSandboxAccount(db, config.SANDBOX_TOKEN);
    }
    const telegram = new TelegramBotApiAdapter({
      token: botToken!,
      apiRoot,
      timeoutMs: config.TELEGRAM_TIMEOUT_MS,
      maxRetries: config.TELEGRAM_MAX_RETRIES,
      createAnswerWaitMs: config.TELEGRAM_CREATE_ANSWER_WAIT_MS,
      log,
    });
    closers.unshift(() => telegram.close());
    const amocrm = await connectConfiguredAmoCrm(config, db, log, closers);
    const tokens = new TokenAuthenticator(db, { ttlMs: config.API_TOKEN_CACHE_TTL_MS, log });
    closers.unshift(() => tokens.close());
    await tokens.start();
    return {
      app: Object.freeze({ config, db, log, telegram, amocrm, tokens }),
      sandboxToken,
      close: async () => {
        for (const close of closers) await close();
      },
    };
  } catch (error) {
    for (const close of closers) await close().catch(() => {});
    throw error;
  }
}

/**
 * amoCRM as configured; in sandbox mode without amoCRM settings, the emulator in-process over
 * OAuth (a token pair it issues, stored encrypted under a key made for this process), so sandbox
 * short links can be followed. Undefined when amoCRM is not configured.
 */
async function connectConfiguredAmoCrm(config: Config, db: Database, log: Logger, closers: (() => Promise<void>)[]) {
  let settings: AmoCrmSettings | undefined = amoCrmSettingsFromConfig(config);
  let secretsKey = config.SECRETS_KEY;
  let emulator: AmoCrmEmulator | undefined;
  if (!settings && isSandbox(config)) {
    const client = {
      clientId: 'inviteql-sandbox',
      clientSecret: randomBytes(24).toString('base64url'),
      redirectUri: 'http://localhost/amocrm/oauth',
    };
    emulator = new AmoCrmEmulator(client);
    const baseUrl = await emulator.listen(0, '127.0.0.1');
    closers.unshift(() => emulator!.close());
    // The emulator's tokens die with the process, and so does the key that encrypts them.
    secretsKey = randomSecretsKey();
    settings = {
      baseUrl,
      auth: 'oauth',
      ...client,
      rateLimitPerSecond: config.AMOCRM_RATE_LIMIT_PER_SECOND,
      maxRetries: config.AMOCRM_MAX_RETRIES,
      retryBackoffMs: config.AMOCRM_RETRY_BACKOFF_MS,
      timeoutMs: config.AMOCRM_TIMEOUT_MS,
    };
  }
  if (!settings) return undefined;
  const shutdown = new AbortController();
  closers.unshift(async () => shutdown.abort(new Error('shutting down')));
  const connection = await connectAmoCrm({ settings, db, log, secretsKey, signal: shutdown.signal });
  if (emulator && connection.credentials) {
    await connection.credentials.save(emulator.issueTokenPair());
    const baseUrl = settings.baseUrl;
    // Its row is useless after this process (new port, new key): remove it before the database closes.
    closers.splice(closers.length - 1, 0, async () => {
      await db.prisma.amoCrmCredential.deleteMany({ where: { baseUrl } }).catch(() => {});
    });
  }
  log.info({ baseUrl: settings.baseUrl, auth: settings.auth, emulated: emulator !== undefined }, 'amoCRM short links enabled');
  return connection.gateway;
}
