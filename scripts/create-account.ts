// npm run account:create -- <name>: a new tenant and its first full API token, printed once.
import { loadConfig } from '../src/config.ts';
import { Database } from '../src/db/database.ts';
import { exitIfDataDirInUse } from '../src/db/data-dir-lock.ts';
import { createAccount } from '../src/services/accounts.ts';

const name = process.argv.slice(2).join(' ').trim();
if (!name) {
  console.error('usage: npm run account:create -- <account name>');
  process.exit(1);
}
const config = loadConfig();
const db = await Database.open({ url: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 1 }).catch(exitIfDataDirInUse);
await db.migrate();
const { account, secret } = await createAccount(db, name);
await db.close();
console.log(`account ${account.id} "${account.name}"`);
console.log(`token   ${secret}   (shown once; only its hash is stored)`);
process.exit(0);
