import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import cors from 'cors';
import { Hono } from 'hono';
import type { App } from '../app.ts';
import { AppError } from '../errors.ts';
import { buildSchema } from '../schema/index.ts';
import { createRequestAuthenticator, type RequestAuthenticator } from './authenticate.ts';
import { createGraphqlServer, type GraphqlServer } from './graphql.ts';
import { fetchThrough } from './in-process.ts';
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

/** Hono's env: @hono/node-server's IncomingMessage and ServerResponse. */
export type EdgeEnv = { Bindings: HttpBindings };

/** The HTTP edge: a Node request listener, and the same listener as a Fetch handler (in-process tests). */
export interface InviteqlServer {
  (request: IncomingMessage, response: ServerResponse): void;
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  readonly graphql: GraphqlServer;
  readonly auth: RequestAuthenticator;
}

const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;
const QUIET_PATHS = new Set(['/healthz', '/readyz']);
const requestIds = new WeakMap<IncomingMessage, string>();

/** The id the edge gave a request. */
const requestIdOf = (request: IncomingMessage): string => requestIds.get(request) ?? 'unknown';

/** One id per request (the caller's `x-request-id` when sane, else a new one), echoed back; one access log line when it ends. */
function requestIdAndAccessLog(app: App, request: IncomingMessage, response: ServerResponse, path: string): string {
  const given = request.headers['x-request-id'];
  const requestId = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  const startedAt = performance.now();
  requestIds.set(request, requestId);
  response.setHeader('x-request-id', requestId);
  if (!QUIET_PATHS.has(path)) {
    response.once('close', () =>
      app.log.info(
        { requestId, method: request.method, path, status: response.statusCode, ms: Math.round(performance.now() - startedAt) },
        'request',
      ),
    );
  }
  return requestId;
}

/**
 * Bodies are read only when their declared size is within the limit. Node's HTTP parser holds a
 * body to its Content-Length, so the declared size is the size. Answers the refusal, or returns false.
 */
function refusedForSize(request: IncomingMessage, response: ServerResponse, maxBytes: number): boolean {
  if (request.method !== 'POST') return false;
  const refuse = (status: 400 | 411 | 413, message: string) => {
    const body = JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] });
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    return true;
  };
  const length = request.headers['content-length'];
  if (length === undefined) return refuse(411, 'A Content-Length header is required');
  if (!/^\d+$/.test(length)) return refuse(400, 'The Content-Length header is not a number');
  if (Number(length) > maxBytes) return refuse(413, `The request body is over ${maxBytes} bytes`);
  return false;
}

/**
 * CORS (the cors package). Auth is a header, never a cookie: only the listed origins may read
 * responses, without credentials. A preflight's allowed headers echo the requested ones.
 */
function corsPolicy(origins: string[]) {
  const policy = { origin: origins, credentials: false, maxAge: 600, methods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'QUERY'] };
  const middleware = cors<IncomingMessage>((request, done) => {
    const requested = request.headers['access-control-request-headers'];
    done(null, { ...policy, allowedHeaders: requested ? requested.split(',').map((name) => name.trim()) : [] });
  });
  return (request: IncomingMessage, response: ServerResponse, next: () => void) => {
    // The echo varies with the request's header (cors adds this itself only when it echoes it raw).
    if (request.method === 'OPTIONS' && request.headers['access-control-request-headers']) {
      response.setHeader('vary', 'Access-Control-Request-Headers');
    }
    middleware(request, response, next);
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
  edge.notFound(() => new Response(null, { status: 404 }));
  edge.onError((error, c) => {
    if (error instanceof AppError) return errorResponse(error);
    app.log.error({ err: error, requestId: requestIdOf(c.env.incoming) }, 'unexpected error');
    return Response.json({ error: { message: 'Unexpected error', code: 'INTERNAL_SERVER_ERROR' } }, { status: 500 });
  });
  const routes = getRequestListener(edge.fetch, { overrideGlobalObjects: false });

  // The edge, once for every route: request id and access log, CORS, body limit; then yoga's own
  // Node listener at /graphql (@whatwg-node/server's fast path), Hono for the rest.
  const withCors = corsPolicy(app.config.CORS_ORIGINS);
  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    const url = request.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const requestId = requestIdAndAccessLog(app, request, response, path);
    withCors(request, response, () => {
      if (refusedForSize(request, response, app.config.MAX_BODY_BYTES)) return;
      const served = path === '/graphql' ? graphql(request, response, { requestId }) : routes(request, response);
      Promise.resolve(served).catch((error: unknown) => {
        app.log.error({ err: error, requestId }, 'unexpected error');
        if (!response.headersSent) response.writeHead(500).end();
        else response.destroy();
      });
    });
  };
  return Object.assign(listener, { fetch: fetchThrough(listener), graphql, auth });
}
