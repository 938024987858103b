import { randomBytes, randomInt } from 'node:crypto';
import { TELEGRAM_LIMITS } from '../telegram-limits.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatInviteLink, Update, User } from 'node-telegram-bot-api';
import { z } from 'zod';
import { EmulatorServer, jsonReply, matchControlRoute, parseJson, readBody, send } from './http-kit.ts';
import { EmulatorRefusal, ERROR_TEXTS, TelegramFailure, USER_REFUSALS, WEBHOOK_ANSWERS } from './telegram/errors.ts';
import { readParams, UnparsableBodyError, WireParams } from './telegram/request-params.ts';
import { ChatRoster, type JoinRequestRecord } from './telegram/roster.ts';
import {
  DEFAULT_ALLOWED_UPDATES,
  isAllowed,
  listAllowedUpdates,
  parseAllowedUpdates,
  sameAllowedUpdates,
  UpdateQueue,
  type AllowedUpdates,
  type QueuedUpdate,
  type UpdateType,
} from './telegram/updates.ts';
import { WebhookDelivery } from './telegram/webhook.ts';
import {
  hiddenInviteLink,
  inviteHash,
  wireBotMember,
  wireChat,
  wireLink,
  wireUser,
  wireUserMember,
  withoutAbsentFields,
  type BotMemberStatus,
  type UserMemberStatus,
} from './telegram/wire.ts';

export type { ChatInviteLink } from 'node-telegram-bot-api';
export { EmulatorRefusal } from './telegram/errors.ts';
export type { BotMemberStatus, UserMemberStatus } from './telegram/wire.ts';

const {
  linkNameMaxLength: MAX_LINK_NAME_LENGTH,
  memberLimitMax: MAX_MEMBER_LIMIT,
  subscriptionPeriodSeconds: SUBSCRIPTION_PERIOD_SECONDS,
  subscriptionPriceMaxStars: MAX_SUBSCRIPTION_PRICE,
} = TELEGRAM_LIMITS;
const INT32_MAX = 2 ** 31 - 1;
const DEFAULT_BOT_ID = 7_000_000_001;
const OTHER_ADMIN: User = { id: 5_000_000_001, is_bot: false, first_name: 'Channel admin' };
/** telegram-bot-api's LONG_POLL_MAX_TIMEOUT. */
const MAX_LONG_POLL_SECONDS = 50;
const DEFAULT_WEBHOOK_MAX_CONNECTIONS = 40;
const MAX_WEBHOOK_MAX_CONNECTIONS = 100;
const MAX_SECRET_TOKEN_LENGTH = 256;

export interface EmulatedChat {
  id: number;
  type: 'channel' | 'supergroup';
  title: string;
  username?: string;
  botStatus: BotMemberStatus;
  canInviteUsers: boolean;
  /** Joins through the username need an admin's approval ("join requests" on a public chat). */
  joinByRequest?: boolean;
}

export type InjectedFailure =
  | { kind: 'rateLimit'; retryAfter: number }
  | { kind: 'serverError'; status?: number }
  | { kind: 'hang' }
  /** Runs the call, then answers only after delayMs (if the caller is still there). */
  | { kind: 'slowAnswer'; delayMs: number };

export interface RecordedCall {
  method: string;
  /** As received: decoded JSON values, or strings from a query string or form. */
  params: Record<string, unknown>;
  at: number;
}

export interface TelegramEmulatorTiming {
  /** Milliseconds in one second of a getUpdates timeout (default 1000). */
  longPollSecondMs?: number;
  /** Milliseconds in one second of webhook retry delay (default 1000). */
  webhookRetrySecondMs?: number;
  /** How long one webhook delivery may take (default 60000). */
  webhookTimeoutMs?: number;
}

export interface TelegramEmulatorOptions {
  botToken: string;
  /** Defaults to the number before ":" in the token, as in real tokens. */
  botId?: number;
  botUsername?: string;
  chats?: EmulatedChat[];
  /** Milliseconds since the epoch: update dates, expiry and the 24-hour retention follow it. */
  now?: () => number;
  /** When set (sandbox mode), control routes live under `/_emulator/<controlSecret>/`. */
  controlSecret?: string;
  /** The first update's id (default: random, as Telegram's queues start anywhere). */
  firstUpdateId?: number;
  timing?: TelegramEmulatorTiming;
  /**
   * How the chat_member update of a join approved from a link's request marks it: with the
   * request's invite_link (default), or with via_join_request and no link. tdlib makes the two
   * exclusive (UpdatesManager.cpp: via_join_request only for chatInvitePublicJoinRequests); which
   * one Telegram sends for a link's request is unverified. A request through the username is
   * always via_join_request.
   */
  approvedLinkJoinShape?: 'invite_link' | 'via_join_request';
}

export interface UserProfile {
  firstName?: string;
  lastName?: string;
  username?: string;
  languageCode?: string;
  /** Shown in the chat_join_request update. */
  bio?: string;
}

export interface JoinOptions extends UserProfile {
  /** A join by chat id through a chat folder link: chat_member carries via_chat_folder_invite_link. */
  viaChatFolderInviteLink?: boolean;
}

/** `requested`: the link (or chat) needs approval; Telegram told the user INVITE_REQUEST_SENT. */
export type JoinOutcome = 'joined' | 'requested';

export interface InviteLinkUsage {
  /** Current members whose last join was through the link: what member_limit counts. */
  memberCount: number;
  /** Joins through the link, ever (approved requests included). */
  joinCount: number;
  pendingJoinRequestCount: number;
}

export interface PendingJoinRequest {
  userId: number;
  /** Unix seconds. */
  date: number;
  bio?: string;
  /** The full link, or undefined for a request through the username. */
  inviteLink?: string;
}

/** The demo chats have usernames, so the one the bot is not in still answers getChat like a public channel. */
export const SANDBOX_CHATS: EmulatedChat[] = [
  {
    id: -1001000000001,
    type: 'channel',
    title: 'Demo channel',
    username: 'demo_channel',
    botStatus: 'administrator',
    canInviteUsers: true,
  },
  {
    id: -1001000000002,
    type: 'channel',
    title: 'Demo channel (no invite rights)',
    username: 'demo_channel_no_rights',
    botStatus: 'administrator',
    canInviteUsers: false,
  },
  {
    id: -1001000000003,
    type: 'channel',
    title: 'Demo channel (bot not added)',
    username: 'demo_channel_no_bot',
    botStatus: 'left',
    canInviteUsers: false,
  },
];

const emulatedChatSchema = z.object({
  id: z.number().int(),
  type: z.enum(['channel', 'supergroup']),
  title: z.string(),
  username: z.string().optional(),
  botStatus: z.enum(['creator', 'administrator', 'member', 'left', 'kicked']),
  canInviteUsers: z.boolean(),
  joinByRequest: z.boolean().optional(),
});

const failTarget = { method: z.string().optional(), times: z.number().int().positive().optional() };
const failRequestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('rateLimit'), retryAfter: z.number().int().positive(), ...failTarget }),
  z.object({ kind: z.literal('serverError'), status: z.number().int().min(500).max(599).optional(), ...failTarget }),
  z.object({ kind: z.literal('hang'), ...failTarget }),
  z.object({ kind: z.literal('slowAnswer'), delayMs: z.number().int().positive(), ...failTarget }),
]);

const userIdSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const chatUserSchema = z.object({ chatId: z.number().int(), userId: userIdSchema });
const joinRequestSchema = z
  .object({
    inviteLink: z.string().min(1).optional(),
    chatId: z.number().int().optional(),
    userId: userIdSchema,
    firstName: z.string().optional(),
    lastName: z.string().optional(),
    username: z.string().optional(),
    languageCode: z.string().optional(),
    bio: z.string().optional(),
    viaChatFolderInviteLink: z.boolean().optional(),
  })
  .refine((body) => (body.inviteLink === undefined) !== (body.chatId === undefined), {
    message: 'give either inviteLink or chatId',
  });
const botStatusSchema = z.object({
  chatId: z.number().int(),
  status: z.enum(['creator', 'administrator', 'member', 'left', 'kicked']),
  canInviteUsers: z.boolean().optional(),
});
const decideRequestSchema = chatUserSchema.extend({ approve: z.boolean() });

type Access = 'read' | 'write';
type MethodHandler = (params: WireParams) => unknown;

/** A method's answer with a `description` beside the result (setWebhook, deleteWebhook). */
class DescribedResult {
  constructor(
    readonly result: unknown,
    readonly description: string,
  ) {}
}

interface PendingFailure {
  failure: InjectedFailure;
  method: string | undefined;
  remaining: number;
}

interface LinkSettings {
  name: string;
  expireDate: number;
  memberLimit: number;
  createsJoinRequest: boolean;
}

interface LongPoll {
  offset: number;
  limit: number;
  resolve: (updates: unknown) => void;
  reject: (failure: TelegramFailure) => void;
  timer: NodeJS.Timeout;
}

function sendResult(response: ServerResponse, result: unknown): void {
  const body =
    result instanceof DescribedResult ? { ok: true, result: result.result, description: result.description } : { ok: true, result };
  send(response, jsonReply(200, body));
}

function sendFailure(response: ServerResponse, failure: TelegramFailure): void {
  const retryAfter = failure.parameters?.retry_after;
  send(response, {
    ...jsonReply(failure.errorCode, {
      ok: false,
      error_code: failure.errorCode,
      description: failure.description,
      parameters: failure.parameters,
    }),
    headers: retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
  });
}

function botIdFromToken(token: string): number {
  const id = /^(\d+):/.exec(token)?.[1];
  return id === undefined ? DEFAULT_BOT_ID : Number(id);
}

/**
 * tdlib's clean_name: trimmed, cut to 32 Unicode code points (not UTF-16 units), runs of spaces
 * and newlines collapsed. A longer name is shortened, never refused.
 */
function cleanLinkName(raw: string): string {
  return [...raw.trim()]
    .slice(0, MAX_LINK_NAME_LENGTH)
    .join('')
    .trim()
    .replace(/[ \n]+/g, ' ');
}

function isSubscriptionLink(link: ChatInviteLink): boolean {
  return link.subscription_period !== undefined;
}

function readLinkSettings(params: WireParams): LinkSettings {
  return {
    name: cleanLinkName(params.text('name')),
    // telegram-bot-api clamps these: a negative or zero value means "none"
    expireDate: params.integer('expire_date', 0, INT32_MAX),
    memberLimit: params.integer('member_limit', 0, 100_000),
    createsJoinRequest: params.boolean('creates_join_request'),
  };
}

/**
 * td::parse_url with https as the default protocol: a URL without a scheme is https, schemes
 * other than http and https are refused.
 */
function parseWebhookUrl(text: string): URL | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  try {
    const url = new URL(withScheme);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith('[');
}

/**
 * An in-process Bot API server (a real node:http server) for tests and the sandbox: invite links,
 * emulated users who join, leave and ask to join, and the updates those produce, delivered by
 * getUpdates or to a webhook as telegram-bot-api delivers them.
 */
export class TelegramEmulator {
  /** Every request that reached a known method with the right token, in order. */
  readonly calls: RecordedCall[] = [];
  private readonly botToken: string;
  private readonly bot: User;
  private readonly now: () => number;
  private readonly controlSecret: string | undefined;
  private readonly timing: Required<TelegramEmulatorTiming>;
  private readonly approvedLinkJoinShape: 'invite_link' | 'via_join_request';
  private readonly chats = new Map<number, EmulatedChat>();
  private readonly linksByChat = new Map<number, ChatInviteLink[]>();
  private readonly usedHashes = new Set<string>();
  private readonly users = new Map<number, { user: User; bio?: string }>();
  private readonly roster = new ChatRoster();
  private readonly queue: UpdateQueue;
  private allowedUpdates: AllowedUpdates = DEFAULT_ALLOWED_UPDATES;
  private longPoll: LongPoll | undefined;
  private longPollWakeScheduled = false;
  private webhook: WebhookDelivery | undefined;
  private readonly pendingFailures: PendingFailure[] = [];
  private readonly methods: Map<string, { name: string; handle: MethodHandler }>;
  private readonly server = new EmulatorServer(
    'TelegramEmulator',
    (request, response) => this.handleRequest(request, response),
    (error, response) => {
      if (!response.headersSent) sendFailure(response, new TelegramFailure(String(error), 500));
    },
  );

  constructor(options: TelegramEmulatorOptions) {
    this.botToken = options.botToken;
    this.bot = {
      id: options.botId ?? botIdFromToken(options.botToken),
      is_bot: true,
      first_name: 'Sandbox bot',
      username: options.botUsername ?? 'sandbox_invite_bot',
    };
    this.now = options.now ?? Date.now;
    this.controlSecret = options.controlSecret;
    this.timing = {
      longPollSecondMs: options.timing?.longPollSecondMs ?? 1000,
      webhookRetrySecondMs: options.timing?.webhookRetrySecondMs ?? 1000,
      webhookTimeoutMs: options.timing?.webhookTimeoutMs ?? 60_000,
    };
    this.approvedLinkJoinShape = options.approvedLinkJoinShape ?? 'invite_link';
    this.queue = new UpdateQueue(options.firstUpdateId ?? randomInt(100_000_000, 900_000_000), () => this.nowSeconds());
    for (const chat of options.chats ?? SANDBOX_CHATS) this.setChat(chat);

    const handlers: Record<string, MethodHandler> = {
      getMe: () => this.getMe(),
      getChat: (params) => this.getChat(params),
      getChatMember: (params) => this.getChatMember(params),
      createChatInviteLink: (params) => this.createChatInviteLink(params),
      createChatSubscriptionInviteLink: (params) => this.createChatSubscriptionInviteLink(params),
      editChatInviteLink: (params) => this.editChatInviteLink(params),
      editChatSubscriptionInviteLink: (params) => this.editChatSubscriptionInviteLink(params),
      revokeChatInviteLink: (params) => this.revokeChatInviteLink(params),
      approveChatJoinRequest: (params) => this.processChatJoinRequest(params, true),
      declineChatJoinRequest: (params) => this.processChatJoinRequest(params, false),
      getUpdates: (params) => this.getUpdates(params),
      setWebhook: (params) => this.setWebhook(params, params.text('url')),
      deleteWebhook: (params) => this.setWebhook(params, ''),
      getWebhookInfo: () => this.getWebhookInfo(),
    };
    // Bot API method names are case-insensitive.
    this.methods = new Map(Object.entries(handlers).map(([name, handle]) => [name.toLowerCase(), { name, handle }]));
  }

  get apiRoot(): string {
    return this.server.url;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    return this.server.listen(port, host);
  }

  /** Also drops open connections, including requests held by a 'hang' failure or a long poll. */
  async close(): Promise<void> {
    this.webhook?.close();
    if (this.longPoll) clearTimeout(this.longPoll.timer);
    this.longPoll = undefined;
    await this.server.close();
  }

  /** Adds or replaces a chat; no update is sent. */
  setChat(chat: EmulatedChat): void {
    this.chats.set(chat.id, { ...chat });
  }

  /** Changes a chat silently (no my_chat_member); setBotStatus is the change Telegram reports. */
  updateChat(id: number, patch: Partial<EmulatedChat>): void {
    const chat = this.requireKnownChat(id);
    this.chats.set(id, { ...chat, ...patch, id });
  }

  failNext(failure: InjectedFailure, options: { method?: string; times?: number } = {}): void {
    this.pendingFailures.push({
      failure: { ...failure },
      method: options.method?.toLowerCase(),
      remaining: options.times ?? 1,
    });
  }

  /** The chat's links as the bot would be answered about them (full links, also other admins'). */
  links(chatId: number): ChatInviteLink[] {
    return (this.linksByChat.get(chatId) ?? []).map((link) => withoutAbsentFields(this.wireLinkOf(chatId, link)));
  }

  /** A link made by another admin of the chat; returns it in full. */
  addForeignLink(chatId: number, fields: Partial<ChatInviteLink> = {}): string {
    this.requireKnownChat(chatId);
    const link: ChatInviteLink = {
      invite_link: this.newInviteLink(),
      creator: { ...OTHER_ADMIN },
      creates_join_request: false,
      is_primary: false,
      is_revoked: false,
      ...fields,
    };
    this.usedHashes.add(inviteHash(link.invite_link));
    this.storeLink(chatId, link);
    return link.invite_link;
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  // Chat descriptions (getChat's `description`), where an owner puts a channel-verification code.
  private readonly descriptions = new Map<number, string>();

  setChatDescription(chatId: number, description: string): void {
    if (!this.chats.has(chatId)) throw new Error(`TelegramEmulator has no chat ${chatId}`);
    this.descriptions.set(chatId, description);
  }

  // -------------------------------------------------------------------------------------------
  // What emulated users and admins do. Refusals throw EmulatorRefusal with Telegram's error name.

  /**
   * A user joins through an invite link (a string) or, with a chat id, through the chat's public
   * username (or a chat folder link): unattributed. A link that needs approval, or a public chat
   * with join requests, makes a pending request instead.
   */
  join(target: string | number, userId: number, options: JoinOptions = {}): JoinOutcome {
    const user = this.rememberUser(userId, options);
    if (typeof target === 'string') return this.joinThroughLink(target, user);

    const chat = this.chats.get(target);
    if (!chat) throw new EmulatorRefusal(USER_REFUSALS.channelInvalid);
    if (chat.username === undefined && !options.viaChatFolderInviteLink) {
      throw new EmulatorRefusal(USER_REFUSALS.channelPrivate);
    }
    this.requireNotInChat(chat, user.id);
    if (chat.joinByRequest && !options.viaChatFolderInviteLink) return this.requestToJoin(chat, user, undefined);
    this.roster.join(chat.id, user.id, undefined);
    this.emitChatMember(chat, user, 'left', 'member', user, {
      via_chat_folder_invite_link: options.viaChatFolderInviteLink || undefined,
    });
    return 'joined';
  }

  /** The user leaves the chat. */
  leave(chatId: number, userId: number): void {
    const chat = this.requireKnownChat(chatId);
    if (this.roster.status(chatId, userId) !== 'member') throw new EmulatorRefusal(USER_REFUSALS.notParticipant);
    const user = this.requireKnownUser(userId);
    this.roster.setStatus(chatId, userId, 'left');
    this.emitChatMember(chat, user, 'member', 'left', user);
  }

  /** Another admin removes (bans) the user; a ban of someone not in the chat is reported too. */
  kick(chatId: number, userId: number): void {
    const chat = this.requireKnownChat(chatId);
    const user = this.rememberUser(userId, {});
    const before = this.roster.status(chatId, userId);
    if (before === 'kicked') return;
    this.roster.setStatus(chatId, userId, 'kicked');
    this.emitChatMember(chat, user, before, 'kicked', OTHER_ADMIN);
  }

  /** Another admin lifts the ban: the user may join again. */
  unban(chatId: number, userId: number): void {
    const chat = this.requireKnownChat(chatId);
    if (this.roster.status(chatId, userId) !== 'kicked') return;
    const user = this.requireKnownUser(userId);
    this.roster.setStatus(chatId, userId, 'left');
    this.emitChatMember(chat, user, 'kicked', 'left', OTHER_ADMIN);
  }

  /** Another admin approves or declines a pending join request (not the bot: see approveChatJoinRequest). */
  decideJoinRequest(chatId: number, userId: number, approve: boolean): void {
    const chat = this.requireKnownChat(chatId);
    const request = this.roster.request(chatId, userId);
    if (!request) throw new EmulatorRefusal(USER_REFUSALS.hideRequesterMissing);
    if (approve && this.roster.status(chatId, userId) === 'member') {
      throw new EmulatorRefusal(USER_REFUSALS.alreadyParticipant);
    }
    this.roster.removeRequest(chatId, userId);
    if (approve) this.admit(chat, request, OTHER_ADMIN);
  }

  /** An admin changes the bot's status or rights in the chat; sends my_chat_member when it changed. */
  setBotStatus(chatId: number, change: { status: BotMemberStatus; canInviteUsers?: boolean }): void {
    const chat = this.requireKnownChat(chatId);
    const before = wireBotMember(this.bot, chat);
    const updated: EmulatedChat = {
      ...chat,
      botStatus: change.status,
      canInviteUsers: change.canInviteUsers ?? (change.status === 'creator' || chat.canInviteUsers),
    };
    this.chats.set(chatId, updated);
    const after = wireBotMember(this.bot, updated);
    if (JSON.stringify(before) === JSON.stringify(after)) return;
    this.emit('my_chat_member', `chat ${chatId}`, {
      chat: wireChat(updated),
      from: wireUser(OTHER_ADMIN),
      date: this.nowSeconds(),
      old_chat_member: before,
      new_chat_member: after,
    });
  }

  memberStatus(chatId: number, userId: number): UserMemberStatus {
    return this.roster.status(chatId, userId);
  }

  /** Pending requests, oldest first. */
  joinRequests(chatId: number): PendingJoinRequest[] {
    return this.roster.requestsOf(chatId).map((request) => ({
      userId: request.userId,
      date: request.date,
      bio: request.bio,
      inviteLink: request.viaHash === undefined ? undefined : this.findLink(request.viaHash)?.link.invite_link,
    }));
  }

  inviteLinkUsage(chatId: number, inviteLink: string): InviteLinkUsage {
    const hash = inviteHash(inviteLink);
    return {
      memberCount: this.roster.memberCountVia(chatId, hash),
      joinCount: this.roster.joinCountVia(chatId, hash),
      pendingJoinRequestCount: this.roster.pendingCountVia(chatId, hash),
    };
  }

  /** Updates not yet confirmed, as getUpdates would return them; reading confirms nothing. */
  pendingUpdates(): Update[] {
    return this.queue.pending().map(wireUpdate);
  }

  // -------------------------------------------------------------------------------------------

  private async handleRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://emulator');
    const control = matchControlRoute(request, url.pathname, this.controlSecret);
    if (control?.kind === 'refused') {
      return sendFailure(
        response,
        control.status === 403 ? new TelegramFailure(ERROR_TEXTS.forbidden, 403) : new TelegramFailure(ERROR_TEXTS.notFound, 404),
      );
    }
    if (control) return this.handleControl(request, response, control.route);

    const route = /^\/bot([^/]*)\/([^/]*)$/.exec(url.pathname);
    if (!route) return sendFailure(response, new TelegramFailure(ERROR_TEXTS.notFound));
    const [, token = '', methodName = ''] = route;
    if (token !== this.botToken) return sendFailure(response, new TelegramFailure(ERROR_TEXTS.unauthorized));
    const method = this.methods.get(methodName.toLowerCase());
    if (!method) return sendFailure(response, new TelegramFailure(ERROR_TEXTS.notFound));

    let received: Record<string, unknown>;
    try {
      received = await readParams(request, url);
    } catch (error) {
      if (error instanceof UnparsableBodyError) {
        return sendFailure(response, new TelegramFailure(ERROR_TEXTS.jsonObjectExpected));
      }
      throw error;
    }
    this.calls.push({ method: method.name, params: received, at: this.now() });

    const injected = this.takeFailure(method.name);
    if (injected && injected.kind !== 'slowAnswer') return this.sendInjectedFailure(response, injected);

    let answer: () => void;
    try {
      const result: unknown = await method.handle(new WireParams(received));
      answer = () => sendResult(response, result);
    } catch (error) {
      if (!(error instanceof TelegramFailure)) throw error;
      answer = () => sendFailure(response, error);
    }
    if (injected?.kind === 'slowAnswer') {
      setTimeout(() => {
        if (response.socket && !response.socket.destroyed) answer();
      }, injected.delayMs).unref();
    } else {
      answer();
    }
  }

  /** `route` is the path after `/_emulator/` (and the control secret). */
  private async handleControl(request: IncomingMessage, response: ServerResponse, route: string): Promise<void> {
    const key = `${request.method ?? 'GET'} ${route}`;
    if (key === 'GET calls') return sendResult(response, this.calls);
    if (key === 'GET updates') return sendResult(response, this.pendingUpdates());
    const action = this.controlActions()[key];
    if (!action) return sendFailure(response, new TelegramFailure(ERROR_TEXTS.notFound));

    const body = parseJson((await readBody(request)).toString('utf8'));
    if (body === undefined) return sendFailure(response, new TelegramFailure(ERROR_TEXTS.jsonObjectExpected));
    const parsed = action.schema.safeParse(body);
    if (!parsed.success) {
      return sendFailure(response, new TelegramFailure(`Bad Request: ${z.prettifyError(parsed.error)}`));
    }
    try {
      sendResult(response, action.run(parsed.data));
    } catch (error) {
      if (!(error instanceof EmulatorRefusal)) throw error;
      sendFailure(response, new TelegramFailure(error.text, 409));
    }
  }

  private controlActions(): Record<string, { schema: z.ZodType; run: (body: unknown) => unknown }> {
    const action = <T>(schema: z.ZodType<T>, run: (body: T) => unknown) => ({
      schema,
      run: (body: unknown) => run(body as T),
    });
    return {
      'POST chat': action(emulatedChatSchema, (chat) => {
        this.setChat(chat);
        return true;
      }),
      'POST fail': action(failRequestSchema, ({ method, times, ...failure }) => {
        this.failNext(failure, { method, times });
        return true;
      }),
      'POST join': action(joinRequestSchema, ({ inviteLink, chatId, userId, ...options }) =>
        this.join(inviteLink ?? chatId!, userId, options),
      ),
      'POST leave': action(chatUserSchema, ({ chatId, userId }) => {
        this.leave(chatId, userId);
        return 'left';
      }),
      'POST kick': action(chatUserSchema, ({ chatId, userId }) => {
        this.kick(chatId, userId);
        return 'kicked';
      }),
      'POST unban': action(chatUserSchema, ({ chatId, userId }) => {
        this.unban(chatId, userId);
        return 'left';
      }),
      'POST join-request': action(decideRequestSchema, ({ chatId, userId, approve }) => {
        this.decideJoinRequest(chatId, userId, approve);
        return approve ? 'approved' : 'declined';
      }),
      'POST bot-status': action(botStatusSchema, ({ chatId, ...change }) => {
        this.setBotStatus(chatId, change);
        return true;
      }),
    };
  }

  private takeFailure(methodName: string): InjectedFailure | undefined {
    const method = methodName.toLowerCase();
    const index = this.pendingFailures.findIndex((pending) => pending.method === undefined || pending.method === method);
    const pending = this.pendingFailures[index];
    if (!pending) return undefined;
    pending.remaining -= 1;
    if (pending.remaining <= 0) this.pendingFailures.splice(index, 1);
    return pending.failure;
  }

  private sendInjectedFailure(response: ServerResponse, failure: Exclude<InjectedFailure, { kind: 'slowAnswer' }>): void {
    switch (failure.kind) {
      case 'rateLimit':
        return sendFailure(
          response,
          new TelegramFailure(ERROR_TEXTS.tooManyRequests(failure.retryAfter), 429, {
            retry_after: failure.retryAfter,
          }),
        );
      case 'serverError': {
        const status = failure.status ?? 500;
        return sendFailure(response, new TelegramFailure(ERROR_TEXTS.serverError(status), status));
      }
      case 'hang':
        // Left unanswered: close() destroys the socket.
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Chats, members and links

  private getMe(): unknown {
    return {
      ...this.bot,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    };
  }

  private getChat(params: WireParams): unknown {
    const chat = this.requireChat(params, 'read');
    return { id: chat.id, type: chat.type, title: chat.title, username: chat.username, description: this.descriptions.get(chat.id) };
  }

  private getChatMember(params: WireParams): unknown {
    const userId = params.integer('user_id', 0);
    if (userId === 0) throw new TelegramFailure(ERROR_TEXTS.invalidUserId);
    const chat = this.requireChat(params, 'read');
    if (userId === this.bot.id) return wireBotMember(this.bot, chat);
    // A user the bot has seen (joined, left or asked to join) has a status; any other is not found.
    const known = this.users.get(userId);
    if (!known) throw new TelegramFailure(ERROR_TEXTS.memberNotFound);
    return wireUserMember(known.user, this.roster.status(chat.id, userId));
  }

  /**
   * The member limit is checked before the bot's rights: since tdlib commit 7f923dc5c (2024-08-19,
   * "Move link parameters checks to export_dialog_invite_link") export_dialog_invite_link checks
   * it before export_dialog_invite_link_impl checks can_manage_dialog_invite_links. Edits check
   * the rights first (edit_dialog_invite_link).
   */
  private createChatInviteLink(params: WireParams): ChatInviteLink {
    const chat = this.requireChat(params, 'write');
    const settings = readLinkSettings(params);
    if (settings.createsJoinRequest && settings.memberLimit > 0) {
      throw new TelegramFailure(ERROR_TEXTS.memberLimitWithJoinRequest);
    }
    this.requireInviteRights(chat);
    this.validateLinkSettings(settings);
    const link = this.applySettings(
      {
        invite_link: this.newInviteLink(),
        creator: { ...this.bot },
        creates_join_request: false,
        is_primary: false,
        is_revoked: false,
      },
      settings,
    );
    this.storeLink(chat.id, link);
    return this.wireLinkOf(chat.id, link);
  }

  private createChatSubscriptionInviteLink(params: WireParams): ChatInviteLink {
    const chat = this.requireChat(params, 'write');
    const name = cleanLinkName(params.text('name'));
    const period = params.integer('subscription_period', 0, 1_000_000_000);
    const price = params.integer('subscription_price', 0, 1_000_000);
    if (period <= 0 || price <= 0) throw new TelegramFailure(ERROR_TEXTS.subscriptionPricingInvalid);
    this.requireInviteRights(chat);
    if (chat.type !== 'channel') throw new TelegramFailure(ERROR_TEXTS.subscriptionOutsideChannel);
    if (period !== SUBSCRIPTION_PERIOD_SECONDS) throw new TelegramFailure(ERROR_TEXTS.subscriptionPeriodInvalid);
    if (price > MAX_SUBSCRIPTION_PRICE) throw new TelegramFailure(ERROR_TEXTS.subscriptionPriceTooHigh);

    const link: ChatInviteLink = {
      invite_link: this.newInviteLink(),
      creator: { ...this.bot },
      creates_join_request: false,
      is_primary: false,
      is_revoked: false,
      name: name || undefined,
      subscription_period: period,
      subscription_price: price,
    };
    this.storeLink(chat.id, link);
    return this.wireLinkOf(chat.id, link);
  }

  /** Like Telegram, every setting not sent is cleared: name, expiry, limit, join requests. */
  private editChatInviteLink(params: WireParams): ChatInviteLink {
    const chat = this.requireChat(params, 'write');
    const settings = readLinkSettings(params);
    this.requireInviteRights(chat);
    if (settings.createsJoinRequest && settings.memberLimit > 0) {
      throw new TelegramFailure(ERROR_TEXTS.memberLimitWithJoinRequest);
    }
    const link = this.requireOwnLink(chat, params);
    if (link.is_revoked) throw new TelegramFailure(ERROR_TEXTS.inviteLinkRevoked);
    if (isSubscriptionLink(link)) throw new TelegramFailure(ERROR_TEXTS.subscriptionLinkNeedsItsMethod);
    this.validateLinkSettings(settings);

    const edited = this.applySettings(link, settings);
    this.replaceLink(chat.id, link, edited);
    return this.wireLinkOf(chat.id, edited);
  }

  private editChatSubscriptionInviteLink(params: WireParams): ChatInviteLink {
    const chat = this.requireChat(params, 'write');
    const name = cleanLinkName(params.text('name'));
    this.requireInviteRights(chat);
    const link = this.requireOwnLink(chat, params);
    if (link.is_revoked) throw new TelegramFailure(ERROR_TEXTS.inviteLinkRevoked);
    if (!isSubscriptionLink(link)) throw new TelegramFailure(ERROR_TEXTS.notASubscriptionLink);

    const edited: ChatInviteLink = { ...link, name: name || undefined };
    this.replaceLink(chat.id, link, edited);
    return this.wireLinkOf(chat.id, edited);
  }

  /** Revoking a revoked link answers with it again (unverified). */
  private revokeChatInviteLink(params: WireParams): ChatInviteLink {
    const chat = this.requireChat(params, 'write');
    this.requireInviteRights(chat);
    const link = this.requireOwnLink(chat, params);
    const revoked: ChatInviteLink = { ...link, is_revoked: true };
    this.replaceLink(chat.id, link, revoked);
    return this.wireLinkOf(chat.id, revoked);
  }

  /** Client.cpp process_approve/decline_chat_join_request_query, then tdlib and the server. */
  private processChatJoinRequest(params: WireParams, approve: boolean): true {
    const userId = params.integer('user_id', 0);
    if (userId <= 0) throw new TelegramFailure(ERROR_TEXTS.invalidUserId);
    const chat = this.requireChat(params, 'write');
    if (!this.botCanInviteUsers(chat)) throw new TelegramFailure(ERROR_TEXTS.joinRequestRightsMissing);
    if (!this.users.has(userId)) throw new TelegramFailure(ERROR_TEXTS.joinRequestUserUnknown);
    const request = this.roster.request(chat.id, userId);
    if (!request) throw new TelegramFailure(ERROR_TEXTS.joinRequestMissing);
    if (approve && this.roster.status(chat.id, userId) === 'member') {
      throw new TelegramFailure(ERROR_TEXTS.joinRequestUserIsMember);
    }
    this.roster.removeRequest(chat.id, userId);
    if (approve) this.admit(chat, request, this.bot);
    return true;
  }

  private joinThroughLink(inviteLink: string, user: User): JoinOutcome {
    const found = this.findLink(inviteHash(inviteLink));
    if (!found) throw new EmulatorRefusal(USER_REFUSALS.inviteHashInvalid);
    const { chat, link } = found;
    const hash = inviteHash(link.invite_link);
    if (link.is_revoked || (link.expire_date !== undefined && link.expire_date * 1000 <= this.now())) {
      throw new EmulatorRefusal(USER_REFUSALS.inviteHashExpired);
    }
    this.requireNotInChat(chat, user.id);
    if (link.creates_join_request) return this.requestToJoin(chat, user, hash);
    if (link.member_limit !== undefined && this.roster.memberCountVia(chat.id, hash) >= link.member_limit) {
      throw new EmulatorRefusal(USER_REFUSALS.usersTooMuch);
    }
    this.roster.join(chat.id, user.id, hash);
    this.emitChatMember(chat, user, 'left', 'member', user, { invite_link: this.linkAsSeenByBot(chat.id, link) });
    return 'joined';
  }

  private requireNotInChat(chat: EmulatedChat, userId: number): void {
    const status = this.roster.status(chat.id, userId);
    if (status === 'member') throw new EmulatorRefusal(USER_REFUSALS.alreadyParticipant);
    if (status === 'kicked') throw new EmulatorRefusal(USER_REFUSALS.channelPrivate);
  }

  /** A repeated request while one is pending changes nothing and sends no second update (unverified). */
  private requestToJoin(chat: EmulatedChat, user: User, viaHash: string | undefined): JoinOutcome {
    if (this.roster.request(chat.id, user.id)) return 'requested';
    const date = this.nowSeconds();
    const bio = this.users.get(user.id)?.bio;
    this.roster.addRequest(chat.id, { userId: user.id, date, bio, viaHash });
    if (!this.botCanInviteUsers(chat)) return 'requested';
    const link = viaHash === undefined ? undefined : this.findLink(viaHash)?.link;
    this.emit('chat_join_request', `user ${user.id}`, {
      chat: wireChat(chat),
      from: wireUser(user),
      user_chat_id: user.id,
      date,
      bio: bio || undefined,
      invite_link: link && this.linkAsSeenByBot(chat.id, link),
    });
    return 'requested';
  }

  /** The user of an approved request becomes a member. */
  private admit(chat: EmulatedChat, request: JoinRequestRecord, approver: User): void {
    const user = this.requireKnownUser(request.userId);
    const link = request.viaHash === undefined ? undefined : this.findLink(request.viaHash)?.link;
    this.roster.join(chat.id, user.id, request.viaHash);
    const marksWithLink = link !== undefined && this.approvedLinkJoinShape === 'invite_link';
    this.emitChatMember(chat, user, 'left', 'member', approver, {
      invite_link: marksWithLink ? this.linkAsSeenByBot(chat.id, link) : undefined,
      via_join_request: marksWithLink ? undefined : true,
    });
  }

  private requireChat(params: WireParams, access: Access): EmulatedChat {
    const chatId = params.text('chat_id');
    if (chatId === '') throw new TelegramFailure(ERROR_TEXTS.chatIdEmpty);
    const username = chatId.startsWith('@') ? chatId.slice(1).toLowerCase() : undefined;
    const chat =
      username === undefined
        ? this.chats.get(params.integer('chat_id'))
        : [...this.chats.values()].find((candidate) => candidate.username?.toLowerCase() === username);
    if (!chat) throw new TelegramFailure(ERROR_TEXTS.chatNotFound);
    if (chat.botStatus === 'kicked') throw new TelegramFailure(ERROR_TEXTS.botKicked[chat.type]);
    // A public chat can be read without being in it; a private one cannot.
    if (chat.botStatus === 'left' && (access === 'write' || chat.username === undefined)) {
      throw new TelegramFailure(ERROR_TEXTS.botNotMember[chat.type]);
    }
    return chat;
  }

  private requireKnownChat(chatId: number): EmulatedChat {
    const chat = this.chats.get(chatId);
    if (!chat) throw new Error(`TelegramEmulator has no chat ${chatId}`);
    return chat;
  }

  private requireKnownUser(userId: number): User {
    const known = this.users.get(userId);
    if (!known) throw new Error(`TelegramEmulator has no user ${userId}`);
    return known.user;
  }

  private rememberUser(userId: number, profile: UserProfile): User {
    if (!Number.isSafeInteger(userId) || userId <= 0) throw new Error(`user ids are positive integers, got ${userId}`);
    if (userId === this.bot.id) throw new Error('the bot joins and leaves through setBotStatus');
    const known = this.users.get(userId);
    const user: User = {
      id: userId,
      is_bot: false,
      first_name: profile.firstName ?? known?.user.first_name ?? `User ${userId}`,
      last_name: profile.lastName ?? known?.user.last_name,
      username: profile.username ?? known?.user.username,
      language_code: profile.languageCode ?? known?.user.language_code,
    };
    this.users.set(userId, { user, bio: profile.bio ?? known?.bio });
    return user;
  }

  private requireInviteRights(chat: EmulatedChat): void {
    if (chat.botStatus === 'creator') return;
    if (chat.botStatus !== 'administrator') throw new TelegramFailure(ERROR_TEXTS.botNotAdministrator);
    if (!chat.canInviteUsers) throw new TelegramFailure(ERROR_TEXTS.botCannotInviteUsers);
  }

  private botIsAdministrator(chat: EmulatedChat): boolean {
    return chat.botStatus === 'creator' || chat.botStatus === 'administrator';
  }

  /** tdlib's can_manage_invite_links. */
  private botCanInviteUsers(chat: EmulatedChat): boolean {
    return chat.botStatus === 'creator' || (chat.botStatus === 'administrator' && chat.canInviteUsers);
  }

  private requireOwnLink(chat: EmulatedChat, params: WireParams): ChatInviteLink {
    const inviteLink = params.text('invite_link');
    if (inviteLink === '') throw new TelegramFailure(ERROR_TEXTS.inviteLinkEmpty);
    const hash = inviteHash(inviteLink);
    const link = this.linksByChat.get(chat.id)?.find((candidate) => inviteHash(candidate.invite_link) === hash);
    if (!link) throw new TelegramFailure(ERROR_TEXTS.inviteLinkNotFound);
    if (link.creator.id !== this.bot.id) throw new TelegramFailure(ERROR_TEXTS.inviteLinkOfAnotherAdmin);
    return link;
  }

  private findLink(hash: string): { chat: EmulatedChat; link: ChatInviteLink } | undefined {
    for (const [chatId, chatLinks] of this.linksByChat) {
      const link = chatLinks.find((candidate) => inviteHash(candidate.invite_link) === hash);
      const chat = this.chats.get(chatId);
      if (link && chat) return { chat, link };
    }
    return undefined;
  }

  private validateLinkSettings(settings: LinkSettings): void {
    if (settings.expireDate > 0 && settings.expireDate * 1000 <= this.now()) {
      throw new TelegramFailure(ERROR_TEXTS.expireDateInvalid);
    }
    if (settings.memberLimit > MAX_MEMBER_LIMIT) throw new TelegramFailure(ERROR_TEXTS.usageLimitInvalid);
  }

  /** Links are stored with undefined for absent fields; JSON leaves them out. */
  private applySettings(link: ChatInviteLink, settings: LinkSettings): ChatInviteLink {
    return {
      ...link,
      name: settings.name || undefined,
      expire_date: settings.expireDate || undefined,
      member_limit: settings.memberLimit || undefined,
      creates_join_request: settings.createsJoinRequest,
    };
  }

  private wireLinkOf(chatId: number, link: ChatInviteLink): ChatInviteLink {
    return wireLink(link, this.roster.pendingCountVia(chatId, inviteHash(link.invite_link)));
  }

  /** In updates, another admin's link arrives with its tail hidden. */
  private linkAsSeenByBot(chatId: number, link: ChatInviteLink): ChatInviteLink {
    const wire = withoutAbsentFields(this.wireLinkOf(chatId, link));
    return link.creator.id === this.bot.id ? wire : { ...wire, invite_link: hiddenInviteLink(wire.invite_link) };
  }

  private newInviteLink(): string {
    let hash: string;
    do hash = randomBytes(12).toString('base64url');
    while (this.usedHashes.has(hash));
    this.usedHashes.add(hash);
    return `https://t.me/+${hash}`;
  }

  private storeLink(chatId: number, link: ChatInviteLink): void {
    const chatLinks = this.linksByChat.get(chatId) ?? [];
    chatLinks.push(link);
    this.linksByChat.set(chatId, chatLinks);
  }

  private replaceLink(chatId: number, current: ChatInviteLink, next: ChatInviteLink): void {
    const chatLinks = this.linksByChat.get(chatId) ?? [];
    chatLinks[chatLinks.indexOf(current)] = next;
  }

  // -------------------------------------------------------------------------------------------
  // Updates and their delivery

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** chat_member reaches only a bot that administers the chat. */
  private emitChatMember(
    chat: EmulatedChat,
    user: User,
    before: UserMemberStatus,
    after: UserMemberStatus,
    performer: User,
    extra: { invite_link?: ChatInviteLink; via_join_request?: true; via_chat_folder_invite_link?: true } = {},
  ): void {
    if (!this.botIsAdministrator(chat)) return;
    this.emit('chat_member', `user ${user.id}`, {
      chat: wireChat(chat),
      from: wireUser(performer),
      date: this.nowSeconds(),
      old_chat_member: wireUserMember(user, before),
      new_chat_member: wireUserMember(user, after),
      invite_link: extra.invite_link,
      via_join_request: extra.via_join_request,
      via_chat_folder_invite_link: extra.via_chat_folder_invite_link,
    });
  }

  /** An update of a type allowed_updates leaves out is never made (add_update_impl). */
  private emit(type: UpdateType, deliveryQueue: string, payload: Record<string, unknown>): void {
    if (!isAllowed(this.allowedUpdates, type)) return;
    this.queue.push(type, withoutAbsentFields(payload), payload.date as number, deliveryQueue);
    if (this.webhook) {
      this.webhook.pump();
    } else if (this.longPoll && !this.longPollWakeScheduled) {
      // Updates made by one action leave together (LONG_POLL_WAIT_AFTER).
      this.longPollWakeScheduled = true;
      setImmediate(() => {
        this.longPollWakeScheduled = false;
        if (this.longPoll) this.finishLongPoll(this.longPoll);
      });
    }
  }

  private updateAllowedUpdates(params: WireParams): boolean {
    const parsed = parseAllowedUpdates(params.text('allowed_updates'));
    if (!parsed || sameAllowedUpdates(parsed, this.allowedUpdates)) return false;
    this.allowedUpdates = parsed;
    return true;
  }

  /**
   * process_get_updates_query and do_get_updates. Not emulated: the anti-spin rules for repeated
   * offsets (timeout raised to 3 s, limit cut to 1) and the 3-second pause before a repeated 409.
   */
  private getUpdates(params: WireParams): unknown {
    if (this.webhook) throw new TelegramFailure(ERROR_TEXTS.getUpdatesWhileWebhook);
    const offset = params.integer('offset', -INT32_MAX, INT32_MAX);
    const limit = params.integer('limit', 1, 100, 100);
    const timeout = params.integer('timeout', 0, MAX_LONG_POLL_SECONDS);
    this.updateAllowedUpdates(params);

    const updates = this.queue.read(offset, limit);
    if (timeout === 0 || updates.length > 0) return updates.map(wireUpdate);
    // A long poll waits; an earlier one still waiting is told it was terminated.
    this.abortLongPoll(ERROR_TEXTS.terminatedByOtherGetUpdates);
    const pollOffset = offset > 0 ? offset : this.queue.headId;
    return new Promise((resolve, reject) => {
      const poll: LongPoll = {
        offset: pollOffset,
        limit,
        resolve,
        reject,
        timer: setTimeout(() => this.finishLongPoll(poll), timeout * this.timing.longPollSecondMs),
      };
      this.longPoll = poll;
    });
  }

  private finishLongPoll(poll: LongPoll): void {
    if (this.longPoll !== poll) return;
    this.longPoll = undefined;
    clearTimeout(poll.timer);
    poll.resolve(this.queue.read(poll.offset, poll.limit).map(wireUpdate));
  }

  private abortLongPoll(description: string): void {
    const poll = this.longPoll;
    if (!poll) return;
    this.longPoll = undefined;
    clearTimeout(poll.timer);
    poll.reject(new TelegramFailure(description));
  }

  /**
   * process_set_webhook_query / do_set_webhook / finish_set_webhook; deleteWebhook is setWebhook
   * with no url. Like a local Bot API server (`telegram-bot-api --local`), any http or https URL on
   * any port is accepted; api.telegram.org takes only https on ports 443, 80, 88 and 8443. Not
   * emulated: certificates, ip_address, the one-call-per-second limit, and the connection test
   * Telegram makes before answering (an unreachable webhook shows up in getWebhookInfo instead).
   */
  private setWebhook(params: WireParams, url: string): DescribedResult {
    const maxConnections = url ? params.integer('max_connections', 1, MAX_WEBHOOK_MAX_CONNECTIONS, DEFAULT_WEBHOOK_MAX_CONNECTIONS) : 0;
    const secretToken = url ? params.text('secret_token') : '';
    const dropPendingUpdates = params.boolean('drop_pending_updates');
    const current = this.webhook?.settings;
    if (
      (current?.url ?? '') === url &&
      (current?.maxConnections ?? 0) === maxConnections &&
      (current?.secretToken ?? '') === secretToken &&
      !dropPendingUpdates
    ) {
      this.updateAllowedUpdates(params);
      return new DescribedResult(true, url ? WEBHOOK_ANSWERS.alreadySet : WEBHOOK_ANSWERS.alreadyDeleted);
    }

    if (url) this.abortLongPoll(ERROR_TEXTS.terminatedBySetWebhook);
    const hadWebhook = this.webhook !== undefined;
    this.webhook?.close();
    this.webhook = undefined;
    if (dropPendingUpdates) this.queue.clear();
    if (!url) return new DescribedResult(true, hadWebhook ? WEBHOOK_ANSWERS.deleted : WEBHOOK_ANSWERS.alreadyDeleted);

    const target = parseWebhookUrl(url);
    if (!target) throw new TelegramFailure(ERROR_TEXTS.webhookUrlInvalid);
    if (secretToken.length > MAX_SECRET_TOKEN_LENGTH) throw new TelegramFailure(ERROR_TEXTS.secretTokenTooLong);
    if (!/^[A-Za-z0-9_-]*$/.test(secretToken)) throw new TelegramFailure(ERROR_TEXTS.secretTokenCharacters);

    this.updateAllowedUpdates(params);
    this.webhook = new WebhookDelivery(
      { url, secretToken, maxConnections },
      target,
      this.queue,
      { retrySecondMs: this.timing.webhookRetrySecondMs, requestTimeoutMs: this.timing.webhookTimeoutMs },
      () => this.nowSeconds(),
    );
    this.webhook.pump();
    return new DescribedResult(true, WEBHOOK_ANSWERS.set);
  }

  /** JsonWebhookInfo. */
  private getWebhookInfo(): unknown {
    const webhook = this.webhook;
    const host = webhook ? (parseWebhookUrl(webhook.settings.url)?.hostname ?? '') : '';
    return withoutAbsentFields({
      url: webhook?.settings.url ?? '',
      has_custom_certificate: false,
      pending_update_count: this.queue.pending().length,
      last_error_date: webhook?.lastErrorDate || undefined,
      last_error_message: webhook?.lastErrorDate ? webhook.lastErrorMessage : undefined,
      max_connections: webhook?.settings.maxConnections,
      ip_address: webhook ? (isIpLiteral(host) ? host.replace(/^\[|\]$/g, '') : '<unknown>') : undefined,
      allowed_updates: listAllowedUpdates(this.allowedUpdates),
    });
  }
}

function wireUpdate(update: QueuedUpdate): Update {
  return { update_id: update.id, [update.type]: update.payload } as unknown as Update;
}
