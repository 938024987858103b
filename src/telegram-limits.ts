/**
 * Telegram's limits on invite links, in one place: input validation, services, the seed and the
 * emulator all read them here.
 */
export const TELEGRAM_LIMITS = {
  /** Unicode code points; Telegram trims a longer name and cuts it to this length. */
  linkNameMaxLength: 32,
  memberLimitMin: 1,
  memberLimitMax: 99_999,
  /** The only subscription period Telegram accepts: 30 days. */
  subscriptionPeriodSeconds: 2_592_000,
  subscriptionPriceMinStars: 1,
  subscriptionPriceMaxStars: 10_000,
} as const;
