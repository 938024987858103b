import type { Handler } from 'hono';
import type { App } from '../app.ts';
import { isDatabaseUnavailable } from '../db/errors.ts';
import { AppError, badRequest, forbidden, unauthenticated } from '../errors.ts';
import { storeUpdates } from '../services/telegram-updates.ts';
import { isWebhookSecret } from '../services/telegram-webhook.ts';
import { DATABASE_RETRY_AFTER_S } from './authenticate.ts';

export const TELEGRAM_WEBHOOK_PATH = '/telegram/webhook';
const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/**
 * POST /telegram/webhook: one update from Telegram, answered 200 only once it is stored (a
 * redelivery is stored once). Refused without the secret token (401 missing, 403 wrong), 400 when
 * malformed, 503 when the database is out, so Telegram delivers it again later. Errors are thrown
 * as AppError for the edge's one error answer.
 */
export function telegramWebhook(app: App): Handler {
  return async (c) => {
    const secret = c.req.header(SECRET_HEADER);
    if (secret === undefined) throw unauthenticated('The X-Telegram-Bot-Api-Secret-Token header is required');
    if (!isWebhookSecret(app.telegramWebhookSecret, secret)) {
      throw forbidden('The X-Telegram-Bot-Api-Secret-Token header is wrong', { reason: 'WEBHOOK_SECRET_INVALID' });
    }
    let update: unknown;
    try {
      update = JSON.parse(await c.req.text());
    } catch {
      throw badRequest('The body is not JSON: a Telegram update is expected');
    }
    try {
      if ((await storeUpdates(app, [update])) > 0) app.updateProcessor.kick();
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        throw new AppError('SERVICE_UNAVAILABLE', 'The service cannot reach its database; Telegram will deliver the update again', {
          retryAfter: DATABASE_RETRY_AFTER_S,
        });
      }
      throw error;
    }
    return c.json({ ok: true });
  };
}
