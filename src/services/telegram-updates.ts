import { z } from 'zod';
import type { Database } from '../db/database.ts';
import { validationFailed } from '../errors.ts';

/** What the server asks Telegram for, on every setWebhook and getUpdates: leaving it out keeps an earlier setting. */
export const ALLOWED_UPDATES = ['chat_member', 'chat_join_request', 'my_chat_member'] as const;

const telegramId = z.number().int().refine(Number.isSafeInteger, 'must be a safe integer');
const chatPart = z.object({ id: telegramId }).loose();
const userPart = z.object({ id: telegramId }).loose();
const memberUpdated = z
  .object({ chat: chatPart, from: userPart, date: z.number().int(), new_chat_member: z.object({ user: userPart }).loose() })
  .loose();
const joinRequest = z.object({ chat: chatPart, from: userPart, date: z.number().int() }).loose();

/** The updates the server asks for have these shapes; any other kind needs only an object (the processor skips it). */
const KNOWN_KINDS: Record<string, z.ZodType<{ chat: { id: number }; from: { id: number } }>> = {
  chat_member: memberUpdated,
  my_chat_member: memberUpdated,
  chat_join_request: joinRequest,
};

export interface ParsedUpdate {
  updateId: number;
  kind: string;
  chatId: number | null;
  /** The member (chat_member), the requester (chat_join_request), whoever changed the bot's status (my_chat_member). */
  userId: number | null;
  payload: Record<string, unknown>;
}

export type UpdateParse = { ok: true; update: ParsedUpdate } | { ok: false; updateId: number | null; problem: string };

/** One update as Telegram sends it: an update_id and exactly one field naming its kind. */
export function parseUpdate(raw: unknown): UpdateParse {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, updateId: null, problem: 'must be a JSON object' };
  const fields = raw as Record<string, unknown>;
  const id = fields.update_id;
  const updateId = typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : null;
  if (updateId === null) return { ok: false, updateId: null, problem: 'update_id must be a non-negative integer' };
  const kinds = Object.keys(fields).filter((key) => key !== 'update_id');
  if (kinds.length !== 1) return { ok: false, updateId, problem: 'must carry exactly one update field besides update_id' };
  const kind = kinds[0]!;
  const body = fields[kind];
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { ok: false, updateId, problem: `${kind} must be an object` };
  const schema = KNOWN_KINDS[kind];
  if (!schema) {
    const chat = (body as { chat?: { id?: unknown } }).chat?.id;
    const chatId = typeof chat === 'number' && Number.isSafeInteger(chat) ? chat : null;
    return { ok: true, update: { updateId, kind, chatId, userId: null, payload: fields } };
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, updateId, problem: `${[kind, ...issue.path.map(String)].join('.')}: ${issue.message}` };
  }
  const userId = kind === 'chat_member' ? (parsed.data as z.infer<typeof memberUpdated>).new_chat_member.user.id : parsed.data.from.id;
  return { ok: true, update: { updateId, kind, chatId: parsed.data.chat.id, userId, payload: fields } };
}

/** Parses every update; one malformed update refuses them all (VALIDATION_FAILED), so nothing is half-stored. */
export function parseUpdates(raws: readonly unknown[]): ParsedUpdate[] {
  const updates: ParsedUpdate[] = [];
  const problems: { path: string[]; message: string }[] = [];
  raws.forEach((raw, index) => {
    const result = parseUpdate(raw);
    if (result.ok) updates.push(result.update);
    else problems.push({ path: raws.length === 1 ? ['update'] : ['updates', String(index)], message: result.problem });
  });
  if (problems.length) throw validationFailed(problems, `Malformed Telegram update: ${problems.map((p) => p.message).join('; ')}`);
  return updates;
}

/**
 * Stores updates durably, in one statement; an update_id already stored is left as it is, so a
 * redelivery never stores twice. Answers how many were new. Updates for chats no account has
 * connected are stored like any other (the next part decides what they count for).
 */
export async function storeParsedUpdates(deps: { db: Database }, updates: readonly ParsedUpdate[]): Promise<number> {
  if (updates.length === 0) return 0;
  if (updates.length === 1) {
    // The webhook's one update a request: a prepared statement (the bench's ingest line).
    const [update] = updates as [ParsedUpdate];
    return deps.db.executePrepared(
      'telegram_update_insert',
      `INSERT INTO telegram_updates (update_id, kind, chat_id, user_id, payload) VALUES ($1::bigint, $2, $3::bigint, $4::bigint, $5::jsonb)
       ON CONFLICT (update_id) DO NOTHING`,
      [update.updateId, update.kind, update.chatId, update.userId, JSON.stringify(update.payload)],
    );
  }
  const rows = JSON.stringify(
    updates.map((update) => ({
      update_id: update.updateId,
      kind: update.kind,
      chat_id: update.chatId,
      user_id: update.userId,
      payload: update.payload,
    })),
  );
  return deps.db.prisma.$executeRaw`
    INSERT INTO telegram_updates (update_id, kind, chat_id, user_id, payload)
    SELECT (row->>'update_id')::bigint, row->>'kind', (row->>'chat_id')::bigint, (row->>'user_id')::bigint, row->'payload'
    FROM jsonb_array_elements(${rows}::jsonb) AS row
    ON CONFLICT (update_id) DO NOTHING`;
}

/** parseUpdates, then storeParsedUpdates: a malformed update is refused and nothing is stored. */
export async function storeUpdates(deps: { db: Database }, raws: readonly unknown[]): Promise<number> {
  return storeParsedUpdates(deps, parseUpdates(raws));
}

/** The offset getUpdates continues from: one past the highest update stored (0 when none is: Telegram's oldest). */
export async function nextUpdateOffset(deps: { db: Database }): Promise<number> {
  const [row] = await deps.db.prisma.$queryRaw<{ last: bigint | null }[]>`SELECT max(update_id) AS last FROM telegram_updates`;
  return row?.last == null ? 0 : Number(row.last) + 1;
}
