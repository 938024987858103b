import { GraphQLError, type GraphQLSchema } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import {
  defaultExtractPersistedOperationId,
  usePersistedOperations,
  type ExtractPersistedOperationId,
} from '@graphql-yoga/plugin-persisted-operations';
import type { App } from '../app.ts';
import type { Context } from '../schema/context.ts';
import { AppError } from '../errors.ts';
import type { RequestAuthenticator } from './authenticate.ts';
import { contentTypePlugin } from './content-type.ts';
import { errorCodePlugin } from './error-codes.ts';
import { createGraphiQL } from './graphiql.ts';
import { statementPages } from '../schema/statement-pages.ts';

/** What the edge hands yoga with each request. */
export interface EdgeContext {
  requestId: string;
}

export type GraphqlServer = YogaServerInstance<EdgeContext, Context>;

export interface GraphqlOptions {
  schema: GraphQLSchema;
  manifest: Record<string, string>;
  auth: RequestAuthenticator;
  /** Pre-filled in GraphiQL's headers (sandbox mode only). */
  graphiqlToken?: string;
  /** Pages of links answered as the statement shapes them (default); false: always the executor (tests compare the two). */
  statementPages?: boolean;
}

/** Codes whose HTTP status (and Retry-After) a GraphQL response takes; the others answer 200. */
const STATUS_BEARING_CODES = new Set(['UNAUTHENTICATED', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE']);

/** The one place a domain error becomes a GraphQL error. */
function graphqlErrorOf(error: AppError, from: GraphQLError | undefined): GraphQLError {
  const requestLevel = STATUS_BEARING_CODES.has(error.code);
  return new GraphQLError(error.message, {
    nodes: from?.nodes,
    source: from?.source,
    positions: from?.positions,
    path: from?.path,
    extensions: {
      ...error.extensions,
      ...(requestLevel && { http: { status: error.httpStatus, headers: error.httpHeaders } }),
    },
  });
}

/**
 * GraphQL's own refusals of a request (parse, validation, variable coercion, a request body that is
 * not JSON): a GraphQLError made of GraphQLErrors only, not raised by a resolver. The client's doing.
 */
function isRequestGraphqlError(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.path) return false;
  for (let cause: unknown = error.originalError; cause !== undefined && cause !== null; cause = (cause as GraphQLError).originalError) {
    if (!(cause instanceof GraphQLError)) return false;
  }
  return true;
}

const isClientError = (error: unknown) =>
  error instanceof AppError || (error instanceof GraphQLError && error.originalError instanceof AppError) || isRequestGraphqlError(error);

/**
 * A request-level GraphQL error as the client sees it: with a code (variable coercion gets
 * BAD_USER_INPUT), without the error it wraps or the parser's message (extensions.originalError).
 */
function requestErrorOf(error: GraphQLError): GraphQLError {
  const { originalError: _parserMessage, ...extensions } = error.extensions as Record<string, unknown>;
  if (extensions.code === undefined && error.message.startsWith('Variable "$')) extensions.code = 'BAD_USER_INPUT';
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions });
}

/** Logs every error that will be masked, with the request id, before yoga masks it; the client's at debug level. */
const unexpectedErrorLogPlugin: Plugin<Context> = {
  onExecute() {
    return {
      onExecuteDone({ args, result }) {
        if (!('errors' in result) || !result.errors) return;
        for (const error of result.errors) {
          if (isClientError(error)) {
            args.contextValue.deps.log.debug({ err: error }, 'request refused');
            continue;
          }
          args.contextValue.deps.log.error({ err: error.originalError ?? error, path: error.path }, 'unexpected error');
        }
      },
    };
  },
};

/** Pages of links answered as their statement shapes them (src/schema/statement-pages.ts); the executor for the rest. */
function statementPagesPlugin(): Plugin {
  const planFor = statementPages();
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const run = planFor(args);
      if (run) setExecuteFn(async (executionArgs) => (await run(executionArgs)) ?? executeFn(executionArgs));
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

/** graphql-yoga at /graphql: GraphiQL, persisted operations, query limits and error masking. */
export function createGraphqlServer(app: App, options: GraphqlOptions): GraphqlServer {
  const { config, log } = app;
  const production = config.NODE_ENV === 'production';
  const graphiql = createGraphiQL(options.graphiqlToken);
  const { manifest, auth } = options;

  return createYoga<EdgeContext, Context>({
    schema: options.schema,
    graphqlEndpoint: '/graphql',
    maxRequestBodySize: false,
    // No uploads: contentTypePlugin refuses forms before a parser would read one.
    multipart: false,
    landingPage: false,
    // The edge answers CORS.
    cors: false,
    graphiql: graphiql.options,
    renderGraphiQL: graphiql.render,
    maskedErrors: {
      // Domain errors become GraphQL errors with their code; GraphQL's own (parse, validation,
      // variables) pass; anything else is masked.
      maskError: (error, message) => {
        const from = error instanceof GraphQLError ? error : undefined;
        const original = from ? from.originalError : error;
        if (original instanceof AppError) return graphqlErrorOf(original, from);
        if (from && isRequestGraphqlError(from)) return requestErrorOf(from);
        if (from && (!from.originalError || from.originalError instanceof GraphQLError)) return from;
        return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      },
    },
    logging: {
      debug: (...args) => log.debug({ yoga: args }),
      info: (...args) => log.info({ yoga: args }),
      warn: (...args) => log.warn({ yoga: args }),
      // yoga logs here every error it masks outside execution (the context's auth errors, bad bodies).
      error: (...args) => (args.every(isClientError) ? log.debug({ yoga: args }) : log.error({ yoga: args })),
    },
    plugins: [
      contentTypePlugin(),
      // The API authenticates with the Authorization header only: a browser never adds it by itself,
      // and a cross-site request carrying it needs a CORS preflight. Other requests must prove intent.
      useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf', 'authorization'] }),
      usePersistedOperations({
        getPersistedOperation: (id) => manifest[id] ?? null,
        // Partner tokens run only published operations; full tokens run anything.
        allowArbitraryOperations: async (request) => (await auth.authenticateAndLimit(request)).partnerId === null,
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
        maxDepth: { n: config.GRAPHQL_MAX_DEPTH, onReject: [tagLimitError('depth')] },
        maxAliases: { n: config.GRAPHQL_MAX_ALIASES, onReject: [tagLimitError('aliases')] },
        maxTokens: { n: config.GRAPHQL_MAX_TOKENS, onReject: [tagLimitError('tokens')] },
        costLimit: { maxCost: config.GRAPHQL_MAX_COST, onReject: [tagLimitError('cost')] },
        maxDirectives: { n: 20, onReject: [tagLimitError('directives')] },
        blockFieldSuggestion: { enabled: production },
      }),
      unexpectedErrorLogPlugin,
      errorCodePlugin,
      options.statementPages !== false && statementPagesPlugin(),
    ],
    context: async ({ request, requestId }): Promise<Context> => {
      const viewer = await auth.authenticateAndLimit(request);
      // The request's logger is made when something logs: most requests log nothing but the access line.
      let requestLog: typeof log | undefined;
      const deps = {
        ...app,
        get log() {
          return (requestLog ??= log.child({ requestId }));
        },
      };
      return Object.freeze({ requestId, viewer, deps });
    },
  });
}
