import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/http/server.ts';
import { createTestApp, CHANNEL, type GraphQLResponse, type TestApp } from './support/app.ts';

/*
 * createShortLinks through GraphQL against the real amoCRM emulator (over HTTP, OAuth): batching
 * into requests of 250, coalescing of aliased fields, validation, partial failures, storage.
 */

const SHORT_LINKS_PATH = '/api/v4/short_links';

let t: TestApp;
let owner: { accountId: string; token: string };
let other: { accountId: string; token: string };
let ownLinkId: string;
let otherLinkId: string;
let channelRowId: string;

/** Every test uses its own contact ids, so denied entities and counts never mix. */
let nextEntityId = 1_000;
interface Item {
  url: string;
  entityId: number;
  inviteLinkId?: string;
}
function items(count: number, extra: Partial<Item> = {}): Item[] {
  const first = nextEntityId;
  nextEntityId += count;
  return Array.from({ length: count }, (_, i) => ({
    url: `https://example.com/contact/${first + i}?src=tg`,
    entityId: first + i,
    ...extra,
  }));
}

const PAYLOAD = /* GraphQL */ `
  shortLinks { id url targetUrl accountId entityType entityId inviteLink { id } createdAt }
  failures { index code message }
`;
const CREATE = /* GraphQL */ `
  mutation Create($input: [ShortLinkInput!]!) { createShortLinks(input: $input) { ${PAYLOAD} } }
`;

interface ShortLinkOut {
  id: string;
  url: string;
  targetUrl: string;
  accountId: number;
  entityType: string;
  entityId: number;
  inviteLink: { id: string } | null;
}
interface Payload {
  shortLinks: (ShortLinkOut | null)[];
  failures: { index: number; code: string; message: string }[];
}

const create = (input: Item[], token = owner.token) => t.gql<{ createShortLinks: Payload }>(token, CREATE, { input });

/** Upstream short_links requests made while `run` runs, with their item counts. */
async function upstream<T>(app: TestApp, run: () => Promise<T>): Promise<{ result: T; calls: number; itemCounts: (number | undefined)[] }> {
  const before = app.amocrm.calls.length;
  const result = await run();
  const calls = app.amocrm.calls.slice(before).filter((call) => call.path === SHORT_LINKS_PATH);
  return { result, calls: calls.length, itemCounts: calls.map((call) => call.itemCount) };
}

function expectInOrder(payload: Payload, input: Item[]) {
  expect(payload.shortLinks).toHaveLength(input.length);
  payload.shortLinks.forEach((link, index) => {
    expect(link, `item ${index}`).not.toBeNull();
    expect(link!.targetUrl, `item ${index}`).toBe(input[index]!.url);
    expect(link!.entityId, `item ${index}`).toBe(input[index]!.entityId);
    expect(link!.entityType).toBe('CONTACTS');
    expect(link!.url).toMatch(new RegExp(`^${t.amocrm.baseUrl}/sh/[0-9A-Za-z]{12}$`));
  });
}

const storedCount = (accountId: string) => t.app.db.prisma.shortLink.count({ where: { accountId } });

const fieldPaths = (response: GraphQLResponse) =>
  (response.errors?.[0]?.extensions?.fields as { path: string[] }[] | undefined)?.map((field) => field.path);

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.createAccount('Owner');
  other = await t.createAccount('Other');
  // A chat belongs to one account: the other account manages a chat of its own.
  const otherChannel = t.addChannel();
  for (const [account, chat] of [
    [owner, CHANNEL],
    [other, otherChannel],
  ] as const) {
    const connected = await t.connectVerifiedChannel(account.token, chat);
    expect(connected.errors).toBeUndefined();
  }
  const createLink = 'mutation($c: SafeInt!, $n: String!) { createInviteLink(input: { channelId: $c, name: $n }) { id } }';
  ownLinkId = (await t.gql(owner.token, createLink, { c: CHANNEL, n: 'mine' })).data.createInviteLink.id;
  otherLinkId = (await t.gql(other.token, createLink, { c: otherChannel, n: 'theirs' })).data.createInviteLink.id;
  channelRowId = (await t.app.db.prisma.inviteLink.findUniqueOrThrow({ where: { id: ownLinkId } })).channelId;
});
afterAll(() => t?.close());

describe('batching', () => {
  it('sends 1000 items as exactly 4 requests of 250 and answers in input order', async () => {
    const input = items(1000);
    const storedBefore = await storedCount(owner.accountId);
    const startedAt = performance.now();
    const { result, calls, itemCounts } = await upstream(t, () => create(input));
    console.info(`createShortLinks with 1000 items: ${Math.round(performance.now() - startedAt)} ms, ${calls} amoCRM requests`);
    expect(result.errors).toBeUndefined();
    expect(calls).toBe(4);
    expect(itemCounts).toEqual([250, 250, 250, 250]);
    expectInOrder(result.data!.createShortLinks, input);
    expect(result.data!.createShortLinks.failures).toEqual([]);
    expect(new Set(result.data!.createShortLinks.shortLinks.map((link) => link!.url)).size).toBe(1000);
    expect(await storedCount(owner.accountId)).toBe(storedBefore + 1000);
  });

  it('sends two aliased fields of 200 items in one operation as 2 requests, not 4', async () => {
    const first = items(200);
    const second = items(200);
    const query = /* GraphQL */ `
      mutation Two($a: [ShortLinkInput!]!, $b: [ShortLinkInput!]!) {
        first: createShortLinks(input: $a) { ${PAYLOAD} }
        second: createShortLinks(input: $b) { ${PAYLOAD} }
      }
    `;
    const { result, calls, itemCounts } = await upstream(t, () => t.gql(owner.token, query, { a: first, b: second }));
    expect(result.errors).toBeUndefined();
    expect(calls).toBe(2);
    expect(itemCounts).toEqual([250, 150]);
    expectInOrder(result.data.first, first);
    expectInOrder(result.data.second, second);
  });

  it('coalesces fields reached through fragments, and leaves out a skipped one', async () => {
    const [a, b, c] = [items(100), items(100), items(100)];
    const query = /* GraphQL */ `
      mutation Frag($a: [ShortLinkInput!]!, $b: [ShortLinkInput!]!, $c: [ShortLinkInput!]!, $skip: Boolean!) {
        a: createShortLinks(input: $a) {
          failures {
            index
          }
          shortLinks {
            entityId
          }
        }
        ...More
        c: createShortLinks(input: $c) @skip(if: $skip) {
          failures {
            index
          }
        }
      }
      fragment More on Mutation {
        ... on Mutation {
          b: createShortLinks(input: $b) {
            failures {
              index
            }
            shortLinks {
              entityId
            }
          }
        }
      }
    `;
    const { result, calls, itemCounts } = await upstream(t, () => t.gql(owner.token, query, { a, b, c, skip: true }));
    expect(result.errors).toBeUndefined();
    expect(calls).toBe(1);
    expect(itemCounts).toEqual([200]);
    expect(result.data.a.shortLinks.map((link: { entityId: number }) => link.entityId)).toEqual(a.map((item) => item.entityId));
    expect(result.data.b.shortLinks.map((link: { entityId: number }) => link.entityId)).toEqual(b.map((item) => item.entityId));
    expect(result.data.c).toBeUndefined();
  });

  it('sends 251 items as 2 requests', async () => {
    const input = items(251);
    const { result, calls, itemCounts } = await upstream(t, () => create(input));
    expect(result.errors).toBeUndefined();
    expect(calls).toBe(2);
    expect(itemCounts).toEqual([250, 1]);
    expectInOrder(result.data!.createShortLinks, input);
  });

  it('refuses 1001 items with VALIDATION_FAILED on input, sending nothing', async () => {
    const { result, calls } = await upstream(t, () => create(items(1001)));
    expect(result.data).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(fieldPaths(result)).toEqual([['input']]);
    expect(calls).toBe(0);
  });

  it('makes one link per item, even for the same contact and url', async () => {
    const [item] = items(1);
    const { result, calls } = await upstream(t, () => create([item!, item!]));
    expect(calls).toBe(1);
    const [a, b] = result.data!.createShortLinks.shortLinks;
    expect(a!.url).not.toBe(b!.url);
    expect(a!.id).not.toBe(b!.id);
  });
});

describe('validation', () => {
  it.each([
    ['a url that is not http(s)', { url: 'ftp://example.com/file' }, 'url'],
    ['a javascript: url', { url: 'javascript:alert(1)' }, 'url'],
    ['entityId 0', { entityId: 0 }, 'entityId'],
    ['a negative entityId', { entityId: -7 }, 'entityId'],
    ['an inviteLinkId that is not a UUID', { inviteLinkId: 'link-1' }, 'inviteLinkId'],
  ])('refuses %s with its field path, sending nothing', async (_name, change, field) => {
    const input: Item[] = items(5);
    input[3] = { ...input[3]!, ...change };
    const { result, calls } = await upstream(t, () => create(input));
    expect(result.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(fieldPaths(result)).toEqual([['input', '3', field]]);
    expect(calls).toBe(0);
  });

  it('lists every invalid item', async () => {
    const input: Item[] = items(4);
    input[0] = { ...input[0]!, entityId: 0 };
    input[2] = { ...input[2]!, url: 'mailto:a@b.c', inviteLinkId: 'x' };
    const { result, calls } = await upstream(t, () => create(input));
    expect(fieldPaths(result)).toEqual([
      ['input', '0', 'entityId'],
      ['input', '2', 'url'],
      ['input', '2', 'inviteLinkId'],
    ]);
    expect(calls).toBe(0);
  });

  it("answers NOT_FOUND for another account's invite link (or an unknown one), sending nothing", async () => {
    for (const inviteLinkId of [otherLinkId, randomUUID()]) {
      const input = items(3);
      input[1]!.inviteLinkId = inviteLinkId;
      const { result, calls } = await upstream(t, () => create(input));
      expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(result.errors?.[0]?.message).toContain('input.1.inviteLinkId');
      expect(calls).toBe(0);
    }
  });

  it('sends none of an invalid aliased field, while a valid one before it completes', async () => {
    const good = items(10);
    const bad = items(10);
    bad[4]!.entityId = -1;
    const query = /* GraphQL */ `
      mutation Mixed($a: [ShortLinkInput!]!, $b: [ShortLinkInput!]!) {
        good: createShortLinks(input: $a) {
          failures {
            index
          }
        }
        bad: createShortLinks(input: $b) {
          failures {
            index
          }
        }
      }
    `;
    const storedBefore = await storedCount(owner.accountId);
    const { result, calls, itemCounts } = await upstream(t, () => t.gql(owner.token, query, { a: good, b: bad }));
    expect(result.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(result.errors?.[0]?.path).toEqual(['bad']);
    expect(fieldPaths(result)).toEqual([['input', '4', 'entityId']]);
    expect(calls).toBe(1);
    expect(itemCounts).toEqual([10]);
    expect(await storedCount(owner.accountId)).toBe(storedBefore + 10);
  });
});

describe('amoCRM failures', () => {
  it('retries a 429 and then answers every item (2 requests)', async () => {
    const input = items(20);
    t.amocrm.failNext({ kind: 'rateLimit' }, { path: SHORT_LINKS_PATH });
    const { result, calls } = await upstream(t, () => create(input));
    expect(result.errors).toBeUndefined();
    expect(calls).toBe(2);
    expectInOrder(result.data!.createShortLinks, input);
  });

  it('answers RATE_LIMITED with retryAfter when 429 outlasts the retries (1 + 2 requests)', async () => {
    t.amocrm.failNext({ kind: 'rateLimit' }, { path: SHORT_LINKS_PATH, times: 3 });
    const storedBefore = await storedCount(owner.accountId);
    const { result, calls } = await upstream(t, () => create(items(5)));
    expect(calls).toBe(3);
    expect(result.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(result.errors?.[0]?.extensions?.retryAfter).toBeGreaterThan(0);
    expect(await storedCount(owner.accountId)).toBe(storedBefore);
  });

  it('answers UPSTREAM_ERROR when every retry of a 5xx fails', async () => {
    t.amocrm.failNext({ kind: 'serverError', status: 503 }, { path: SHORT_LINKS_PATH, times: 3 });
    const { result, calls } = await upstream(t, () => create(items(5)));
    expect(calls).toBe(3);
    expect(result.errors?.[0]?.extensions?.code).toBe('UPSTREAM_ERROR');
    expect(result.errors?.[0]?.message).toMatch(/amoCRM failed \(HTTP 503\)/);
  });

  it('answers a denied contact as a FORBIDDEN failure at its index, the others as links', async () => {
    const input = items(6);
    t.amocrm.denyEntity(input[2]!.entityId);
    t.amocrm.denyEntity(input[5]!.entityId);
    const { result, calls } = await upstream(t, () => create(input));
    expect(result.errors).toBeUndefined();
    expect(calls).toBe(1);
    const payload = result.data!.createShortLinks;
    expect(payload.shortLinks.map((link) => link?.entityId ?? null)).toEqual(
      input.map((item, index) => (index === 2 || index === 5 ? null : item.entityId)),
    );
    expect(payload.failures.map(({ index, code }) => ({ index, code }))).toEqual([
      { index: 2, code: 'FORBIDDEN' },
      { index: 5, code: 'FORBIDDEN' },
    ]);
    expect(payload.failures[0]!.message).toMatch(new RegExp(`contact ${input[2]!.entityId}.*no rights`));
  });
});

describe('partial failures and timeouts', () => {
  // Limited to 1 request/s, so the second request leaves a second after the first.
  let slow: TestApp;
  let account: { accountId: string; token: string };
  // A 300 ms timeout per request.
  let hasty: TestApp;
  let hastyAccount: { accountId: string; token: string };
  beforeAll(async () => {
    [slow, hasty] = await Promise.all([
      createTestApp({ amocrm: { rateLimitPerSecond: 1 } }),
      createTestApp({ amocrm: { timeoutMs: 300 } }),
    ]);
    [account, hastyAccount] = await Promise.all([slow.createAccount('Slow'), hasty.createAccount('Hasty')]);
  });
  afterAll(() => Promise.all([slow?.close(), hasty?.close()]));

  it('keeps and returns the first 250 when the second batch fails every retry; 250..299 are failures', async () => {
    const input = items(300);
    const before = slow.amocrm.calls.length;
    const response = slow.gql<{ createShortLinks: Payload }>(account.token, CREATE, { input });
    // The emulator decides a request's fate when it records it, so once the first is recorded the
    // failure queued now hits the second request (a second later) and its 2 retries.
    await expect
      .poll(() => slow.amocrm.calls.slice(before).some((call) => call.path === SHORT_LINKS_PATH), { interval: 2, timeout: 10_000 })
      .toBe(true);
    slow.amocrm.failNext({ kind: 'serverError', status: 502 }, { path: SHORT_LINKS_PATH, times: 3 });
    const result = await response;

    expect(result.errors).toBeUndefined();
    const calls = slow.amocrm.calls.slice(before).filter((call) => call.path === SHORT_LINKS_PATH);
    expect(calls.map((call) => [call.itemCount, call.status])).toEqual([
      [250, 200],
      [50, 502],
      [50, 502],
      [50, 502],
    ]);
    const payload = result.data!.createShortLinks;
    expectInOrderWith(slow, payload.shortLinks.slice(0, 250), input.slice(0, 250));
    expect(payload.shortLinks.slice(250)).toEqual(Array(50).fill(null));
    expect(payload.failures.map((failure) => failure.index)).toEqual(Array.from({ length: 50 }, (_, i) => 250 + i));
    expect(new Set(payload.failures.map((failure) => failure.code))).toEqual(new Set(['UPSTREAM_ERROR']));
    const stored = await slow.app.db.prisma.shortLink.findMany({
      where: { accountId: account.accountId },
      select: { id: true, entityId: true },
    });
    expect(stored.map((row) => row.entityId).sort((a, b) => a - b)).toEqual(input.slice(0, 250).map((item) => item.entityId));
    expect(new Set(stored.map((row) => row.id))).toEqual(new Set(payload.shortLinks.slice(0, 250).map((link) => link!.id)));
  });

  it('answers UPSTREAM_ERROR after a timeout without retrying it (the links may exist)', async () => {
    hasty.amocrm.failNext({ kind: 'hang' }, { path: SHORT_LINKS_PATH });
    const { result, calls } = await upstream(hasty, () => hasty.gql(hastyAccount.token, CREATE, { input: items(3) }));
    expect(calls).toBe(1);
    expect(result.errors?.[0]?.extensions?.code).toBe('UPSTREAM_ERROR');
    expect(result.errors?.[0]?.extensions?.reason).toBe('AMOCRM_TIMEOUT');
  });
});

function expectInOrderWith(app: TestApp, links: (ShortLinkOut | null)[], input: Item[]) {
  expect(links).toHaveLength(input.length);
  links.forEach((link, index) => {
    expect(link?.entityId, `item ${index}`).toBe(input[index]!.entityId);
    expect(link?.targetUrl, `item ${index}`).toBe(input[index]!.url);
    expect(link?.url.startsWith(`${app.amocrm.baseUrl}/sh/`)).toBe(true);
  });
}

describe('storage and InviteLink.shortLinks', () => {
  it('stores each link with its account, invite link, target and contact, and the link can be followed', async () => {
    const input = items(3, { inviteLinkId: ownLinkId });
    const response = await create(input);
    expect(response.errors).toBeUndefined();
    const links = response.data!.createShortLinks.shortLinks;
    expect(links.map((link) => link!.inviteLink?.id)).toEqual([ownLinkId, ownLinkId, ownLinkId]);
    expect(links.every((link) => link!.accountId === 31000001)).toBe(true);
    const rows = await t.app.db.prisma.shortLink.findMany({ where: { id: { in: links.map((link) => link!.id) } } });
    for (const link of links) {
      const row = rows.find((r) => r.id === link!.id)!;
      expect(row).toMatchObject({
        accountId: owner.accountId,
        inviteLinkId: ownLinkId,
        url: link!.url,
        targetUrl: link!.targetUrl,
        amoAccountId: 31000001,
        entityType: 'CONTACTS',
        entityId: link!.entityId,
      });
    }

    const followed = await fetch(links[0]!.url, { redirect: 'manual' });
    expect(followed.status).toBe(302);
    expect(followed.headers.get('location')).toBe(input[0]!.url);
    expect(t.amocrm.notes(input[0]!.entityId)).toEqual([{ entity_id: input[0]!.entityId, url: input[0]!.url }]);

    const listed = await t.gql(
      owner.token,
      'query($id: ID!, $c: SafeInt!) { inviteLink(id: $id, channelId: $c) { shortLinks { id url entityId } } }',
      {
        id: ownLinkId,
        c: CHANNEL,
      },
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.data.inviteLink.shortLinks.map((link: { id: string }) => link.id)).toEqual(links.map((link) => link!.id));
  });

  it("does not show one account's short links to another", async () => {
    const mine = await create(items(1));
    const id = mine.data!.createShortLinks.shortLinks[0]!.id;
    const theirs = await t.app.db.prisma.shortLink.findFirst({ where: { id, accountId: other.accountId } });
    expect(theirs).toBeNull();
  });

  it('costs the same number of SQL statements for 1 and 20 links, listed or just created', async () => {
    const prisma = t.app.db.prisma;
    const linkIds: string[] = [];
    for (let i = 0; i < 20; i++) {
      const link = await prisma.inviteLink.create({
        data: {
          accountId: owner.accountId,
          channelId: channelRowId,
          chatId: BigInt(CHANNEL),
          name: `bulk ${i}`,
          inviteLink: `https://t.me/+bulk${randomUUID()}`,
        },
      });
      linkIds.push(link.id);
    }
    const createWithLinks = async (count: number) => {
      const input = items(count).map((item, i) => ({ ...item, inviteLinkId: linkIds[i]! }));
      const query = /* GraphQL */ `
        mutation ($input: [ShortLinkInput!]!) {
          createShortLinks(input: $input) {
            shortLinks {
              id
              inviteLink {
                id
                name
                channel {
                  title
                }
              }
            }
            failures {
              index
            }
          }
        }
      `;
      const before = t.app.db.statementCount;
      const response = await t.gql(owner.token, query, { input });
      const statements = t.app.db.statementCount - before;
      expect(response.errors).toBeUndefined();
      expect(response.data.createShortLinks.shortLinks.map((link: { inviteLink: { id: string } }) => link.inviteLink.id)).toEqual(
        linkIds.slice(0, count),
      );
      return statements;
    };
    const createdOne = await createWithLinks(1);
    const createdTwenty = await createWithLinks(20);
    expect(createdTwenty).toBe(createdOne);

    const list = async (ids: string[]) => {
      const query = /* GraphQL */ `
        query ($c: SafeInt!, $ids: [ID!]) {
          inviteLinks(channelId: $c, limit: 100, filter: { linkIds: $ids }) {
            items {
              id
              shortLinks {
                id
                url
                entityId
                inviteLink {
                  id
                }
              }
            }
          }
        }
      `;
      const before = t.app.db.statementCount;
      const response = await t.gql(owner.token, query, { c: CHANNEL, ids });
      const statements = t.app.db.statementCount - before;
      expect(response.errors).toBeUndefined();
      expect(response.data.inviteLinks.items).toHaveLength(ids.length);
      for (const item of response.data.inviteLinks.items) expect(item.shortLinks.length).toBe(item.id === linkIds[0] ? 2 : 1);
      return statements;
    };
    expect(await list(linkIds.slice(0, 20))).toBe(await list(linkIds.slice(0, 1)));
  });
});

describe('without amoCRM', () => {
  it('answers UPSTREAM_ERROR with reason AMOCRM_NOT_CONFIGURED', async () => {
    const server = createServer({ ...t.app, amocrm: undefined });
    const response = await server.fetch('http://inviteql.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
      body: JSON.stringify({ query: CREATE, variables: { input: items(1) } }),
    });
    const body = await response.json();
    expect(body.errors[0].extensions).toMatchObject({ code: 'UPSTREAM_ERROR', reason: 'AMOCRM_NOT_CONFIGURED' });
  });
});
