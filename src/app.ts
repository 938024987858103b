import { randomBytes } from 'node:crypto';
import { isSandbox, type Config } from './config.ts';
import type { App } from './context.ts';
import { Database } from './db/database.ts';
import type { Logger } from './logger.ts';
import { TelegramBotApiAdapter } from './adapters/telegram.ts';
import { SANDBOX_CHATS, TelegramEmulator } from './sandbox/telegram-emulator.ts';
import { ensureSandboxAccount } from './sandbox/demo-data.ts';

export interface RunningApp {
  app: App;
  /** Sandbox mode: the demo account's token, to print and pre-fill in GraphiQL. */
  sandboxToken?: string;
  close(): Promise<void>;
}

/** Opens the database, applies migrations, and connects Telegram (or its emulator in sandbox mode). */
export async function buildApp(config: Config, log: Logger): Promise<RunningApp> {
  const db = await Database.open({
    url: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    poolSize: config.DATABASE_POOL_SIZE,
    acquireTimeoutMs: config.DATABASE_ACQUIRE_TIMEOUT_MS,
  });
  const closers: (() => Promise<void>)[] = [() => db.close()];
  try {
    const applied = await db.migrate();
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
      log,
    });
    return {
      app: Object.freeze({ config, db, log, telegram }),
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
