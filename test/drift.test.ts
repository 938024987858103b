import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diffMigrationsToSchema } from '../src/db/migrations.ts';
import { openPglite, PgliteAdapterFactory } from '../src/db/pglite.ts';
import { loadConfig } from '../src/config.ts';
import { printSchemaFile } from '../src/schema/print.ts';

describe('drift', () => {
  it('schema.graphql is what the Pothos schema prints (run npm run schema:print)', () => {
    expect(readFileSync('schema.graphql', 'utf8')).toBe(printSchemaFile(loadConfig({ NODE_ENV: 'test' })));
  });

  it('prisma/migrations produce exactly schema.prisma (run npm run db:migration -- <name>)', async () => {
    const scratch = await openPglite('memory://');
    try {
      const sql = await diffMigrationsToSchema(new PgliteAdapterFactory(scratch));
      expect(sql.replace(/^-- This is an empty migration\.\s*$/m, '').trim()).toBe('');
    } finally {
      await scratch.close();
    }
  }, 60_000);
});
