import { STATUS_CODES } from 'node:http';

// ---------------------------------------------------------------------------------------------
// Every error text the emulator answers with. Sources:
//   [bot-api]  tdlib/telegram-bot-api telegram-bot-api/Client.cpp (check_chat, check_chat_access,
//              get_user_id, fail_query_with_error: a server error NAME becomes "Bad Request: NAME")
//   [updates]  the same Client.cpp: process_get_updates_query, abort_long_poll,
//              process_set_webhook_query, do_set_webhook
//   [webhook]  tdlib/telegram-bot-api telegram-bot-api/WebhookActor.cpp (handle, on_update_error)
//   [http]     tdlib/telegram-bot-api telegram-bot-api/HttpConnection.cpp, tdlib/td tdnet/td/net/HttpReader.cpp
//   [links]    tdlib/td td/telegram/DialogInviteLinkManager.cpp (can_manage_dialog_invite_links,
//              export_dialog_invite_link, edit_dialog_invite_link)
//   [members]  tdlib/td td/telegram/DialogParticipantManager.cpp (get_channel_participant,
//              can_manage_dialog_join_requests)
//   [users]    tdlib/td td/telegram/UserManager.cpp get_input_user: a bot sends any user id it does
//              not know to the server as is, so an unknown user is the server's USER_ID_INVALID
//              (tdlib's own "user not found" is for user accounts only)
//   [mtproto]  "Possible errors" of the MTProto methods on core.telegram.org
//              (messages.exportChatInvite, messages.editExportedChatInvite, messages.importChatInvite,
//              channels.joinChannel, channels.leaveChannel, messages.hideChatJoinRequest): the names
//              are documented, which input triggers them is inferred
// ---------------------------------------------------------------------------------------------
export const ERROR_TEXTS = {
  // [bot-api] get_closing_error; api.telegram.org is also seen answering "Unauthorized: invalid token specified"
  unauthorized: 'Unauthorized',
  // [http] for paths outside /bot<token>/; unverified for unknown methods (the open-source
  // server says "Not Found: method not found")
  notFound: 'Not Found',
  // not Telegram's: the emulator's control routes, asked from elsewhere than loopback
  forbidden: 'Forbidden',
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
  subscriptionLinkNeedsItsMethod: 'Bad Request: subscription invite links can be edited only by editChatSubscriptionInviteLink',
  notASubscriptionLink: 'Bad Request: the invite link is not a subscription invite link', // unverified

  // approveChatJoinRequest / declineChatJoinRequest
  // [members] administrator without can_invite_users, or not an administrator
  joinRequestRightsMissing: 'Bad Request: not enough rights to manage chat join requests',
  // [users] + [mtproto] a user id the server does not know
  joinRequestUserUnknown: 'Bad Request: USER_ID_INVALID',
  // [mtproto] "The join request was missing or was already handled"
  joinRequestMissing: 'Bad Request: HIDE_REQUESTER_MISSING',
  // [mtproto] approving someone who joined meanwhile (which input triggers it: unverified)
  joinRequestUserIsMember: 'Bad Request: USER_ALREADY_PARTICIPANT',

  // [updates]
  getUpdatesWhileWebhook: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
  terminatedByOtherGetUpdates: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
  terminatedBySetWebhook: 'Conflict: terminated by setWebhook request',
  webhookUrlInvalid: 'Bad Request: invalid webhook URL specified',
  secretTokenTooLong: 'Bad Request: secret token is too long',
  secretTokenCharacters: 'Bad Request: secret token contains unallowed characters',
} as const;

/** The `description` next to `result: true` of setWebhook and deleteWebhook. [updates] */
export const WEBHOOK_ANSWERS = {
  set: 'Webhook was set',
  alreadySet: 'Webhook is already set',
  deleted: 'Webhook was deleted',
  alreadyDeleted: 'Webhook is already deleted',
} as const;

/** getWebhookInfo's last_error_message. */
export const WEBHOOK_ERRORS = {
  // [webhook]
  wrongResponse: (status: number, reason: string) => `Wrong response from the webhook: ${status} ${reason}`,
  // unverified (all below): texts getWebhookInfo is commonly seen reporting
  connectionRefused: 'Connection refused',
  hostNotResolved: 'Failed to resolve host: Name or service not known',
  connectionReset: 'Connection reset by peer',
  readTimeout: 'Read timeout expired',
} as const;

/**
 * What Telegram answers the *user* (MTProto) when a join is refused: the emulator's control
 * surface reports these for join, leave and kick. [mtproto]
 */
export const USER_REFUSALS = {
  // messages.importChatInvite: a hash Telegram never issued
  inviteHashInvalid: 'INVITE_HASH_INVALID',
  // messages.importChatInvite: expired (expire_date reached) or revoked
  inviteHashExpired: 'INVITE_HASH_EXPIRED',
  // messages.importChatInvite: member_limit reached (unverified: some clients report INVITE_HASH_EXPIRED)
  usersTooMuch: 'USERS_TOO_MUCH',
  // messages.importChatInvite / channels.joinChannel
  alreadyParticipant: 'USER_ALREADY_PARTICIPANT',
  // channels.joinChannel on a chat without a username; a banned user joining again (unverified)
  channelPrivate: 'CHANNEL_PRIVATE',
  // channels.joinChannel on a chat that does not exist (unverified)
  channelInvalid: 'CHANNEL_INVALID',
  // channels.leaveChannel by someone who is not in the chat
  notParticipant: 'USER_NOT_PARTICIPANT',
  // messages.hideChatJoinRequest by another admin: no such request
  hideRequesterMissing: 'HIDE_REQUESTER_MISSING',
} as const;

/**
 * The answer a user gets for a join through a link that needs approval: an "error" for the user,
 * a request for the chat. The emulator reports it as the outcome `requested`. [mtproto]
 */
export const INVITE_REQUEST_SENT = 'INVITE_REQUEST_SENT';

const ERROR_CODE_BY_PREFIX: [prefix: string, errorCode: number][] = [
  ['Bad Request', 400],
  ['Unauthorized', 401],
  ['Forbidden', 403],
  ['Not Found', 404],
  ['Conflict', 409],
];

/** A Bot API failure: `{"ok":false,"error_code":…,"description":…}`. */
export class TelegramFailure extends Error {
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

/** Telegram refused what an emulated user (or admin) tried: `text` is Telegram's error name. */
export class EmulatorRefusal extends Error {
  constructor(readonly text: string) {
    super(text);
    this.name = 'EmulatorRefusal';
  }
}
