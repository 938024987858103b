import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { applyMigrations, readMigrationList } from '../../src/db/migrations.ts';
import { openPglite, PgliteAdapterFactory } from '../../src/db/pglite.ts';
import { PgAdapterFactory } from '../../src/db/pg.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    testDatabase: { kind: 'postgres'; serverUrl: string; template: string } | { kind: 'pglite'; snapshot: string };
  }
}

const migrationsHash = () =>
  createHash('sha256').update(JSON.stringify(readMigrationList().migrationDirectories)).digest('hex').slice(0, 12);

/**
 * Migrates once per run: a template database on PostgreSQL (TEST_DATABASE_URL), or a PGlite
 * snapshot otherwise. Each test file then gets its own copy, so files run in parallel.
 */
export default async function setup(project: TestProject) {
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    const template = `inviteql_template_${migrationsHash()}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // Concurrent runs on one server build the template once.
    await admin.query('SELECT pg_advisory_lock(hashtext($1))', [template]);
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (exists.rowCount === 0) {
      await admin.query(`CREATE DATABASE "${template}"`);
      const pool = new pg.Pool({ connectionString: withDatabase(url, template), max: 2 });
      try {
        await applyMigrations(new PgAdapterFactory(pool));
      } catch (error) {
        await pool.end();
        await admin.query(`DROP DATABASE "${template}" WITH (FORCE)`);
        throw error;
      }
      await pool.end();
    }
    // Copies left by runs that were killed before their teardown.
    const stale = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE 'inviteql_test_%' AND datname < $1`, [
      `inviteql_test_${Date.now() - 3_600_000}`,
    ]);
    for (const row of stale.rows) await admin.query(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`);
    await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [template]);
    await admin.end();
    project.provide('testDatabase', { kind: 'postgres', serverUrl: url, template });
  } else {
    const client = await openPglite('memory://');
    await applyMigrations(new PgliteAdapterFactory(client));
    const snapshot = path.join(mkdtempSync(path.join(tmpdir(), 'inviteql-')), 'migrated.tar');
    writeFileSync(snapshot, Buffer.from(await (await client.dumpDataDir('none')).arrayBuffer()));
    await client.close();
    project.provide('testDatabase', { kind: 'pglite', snapshot });
  }
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
