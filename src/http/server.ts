import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { App } from '../app.ts';
import { AppError } from '../errors.ts';
import { buildSchema } from '../schema/index.ts';
import { createRequestAuthenticator, type RequestAuthenticator } from './authenticate.ts';
import { createGraphqlServer, type GraphqlServer } from './graphql.ts';
import { readPartnerManifest } from './persisted-operations.ts';
import { sandboxRoutes } from './sandbox-routes.ts';
import type { TelegramEmulator } from '../sandbox/telegram-emulator.ts';
import { TELEGRAM_WEBHOOK_PATH, telegramWebhook } from './telegram-webhook.ts';

export interface ServerOptions {
  /** Pre-filled in GraphiQL's headers (sandbox mode only). */
  graphiqlToken?: string;
  /** Sandbox mode: the emulated Telegram that /sandbox/telegram/* drives (404 without it). */
  sandboxTelegram?: TelegramEmulator;
  /** See GraphqlOptions.statementPages. */
  statementPages?: boolean;
}

export type EdgeEnv = { Variables: { requestId: string } };

/** The HTTP edge: a Node request listener, and the same routes as a Fetch handler (in-process tests). */
export interface InviteqlServer {
  (request: IncomingMessage, response: ServerResponse): void;
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  readonly graphql: GraphqlServer;
  readonly auth: RequestAuthenticator;
}

const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;
const QUIET_PATHS = new Set(['/healthz', '/readyz']);

/** One id per request (the caller's `x-request-id` when sane, else a new one), echoed back; one access log line. */
function requestIdAndAccessLog(app: App): MiddlewareHandler<EdgeEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
    const startedAt = performance.now();
    c.set('requestId', requestId);
    await next();
    c.res.headers.set('x-request-id', requestId);
    if (QUIET_PATHS.has(c.req.path)) return;
    app.log.info(
      { requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - startedAt) },
      'request',
    );
  };
}

/**
 * Bodies are read only when their declared size is within the limit. Node's HTTP parser holds a
 * body to its Content-Length, so the declared size is the size.
 */
function bodySizeLimit(maxBytes: number): MiddlewareHandler<EdgeEnv> {
  const refuse = (status: 400 | 411 | 413, message: string) =>
    Response.json({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }, { status });
  return async (c, next) => {
    if (c.req.method === 'POST') {
      const length = c.req.header('content-length');
      if (length === undefined) return refuse(411, 'A Content-Length header is required');
      if (!/^\d+$/.test(length)) return refuse(400, 'The Content-Length header is not a number');
      if (Number(length) > maxBytes) return refuse(413, `The request body is over ${maxBytes} bytes`);
    }
    await next();
  };
}

/** The edge's own answer for a domain error (REST routes): the code's status, and the error as JSON. */
export function errorResponse(error: AppError): Response {
  return Response.json(
    { error: { message: error.message, ...error.extensions } },
    { status: error.httpStatus, headers: error.httpHeaders },
  );
}

export function createServer(app: App, options: ServerOptions = {}): InviteqlServer {
  const manifest = readPartnerManifest();
  const auth = createRequestAuthenticator(app);
  const graphql = createGraphqlServer(app, {
    schema: buildSchema(app.config),
    manifest,
    auth,
    graphiqlToken: options.graphiqlToken,
    statementPages: options.statementPages,
  });

  const edge = new Hono<EdgeEnv>();
  edge.use(requestIdAndAccessLog(app));
  // Auth is a header, never a cookie: only the listed origins may read responses, without credentials.
  edge.use(cors({ origin: app.config.CORS_ORIGINS, credentials: false, maxAge: 600 }));
  edge.use(bodySizeLimit(app.config.MAX_BODY_BYTES));

  // A browser at the root is sent to GraphiQL.
  edge.get('/', (c) => c.redirect('/graphql', 302));
  edge.get('/healthz', (c) => c.json({ status: 'ok' }));
  edge.get('/readyz', async (c) => {
    try {
      await app.db.ping();
      return c.json({ status: 'ok', database: 'reachable' });
    } catch {
      return c.json({ status: 'unavailable', database: 'unreachable' }, 503);
    }
  });
  // Partners fetch the operations they may run.
  edge.get('/operations/partner.json', (c) => c.json(manifest));
  edge.post(TELEGRAM_WEBHOOK_PATH, telegramWebhook(app));
  if (options.sandboxTelegram) edge.route('/sandbox/telegram', sandboxRoutes(options.sandboxTelegram, auth));
  edge.all('/graphql', (c) => graphql.fetch(c.req.raw, { requestId: c.get('requestId') }));

  edge.notFound(() => new Response(null, { status: 404 }));
  edge.onError((error, c) => {
    if (error instanceof AppError) return errorResponse(error);
    app.log.error({ err: error, requestId: c.get('requestId') }, 'unexpected error');
    return Response.json({ error: { message: 'Unexpected error', code: 'INTERNAL_SERVER_ERROR' } }, { status: 500 });
  });

  // In-process requests are built as yoga builds them (its Fetch API sets Content-Length, as a client would).
  const fetch = (input: string | URL | Request, init?: RequestInit) =>
    Promise.resolve(edge.fetch(typeof input === 'string' || input instanceof URL ? new graphql.fetchAPI.Request(input, init) : input));
  const listener = getRequestListener(edge.fetch, { overrideGlobalObjects: false });
  return Object.assign((request: IncomingMessage, response: ServerResponse) => void listener(request, response), {
    fetch,
    graphql,
    auth,
  });
}
