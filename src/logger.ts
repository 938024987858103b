import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** The one logger. Anything that looks like a secret is redacted before it is written. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers.authorization',
          '*.headers.authorization',
          'token',
          '*.token',
          'botToken',
          '*.botToken',
          'accessToken',
          '*.accessToken',
          'refreshToken',
          '*.refreshToken',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
