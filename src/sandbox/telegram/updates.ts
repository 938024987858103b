/**
 * The bot's update queue, as telegram-bot-api keeps it (Client.cpp add_update_impl,
 * do_get_updates; tdlib tddb/td/db/TQueue.cpp): ids increase by one, an update lives 24 hours
 * from its date, reading never removes one; only a later offset (getUpdates) or a 2xx from the
 * webhook does.
 */

/** Every update type name telegram-bot-api knows (get_update_type_name), in its order. */
export const UPDATE_TYPE_NAMES = [
  'message',
  'edited_message',
  'channel_post',
  'edited_channel_post',
  'inline_query',
  'chosen_inline_result',
  'callback_query',
  'custom_event',
  'custom_query',
  'shipping_query',
  'pre_checkout_query',
  'poll',
  'poll_answer',
  'my_chat_member',
  'chat_member',
  'chat_join_request',
  'chat_boost',
  'removed_chat_boost',
  'message_reaction',
  'message_reaction_count',
  'business_connection',
  'business_message',
  'edited_business_message',
  'deleted_business_messages',
  'purchased_paid_media',
  'managed_bot',
  'guest_message',
] as const;

/** Left out unless allowed_updates names them (DEFAULT_ALLOWED_UPDATE_TYPES). */
const NOT_SENT_BY_DEFAULT = new Set<string>(['chat_member', 'message_reaction', 'message_reaction_count']);

/** The types the emulator produces. */
export type UpdateType = 'my_chat_member' | 'chat_member' | 'chat_join_request';

export const UPDATE_RETENTION_SECONDS = 86_400;
/** An offset this far past the newest id reads from the oldest update instead (TQueue "in the future"). */
const OFFSET_FUTURE_TOLERANCE = 10;
const MIN_UPDATE_ID = 1;
const MAX_UPDATE_ID = 2 ** 31 - 1;

export interface QueuedUpdate {
  readonly id: number;
  readonly type: UpdateType;
  readonly payload: Record<string, unknown>;
  /** Unix seconds: the update's date + 24 hours. */
  readonly expiresAt: number;
  /**
   * Updates of one queue reach a webhook one after another (telegram-bot-api's webhook_queue_id):
   * chat_member and chat_join_request per user, my_chat_member per chat.
   */
  readonly deliveryQueue: string;
}

export type AllowedUpdates = { kind: 'default' } | { kind: 'listed'; names: ReadonlySet<string> };

export const DEFAULT_ALLOWED_UPDATES: AllowedUpdates = { kind: 'default' };

export function isAllowed(allowed: AllowedUpdates, type: string): boolean {
  return allowed.kind === 'default' ? !NOT_SENT_BY_DEFAULT.has(type) : allowed.names.has(type);
}

/** As getWebhookInfo lists them; undefined for the default. */
export function listAllowedUpdates(allowed: AllowedUpdates): string[] | undefined {
  if (allowed.kind === 'default') return undefined;
  return UPDATE_TYPE_NAMES.filter((name) => allowed.names.has(name));
}

/**
 * get_allowed_update_types: undefined keeps the current setting (parameter absent, not JSON, not
 * an array of strings); a list naming no known type, `[]` included, is the default.
 */
export function parseAllowedUpdates(text: string): AllowedUpdates | undefined {
  if (text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.some((name) => typeof name !== 'string')) return undefined;
  const known = new Set<string>(UPDATE_TYPE_NAMES);
  const names = new Set((value as string[]).map((name) => name.toLowerCase()).filter((name) => known.has(name)));
  return names.size === 0 ? DEFAULT_ALLOWED_UPDATES : { kind: 'listed', names };
}

export function sameAllowedUpdates(a: AllowedUpdates, b: AllowedUpdates): boolean {
  if (a.kind === 'default' || b.kind === 'default') return a.kind === b.kind;
  return a.names.size === b.names.size && [...a.names].every((name) => b.names.has(name));
}

export class UpdateQueue {
  private updates: QueuedUpdate[] = [];
  private nextId: number;

  /** @param nowSeconds the emulator's clock, in Unix seconds */
  constructor(
    firstId: number,
    private readonly nowSeconds: () => number,
  ) {
    if (!Number.isInteger(firstId) || firstId < MIN_UPDATE_ID || firstId > MAX_UPDATE_ID) {
      throw new Error(`firstUpdateId must be an integer from ${MIN_UPDATE_ID} to ${MAX_UPDATE_ID}`);
    }
    this.nextId = firstId;
  }

  push(type: UpdateType, payload: Record<string, unknown>, date: number, deliveryQueue: string): QueuedUpdate {
    const update: QueuedUpdate = {
      id: this.nextId,
      type,
      payload,
      expiresAt: date + UPDATE_RETENTION_SECONDS,
      deliveryQueue,
    };
    this.nextId += 1;
    this.updates.push(update);
    return update;
  }

  /** The id of the oldest pending update, or of the next one when none is pending. */
  get headId(): number {
    return this.pending()[0]?.id ?? this.nextId;
  }

  /** Unconfirmed updates that have not expired, oldest first. */
  pending(): readonly QueuedUpdate[] {
    const now = this.nowSeconds();
    if (this.updates.some((update) => update.expiresAt < now)) {
      this.updates = this.updates.filter((update) => update.expiresAt >= now);
    }
    return this.updates;
  }

  /**
   * getUpdates' reading: a positive offset confirms (drops) every update before it, a negative
   * one keeps only the last -offset updates, and zero reads from the oldest. Returns up to `limit`.
   */
  read(offset: number, limit: number): QueuedUpdate[] {
    if (offset < 0) this.keepLast(-offset);
    const pending = this.pending();
    let from = pending[0]?.id ?? this.nextId;
    if (offset > 0 && offset <= this.nextId + OFFSET_FUTURE_TOLERANCE) {
      this.updates = pending.filter((update) => update.id >= offset);
      from = offset;
    }
    return this.updates.filter((update) => update.id >= from).slice(0, limit);
  }

  /** A webhook's 2xx (or a delivery given up on). */
  remove(id: number): void {
    this.updates = this.updates.filter((update) => update.id !== id);
  }

  clear(): void {
    this.updates = [];
  }

  private keepLast(count: number): void {
    if (this.updates.length > count) this.updates = this.updates.slice(this.updates.length - count);
  }
}
