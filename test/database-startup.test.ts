// npm start and npm run db:migrate when the database is not there, refuses the password, or a
// migration fails: one line on stderr naming host and database (never the password), exit 1.
import { mkdtempSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { openPglite } from '../src/db/pglite.ts';
import { withDatabase } from './support/global-setup.ts';
import { startPasswordRefusingPostgres } from './support/password-refusing-postgres.ts';
import { runTsx } from './support/processes.ts';
import { skipUnless } from './support/skip.ts';

const COMMANDS = {
  'npm start': ['src/main.ts', []],
  'npm run db:migrate': ['scripts/migrate.ts', ['deploy']],
} as const;
type Command = keyof typeof COMMANDS;

const target = inject('testDatabase');
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** Runs a command to its end; the tests expect each to fail fast. */
async function run(command: Command, env: Record<string, string>) {
  const [script, args] = COMMANDS[command];
  const started = runTsx(script, [...args], { PORT: '0', LOG_LEVEL: 'warn', ...env });
  onTestFinished(() => void started.child.kill('SIGKILL'));
  const code = await started.exited;
  return { code, ...started.output() };
}

function expectOneLine(result: { code: number | null; stdout: string; stderr: string }, secret: string) {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr.trim().split('\n'), result.stderr).toHaveLength(1);
  expect(result.stdout + result.stderr).not.toContain(secret);
  return result.stderr.trim();
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const commands = Object.keys(COMMANDS) as Command[];

describe('a database that cannot be used', () => {
  it.each(commands)('%s: a closed port is one line naming host, port and database', async (command) => {
    const port = await closedPort();
    const result = await run(command, { DATABASE_URL: `postgresql://inviteql:s3cret-pw@127.0.0.1:${port}/inviteql_app` });
    const line = expectOneLine(result, 's3cret-pw');
    expect(line).toMatch(
      new RegExp(`^Cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}, database "inviteql_app", user "inviteql": connection refused`),
    );
  });

  it.each(commands)('%s: a refused password is one line naming the user, never the password', async (command) => {
    const server = await startPasswordRefusingPostgres();
    cleanups.push(() => server.close());
    const result = await run(command, { DATABASE_URL: `postgresql://alice:wrong-pw-123@127.0.0.1:${server.port}/shop` });
    expect(server.passwordsReceived).toEqual(['wrong-pw-123']);
    const line = expectOneLine(result, 'wrong-pw-123');
    expect(line).toBe(
      `Cannot connect to PostgreSQL at 127.0.0.1:${server.port}, database "shop", user "alice": password authentication failed for user "alice" (check the password in DATABASE_URL)`,
    );
  });

  describe.skipIf(skipUnless(target.kind === 'postgres', 'a missing database', 'needs the local PostgreSQL; set TEST_DATABASE_URL'))(
    'on the local PostgreSQL',
    () => {
      it.each(commands)('%s: a missing database is one line naming it and how to create it', async (command) => {
        const serverUrl = new URL((target as { serverUrl: string }).serverUrl);
        serverUrl.password = 'never-printed-pw';
        const name = `inviteql_missing_${process.pid}`;
        const result = await run(command, { DATABASE_URL: withDatabase(serverUrl.toString(), name) });
        const line = expectOneLine(result, 'never-printed-pw');
        expect(line).toBe(
          `Cannot connect to PostgreSQL at ${serverUrl.hostname}:${serverUrl.port || 5432}, database "${name}", user "${decodeURIComponent(serverUrl.username)}": ` +
            `database "${name}" does not exist (create it: createdb -h ${serverUrl.hostname} -p ${serverUrl.port || 5432} -U ${decodeURIComponent(serverUrl.username)} ${name})`,
        );
      });
    },
  );

  it('a failed migration is one line naming it and the database error, and so is the next start', async () => {
    // The first migration creates the enum type "InviteLinkKind"; a database that has one already makes it fail.
    const conflicting = `CREATE TYPE "InviteLinkKind" AS ENUM ('SOMETHING_ELSE')`;
    let env: Record<string, string>;
    let where: string;
    if (target.kind === 'postgres') {
      const name = `inviteql_conflict_${process.pid}`;
      const admin = new pg.Client({ connectionString: target.serverUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${name}"`);
      await admin.query(`CREATE DATABASE "${name}"`);
      await admin.end();
      cleanups.push(async () => {
        const dropper = new pg.Client({ connectionString: target.serverUrl });
        await dropper.connect();
        await dropper.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await dropper.end();
      });
      const url = withDatabase(target.serverUrl, name);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(conflicting);
      await client.end();
      const parsed = new URL(url);
      env = { DATABASE_URL: url };
      where = `PostgreSQL at ${parsed.hostname}:${parsed.port || 5432}, database "${name}"`;
    } else {
      const dataDir = mkdtempSync(path.join(tmpdir(), 'inviteql-conflict-'));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      const pglite = await openPglite(dataDir);
      await pglite.exec(conflicting);
      await pglite.close();
      env = { DATA_DIR: dataDir };
      where = `the embedded database in ${dataDir}`;
    }
    const migrated = await run('npm run db:migrate', env);
    expect(expectOneLine(migrated, 'at Database')).toBe(
      `Migration 20261122162552_init failed on ${where}: type "InviteLinkKind" already exists ` +
        `(fix the cause, then DELETE FROM _prisma_migrations WHERE migration_name = '20261122162552_init' and run it again)`,
    );
    const started = await run('npm start', env);
    expect(expectOneLine(started, 'at Database')).toBe(
      `Migration 20261122162552_init failed earlier on ${where} and is recorded as failed in _prisma_migrations ` +
        `(fix the cause, then DELETE FROM _prisma_migrations WHERE migration_name = '20261122162552_init' and run it again)`,
    );
  }, 60_000);
});
