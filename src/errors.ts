import { GraphQLError } from 'graphql';

/** The stable `extensions.code` values of the public contract. */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'BAD_REQUEST'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'UPSTREAM_ERROR';

export interface FieldError {
  path: string[];
  message: string;
}

/**
 * The one error type domain code throws. It is a GraphQLError, so yoga's masking lets it
 * through to the client with its extensions; anything else is masked and logged.
 */
export class AppError extends GraphQLError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extensions } });
    this.code = code;
  }
}

export const validationFailed = (fields: FieldError[], message?: string) =>
  new AppError('VALIDATION_FAILED', message ?? fields.map((f) => `${f.path.join('.')}: ${f.message}`).join('; '), {
    fields,
  });

export const notFound = (message: string) => new AppError('NOT_FOUND', message);

export const unauthenticated = (message = 'A valid API token is required (Authorization: Bearer <token>)') =>
  new AppError('UNAUTHENTICATED', message, { http: { status: 401 } });

export const forbidden = (message: string, extensions: Record<string, unknown> = {}) =>
  new AppError('FORBIDDEN', message, extensions);

export const conflict = (message: string, extensions: Record<string, unknown> = {}) =>
  new AppError('CONFLICT', message, extensions);

export const rateLimited = (retryAfter: number, message = `Too many requests: retry after ${retryAfter} s`) =>
  new AppError('RATE_LIMITED', message, { retryAfter, http: { status: 429, headers: { 'Retry-After': String(retryAfter) } } });

export const upstreamError = (message: string, extensions: Record<string, unknown> = {}) =>
  new AppError('UPSTREAM_ERROR', message, extensions);

export const badRequest = (message: string, extensions: Record<string, unknown> = {}) =>
  new AppError('BAD_REQUEST', message, extensions);
