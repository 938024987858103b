/** The stable `extensions.code` values of the public contract, and the HTTP status each stands for. */
export const ERROR_HTTP_STATUS = {
  VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  UPSTREAM_ERROR: 502,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_HTTP_STATUS;

export interface FieldError {
  path: string[];
  message: string;
}

/**
 * The one error type domain code and adapters throw: a code, a message for the client, and
 * details that travel with it (reason, fields, retryAfter). The HTTP edge turns it into a
 * GraphQL error (yoga's masking step) or a REST body; anything else is masked and logged.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }

  /** What a client sees beside the message: the code and the details. */
  get extensions(): Record<string, unknown> {
    return { code: this.code, ...this.details };
  }

  get httpStatus(): number {
    return ERROR_HTTP_STATUS[this.code];
  }

  /** Headers a response carrying this error needs (Retry-After for RATE_LIMITED and SERVICE_UNAVAILABLE). */
  get httpHeaders(): Record<string, string> {
    const retryAfter = this.details.retryAfter;
    return typeof retryAfter === 'number' ? { 'Retry-After': String(retryAfter) } : {};
  }
}

export const validationFailed = (fields: FieldError[], message?: string) =>
  new AppError('VALIDATION_FAILED', message ?? fields.map((f) => `${f.path.join('.')}: ${f.message}`).join('; '), {
    fields,
  });

export const notFound = (message: string) => new AppError('NOT_FOUND', message);

export const unauthenticated = (message = 'A valid API token is required (Authorization: Bearer <token>)') =>
  new AppError('UNAUTHENTICATED', message);

export const forbidden = (message: string, details: Record<string, unknown> = {}) => new AppError('FORBIDDEN', message, details);

export const conflict = (message: string, details: Record<string, unknown> = {}) => new AppError('CONFLICT', message, details);

export const rateLimited = (retryAfter: number, message = `Too many requests: retry after ${retryAfter} s`) =>
  new AppError('RATE_LIMITED', message, { retryAfter });

export const upstreamError = (message: string, details: Record<string, unknown> = {}) => new AppError('UPSTREAM_ERROR', message, details);

export const badRequest = (message: string, details: Record<string, unknown> = {}) => new AppError('BAD_REQUEST', message, details);
