import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelegramBotApiAdapter } from '../src/adapters/telegram.ts';
import { createTestApp, CONNECT_CHANNEL, CHANNEL, BOT_TOKEN, type GraphQLResponse, type TestApp } from './support/app.ts';

// Both apps use the harness's telegramMaxRetries of 1: a retried call makes at most 2 attempts.
const ATTEMPTS = 2;

let t: TestApp;
/**
 * A second app with a short per-attempt Telegram timeout, for requests Telegram never answers; a
 * create's answer is still awaited for 1.5 s after that, to revoke a link that comes late. It waits
 * out 429s of up to 1 s (TELEGRAM_MAX_RETRY_AFTER_S=1).
 */
let slow: TestApp;
let owner: { accountId: string; token: string };
let slowOwner: { accountId: string; token: string };

const LINK = 'id name inviteLink isRevoked memberLimit';
const CREATE = `mutation($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { ${LINK} } }`;
const CREATE_SUB = `mutation($input: CreateSubscriptionInviteLinkInput!) { createSubscriptionInviteLink(input: $input) { ${LINK} } }`;
const UPDATE = `mutation($input: UpdateInviteLinkInput!) { updateInviteLink(input: $input) { ${LINK} } }`;
const REVOKE = `mutation($id: ID!, $c: SafeInt!) { revokeInviteLink(id: $id, channelId: $c) { ${LINK} } }`;

const callsOf = (app: TestApp, method: string) => app.telegram.calls.filter((call) => call.method === method).length;

function firstError(response: GraphQLResponse) {
  expect(response.errors, JSON.stringify(response.data)).toBeDefined();
  return response.errors![0]!;
}

/** Runs `run` and returns how many calls of `method` it made. */
async function counting<T>(app: TestApp, method: string, run: () => Promise<T>): Promise<[T, number]> {
  const before = callsOf(app, method);
  const result = await run();
  return [result, callsOf(app, method) - before];
}

async function createLink(app: TestApp, token: string, name: string) {
  const response = await app.gql(token, CREATE, { input: { channelId: CHANNEL, name } });
  expect(response.errors).toBeUndefined();
  return response.data.createInviteLink;
}

/** Log lines at `level` (pino: 40 warn, 50 error) whose message is `msg`. */
const loggedAt = (app: TestApp, level: number, msg: string) =>
  app.logs.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.level === level && line.msg === msg)
    .length;

const storedNamed = (app: TestApp, name: string) => app.app.db.prisma.inviteLink.count({ where: { name } });
const telegramNamed = (app: TestApp, name: string) => app.telegram.links(CHANNEL).filter((link) => link.name === name);

beforeAll(async () => {
  [t, slow] = await Promise.all([
    createTestApp({ telegramTimeoutMs: 5000 }),
    createTestApp({ telegramTimeoutMs: 300, telegramCreateAnswerWaitMs: 1500, telegramMaxRetryAfterS: 1 }),
  ]);
  owner = await t.createAccount('Owner');
  slowOwner = await slow.createAccount('Owner');
  expect((await t.connectVerifiedChannel(owner.token, CHANNEL)).errors).toBeUndefined();
  expect((await slow.connectVerifiedChannel(slowOwner.token, CHANNEL)).errors).toBeUndefined();
});
afterAll(() => Promise.all([t?.close(), slow?.close()]));

describe('Telegram rate limits', () => {
  it('answers RATE_LIMITED with retryAfter when Telegram asks to wait longer than the cap', async () => {
    t.telegram.failNext({ kind: 'rateLimit', retryAfter: 30 }, { method: 'createChatInviteLink' });
    const [response, creates] = await counting(t, 'createChatInviteLink', () =>
      t.gql(owner.token, CREATE, { input: { channelId: CHANNEL, name: 'flood' } }),
    );
    expect(firstError(response).extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 30 });
    expect(response.headers.get('retry-after')).toBe('30');
    expect(creates).toBe(1);
    expect(await storedNamed(t, 'flood')).toBe(0);
    expect(telegramNamed(t, 'flood')).toEqual([]);
  });

  it('does not sit out a long flood wait on reads either', async () => {
    t.telegram.failNext({ kind: 'rateLimit', retryAfter: 45 }, { method: 'getChat' });
    const [response, reads] = await counting(t, 'getChat', () => t.gql(owner.token, CONNECT_CHANNEL, { telegramId: CHANNEL }));
    expect(firstError(response).extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 45 });
    expect(reads).toBe(1);
  });

  it('retries a read once after a short retry_after and succeeds', async () => {
    t.telegram.failNext({ kind: 'rateLimit', retryAfter: 1 }, { method: 'getChat' });
    const [response, reads] = await counting(t, 'getChat', () => t.gql(owner.token, CONNECT_CHANNEL, { telegramId: CHANNEL }));
    expect(response.errors).toBeUndefined();
    expect(response.data.connectChannel.botCanInviteUsers).toBe(true);
    expect(reads).toBe(2);
  });

  it('retries a create once after a short retry_after: Telegram did not run the refused call', async () => {
    t.telegram.failNext({ kind: 'rateLimit', retryAfter: 1 }, { method: 'createChatInviteLink' });
    const [response, creates] = await counting(t, 'createChatInviteLink', () =>
      t.gql(owner.token, CREATE, { input: { channelId: CHANNEL, name: 'after wait' } }),
    );
    expect(response.errors).toBeUndefined();
    expect(creates).toBe(2);
    expect(telegramNamed(t, 'after wait')).toHaveLength(1);
    expect(telegramNamed(t, 'after wait')[0]!.invite_link).toBe(response.data.createInviteLink.inviteLink);
    expect(await storedNamed(t, 'after wait')).toBe(1);
  });

  it('gives up with RATE_LIMITED when the retry is rate limited too', async () => {
    t.telegram.failNext({ kind: 'rateLimit', retryAfter: 1 }, { method: 'createChatSubscriptionInviteLink', times: ATTEMPTS });
    const [response, creates] = await counting(t, 'createChatSubscriptionInviteLink', () =>
      t.gql(owner.token, CREATE_SUB, { input: { channelId: CHANNEL, name: 'still flooded', subscriptionPrice: 5 } }),
    );
    expect(firstError(response).extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 1 });
    expect(creates).toBe(ATTEMPTS);
    expect(await storedNamed(t, 'still flooded')).toBe(0);
  });
});

describe("Telegram rate limits and the client's patience (TELEGRAM_MAX_RETRY_AFTER_S)", () => {
  const methodsSince = (app: TestApp, from: number) => app.telegram.calls.slice(from).map((call) => call.method);

  it('waits out a retry_after that fits, outside the per-attempt timeout: a 1 s wait with a 300 ms timeout still creates', async () => {
    slow.telegram.failNext({ kind: 'rateLimit', retryAfter: 1 }, { method: 'createChatInviteLink' });
    const from = slow.telegram.calls.length;
    const response = await slow.gql(slowOwner.token, CREATE, { input: { channelId: CHANNEL, name: 'waited out' } });
    expect(response.errors).toBeUndefined();
    expect(methodsSince(slow, from)).toEqual(['createChatInviteLink', 'createChatInviteLink']);
    expect(telegramNamed(slow, 'waited out').map((link) => [link.invite_link, link.is_revoked])).toEqual([
      [response.data.createInviteLink.inviteLink, false],
    ]);
    expect(await storedNamed(slow, 'waited out')).toBe(1);
  });

  it('answers RATE_LIMITED with retryAfter, sending once, when retry_after is over the configured patience', async () => {
    slow.telegram.failNext({ kind: 'rateLimit', retryAfter: 2 }, { method: 'createChatInviteLink' });
    const from = slow.telegram.calls.length;
    const response = await slow.gql(slowOwner.token, CREATE, { input: { channelId: CHANNEL, name: 'too long a wait' } });
    expect(firstError(response).extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 2 });
    expect(methodsSince(slow, from)).toEqual(['createChatInviteLink']);
    expect(await storedNamed(slow, 'too long a wait')).toBe(0);
  });

  it('waits out a short retry_after on a revoke too, and answers RATE_LIMITED past the patience', async () => {
    const link = await createLink(slow, slowOwner.token, 'revoked after a wait');
    slow.telegram.failNext({ kind: 'rateLimit', retryAfter: 2 }, { method: 'revokeChatInviteLink' });
    let from = slow.telegram.calls.length;
    const refused = await slow.gql(slowOwner.token, REVOKE, { id: link.id, c: CHANNEL });
    expect(firstError(refused).extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 2 });
    expect(methodsSince(slow, from)).toEqual(['revokeChatInviteLink']);

    slow.telegram.failNext({ kind: 'rateLimit', retryAfter: 1 }, { method: 'revokeChatInviteLink' });
    from = slow.telegram.calls.length;
    const revoked = await slow.gql(slowOwner.token, REVOKE, { id: link.id, c: CHANNEL });
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data.revokeInviteLink.isRevoked).toBe(true);
    expect(methodsSince(slow, from)).toEqual(['revokeChatInviteLink', 'revokeChatInviteLink']);
  });
});

describe('Telegram server errors', () => {
  it('answers UPSTREAM_ERROR for a 5xx on create, stores nothing and does not resend the create', async () => {
    t.telegram.failNext({ kind: 'serverError' }, { method: 'createChatInviteLink' });
    const [response, creates] = await counting(t, 'createChatInviteLink', () =>
      t.gql(owner.token, CREATE, { input: { channelId: CHANNEL, name: 'server error' } }),
    );
    expect(firstError(response).extensions?.code).toBe('UPSTREAM_ERROR');
    expect(creates).toBe(1);
    expect(await storedNamed(t, 'server error')).toBe(0);
    expect(telegramNamed(t, 'server error')).toEqual([]);
  });

  it('retries a read after a 5xx, boundedly', async () => {
    t.telegram.failNext({ kind: 'serverError', status: 502 }, { method: 'getChat' });
    const [recovered, firstReads] = await counting(t, 'getChat', () => t.gql(owner.token, CONNECT_CHANNEL, { telegramId: CHANNEL }));
    expect(recovered.errors).toBeUndefined();
    expect(firstReads).toBe(2);

    t.telegram.failNext({ kind: 'serverError', status: 503 }, { method: 'getChat', times: ATTEMPTS });
    const [failed, reads] = await counting(t, 'getChat', () => t.gql(owner.token, CONNECT_CHANNEL, { telegramId: CHANNEL }));
    expect(firstError(failed).extensions?.code).toBe('UPSTREAM_ERROR');
    expect(reads).toBe(ATTEMPTS);
  });

  it('leaves the row untouched when an edit or a revoke fails upstream', async () => {
    const link = await createLink(t, owner.token, 'stable');
    t.telegram.failNext({ kind: 'serverError' }, { method: 'editChatInviteLink', times: ATTEMPTS });
    const edit = await t.gql(owner.token, UPDATE, { input: { id: link.id, channelId: CHANNEL, name: 'changed', budget: 50 } });
    expect(firstError(edit).extensions?.code).toBe('UPSTREAM_ERROR');

    t.telegram.failNext({ kind: 'serverError' }, { method: 'revokeChatInviteLink', times: ATTEMPTS });
    const revoke = await t.gql(owner.token, REVOKE, { id: link.id, c: CHANNEL });
    expect(firstError(revoke).extensions?.code).toBe('UPSTREAM_ERROR');

    const row = await t.app.db.prisma.inviteLink.findUniqueOrThrow({ where: { id: link.id } });
    expect(row).toMatchObject({ name: 'stable', budget: 0, isRevoked: false, updatedAt: null });
    expect(telegramNamed(t, 'stable')).toMatchObject([{ invite_link: link.inviteLink, is_revoked: false }]);
  });
});

describe('Telegram timeouts', () => {
  it('answers UPSTREAM_ERROR when a create hangs, and never sends the create again', async () => {
    slow.telegram.failNext({ kind: 'hang' }, { method: 'createChatInviteLink' });
    const [response, creates] = await counting(slow, 'createChatInviteLink', () =>
      slow.gql(slowOwner.token, CREATE, { input: { channelId: CHANNEL, name: 'hung' } }),
    );
    expect(firstError(response).extensions?.code).toBe('UPSTREAM_ERROR');
    expect(creates).toBe(1);
    expect(await storedNamed(slow, 'hung')).toBe(0);
    // The server is not wedged: the next create goes through.
    await createLink(slow, slowOwner.token, 'after hang');
    // No answer at all, even after the extra wait: logged, since a link may exist.
    await expect
      .poll(() => loggedAt(slow, 50, 'a create got no answer from Telegram: a link may exist that this service does not know'), {
        timeout: 4000,
      })
      .toBe(1);
  });

  it.each([
    ['createChatInviteLink', CREATE, { name: 'late' }],
    ['createChatSubscriptionInviteLink', CREATE_SUB, { name: 'late sub', subscriptionPrice: 1 }],
  ])('revokes the link %s made after the client was told it timed out', async (method, mutation, fields) => {
    const revokedBefore = loggedAt(slow, 40, 'revoked a link Telegram made after its create had timed out');
    slow.telegram.failNext({ kind: 'slowAnswer', delayMs: 800 }, { method });
    const [response, creates] = await counting(slow, method, () =>
      slow.gql(slowOwner.token, mutation, { input: { channelId: CHANNEL, ...fields } }),
    );
    expect(firstError(response).extensions?.code).toBe('UPSTREAM_ERROR');
    expect(creates).toBe(1);
    expect(await storedNamed(slow, fields.name)).toBe(0);
    // Telegram made the link; its late answer is awaited and the link revoked.
    await expect
      .poll(
        () =>
          slow.telegram
            .links(CHANNEL)
            .filter((link) => link.name === fields.name)
            .map((link) => link.is_revoked),
        {
          timeout: 4000,
        },
      )
      .toEqual([true]);
    // Logged once the adapter has Telegram's answer to the revoke, a moment after the emulator applied it.
    await expect.poll(() => loggedAt(slow, 40, 'revoked a link Telegram made after its create had timed out')).toBe(revokedBefore + 1);
  });

  it('at shutdown, waits briefly for late create answers and logs those that never came', async () => {
    const adapter = slow.app.telegram as TelegramBotApiAdapter;
    const shutdownLine = 'shutting down before a timed-out create was answered: a link may exist that this service does not know';

    slow.telegram.failNext({ kind: 'slowAnswer', delayMs: 700 }, { method: 'createChatInviteLink' });
    expect(
      firstError(await slow.gql(slowOwner.token, CREATE, { input: { channelId: CHANNEL, name: 'late at close' } })).extensions?.code,
    ).toBe('UPSTREAM_ERROR');
    await adapter.close(3000);
    expect(telegramNamed(slow, 'late at close').map((link) => link.is_revoked)).toEqual([true]);
    expect(loggedAt(slow, 50, shutdownLine)).toBe(0);

    slow.telegram.failNext({ kind: 'hang' }, { method: 'createChatInviteLink' });
    expect(
      firstError(await slow.gql(slowOwner.token, CREATE, { input: { channelId: CHANNEL, name: 'hung at close' } })).extensions?.code,
    ).toBe('UPSTREAM_ERROR');
    await adapter.close(100);
    expect(loggedAt(slow, 50, shutdownLine)).toBe(1);
  });

  it('does not resend a subscription create that hung', async () => {
    slow.telegram.failNext({ kind: 'hang' }, { method: 'createChatSubscriptionInviteLink' });
    const [response, creates] = await counting(slow, 'createChatSubscriptionInviteLink', () =>
      slow.gql(slowOwner.token, CREATE_SUB, { input: { channelId: CHANNEL, name: 'hung sub', subscriptionPrice: 1 } }),
    );
    expect(firstError(response).extensions?.code).toBe('UPSTREAM_ERROR');
    expect(creates).toBe(1);
  });

  it('retries a hung read, and gives up after the bounded number of attempts', async () => {
    slow.telegram.failNext({ kind: 'hang' }, { method: 'getChat' });
    const [recovered, firstReads] = await counting(slow, 'getChat', () =>
      slow.gql(slowOwner.token, CONNECT_CHANNEL, { telegramId: CHANNEL }),
    );
    expect(recovered.errors).toBeUndefined();
    expect(firstReads).toBe(2);

    slow.telegram.failNext({ kind: 'hang' }, { method: 'getChat', times: ATTEMPTS });
    const [failed, reads] = await counting(slow, 'getChat', () => slow.gql(slowOwner.token, CONNECT_CHANNEL, { telegramId: CHANNEL }));
    expect(firstError(failed).extensions?.code).toBe('UPSTREAM_ERROR');
    expect(firstError(failed).message).toMatch(/did not answer in time/);
    expect(reads).toBe(ATTEMPTS);
  });
});

describe('bot rights changing after connectChannel', () => {
  it('answers FORBIDDEN BOT_RIGHTS_MISSING when the bot lost can_invite_users or was demoted', async () => {
    try {
      const demotions = [
        { botStatus: 'administrator', canInviteUsers: false },
        { botStatus: 'member', canInviteUsers: true },
      ] as const;
      for (const patch of demotions) {
        t.telegram.updateChat(CHANNEL, patch);
        const response = await t.gql(owner.token, CREATE, { input: { channelId: CHANNEL, name: 'demoted' } });
        expect(firstError(response).extensions, JSON.stringify(patch)).toMatchObject({
          code: 'FORBIDDEN',
          reason: 'BOT_RIGHTS_MISSING',
          channelId: CHANNEL,
        });
      }
      t.telegram.updateChat(CHANNEL, { botStatus: 'kicked' });
      const kicked = await t.gql(owner.token, CREATE, { input: { channelId: CHANNEL, name: 'demoted' } });
      expect(firstError(kicked).extensions).toMatchObject({ code: 'CONFLICT', reason: 'BOT_NOT_IN_CHANNEL', channelId: CHANNEL });
    } finally {
      t.telegram.updateChat(CHANNEL, { botStatus: 'administrator', canInviteUsers: true });
    }
    expect(await storedNamed(t, 'demoted')).toBe(0);
    expect(telegramNamed(t, 'demoted')).toEqual([]);
  });
});

describe('logs', () => {
  it('never contain the bot token, including on every failure above', async () => {
    // Failures of its own, so this holds when run alone too.
    t.telegram.failNext({ kind: 'serverError' }, { method: 'createChatInviteLink' });
    expect(firstError(await t.gql(owner.token, CREATE, { input: { channelId: CHANNEL, name: 'log check' } })).extensions?.code).toBe(
      'UPSTREAM_ERROR',
    );
    slow.telegram.failNext({ kind: 'hang' }, { method: 'createChatInviteLink' });
    expect(firstError(await slow.gql(slowOwner.token, CREATE, { input: { channelId: CHANNEL, name: 'log check' } })).extensions?.code).toBe(
      'UPSTREAM_ERROR',
    );
    const secret = BOT_TOKEN.split(':')[1]!;
    for (const app of [t, slow]) {
      const logs = app.logs.join('\n');
      expect(logs).toMatch(/telegram call failed/);
      expect(logs).not.toContain(BOT_TOKEN);
      expect(logs).not.toContain(secret);
    }
  });
});
