import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  DataDirInUseError,
  LOCK_FILE_NAME,
  lockDataDir,
  readLockFile,
  removeIfUnchanged,
  type DataDirLock,
} from '../src/db/data-dir-lock.ts';
import { banner, runTsx, startServer, waitFor, type RunningProcess } from './support/processes.ts';

const dirs: string[] = [];
const newDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'inviteql-lock-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const lockFile = (dir: string) => path.join(dir, LOCK_FILE_NAME);
const holderIn = (dir: string) => JSON.parse(readFileSync(lockFile(dir), 'utf8')) as { pid: number; hostname: string; token: string };
const writeHolder = (dir: string, pid: number, host = hostname(), token = 'theirs') =>
  writeFileSync(lockFile(dir), JSON.stringify({ pid, hostname: host, since: '2026-01-01T00:00:00.000Z', token }));
/** The pid of a process that has ended and been reaped. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

describe('lockDataDir', () => {
  const locks: DataDirLock[] = [];
  const lock = (dir: string) => {
    const taken = lockDataDir(dir);
    locks.push(taken);
    return taken;
  };
  afterEach(() => locks.splice(0).forEach((taken) => taken.release()));

  it('holds the folder with a file naming this process, refuses a second open in the same process, and lets go on release', () => {
    const dir = newDir();
    const taken = lock(dir);
    expect(holderIn(dir)).toMatchObject({ pid: process.pid, hostname: hostname(), token: taken.holder.token });
    expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
    taken.release();
    expect(existsSync(lockFile(dir))).toBe(false);
    expect(lock(dir).holder.pid).toBe(process.pid);
  });

  it('refuses a folder a running process on this host holds, naming it and what to do', async () => {
    const dir = newDir();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeHolder(dir, holder.pid!);
      const refusal = (() => {
        try {
          lockDataDir(dir);
        } catch (error) {
          return error as Error;
        }
      })();
      expect(refusal).toBeInstanceOf(DataDirInUseError);
      expect(refusal!.message).toBe(
        `DATA_DIR ${dir} is in use by process ${holder.pid} on ${hostname()} (since 2026-01-01T00:00:00.000Z). ` +
          'Stop that process, or set DATABASE_URL to use PostgreSQL, which several processes can share.',
      );
      expect(holderIn(dir).pid).toBe(holder.pid);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over a lock whose holder no longer runs, at once', () => {
    const dir = newDir();
    writeHolder(dir, deadPid());
    expect(lock(dir).holder.pid).toBe(process.pid);
    expect(holderIn(dir).pid).toBe(process.pid);
  });

  it("takes over a lock naming this process's pid that this process does not hold (containers start as pid 1 every time)", () => {
    const dir = newDir();
    writeHolder(dir, process.pid, hostname(), 'an earlier life');
    expect(lock(dir).holder.token).not.toBe('an earlier life');
    expect(holderIn(dir).token).toBe(locks[0]!.holder.token);
  });

  it('refuses a lock held on another host, which it cannot check, and says how to clear it', () => {
    const dir = newDir();
    writeHolder(dir, deadPid(), 'other-host');
    expect(() => lockDataDir(dir)).toThrow(/in use by process \d+ on host other-host .*cannot check; if it is gone, delete inviteql\.lock/);
  });

  it('release leaves a lock that is no longer its own', () => {
    const dir = newDir();
    const taken = lock(dir);
    writeHolder(dir, 4242, hostname(), 'someone else');
    taken.release();
    expect(holderIn(dir).token).toBe('someone else');
  });

  it('removes a stale lock only if it is still the one judged stale, so two racing starters cannot both win', () => {
    const dir = newDir();
    writeHolder(dir, deadPid(), hostname(), 'dead');
    const judgedByUs = readLockFile(lockFile(dir))!;
    // Another starter judged the same file stale, removed it and took the folder first.
    const judgedByThem = readLockFile(lockFile(dir))!;
    removeIfUnchanged(lockFile(dir), judgedByThem);
    const theirs = lock(dir);
    // Our removal of what we judged stale must leave their live lock in place.
    removeIfUnchanged(lockFile(dir), judgedByUs);
    expect(holderIn(dir).token).toBe(theirs.holder.token);
  });
});

describe('one process per embedded database folder', () => {
  const running: RunningProcess[] = [];
  // SIGTERM, which tsx passes on to the server it runs (SIGKILL would orphan that process).
  afterAll(() => running.forEach((server) => server.child.kill('SIGTERM')));

  async function gql(at: { url: string; token: string }, query: string) {
    const response = await fetch(at.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${at.token}` },
      body: JSON.stringify({ query }),
    });
    const body = (await response.json()) as { data?: any; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    return body.data;
  }
  const SNAPSHOT = `{ tagTypes { name } inviteLinks(channelId: -1001000000001, limit: 100) { total items { name } } }`;

  it('refuses a second server, seed, db:migrate and account:create with one line, keeps the data, and starts at once after a kill -9', async () => {
    const dataDir = newDir();
    const env = { DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn' };
    const first = startServer(env);
    running.push(first);
    const firstAt = await waitFor(() => banner(first), 'the first server');
    await gql(firstAt, 'mutation { createTagType(name: "Kept") { id } }');
    await gql(firstAt, 'mutation { createInviteLink(input: { channelId: -1001000000001, name: "kept link" }) { id } }');
    const before = await gql(firstAt, SNAPSHOT);
    const holder = holderIn(dataDir);
    expect(holder.hostname).toBe(hostname());

    const others = {
      server: startServer(env),
      seed: runTsx('scripts/seed.ts', ['--links', '50'], env),
      migrate: runTsx('scripts/migrate.ts', ['deploy'], env),
      accountCreate: runTsx('scripts/create-account.ts', ['Intruder'], env),
    };
    running.push(...Object.values(others));
    const refusal = new RegExp(
      `^DATA_DIR ${dataDir} is in use by process ${holder.pid} on ${hostname()} \\(since [^)]+\\)\\. Stop that process, or set DATABASE_URL .*\\n$`,
    );
    for (const [name, other] of Object.entries(others)) {
      expect(await other.exited, name).toBe(1);
      expect(other.output().stderr, name).toMatch(refusal);
      expect(other.output().stdout, name).toBe('');
    }

    // The first server still owns the folder, and its data is as it was.
    expect(holderIn(dataDir).pid).toBe(holder.pid);
    expect(await gql(firstAt, SNAPSHOT)).toEqual(before);
    await gql(firstAt, 'mutation { createTagType(name: "After the refusals") { id } }');
    expect((await gql(firstAt, '{ tagTypes { name } }')).tagTypes.map((type: { name: string }) => type.name)).toContain(
      'After the refusals',
    );

    // kill -9 leaves the lock file behind; the next start takes it over without waiting.
    process.kill(holder.pid, 'SIGKILL');
    const second = startServer(env);
    running.push(second);
    const secondAt = await waitFor(() => banner(second) ?? (second.output().stderr ? second.output() : undefined), 'the second server');
    expect(secondAt).toHaveProperty('url');
    const after = await gql(secondAt as { url: string; token: string }, SNAPSHOT);
    expect(after.inviteLinks).toEqual(before.inviteLinks);
    expect(after.tagTypes.map((type: { name: string }) => type.name)).toEqual(expect.arrayContaining(['Kept', 'After the refusals']));
    expect(holderIn(dataDir).pid).not.toBe(holder.pid);

    // A server that stops normally removes its lock.
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(existsSync(lockFile(dataDir))).toBe(false);
  }, 120_000);
});
