import { createServer, type RequestListener, type Server } from 'node:http';
import type { Config } from '../config.ts';

export type HttpServerLimits = Pick<
  Config,
  'HTTP_REQUEST_TIMEOUT_MS' | 'HTTP_HEADERS_TIMEOUT_MS' | 'HTTP_KEEP_ALIVE_TIMEOUT_MS' | 'HTTP_MAX_CONNECTIONS'
>;

/**
 * The node:http server with the configured limits: a slow client cannot hold a connection open
 * (headers and whole request each have a deadline, idle keep-alive connections close), and past
 * HTTP_MAX_CONNECTIONS new connections are dropped.
 */
export function createHttpServer(listener: RequestListener, limits: HttpServerLimits): Server {
  const server = createServer(
    {
      requestTimeout: limits.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeout: limits.HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeout: limits.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      // Node checks the two deadlines above on this interval (default 30 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.HTTP_HEADERS_TIMEOUT_MS / 4))),
    },
    listener,
  );
  server.maxConnections = limits.HTTP_MAX_CONNECTIONS;
  return server;
}
