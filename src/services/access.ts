import type { Context } from '../context.ts';
import { forbidden } from '../errors.ts';

/** Partner tokens act for one partner only; managing the account needs a full token. */
export function requireFullToken(ctx: Context): void {
  if (ctx.viewer.partnerId !== null) {
    throw forbidden('A partner token cannot do this; use a full API token', { reason: 'PARTNER_TOKEN' });
  }
}

export const accountScope = (ctx: Context) => ({ accountId: ctx.viewer.accountId });
