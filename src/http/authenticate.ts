import type { MiddlewareHandler } from 'hono';
import type { App } from '../app.ts';
import type { Viewer } from '../auth/actor.ts';
import { isDatabaseUnavailable } from '../db/errors.ts';
import { AppError } from '../errors.ts';

/** What a client is told to wait when the database is out during authentication or rate limiting. */
export const DATABASE_RETRY_AFTER_S = 5;

export interface RequestAuthenticator {
  /** The caller behind the request's `Authorization: Bearer` token; UNAUTHENTICATED otherwise. */
  authenticate(request: Request): Promise<Viewer>;
  /** authenticate, then counts the request against the token's rate limit (RATE_LIMITED past it). */
  authenticateAndLimit(request: Request): Promise<Viewer>;
}

/** A database that cannot be reached is ours, and temporary: SERVICE_UNAVAILABLE (HTTP 503, Retry-After). */
function unavailableIfDatabaseIsOut(error: unknown): never {
  if (isDatabaseUnavailable(error)) {
    throw new AppError('SERVICE_UNAVAILABLE', 'The service cannot reach its database; retry shortly', {
      retryAfter: DATABASE_RETRY_AFTER_S,
    });
  }
  throw error;
}

/** One authentication and one rate-limit count per request, whichever route or hook asks first. */
export function createRequestAuthenticator(app: Pick<App, 'tokens' | 'rateLimiter'>): RequestAuthenticator {
  const viewers = new WeakMap<Request, Promise<Viewer>>();
  const limited = new WeakMap<Request, Promise<Viewer>>();
  const authenticate = (request: Request): Promise<Viewer> => {
    let viewer = viewers.get(request);
    if (!viewer) {
      viewer = app.tokens.authenticate(request.headers.get('authorization')).catch(unavailableIfDatabaseIsOut);
      viewers.set(request, viewer);
    }
    return viewer;
  };
  const authenticateAndLimit = (request: Request): Promise<Viewer> => {
    let viewer = limited.get(request);
    if (!viewer) {
      viewer = authenticate(request).then(async (found) => {
        await app.rateLimiter.consume(found.tokenId).catch(unavailableIfDatabaseIsOut);
        return found;
      });
      limited.set(request, viewer);
    }
    return viewer;
  };
  return { authenticate, authenticateAndLimit };
}

/** Hono's variables once `requireViewer` ran. */
export type ViewerEnv = { Variables: { viewer: Viewer } };

/** The one middleware of routes that need a token: authenticates, counts the rate limit, sets `viewer`. */
export const requireViewer =
  (auth: RequestAuthenticator): MiddlewareHandler<ViewerEnv> =>
  async (c, next) => {
    c.set('viewer', await auth.authenticateAndLimit(c.req.raw));
    await next();
  };
