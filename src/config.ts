import { z } from 'zod';
import { TOKEN_PATTERN } from './auth/token-format.ts';

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const integer = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);

const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().default('127.0.0.1'),
    PORT: integer(4000, 0, 65535),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
    DATABASE_POOL_SIZE: integer(10, 1, 500),
    DATABASE_ACQUIRE_TIMEOUT_MS: integer(5000, 100, 120_000),
    /** false: no named (prepared) statements, for PgBouncer in transaction mode before 1.21 or without max_prepared_statements. */
    DATABASE_PREPARED_STATEMENTS: z
      .enum(['true', 'false'])
      .default('true')
      .transform((value) => value === 'true'),
    DATA_DIR: z.string().default('./data'),
    SANDBOX_TOKEN: optionalString.pipe(
      z
        .string()
        .regex(TOKEN_PATTERN, 'must be iql_ followed by 43 base64url characters (an API token; leave it unset for a random one)')
        .optional(),
    ),
    TELEGRAM_BOT_TOKEN: optionalString,
    TELEGRAM_API_ROOT: z.url().default('https://api.telegram.org'),
    TELEGRAM_TIMEOUT_MS: integer(3000, 100, 60_000),
    TELEGRAM_MAX_RETRIES: integer(1, 0, 5),
    /** A Telegram 429 asking to wait up to this many seconds is waited out (outside the per-attempt timeout) and retried; longer: RATE_LIMITED. */
    TELEGRAM_MAX_RETRY_AFTER_S: integer(5, 0, 60),
    /** A create unanswered after TELEGRAM_TIMEOUT_MS fails for the client, but its answer is awaited this long, to revoke the link it made. */
    TELEGRAM_CREATE_ANSWER_WAIT_MS: integer(60_000, 1000, 600_000),
    /** Set: Telegram delivers updates here (setWebhook at start-up); unset: the server long-polls getUpdates. */
    TELEGRAM_WEBHOOK_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    /** How long one getUpdates long poll waits on Telegram's side. */
    TELEGRAM_POLL_TIMEOUT_S: integer(25, 1, 50),
    SHUTDOWN_TIMEOUT_MS: integer(10_000, 0, 120_000),
    /** node:http limits (src/http/node-server.ts): a whole request, its headers, an idle keep-alive connection, open connections. */
    HTTP_REQUEST_TIMEOUT_MS: integer(30_000, 100, 600_000),
    HTTP_HEADERS_TIMEOUT_MS: integer(10_000, 100, 600_000),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(5_000, 100, 600_000),
    HTTP_MAX_CONNECTIONS: integer(1_000, 1, 1_000_000),
    // amoCRM short links (issue 5): AMOCRM_BASE_URL or AMOCRM_SUBDOMAIN, plus AMOCRM_ACCESS_TOKEN (a
    // long-lived token) or OAuth client credentials; amoCrmRules below checks the combinations.
    AMOCRM_BASE_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    AMOCRM_SUBDOMAIN: optionalString.pipe(
      z
        .string()
        .regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, 'must be the subdomain only, e.g. mycompany for https://mycompany.amocrm.ru')
        .optional(),
    ),
    AMOCRM_ACCESS_TOKEN: optionalString,
    AMOCRM_CLIENT_ID: optionalString,
    AMOCRM_CLIENT_SECRET: optionalString,
    AMOCRM_REDIRECT_URI: optionalString.pipe(z.url().optional()),
    AMOCRM_AUTHORIZATION_CODE: optionalString,
    AMOCRM_REFRESH_TOKEN: optionalString,
    AMOCRM_RATE_LIMIT_PER_SECOND: integer(5, 1, 50),
    AMOCRM_MAX_RETRIES: integer(2, 0, 5),
    AMOCRM_RETRY_BACKOFF_MS: integer(250, 0, 10_000),
    AMOCRM_TIMEOUT_MS: integer(10_000, 100, 120_000),
    /** 32 random bytes, base64: encrypts stored secrets (amoCRM OAuth tokens). */
    SECRETS_KEY: optionalString.pipe(
      z
        .string()
        .refine(
          (text) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) && Buffer.from(text, 'base64').length === 32,
          'must be 32 random bytes in base64 (openssl rand -base64 32)',
        )
        .optional(),
    ),
    RATE_LIMIT_PER_MINUTE: integer(600, 0, 1_000_000),
    API_TOKEN_CACHE_TTL_MS: integer(60_000, 0, 3_600_000),
    /** Origins (scheme://host[:port], comma-separated) whose pages may read API responses; none by default. */
    CORS_ORIGINS: z
      .string()
      .default('')
      .transform((list) =>
        list
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean),
      )
      .pipe(
        z.array(
          z
            .url({ protocol: /^https?$/ })
            .refine((origin) => new URL(origin).origin === origin, 'each origin must be scheme://host[:port], without a path'),
        ),
      ),
    MAX_BODY_BYTES: integer(1_000_000, 1_000, 50_000_000),
    GRAPHQL_MAX_DEPTH: integer(10, 2, 100),
    GRAPHQL_MAX_ALIASES: integer(10, 1, 1000),
    GRAPHQL_MAX_TOKENS: integer(2000, 100, 100_000),
    GRAPHQL_MAX_COST: integer(5000, 100, 1_000_000),
  })
  .superRefine(amoCrmRules)
  .superRefine((env, ctx) => {
    // Every process must derive the same webhook secret, or each start locks the others out.
    if (env.TELEGRAM_WEBHOOK_URL !== undefined && env.TELEGRAM_BOT_TOKEN !== undefined && env.SECRETS_KEY === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['SECRETS_KEY'],
        message: 'required with TELEGRAM_WEBHOOK_URL: the webhook secret token is derived from it (openssl rand -base64 32)',
      });
    }
  })
  .superRefine((env, ctx) => {
    // node:http refuses headers a longer deadline than the whole request.
    if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({ code: 'custom', path: ['HTTP_HEADERS_TIMEOUT_MS'], message: 'must not exceed HTTP_REQUEST_TIMEOUT_MS' });
    }
  });

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/** Never echoed in an error message (DATABASE_URL may carry a password). */
const SECRET_VARIABLES = new Set([
  'DATABASE_URL',
  'SANDBOX_TOKEN',
  'TELEGRAM_BOT_TOKEN',
  'SECRETS_KEY',
  'AMOCRM_ACCESS_TOKEN',
  'AMOCRM_CLIENT_SECRET',
  'AMOCRM_AUTHORIZATION_CODE',
  'AMOCRM_REFRESH_TOKEN',
]);

/** Reads the configuration from the environment; a bad value throws one line naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = configSchema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = String(issue.path[0]);
  const shown = SECRET_VARIABLES.has(variable) ? '[redacted]' : JSON.stringify(env[variable] ?? '');
  throw new ConfigError(`Invalid configuration: ${variable}=${shown}: ${issue.message}`);
}

export const isSandbox = (config: Config) => config.TELEGRAM_BOT_TOKEN === undefined;

/** amoCRM settings that only make sense together; each issue names the variable to fix. */
function amoCrmRules(
  env: {
    AMOCRM_BASE_URL?: string;
    AMOCRM_SUBDOMAIN?: string;
    AMOCRM_ACCESS_TOKEN?: string;
    AMOCRM_CLIENT_ID?: string;
    AMOCRM_CLIENT_SECRET?: string;
    AMOCRM_REDIRECT_URI?: string;
    AMOCRM_AUTHORIZATION_CODE?: string;
    AMOCRM_REFRESH_TOKEN?: string;
    SECRETS_KEY?: string;
  },
  ctx: z.RefinementCtx,
) {
  const fail = (variable: string, message: string) => ctx.addIssue({ code: 'custom', path: [variable], message });
  const oauth = ['AMOCRM_CLIENT_ID', 'AMOCRM_CLIENT_SECRET', 'AMOCRM_REDIRECT_URI'] as const;
  const oauthGiven = oauth.filter((variable) => env[variable] !== undefined);
  const anyAuth = env.AMOCRM_ACCESS_TOKEN !== undefined || oauthGiven.length > 0;
  const hasBase = env.AMOCRM_BASE_URL !== undefined || env.AMOCRM_SUBDOMAIN !== undefined;

  if (env.AMOCRM_BASE_URL !== undefined && env.AMOCRM_SUBDOMAIN !== undefined) {
    fail('AMOCRM_SUBDOMAIN', 'set either AMOCRM_BASE_URL or AMOCRM_SUBDOMAIN, not both');
  }
  if (oauthGiven.length > 0 && oauthGiven.length < oauth.length) {
    const missing = oauth.find((variable) => env[variable] === undefined)!;
    fail(
      missing,
      `required with ${oauthGiven.join(', ')}: amoCRM OAuth needs AMOCRM_CLIENT_ID, AMOCRM_CLIENT_SECRET and AMOCRM_REDIRECT_URI`,
    );
  }
  if (env.AMOCRM_ACCESS_TOKEN !== undefined && oauthGiven.length > 0) {
    fail('AMOCRM_CLIENT_ID', 'set either AMOCRM_ACCESS_TOKEN (a long-lived token) or the OAuth client credentials, not both');
  }
  if (anyAuth && !hasBase) {
    fail('AMOCRM_BASE_URL', 'required with amoCRM credentials (or AMOCRM_SUBDOMAIN: https://{subdomain}.amocrm.ru)');
  }
  if (hasBase && !anyAuth) {
    fail('AMOCRM_ACCESS_TOKEN', 'amoCRM needs AMOCRM_ACCESS_TOKEN or AMOCRM_CLIENT_ID, AMOCRM_CLIENT_SECRET and AMOCRM_REDIRECT_URI');
  }
  for (const seed of ['AMOCRM_AUTHORIZATION_CODE', 'AMOCRM_REFRESH_TOKEN'] as const) {
    if (env[seed] !== undefined && oauthGiven.length === 0) fail('AMOCRM_CLIENT_ID', `required with ${seed}`);
  }
  if (oauthGiven.length > 0 && env.SECRETS_KEY === undefined) {
    fail('SECRETS_KEY', 'required when amoCRM OAuth is configured: it encrypts the stored tokens (openssl rand -base64 32)');
  }
}
