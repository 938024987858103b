import { randomBytes } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatInviteLink, User } from 'node-telegram-bot-api';
import { z } from 'zod';
import { readBody, readParams, UnparsableBodyError, WireParams } from './telegram/request-params.ts';

export type { ChatInviteLink } from 'node-telegram-bot-api';

// ---------------------------------------------------------------------------------------------
// Every error text the emulator answers with. Sources:
//   [bot-api]  tdlib/telegram-bot-api telegram-bot-api/Client.cpp (check_chat, check_chat_access,
//              get_user_id, fail_query_with_error: a server error NAME becomes "Bad Request: NAME")
//   [http]     tdlib/telegram-bot-api telegram-bot-api/HttpConnection.cpp, tdlib/td tdnet/td/net/HttpReader.cpp
//   [links]    tdlib/td td/telegram/DialogInviteLinkManager.cpp (can_manage_dialog_invite_links,
//              export_dialog_invite_link, edit_dialog_invite_link)
//   [members]  tdlib/td td/telegram/DialogParticipantManager.cpp (get_channel_participant)
//   [mtproto]  "Possible errors" of messages.exportChatInvite / messages.editExportedChatInvite on
//              core.telegram.org: the names are documented, which input triggers them is inferred
// ---------------------------------------------------------------------------------------------
const ERROR_TEXTS = {
  // [bot-api] get_closing_error; api.telegram.org is also seen answering "Unauthorized: invalid token specified"
  unauthorized: 'Unauthorized',
  // [http] for paths outside /bot<token>/; unverified for unknown methods (the open-source
  // server says "Not Found: method not found")
  notFound: 'Not Found',
  // [http] parse_json_parameters
  jsonObjectExpected: 'Bad Request: JSON object expected',
  // [bot-api] get_retry_after_time
  tooManyRequests: (retryAfter: number) => `Too Many Requests: retry after ${retryAfter}`,
  // [bot-api] "Internal Server Error" for 500; unverified for other statuses
  serverError: (status: number) => STATUS_CODES[status] ?? 'Internal Server Error',
  // [bot-api]
  chatIdEmpty: 'Bad Request: chat_id is empty',
  chatNotFound: 'Bad Request: chat not found',
  invalidUserId: 'Bad Request: invalid user_id specified',
  botKicked: {
    channel: 'Forbidden: bot was kicked from the channel chat',
    supergroup: 'Forbidden: bot was kicked from the supergroup chat',
  },
  botNotMember: {
    channel: 'Forbidden: bot is not a member of the channel chat',
    supergroup: 'Forbidden: bot is not a member of the supergroup chat',
  },
  // [members] any user the bot has never seen
  memberNotFound: 'Bad Request: member not found',
  // [links] tdlib refuses by itself any bot without can_invite_users, administrator or not, so
  // "Bad Request: CHAT_ADMIN_REQUIRED" only comes from the server behind it (a stale status)
  botNotAdministrator: 'Bad Request: not enough rights to manage chat invite link',
  botCannotInviteUsers: 'Bad Request: not enough rights to manage chat invite link',
  // [links]
  memberLimitWithJoinRequest: "Bad Request: member limit can't be specified for links requiring administrator approval",
  inviteLinkEmpty: 'Bad Request: invite link must be non-empty',
  // [links] subscription_period or subscription_price not positive
  subscriptionPricingInvalid: 'Bad Request: invalid subscription pricing specified',
  // [mtproto] expire_date not in the future
  expireDateInvalid: 'Bad Request: EXPIRE_DATE_INVALID',
  // [mtproto] member_limit above 99999
  usageLimitInvalid: 'Bad Request: USAGE_LIMIT_INVALID',
  // [mtproto] subscription_period other than 30 days
  subscriptionPeriodInvalid: 'Bad Request: SUBSCRIPTION_PERIOD_INVALID',
  // [mtproto] subscription_price above stars_subscription_amount_max (10000)
  subscriptionPriceTooHigh: 'Bad Request: PRICING_CHAT_INVALID',
  subscriptionOutsideChannel: 'Bad Request: PRICING_CHAT_INVALID', // unverified
  inviteLinkNotFound: 'Bad Request: INVITE_HASH_EXPIRED', // unverified
  inviteLinkRevoked: 'Bad Request: INVITE_HASH_EXPIRED', // unverified
  inviteLinkOfAnotherAdmin: 'Bad Request: CHAT_ADMIN_REQUIRED', // unverified
  // unverified
  subscriptionLinkNeedsItsMethod:
    'Bad Request: subscription invite links can be edited only by editChatSubscriptionInviteLink',
  notASubscriptionLink: 'Bad Request: the invite link is not a subscription invite link', // unverified
} as const;

const ERROR_CODE_BY_PREFIX: [prefix: string, errorCode: number][] = [
  ['Bad Request', 400],
  ['Unauthorized', 401],
  ['Forbidden', 403],
  ['Not Found', 404],
];

const MAX_LINK_NAME_LENGTH = 32;
const MAX_MEMBER_LIMIT = 99_999;
const SUBSCRIPTION_PERIOD_SECONDS = 2_592_000;
const MAX_SUBSCRIPTION_PRICE = 10_000;
const INT32_MAX = 2 ** 31 - 1;
const DEFAULT_BOT_ID = 7_000_000_001;
const OTHER_ADMIN: User = { id: 5_000_000_001, is_bot: false, first_name: 'Channel admin' };

export type BotMemberStatus = 'creator' | 'administrator' | 'member' | 'left' | 'kicked';

export interface EmulatedChat {
  id: number;
  type: 'channel' | 'supergroup';
  title: string;
  username?: string;
  botStatus: BotMemberStatus;
  canInviteUsers: boolean;
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

export interface TelegramEmulatorOptions {
  botToken: string;
  /** Defaults to the number before ":" in the token, as in real tokens. */
  botId?: number;
  botUsername?: string;
  chats?: EmulatedChat[];
  /** Milliseconds since the epoch. */
  now?: () => number;
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

class TelegramFailure extends Error {
  readonly errorCode: number;

  constructor(
    readonly description: string,
    errorCode?: number,
    readonly parameters?: { retry_after: number },
  ) {
    super(description);
    this.errorCode = errorCode ?? ERROR_CODE_BY_PREFIX.find(([prefix]) => description.startsWith(prefix))?.[1] ?? 400;
  }
}

const emulatedChatSchema = z.object({
  id: z.number().int(),
  type: z.enum(['channel', 'supergroup']),
  title: z.string(),
  username: z.string().optional(),
  botStatus: z.enum(['creator', 'administrator', 'member', 'left', 'kicked']),
  canInviteUsers: z.boolean(),
});

const failTarget = { method: z.string().optional(), times: z.number().int().positive().optional() };
const failRequestSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('rateLimit'), retryAfter: z.number().int().positive(), ...failTarget }),
  z.object({ kind: z.literal('serverError'), status: z.number().int().min(500).max(599).optional(), ...failTarget }),
  z.object({ kind: z.literal('hang'), ...failTarget }),
  z.object({ kind: z.literal('slowAnswer'), delayMs: z.number().int().positive(), ...failTarget }),
]);

type Access = 'read' | 'write';
type MethodHandler = (params: WireParams) => unknown;

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

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

function sendFailure(response: ServerResponse, failure: TelegramFailure): void {
  const retryAfter = failure.parameters?.retry_after;
  sendJson(
    response,
    failure.errorCode,
    { ok: false, error_code: failure.errorCode, description: failure.description, parameters: failure.parameters },
    retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
  );
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

/** Links are matched by their hash, whatever form (t.me/+, t.me/joinchat/, tg://join) is sent. */
function inviteHash(inviteLink: string): string {
  return /(?:\/\+|\/joinchat\/|[?&]invite=)([\w-]+)/.exec(inviteLink)?.[1] ?? inviteLink;
}

/** Field order as telegram-bot-api writes it; JSON drops the absent (undefined) ones. */
function wireLink(link: ChatInviteLink): ChatInviteLink {
  return {
    invite_link: link.invite_link,
    name: link.name,
    creator: link.creator,
    expire_date: link.expire_date,
    member_limit: link.member_limit,
    pending_join_request_count: link.pending_join_request_count,
    subscription_period: link.subscription_period,
    subscription_price: link.subscription_price,
    creates_join_request: link.creates_join_request,
    is_primary: link.is_primary,
    is_revoked: link.is_revoked,
  };
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

/** A copy without the keys whose value is undefined, as a client would see it. */
function withoutAbsentFields(link: ChatInviteLink): ChatInviteLink {
  return JSON.parse(JSON.stringify(wireLink(link))) as ChatInviteLink;
}

export class TelegramEmulator {
  /** Every request that reached a known method with the right token, in order. */
  readonly calls: RecordedCall[] = [];
  private readonly botToken: string;
  private readonly bot: User;
  private readonly now: () => number;
  private readonly chats = new Map<number, EmulatedChat>();
  private readonly linksByChat = new Map<number, ChatInviteLink[]>();
  private readonly usedHashes = new Set<string>();
  private readonly pendingFailures: PendingFailure[] = [];
  private readonly methods: Map<string, { name: string; handle: MethodHandler }>;
  private server: Server | undefined;
  private root: string | undefined;

  constructor(options: TelegramEmulatorOptions) {
    this.botToken = options.botToken;
    this.bot = {
      id: options.botId ?? botIdFromToken(options.botToken),
      is_bot: true,
      first_name: 'Sandbox bot',
      username: options.botUsername ?? 'sandbox_invite_bot',
    };
    this.now = options.now ?? Date.now;
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
    };
    // Bot API method names are case-insensitive.
    this.methods = new Map(
      Object.entries(handlers).map(([name, handle]) => [name.toLowerCase(), { name, handle }]),
    );
  }

  get apiRoot(): string {
    if (this.root === undefined) throw new Error('TelegramEmulator is not listening');
    return this.root;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error('TelegramEmulator is already listening');
    const server = createServer((request, response) => {
      this.handleRequest(request, response).catch((error: unknown) => {
        if (!response.headersSent) sendFailure(response, new TelegramFailure(String(error), 500));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port: boundPort } = server.address() as AddressInfo;
    this.server = server;
    this.root = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
    return this.root;
  }

  /** Also drops open connections, including requests held by a 'hang' failure. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.root = undefined;
    await new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    });
  }

  setChat(chat: EmulatedChat): void {
    this.chats.set(chat.id, { ...chat });
  }

  updateChat(id: number, patch: Partial<EmulatedChat>): void {
    const chat = this.chats.get(id);
    if (!chat) throw new Error(`TelegramEmulator has no chat ${id}`);
    this.chats.set(id, { ...chat, ...patch, id });
  }

  failNext(failure: InjectedFailure, options: { method?: string; times?: number } = {}): void {
    this.pendingFailures.push({
      failure: { ...failure },
      method: options.method?.toLowerCase(),
      remaining: options.times ?? 1,
    });
  }

  links(chatId: number): ChatInviteLink[] {
    return (this.linksByChat.get(chatId) ?? []).map(withoutAbsentFields);
  }

  addForeignLink(chatId: number, fields: Partial<ChatInviteLink> = {}): string {
    if (!this.chats.has(chatId)) throw new Error(`TelegramEmulator has no chat ${chatId}`);
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

  private async handleRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://emulator');
    if (url.pathname.startsWith('/_emulator/')) return this.handleControl(request, response, url);

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
      const result = method.handle(new WireParams(received));
      answer = () => sendJson(response, 200, { ok: true, result });
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

  private async handleControl(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const route = `${request.method ?? 'GET'} ${url.pathname}`;
    if (route === 'GET /_emulator/calls') return sendJson(response, 200, { ok: true, result: this.calls });
    if (route !== 'POST /_emulator/fail' && route !== 'POST /_emulator/chat') {
      return sendFailure(response, new TelegramFailure(ERROR_TEXTS.notFound));
    }

    let body: unknown;
    try {
      body = JSON.parse((await readBody(request)).toString('utf8'));
    } catch {
      return sendFailure(response, new TelegramFailure(ERROR_TEXTS.jsonObjectExpected));
    }
    if (route === 'POST /_emulator/chat') {
      const chat = emulatedChatSchema.safeParse(body);
      if (!chat.success) {
        return sendFailure(response, new TelegramFailure(`Bad Request: ${z.prettifyError(chat.error)}`));
      }
      this.setChat(chat.data);
    } else {
      const parsed = failRequestSchema.safeParse(body);
      if (!parsed.success) {
        return sendFailure(response, new TelegramFailure(`Bad Request: ${z.prettifyError(parsed.error)}`));
      }
      const { method, times, ...failure } = parsed.data;
      this.failNext(failure, { method, times });
    }
    sendJson(response, 200, { ok: true, result: true });
  }

  private takeFailure(methodName: string): InjectedFailure | undefined {
    const method = methodName.toLowerCase();
    const index = this.pendingFailures.findIndex(
      (pending) => pending.method === undefined || pending.method === method,
    );
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
    if (userId !== this.bot.id) throw new TelegramFailure(ERROR_TEXTS.memberNotFound);

    const user = { ...this.bot };
    switch (chat.botStatus) {
      case 'creator':
        return { user, status: 'creator', is_anonymous: false };
      case 'administrator':
        return { user, status: 'administrator', can_be_edited: false, ...this.administratorRights(chat) };
      case 'kicked':
        return { user, status: 'kicked', until_date: 0 };
      default:
        return { user, status: chat.botStatus };
    }
  }

  /** Field set and order of telegram-bot-api's json_store_administrator_rights. */
  private administratorRights(chat: EmulatedChat): Record<string, boolean> {
    const isChannel = chat.type === 'channel';
    return {
      can_manage_chat: true,
      can_change_info: false,
      ...(isChannel ? { can_post_messages: true, can_edit_messages: false } : {}),
      can_delete_messages: false,
      can_invite_users: chat.canInviteUsers,
      can_restrict_members: false,
      ...(isChannel ? {} : { can_pin_messages: false, can_manage_topics: false }),
      can_promote_members: false,
      can_manage_video_chats: false,
      can_post_stories: false,
      can_edit_stories: false,
      can_delete_stories: false,
      ...(isChannel ? { can_manage_direct_messages: false } : { can_manage_tags: false }),
      is_anonymous: false,
    };
  }

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
    return wireLink(link);
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
    return wireLink(link);
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
    return wireLink(edited);
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
    return wireLink(edited);
  }

  /** Revoking a revoked link answers with it again (unverified). */
  private revokeChatInviteLink(params: WireParams): ChatInviteLink {
    const chat = this.requireChat(params, 'write');
    this.requireInviteRights(chat);
    const link = this.requireOwnLink(chat, params);
    const revoked: ChatInviteLink = { ...link, is_revoked: true };
    this.replaceLink(chat.id, link, revoked);
    return wireLink(revoked);
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

  private requireInviteRights(chat: EmulatedChat): void {
    if (chat.botStatus === 'creator') return;
    if (chat.botStatus !== 'administrator') throw new TelegramFailure(ERROR_TEXTS.botNotAdministrator);
    if (!chat.canInviteUsers) throw new TelegramFailure(ERROR_TEXTS.botCannotInviteUsers);
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
}
