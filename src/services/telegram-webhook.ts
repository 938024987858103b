import { setTimeout as sleep } from 'node:timers/promises';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TelegramUpdateSource } from '../adapters/telegram.ts';
import type { Logger } from '../logger.ts';
import { AppError } from '../errors.ts';
import { ALLOWED_UPDATES } from './telegram-updates.ts';

/** What the webhook secret token is derived for: changing it changes every process's secret at once. */
const WEBHOOK_SECRET_PURPOSE = 'inviteql telegram webhook secret token v1';

/**
 * The secret Telegram sends in X-Telegram-Bot-Api-Secret-Token: an HMAC of SECRETS_KEY, so every
 * process derives the same one; without a key (sandbox) one random per process. Never logged.
 */
export function webhookSecretToken(secretsKey: string | undefined): string {
  if (secretsKey === undefined) return randomBytes(32).toString('base64url');
  return createHmac('sha256', Buffer.from(secretsKey, 'base64')).update(WEBHOOK_SECRET_PURPOSE).digest('base64url');
}

/** Constant-time: whether a request's header is the secret. */
export function isWebhookSecret(secret: string, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(secret);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** setWebhook with the secret and the update kinds the server needs (Telegram keeps earlier ones when they are left out). */
export async function registerWebhook(source: TelegramUpdateSource, url: string, secretToken: string): Promise<void> {
  await source.setWebhook({ url, secretToken, allowedUpdates: ALLOWED_UPDATES });
}

/**
 * registerWebhook at start-up, tried again with a growing wait (a 429's retry_after) until Telegram
 * accepts it or signal aborts: a Telegram hiccup at start-up does not stop the server.
 */
export async function keepWebhookRegistered(
  deps: { source: TelegramUpdateSource; log: Logger },
  url: string,
  secretToken: string,
  signal: AbortSignal,
): Promise<void> {
  for (let failures = 0; !signal.aborted; failures++) {
    try {
      await registerWebhook(deps.source, url, secretToken);
      deps.log.info({ url }, 'Telegram delivers updates to the webhook');
      return;
    } catch (error) {
      const retryAfter = error instanceof AppError ? error.details.retryAfter : undefined;
      const waitMs = typeof retryAfter === 'number' ? retryAfter * 1000 : Math.min(1000 * 2 ** failures, 60_000);
      deps.log.error(
        { url, code: error instanceof AppError ? error.code : undefined, waitMs },
        'could not set the Telegram webhook; trying again',
      );
      await sleep(waitMs, undefined, { signal }).catch(() => {});
    }
  }
}
