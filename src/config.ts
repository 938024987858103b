import { z } from 'zod';

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const integer = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: integer(4000, 0, 65535),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  DATABASE_POOL_SIZE: integer(10, 1, 500),
  DATABASE_ACQUIRE_TIMEOUT_MS: integer(5000, 100, 120_000),
  DATA_DIR: z.string().default('./data'),
  SANDBOX_TOKEN: optionalString,
  TELEGRAM_BOT_TOKEN: optionalString,
  TELEGRAM_API_ROOT: z.url().default('https://api.telegram.org'),
  TELEGRAM_TIMEOUT_MS: integer(3000, 100, 60_000),
  TELEGRAM_MAX_RETRIES: integer(1, 0, 5),
  SHUTDOWN_TIMEOUT_MS: integer(10_000, 0, 120_000),
  RATE_LIMIT_PER_MINUTE: integer(600, 0, 1_000_000),
  MAX_BODY_BYTES: integer(1_000_000, 1_000, 50_000_000),
  GRAPHQL_MAX_DEPTH: integer(10, 2, 100),
  GRAPHQL_MAX_ALIASES: integer(10, 1, 1000),
  GRAPHQL_MAX_TOKENS: integer(2000, 100, 100_000),
  GRAPHQL_MAX_COST: integer(5000, 100, 1_000_000),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

/** Reads the configuration from the environment; a bad value throws one line naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = configSchema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const variable = String(issue.path[0]);
  throw new ConfigError(`Invalid configuration: ${variable}=${JSON.stringify(env[variable] ?? '')}: ${issue.message}`);
}

export const isSandbox = (config: Config) => config.TELEGRAM_BOT_TOKEN === undefined;
