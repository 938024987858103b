import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import {
  defaultExtractPersistedOperationId,
  usePersistedOperations,
  type ExtractPersistedOperationId,
} from '@graphql-yoga/plugin-persisted-operations';
import type { App, Context, Viewer } from './context.ts';
import { schema } from './schema/index.ts';
import { readPartnerManifest } from './services/persisted-operations.ts';
import { createRequestRateLimiter } from './services/rate-limit.ts';
import { AppError } from './errors.ts';
import { contentTypePlugin } from './http/content-type.ts';
import { errorCodePlugin } from './http/error-codes.ts';
import { createGraphiQL } from './http/graphiql.ts';

export interface ServerOptions {
  /** Pre-filled in GraphiQL's headers (sandbox mode only). */
  graphiqlToken?: string;
}

export type InviteqlServer = YogaServerInstance<Record<string, never>, Context>;

const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;

interface RequestEntry {
  id: string;
  path: string;
  startedAt: number;
}

/** One id per request: the caller's `x-request-id` when sane, else a new one; echoed back. */
function requestIdPlugin(app: App, requestIds: WeakMap<Request, RequestEntry>): Plugin {
  return {
    onRequest({ request, url }) {
      const incoming = request.headers.get('x-request-id');
      requestIds.set(request, {
        id: incoming && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID(),
        path: url.pathname,
        startedAt: performance.now(),
      });
    },
    onResponse({ request, response }) {
      const entry = requestIds.get(request);
      if (!entry) return;
      response.headers.set('x-request-id', entry.id);
      if (entry.path === '/healthz' || entry.path === '/readyz') return;
      app.log.info(
        { requestId: entry.id, method: request.method, path: entry.path, status: response.status, ms: Math.round(performance.now() - entry.startedAt) },
        'request',
      );
    },
  };
}

/** Partners fetch the operations they may run. */
function partnerManifestPlugin(manifest: Record<string, string>): Plugin {
  return {
    onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname === '/operations/partner.json') endResponse(fetchAPI.Response.json(manifest));
    },
  };
}

/** `/` sends a browser to GraphiQL. */
const rootRedirectPlugin: Plugin = {
  onRequest({ url, endResponse, fetchAPI }) {
    if (url.pathname === '/') endResponse(new fetchAPI.Response(null, { status: 302, headers: { location: '/graphql' } }));
  },
};

function healthPlugin(app: App): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname === '/healthz') {
        endResponse(fetchAPI.Response.json({ status: 'ok' }));
      } else if (url.pathname === '/readyz') {
        try {
          await app.db.ping();
          endResponse(fetchAPI.Response.json({ status: 'ok', database: 'reachable' }));
        } catch {
          endResponse(fetchAPI.Response.json({ status: 'unavailable', database: 'unreachable' }, { status: 503 }));
        }
      }
    },
  };
}

/** Logs every error that will be masked, with the request id, before yoga masks it. */
const unexpectedErrorLogPlugin: Plugin<Context> = {
  onExecute() {
    return {
      onExecuteDone({ args, result }) {
        if (!('errors' in result) || !result.errors) return;
        for (const error of result.errors) {
          if (error instanceof AppError || error.originalError instanceof AppError) continue;
          if (error.originalError === undefined && !error.path) continue;
          args.contextValue.log.error({ err: error.originalError ?? error, path: error.path }, 'unexpected error');
        }
      },
    };
  },
};

/**
 * Bodies are read only when their declared size is within the limit. Node's HTTP parser holds a
 * body to its Content-Length, so the declared size is the size; yoga's own limit, which streams
 * every body through a counter, is off (maxRequestBodySize: false).
 */
function bodySizePlugin(maxBytes: number): Plugin {
  const refuse = (fetchAPI: { Response: typeof Response }, status: number, message: string) =>
    fetchAPI.Response.json({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] }, { status });
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (request.method !== 'POST') return;
      const length = request.headers.get('content-length');
      if (length === null) endResponse(refuse(fetchAPI, 411, 'A Content-Length header is required'));
      else if (!/^\d+$/.test(length)) endResponse(refuse(fetchAPI, 400, 'The Content-Length header is not a number'));
      else if (Number(length) > maxBytes) endResponse(refuse(fetchAPI, 413, `The request body is over ${maxBytes} bytes`));
    },
  };
}

/** GraphQL-over-HTTP `documentId` ("sha256:<hex>"), or Apollo's persistedQuery.sha256Hash. */
const persistedOperationId: ExtractPersistedOperationId = (params, request, context) => {
  const documentId = (params as { documentId?: unknown }).documentId ?? new URL(request.url).searchParams.get('documentId');
  if (typeof documentId === 'string') return documentId;
  const apolloHash = defaultExtractPersistedOperationId(params, request, context);
  return apolloHash ? `sha256:${apolloHash}` : null;
};

/** graphql-armor's rejections get a stable code, the limit's name and a 400. */
const tagLimitError =
  (limit: string) =>
  (_context: unknown, error: GraphQLError): void => {
    Object.assign(error.extensions, { code: 'QUERY_LIMIT_EXCEEDED', limit, http: { status: 400 } });
  };

const badRequestError = (message: string, code: string) => ({ message, extensions: { code, http: { status: 400 } } });

export function createServer(app: App, options: ServerOptions = {}): InviteqlServer {
  const requestIds = new WeakMap<Request, RequestEntry>();
  const rateLimiter = createRequestRateLimiter(app.db, app.config.RATE_LIMIT_PER_MINUTE);
  const manifest = readPartnerManifest();
  // Authentication and the rate limit run once per request, whichever hook asks first.
  const viewers = new WeakMap<Request, Promise<Viewer>>();
  const viewerOf = (request: Request): Promise<Viewer> => {
    let viewer = viewers.get(request);
    if (!viewer) {
      viewer = app.tokens.authenticate(request.headers.get('authorization')).then(async (found) => {
        await rateLimiter.consume(found.tokenId);
        return found;
      });
      viewers.set(request, viewer);
    }
    return viewer;
  };
  const production = app.config.NODE_ENV === 'production';
  const graphiql = createGraphiQL(options.graphiqlToken);

  return createYoga<Record<string, never>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    maxRequestBodySize: false,
    landingPage: false,
    graphiql: graphiql.options,
    renderGraphiQL: graphiql.render,
    maskedErrors: {
      // Our own errors and GraphQL's (parse, validation, variables) pass; anything else is masked.
      maskError: (error, message) => {
        if (error instanceof GraphQLError && (!error.originalError || error.originalError instanceof GraphQLError)) {
          return error;
        }
        return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      },
    },
    logging: {
      debug: (...args) => app.log.debug({ yoga: args }),
      info: (...args) => app.log.info({ yoga: args }),
      warn: (...args) => app.log.warn({ yoga: args }),
      error: (...args) => app.log.error({ yoga: args }),
    },
    plugins: [
      requestIdPlugin(app, requestIds),
      rootRedirectPlugin,
      healthPlugin(app),
      partnerManifestPlugin(manifest),
      bodySizePlugin(app.config.MAX_BODY_BYTES),
      contentTypePlugin('/graphql'),
      // The API authenticates with the Authorization header only: a browser never adds it by itself,
      // and a cross-site request carrying it needs a CORS preflight. Other requests must prove intent.
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'authorization'] }),
      usePersistedOperations({
        getPersistedOperation: (id) => manifest[id] ?? null,
        // Partner tokens run only published operations; full tokens run anything.
        allowArbitraryOperations: async (request) => (await viewerOf(request)).partnerId === null,
        extractPersistedOperationId: persistedOperationId,
        customErrors: {
          notFound: badRequestError('Unknown persisted operation id', 'PERSISTED_QUERY_NOT_IN_LIST'),
          keyNotFound: badRequestError('Send a query or a persisted operation id (documentId)', 'PERSISTED_QUERY_ID_REQUIRED'),
          persistedQueryOnly: badRequestError(
            'This token may run persisted operations only: send documentId, not a query (GET /operations/partner.json)',
            'PERSISTED_QUERY_ONLY',
          ),
        },
      }),
      EnvelopArmorPlugin({
        maxDepth: { n: app.config.GRAPHQL_MAX_DEPTH, onReject: [tagLimitError('depth')] },
        maxAliases: { n: app.config.GRAPHQL_MAX_ALIASES, onReject: [tagLimitError('aliases')] },
        maxTokens: { n: app.config.GRAPHQL_MAX_TOKENS, onReject: [tagLimitError('tokens')] },
        costLimit: { maxCost: app.config.GRAPHQL_MAX_COST, onReject: [tagLimitError('cost')] },
        maxDirectives: { n: 20, onReject: [tagLimitError('directives')] },
        blockFieldSuggestion: { enabled: production },
      }),
      unexpectedErrorLogPlugin,
      errorCodePlugin,
    ],
    context: async ({ request }): Promise<Context> => {
      const requestId = requestIds.get(request)?.id ?? randomUUID();
      const viewer = await viewerOf(request);
      return Object.freeze({ requestId, viewer, app, log: app.log.child({ requestId }) });
    },
  });
}
