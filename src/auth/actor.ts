/** An account acting through one of its API tokens; a partner token acts for that partner only. */
export interface AccountActor {
  readonly kind: 'account';
  readonly accountId: string;
  /** Set for a partner token: it sees and creates only this partner's links. */
  readonly partnerId: string | null;
}

/** Work no request started: an incoming Telegram update, a scheduled job. */
export interface SystemActor {
  readonly kind: 'system';
}

/** Who a service acts for. */
export type Actor = AccountActor | SystemActor;

export const SYSTEM: SystemActor = Object.freeze({ kind: 'system' });

/** The caller of a request: resolved from its bearer token, fixed for the whole request. */
export interface Viewer extends AccountActor {
  readonly tokenId: string;
}
