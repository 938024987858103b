// npm run bench [-- --duration 20 --server-warmup 15 --warmup 2 --connections 10 --links 100000 --search giveaway --only default,tagFilter --profile]
//
// GraphQL server vs. a raw-SQL floor on the same requests and data:
//   1. migrate; seed `--links` links into a dedicated channel of the demo account (skipped when it
//      already has that many);
//   2. start the GraphQL server (createServer over the App src/app.ts builds in sandbox mode, with
//      RATE_LIMIT_PER_MINUTE=0: one token drives the whole load) and the floor (bench/floor.ts:
//      node:http + one SQL statement per request);
//   3. check that both answer every request with the same items and total;
//   4. count SQL statements per GraphQL request;
//   5. drive each side with autocannon in rounds (GraphQL, floor, floor, GraphQL), and print a table and, as the last
//      line, a JSON summary.
// Before step 1, the join-tracking ingest line (bench/ingest.ts); `--only ingest` runs it alone.
// PostgreSQL when DATABASE_URL is set; otherwise an embedded PGlite in --data-dir (not representative).
// First: sets NODE_ENV before any module that reads it loads.
import './production-env.ts';
import { measureShortLinks } from './short-links.ts';
import { measureIngest } from './ingest.ts';
import { createServer as createHttpServer } from 'node:http';
import path from 'node:path';
import { parseArgs, isDeepStrictEqual } from 'node:util';
import type { PGlite } from '@electric-sql/pglite';
import { loadConfig } from '../src/config.ts';
import { Database } from '../src/db/database.ts';
import { openPglite } from '../src/db/pglite.ts';
import { countChannelLinks, ensureSeedCatalog, ensureSeedChannel, seedInviteLinks, seedMemberEvents } from '../src/sandbox/seed-links.ts';
import { createLogger } from '../src/logger.ts';
import { SANDBOX_ACCOUNT_ID, ensureSandboxAccount } from '../src/sandbox/demo-data.ts';
import { generateTokenSecret } from '../src/auth/api-tokens.ts';
import { createServer } from '../src/http/server.ts';
import { buildApp, type App } from '../src/app.ts';
import { closeServer, listen, startPgFloor, startPgliteFloor, type Floor } from './floor.ts';
import { runLoad, type LoadResult } from './load.ts';
import { BENCH_CHANNEL_TELEGRAM_ID, benchQueries, requestBody, type BenchFixtures, type BenchQuery } from './queries.ts';
import { CpuProfiler } from './profile.ts';

const BENCH_CHANNEL_TITLE = 'Benchmark channel';

// ------------------------------------------------------------------------------------------------
// Arguments

const { values: argv } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    'server-warmup': { type: 'string', default: '15' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '10' },
    links: { type: 'string', default: '100000' },
    search: { type: 'string', default: 'giveaway' },
    'data-dir': { type: 'string', default: './tmp/bench-pglite' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (argv.help) {
  console.log(
    'usage: npm run bench -- [--duration s] [--server-warmup s] [--warmup s] [--connections n] [--links n] [--search text] [--data-dir dir] [--only key,key] [--profile]',
  );
  process.exit(0);
}
const positive = (name: string, value: string, min = 1) => {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < min) {
    console.error(`--${name} must be a number >= ${min}`);
    process.exit(1);
  }
  return n;
};
const options = {
  duration: positive('duration', argv.duration),
  serverWarmup: positive('server-warmup', argv['server-warmup'], 0),
  warmup: positive('warmup', argv.warmup, 0),
  connections: Math.round(positive('connections', argv.connections)),
  links: Math.round(positive('links', argv.links)),
  search: argv.search,
  dataDir: argv['data-dir'],
  profile: argv.profile,
  only: argv.only?.split(',').map((key) => key.trim()),
};

// ------------------------------------------------------------------------------------------------
// Helpers

class BenchFailure extends Error {}

function log(line = '') {
  console.log(line);
}

interface Page {
  total: number;
  items: { id: string }[];
}
interface GraphqlResponse {
  data?: Record<string, unknown> | null;
  errors?: unknown[];
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<GraphqlResponse> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  if (!response.ok) throw new BenchFailure(`${url} answered ${response.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as GraphqlResponse;
}

// ------------------------------------------------------------------------------------------------
// The GraphQL side: an App built as src/app.ts builds it in sandbox mode, over a given Database.

interface GraphqlSide {
  url: string;
  close(): Promise<void>;
}

async function startGraphql(app: App): Promise<GraphqlSide> {
  const server = createHttpServer(createServer(app));
  const url = await listen(server);
  return { url, close: () => closeServer(server) };
}

// ------------------------------------------------------------------------------------------------
// Steps

async function seedBenchChannel(db: Database): Promise<{ channelId: string; links: number; seededMs?: number }> {
  const channel = await ensureSeedChannel(db, BENCH_CHANNEL_TELEGRAM_ID, BENCH_CHANNEL_TITLE);
  const existing = await countChannelLinks(db, channel.id);
  if (existing >= options.links) {
    log(`Channel ${BENCH_CHANNEL_TELEGRAM_ID} already has ${existing} links; not seeding.`);
    await ensureSeedCatalog(db);
    const events = await seedMemberEvents(db, channel.id);
    if (events) log(`Seeded ${events} member events (joins and leaves) for its links.`);
    return { channelId: channel.id, links: existing };
  }
  const missing = options.links - existing;
  log(`Seeding ${missing} links into channel ${BENCH_CHANNEL_TELEGRAM_ID}${existing ? ` (it has ${existing})` : ''}...`);
  const result = await seedInviteLinks(db, {
    links: missing,
    channelTelegramId: BENCH_CHANNEL_TELEGRAM_ID,
    channelTitle: BENCH_CHANNEL_TITLE,
  });
  log(
    `Seeded ${result.links} links (${result.linkTags} tag assignments, ${result.memberEvents} member events) in ${(result.ms / 1000).toFixed(1)} s.`,
  );
  return { channelId: result.channelId, links: result.total, seededMs: result.ms };
}

/** A side's rounds as one: all its requests over all its time; its worse round's latencies. */
function combineRounds(rounds: LoadResult[]): LoadResult {
  const requests = rounds.reduce((sum, r) => sum + r.requests, 0);
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
  return {
    requests,
    seconds,
    loopBusyMsPerRequest: rounds.reduce((sum, r) => sum + r.loopBusyMsPerRequest * r.requests, 0) / requests,
    requestsPerSecond: requests / seconds,
    p50Ms: Math.max(...rounds.map((r) => r.p50Ms)),
    p99Ms: Math.max(...rounds.map((r) => r.p99Ms)),
  };
}

async function lookUpFixtures(db: Database): Promise<BenchFixtures> {
  const prisma = db.prisma;
  const type = (name: string) =>
    prisma.tagType.findUniqueOrThrow({ where: { accountId_name: { accountId: SANDBOX_ACCOUNT_ID, name } }, select: { id: true } });
  const [source, region] = await Promise.all([type('Source'), type('Region')]);
  const tags = await prisma.tag.findMany({
    where: { accountId: SANDBOX_ACCOUNT_ID, typeId: source.id, name: { in: ['Telegram Ads', 'Bloggers'] } },
    select: { id: true },
    orderBy: { name: 'asc' },
  });
  if (tags.length !== 2) throw new BenchFailure('the seeded tags "Telegram Ads" and "Bloggers" of type Source are missing');
  return {
    channelTelegramId: BENCH_CHANNEL_TELEGRAM_ID,
    anyOf: { tagTypeId: source.id, tagIds: [tags[0]!.id, tags[1]!.id] },
    withoutTypeId: region.id,
    nameSearch: options.search,
  };
}

const isPage = (value: unknown): value is Page =>
  typeof value === 'object' && value !== null && Array.isArray((value as Page).items) && typeof (value as Page).total === 'number';

/**
 * Both sides must answer alike: for a page, the same total and the same ids in the same order
 * (then every item in full); for anything else, the same `data`. Anything else makes the ratio meaningless.
 */
async function verify(query: BenchQuery, graphqlUrl: string, floorUrl: string, auth: Record<string, string>) {
  const body = requestBody(query);
  const [graphql, floor] = await Promise.all([post(graphqlUrl, body, auth), post(floorUrl, body)]);
  if (graphql.errors?.length || !graphql.data) {
    throw new BenchFailure(`[${query.key}] GraphQL answered with errors: ${JSON.stringify(graphql.errors ?? graphql).slice(0, 800)}`);
  }
  if (floor.errors?.length || !floor.data) {
    throw new BenchFailure(`[${query.key}] the floor answered with errors: ${JSON.stringify(floor.errors ?? floor).slice(0, 800)}`);
  }
  const field = Object.keys(graphql.data)[0]!;
  const g = graphql.data[field];
  const f = floor.data[field];
  if (!isPage(g)) {
    if (!isDeepStrictEqual(g, f)) {
      throw new BenchFailure(
        `[${query.key}] data differs:\n  GraphQL ${JSON.stringify(g).slice(0, 800)}\n  floor   ${JSON.stringify(f).slice(0, 800)}`,
      );
    }
    return { total: undefined };
  }
  if (!isPage(f)) throw new BenchFailure(`[${query.key}] the floor's answer is not a page: ${JSON.stringify(f).slice(0, 800)}`);
  if (g.total !== f.total) throw new BenchFailure(`[${query.key}] total differs: GraphQL ${g.total}, floor ${f.total}`);
  const gIds = g.items.map((item) => item.id);
  const fIds = f.items.map((item) => item.id);
  if (!isDeepStrictEqual(gIds, fIds)) {
    throw new BenchFailure(`[${query.key}] items differ:\n  GraphQL ${gIds.join(',')}\n  floor   ${fIds.join(',')}`);
  }
  const differing = g.items.findIndex((item, i) => !isDeepStrictEqual(item, f.items[i]));
  if (differing >= 0) {
    throw new BenchFailure(
      `[${query.key}] item ${differing} differs:\n  GraphQL ${JSON.stringify(g.items[differing])}\n  floor   ${JSON.stringify(f.items[differing])}`,
    );
  }
  if (g.total === 0 || g.items.length === 0) throw new BenchFailure(`[${query.key}] matched nothing; the line would measure nothing`);
  return { total: g.total };
}

/** SQL statements the GraphQL server runs for one request (authentication included). */
async function statementsPerRequest(query: BenchQuery, probeUrl: string, probeDb: Database, auth: Record<string, string>) {
  const body = requestBody(query);
  await post(probeUrl, body, auth); // warm
  await new Promise((resolve) => setImmediate(resolve));
  const before = probeDb.statementCount;
  await post(probeUrl, body, auth);
  await new Promise((resolve) => setImmediate(resolve));
  return probeDb.statementCount - before;
}

// ------------------------------------------------------------------------------------------------

// The bench's own settings: production-like except that the per-token rate limit is off (0), since
// one token drives thousands of requests a second. No response cache or anything else is added.
const token = generateTokenSecret();
const config = loadConfig({
  ...process.env,
  LOG_LEVEL: 'silent',
  TELEGRAM_BOT_TOKEN: '',
  SANDBOX_TOKEN: token,
  DATA_DIR: options.dataDir,
  RATE_LIMIT_PER_MINUTE: '0',
});
const logger = createLogger('silent');
const databaseKind = config.DATABASE_URL ? ('postgres' as const) : ('pglite' as const);
if (databaseKind === 'pglite') {
  console.warn(
    [
      '',
      '  WARNING: DATABASE_URL is not set, so this runs on the embedded PGlite in ' + path.resolve(options.dataDir) + '.',
      '  PGlite is single-connection WebAssembly in this very process: the numbers are NOT representative',
      '  of a PostgreSQL deployment. Set DATABASE_URL=postgresql://... for real numbers.',
      '',
    ].join('\n'),
  );
}

const closers: (() => Promise<void> | void)[] = [];
async function closeAll() {
  for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => {});
}

let exitCode = 0;
try {
  // The server under load gets an App built as src/app.ts builds it in sandbox mode (Telegram and
  // amoCRM emulators included), so whatever App gains later is there too. A second Database,
  // counting statements, backs a probe server: the same App with that Database spread in.
  let app: App;
  let probeDb: Database;
  let pglite: PGlite | undefined;
  if (databaseKind === 'postgres') {
    const built = await buildApp(config, logger);
    closers.push(() => built.close());
    app = built.app;
    probeDb = await Database.open({ url: config.DATABASE_URL, poolSize: 2, countStatements: true });
    closers.push(() => probeDb.close());
  } else {
    // PGlite is one client in this process, shared by both Databases: buildApp is given the first.
    pglite = await openPglite(options.dataDir);
    const db = await Database.open({ pglite });
    closers.push(() => db.close());
    const applied = await db.migrate();
    if (applied.length) log(`Applied migrations: ${applied.join(', ')}`);
    probeDb = await Database.open({ pglite, countStatements: true });
    // db.close() closes the shared client.
    closers.push(() => probeDb.prisma.$disconnect());
    const built = await buildApp(config, logger, { db });
    closers.push(() => built.close());
    app = built.app;
  }
  const db = app.db;
  const probeApp: App = Object.freeze({ ...app, db: probeDb });
  await ensureSandboxAccount(db, token);
  const auth = { authorization: `Bearer ${token}` };
  const ingestDb = config.DATABASE_URL ? { url: config.DATABASE_URL } : { pglite: pglite! };
  const ingestOptions = { connections: options.connections, profile: options.profile, log };
  const ingest = !options.only || options.only.includes('ingest') ? await measureIngest(app, ingestDb, ingestOptions) : undefined;
  if (ingest && options.only?.every((key) => key === 'ingest')) {
    console.log(JSON.stringify({ ingest }));
    await closeAll();
    process.exit(0);
  }

  const seeded = await seedBenchChannel(db);
  const fixtures = await lookUpFixtures(db);
  const queries = benchQueries(fixtures).filter((query) => !options.only || options.only.includes(query.key));
  if (queries.length === 0)
    throw new BenchFailure(
      `--only ${options.only?.join(',')} names none of: ${benchQueries(fixtures)
        .map((q) => q.key)
        .join(', ')}`,
    );

  const graphql = await startGraphql(app);
  closers.push(graphql.close);
  const probe = await startGraphql(probeApp);
  closers.push(probe.close);
  const floor: Floor = config.DATABASE_URL ? await startPgFloor(config.DATABASE_URL, 10) : await startPgliteFloor(pglite!);
  closers.push(floor.close);

  log('');
  log(`Database: ${databaseKind}; channel ${BENCH_CHANNEL_TELEGRAM_ID} has ${seeded.links} links.`);
  log(
    `GraphQL server: RATE_LIMIT_PER_MINUTE=${config.RATE_LIMIT_PER_MINUTE} (the per-token rate limit is off for the bench), NODE_ENV=${config.NODE_ENV}, no response cache.`,
  );
  const matches: Record<string, number> = {};
  const statements: Record<string, number> = {};
  for (const query of queries) {
    const { total } = await verify(query, graphql.url, floor.url, auth);
    if (total !== undefined) matches[query.key] = total;
    statements[query.key] = await statementsPerRequest(query, probe.url, probeDb, auth);
    const found =
      total === undefined ? 'same data' : `${total} matches (${((100 * total) / seeded.links).toFixed(1)}%), same page and total`;
    log(
      `  ${query.key.padEnd(11)} ${query.description}: ${found} on both sides; ` +
        `${statements[query.key]} SQL statements per GraphQL request`,
    );
  }

  const sides = { graphql: { url: graphql.url, headers: auth }, floor: { url: floor.url, headers: {} } } as const;
  const loadOf = (side: keyof typeof sides, query: BenchQuery) => ({
    url: sides[side].url,
    body: requestBody(query),
    headers: sides[side].headers,
    connections: options.connections,
  });
  // A server reaches its steady state only once its code is optimised and its heap has grown: the
  // GraphQL server after some 5,000 requests (about 15 s here), the floor after a few hundred. Each
  // side first serves every query in turn for the same time, and what it did is printed.
  if (options.serverWarmup > 0) {
    log('');
    log(`Server warm-up: ${options.serverWarmup} s of load on each side, the queries in turn.`);
    const seconds = Math.max(1, options.serverWarmup / queries.length);
    for (const side of ['graphql', 'floor'] as const) {
      const done = [];
      for (const query of queries) {
        const { requestsPerSecond } = await runLoad({ ...loadOf(side, query), duration: seconds });
        done.push(`${query.key} ${requestsPerSecond.toFixed(1)} req/s`);
      }
      log(`  ${side.padEnd(8)} ${done.join(', ')}`);
    }
  }

  log('');
  log(
    `Load: autocannon, ${options.connections} connections; per query, a ${options.warmup} s warm-up of each side, then ` +
      `${options.duration} s per side in rounds of ${options.duration / 2} s ordered GraphQL, floor, floor, GraphQL, so that ` +
      `the machine speeding up or slowing down during a query weighs on both sides alike. p50 and p99 are a side's worse round.`,
  );
  const profiler = options.profile ? new CpuProfiler() : undefined;
  if (profiler) closers.push(() => profiler.close());
  const results: Record<string, { graphql: LoadResult; floor: LoadResult }> = {};
  for (const query of queries) {
    if (options.warmup > 0) {
      for (const side of ['graphql', 'floor'] as const) await runLoad({ ...loadOf(side, query), duration: options.warmup });
    }
    const rounds: Record<keyof typeof sides, LoadResult[]> = { graphql: [], floor: [] };
    for (const side of ['graphql', 'floor', 'floor', 'graphql'] as const) {
      const profiled = profiler && rounds[side].length === 0;
      if (profiled) await profiler.start();
      const round = await runLoad({ ...loadOf(side, query), duration: options.duration / 2 });
      rounds[side].push(round);
      log(
        `    round ${rounds.graphql.length + rounds.floor.length}, ${side}: ${round.requestsPerSecond.toFixed(1)} req/s, p50 ${round.p50Ms} ms, p99 ${round.p99Ms} ms, ` +
          `event loop busy ${round.loopBusyMsPerRequest.toFixed(3)} ms/request`,
      );
      if (profiled) {
        const file = path.resolve('tmp', `bench-${side}-${query.key}.cpuprofile`);
        const summary = await profiler.stop(file);
        log(`  cpu profile of the ${side} server, ${query.key} (its first round): ${path.relative(process.cwd(), file)}\n${summary}`);
      }
    }
    const measured = { graphql: combineRounds(rounds.graphql), floor: combineRounds(rounds.floor) };
    for (const side of ['graphql', 'floor'] as const) {
      const r = measured[side];
      log(
        `  ${query.key.padEnd(11)} ${side.padEnd(8)} ${r.requestsPerSecond.toFixed(1).padStart(8)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms`,
      );
    }
    results[query.key] = measured;
  }

  // ------------------------------------------------------------------------------------------------
  // Report

  const round = (n: number, digits = 1) => Number(n.toFixed(digits));
  const header = ['query', 'side', 'req/s', 'p50 ms', 'p99 ms', 'SQL/req', 'GraphQL/floor'];
  const rows: string[][] = [];
  const ratios: Record<string, number> = {};
  for (const query of queries) {
    const { graphql: g, floor: f } = results[query.key]!;
    ratios[query.key] = round(g.requestsPerSecond / f.requestsPerSecond, 3);
    rows.push([
      query.key,
      'graphql',
      g.requestsPerSecond.toFixed(1),
      String(g.p50Ms),
      String(g.p99Ms),
      String(statements[query.key]),
      ratios[query.key]!.toFixed(3),
    ]);
    rows.push([query.key, 'floor', f.requestsPerSecond.toFixed(1), String(f.p50Ms), String(f.p99Ms), '1', '']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const format = (row: string[]) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  log('');
  log(format(header));
  log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) log(format(row));
  log('');

  const shortLinks = await measureShortLinks(app, token);
  log(
    `amoCRM short links: ${shortLinks.items} contacts in one createShortLinks call -> ${shortLinks.upstreamCalls} upstream calls, ` +
      `${shortLinks.ms} ms (${shortLinks.created} created, ${shortLinks.failures} failures; client limit ${app.config.AMOCRM_RATE_LIMIT_PER_SECOND}/s)`,
  );
  log('');

  const pick = (f: (r: { graphql: LoadResult; floor: LoadResult }) => number) =>
    Object.fromEntries(queries.map((q) => [q.key, round(f(results[q.key]!))]));
  const summary = {
    ratio: Math.min(...Object.values(ratios)),
    ratios,
    graphql: pick((r) => r.graphql.requestsPerSecond),
    floor: pick((r) => r.floor.requestsPerSecond),
    p99GraphqlMs: pick((r) => r.graphql.p99Ms),
    p50GraphqlMs: pick((r) => r.graphql.p50Ms),
    p99FloorMs: pick((r) => r.floor.p99Ms),
    loopBusyMsPerRequest: Object.fromEntries(
      queries.map((q) => [
        q.key,
        {
          graphql: round(results[q.key]!.graphql.loopBusyMsPerRequest, 3),
          floor: round(results[q.key]!.floor.loopBusyMsPerRequest, 3),
        },
      ]),
    ),
    statementsPerRequest: statements,
    matches,
    database: databaseKind,
    links: seeded.links,
    ...(seeded.seededMs !== undefined ? { seedMs: seeded.seededMs } : {}),
    durationSeconds: options.duration,
    warmupSeconds: { server: options.serverWarmup, query: options.warmup },
    connections: options.connections,
    shortLinks,
    ...(ingest ? { ingest } : {}),
  };
  console.log(JSON.stringify(summary));
} catch (error) {
  exitCode = 1;
  if (error instanceof BenchFailure) console.error(`\nBENCHMARK FAILED: ${error.message}`);
  else console.error(error);
} finally {
  await closeAll();
}
// The WASM migration engine leaves a timer running for a while after it is freed.
process.exit(exitCode);
