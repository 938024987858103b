import type { IncomingMessage } from 'node:http';
import { readBody } from '../http-kit.ts';

/** Parameters exactly as the client sent them: decoded JSON values, or strings from a form/query. */
export type ReceivedParams = Record<string, unknown>;

/** A JSON body that is not a JSON object. */
export class UnparsableBodyError extends Error {}

/** Query string merged with the body (JSON, urlencoded or multipart), like the Bot API server does. */
export async function readParams(request: IncomingMessage, url: URL): Promise<ReceivedParams> {
  const params: ReceivedParams = Object.fromEntries(url.searchParams);
  const body = await readBody(request);
  if (body.length === 0) return params;

  const contentType = (request.headers['content-type'] ?? '').toLowerCase();
  if (contentType.startsWith('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new UnparsableBodyError();
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UnparsableBodyError();
    return { ...params, ...parsed };
  }
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    return { ...params, ...Object.fromEntries(new URLSearchParams(body.toString('utf8'))) };
  }
  if (contentType.startsWith('multipart/form-data')) {
    const form = await new Request(url, {
      method: 'POST',
      headers: { 'content-type': request.headers['content-type'] ?? '' },
      body: new Uint8Array(body),
    })
      .formData()
      // A body that is not valid multipart reads as no parameters: the method then reports what is missing.
      .catch(() => new FormData());
    for (const [name, value] of form) {
      if (typeof value === 'string') params[name] = value;
    }
  }
  return params;
}

/**
 * Reads parameters the way telegram-bot-api does: every value is seen as its wire text (JSON
 * non-strings as their JSON text), an absent or empty value reads as "", integers take the
 * leading digits (anything else is 0) and are clamped, booleans are "true", "yes" or "1".
 */
export class WireParams {
  constructor(private readonly received: ReceivedParams) {}

  text(name: string): string {
    const value = this.received[name];
    if (value === undefined || value === null) return '';
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  /** `whenAbsent` (unclamped) for an absent or empty value, like get_integer_arg's default. */
  integer(name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER, whenAbsent?: number): number {
    const text = this.text(name);
    if (text === '' && whenAbsent !== undefined) return whenAbsent;
    const digits = /^-?\d+/.exec(text);
    const value = digits ? Number(digits[0]) : 0;
    return Math.min(Math.max(value, min), max);
  }

  boolean(name: string): boolean {
    return ['true', 'yes', '1'].includes(this.text(name).trim().toLowerCase());
  }
}
