import { readFileSync } from 'node:fs';
import pg from 'pg';
import { inject } from 'vitest';
import { Database } from '../../src/db/database.ts';
import { openPglite } from '../../src/db/pglite.ts';
import { withDatabase } from './global-setup.ts';

export interface TestDatabase {
  db: Database;
  /** A connection string for this file's own database (PostgreSQL only). */
  url?: string;
  drop(): Promise<void>;
}

let sequence = 0;

/** A fresh, migrated database of this test file's own. */
export async function createTestDatabase(options: { poolSize?: number } = {}): Promise<TestDatabase> {
  const target = inject('testDatabase');
  if (target.kind === 'postgres') {
    const name = `inviteql_test_${Date.now()}_${process.pid}_${sequence++}`;
    const admin = new pg.Client({ connectionString: target.serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${target.template}"`);
    await admin.end();
    const url = withDatabase(target.serverUrl, name);
    const db = await Database.open({ url, poolSize: options.poolSize ?? 10, countStatements: true });
    return {
      db,
      url,
      drop: async () => {
        await db.close();
        const dropper = new pg.Client({ connectionString: target.serverUrl });
        await dropper.connect();
        await dropper.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await dropper.end();
      },
    };
  }
  const snapshot = new Blob([readFileSync(target.snapshot)]);
  const pglite = await openPglite('memory://', { loadDataDir: snapshot });
  const db = await Database.open({ pglite, countStatements: true });
  return { db, drop: () => db.close() };
}
