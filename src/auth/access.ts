import { forbidden } from '../errors.ts';
import type { AccountActor } from './actor.ts';

/** Partner tokens act for one partner only; managing the account needs a full token. */
export function requireFullToken(actor: AccountActor): void {
  if (actor.partnerId !== null) {
    throw forbidden('A partner token cannot do this; use a full API token', { reason: 'PARTNER_TOKEN' });
  }
}

/** Rows of the actor's account. */
export const accountScope = (actor: AccountActor) => ({ accountId: actor.accountId });

/** Rows of the actor's account that its partner scope lets it see: a partner token, its partner's only. */
export const partnerScope = (actor: AccountActor) => ({
  accountId: actor.accountId,
  ...(actor.partnerId !== null ? { partnerId: actor.partnerId } : {}),
});
