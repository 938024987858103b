import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { App, Context } from './context.ts';
import { schema } from './schema/index.ts';
import { authenticate } from './services/api-tokens.ts';
import { AppError } from './errors.ts';

export interface ServerOptions {
  /** Pre-filled in GraphiQL's headers (sandbox mode only). */
  graphiqlToken?: string;
}

export type InviteqlServer = YogaServerInstance<Record<string, never>, Context>;

const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;

/** One id per request: the caller's `x-request-id` when sane, else a new one; echoed back. */
function requestIdPlugin(app: App, requestIds: WeakMap<Request, { id: string; startedAt: number }>): Plugin {
  return {
    onRequest({ request }) {
      const incoming = request.headers.get('x-request-id');
      requestIds.set(request, {
        id: incoming && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID(),
        startedAt: performance.now(),
      });
    },
    onResponse({ request, response }) {
      const entry = requestIds.get(request);
      if (!entry) return;
      response.headers.set('x-request-id', entry.id);
      const url = new URL(request.url);
      if (url.pathname === '/healthz' || url.pathname === '/readyz') return;
      app.log.info(
        { requestId: entry.id, method: request.method, path: url.pathname, status: response.status, ms: Math.round(performance.now() - entry.startedAt) },
        'request',
      );
    },
  };
}

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

export function createServer(app: App, options: ServerOptions = {}): InviteqlServer {
  const requestIds = new WeakMap<Request, { id: string; startedAt: number }>();
  return createYoga<Record<string, never>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: {
      title: 'inviteql',
      headers: options.graphiqlToken ? JSON.stringify({ Authorization: `Bearer ${options.graphiqlToken}` }) : undefined,
    },
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
    plugins: [requestIdPlugin(app, requestIds), healthPlugin(app), unexpectedErrorLogPlugin],
    context: async ({ request }): Promise<Context> => {
      const requestId = requestIds.get(request)?.id ?? randomUUID();
      const viewer = await authenticate(app.db, request.headers.get('authorization'));
      return Object.freeze({ requestId, viewer, app, log: app.log.child({ requestId }) });
    },
  });
}
