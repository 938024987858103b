import { randomBytes } from 'node:crypto';
import { ConfigError } from '../config.ts';
import { closeSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

/**
 * One process at a time may open an embedded database folder: PGlite has no lock of its own, and
 * two processes writing one folder corrupt it. The lock is a file created exclusively in the
 * folder, naming its holder. A holder that died (kill -9, power loss) leaves the file behind;
 * it is judged stale by asking whether that process still runs, never by the file's age, so a
 * start right after a crash is not refused.
 */

export const LOCK_FILE_NAME = 'inviteql.lock';

export interface LockHolder {
  pid: number;
  hostname: string;
  since: string;
  /** Random, so a holder can tell its own lock from a later one. */
  token: string;
}

export interface DataDirLock {
  readonly file: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it is still this lock's; safe to call more than once. */
  release(): void;
}

/** The lock file as found: its holder (null when unreadable) and what identifies this very file. */
export interface FoundLock {
  holder: LockHolder | null;
  identity: string;
  ageMs: number;
}

/** Another process holds the folder: printed as its one-line message, like every start-up problem. */
export class DataDirInUseError extends ConfigError {
  constructor(
    readonly dataDir: string,
    readonly lockFile: string,
    readonly holder: LockHolder | null,
    reason: string,
  ) {
    super(
      `DATA_DIR ${dataDir} is in use ${reason}. Stop that process, or set DATABASE_URL to use PostgreSQL, which several processes can share.`,
    );
    this.name = 'DataDirInUseError';
  }
}

/** Lock files this process holds: a second open of the same folder in one process corrupts it too. */
const heldHere = new Set<string>();
/** A lock file without a readable holder is a starter between creating and writing it, or one that died there. */
const UNREADABLE_STALE_AFTER_MS = 10_000;

export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const file = path.resolve(dataDir, LOCK_FILE_NAME);
  const holder: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    since: new Date().toISOString(),
    token: randomBytes(12).toString('hex'),
  };
  if (heldHere.has(file))
    throw new DataDirInUseError(dataDir, file, holder, `by this process (pid ${process.pid}), which has it open already`);

  for (let attempt = 0; attempt < 5; attempt++) {
    if (createLockFile(file, holder)) return held(file, holder);
    const found = readLockFile(file);
    if (!found) continue; // removed in between: try again
    const liveHolder = describeLiveHolder(found);
    if (liveHolder) throw new DataDirInUseError(dataDir, file, found.holder, liveHolder);
    removeIfUnchanged(file, found);
  }
  throw new DataDirInUseError(dataDir, file, null, 'by other processes racing to take it');
}

function held(file: string, holder: LockHolder): DataDirLock {
  heldHere.add(file);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    heldHere.delete(file);
    process.off('exit', release);
    try {
      if (readLockFile(file)?.holder?.token === holder.token) unlinkSync(file);
    } catch {
      // Gone already, or the folder with it: nothing to release.
    }
  };
  // A process that ends without closing its database (process.exit, an uncaught error) still lets go.
  process.on('exit', release);
  return { file, holder, release };
}

/** Exclusive create: of two starters only one can succeed. */
function createLockFile(file: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(file);
    throw error;
  }
  closeSync(fd);
  return true;
}

export function readLockFile(file: string): FoundLock | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const stat = fstatSync(fd, { bigint: true });
    const text = readFileSync(fd, 'utf8');
    return {
      holder: parseHolder(text),
      // Inode numbers are reused at once, so the modification time and the text are part of it.
      identity: `${stat.ino}:${stat.mtimeNs}:${text}`,
      ageMs: Date.now() - Number(stat.mtimeMs),
    };
  } finally {
    closeSync(fd);
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isSafeInteger(value.pid) && value.pid! > 0 && typeof value.hostname === 'string') {
      return { pid: value.pid!, hostname: value.hostname, since: String(value.since ?? ''), token: String(value.token ?? '') };
    }
  } catch {
    // not JSON: see below
  }
  return null;
}

/** By whom the lock is held ("by process 42 on host"), or null when it is stale and may be taken over. */
function describeLiveHolder({ holder, ageMs }: FoundLock): string | null {
  if (!holder) return ageMs < UNREADABLE_STALE_AFTER_MS ? 'by another process that is taking it right now' : null;
  // Not held by this process (checked before), so an earlier process with our pid left it: in a
  // container the server is pid 1 at every start.
  if (holder.pid === process.pid) return null;
  const since = holder.since ? ` (since ${holder.since})` : '';
  if (holder.hostname !== hostname()) {
    return `by process ${holder.pid} on host ${holder.hostname}${since}, which this host cannot check; if it is gone, delete ${LOCK_FILE_NAME} in the folder`;
  }
  return isRunning(holder.pid) ? `by process ${holder.pid} on ${holder.hostname}${since}` : null;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  // Killed but not yet reaped by its parent, a process still answers signal 0 on Linux.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

/**
 * Removes a stale lock file only if it is still the one judged stale. Another starter may have
 * taken it over meanwhile and written its own: unlinking by name would remove that live lock and
 * let both start. So the file is first moved aside (atomically, whatever it is by then), checked,
 * and put back with link(), which never overwrites, when it turns out to be a new holder's.
 */
export function removeIfUnchanged(file: string, judged: FoundLock): void {
  const aside = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.stale`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    if (readLockFile(aside)?.identity === judged.identity) return;
    linkSync(aside, file);
  } catch (error) {
    // EEXIST: a third starter created a lock in these microseconds; that one stands.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(aside);
  }
}
