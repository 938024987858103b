import { describe, expect, it } from 'vitest';
import { deriveMemberEvents, type MemberUpdate } from '../src/services/member-history.ts';
import { mulberry32 } from './support/random.ts';

const OURS = 'https://t.me/+ours';
const OTHER = 'https://t.me/+other';
const REQUESTS = 'https://t.me/+requests';
const linkIdOf = (url: string) => ({ [OURS]: 'link-ours', [OTHER]: 'link-other', [REQUESTS]: 'link-requests' })[url] ?? null;

const member = (status: string, extra: Record<string, unknown> = {}) => ({ user: { id: 7 }, status, ...extra });
function change(updateId: number, from: string, to: string, extra: Record<string, unknown> = {}): MemberUpdate {
  return {
    updateId,
    kind: 'chat_member',
    body: { date: 1_000 + updateId, old_chat_member: member(from), new_chat_member: member(to), ...extra },
  };
}
const via = (url: string, createsJoinRequest = false) => ({ invite_link: { invite_link: url, creates_join_request: createsJoinRequest } });
const request = (updateId: number, url?: string): MemberUpdate => ({
  updateId,
  kind: 'chat_join_request',
  body: { date: 1_000 + updateId, ...(url ? via(url, true) : {}) },
});
const summary = (updates: MemberUpdate[]) =>
  deriveMemberEvents(updates, linkIdOf).map((e) => `${e.updateId} ${e.kind} ${e.inviteLinkId}${e.inferred ? ' inferred' : ''}`);

describe('a member history', () => {
  it('attributes a join to its link and the leave to the link of that join', () => {
    expect(summary([change(1, 'left', 'member', via(OURS)), change(2, 'member', 'left')])).toEqual([
      '1 JOINED link-ours',
      '2 LEFT link-ours',
    ]);
  });

  it('counts a removal (kicked) as a leave, and a promotion or a restriction that keeps membership as nothing', () => {
    const restricted = member('restricted', { is_member: true });
    const updates = [
      change(1, 'left', 'member', via(OURS)),
      change(2, 'member', 'administrator'),
      change(3, 'administrator', 'restricted', { new_chat_member: restricted }),
      change(4, 'restricted', 'kicked', { old_chat_member: restricted }),
    ];
    expect(summary(updates)).toEqual(['1 JOINED link-ours', '4 LEFT link-ours']);
  });

  it('records joins without one of our links and leaves without a known join as unattributed', () => {
    expect(
      summary([change(1, 'member', 'left'), change(2, 'left', 'member', via('https://t.me/+hidd...')), change(3, 'left', 'member')]),
    ).toEqual(['1 LEFT null', '2 JOINED null', '3 LEFT null inferred', '3 JOINED null']);
  });

  it('infers the leave Telegram never sent when a member it holds as present joins again', () => {
    expect(summary([change(1, 'left', 'member', via(OURS)), change(5, 'left', 'member', via(OTHER)), change(6, 'member', 'left')])).toEqual(
      ['1 JOINED link-ours', '5 LEFT link-ours inferred', '5 JOINED link-other', '6 LEFT link-other'],
    );
  });

  it("attributes a join approved from a request without its link to the request's link, and marks it", () => {
    const events = deriveMemberEvents([request(1, REQUESTS), change(2, 'left', 'member', { via_join_request: true })], linkIdOf);
    expect(events.map((e) => [e.kind, e.inviteLinkId, e.viaJoinRequest])).toEqual([
      ['JOIN_REQUESTED', 'link-requests', true],
      ['JOINED', 'link-requests', true],
    ]);
    const withLink = deriveMemberEvents([request(1, REQUESTS), change(2, 'left', 'member', via(REQUESTS, true))], linkIdOf);
    expect(withLink.map((e) => [e.kind, e.inviteLinkId, e.viaJoinRequest])).toEqual([
      ['JOIN_REQUESTED', 'link-requests', true],
      ['JOINED', 'link-requests', true],
    ]);
  });

  it('gives the same events whatever order the updates arrive in', () => {
    const random = mulberry32(15);
    const history = [
      change(10, 'left', 'member', via(OURS)),
      change(11, 'member', 'left'),
      request(12, REQUESTS),
      change(13, 'left', 'member', { via_join_request: true }),
      change(14, 'left', 'member', via(OTHER)),
      change(15, 'member', 'kicked'),
      change(16, 'kicked', 'left'),
      change(17, 'left', 'member'),
    ];
    const expected = summary(history);
    expect(expected).toEqual([
      '10 JOINED link-ours',
      '11 LEFT link-ours',
      '12 JOIN_REQUESTED link-requests',
      '13 JOINED link-requests',
      '14 LEFT link-requests inferred',
      '14 JOINED link-other',
      '15 LEFT link-other',
      '17 JOINED null',
    ]);
    for (let round = 0; round < 50; round++) {
      const shuffled = [...history].sort(() => random() - 0.5);
      expect(summary(shuffled)).toEqual(expected);
    }
  });
});
