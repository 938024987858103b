import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Database } from '../src/db/database.ts';
import { hashToken } from '../src/auth/api-tokens.ts';
import { TokenAuthenticator } from '../src/auth/token-authenticator.ts';
import { createLogger } from '../src/logger.ts';

/** A token looked up in the database, every time (no cache). */
const authenticate = (db: Database, authorization: string) =>
  new TokenAuthenticator(db, { ttlMs: 0, log: createLogger('silent') }).authenticate(authorization);

const dataDir = mkdtempSync(path.join(tmpdir(), 'inviteql-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('npm run account:create', () => {
  it('creates an account and prints a full token that authenticates; only its hash is stored', async () => {
    const { stdout } = await promisify(execFile)(path.resolve('node_modules/.bin/tsx'), ['scripts/create-account.ts', 'Acme', 'Media'], {
      env: { PATH: process.env.PATH!, DATA_DIR: dataDir },
    });
    const token = /token\s+(iql_\S+)/.exec(stdout)?.[1];
    expect(token).toBeDefined();
    expect(stdout).toContain('"Acme Media"');
    const db = await Database.open({ dataDir });
    try {
      const viewer = await authenticate(db, `Bearer ${token}`);
      expect(viewer.partnerId).toBeNull();
      const account = await db.prisma.account.findUniqueOrThrow({ where: { id: viewer.accountId } });
      expect(account.name).toBe('Acme Media');
      const stored = await db.prisma.apiToken.findMany();
      expect(stored.map((row) => row.tokenHash)).toEqual([hashToken(token!)]);
    } finally {
      await db.close();
    }
  }, 60_000);
});
