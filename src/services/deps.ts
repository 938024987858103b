import type { Database } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import type { TelegramGateway } from '../adapters/telegram.ts';
import type { AmoCrmGateway } from '../adapters/amocrm/index.ts';
import type { TokenAuthenticator } from '../auth/token-authenticator.ts';

/** What services work with: the App's long-lived parts, with a logger for the work at hand. */
export interface ServiceDeps {
  readonly db: Database;
  readonly log: Logger;
  readonly telegram: TelegramGateway;
  /** Absent when amoCRM is not configured (and not in sandbox mode): createShortLinks says so. */
  readonly amocrm?: AmoCrmGateway;
  /** Forgets revoked tokens at once in this process. */
  readonly tokens: Pick<TokenAuthenticator, 'forgetToken'>;
}
