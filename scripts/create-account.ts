// npm run account:create -- <name>: a new tenant and its first full API token, printed once.
import { ConfigError, loadConfig } from '../src/config.ts';
import { openMigratedDatabase } from '../src/db/startup.ts';
import { createAccount } from '../src/services/accounts.ts';

const name = process.argv.slice(2).join(' ').trim();
if (!name) {
  console.error('usage: npm run account:create -- <account name>');
  process.exit(1);
}
let db;
try {
  const config = loadConfig();
  ({ db } = await openMigratedDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 1 }));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
const { account, secret } = await createAccount(db, name);
await db.close();
console.log(`account ${account.id} "${account.name}"`);
console.log(`token   ${secret}   (shown once; only its hash is stored)`);
process.exit(0);
