import type { Viewer } from '../auth/actor.ts';
import type { ServiceDeps } from '../services/deps.ts';

/** A GraphQL request's context: who is calling, and the services' dependencies for this request. */
export interface Context {
  readonly requestId: string;
  readonly viewer: Viewer;
  /** The App's parts, with a logger that carries the request id. */
  readonly deps: ServiceDeps;
}
