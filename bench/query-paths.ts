// DATABASE_URL=postgresql://… npx tsx bench/query-paths.ts [--queries 3000] [--rounds 3]
//
// CPU time per statement of the three ways a page's statement can reach PostgreSQL, for the same
// statement (the floor's default page: a 7 KB JSON text per call), 10 in flight:
//   - Prisma's client: `$queryRaw` (the request pipeline, then the driver adapter);
//   - Prisma's driver adapter alone: `Database.queryTextRows`, what the links page uses;
//   - `pg` alone.
// Run the benchmark seed first (npm run bench seeds the channel). The rounds are interleaved so a
// machine that slows down weighs on every path alike.
import { parseArgs } from 'node:util';
import { Database } from '../src/db/database.ts';
import { PREPARED_STATEMENT_MARK } from '../src/db/prepared-statements.ts';
import { Prisma } from '../src/generated/prisma/client.ts';
import { inviteLinksSql } from './floor.ts';
import { BENCH_CHANNEL_TELEGRAM_ID } from './queries.ts';

const { values: argv } = parseArgs({
  options: { queries: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '3' } },
});
const url = process.env.DATABASE_URL;
if (!url) {
  console.error('Set DATABASE_URL to a PostgreSQL database that `npm run bench` has seeded.');
  process.exit(1);
}

const db = await Database.open({ url });
const page = inviteLinksSql({ channelId: BENCH_CHANNEL_TELEGRAM_ID });
const statement = Prisma.sql`${Prisma.raw(PREPARED_STATEMENT_MARK)}\n${page}`;

const paths: Record<string, () => Promise<unknown>> = {
  'Prisma client ($queryRaw)': () => db.prisma.$queryRaw(statement),
  "Prisma's driver adapter": () => db.queryTextRows(statement),
  'pg alone': () => db.pgPool!.query({ name: 'query_paths', text: page.text, values: page.values }),
};

async function measure(run: () => Promise<unknown>, queries: number) {
  let left = queries;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (left-- > 0) await run();
    }),
  );
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000 / queries, perSecond: (queries / (performance.now() - started)) * 1000 };
}

try {
  const queries = Number(argv.queries);
  for (const run of Object.values(paths)) await measure(run, 500); // warm-up
  const results: Record<string, string[]> = Object.fromEntries(Object.keys(paths).map((name) => [name, []]));
  for (let round = 0; round < Number(argv.rounds); round++) {
    for (const [name, run] of Object.entries(paths)) {
      const { cpuMs, perSecond } = await measure(run, queries);
      results[name]!.push(`${cpuMs.toFixed(3)} ms (${Math.round(perSecond)}/s)`);
    }
  }
  console.log(`CPU time of this process per statement, ${queries} statements per round, 10 in flight:`);
  for (const [name, rounds] of Object.entries(results)) console.log(`  ${name.padEnd(32)} ${rounds.join(', ')}`);
} finally {
  await db.close();
}
