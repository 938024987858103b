import { z } from 'zod';

/** Input rules shared by several fields; each rule lives here once. */
export const requiredName = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

export const positiveInt = z.number().int().positive('must be a positive integer');
export const nonNegativeInt = z.number().int().min(0, 'must be 0 or more');

/** Our ids are UUIDs; anything else cannot name an object, so it is rejected before a query. */
export const uuid = z.string().uuid('is not a valid id');

/** Telegram counts characters, not UTF-16 units. */
export const linkName = z
  .string()
  .refine((name) => name.trim().length > 0, 'must not be empty')
  .refine((name) => [...name].length <= 32, 'must be at most 32 characters');

export const memberLimit = z.number().int().min(1, 'must be between 1 and 99999').max(99999, 'must be between 1 and 99999');
export const subscriptionPrice = z.number().int().min(1, 'must be between 1 and 10000 Stars').max(10000, 'must be between 1 and 10000 Stars');
export const subscriptionPeriod = z.literal(2592000, 'must be 2592000 (30 days): the only period Telegram accepts');
export const idempotencyKey = z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
export const uuidList = z.array(uuid).max(100, 'at most 100 ids');

/**
 * Text PostgreSQL can store as sent: its text type cannot hold NUL (the insert fails), and an
 * unpaired UTF-16 surrogate has no UTF-8 form (pg would store U+FFFD instead, so two different
 * inputs, e.g. idempotency keys, would become equal). Checks a string or a list of them; the
 * storableText plugin applies it to every String and ID input, before the field's own rule.
 */
export const storableText = z.unknown().superRefine(function check(value, ctx, path: PropertyKey[] = []) {
  if (Array.isArray(value)) {
    value.forEach((item, index) => check(item, ctx, [...path, index]));
  } else if (typeof value === 'string') {
    if (value.includes('\u0000')) ctx.addIssue({ code: 'custom', path, message: 'must not contain the NUL character (U+0000)' });
    else if (/\p{Surrogate}/u.test(value)) ctx.addIssue({ code: 'custom', path, message: 'must be valid Unicode (it has an unpaired surrogate)' });
  }
});
