import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../logger.ts';
import { forbidden, upstreamError } from '../../errors.ts';
import {
  AMOCRM_SHORT_LINKS_PATH,
  AMOCRM_SHORT_LINKS_PER_REQUEST,
  MAX_RETRY_AFTER_MS,
  type AmoCrmGateway,
  type AmoCrmLimits,
  type AmoCrmTokenSource,
  type AmoShortLinkRequest,
  type AmoShortLinkResult,
} from './settings.ts';
import { AmoCrmTransport, AmoHttpError, AmoTransportError } from './transport.ts';
import { mapAmoCrmError } from './errors.ts';

export interface AmoCrmAdapterOptions extends AmoCrmLimits {
  baseUrl: string;
  tokens: AmoCrmTokenSource;
  log: Logger;
  signal?: AbortSignal;
}

interface ShortLinkAnswer {
  url: string;
  account_id: number;
  metadata: { entity_id: number };
}

function shortLinksOf(body: unknown): ShortLinkAnswer[] {
  const links = (body as { _embedded?: { short_links?: unknown } } | undefined)?._embedded?.short_links;
  const valid =
    Array.isArray(links) &&
    links.every(
      (link: Partial<ShortLinkAnswer> | null) =>
        typeof link?.url === 'string' && typeof link.account_id === 'number' && typeof link.metadata?.entity_id === 'number',
    );
  if (!valid) throw new AmoTransportError('unexpected-body', AMOCRM_SHORT_LINKS_PATH);
  return links as ShortLinkAnswer[];
}

const noLinkError = (entityId: number) =>
  forbidden(`amoCRM made no short link for contact ${entityId}: the amoCRM user has no rights to it (or it does not exist)`, {
    reason: 'AMOCRM_ENTITY_DENIED',
    entityId,
  });

export class AmoCrmApiAdapter implements AmoCrmGateway {
  private readonly transport: AmoCrmTransport;

  constructor(private readonly options: AmoCrmAdapterOptions) {
    this.transport = new AmoCrmTransport(options);
  }

  async createShortLinks(items: readonly AmoShortLinkRequest[]): Promise<AmoShortLinkResult[]> {
    if (items.length > AMOCRM_SHORT_LINKS_PER_REQUEST) {
      throw new Error(`at most ${AMOCRM_SHORT_LINKS_PER_REQUEST} short links per amoCRM request, got ${items.length}`);
    }
    const results: (AmoShortLinkResult | undefined)[] = new Array(items.length);
    let pending = items.map((item, index) => ({ item, index }));
    // A 400 naming some items: those fail, and the others are sent once more on their own.
    for (let pass = 0; pending.length > 0; pass++) {
      let answer: ShortLinkAnswer[];
      try {
        answer = shortLinksOf(await this.send(pending.map(({ item }) => item)));
      } catch (error) {
        const failure = mapAmoCrmError(error, 'short_links');
        this.options.log.warn(
          {
            items: pending.length,
            code: failure.error.code,
            reason: failure.error.details.reason,
            rejectedItems: failure.itemErrors?.size,
          },
          'amoCRM short links failed',
        );
        const named = failure.itemErrors;
        if (pass === 0 && !named) throw failure.error;
        const rest: typeof pending = [];
        pending.forEach((entry, position) => {
          const itemError = named?.get(position);
          if (itemError) results[entry.index] = { ok: false, error: itemError };
          else if (pass === 0) rest.push(entry);
          else results[entry.index] = { ok: false, error: failure.error };
        });
        pending = rest;
        continue;
      }
      // amoCRM answers in request order and leaves out entities the user has no rights to.
      let next = 0;
      for (const { item, index } of pending) {
        const link = answer[next];
        if (link && link.metadata.entity_id === item.entityId) {
          results[index] = { ok: true, url: link.url, accountId: link.account_id };
          next++;
        } else {
          results[index] = { ok: false, error: noLinkError(item.entityId) };
        }
      }
      if (next < answer.length)
        this.options.log.warn({ unmatched: answer.length - next }, 'amoCRM answered short links that match no item');
      pending = [];
    }
    return results.map((result) => result ?? { ok: false, error: upstreamError('amoCRM call failed') });
  }

  /** One request: bounded retries after a 429 or 5xx, one token refresh after a 401. */
  private async send(items: readonly AmoShortLinkRequest[]): Promise<unknown> {
    const { tokens, maxRetries } = this.options;
    const body = items.map((item) => ({ url: item.url, metadata: { entity_type: item.entityType, entity_id: item.entityId } }));
    let token = await tokens.accessToken();
    let refreshed = false;
    for (let attempt = 0; ;) {
      try {
        return await this.transport.post({ path: AMOCRM_SHORT_LINKS_PATH, bearer: token, body });
      } catch (error) {
        if (error instanceof AmoHttpError && error.status === 401 && !refreshed && tokens.refresh) {
          refreshed = true;
          token = await tokens.refresh(token);
          continue;
        }
        const wait = this.retryDelay(error, attempt);
        if (wait === undefined || attempt >= maxRetries) throw error;
        attempt++;
        await sleep(wait);
      }
    }
  }

  private retryDelay(error: unknown, attempt: number): number | undefined {
    if (!(error instanceof AmoHttpError) || (error.status !== 429 && error.status < 500)) return undefined;
    if (error.status === 429 && error.retryAfterSeconds !== undefined) {
      const ms = error.retryAfterSeconds * 1000;
      return ms <= MAX_RETRY_AFTER_MS ? ms : undefined;
    }
    return this.options.retryBackoffMs * 2 ** attempt;
  }
}
