// The one place that turns an amoCRM failure into a contract error.
import { MAX_QUEUE_WAIT_SECONDS } from './settings.ts';
import { AmoHttpError, AmoTransportError } from './transport.ts';
import { AppError, rateLimited, upstreamError } from '../../errors.ts';

export interface AmoCrmFailure {
  /** The error for the whole request (or for every item it does not name). */
  error: AppError;
  /** A 400 whose validation-errors name items by request_id: index in the request → that item's error. */
  itemErrors?: Map<number, AppError>;
}

interface ProblemBody {
  title?: unknown;
  detail?: unknown;
  hint?: unknown;
  'validation-errors'?: unknown;
}

const problemOf = (body: unknown): ProblemBody => (typeof body === 'object' && body !== null ? (body as ProblemBody) : {});
const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);

export const REAUTHORIZATION_HINT =
  're-authorisation is needed: install the amoCRM integration again and start the server once with the new AMOCRM_AUTHORIZATION_CODE';

/** `operation`: which call failed; OAuth answers mean something else than API answers. */
export function mapAmoCrmError(error: unknown, operation: 'short_links' | 'oauth'): AmoCrmFailure {
  if (error instanceof AppError) return { error };
  if (error instanceof AmoTransportError) {
    if (error.kind === 'timeout') return { error: upstreamError('amoCRM did not answer in time', { reason: 'AMOCRM_TIMEOUT' }) };
    if (error.kind === 'network') return { error: upstreamError('amoCRM could not be reached', { reason: 'AMOCRM_UNREACHABLE' }) };
    if (error.kind === 'queue-full') {
      const retryAfter = error.retryAfterSeconds ?? MAX_QUEUE_WAIT_SECONDS;
      return { error: rateLimited(retryAfter, `Too many amoCRM requests are waiting: retry after ${retryAfter} s`) };
    }
    return { error: upstreamError('amoCRM answered with an unexpected body', { reason: 'AMOCRM_UNEXPECTED_ANSWER' }) };
  }
  if (!(error instanceof AmoHttpError)) return { error: upstreamError('amoCRM call failed') };

  const { status } = error;
  const problem = problemOf(error.body);
  const detail = text(problem.detail) ?? text(problem.title) ?? `HTTP ${status}`;
  if (status === 429) {
    const retryAfter = error.retryAfterSeconds ?? 1;
    return { error: rateLimited(retryAfter, `amoCRM rate limit: retry after ${retryAfter} s`) };
  }
  if (status >= 500) return { error: upstreamError(`amoCRM failed (HTTP ${status})`, { reason: 'AMOCRM_UNAVAILABLE', status }) };

  if (operation === 'oauth') {
    const hint = text(problem.hint);
    if (status === 401 && hint === undefined) {
      return {
        error: upstreamError('amoCRM rejected the integration (check AMOCRM_CLIENT_ID, AMOCRM_CLIENT_SECRET and AMOCRM_REDIRECT_URI)', {
          reason: 'AMOCRM_CLIENT_REJECTED',
        }),
      };
    }
    // A used ("revoked"), expired or unknown refresh token or authorization code.
    return {
      error: upstreamError(`amoCRM refused the stored grant (${hint ?? detail}): ${REAUTHORIZATION_HINT}`, {
        reason: 'AMOCRM_REAUTHORIZATION_REQUIRED',
      }),
    };
  }

  if (status === 401) {
    return { error: upstreamError('amoCRM rejected the access token', { reason: 'AMOCRM_UNAUTHORIZED' }) };
  }
  if (status === 403) {
    // amoCRM's web server answers an HTML 403 to integrations it blocks for abuse.
    return { error: upstreamError('amoCRM refused access (HTTP 403): the integration may be blocked', { reason: 'AMOCRM_FORBIDDEN' }) };
  }
  if (status === 400 && Array.isArray(problem['validation-errors'])) {
    const itemErrors = new Map<number, AppError>();
    for (const entry of problem['validation-errors'] as { request_id?: unknown; errors?: unknown }[]) {
      const index = Number(entry?.request_id);
      const errors = Array.isArray(entry?.errors) ? (entry.errors as { path?: unknown; detail?: unknown; code?: unknown }[]) : [];
      // An error without a path is about the request body as a whole, not about this item.
      if (!Number.isInteger(index) || index < 0 || errors.length === 0 || errors.some((e) => !text(e?.path))) continue;
      const reasons = errors.map((e) => `${text(e.path)}: ${text(e.detail) ?? text(e.code) ?? 'invalid'}`);
      itemErrors.set(index, new AppError('VALIDATION_FAILED', `amoCRM rejected this item: ${reasons.join('; ')}`));
    }
    return {
      error: upstreamError(`amoCRM refused the request: ${detail}`, { reason: 'AMOCRM_REJECTED' }),
      ...(itemErrors.size > 0 ? { itemErrors } : {}),
    };
  }
  return { error: upstreamError(`amoCRM refused the request (HTTP ${status}): ${detail}`, { reason: 'AMOCRM_REJECTED' }) };
}
