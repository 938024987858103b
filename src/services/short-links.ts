import DataLoader from 'dataloader';
// uuid's v7 is monotonic within a process: rows made for one call sort in input order.
import { v7 as monotonicUuidV7 } from 'uuid';
import type { Prisma } from '../generated/prisma/client.ts';
import type { AccountActor } from '../auth/actor.ts';
import type { ServiceDeps } from './deps.ts';
import { AMOCRM_SHORT_LINKS_PER_REQUEST, type AmoShortLinkResult } from '../adapters/amocrm/index.ts';
import { AppError, notFound, upstreamError, validationFailed } from '../errors.ts';
import { z } from 'zod';
import { fieldErrorsOf, shortLinkItem } from './input-rules.ts';
import { requireFullToken } from '../auth/access.ts';

export const MAX_SHORT_LINKS_PER_CALL = 1000;

type ShortLinkQuery = { select?: Prisma.ShortLinkSelect; include?: Prisma.ShortLinkInclude };

export interface ShortLinkInput {
  url: URL | string;
  entityType?: 'CONTACTS' | null;
  entityId: number;
  inviteLinkId?: string | null;
}

/** One item, validated: a DataLoader key. */
interface ShortLinkKey {
  url: string;
  entityId: number;
  inviteLinkId: string | null;
}

/** Per item: the stored row's id, or why it failed; `batch` when its whole amoCRM request failed. */
type ItemOutcome = { ok: true; id: string } | { ok: false; error: AppError; scope: 'item' | 'batch' };

export interface ShortLinkFailure {
  index: number;
  code: string;
  message: string;
}

export interface ShortLinksOutcome {
  /** Row ids in input order; null where the item failed. */
  ids: (string | null)[];
  failures: ShortLinkFailure[];
}

// ---------------------------------------------------------------------------------------------
// Batching: one DataLoader per operation, created with it. It coalesces every item enqueued in the
// same tick into amoCRM requests of at most 250, in order.
// ---------------------------------------------------------------------------------------------

function shortLinkLoader(actor: AccountActor, deps: ServiceDeps): DataLoader<ShortLinkKey, ItemOutcome> {
  return new DataLoader((keys) => createBatch(actor, deps, keys), {
    maxBatchSize: AMOCRM_SHORT_LINKS_PER_REQUEST,
    // Each item is its own link, even with the same url and contact.
    cache: false,
  });
}

/** One amoCRM request; the links it made are stored at once, so a later failing batch loses nothing. */
async function createBatch(actor: AccountActor, deps: ServiceDeps, keys: readonly ShortLinkKey[]): Promise<ItemOutcome[]> {
  let results: AmoShortLinkResult[];
  try {
    results = await requireAmoCrm(deps).createShortLinks(
      keys.map((key) => ({ url: key.url, entityType: 'contacts', entityId: key.entityId })),
    );
  } catch (error) {
    if (!(error instanceof AppError)) deps.log.error({ err: error }, 'amoCRM adapter failed');
    const mapped = error instanceof AppError ? error : upstreamError('amoCRM call failed');
    return keys.map(() => ({ ok: false, error: mapped, scope: 'batch' }));
  }
  const rows: Prisma.ShortLinkCreateManyInput[] = [];
  const outcomes = keys.map((key, index): ItemOutcome => {
    const result = results[index]!;
    if (!result.ok) return { ok: false, error: result.error, scope: 'item' };
    const id = monotonicUuidV7();
    rows.push({
      id,
      accountId: actor.accountId,
      inviteLinkId: key.inviteLinkId,
      url: result.url,
      targetUrl: key.url,
      amoAccountId: result.accountId,
      entityType: 'CONTACTS',
      entityId: key.entityId,
    });
    return { ok: true, id };
  });
  if (rows.length > 0) {
    try {
      await deps.db.prisma.shortLink.createMany({ data: rows });
    } catch (error) {
      deps.log.error({ err: error, created: rows.length }, 'amoCRM made short links that could not be stored');
      throw error;
    }
  }
  return outcomes;
}

const requireAmoCrm = (deps: ServiceDeps) => {
  const gateway = deps.amocrm;
  if (!gateway) throw upstreamError('amoCRM short links are not configured on this server', { reason: 'AMOCRM_NOT_CONFIGURED' });
  return gateway;
};

// ---------------------------------------------------------------------------------------------
// Validation: the whole call fails before any upstream request.
// ---------------------------------------------------------------------------------------------

export async function validateShortLinkInput(
  actor: AccountActor,
  deps: ServiceDeps,
  input: readonly ShortLinkInput[],
): Promise<ShortLinkKey[]> {
  if (input.length > MAX_SHORT_LINKS_PER_CALL) {
    throw validationFailed([
      { path: ['input'], message: `at most ${MAX_SHORT_LINKS_PER_CALL} items per call (got ${input.length}); split the list` },
    ]);
  }
  const parsed = z.array(shortLinkItem).safeParse(input);
  if (!parsed.success) {
    const errors = fieldErrorsOf(parsed.error.issues, ['input']);
    const shown = errors.slice(0, 5).map((error) => `${error.path.join('.')}: ${error.message}`);
    throw validationFailed(
      errors,
      errors.length > shown.length ? `${shown.join('; ')}; and ${errors.length - shown.length} more` : undefined,
    );
  }
  const keys = parsed.data.map((item): ShortLinkKey => ({
    url: item.url.href,
    entityId: item.entityId,
    inviteLinkId: item.inviteLinkId ?? null,
  }));

  const linkIds = [...new Set(keys.map((key) => key.inviteLinkId).filter((id): id is string => id !== null))];
  if (linkIds.length > 0) {
    const found = await deps.db.prisma.inviteLink.findMany({
      where: { id: { in: linkIds }, accountId: actor.accountId },
      select: { id: true },
    });
    const known = new Set(found.map((link) => link.id));
    const index = keys.findIndex((key) => key.inviteLinkId !== null && !known.has(key.inviteLinkId));
    if (index >= 0) throw notFound(`Invite link ${keys[index]!.inviteLinkId} not found (input.${index}.inviteLinkId)`);
  }
  return keys;
}

// ---------------------------------------------------------------------------------------------
// One operation's createShortLinks fields as one batch.
//
// graphql-js runs mutation fields one after another and completes each (its payload's fields
// included) before it starts the next, so a loader dispatched per field would send a second field's
// items in requests of their own. The first createShortLinks field of an operation therefore
// validates every createShortLinks field of that operation (the schema hands them over with their
// arguments) and enqueues all their items in one tick: one DataLoader dispatch, split into requests
// of 250 in operation order. Each field's resolver then waits for its own items. A field whose
// input is invalid fails on its own when its turn comes, and is never sent; the fields after it are
// not enqueued early (graphql-js stops at a failed non-null mutation field).
// ---------------------------------------------------------------------------------------------

export interface ShortLinksField {
  /** The response key (alias or name). */
  key: string;
  input: readonly ShortLinkInput[];
}

const ignore = () => {};

/** A promise nobody may end up awaiting (its field may never run) must not be an unhandled rejection. */
const handled = <T>(promise: Promise<T>): Promise<T> => {
  promise.catch(ignore);
  return promise;
};

/**
 * The createShortLinks fields of one operation, every one of them with its input, in execution
 * order. The first `run` validates and enqueues them all; each field's `run` then waits for its own.
 */
export class ShortLinkOperation {
  private readonly loader: DataLoader<ShortLinkKey, ItemOutcome>;
  private readonly indexOf: Map<string, number>;
  private enqueued: Promise<(Promise<ItemOutcome[]> | undefined)[]> | undefined;

  constructor(
    private readonly actor: AccountActor,
    private readonly deps: ServiceDeps,
    private readonly fields: readonly ShortLinksField[],
  ) {
    this.loader = shortLinkLoader(actor, deps);
    this.indexOf = new Map(fields.map((field, index) => [field.key, index]));
  }

  /** createShortLinks for one field of the operation (or one it did not list: sent alone). */
  async run(field: ShortLinksField): Promise<ShortLinksOutcome> {
    requireAmoCrm(this.deps);
    requireFullToken(this.actor);
    this.enqueued ??= this.enqueueAll();
    const index = this.indexOf.get(field.key);
    this.indexOf.delete(field.key);
    const planned = index === undefined ? undefined : (await this.enqueued)[index];
    return summarize(await (planned ?? this.runAlone(field.input)));
  }

  private enqueueAll() {
    const validated = this.fields.map((field) => handled(validateShortLinkInput(this.actor, this.deps, field.input)));
    return Promise.allSettled(validated).then((settled) => {
      let blocked = false;
      // All in one tick: the loader sees every item before it dispatches.
      return settled.map((result) => {
        if (blocked) return undefined;
        if (result.status === 'rejected') {
          blocked = true;
          return handled(Promise.reject(result.reason as Error));
        }
        return handled(this.enqueue(result.value));
      });
    });
  }

  private enqueue(keys: readonly ShortLinkKey[]): Promise<ItemOutcome[]> {
    return this.loader.loadMany(keys).then((values) =>
      values.map((value) => {
        if (value instanceof Error) throw value;
        return value;
      }),
    );
  }

  private async runAlone(input: readonly ShortLinkInput[]): Promise<ItemOutcome[]> {
    return this.enqueue(await validateShortLinkInput(this.actor, this.deps, input));
  }
}

function summarize(outcomes: ItemOutcome[]): ShortLinksOutcome {
  const failures: ShortLinkFailure[] = [];
  const ids = outcomes.map((outcome, index) => {
    if (outcome.ok) return outcome.id;
    failures.push({ index, code: outcome.error.code, message: outcome.error.message });
    return null;
  });
  // Nothing made, and only because amoCRM requests failed as a whole: the error itself, with its
  // details (retryAfter, reason), says more than a failure per item.
  const firstBatchError = outcomes.find((outcome) => !outcome.ok && outcome.scope === 'batch');
  if (firstBatchError && !firstBatchError.ok && outcomes.every((outcome) => !outcome.ok && outcome.scope === 'batch')) {
    throw firstBatchError.error;
  }
  return { ids, failures };
}

/** The stored rows, in input order, selected as the client asked (one query, no N+1). */
export async function loadShortLinks(actor: AccountActor, deps: ServiceDeps, query: ShortLinkQuery, outcome: ShortLinksOutcome) {
  const ids = outcome.ids.filter((id): id is string => id !== null);
  const rows =
    ids.length > 0
      ? ((await deps.db.prisma.shortLink.findMany({
          ...query,
          where: { id: { in: ids }, accountId: actor.accountId },
        })) as { id: string }[])
      : [];
  const byId = new Map(rows.map((row) => [row.id, row]));
  return { shortLinks: outcome.ids.map((id) => (id === null ? null : (byId.get(id) ?? null))), failures: outcome.failures };
}
