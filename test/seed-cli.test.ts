import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { Database } from '../src/db/database.ts';
import { openPglite } from '../src/db/pglite.ts';
import { DEMO_CHAT_IDS, SANDBOX_ACCOUNT_ID } from '../src/sandbox/demo-data.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { runTsx } from './support/processes.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/** The database the command writes to: this file's own PostgreSQL copy, or an embedded one in a folder. */
async function commandDatabase(): Promise<{ env: Record<string, string>; open(): Promise<Database> }> {
  if (inject('testDatabase').kind === 'postgres') {
    const database: TestDatabase = await createTestDatabase({ poolSize: 2 });
    cleanups.push(() => database.drop());
    return { env: { DATABASE_URL: database.url! }, open: async () => database.db };
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'inviteql-seed-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  // Restored from the migrated snapshot, so the command does not spend seconds migrating.
  const snapshot = (inject('testDatabase') as { snapshot: string }).snapshot;
  await (await openPglite(dataDir, { loadDataDir: new Blob([readFileSync(snapshot)]) })).close();
  return {
    env: { DATA_DIR: dataDir },
    open: async () => {
      const db = await Database.open({ dataDir });
      cleanups.unshift(() => db.close());
      return db;
    },
  };
}

describe('npm run seed', () => {
  it('fills the demo channel and prints no token (the next npm start would revoke it): it points to the banner and SANDBOX_TOKEN', async () => {
    const database = await commandDatabase();
    const seed = runTsx('scripts/seed.ts', ['--links', '3'], database.env);
    onTestFinished(() => void seed.child.kill('SIGKILL'));
    const code = await seed.exited;
    const { stdout, stderr } = seed.output();
    expect(code, stderr).toBe(0);

    expect(stdout).toContain('Inserted 3 links');
    expect(stdout).not.toMatch(/iql_/);
    expect(stdout).toMatch(/API token: the "Dev token" that npm start prints, or SANDBOX_TOKEN when it is set/);

    const db = await database.open();
    const channel = await db.prisma.channel.findUniqueOrThrow({
      where: { accountId_telegramId: { accountId: SANDBOX_ACCOUNT_ID, telegramId: BigInt(DEMO_CHAT_IDS.botCanInvite) } },
      include: { _count: { select: { inviteLinks: true } } },
    });
    expect(channel._count.inviteLinks).toBe(3);
  }, 60_000);
});
