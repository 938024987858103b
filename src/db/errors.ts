/** Prisma's known request errors carry a code; P2002 is a unique constraint violation. */
export const isUniqueViolation = (error: unknown) =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';

const UNREACHABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** PostgreSQL's connection exceptions (08…), shutdowns (57P01–57P03), too many connections (53300). */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
/** Prisma: cannot reach, timed out, connection closed, pool timeout. */
const UNAVAILABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1017', 'P2024']);
const UNAVAILABLE_DRIVER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionAlreadyClosed',
]);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Connection ended|Client has encountered a connection error|Can't reach database server/i;

/**
 * Whether an error means the database could not be reached or dropped the connection (as opposed to
 * refusing a statement): node-postgres, Prisma and its driver adapter each say it their way, often
 * wrapped, so the causes are followed.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return someCause(error, (current) => {
    const { code, kind, message, originalCode } = current;
    if (
      typeof code === 'string' &&
      (UNREACHABLE_SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_PRISMA_CODES.has(code))
    )
      return true;
    if (typeof originalCode === 'string' && UNAVAILABLE_SQLSTATE.test(originalCode)) return true;
    if (typeof kind === 'string' && UNAVAILABLE_DRIVER_KINDS.has(kind)) return true;
    return typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message);
  });
}

/** PostgreSQL's "time zone … not recognized" (22023), however Prisma and its driver adapter wrap it. */
export function isUnknownTimeZone(error: unknown): boolean {
  return someCause(error, ({ message }) => typeof message === 'string' && /time zone .* not recognized/i.test(message));
}

/** Whether the error, or anything it wraps (cause, Prisma's meta and driver adapter error, an AggregateError's errors), matches. */
function someCause(error: unknown, matches: (current: Record<string, unknown>) => boolean): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length) {
    const current = pending.pop();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    const fields = current as Record<string, unknown>;
    if (matches(fields)) return true;
    pending.push(fields.cause, fields.meta, (fields.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError);
    if (current instanceof AggregateError) pending.push(...current.errors);
  }
  return false;
}
