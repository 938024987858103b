import type { App } from '../app.ts';
import type { Viewer } from '../auth/actor.ts';

export interface RequestAuthenticator {
  /** The caller behind the request's `Authorization: Bearer` token; UNAUTHENTICATED otherwise. */
  authenticate(request: Request): Promise<Viewer>;
  /** authenticate, then counts the request against the token's rate limit (RATE_LIMITED past it). */
  authenticateAndLimit(request: Request): Promise<Viewer>;
}

/** One authentication and one rate-limit count per request, whichever route or hook asks first. */
export function createRequestAuthenticator(app: Pick<App, 'tokens' | 'rateLimiter'>): RequestAuthenticator {
  const viewers = new WeakMap<Request, Promise<Viewer>>();
  const limited = new WeakMap<Request, Promise<Viewer>>();
  const authenticate = (request: Request): Promise<Viewer> => {
    let viewer = viewers.get(request);
    if (!viewer) {
      viewer = app.tokens.authenticate(request.headers.get('authorization'));
      viewers.set(request, viewer);
    }
    return viewer;
  };
  const authenticateAndLimit = (request: Request): Promise<Viewer> => {
    let viewer = limited.get(request);
    if (!viewer) {
      viewer = authenticate(request).then(async (found) => {
        await app.rateLimiter.consume(found.tokenId);
        return found;
      });
      limited.set(request, viewer);
    }
    return viewer;
  };
  return { authenticate, authenticateAndLimit };
}
