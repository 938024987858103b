import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, CHANNEL, type TestApp } from './support/app.ts';

const CREATE = `mutation($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { id inviteLink isRevoked } }`;

let t: TestApp;
let owner: { accountId: string; token: string };

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.createAccount('Owner');
  expect((await t.connectVerifiedChannel(owner.token, CHANNEL)).errors).toBeUndefined();
});
afterAll(() => t.close());

const creates = () => t.telegram.calls.filter((call) => call.method === 'createChatInviteLink').length;
const held = () => t.app.db.prisma.inviteLinkCreateInProgress.count();

describe('concurrent creates with one idempotencyKey', () => {
  it('make exactly one Telegram link, and all six answer it', async () => {
    const before = creates();
    // Telegram answers the first create late, so the other five arrive while it is under way.
    t.telegram.failNext({ kind: 'slowAnswer', delayMs: 300 }, { method: 'createChatInviteLink' });
    const input = { channelId: CHANNEL, name: 'six at once', idempotencyKey: 'six-at-once' };
    const responses = await Promise.all(Array.from({ length: 6 }, () => t.gql(owner.token, CREATE, { input })));
    for (const response of responses) expect(response.errors).toBeUndefined();
    expect(creates()).toBe(before + 1);
    expect(new Set(responses.map((response) => response.data.createInviteLink.id)).size).toBe(1);
    const inTelegram = t.telegram.links(CHANNEL).filter((link) => link.name === 'six at once');
    expect(inTelegram.map((link) => [link.invite_link, link.is_revoked])).toEqual([
      [responses[0]!.data.createInviteLink.inviteLink, false],
    ]);
    expect(await t.app.db.prisma.inviteLink.count({ where: { name: 'six at once' } })).toBe(1);
    expect(await held()).toBe(0);
  });

  it('let a waiting retry make the link itself when the first create fails', async () => {
    const before = creates();
    t.telegram.failNext({ kind: 'serverError' }, { method: 'createChatInviteLink' });
    const input = { channelId: CHANNEL, name: 'first fails', idempotencyKey: 'first-fails' };
    const [first, second] = await Promise.all([t.gql(owner.token, CREATE, { input }), t.gql(owner.token, CREATE, { input })]);
    const failed = [first, second].filter((response) => response.errors);
    expect(failed.map((response) => response.errors![0]!.extensions?.code)).toEqual(['UPSTREAM_ERROR']);
    expect(creates()).toBe(before + 2);
    expect(await t.app.db.prisma.inviteLink.count({ where: { name: 'first fails' } })).toBe(1);
    expect(await held()).toBe(0);
  });

  it('take over a key whose holder died mid-create once its hold expired', async () => {
    await t.app.db.prisma.inviteLinkCreateInProgress.create({
      data: { accountId: owner.accountId, idempotencyKey: 'holder died', expiresAt: new Date(Date.now() - 1000) },
    });
    const response = await t.gql(owner.token, CREATE, {
      input: { channelId: CHANNEL, name: 'after a crash', idempotencyKey: 'holder died' },
    });
    expect(response.errors).toBeUndefined();
    expect(await held()).toBe(0);
  });
});
