import type { ChatInviteLink, User } from 'node-telegram-bot-api';

/**
 * Objects as telegram-bot-api writes them (Client.cpp's Json* classes): field order as written
 * there, absent optional fields left out.
 */

export type ChatType = 'channel' | 'supergroup';
export type BotMemberStatus = 'creator' | 'administrator' | 'member' | 'left' | 'kicked';
export type UserMemberStatus = 'member' | 'left' | 'kicked';

export interface WireChatSource {
  id: number;
  type: ChatType;
  title: string;
  username?: string;
}

/** Characters of the hash left visible in another admin's link (unverified: one observed update shows "https://t.me/+b0M..."). */
const HIDDEN_LINK_VISIBLE_CHARS = 3;

/** Links are matched by their hash, whatever form (t.me/+, t.me/joinchat/, tg://join) is sent. */
export function inviteHash(inviteLink: string): string {
  return /(?:\/\+|\/joinchat\/|[?&]invite=)([\w-]+)/.exec(inviteLink)?.[1] ?? inviteLink;
}

/**
 * The link as the bot sees it in updates when another admin made it: "the second part of the link
 * is replaced with …" (Bot API docs); tdlib accepts such links ending in "..." (DialogInviteLink.cpp).
 */
export function hiddenInviteLink(inviteLink: string): string {
  const hash = inviteHash(inviteLink);
  const start = inviteLink.lastIndexOf(hash);
  return `${inviteLink.slice(0, start)}${hash.slice(0, HIDDEN_LINK_VISIBLE_CHARS)}...`;
}

/** JsonChatInviteLink. JSON drops the absent (undefined) fields. */
export function wireLink(link: ChatInviteLink, pendingJoinRequestCount = 0): ChatInviteLink {
  return {
    invite_link: link.invite_link,
    name: link.name,
    creator: link.creator,
    expire_date: link.expire_date,
    member_limit: link.member_limit,
    pending_join_request_count: pendingJoinRequestCount || undefined,
    subscription_period: link.subscription_period,
    subscription_price: link.subscription_price,
    creates_join_request: link.creates_join_request,
    is_primary: link.is_primary,
    is_revoked: link.is_revoked,
  };
}

/** A copy without the keys whose value is undefined, as a client would see it. */
export function withoutAbsentFields<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** JsonUser. */
export function wireUser(user: User): User {
  return {
    id: user.id,
    is_bot: user.is_bot,
    first_name: user.first_name,
    last_name: user.last_name || undefined,
    username: user.username || undefined,
    language_code: user.language_code || undefined,
  };
}

/** JsonChat (not the full getChat form): id, title, username, type. */
export function wireChat(chat: WireChatSource): Record<string, unknown> {
  return { id: chat.id, title: chat.title, username: chat.username, type: chat.type };
}

/** JsonChatMember for a user who is not an administrator. */
export function wireUserMember(user: User, status: UserMemberStatus): Record<string, unknown> {
  if (status === 'kicked') return { user: wireUser(user), status, until_date: 0 };
  return { user: wireUser(user), status };
}

/** JsonChatMember for the bot itself, in each status the emulator gives it. */
export function wireBotMember(
  bot: User,
  chat: WireChatSource & { botStatus: BotMemberStatus; canInviteUsers: boolean },
): Record<string, unknown> {
  const user = wireUser(bot);
  switch (chat.botStatus) {
    case 'creator':
      return { user, status: 'creator', is_anonymous: false };
    case 'administrator':
      return {
        user,
        status: 'administrator',
        can_be_edited: false,
        ...administratorRights(chat.type, chat.canInviteUsers),
        can_manage_voice_chats: false,
      };
    case 'kicked':
      return { user, status: 'kicked', until_date: 0 };
    default:
      return { user, status: chat.botStatus };
  }
}

/** Field set and order of telegram-bot-api's json_store_administrator_rights. */
function administratorRights(type: ChatType, canInviteUsers: boolean): Record<string, boolean> {
  const isChannel = type === 'channel';
  return {
    can_manage_chat: true,
    can_change_info: false,
    ...(isChannel ? { can_post_messages: true, can_edit_messages: false } : {}),
    can_delete_messages: false,
    can_invite_users: canInviteUsers,
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
