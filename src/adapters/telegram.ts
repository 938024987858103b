import { setTimeout as sleep } from 'node:timers/promises';
import { Bot, NetworkError, ParseError, TelegramApiError, TimeoutError } from 'node-telegram-bot-api';
import type { ChatInviteLink, Update } from 'node-telegram-bot-api/types';
import type { Logger } from '../logger.ts';
import { AppError, conflict, forbidden, rateLimited, upstreamError, validationFailed, badRequest } from '../errors.ts';

export interface ChatBotStatus {
  title: string;
  username: string | null;
  botIsMember: boolean;
  botIsAdmin: boolean;
  botCanInviteUsers: boolean;
}

export interface TelegramInviteLink {
  inviteLink: string;
  name: string | null;
  createsJoinRequest: boolean;
  expireDate: Date | null;
  memberLimit: number | null;
  subscriptionPeriod: number | null;
  subscriptionPrice: number | null;
  isRevoked: boolean;
  creatorId: number | null;
}

export interface RegularLinkFields {
  name: string;
  expireDate: Date | null;
  memberLimit: number | null;
  createsJoinRequest: boolean;
}

export interface SubscriptionLinkFields {
  name: string;
  subscriptionPeriod: number;
  subscriptionPrice: number;
}

/** What the service needs from Telegram; implemented over the Bot API, or its emulator in sandbox mode. */
export interface TelegramGateway {
  getChatStatus(chatId: number): Promise<ChatBotStatus>;
  /** The chat's description (where an owner puts a channel-verification code), null when it has none. */
  getChatDescription(chatId: number): Promise<string | null>;
  createInviteLink(chatId: number, fields: RegularLinkFields): Promise<TelegramInviteLink>;
  createSubscriptionInviteLink(chatId: number, fields: SubscriptionLinkFields): Promise<TelegramInviteLink>;
  /** Sends every field: Telegram clears the ones an edit omits. */
  editInviteLink(chatId: number, inviteLink: string, fields: RegularLinkFields): Promise<TelegramInviteLink>;
  editSubscriptionInviteLink(chatId: number, inviteLink: string, name: string): Promise<TelegramInviteLink>;
  revokeInviteLink(chatId: number, inviteLink: string): Promise<TelegramInviteLink>;
  /** approveChatJoinRequest / declineChatJoinRequest. */
  decideJoinRequest(chatId: number, userId: number, approve: boolean): Promise<void>;
  /** A user's status in the chat (getChatMember). */
  getMemberStatus(chatId: number, userId: number): Promise<MemberStatus>;
}

export type MemberStatus = 'creator' | 'administrator' | 'member' | 'restricted' | 'left' | 'kicked';

/** Receiving updates (src/services/telegram-poller.ts, the webhook set-up in src/app.ts). */
export interface TelegramUpdateSource {
  setWebhook(params: { url: string; secretToken: string; allowedUpdates: readonly string[] }): Promise<void>;
  deleteWebhook(): Promise<void>;
  /**
   * One long poll over a client of its own, whose timeout outlasts the poll (the adapter's call
   * timeout would abort it); never retried here: the poller backs off. signal aborts it.
   */
  getUpdates(params: { offset: number; timeoutS: number; allowedUpdates: readonly string[] }, signal?: AbortSignal): Promise<Update[]>;
}

export interface TelegramAdapterOptions {
  token: string;
  apiRoot: string;
  /** Per attempt. */
  timeoutMs: number;
  /** Retries of calls that are safe to repeat (reads, edits, revokes); creates only after a 429, never after a timeout or 5xx. */
  maxRetries: number;
  /** A 429 asking to wait up to this long is waited out and retried; a longer one is returned as RATE_LIMITED (0: never wait). */
  maxRetryAfterMs?: number;
  /**
   * A create still unanswered after timeoutMs fails for the client, but its answer is awaited this
   * long: a link Telegram made after all is revoked, so none is left live and unknown.
   */
  createAnswerWaitMs: number;
  /** The polling client's timeout beyond a long poll's own wait. */
  pollGraceMs?: number;
  log: Logger;
}

/** Telegram's descriptions for constraint errors, and the input field each one is about. */
const CONSTRAINT_FIELDS: [RegExp, string, string][] = [
  [/USAGE_LIMIT_INVALID/, 'memberLimit', 'must be between 1 and 99999'],
  [/member limit can't be specified/i, 'memberLimit', 'cannot be set when createsJoinRequest is true'],
  [/EXPIRE_DATE_INVALID/, 'expireDate', 'must be in the future'],
  [/SUBSCRIPTION_PERIOD_INVALID/, 'subscriptionPeriod', 'must be 2592000 (30 days)'],
  [/subscription pricing|PRICING_CHAT_INVALID|SUBSCRIPTION_PRICE/i, 'subscriptionPrice', 'must be between 1 and 10000 Stars'],
  [/name.*too long|INVITE_LINK_NAME/i, 'name', 'must be at most 32 characters'],
];

/** The one place that turns a Telegram failure into a contract error. */
export function mapTelegramError(error: unknown, chatId?: number): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof TelegramApiError) {
    const { errorCode, description } = error;
    if (errorCode === 429) return rateLimited(error.retryAfter ?? 1, `Telegram rate limit: retry after ${error.retryAfter ?? 1} s`);
    if (errorCode === 401 || errorCode === 404) {
      return upstreamError('Telegram rejected the helper bot token', { reason: 'BOT_TOKEN_INVALID' });
    }
    // getUpdates while a webhook is set, or while another process polls.
    if (errorCode === 409) return conflict(`Telegram refused to hand out updates: ${description}`, { reason: 'UPDATES_CONFLICT' });
    if (errorCode >= 500) return upstreamError(`Telegram failed: ${description}`);
    if (/not a member|was kicked|chat not found|bot is not a participant/i.test(description)) {
      return conflict(`The helper bot is not added to channel ${chatId}`, { reason: 'BOT_NOT_IN_CHANNEL', channelId: chatId });
    }
    if (/CHAT_ADMIN_REQUIRED|not enough rights|need administrator rights/i.test(description)) {
      return forbidden(`The helper bot has no rights to manage invite links in channel ${chatId}`, {
        reason: 'BOT_RIGHTS_MISSING',
        channelId: chatId,
      });
    }
    // approveChatJoinRequest / declineChatJoinRequest
    if (/HIDE_REQUESTER_MISSING/.test(description)) {
      return new AppError('NOT_FOUND', 'Telegram has no pending join request of this user: it was cancelled, or already decided', {
        reason: 'JOIN_REQUEST_MISSING',
        channelId: chatId,
      });
    }
    if (/USER_ID_INVALID/.test(description)) {
      return new AppError('NOT_FOUND', 'Telegram does not know this user', { reason: 'USER_UNKNOWN', channelId: chatId });
    }
    if (/USER_ALREADY_PARTICIPANT/.test(description)) {
      return conflict('The user is already a member of the channel', { reason: 'USER_ALREADY_MEMBER', channelId: chatId });
    }
    const constraint = CONSTRAINT_FIELDS.find(([pattern]) => pattern.test(description));
    if (constraint) return validationFailed([{ path: ['input', constraint[1]], message: constraint[2] }]);
    return badRequest(`Telegram refused the request: ${description.replace(/^Bad Request: /, '')}`);
  }
  if (error instanceof TimeoutError) return upstreamError('Telegram did not answer in time');
  if (error instanceof NetworkError || error instanceof ParseError) return upstreamError('Telegram could not be reached');
  return upstreamError('Telegram call failed');
}

const DEFAULT_MAX_RETRY_AFTER_MS = 5000;
const DEFAULT_POLL_GRACE_MS = 10_000;

const unixTime = (date: Date | null) => (date ? Math.floor(date.getTime() / 1000) : 0);

function toInviteLink(link: ChatInviteLink): TelegramInviteLink {
  return {
    inviteLink: link.invite_link,
    name: link.name ?? null,
    createsJoinRequest: link.creates_join_request,
    expireDate: link.expire_date ? new Date(link.expire_date * 1000) : null,
    memberLimit: link.member_limit ?? null,
    subscriptionPeriod: link.subscription_period ?? null,
    subscriptionPrice: link.subscription_price ?? null,
    isRevoked: link.is_revoked,
    creatorId: link.creator?.id ?? null,
  };
}

export class TelegramBotApiAdapter implements TelegramGateway, TelegramUpdateSource {
  private readonly retrying: Bot;
  private readonly creating: Bot;
  private readonly polling: Bot;
  private botId: Promise<number> | undefined;
  /** Creates that timed out for the client and whose answer is still awaited, to revoke their link. */
  private readonly lateCreates = new Map<Promise<unknown>, { method: string; chatId: number }>();

  private readonly maxRetryAfterMs: number;

  constructor(private readonly options: TelegramAdapterOptions) {
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    const transport = {
      apiRoot: options.apiRoot,
      // Per attempt: the client's waits after a 429 are outside it.
      timeoutMs: options.timeoutMs,
      // The client reads 0 as "no cap"; ours means "never wait", and every retry_after is at least 1 s.
      maxRetryAfterMs: this.maxRetryAfterMs || 1,
      retryBackoffMs: 200,
    };
    this.retrying = new Bot(options.token, { ...transport, maxRetries: options.maxRetries });
    // Never retried (it could make a second link), and waited for past timeoutMs: see createOnce.
    this.creating = new Bot(options.token, { ...transport, timeoutMs: options.createAnswerWaitMs, maxRetries: 0 });
    this.pollGraceMs = options.pollGraceMs ?? DEFAULT_POLL_GRACE_MS;
    this.polling = new Bot(options.token, { apiRoot: options.apiRoot, timeoutMs: 0, maxRetries: 0, maxRetryAfterMs: 1 });
  }

  private readonly pollGraceMs: number;

  private async call<T>(method: string, chatId: number | undefined, run: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const mapped = mapTelegramError(error, chatId);
      // The caller stopped it (shutdown): nothing failed.
      if (signal?.aborted) throw mapped;
      this.options.log.warn(
        { method, chatId, code: mapped.code, telegram: error instanceof TelegramApiError ? error.description : String(error) },
        'telegram call failed',
      );
      throw mapped;
    }
  }

  /** A 429 whose wait fits maxRetryAfterMs, while retries are left: how long to wait before sending again. */
  private rateLimitWaitMs(error: unknown, attempt: number): number | null {
    if (!(error instanceof TelegramApiError) || error.errorCode !== 429 || attempt >= this.options.maxRetries) return null;
    const waitMs = (error.retryAfter ?? 1) * 1000;
    return waitMs <= this.maxRetryAfterMs ? waitMs : null;
  }

  /**
   * Sends a create once, and again only after a 429 (Telegram did not run the refused call) whose
   * wait fits maxRetryAfterMs; each attempt has its own timeoutMs, the wait counts against none.
   * Unanswered after timeoutMs, it fails with UPSTREAM_ERROR, yet Telegram may still have made the
   * link: the answer is awaited up to createAnswerWaitMs, and a link that comes back is revoked.
   * Only a create that never gets an answer at all can leave a link nobody knows of, and that is
   * logged as an error.
   */
  private async createOnce(method: string, chatId: number, create: () => Promise<ChatInviteLink>): Promise<TelegramInviteLink> {
    for (let attempt = 0; ; attempt++) {
      const answer = create();
      let timer: NodeJS.Timeout | undefined;
      const late = Symbol('late');
      const deadline = new Promise<typeof late>((resolve) => (timer = setTimeout(() => resolve(late), this.options.timeoutMs)));
      let first: ChatInviteLink | typeof late;
      try {
        first = await Promise.race([answer, deadline]);
      } catch (error) {
        const waitMs = this.rateLimitWaitMs(error, attempt);
        if (waitMs === null) throw error;
        await sleep(waitMs);
        continue;
      } finally {
        clearTimeout(timer);
      }
      if (first !== late) return toInviteLink(first);
      this.awaitLateAnswer(method, chatId, answer);
      throw new TimeoutError(`${method} got no answer within ${this.options.timeoutMs} ms`);
    }
  }

  private awaitLateAnswer(method: string, chatId: number, answer: Promise<ChatInviteLink>) {
    const settled: Promise<unknown> = answer
      .then(
        (link) => this.revokeLateLink(method, chatId, link),
        (error: unknown) => {
          if (error instanceof TimeoutError) {
            this.options.log.error(
              { method, chatId },
              'a create got no answer from Telegram: a link may exist that this service does not know',
            );
          }
        },
      )
      .finally(() => this.lateCreates.delete(settled));
    this.lateCreates.set(settled, { method, chatId });
  }

  /** At shutdown: gives late create answers a few seconds to arrive (and be revoked), then logs those still out. */
  async close(graceMs = Math.min(5000, this.options.createAnswerWaitMs)): Promise<void> {
    if (this.lateCreates.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(this.lateCreates.keys()), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const { method, chatId } of this.lateCreates.values()) {
      this.options.log.error(
        { method, chatId },
        'shutting down before a timed-out create was answered: a link may exist that this service does not know',
      );
    }
  }

  private async revokeLateLink(method: string, chatId: number, link: ChatInviteLink): Promise<void> {
    try {
      await this.retrying.api.revokeChatInviteLink({ chat_id: chatId, invite_link: link.invite_link });
      this.options.log.warn({ method, chatId }, 'revoked a link Telegram made after its create had timed out');
    } catch (error) {
      this.options.log.error({ method, chatId, err: error }, 'could not revoke a link Telegram made after its create had timed out');
    }
  }

  private ownId(): Promise<number> {
    this.botId ??= this.retrying.api.getMe().then((me) => me.id);
    this.botId.catch(() => (this.botId = undefined));
    return this.botId;
  }

  getChatStatus(chatId: number): Promise<ChatBotStatus> {
    return this.call('getChat', chatId, async () => {
      const chat = await this.retrying.api.getChat({ chat_id: chatId });
      const member = await this.retrying.api.getChatMember({ chat_id: chatId, user_id: await this.ownId() });
      const isAdmin = member.status === 'administrator' || member.status === 'creator';
      return {
        title: chat.title ?? String(chatId),
        username: chat.username ?? null,
        botIsMember: !['left', 'kicked'].includes(member.status),
        botIsAdmin: isAdmin,
        botCanInviteUsers: member.status === 'creator' || (isAdmin && 'can_invite_users' in member && member.can_invite_users === true),
      };
    });
  }

  getChatDescription(chatId: number): Promise<string | null> {
    return this.call('getChat', chatId, async () => (await this.retrying.api.getChat({ chat_id: chatId })).description ?? null);
  }

  createInviteLink(chatId: number, fields: RegularLinkFields) {
    const method = 'createChatInviteLink';
    return this.call(method, chatId, () =>
      this.createOnce(method, chatId, () =>
        this.creating.api.createChatInviteLink({
          chat_id: chatId,
          name: fields.name,
          ...(fields.expireDate ? { expire_date: unixTime(fields.expireDate) } : {}),
          ...(fields.memberLimit ? { member_limit: fields.memberLimit } : {}),
          creates_join_request: fields.createsJoinRequest,
        }),
      ),
    );
  }

  createSubscriptionInviteLink(chatId: number, fields: SubscriptionLinkFields) {
    const method = 'createChatSubscriptionInviteLink';
    return this.call(method, chatId, () =>
      this.createOnce(method, chatId, () =>
        this.creating.api.createChatSubscriptionInviteLink({
          chat_id: chatId,
          name: fields.name,
          subscription_period: fields.subscriptionPeriod,
          subscription_price: fields.subscriptionPrice,
        }),
      ),
    );
  }

  editInviteLink(chatId: number, inviteLink: string, fields: RegularLinkFields) {
    return this.call('editChatInviteLink', chatId, async () =>
      toInviteLink(
        await this.retrying.api.editChatInviteLink({
          chat_id: chatId,
          invite_link: inviteLink,
          name: fields.name,
          expire_date: unixTime(fields.expireDate),
          member_limit: fields.memberLimit ?? 0,
          creates_join_request: fields.createsJoinRequest,
        }),
      ),
    );
  }

  editSubscriptionInviteLink(chatId: number, inviteLink: string, name: string) {
    return this.call('editChatSubscriptionInviteLink', chatId, async () =>
      toInviteLink(await this.retrying.api.editChatSubscriptionInviteLink({ chat_id: chatId, invite_link: inviteLink, name })),
    );
  }

  revokeInviteLink(chatId: number, inviteLink: string) {
    return this.call('revokeChatInviteLink', chatId, async () =>
      toInviteLink(await this.retrying.api.revokeChatInviteLink({ chat_id: chatId, invite_link: inviteLink })),
    );
  }

  decideJoinRequest(chatId: number, userId: number, approve: boolean): Promise<void> {
    // Retried like edits: a repeat of one that went through answers HIDE_REQUESTER_MISSING.
    const method = approve ? 'approveChatJoinRequest' : 'declineChatJoinRequest';
    return this.call(method, chatId, async () => {
      const params = { chat_id: chatId, user_id: userId };
      await (approve ? this.retrying.api.approveChatJoinRequest(params) : this.retrying.api.declineChatJoinRequest(params));
    });
  }

  getMemberStatus(chatId: number, userId: number): Promise<MemberStatus> {
    return this.call(
      'getChatMember',
      chatId,
      async () => (await this.retrying.api.getChatMember({ chat_id: chatId, user_id: userId })).status as MemberStatus,
    );
  }

  setWebhook(params: { url: string; secretToken: string; allowedUpdates: readonly string[] }): Promise<void> {
    return this.call('setWebhook', undefined, async () => {
      await this.retrying.api.setWebhook({
        url: params.url,
        secret_token: params.secretToken,
        allowed_updates: [...params.allowedUpdates],
      });
    });
  }

  deleteWebhook(): Promise<void> {
    return this.call('deleteWebhook', undefined, async () => {
      await this.retrying.api.deleteWebhook({});
    });
  }

  getUpdates(params: { offset: number; timeoutS: number; allowedUpdates: readonly string[] }, signal?: AbortSignal): Promise<Update[]> {
    return this.call(
      'getUpdates',
      undefined,
      () => {
        // The client's own deadline: the poll's wait plus a grace, never the 3 s call timeout.
        const deadline = AbortSignal.timeout(params.timeoutS * 1000 + this.pollGraceMs);
        return this.polling.api.getUpdates(
          { offset: params.offset, timeout: params.timeoutS, allowed_updates: [...params.allowedUpdates] },
          signal ? AbortSignal.any([signal, deadline]) : deadline,
        );
      },
      signal,
    );
  }
}
