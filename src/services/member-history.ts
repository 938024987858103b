/**
 * A member's events, derived from all of that member's stored updates in one chat, replayed in
 * update_id order. Replaying the whole history (rather than applying each update to a running
 * state) makes the result the same whatever order the updates arrived in: a leave stored before
 * its join is attributed once the join is there.
 */

export type DerivedEventKind = 'JOINED' | 'LEFT' | 'JOIN_REQUESTED';

export interface MemberUpdate {
  updateId: number;
  kind: 'chat_member' | 'chat_join_request';
  /** The update's payload (chat_member's ChatMemberUpdated or a ChatJoinRequest). */
  body: Record<string, unknown>;
}

export interface DerivedEvent {
  updateId: number;
  kind: DerivedEventKind;
  inviteLinkId: string | null;
  viaJoinRequest: boolean;
  /** A leave the update did not report: a join arrived for a member still held as present. */
  inferred: boolean;
  /** Unix seconds: the update's date. */
  date: number;
}

/** ChatMember statuses that are in the chat (restricted: when is_member says so). */
export function isMember(chatMember: unknown): boolean {
  if (typeof chatMember !== 'object' || chatMember === null) return false;
  const { status, is_member: isMemberFlag } = chatMember as { status?: unknown; is_member?: unknown };
  if (status === 'creator' || status === 'administrator' || status === 'member') return true;
  return status === 'restricted' && isMemberFlag === true;
}

/** The invite_link URL an update carries, if any (another admin's arrives with its tail hidden: it matches none of ours). */
export function inviteLinkUrl(body: Record<string, unknown>): string | null {
  const link = body.invite_link as { invite_link?: unknown } | undefined;
  return typeof link?.invite_link === 'string' ? link.invite_link : null;
}

/**
 * The events of one member in one chat. `linkIdOf` maps an invite_link URL to the account's link
 * in that chat (null: not one of the account's links).
 *  - join (not a member before, a member after): JOINED, attributed to the update's invite_link;
 *    one approved from a request (via_join_request, or a link that creates join requests) without
 *    its link is attributed to the link of the member's latest request;
 *  - leave or removal: LEFT, attributed to the link of the member's last join (none known: null);
 *  - a join while the member is held as present means Telegram's leave never came (it drops some
 *    in large chats): an inferred LEFT for the previous join, dated with the new join, comes first;
 *  - chat_join_request: JOIN_REQUESTED with the request's link.
 */
export function deriveMemberEvents(updates: readonly MemberUpdate[], linkIdOf: (url: string) => string | null): DerivedEvent[] {
  const events: DerivedEvent[] = [];
  let present = false;
  let joinLinkId: string | null = null;
  let requestLinkId: string | null = null;
  const ordered = [...updates].sort((a, b) => a.updateId - b.updateId);
  for (const { updateId, kind, body } of ordered) {
    const date = typeof body.date === 'number' ? body.date : 0;
    const url = inviteLinkUrl(body);
    const linkId = url === null ? null : linkIdOf(url);
    if (kind === 'chat_join_request') {
      requestLinkId = linkId;
      events.push({ updateId, kind: 'JOIN_REQUESTED', inviteLinkId: linkId, viaJoinRequest: true, inferred: false, date });
      continue;
    }
    const before = isMember(body.old_chat_member);
    const after = isMember(body.new_chat_member);
    if (!before && after) {
      if (present) events.push({ updateId, kind: 'LEFT', inviteLinkId: joinLinkId, viaJoinRequest: false, inferred: true, date });
      const linkRequestsJoin = (body.invite_link as { creates_join_request?: unknown } | undefined)?.creates_join_request === true;
      const viaJoinRequest = body.via_join_request === true || linkRequestsJoin;
      joinLinkId = url === null && viaJoinRequest ? requestLinkId : linkId;
      if (viaJoinRequest) requestLinkId = null;
      present = true;
      events.push({ updateId, kind: 'JOINED', inviteLinkId: joinLinkId, viaJoinRequest, inferred: false, date });
    } else if (before && !after) {
      events.push({ updateId, kind: 'LEFT', inviteLinkId: present ? joinLinkId : null, viaJoinRequest: false, inferred: false, date });
      present = false;
      joinLinkId = null;
    }
  }
  return events;
}
