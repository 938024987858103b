import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/database.ts';
import type { Logger } from '../logger.ts';
import { Prisma } from '../generated/prisma/client.ts';
import { deriveMemberEvents, type MemberUpdate } from './member-history.ts';

/** Held (per transaction) by whichever process applies stored updates: one at a time, any number of processes. */
const PROCESSING_LOCK_KEY = 7_311_402_015_061_222_001n;

type Tx = Prisma.TransactionClient;

interface StoredUpdate {
  update_id: bigint;
  received_at: Date;
  kind: string;
  chat_id: bigint | null;
  user_id: bigint | null;
  payload: Record<string, Record<string, unknown>>;
}

interface ChannelRow {
  id: string;
  account_id: string;
  telegram_id: bigint;
  created_at: Date;
}

export type BatchOutcome = { processed: number } | 'busy';

/**
 * Applies the oldest unprocessed stored updates (up to batchSize) in one transaction, under a
 * transaction-level advisory lock ('busy' when another process holds it):
 *  - my_chat_member sets the bot's flags on every channel row of that chat, unless a later update did;
 *  - each member a chat_member or chat_join_request update names, in a verified channel, has its
 *    events derived again from all of its stored updates (member-history.ts) and written as an
 *    upsert plus a delete of what no longer follows; the counters follow by trigger;
 *  - chat_join_request adds a pending join request; a join from a request approves the pending one;
 *  - the batch is marked processed.
 * The same number of statements for any batch. Updates of chats no account verified are marked
 * processed and count for nothing.
 */
export async function processStoredUpdates(deps: { db: Database }, batchSize = 500): Promise<BatchOutcome> {
  return deps.db.prisma.$transaction(
    async (tx) => {
      const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${PROCESSING_LOCK_KEY}) AS locked`;
      if (!lock?.locked) return 'busy';
      const batch = await tx.$queryRaw<StoredUpdate[]>`
        SELECT update_id, received_at, kind, chat_id, user_id, payload FROM telegram_updates
        WHERE processed_at IS NULL ORDER BY update_id LIMIT ${batchSize}`;
      if (batch.length === 0) return { processed: 0 };
      await applyBotStatus(tx, batch);
      await applyMemberUpdates(tx, batch);
      await tx.$executeRaw`UPDATE telegram_updates SET processed_at = now() WHERE update_id = ANY(${batch.map((u) => u.update_id)}::bigint[])`;
      return { processed: batch.length };
    },
    { timeout: 30_000 },
  );
}

/** The latest my_chat_member per chat decides botIsAdmin and botCanInviteUsers; an older one arriving late does not. */
async function applyBotStatus(tx: Tx, batch: readonly StoredUpdate[]): Promise<void> {
  const latest = new Map<bigint, { updateId: bigint; isAdmin: boolean; canInvite: boolean }>();
  for (const update of batch) {
    if (update.kind !== 'my_chat_member' || update.chat_id === null) continue;
    const member = update.payload.my_chat_member?.new_chat_member as { status?: unknown; can_invite_users?: unknown } | undefined;
    const isAdmin = member?.status === 'administrator' || member?.status === 'creator';
    const canInvite = member?.status === 'creator' || (isAdmin && member?.can_invite_users === true);
    const known = latest.get(update.chat_id);
    if (!known || known.updateId < update.update_id) latest.set(update.chat_id, { updateId: update.update_id, isAdmin, canInvite });
  }
  if (latest.size === 0) return;
  const chats = [...latest.keys()];
  const rows = chats.map((chat) => latest.get(chat)!);
  await tx.$executeRaw`
    UPDATE channels c SET bot_is_admin = s.is_admin, bot_can_invite_users = s.can_invite, bot_status_update_id = s.update_id, updated_at = now()
    FROM unnest(${chats}::bigint[], ${rows.map((r) => r.updateId)}::bigint[], ${rows.map((r) => r.isAdmin)}::boolean[],
                ${rows.map((r) => r.canInvite)}::boolean[]) AS s(chat_id, update_id, is_admin, can_invite)
    WHERE c.telegram_id = s.chat_id AND (c.bot_status_update_id IS NULL OR c.bot_status_update_id < s.update_id)`;
}

const MEMBER_KINDS = new Set(['chat_member', 'chat_join_request']);

async function applyMemberUpdates(tx: Tx, batch: readonly StoredUpdate[]): Promise<void> {
  const named = batch.filter((u) => MEMBER_KINDS.has(u.kind) && u.chat_id !== null && u.user_id !== null);
  if (named.length === 0) return;
  const channels = await tx.$queryRaw<ChannelRow[]>`
    SELECT id, account_id, telegram_id, created_at FROM channels
    WHERE status = 'VERIFIED' AND telegram_id = ANY(${[...new Set(named.map((u) => u.chat_id!))]}::bigint[])`;
  const channelOf = new Map(channels.map((channel) => [channel.telegram_id, channel]));
  const members = new Map<string, { chatId: bigint; userId: bigint }>();
  for (const update of named) {
    if (channelOf.has(update.chat_id!))
      members.set(`${update.chat_id}:${update.user_id}`, { chatId: update.chat_id!, userId: update.user_id! });
  }
  if (members.size === 0) return;
  const memberChats = [...members.values()].map((m) => m.chatId);
  const memberUsers = [...members.values()].map((m) => m.userId);

  const history = await tx.$queryRaw<StoredUpdate[]>`
    SELECT u.update_id, u.received_at, u.kind, u.chat_id, u.user_id, u.payload FROM telegram_updates u
    JOIN unnest(${memberChats}::bigint[], ${memberUsers}::bigint[]) AS m(chat_id, user_id) ON u.chat_id = m.chat_id AND u.user_id = m.user_id
    WHERE u.kind IN ('chat_member', 'chat_join_request')
    ORDER BY u.update_id`;
  const urls = [...new Set(history.map((u) => urlOf(u)).filter((url): url is string => url !== null))];
  const links = urls.length
    ? await tx.$queryRaw<{ id: string; channel_id: string; invite_link: string }[]>`
        SELECT id, channel_id, invite_link FROM invite_links
        WHERE channel_id = ANY(${channels.map((c) => c.id)}::uuid[]) AND invite_link = ANY(${urls}::text[])`
    : [];
  const linkIdByChannelAndUrl = new Map(links.map((link) => [`${link.channel_id} ${link.invite_link}`, link.id]));

  const byMember = new Map<string, MemberUpdate[]>();
  for (const update of history) {
    // What happened before the account connected the channel is not its to count.
    if (update.received_at < channelOf.get(update.chat_id!)!.created_at) continue;
    const key = `${update.chat_id}:${update.user_id}`;
    const body = update.payload[update.kind] ?? {};
    byMember.set(key, [
      ...(byMember.get(key) ?? []),
      { updateId: Number(update.update_id), kind: update.kind as MemberUpdate['kind'], body },
    ]);
  }
  const rows: object[] = [];
  for (const [key, member] of members) {
    const channel = channelOf.get(member.chatId)!;
    const events = deriveMemberEvents(byMember.get(key) ?? [], (url) => linkIdByChannelAndUrl.get(`${channel.id} ${url}`) ?? null);
    for (const event of events) {
      rows.push({
        account_id: channel.account_id,
        channel_id: channel.id,
        chat_id: String(member.chatId),
        user_id: String(member.userId),
        kind: event.kind,
        invite_link_id: event.inviteLinkId,
        via_join_request: event.viaJoinRequest,
        inferred: event.inferred,
        at: new Date(event.date * 1000).toISOString(),
        update_id: String(event.updateId),
      });
    }
  }
  const events = JSON.stringify(rows);

  await tx.$executeRaw`
    INSERT INTO member_events (id, account_id, channel_id, chat_id, user_id, kind, invite_link_id, via_join_request, inferred, at, update_id)
    SELECT gen_random_uuid(), e.account_id, e.channel_id, e.chat_id, e.user_id, e.kind, e.invite_link_id, e.via_join_request, e.inferred, e.at, e.update_id
    FROM jsonb_to_recordset(${events}::jsonb) AS e(account_id uuid, channel_id uuid, chat_id bigint, user_id bigint,
      kind "MemberEventKind", invite_link_id uuid, via_join_request boolean, inferred boolean, at timestamptz, update_id bigint)
    ON CONFLICT (update_id, kind) DO UPDATE SET
      account_id = EXCLUDED.account_id, channel_id = EXCLUDED.channel_id, invite_link_id = EXCLUDED.invite_link_id,
      via_join_request = EXCLUDED.via_join_request, inferred = EXCLUDED.inferred, at = EXCLUDED.at
    WHERE (member_events.account_id, member_events.channel_id, member_events.invite_link_id, member_events.via_join_request,
           member_events.inferred, member_events.at)
      IS DISTINCT FROM (EXCLUDED.account_id, EXCLUDED.channel_id, EXCLUDED.invite_link_id, EXCLUDED.via_join_request,
           EXCLUDED.inferred, EXCLUDED.at)`;
  const derived = rows as { update_id: string; kind: string }[];
  await tx.$executeRaw`
    DELETE FROM member_events m
    USING unnest(${memberChats}::bigint[], ${memberUsers}::bigint[]) AS t(chat_id, user_id)
    WHERE m.chat_id = t.chat_id AND m.user_id = t.user_id AND m.update_id IS NOT NULL
      AND (m.update_id, m.kind::text) NOT IN (
        SELECT * FROM unnest(${derived.map((e) => e.update_id)}::bigint[], ${derived.map((e) => e.kind)}::text[]))`;

  // Requests and approvals from this batch only: a request row, once decided, is the approve or decline's to keep.
  const inBatch = new Set(named.map((u) => u.update_id));
  const requests = rows.filter((row) => {
    const event = row as { kind: string; update_id: string };
    return inBatch.has(BigInt(event.update_id)) && event.kind === 'JOIN_REQUESTED';
  });
  const approvals = rows.filter((row) => {
    const event = row as { kind: string; via_join_request: boolean; update_id: string };
    return inBatch.has(BigInt(event.update_id)) && event.kind === 'JOINED' && event.via_join_request;
  });
  if (requests.length) {
    await tx.$executeRaw`
      INSERT INTO join_requests (id, account_id, channel_id, chat_id, user_id, invite_link_id, requested_at, update_id)
      SELECT gen_random_uuid(), e.account_id, e.channel_id, e.chat_id, e.user_id, e.invite_link_id, e.at, e.update_id
      FROM jsonb_to_recordset(${JSON.stringify(requests)}::jsonb) AS e(account_id uuid, channel_id uuid, chat_id bigint, user_id bigint,
        invite_link_id uuid, at timestamptz, update_id bigint)
      ORDER BY e.update_id
      ON CONFLICT DO NOTHING`;
  }
  if (approvals.length) {
    await tx.$executeRaw`
      UPDATE join_requests r SET status = 'APPROVED', decided_at = e.at
      FROM jsonb_to_recordset(${JSON.stringify(approvals)}::jsonb) AS e(chat_id bigint, user_id bigint, at timestamptz, update_id bigint)
      WHERE r.status = 'PENDING' AND r.chat_id = e.chat_id AND r.user_id = e.user_id AND r.update_id < e.update_id`;
  }
}

function urlOf(update: StoredUpdate): string | null {
  const link = (update.payload[update.kind] as { invite_link?: { invite_link?: unknown } } | undefined)?.invite_link?.invite_link;
  return typeof link === 'string' ? link : null;
}

export interface MemberUpdateProcessorOptions {
  /** How often stored updates are looked for without a kick (what other processes stored). */
  sweepIntervalMs: number;
  batchSize: number;
  /** The wait before trying again while another process holds the lock, or after a failure. */
  retryMs: number;
}

/**
 * Applies stored updates in the background: at once when this process stores some (kick), and
 * every sweepIntervalMs for those other processes stored. Several processes on one database take
 * turns through the advisory lock.
 */
export class MemberUpdateProcessor {
  private readonly options: MemberUpdateProcessorOptions;
  private running: Promise<void> | null = null;
  private kicked = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly deps: { db: Database; log: Logger },
    options: Partial<MemberUpdateProcessorOptions> = {},
  ) {
    this.options = { sweepIntervalMs: 1000, batchSize: 500, retryMs: 200, ...options };
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.sweepIntervalMs);
    this.timer.unref();
    this.kick();
  }

  /** Something was stored: apply it soon. */
  kick(): void {
    if (this.closed) return;
    this.kicked = true;
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  /** Resolves once everything stored so far is applied (tests, and the sandbox's simulated history). */
  async settle(): Promise<void> {
    for (;;) {
      const outcome = await this.runOnce();
      if (outcome !== 'busy' && outcome.processed === 0) return;
      if (outcome === 'busy') await sleep(this.options.retryMs);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async drain(): Promise<void> {
    while (this.kicked && !this.closed) {
      this.kicked = false;
      const outcome = await this.runOnce();
      if (outcome === 'busy') {
        await sleep(this.options.retryMs);
        this.kicked = true;
      } else if (outcome.processed > 0) {
        this.kicked = true;
      }
    }
  }

  private async runOnce(): Promise<BatchOutcome> {
    try {
      return await processStoredUpdates(this.deps, this.options.batchSize);
    } catch (error) {
      this.deps.log.warn({ err: error }, 'applying stored Telegram updates failed; trying again');
      await sleep(this.options.retryMs);
      return 'busy';
    }
  }
}
