import { validationFailed, type FieldError } from '../errors.ts';
import { z } from 'zod';
import { TELEGRAM_LIMITS } from '../telegram-limits.ts';

/** Input rules shared by several fields; each rule lives here once. */
export const requiredName = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

export const positiveInt = z.number().int().positive('must be a positive integer');
export const nonNegativeInt = z.number().int().min(0, 'must be 0 or more');

/** Our ids are UUIDs; anything else cannot name an object, so it is rejected before a query. */
export const uuid = z.string().uuid('is not a valid id');

const {
  linkNameMaxLength,
  memberLimitMin,
  memberLimitMax,
  subscriptionPeriodSeconds,
  subscriptionPriceMinStars,
  subscriptionPriceMaxStars,
} = TELEGRAM_LIMITS;

/** Telegram counts characters, not UTF-16 units. */
export const linkName = z
  .string()
  .refine((name) => name.trim().length > 0, 'must not be empty')
  .refine((name) => [...name].length <= linkNameMaxLength, `must be at most ${linkNameMaxLength} characters`);

const memberLimitRange = `must be between ${memberLimitMin} and ${memberLimitMax}`;
export const memberLimit = z.number().int().min(memberLimitMin, memberLimitRange).max(memberLimitMax, memberLimitRange);
const priceRange = `must be between ${subscriptionPriceMinStars} and ${subscriptionPriceMaxStars} Stars`;
export const subscriptionPrice = z.number().int().min(subscriptionPriceMinStars, priceRange).max(subscriptionPriceMaxStars, priceRange);
export const subscriptionPeriod = z.literal(
  subscriptionPeriodSeconds,
  `must be ${subscriptionPeriodSeconds} (30 days): the only period Telegram accepts`,
);
export const idempotencyKey = z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
export const uuidList = z.array(uuid).max(100, 'at most 100 ids');

/** Zod issues as the contract's field errors, under `prefix` (e.g. ['input']). */
export function fieldErrorsOf(issues: readonly z.core.$ZodIssue[], prefix: readonly string[] = []): FieldError[] {
  return issues.map((issue) => ({ path: [...prefix, ...issue.path.map(String)], message: issue.message }));
}

/** `value` as `schema` reads it; VALIDATION_FAILED naming every field that breaks a rule otherwise. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, prefix: readonly string[] = []): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationFailed(fieldErrorsOf(result.error.issues, prefix));
  return result.data;
}

export const pageArgs = z.object({
  page: z.number().int('must be 1 or more').min(1, 'must be 1 or more'),
  limit: z.number().int('must be between 1 and 100').min(1, 'must be between 1 and 100').max(100, 'must be between 1 and 100'),
});

/** A tag group of a listing filter must name a tag, or ask for links without the type. */
export const tagGroupRules = z
  .array(
    z
      .object({ withoutType: z.boolean().nullish(), tags: z.array(z.string()).readonly().nullish() })
      .refine((group) => group.withoutType || (group.tags ?? []).length > 0, 'needs at least one tag, or withoutType: true'),
  )
  .readonly();

/** Rules Telegram enforces too on a regular link's fields, checked first so a bad request never reaches it. */
export const regularLinkRules = (now: Date) =>
  z
    .object({ expireDate: z.date().nullable(), memberLimit: z.number().nullable(), createsJoinRequest: z.boolean() })
    .superRefine((fields, ctx) => {
      if (fields.expireDate && fields.expireDate.getTime() <= now.getTime()) {
        ctx.addIssue({ code: 'custom', path: ['expireDate'], message: 'must be in the future' });
      }
      if (fields.memberLimit != null && fields.createsJoinRequest) {
        ctx.addIssue({ code: 'custom', path: ['memberLimit'], message: 'cannot be set when createsJoinRequest is true' });
      }
    });

/** Fields of updateInviteLink that may be absent but not null, and what a subscription link may change. */
export const inviteLinkUpdateRules = (kind: 'REGULAR' | 'SUBSCRIPTION') =>
  z
    .object({
      name: z.string({ error: 'cannot be null' }).optional(),
      createsJoinRequest: z.boolean({ error: 'cannot be null' }).optional(),
      budget: z.number({ error: 'cannot be null' }).optional(),
    })
    .passthrough()
    .superRefine((input, ctx) => {
      if (kind !== 'SUBSCRIPTION') return;
      for (const field of ['expireDate', 'memberLimit', 'createsJoinRequest'] as const) {
        if (input[field] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [field], message: 'a subscription link can change only its name, budget and tags' });
        }
      }
    });

export const partnerTitle = z.string().trim().min(1, 'must be 1-255 characters').max(255, 'must be 1-255 characters');

const MAX_URL_LENGTH = 2048;

/** One createShortLinks item: an http(s) target, an amoCRM contact, optionally one of our links. */
export const shortLinkItem = z.object({
  url: z
    .union([z.instanceof(URL), z.string()])
    .transform((value, ctx) => {
      try {
        const url = value instanceof URL ? value : new URL(value);
        if (url.protocol === 'http:' || url.protocol === 'https:') return url;
      } catch {
        // not a URL at all
      }
      ctx.addIssue({ code: 'custom', message: 'must be an http or https URL' });
      return z.NEVER;
    })
    .refine((url) => url.href.length <= MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`),
  entityType: z.literal('CONTACTS', 'must be CONTACTS').nullish(),
  entityId: z.number().refine((id) => Number.isSafeInteger(id) && id > 0, 'must be a positive integer (an amoCRM contact id)'),
  inviteLinkId: uuid.nullish(),
});
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
    else if (/\p{Surrogate}/u.test(value))
      ctx.addIssue({ code: 'custom', path, message: 'must be valid Unicode (it has an unpaired surrogate)' });
  }
});

/** A stats range: either end may be open; from after to is refused (from = to is an empty range). */
export const statsRange = z
  .object({ from: z.date().nullish(), to: z.date().nullish() })
  .refine(({ from, to }) => !from || !to || from.getTime() <= to.getTime(), { path: ['to'], message: 'must not be before from' });

/** Whether the runtime's IANA database knows the zone (case-insensitively, aliases too). */
const isIanaTimeZone = (name: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
};
/**
 * An IANA time zone name such as "Europe/Berlin" or "UTC". Names only: PostgreSQL would also take
 * POSIX specs such as "UTC+3", whose sign is the reverse of what most people mean.
 */
export const timeZoneName = z
  .string()
  .refine(
    (name) => name.length <= 64 && /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(name) && isIanaTimeZone(name),
    'is not a known IANA time zone',
  );
