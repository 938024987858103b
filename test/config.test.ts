import { describe, expect, it } from 'vitest';
import { ConfigError, isSandbox, loadConfig } from '../src/config.ts';

describe('loadConfig', () => {
  it('has working defaults for an empty environment (sandbox on embedded PGlite)', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 4000, DATA_DIR: './data', DATABASE_POOL_SIZE: 10, API_TOKEN_CACHE_TTL_MS: 60_000 });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(isSandbox(config)).toBe(true);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_POOL_SIZE', '0'],
    ['LOG_LEVEL', 'loud'],
    ['TELEGRAM_API_ROOT', 'not a url'],
    ['API_TOKEN_CACHE_TTL_MS', '-1'],
  ])('names %s in a one-line error for %j', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`^Invalid configuration: ${variable}=`));
  });

  it('refuses a SANDBOX_TOKEN that is not iql_ and 43 characters, without echoing it', () => {
    for (const token of ['iql_wrongwrongwrong', 'sandbox', `iql_${'a'.repeat(42)}!`]) {
      expect(() => loadConfig({ SANDBOX_TOKEN: token })).toThrow(ConfigError);
      expect(() => loadConfig({ SANDBOX_TOKEN: token })).toThrow(
        /^Invalid configuration: SANDBOX_TOKEN=\[redacted\]: must be iql_ followed by 43 /,
      );
    }
    const token = `iql_${'A1_-'.repeat(10)}abc`;
    expect(loadConfig({ SANDBOX_TOKEN: token }).SANDBOX_TOKEN).toBe(token);
  });

  it('takes a webhook URL, and needs SECRETS_KEY with it outside sandbox mode (the secret token derives from it)', () => {
    expect(() => loadConfig({ TELEGRAM_WEBHOOK_URL: 'not a url' })).toThrow(/^Invalid configuration: TELEGRAM_WEBHOOK_URL=/);
    const real = { TELEGRAM_BOT_TOKEN: '123:abc', TELEGRAM_WEBHOOK_URL: 'https://bot.example:8443/telegram/webhook' };
    expect(() => loadConfig(real)).toThrow(/^Invalid configuration: SECRETS_KEY=\[redacted\]: required with TELEGRAM_WEBHOOK_URL/);
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ ...real, SECRETS_KEY: key }).TELEGRAM_WEBHOOK_URL).toBe(real.TELEGRAM_WEBHOOK_URL);
    expect(loadConfig({ TELEGRAM_WEBHOOK_URL: 'http://127.0.0.1:4000/telegram/webhook' }).TELEGRAM_WEBHOOK_URL).toBeDefined();
    expect(loadConfig({}).TELEGRAM_POLL_TIMEOUT_S).toBe(25);
  });

  it('turns the API token cache off with API_TOKEN_CACHE_TTL_MS=0', () => {
    expect(loadConfig({ API_TOKEN_CACHE_TTL_MS: '0' }).API_TOKEN_CACHE_TTL_MS).toBe(0);
  });

  it('never echoes a secret in the error', () => {
    expect(() => loadConfig({ SECRETS_KEY: 'hunter2-short' })).toThrow(/^Invalid configuration: SECRETS_KEY=\[redacted\]: /);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:pw@db/x' })).not.toThrow(/pw/);
  });

  it('reads a real deployment', () => {
    const config = loadConfig({ DATABASE_URL: 'postgresql://u@db:5432/app', TELEGRAM_BOT_TOKEN: '123:abc', PORT: '8080' });
    expect(config.PORT).toBe(8080);
    expect(isSandbox(config)).toBe(false);
  });
});
