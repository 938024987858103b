import { describe, expect, it } from 'vitest';
import { PREPARED_STATEMENT_MARK, preparedStatementNames } from '../src/db/prepared-statements.ts';
import { loadConfig } from '../src/config.ts';

describe('prepared statements', () => {
  it('names only marked statements, one name per distinct text', () => {
    const nameOf = preparedStatementNames();
    const page = `${PREPARED_STATEMENT_MARK}\nSELECT 1`;
    const other = `${PREPARED_STATEMENT_MARK}\nSELECT 2`;
    expect(nameOf({ sql: 'SELECT "id" FROM "invite_links" WHERE "id" IN ($1,$2)' })).toBeUndefined();
    expect(nameOf({ sql: page })).toMatch(/^iq_/);
    expect(nameOf({ sql: page })).toBe(nameOf({ sql: page }));
    expect(nameOf({ sql: other })).not.toBe(nameOf({ sql: page }));
  });

  it('stops naming new texts past its limit; the ones named keep their names', () => {
    const nameOf = preparedStatementNames(2);
    const texts = [1, 2, 3].map((n) => `${PREPARED_STATEMENT_MARK} SELECT ${n}`);
    const first = nameOf({ sql: texts[0]! });
    expect(nameOf({ sql: texts[1]! })).toBeDefined();
    expect(nameOf({ sql: texts[2]! })).toBeUndefined();
    expect(nameOf({ sql: texts[0]! })).toBe(first);
  });

  it('DATABASE_PREPARED_STATEMENTS defaults to on; false turns it off; anything else is refused', () => {
    expect(loadConfig({}).DATABASE_PREPARED_STATEMENTS).toBe(true);
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'false' }).DATABASE_PREPARED_STATEMENTS).toBe(false);
    expect(() => loadConfig({ DATABASE_PREPARED_STATEMENTS: 'no' })).toThrow();
  });
});
