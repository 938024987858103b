import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import type { Logger } from './logger.ts';
import type { TelegramGateway } from './adapters/telegram.ts';
import type { AmoCrmGateway } from './adapters/amocrm.ts';
import type { TokenAuthenticator } from './services/api-token-cache.ts';

/** Who is calling: resolved from the bearer token, fixed for the whole request. */
export interface Viewer {
  readonly accountId: string;
  readonly tokenId: string;
  /** Set for a partner token: it acts for this partner only. */
  readonly partnerId: string | null;
}

/** Long-lived dependencies, built once at start-up. */
export interface App {
  readonly config: Config;
  readonly db: Database;
  readonly log: Logger;
  readonly telegram: TelegramGateway;
  /** Absent when amoCRM is not configured (and not in sandbox mode): createShortLinks says so. */
  readonly amocrm?: AmoCrmGateway;
  /** Authenticates requests, reusing recent lookups while it hears of every token change. */
  readonly tokens: TokenAuthenticator;
}

export interface Context {
  readonly requestId: string;
  readonly viewer: Viewer;
  readonly app: App;
  readonly log: Logger;
}
