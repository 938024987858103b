// Issue 15's bench line: chat_member updates through the real webhook route (POST /telegram/webhook,
// the App's secret, over HTTP at `connections` connections), against a floor that INSERTs the same
// updates with plain `pg` into a table shaped like telegram_updates, behind a bare node:http server
// driven by the same driver. Then how long the update processor takes to apply them, and whether
// every link's counters say what was sent.
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { App } from '../src/app.ts';
import { createServer } from '../src/http/server.ts';
import { TELEGRAM_WEBHOOK_PATH } from '../src/http/telegram-webhook.ts';
import { SANDBOX_ACCOUNT_ID } from '../src/sandbox/demo-data.ts';
import { ensureSeedChannel } from '../src/sandbox/seed-links.ts';
import { closeServer } from './floor.ts';
import { expectedEvents, expectedLinkCounts, runIngestLoad, type IngestLoadResult, type IngestSpec } from './ingest-load.ts';
import { CpuProfiler } from './profile.ts';

/** The demo account's channel the ingest line counts into (recreated on every run). */
export const INGEST_CHANNEL_TELEGRAM_ID = -1001000088888;
/** A chat no account connected: the warm-up's updates are stored and count for nothing. */
const WARMUP_CHAT_ID = -1001000088889;
const FLOOR_TABLE = 'bench_ingest_floor_updates';
const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

export interface MemorySample {
  rssMb: number;
  heapUsedMb: number;
}

/** A side's rounds as one: all its updates over all its time; its worse round's latencies. */
export interface IngestSideResult {
  updatesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  seconds: number;
  /** CPU time of this process (both servers, the processor, the driver's worker) per update sent. */
  cpuMsPerUpdate: number;
}

type RoundResult = IngestLoadResult & { cpuMs: number };

function combine(rounds: RoundResult[]): IngestSideResult {
  const requests = rounds.reduce((sum, r) => sum + r.requests, 0);
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
  return {
    updatesPerSecond: Number((requests / seconds).toFixed(1)),
    p50Ms: Math.max(...rounds.map((r) => r.p50Ms)),
    p99Ms: Math.max(...rounds.map((r) => r.p99Ms)),
    seconds: Number(seconds.toFixed(2)),
    cpuMsPerUpdate: Number((rounds.reduce((sum, r) => sum + r.cpuMs, 0) / requests).toFixed(3)),
  };
}

export interface IngestMeasurement {
  updates: number;
  connections: number;
  webhook: IngestSideResult;
  floor: IngestSideResult;
  /** webhook updates/s over floor updates/s. */
  ratio: number;
  /** From the first webhook request until no update of the run is left unprocessed. */
  applied: { ms: number; updatesPerSecond: number; afterLastRequestMs: number };
  /** Summed over the channel's links: what invite_link_stats says, which equals what was sent (checked). */
  counted: { joins: number; leaves: number; links: number };
  /** This process (servers, processor, and the driver's worker while it runs), after a full GC. */
  memory: { before: MemorySample; after: MemorySample };
}

export interface IngestOptions {
  updates?: number;
  connections?: number;
  /** Updates sent to each side first, for a chat nobody connected. */
  warmup?: number;
  links?: number;
  /** Writes a CPU profile of the webhook side's run to tmp/bench-ingest-webhook.cpuprofile. */
  profile?: boolean;
  log?: (line: string) => void;
}

/** The floor's database: PostgreSQL through its own `pg` pool, or the PGlite the App runs on. */
export type IngestFloorDatabase = { url: string } | { pglite: PGlite };

type Sql = <Row>(text: string, values?: unknown[], name?: string) => Promise<Row[]>;

class IngestFailure extends Error {}

export async function measureIngest(app: App, database: IngestFloorDatabase, options: IngestOptions = {}): Promise<IngestMeasurement> {
  const updates = options.updates ?? 20_000;
  const connections = options.connections ?? 10;
  const warmup = options.warmup ?? 1000;
  const log = options.log ?? (() => {});
  const closers: (() => Promise<void>)[] = [];
  try {
    const { sql, close } = openSql(database);
    closers.push(close);

    // A fresh channel with its links (the cascade takes the last run's events and counters).
    await app.db.prisma.channel.deleteMany({ where: { accountId: SANDBOX_ACCOUNT_ID, telegramId: BigInt(INGEST_CHANNEL_TELEGRAM_ID) } });
    await sql(`DELETE FROM telegram_updates WHERE chat_id = ANY($1::bigint[])`, [[INGEST_CHANNEL_TELEGRAM_ID, WARMUP_CHAT_ID]]);
    const channel = await ensureSeedChannel(app.db, INGEST_CHANNEL_TELEGRAM_ID, 'Ingest benchmark channel');
    const linkUrls = Array.from({ length: options.links ?? 50 }, () => `https://t.me/+${randomBytes(12).toString('base64url')}`);
    await app.db.prisma.inviteLink.createMany({
      data: linkUrls.map((inviteLink, index) => ({
        accountId: SANDBOX_ACCOUNT_ID,
        channelId: channel.id,
        chatId: BigInt(INGEST_CHANNEL_TELEGRAM_ID),
        name: `Ad ${index}`,
        inviteLink,
        budget: 1000 * (index + 1),
      })),
    });

    await sql(`CREATE TABLE IF NOT EXISTS ${FLOOR_TABLE} (LIKE telegram_updates INCLUDING ALL)`);
    await sql(`TRUNCATE ${FLOOR_TABLE}`);
    closers.push(async () => void (await sql(`DROP TABLE IF EXISTS ${FLOOR_TABLE}`)));

    const [last] = await sql<{ last: string | null }>(`SELECT max(update_id)::text AS last FROM telegram_updates`);
    const spec: IngestSpec = {
      chatId: INGEST_CHANNEL_TELEGRAM_ID,
      chatTitle: 'Ingest benchmark channel',
      firstUpdateId: Number(last?.last ?? 0) + 1,
      firstUserId: 5_000_000_000 + Math.floor(Math.random() * 1_000_000) * 100_000,
      date: Math.floor(Date.now() / 1000) - 3600,
      linkUrls,
      bot: { id: 1_000_000_001, username: 'inviteql_sandbox_bot' },
    };
    const warmupSpec: IngestSpec = { ...spec, chatId: WARMUP_CHAT_ID, firstUpdateId: spec.firstUpdateId + updates };

    const webhookServer = createHttpServer(createServer(app));
    const webhookUrl = `${await listen(webhookServer)}${TELEGRAM_WEBHOOK_PATH}`;
    closers.push(() => closeServer(webhookServer));
    const floorServer = createHttpServer(floorHandler(sql, app.telegramWebhookSecret));
    const floorUrl = `${await listen(floorServer)}${TELEGRAM_WEBHOOK_PATH}`;
    closers.push(() => closeServer(floorServer));
    const headers = { [SECRET_HEADER]: app.telegramWebhookSecret };
    const warm = (url: string) => runIngestLoad({ url, headers, spec: warmupSpec, first: 0, count: warmup, connections });
    const unprocessed = async (from: number, count: number) => {
      const [row] = await sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM telegram_updates WHERE processed_at IS NULL AND update_id >= $1 AND update_id < $2`,
        [from, from + count],
        'ingest_unprocessed',
      );
      return row!.n;
    };
    const appliedBy = async (from: number, count: number, deadlineMs: number) => {
      while ((await unprocessed(from, count)) > 0) {
        if (performance.now() > deadlineMs) throw new IngestFailure(`updates still unprocessed after the deadline`);
        await sleep(20);
      }
      return performance.now();
    };

    if (warmup > 0) {
      await warm(webhookUrl);
      await warm(floorUrl);
      await appliedBy(warmupSpec.firstUpdateId, warmup, performance.now() + 60_000);
      await sql(`TRUNCATE ${FLOOR_TABLE}`);
    }

    // Rounds floor, webhook, webhook, floor (half the updates each), so that the machine speeding up
    // or slowing down weighs on both sides alike. The processor applies in the background, as it
    // does in production, and is done before the last floor round.
    const half = Math.floor(updates / 2);
    const halves = [
      { first: 0, count: half },
      { first: half, count: updates - half },
    ];
    const rounds: Record<'floor' | 'webhook', RoundResult[]> = { floor: [], webhook: [] };
    const round = async (side: 'floor' | 'webhook', part: { first: number; count: number }) => {
      const cpu = process.cpuUsage();
      const result = await runIngestLoad({ url: side === 'floor' ? floorUrl : webhookUrl, headers, spec, ...part, connections });
      const used = process.cpuUsage(cpu);
      rounds[side].push({ ...result, cpuMs: (used.user + used.system) / 1000 });
    };
    await round('floor', halves[0]!);
    const before = memory();
    const profiler = options.profile ? new CpuProfiler() : undefined;
    if (profiler) await profiler.start();
    const started = performance.now();
    await round('webhook', halves[0]!);
    if (profiler) {
      const file = path.resolve('tmp', 'bench-ingest-webhook.cpuprofile');
      log(`  cpu profile of the webhook side (first round): ${path.relative(process.cwd(), file)}\n${await profiler.stop(file)}`);
      profiler.close();
    }
    await round('webhook', halves[1]!);
    const sent = performance.now();
    const applied = await appliedBy(spec.firstUpdateId, updates, sent + 300_000);
    const after = memory();
    await round('floor', halves[1]!);
    const appliedMs = applied - started;
    const floor = combine(rounds.floor);
    const webhook = combine(rounds.webhook);
    for (const [side, r] of [
      ['floor', floor],
      ['webhook', webhook],
    ] as const) {
      log(
        `  ${side.padEnd(8)} ${updates} updates: ${r.updatesPerSecond.toFixed(1)} updates/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  ` +
          `${r.cpuMsPerUpdate} ms CPU per update in this process`,
      );
    }
    log(
      `  applied  all ${updates} ${(appliedMs / 1000).toFixed(2)} s after the first webhook request (${((updates * 1000) / appliedMs).toFixed(1)} updates/s), ` +
        `${Math.round(applied - sent)} ms after the last`,
    );
    const [floorRows] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${FLOOR_TABLE}`);
    if (floorRows!.n !== updates) throw new IngestFailure(`the floor stored ${floorRows!.n} of ${updates} updates`);

    const [stored] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM telegram_updates WHERE update_id >= $1 AND update_id < $2`, [
      spec.firstUpdateId,
      spec.firstUpdateId + updates,
    ]);
    if (stored!.n !== updates) throw new IngestFailure(`the webhook stored ${stored!.n} of ${updates} updates`);
    const counted = await checkCounters(sql, channel.id, spec, updates);
    log(`  counted  ${counted.joins} joins and ${counted.leaves} leaves over ${counted.links} links: as sent`);

    return {
      updates,
      connections,
      webhook,
      floor,
      ratio: Number((webhook.updatesPerSecond / floor.updatesPerSecond).toFixed(3)),
      applied: {
        ms: Math.round(appliedMs),
        updatesPerSecond: Number(((updates * 1000) / appliedMs).toFixed(1)),
        afterLastRequestMs: Math.round(applied - sent),
      },
      counted,
      memory: { before, after },
    };
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {});
  }
}

/** Every link's joins and leaves are what the sent updates make them; the channel's events likewise. */
async function checkCounters(sql: Sql, channelId: string, spec: IngestSpec, updates: number) {
  const rows = await sql<{ invite_link: string; joins: number; leaves: number }>(
    `SELECT l.invite_link, s.joins, s.leaves FROM invite_link_stats s JOIN invite_links l ON l.id = s.invite_link_id
     WHERE s.channel_id = $1::uuid`,
    [channelId],
  );
  const expected = expectedLinkCounts(spec, updates);
  const wrong = rows.filter((row) => {
    const want = expected.get(row.invite_link) ?? { joins: 0, leaves: 0 };
    return row.joins !== want.joins || row.leaves !== want.leaves;
  });
  if (rows.length !== spec.linkUrls.length || wrong.length > 0) {
    const first = wrong[0];
    throw new IngestFailure(
      `counters differ from what was sent on ${wrong.length} of ${rows.length} links` +
        (first
          ? `, e.g. ${first.invite_link}: ${first.joins}/${first.leaves}, sent ${JSON.stringify(expected.get(first.invite_link))}`
          : ''),
    );
  }
  const joins = rows.reduce((sum, row) => sum + row.joins, 0);
  const leaves = rows.reduce((sum, row) => sum + row.leaves, 0);
  const [events] = await sql<{ joined: number; left: number }>(
    `SELECT count(*) FILTER (WHERE kind = 'JOINED')::int AS joined, count(*) FILTER (WHERE kind = 'LEFT')::int AS left
     FROM member_events WHERE channel_id = $1::uuid`,
    [channelId],
  );
  const want = expectedEvents(updates);
  if (events!.joined !== want.joined || events!.left !== want.left) {
    throw new IngestFailure(`member_events: ${events!.joined} joined and ${events!.left} left, sent ${want.joined} and ${want.left}`);
  }
  return { joins, leaves, links: rows.length };
}

/**
 * The floor: the secret compared, the body parsed, the update's kind, chat and member picked out,
 * one prepared INSERT ... ON CONFLICT DO NOTHING (a redelivery stored once), then 200.
 */
function floorHandler(sql: Sql, secret: string) {
  const insert = `INSERT INTO ${FLOOR_TABLE} (update_id, kind, chat_id, user_id, payload) VALUES ($1, $2, $3, $4, $5::jsonb)
    ON CONFLICT (update_id) DO NOTHING`;
  const send = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST' || req.url !== TELEGRAM_WEBHOOK_PATH) return send(res, 404, '{}');
    if (req.headers[SECRET_HEADER] !== secret) return send(res, 403, '{}');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let values: unknown[];
      try {
        const update = JSON.parse(text) as Record<string, unknown>;
        const kind = Object.keys(update).find((key) => key !== 'update_id')!;
        const body = update[kind] as { chat: { id: number }; from: { id: number }; new_chat_member?: { user: { id: number } } };
        const userId = kind === 'chat_member' ? body.new_chat_member!.user.id : body.from.id;
        values = [update.update_id, kind, body.chat.id, userId, text];
      } catch (error) {
        return send(res, 400, JSON.stringify({ error: String(error) }));
      }
      sql(insert, values, 'ingest_floor_insert').then(
        () => send(res, 200, '{"ok":true}'),
        (error: Error) => send(res, 500, JSON.stringify({ error: error.message })),
      );
    });
  };
}

function openSql(database: IngestFloorDatabase): { sql: Sql; close: () => Promise<void> } {
  if ('pglite' in database) {
    const client = database.pglite;
    const sql: Sql = async <Row>(text: string, values?: unknown[]) => (await client.query<Row>(text, values)).rows;
    return { sql, close: async () => {} };
  }
  const pool = new pg.Pool({ connectionString: database.url, max: 10, connectionTimeoutMillis: 5000 });
  const sql: Sql = async <Row>(text: string, values?: unknown[], name?: string) =>
    (await pool.query<Row & pg.QueryResultRow>({ text, values, name })).rows;
  return { sql, close: () => pool.end() };
}

async function listen(server: ReturnType<typeof createHttpServer>): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function memory(): MemorySample {
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  const mb = (bytes: number) => Number((bytes / 1024 / 1024).toFixed(1));
  return { rssMb: mb(rss), heapUsedMb: mb(heapUsed) };
}
