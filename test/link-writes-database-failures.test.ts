import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { skipUnless } from './support/skip.ts';
import type { App } from '../src/app.ts';
import { Database } from '../src/db/database.ts';
import { createServer, type InviteqlServer } from '../src/http/server.ts';
import { completePendingRevokes } from '../src/services/pending-revokes.ts';
import { createTestApp, CHANNEL, type TestApp } from './support/app.ts';
import { cuttableProxy, type DatabaseProxy } from './support/db-proxy.ts';

const onPostgres = inject('testDatabase').kind === 'postgres';
const skipOffPostgres = skipUnless(
  onPostgres,
  'the database-failure tests of revokes and edits',
  'they cut a TCP proxy in front of PostgreSQL mid-call; the embedded PGlite has no connection to cut (set TEST_DATABASE_URL)',
);

const LINK = 'id name inviteLink isRevoked';
const CREATE = `mutation($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { ${LINK} } }`;
const UPDATE = `mutation($input: UpdateInviteLinkInput!) { updateInviteLink(input: $input) { ${LINK} } }`;
const REVOKE = `mutation($id: ID!, $c: SafeInt!) { revokeInviteLink(id: $id, channelId: $c) { ${LINK} } }`;

let t: TestApp;
let owner: { accountId: string; token: string };

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.createAccount('Owner');
  expect((await t.connectVerifiedChannel(owner.token, CHANNEL)).errors).toBeUndefined();
});
afterAll(() => t.close());

async function createLink(name: string) {
  const response = await t.gql(owner.token, CREATE, { input: { channelId: CHANNEL, name } });
  expect(response.errors).toBeUndefined();
  return response.data.createInviteLink as { id: string; inviteLink: string };
}

const callsOf = (method: string) => t.telegram.calls.filter((call) => call.method === method).length;
const telegramLink = (inviteLink: string) => t.telegram.links(CHANNEL).find((link) => link.invite_link === inviteLink)!;
const row = (id: string) => t.app.db.prisma.inviteLink.findUniqueOrThrow({ where: { id } });
const deps = () => ({ db: t.app.db, telegram: t.app.telegram, log: t.app.log });

describe('the pending-revoke reconciler', () => {
  it('revokes and records a link whose revoke intent was left behind', async () => {
    const link = await createLink('left pending');
    await t.app.db.prisma.inviteLink.update({ where: { id: link.id }, data: { revokeRequestedAt: new Date(Date.now() - 3_600_000) } });
    const revokes = callsOf('revokeChatInviteLink');
    expect(await t.pendingRevokes.runOnce()).toEqual({ completed: 1, dropped: 0, retried: 0 });
    expect(callsOf('revokeChatInviteLink')).toBe(revokes + 1);
    expect(await row(link.id)).toMatchObject({ isRevoked: true, revokeRequestedAt: null });
    expect(telegramLink(link.inviteLink).is_revoked).toBe(true);
  });

  it('leaves a fresh intent to the request that recorded it', async () => {
    const link = await createLink('in flight');
    await t.app.db.prisma.inviteLink.update({ where: { id: link.id }, data: { revokeRequestedAt: new Date() } });
    expect(await t.pendingRevokes.runOnce()).toEqual({ completed: 0, dropped: 0, retried: 0 });
    expect(await row(link.id)).toMatchObject({ isRevoked: false });
    await t.app.db.prisma.inviteLink.update({ where: { id: link.id }, data: { revokeRequestedAt: null } });
  });

  it('revokes each pending link once when two processes reconcile at the same time', async () => {
    const links = await Promise.all(['pending a', 'pending b', 'pending c'].map(createLink));
    await t.app.db.prisma.inviteLink.updateMany({
      where: { id: { in: links.map((link) => link.id) } },
      data: { revokeRequestedAt: new Date(Date.now() - 3_600_000) },
    });
    const revokes = callsOf('revokeChatInviteLink');
    const runs = await Promise.all([
      completePendingRevokes(deps(), { olderThanMs: 1000 }),
      completePendingRevokes(deps(), { olderThanMs: 1000 }),
    ]);
    expect(runs.reduce((sum, run) => sum + run.completed, 0)).toBe(3);
    expect(callsOf('revokeChatInviteLink')).toBe(revokes + 3);
    for (const link of links) expect(await row(link.id)).toMatchObject({ isRevoked: true, revokeRequestedAt: null });
  });

  it('retries after a 429, and drops the intent when Telegram refuses the revoke (the link stays live, as its row says)', async () => {
    const link = await createLink('refused revoke');
    const hourAgo = () =>
      t.app.db.prisma.inviteLink.update({ where: { id: link.id }, data: { revokeRequestedAt: new Date(Date.now() - 3_600_000) } });
    await hourAgo();
    t.telegram.failNext({ kind: 'rateLimit', retryAfter: 30 }, { method: 'revokeChatInviteLink' });
    expect(await t.pendingRevokes.runOnce()).toEqual({ completed: 0, dropped: 0, retried: 1 });
    expect((await row(link.id)).revokeRequestedAt).not.toBeNull();

    await hourAgo();
    t.telegram.updateChat(CHANNEL, { canInviteUsers: false });
    try {
      expect(await t.pendingRevokes.runOnce()).toEqual({ completed: 0, dropped: 1, retried: 0 });
    } finally {
      t.telegram.updateChat(CHANNEL, { canInviteUsers: true });
    }
    expect(await row(link.id)).toMatchObject({ isRevoked: false, revokeRequestedAt: null });
    expect(telegramLink(link.inviteLink).is_revoked).toBe(false);
  });
});

describe('revoke and edit when the database fails while Telegram answers', () => {
  let proxy: DatabaseProxy;
  let proxied: Database;
  let server: InviteqlServer;

  beforeAll(async () => {
    if (!onPostgres) return;
    proxy = await cuttableProxy(t.database.url!);
    proxied = await Database.open({ url: proxy.url, poolSize: 2, acquireTimeoutMs: 1000 });
    // Services write through the proxy; authentication and rate limiting use the app's own pool.
    const app: App = Object.freeze({ ...t.app, db: proxied });
    server = createServer(app);
  });
  beforeEach(() => {
    proxy?.restore();
    proxy?.refuseNext(0);
  });
  afterAll(async () => {
    await proxied?.close();
    await proxy?.close();
  });

  async function gql(query: string, variables: Record<string, unknown>) {
    const response = await server.fetch('http://inviteql.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${owner.token}` },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as { data?: any; errors?: { extensions?: Record<string, unknown> }[] }) };
  }

  /** Sends `run` with Telegram answering `method` late; once Telegram has run the call, `whileAnswering` hits the database. */
  async function withDatabaseFailingMidCall<T>(method: string, run: () => Promise<T>, whileAnswering: () => void): Promise<T> {
    t.telegram.failNext({ kind: 'slowAnswer', delayMs: 400 }, { method });
    const calls = callsOf(method);
    const pending = run();
    await expect.poll(() => callsOf(method), { interval: 10 }).toBe(calls + 1);
    whileAnswering();
    return pending;
  }

  it.skipIf(skipOffPostgres)('a revoke whose row update meets a database that stays down is completed by the reconciler', async () => {
    const link = await createLink('revoke, database down');
    const response = await withDatabaseFailingMidCall(
      'revokeChatInviteLink',
      () => gql(REVOKE, { id: link.id, c: CHANNEL }),
      () => proxy.cut(),
    );
    proxy.restore();
    expect(response.status).toBe(503);
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'REVOKE_PENDING', retryAfter: 5 });
    expect(telegramLink(link.inviteLink).is_revoked).toBe(true);
    const pending = await row(link.id);
    expect(pending.isRevoked).toBe(false);
    expect(pending.revokeRequestedAt).not.toBeNull();

    const revokes = callsOf('revokeChatInviteLink');
    expect(await t.pendingRevokes.runOnce({ olderThanMs: 0 })).toEqual({ completed: 1, dropped: 0, retried: 0 });
    expect(callsOf('revokeChatInviteLink')).toBe(revokes + 1);
    expect(await row(link.id)).toMatchObject({ isRevoked: true, revokeRequestedAt: null });
  });

  it.skipIf(skipOffPostgres)('a revoke retries its row update while the database refuses a few connections', async () => {
    const link = await createLink('revoke, database flaps');
    const refusedBefore = proxy.refused;
    const response = await withDatabaseFailingMidCall(
      'revokeChatInviteLink',
      () => gql(REVOKE, { id: link.id, c: CHANNEL }),
      () => {
        proxy.cut();
        proxy.restore();
        proxy.refuseNext(2);
      },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data.revokeInviteLink.isRevoked).toBe(true);
    expect(proxy.refused - refusedBefore).toBe(2);
    expect(await row(link.id)).toMatchObject({ isRevoked: true, revokeRequestedAt: null });
    expect(telegramLink(link.inviteLink).is_revoked).toBe(true);
  });

  it.skipIf(skipOffPostgres)('an edit the database cannot store is undone in Telegram', async () => {
    const link = await createLink('edit, database down');
    const edits = callsOf('editChatInviteLink');
    const response = await withDatabaseFailingMidCall(
      'editChatInviteLink',
      () => gql(UPDATE, { input: { id: link.id, channelId: CHANNEL, name: 'edited', budget: 7 } }),
      () => proxy.cut(),
    );
    proxy.restore();
    expect(response.errors?.[0]?.extensions?.code).toBeDefined();
    expect(callsOf('editChatInviteLink')).toBe(edits + 2);
    expect(telegramLink(link.inviteLink)).toMatchObject({ name: 'edit, database down', is_revoked: false });
    expect(await row(link.id)).toMatchObject({ name: 'edit, database down', budget: 0, isRevoked: false });
  });
});
