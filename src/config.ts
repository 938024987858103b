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
