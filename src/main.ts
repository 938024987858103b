import { ConfigError, isSandbox, loadConfig, type Config } from './config.ts';
import { createLogger } from './logger.ts';
import { buildApp, type RunningApp } from './app.ts';
import { createServer } from './http/server.ts';
import { isLoopbackHost } from './http/loopback.ts';
import { createHttpServer } from './http/node-server.ts';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

const log = createLogger(config.LOG_LEVEL);
let running: RunningApp;
try {
  running = await buildApp(config, log);
} catch (error) {
  // The database cannot be reached or migrated, or its folder is in use: one line, no stack.
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
const edge = createServer(running.app, {
  graphiqlToken: running.sandboxToken,
  sandboxTelegram: running.sandboxToken ? running.telegramEmulator : undefined,
});
const http = createHttpServer(edge, config);

http.on('error', (error) => {
  console.error(`Cannot listen on ${config.HOST}:${config.PORT}: ${error.message}`);
  void running.close().finally(() => process.exit(1));
});

http.listen(config.PORT, config.HOST, () => {
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const url = `http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${port}/graphql`;
  log.info({ port, database: running.app.db.kind, sandbox: isSandbox(config) }, 'listening');
  const lines = [
    '',
    isSandbox(config)
      ? '  inviteql is running in SANDBOX mode: Telegram and amoCRM are emulated in-process (no TELEGRAM_BOT_TOKEN set).'
      : '  inviteql is running.',
    `  GraphiQL:  ${url}`,
    `  Database:  ${running.app.db.kind === 'pglite' ? `embedded PGlite in ${config.DATA_DIR}` : 'PostgreSQL (DATABASE_URL)'}`,
    `  amoCRM:    ${running.app.amocrm ? (isSandbox(config) ? 'emulated' : 'connected') : 'not configured (createShortLinks answers AMOCRM_NOT_CONFIGURED)'}`,
  ];
  if (running.sandboxToken) {
    lines.push(`  Dev token: ${running.sandboxToken}`, `  Header:    Authorization: Bearer ${running.sandboxToken}`);
    if (!isLoopbackHost(config.HOST)) {
      lines.push(
        `  WARNING:   HOST=${config.HOST} is not loopback: anyone who reaches this port on the network can read the dev token from GraphiQL and act as the demo account.`,
      );
    }
  }
  console.log(`${lines.join('\n')}\n`);
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  const forced = setTimeout(() => {
    log.warn('in-flight requests did not finish in time; closing connections');
    http.closeAllConnections();
  }, config.SHUTDOWN_TIMEOUT_MS);
  forced.unref();
  await new Promise<void>((resolve) => {
    http.close(() => resolve());
    http.closeIdleConnections();
  });
  clearTimeout(forced);
  await running.close();
  log.info('stopped');
  process.exit(0);
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
