import { createHash } from 'node:crypto';

/**
 * Statements that start with this comment are prepared: sent with a name, so each connection
 * plans them once (pg keeps a connection's named statements until it closes). Only statements we
 * write carry it; Prisma's own vary with their IN-lists and stay unnamed.
 */
export const PREPARED_STATEMENT_MARK = '/* inviteql:prepared */';

/** Distinct statement texts named per process; the rest (a selection no client sent before) run unnamed. */
const MAX_NAMED_STATEMENTS = 256;

/** @prisma/adapter-pg's statementNameGenerator: a name for a marked statement, none for the others. */
export function preparedStatementNames(limit = MAX_NAMED_STATEMENTS): (query: { sql: string }) => string {
  const names = new Map<string, string>();
  return ({ sql }) => {
    if (!sql.startsWith(PREPARED_STATEMENT_MARK)) return undefined as unknown as string;
    let name = names.get(sql);
    if (name === undefined && names.size < limit) {
      name = `iq_${createHash('sha1').update(sql).digest('base64url').slice(0, 20)}`;
      names.set(sql, name);
    }
    return name as string;
  };
}
