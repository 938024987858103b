import { randomBytes } from 'node:crypto';
import { isSandbox, type Config } from './config.ts';
import type { Database } from './db/database.ts';
import { openMigratedDatabase } from './db/startup.ts';
import type { Logger } from './logger.ts';
import { TelegramBotApiAdapter, type TelegramGateway, type TelegramUpdateSource } from './adapters/telegram.ts';
import { amoCrmSettingsFromConfig, type AmoCrmGateway, type AmoCrmSettings } from './adapters/amocrm/index.ts';
import { SANDBOX_CHATS, TelegramEmulator } from './sandbox/telegram-emulator.ts';
import { ensureSandboxAccount } from './sandbox/demo-data.ts';
import { startDemoHistory } from './sandbox/demo-history.ts';
import { randomControlSecret } from './sandbox/http-kit.ts';
import { AmoCrmEmulator, type AmoTokenPair } from './sandbox/amocrm-emulator.ts';
import { connectAmoCrm, type AmoCrmCredentials } from './services/amocrm-credentials.ts';
import { randomSecretsKey } from './services/secret-box.ts';
import type { ServiceDeps } from './services/deps.ts';
import { TokenAuthenticator } from './auth/token-authenticator.ts';
import { createRequestRateLimiter, type RequestRateLimiter } from './auth/rate-limit.ts';
import { PendingRevokeReconciler } from './services/pending-revokes.ts';
import { TelegramUpdatePoller, type TelegramPollerOptions } from './services/telegram-poller.ts';
import { keepWebhookRegistered, webhookSecretToken } from './services/telegram-webhook.ts';
import { MemberUpdateProcessor, type MemberUpdateProcessorOptions } from './services/member-updates.ts';

/** The long-lived parts, built once at start-up by buildApp. */
export interface App extends ServiceDeps {
  readonly config: Config;
  readonly telegram: TelegramGateway;
  readonly amocrm?: AmoCrmGateway;
  /** Authenticates requests, reusing recent lookups while it hears of every token change. */
  readonly tokens: TokenAuthenticator;
  readonly rateLimiter: RequestRateLimiter;
  /** What POST /telegram/webhook requires in X-Telegram-Bot-Api-Secret-Token. */
  readonly telegramWebhookSecret: string;
  /** Applies stored Telegram updates; kicked whenever this process stores some. */
  readonly updateProcessor: MemberUpdateProcessor;
}

/** The amoCRM client credentials an emulator accepts, and its OAuth redirect. */
export interface AmoCrmEmulatorClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/** Parts a caller brings instead of those the config describes (tests, the benchmark). */
export interface AppParts {
  /** Used as it is, and left open by close(): the caller owns it. Migrations are not applied to it. */
  db?: Database;
  /** Telegram is this emulator, listened on loopback and closed with the app; the bot token is the config's. */
  telegramEmulator?: TelegramEmulator;
  /** amoCRM is this emulator (listened and closed with the app) over OAuth with these client credentials. */
  amocrmEmulator?: { emulator: AmoCrmEmulator; client: AmoCrmEmulatorClient };
  /** false: neither set a webhook nor poll (tests that do not need updates). Default true. */
  receiveUpdates?: boolean;
  /** The poller's timings (tests); the poll timeout defaults to TELEGRAM_POLL_TIMEOUT_S. */
  poller?: Partial<TelegramPollerOptions>;
  /** The update processor's timings (tests). */
  updateProcessor?: Partial<MemberUpdateProcessorOptions>;
}

/** An emulated amoCRM's OAuth state, for tests that exercise the token pair. */
export interface EmulatedAmoCrm {
  emulator: AmoCrmEmulator;
  credentials: AmoCrmCredentials;
  initialPair: AmoTokenPair;
  secretsKey: string;
}

export interface RunningApp {
  app: App;
  /** Sandbox mode: the demo account's token, to print and pre-fill in GraphiQL. */
  sandboxToken?: string;
  telegramEmulator?: TelegramEmulator;
  amocrmEmulated?: EmulatedAmoCrm;
  /** Completes revokes whose row update was lost (at start-up, then periodically). */
  pendingRevokes: PendingRevokeReconciler;
  /** Long-polls getUpdates when no TELEGRAM_WEBHOOK_URL is set (and updates are received). */
  telegramPoller?: TelegramUpdatePoller;
  /** The adapter's setWebhook/deleteWebhook/getUpdates. */
  telegramUpdates: TelegramUpdateSource;
  close(): Promise<void>;
}

type Closers = (() => Promise<void>)[];

/**
 * The one composition root: opens the database and applies migrations, connects Telegram and
 * amoCRM (or their emulators in sandbox mode), and starts the token authenticator and rate limiter.
 */
export async function buildApp(config: Config, log: Logger, parts: AppParts = {}): Promise<RunningApp> {
  const closers: Closers = [];
  try {
    const db = parts.db ?? (await openDatabase(config, log, closers));
    const sandbox = isSandbox(config);
    const telegram = await connectTelegram(config, log, parts, closers);
    const sandboxToken = sandbox ? await ensureSandboxAccount(db, config.SANDBOX_TOKEN) : undefined;
    const amocrm = await connectConfiguredAmoCrm(config, db, log, parts, closers);
    const tokens = new TokenAuthenticator(db, { ttlMs: config.API_TOKEN_CACHE_TTL_MS, log });
    closers.unshift(() => tokens.close());
    await tokens.start();
    const rateLimiter = createRequestRateLimiter(db, config.RATE_LIMIT_PER_MINUTE);
    const telegramWebhookSecret = webhookSecretToken(config.SECRETS_KEY);
    const updateProcessor = new MemberUpdateProcessor({ db, log }, parts.updateProcessor);
    // Closed before the database it uses.
    closers.unshift(() => updateProcessor.close());
    updateProcessor.start();
    const app: App = Object.freeze({
      config,
      db,
      log,
      telegram: telegram.gateway,
      amocrm: amocrm?.gateway,
      tokens,
      rateLimiter,
      telegramWebhookSecret,
      updateProcessor,
    });
    const pendingRevokes = new PendingRevokeReconciler({ db, telegram: telegram.gateway, log });
    // Closed before the Telegram adapter and the database it uses.
    closers.unshift(() => pendingRevokes.close());
    pendingRevokes.start();
    const telegramPoller = parts.receiveUpdates === false ? undefined : receiveUpdates(config, app, telegram.gateway, parts, closers);
    if (sandbox && telegram.emulator && !parts.telegramEmulator && telegramPoller) await demoHistory(app, telegram.emulator, closers);
    return {
      app,
      sandboxToken,
      telegramEmulator: telegram.emulator,
      amocrmEmulated: amocrm?.emulated,
      pendingRevokes,
      telegramPoller,
      telegramUpdates: telegram.gateway,
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
 * Updates reach the server through the webhook (setWebhook with the secret, kept trying in the
 * background until Telegram accepts it) or, without TELEGRAM_WEBHOOK_URL, through the poller.
 */
function receiveUpdates(config: Config, app: App, source: TelegramBotApiAdapter, parts: AppParts, closers: Closers) {
  const webhookUrl = config.TELEGRAM_WEBHOOK_URL;
  if (webhookUrl) {
    const shutdown = new AbortController();
    const registering = keepWebhookRegistered({ source, log: app.log }, webhookUrl, app.telegramWebhookSecret, shutdown.signal);
    closers.unshift(async () => {
      shutdown.abort();
      await registering;
    });
    return undefined;
  }
  const poller = new TelegramUpdatePoller(
    { db: app.db, source, log: app.log, onStored: () => app.updateProcessor.kick() },
    { pollTimeoutS: config.TELEGRAM_POLL_TIMEOUT_S, ...parts.poller },
  );
  closers.unshift(() => poller.close());
  poller.start();
  return poller;
}

/** The sandbox's own emulator gives the demo channel links (now) with a history (in the background). */
async function demoHistory(app: App, emulator: TelegramEmulator, closers: Closers): Promise<void> {
  const shutdown = new AbortController();
  const simulating = (await startDemoHistory(app, emulator, shutdown.signal))?.acting.catch((error) => {
    if (!shutdown.signal.aborted) app.log.warn({ err: error }, 'could not simulate the demo history');
  });
  closers.unshift(async () => {
    shutdown.abort();
    await simulating;
  });
}

/** Opens and migrates the database; a problem the operator must fix is a one-line DatabaseStartupError. */
async function openDatabase(config: Config, log: Logger, closers: Closers) {
  const { db, applied } = await openMigratedDatabase({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: config.DATABASE_POOL_SIZE,
    acquireTimeoutMs: config.DATABASE_ACQUIRE_TIMEOUT_MS,
    onIdleConnectionError: (error) => log.warn({ err: error }, 'an idle database connection failed; the pool replaces it'),
  });
  closers.unshift(() => db.close());
  if (applied.length) log.info({ migrations: applied }, 'applied migrations');
  return db;
}

/** The Bot API adapter, talking to Telegram, the caller's emulator, or (sandbox mode) an emulator of its own. */
async function connectTelegram(config: Config, log: Logger, parts: AppParts, closers: Closers) {
  let botToken = config.TELEGRAM_BOT_TOKEN;
  let apiRoot = config.TELEGRAM_API_ROOT;
  let emulator = parts.telegramEmulator;
  if (!emulator && isSandbox(config)) {
    botToken = `1000000001:${randomBytes(18).toString('base64url')}`;
    emulator = new TelegramEmulator({
      botToken,
      botUsername: 'inviteql_sandbox_bot',
      chats: SANDBOX_CHATS,
      controlSecret: randomControlSecret(),
    });
  }
  if (emulator) {
    const running = emulator;
    apiRoot = await running.listen(0, '127.0.0.1');
    closers.unshift(() => running.close());
  }
  if (botToken === undefined) throw new Error('a Telegram emulator needs TELEGRAM_BOT_TOKEN (its bot token) in the config');
  const gateway = new TelegramBotApiAdapter({
    token: botToken,
    apiRoot,
    timeoutMs: config.TELEGRAM_TIMEOUT_MS,
    maxRetries: config.TELEGRAM_MAX_RETRIES,
    maxRetryAfterMs: config.TELEGRAM_MAX_RETRY_AFTER_S * 1000,
    createAnswerWaitMs: config.TELEGRAM_CREATE_ANSWER_WAIT_MS,
    log,
  });
  closers.unshift(() => gateway.close());
  return { gateway, emulator };
}

/**
 * amoCRM as configured; else the caller's emulator, or in sandbox mode one in-process, over OAuth
 * (a token pair it issues, stored encrypted under SECRETS_KEY or a key made for this process), so
 * emulated short links can be followed. Undefined when amoCRM is not configured.
 */
async function connectConfiguredAmoCrm(config: Config, db: Database, log: Logger, parts: AppParts, closers: Closers) {
  const emulatorSettings = (baseUrl: string, client: AmoCrmEmulatorClient): AmoCrmSettings => ({
    baseUrl,
    auth: 'oauth',
    ...client,
    rateLimitPerSecond: config.AMOCRM_RATE_LIMIT_PER_SECOND,
    maxRetries: config.AMOCRM_MAX_RETRIES,
    retryBackoffMs: config.AMOCRM_RETRY_BACKOFF_MS,
    timeoutMs: config.AMOCRM_TIMEOUT_MS,
  });
  let settings = amoCrmSettingsFromConfig(config);
  let emulator: AmoCrmEmulator | undefined;
  if (!settings && parts.amocrmEmulator) {
    emulator = parts.amocrmEmulator.emulator;
    settings = emulatorSettings(await emulator.listen(0, '127.0.0.1'), parts.amocrmEmulator.client);
  } else if (!settings && isSandbox(config)) {
    const client = {
      clientId: 'inviteql-sandbox',
      clientSecret: randomBytes(24).toString('base64url'),
      redirectUri: 'http://localhost/amocrm/oauth',
    };
    emulator = new AmoCrmEmulator({ ...client, controlSecret: randomControlSecret() });
    settings = emulatorSettings(await emulator.listen(0, '127.0.0.1'), client);
  }
  if (!settings) return undefined;
  if (emulator) {
    const running = emulator;
    closers.unshift(() => running.close());
  }
  // An emulator's tokens die with the process, and so may the key that encrypts them.
  const secretsKey = config.SECRETS_KEY ?? (emulator ? randomSecretsKey() : undefined);
  const shutdown = new AbortController();
  closers.unshift(async () => shutdown.abort(new Error('shutting down')));
  const connection = await connectAmoCrm({ settings, db, log, secretsKey, signal: shutdown.signal });
  let emulated: EmulatedAmoCrm | undefined;
  if (emulator && connection.credentials) {
    const initialPair = emulator.issueTokenPair();
    await connection.credentials.save(initialPair);
    emulated = { emulator, credentials: connection.credentials, initialPair, secretsKey: secretsKey! };
    const baseUrl = settings.baseUrl;
    // Its row is useless once the emulator stops (new port, new tokens): remove it before the database closes.
    closers.splice(parts.db ? closers.length : closers.length - 1, 0, async () => {
      await db.prisma.amoCrmCredential.deleteMany({ where: { baseUrl } }).catch(() => {});
    });
  }
  log.info({ baseUrl: settings.baseUrl, auth: settings.auth, emulated: emulator !== undefined }, 'amoCRM short links enabled');
  return { gateway: connection.gateway, emulated };
}
