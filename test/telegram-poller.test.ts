import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Database } from '../src/db/database.ts';
import { TelegramUpdatePoller } from '../src/services/telegram-poller.ts';
import { registerWebhook } from '../src/services/telegram-webhook.ts';
import { CHANNEL, createTestApp, type TestApp } from './support/app.ts';
import { cuttableProxy } from './support/db-proxy.ts';
import { skipUnless } from './support/skip.ts';

const onPostgres = inject('testDatabase').kind === 'postgres';
const skipCut = skipUnless(
  onPostgres,
  'the poller with the database cut',
  'it cuts a TCP proxy in front of PostgreSQL; the embedded PGlite has no connection to cut (set TEST_DATABASE_URL)',
);
const skipOnePoller = skipUnless(
  onPostgres,
  'the one-poller tests',
  'they hold pg_try_advisory_lock on dedicated PostgreSQL connections; the embedded PGlite is one process by its folder lock (set TEST_DATABASE_URL)',
);

/** Emulated long polls: 25 "seconds" of 20 ms, so an idle poll ends quickly and the next one starts. */
const POLLING = {
  receiveUpdates: true,
  telegramPollTimeoutS: 25,
  telegramTiming: { longPollSecondMs: 20 },
  poller: { backoffBaseMs: 20, backoffMaxMs: 200 },
} as const;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function polling(options: Parameters<typeof createTestApp>[0] = {}): Promise<TestApp> {
  const t = await createTestApp({ ...POLLING, ...options });
  cleanups.push(() => t.close());
  return t;
}

async function until(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const getUpdatesCalls = (t: TestApp) => t.telegram.calls.filter((call) => call.method === 'getUpdates');
const storedUsers = async (t: TestApp) =>
  (await t.app.db.prisma.telegramUpdate.findMany({ orderBy: { updateId: 'asc' } })).map((row) => Number(row.userId));
const maxStoredId = async (t: TestApp) =>
  Number((await t.app.db.prisma.telegramUpdate.aggregate({ _max: { updateId: true } }))._max.updateId);

function startPoller(t: TestApp, lockRetryMs = 50): TelegramUpdatePoller {
  const poller = new TelegramUpdatePoller(
    { db: t.app.db, source: t.telegramUpdates, log: t.app.log },
    { pollTimeoutS: 25, lockRetryMs, backoffBaseMs: 20 },
  );
  cleanups.push(() => poller.close());
  poller.start();
  return poller;
}

describe('the getUpdates poller', () => {
  it('is not started by the test harness unless asked', async () => {
    const t = await createTestApp();
    cleanups.push(() => t.close());
    expect(t.telegramPoller).toBeUndefined();
    expect(t.telegram.calls.map((call) => call.method)).not.toContain('getUpdates');
  });

  it('deletes a left-over webhook, then polls with allowed_updates, and stores what users do', async () => {
    const t = await polling();
    await until(() => getUpdatesCalls(t).length > 0, 'the first getUpdates');
    const methods = t.telegram.calls.map((call) => call.method).filter((method) => /Webhook|getUpdates/.test(method));
    expect(methods[0]).toBe('deleteWebhook');
    const first = getUpdatesCalls(t)[0]!;
    expect([first.params.allowed_updates].flat().join()).toMatch(/chat_member.*chat_join_request.*my_chat_member/);
    expect(Number(first.params.timeout)).toBe(25);

    for (const user of [11, 12, 13]) t.telegram.join(CHANNEL, user);
    await until(async () => (await storedUsers(t)).length === 3, 'three stored updates');
    expect(await storedUsers(t)).toEqual([11, 12, 13]);
    // The next poll confirms them: its offset is one past the highest stored.
    const past = (await maxStoredId(t)) + 1;
    await until(() => getUpdatesCalls(t).some((call) => Number(call.params.offset) === past), 'a poll past the batch');
    expect(t.telegram.pendingUpdates()).toEqual([]);
    for (const call of getUpdatesCalls(t)) expect(call.params.allowed_updates).toBeDefined();
  });

  it('continues after a restart from the offset in the database: nothing stored twice, nothing lost', async () => {
    const t = await polling();
    await until(() => getUpdatesCalls(t).length > 0, 'the first getUpdates');
    t.telegram.join(CHANNEL, 21);
    await until(async () => (await storedUsers(t)).length === 1, 'the first update');
    await t.telegramPoller!.close();
    const callsBefore = getUpdatesCalls(t).length;

    t.telegram.join(CHANNEL, 22);
    t.telegram.leave(CHANNEL, 21);
    const offset = (await maxStoredId(t)) + 1;
    const restarted = startPoller(t);
    await until(async () => (await storedUsers(t)).length === 3, 'the updates made while stopped');
    expect(Number(getUpdatesCalls(t)[callsBefore]!.params.offset)).toBe(offset);
    expect(restarted.stored).toBe(2);
    expect(await storedUsers(t)).toEqual([21, 22, 21]);
  });

  it('deletes a webhook left from an earlier deployment, which would make every getUpdates answer 409', async () => {
    const t = await createTestApp();
    cleanups.push(() => t.close());
    await registerWebhook(t.telegramUpdates, 'http://127.0.0.1:9/telegram/webhook', t.app.telegramWebhookSecret);
    startPoller(t);
    await until(() => getUpdatesCalls(t).length > 0, 'the first getUpdates');
    t.telegram.join(CHANNEL, 81);
    await until(async () => (await storedUsers(t)).length === 1, 'the update by getUpdates');
    expect(t.logs.some((line) => line.includes('UPDATES_CONFLICT'))).toBe(false);
  });

  it("waits out a 429's retry_after, then stores the updates", async () => {
    const t = await polling();
    await until(() => getUpdatesCalls(t).length > 0, 'the first getUpdates');
    t.telegram.failNext({ kind: 'rateLimit', retryAfter: 1 }, { method: 'getUpdates' });
    const backoff = () =>
      t.logs.map((line) => JSON.parse(line)).find((line) => line.msg === 'receiving Telegram updates failed; backing off');
    await until(() => backoff() !== undefined, 'the 429');
    expect(backoff()).toMatchObject({ code: 'RATE_LIMITED', waitMs: 1000 });
    t.telegram.join(CHANNEL, 31);
    await until(async () => (await storedUsers(t)).length === 1, 'the update after the wait');
  });

  it('confirms a batch only once it is stored: while storing fails, the offset stays and the update stays queued', async () => {
    const t = await polling();
    await until(() => getUpdatesCalls(t).length > 0, 'the first getUpdates');
    await t.app.db.prisma.$executeRawUnsafe(
      `CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$`,
    );
    await t.app.db.prisma.$executeRawUnsafe(
      `CREATE TRIGGER refuse_update BEFORE INSERT ON telegram_updates FOR EACH ROW EXECUTE FUNCTION refuse_update()`,
    );
    t.telegram.join(CHANNEL, 71);
    const failures = () => t.logs.filter((line) => line.includes('receiving Telegram updates failed')).length;
    await until(() => failures() >= 2, 'two failed stores');
    const [queued] = t.telegram.pendingUpdates();
    expect(queued).toBeDefined();
    // Every poll since asked from the same offset, which does not confirm the update.
    const offsets = getUpdatesCalls(t).map((call) => Number(call.params.offset));
    expect(offsets.at(-1)).toBeLessThanOrEqual(queued!.update_id);
    expect(await storedUsers(t)).toEqual([]);
    await t.app.db.prisma.$executeRawUnsafe(`DROP TRIGGER refuse_update ON telegram_updates`);
    await until(async () => (await storedUsers(t)).length === 1, 'the update once storing works');
    await until(() => t.telegram.pendingUpdates().length === 0, 'the confirmation');
    expect(await storedUsers(t)).toEqual([71]);
  });

  it.skipIf(skipCut)(
    'does not move its offset past a batch it could not store: the updates are stored once the database is back',
    async () => {
      const t = await createTestApp();
      cleanups.push(() => t.close());
      const proxy = await cuttableProxy(t.database.url!);
      cleanups.push(() => proxy.close());
      const proxied = await Database.open({ url: proxy.url, poolSize: 2, acquireTimeoutMs: 500 });
      cleanups.push(() => proxied.close());
      const poller = new TelegramUpdatePoller(
        { db: proxied, source: t.telegramUpdates, log: t.app.log },
        { pollTimeoutS: 1, lockRetryMs: 50, backoffBaseMs: 20, backoffMaxMs: 100 },
      );
      cleanups.push(() => poller.close());
      poller.start();
      await until(() => getUpdatesCalls(t).length > 0, 'the first getUpdates');
      await until(() => poller.isPolling, 'the lock');
      proxy.cut();
      t.telegram.join(CHANNEL, 61);
      // Neither stored nor confirmed while the database is out.
      await until(() => !poller.isPolling, 'the lost lock');
      expect(
        t.telegram.pendingUpdates().map((update) => (update as { chat_member?: { from: { id: number } } }).chat_member?.from.id),
      ).toEqual([61]);
      expect(await storedUsers(t)).toEqual([]);
      proxy.restore();
      await until(async () => (await storedUsers(t)).length === 1, 'the update once the database is back');
      await until(() => t.telegram.pendingUpdates().length === 0, 'the confirmation');
      expect(await storedUsers(t)).toEqual([61]);
    },
  );
});

describe('exactly one poller per PostgreSQL database', () => {
  it.skipIf(skipOnePoller)('polls in one process only, and another takes over when it stops', async () => {
    const t = await polling({ poller: { lockRetryMs: 50 } });
    const first = t.telegramPoller!;
    await until(() => first.isPolling && getUpdatesCalls(t).length > 0, 'the first poller');
    const second = startPoller(t);
    t.telegram.join(CHANNEL, 41);
    t.telegram.join(CHANNEL, 42);
    await until(async () => (await storedUsers(t)).length === 2, 'two stored updates');
    expect(second.isPolling).toBe(false);
    expect(second.polls).toBe(0);
    expect(t.logs.some((line) => line.includes('terminated by other getUpdates'))).toBe(false);

    await first.close();
    await until(() => second.isPolling && second.polls > 0, 'the take-over');
    t.telegram.join(CHANNEL, 43);
    await until(async () => (await storedUsers(t)).length === 3, 'the third update');
    expect(second.stored).toBe(1);
    expect(await storedUsers(t)).toEqual([41, 42, 43]);
  });

  it.skipIf(skipOnePoller)('takes over when the holder’s lock connection dies, and stores each update once', async () => {
    // The first tries again only after 10 s, like a process that died: the second takes over.
    const t = await polling({ poller: { lockRetryMs: 10_000 } });
    const first = t.telegramPoller!;
    // Until a getUpdates has asked for chat_member updates, Telegram makes none (so a join would be lost).
    await until(() => first.isPolling && getUpdatesCalls(t).length > 0, 'the first poller');
    const second = startPoller(t);
    const admin = new pg.Client({ connectionString: t.database.url });
    await admin.connect();
    cleanups.push(() => admin.end());
    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    expect(killed.rowCount).toBe(1);
    await until(() => second.isPolling && second.polls > 0 && !first.isPolling, 'the take-over');
    t.telegram.join(CHANNEL, 51);
    await until(async () => (await storedUsers(t)).length === 1, 'the update');
    expect(second.stored).toBe(1);
  });
});
