import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMigrationList } from '../src/db/migrations.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

describe('Database.migrate', () => {
  it('applies nothing on a migrated database, and re-applies a migration whose record is gone', async () => {
    expect(await database.db.migrate()).toEqual([]);
    const createsRateLimits = readMigrationList().migrationDirectories.find(
      (directory) =>
        directory.migrationFile.content.tag === 'ok' && directory.migrationFile.content.value.includes('CREATE TABLE "rate_limits"'),
    )!.path;
    await database.db.prisma.$executeRawUnsafe(`DELETE FROM _prisma_migrations WHERE migration_name = '${createsRateLimits}'`);
    await database.db.prisma.$executeRawUnsafe('DROP TABLE rate_limits');
    expect(await database.db.migrate()).toEqual([createsRateLimits]);
    expect(await database.db.prisma.rateLimit.count()).toBe(0);
  }, 60_000);
});
