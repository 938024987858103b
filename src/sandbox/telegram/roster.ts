import type { UserMemberStatus } from './wire.ts';

export interface JoinRequestRecord {
  userId: number;
  /** Unix seconds. */
  date: number;
  bio?: string;
  /** Hash of the link the request came through; undefined for a request through the username. */
  viaHash?: string;
}

interface MemberRecord {
  status: UserMemberStatus;
  /** While a member: hash of the link of the last join, if any. */
  viaHash?: string;
}

/**
 * Who is in each chat, through which link they last joined, and who asked to join. Telegram's
 * member_limit counts the current members who joined through the link, so a leave frees a place.
 */
export class ChatRoster {
  private readonly members = new Map<number, Map<number, MemberRecord>>();
  private readonly requests = new Map<number, Map<number, JoinRequestRecord>>();
  /** `${chatId} ${hash}` → joins through the link, ever. */
  private readonly joins = new Map<string, number>();

  status(chatId: number, userId: number): UserMemberStatus {
    return this.members.get(chatId)?.get(userId)?.status ?? 'left';
  }

  join(chatId: number, userId: number, viaHash: string | undefined): void {
    this.chatMembers(chatId).set(userId, { status: 'member', viaHash });
    if (viaHash !== undefined) {
      const key = `${chatId} ${viaHash}`;
      this.joins.set(key, (this.joins.get(key) ?? 0) + 1);
    }
  }

  setStatus(chatId: number, userId: number, status: Exclude<UserMemberStatus, 'member'>): void {
    this.chatMembers(chatId).set(userId, { status });
  }

  memberCountVia(chatId: number, hash: string): number {
    let count = 0;
    for (const member of this.members.get(chatId)?.values() ?? []) {
      if (member.status === 'member' && member.viaHash === hash) count += 1;
    }
    return count;
  }

  joinCountVia(chatId: number, hash: string): number {
    return this.joins.get(`${chatId} ${hash}`) ?? 0;
  }

  request(chatId: number, userId: number): JoinRequestRecord | undefined {
    return this.requests.get(chatId)?.get(userId);
  }

  addRequest(chatId: number, request: JoinRequestRecord): void {
    const chatRequests = this.requests.get(chatId) ?? new Map<number, JoinRequestRecord>();
    chatRequests.set(request.userId, request);
    this.requests.set(chatId, chatRequests);
  }

  removeRequest(chatId: number, userId: number): void {
    this.requests.get(chatId)?.delete(userId);
  }

  /** Oldest first. */
  requestsOf(chatId: number): JoinRequestRecord[] {
    return [...(this.requests.get(chatId)?.values() ?? [])];
  }

  pendingCountVia(chatId: number, hash: string): number {
    return this.requestsOf(chatId).filter((request) => request.viaHash === hash).length;
  }

  private chatMembers(chatId: number): Map<number, MemberRecord> {
    const chatMembers = this.members.get(chatId) ?? new Map<number, MemberRecord>();
    this.members.set(chatId, chatMembers);
    return chatMembers;
  }
}
