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

/**
 * The partner rule, in one place: a partner token sees only its own partner (and that partner's
 * links); a full token sees the partner it asks for, or every one (null).
 */
export const visiblePartnerId = (actor: AccountActor, requested: string | null = null): string | null => actor.partnerId ?? requested;

/** Links of the actor's account that its partner scope lets it see. */
export const partnerScope = (actor: AccountActor) => {
  const partnerId = visiblePartnerId(actor);
  return { accountId: actor.accountId, ...(partnerId !== null ? { partnerId } : {}) };
};
