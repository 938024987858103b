// npm run seed -- --links N [--channel -1001000000001]
// Adds N realistic invite links to a channel of the demo (sandbox) account in DATABASE_URL, or in the
// embedded database in DATA_DIR (stop the server first: only one process may open a PGlite folder, and a lock in it says so).
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../src/config.ts';
import type { Database } from '../src/db/database.ts';
import { openMigratedDatabase } from '../src/db/startup.ts';
import { seedInviteLinks } from '../src/sandbox/seed-links.ts';
import { DEMO_CHAT_IDS } from '../src/sandbox/demo-data.ts';

const usage = 'usage: npm run seed -- --links N [--channel <telegram chat id, default -1001000000001>]';

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

let values: { links?: string; channel?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: { links: { type: 'string' }, channel: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowNegative: false,
  }));
} catch (error) {
  fail(`${(error as Error).message}\n${usage}`);
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const links = Number(values.links?.replace(/_/g, ''));
if (values.links === undefined || !Number.isSafeInteger(links) || links < 1) fail(`--links must be a positive integer\n${usage}`);
const channelTelegramId = values.channel === undefined ? DEMO_CHAT_IDS.botCanInvite : Number(values.channel);
if (!Number.isSafeInteger(channelTelegramId)) fail(`--channel must be a Telegram chat id such as -1001000000001\n${usage}`);

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}

const where = config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${config.DATA_DIR}`;
let db: Database;
try {
  const opened = await openMigratedDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 2 });
  db = opened.db;
  if (opened.applied.length) console.log(`applied migrations: ${opened.applied.join(', ')}`);
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}
console.log(`Seeding ${links} links into channel ${channelTelegramId} of the demo account, ${where}`);
try {
  const result = await seedInviteLinks(db, {
    links,
    channelTelegramId,
    sandboxToken: config.SANDBOX_TOKEN,
    onProgress: (inserted) => process.stdout.write(`\r  ${inserted} / ${links}`),
  });
  process.stdout.write('\n');
  console.log(
    `Inserted ${result.links} links (${result.linkTags} tag assignments) in ${(result.ms / 1000).toFixed(1)} s; ` +
      `the channel now has ${result.total} links.`,
  );
  console.log('API token: the "Dev token" that npm start prints, or SANDBOX_TOKEN when it is set.');
} catch (error) {
  console.error(error);
  await db.close().catch(() => {});
  process.exit(1);
}
await db.close();
// The WASM migration engine leaves a timer running for a while after it is freed.
process.exit(0);
