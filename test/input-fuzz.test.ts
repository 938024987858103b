import { randomUUID } from 'node:crypto';
import { mulberry32 } from './support/random.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/http/server.ts';
import { createRequestRateLimiter } from '../src/auth/rate-limit.ts';
import { createTestApp, CONNECT_CHANNEL, CHANNEL, type TestApp } from './support/app.ts';

/**
 * Seeded fuzzing of every operation with string input: NULs, lone surrogates, odd but valid
 * Unicode, LIKE metacharacters, huge numbers and wrong types, through the real server in-process.
 * No answer may be ours to blame (HTTP 5xx, INTERNAL_SERVER_ERROR), input PostgreSQL cannot store
 * must be refused as VALIDATION_FAILED on its field before any Telegram call, and no refused create
 * may leave a live Telegram link behind.
 */

const SEED = 0x1c0ffee;
const REQUESTS = 2500;

const random = mulberry32(SEED);
const below = (n: number) => Math.floor(random() * n);
const chance = (p: number) => random() < p;
const oneOf = <T>(items: readonly T[]): T => items[below(items.length)]!;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** What PostgreSQL text cannot hold as sent: NUL is refused, a lone surrogate becomes U+FFFD. */
const unstorable = (value: string) => value.includes('\u0000') || LONE_SURROGATE.test(value);

const PLAIN = ['Spring promo', 'Партнёр 7', '广告渠道', 'a', 'Agency: autumn', 'promo', 'Ünïcödé', 'x_y%z'];
const ODD_BUT_VALID = [
  '👍🏽',
  '👨‍👩‍👧',
  'e\u0301',
  '\u202eevil',
  'zero\u200bwidth',
  '\ufeffbom',
  '\uffff\ufffe',
  '\u{10ffff}',
  '\u0001\u001f\u007f',
  'line\u2028sep',
  'tab\tnew\nline',
  '%',
  '_',
  '\\',
  'a\\',
  '\\%',
  "'; DROP TABLE tags; --",
  '$1',
  '{}',
  '   ',
  '',
  ' padded ',
  '\u00a0',
  'ﷺ',
  '𝕏',
];
const POISON = ['\u0000', '\ud83d', '\ude00', '\ude00\ud83d', '\udbff', '\u0000\u0000'];

function poisoned(base = oneOf(PLAIN)): string {
  const at = below(base.length + 1);
  return base.slice(0, at) + oneOf(POISON) + base.slice(at);
}

function anyString(): string {
  switch (below(6)) {
    case 0:
      return oneOf(PLAIN);
    case 1:
      return oneOf(ODD_BUT_VALID);
    case 2:
      return poisoned(chance(0.5) ? oneOf(PLAIN) : oneOf(ODD_BUT_VALID));
    case 3:
      return 'x'.repeat(1 + below(3000));
    case 4:
      return oneOf(PLAIN) + oneOf(ODD_BUT_VALID);
    default:
      return String.fromCodePoint(...Array.from({ length: 1 + below(12) }, () => below(0x110000)));
  }
}

const HUGE_NUMBERS = [
  2 ** 31,
  2 ** 31 - 1,
  -(2 ** 31),
  -(2 ** 31) - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e308,
  -1e308,
  0.5,
  -0,
  -1,
  0,
  99999,
  100000,
];
const WRONG_TYPES: unknown[] = [null, true, false, {}, [], ['a'], { a: 1 }, '5', '', 'null'];

type Kind = 'string' | 'id' | 'idList' | 'int' | 'safeInt' | 'color' | 'date' | 'url';

function chaosValue(kind: Kind): unknown {
  const roll = below(10);
  if (roll < 3) return anyString();
  if (roll < 5) return oneOf(HUGE_NUMBERS);
  if (roll < 6) return oneOf(WRONG_TYPES);
  if (roll < 7 && kind === 'idList')
    return Array.from({ length: below(3) + 1 }, () => (chance(0.5) ? poisoned(randomUUID()) : anyString()));
  if (roll < 8) return randomUUID() + (chance(0.5) ? oneOf(POISON) : '');
  if (roll < 9)
    return oneOf([
      '#fff',
      '#GGGGGG',
      '#12345\u0000',
      'red',
      '2030-01-01T00:00:00Z',
      '2030-13-45T99:00:00Z',
      'https://x.test/\u0000',
      'javascript:alert(1)',
    ]);
  return below(2 ** 31);
}

/** How one leaf of the variables is filled: kept valid, poisoned on purpose, or fuzzed. */
type Leaf = (kind: Kind, path: string[], valid: unknown) => unknown;

interface Operation {
  name: string;
  query: string;
  variables(leaf: Leaf): Record<string, unknown>;
  /** Makes a Telegram link when it succeeds. */
  creates?: boolean;
  /** The text the server should hold and the text it answered, which must be equal. */
  echoes?(variables: any, data: any): [sent: unknown, answered: unknown][];
}

let t: TestApp;
let token: string;
let tagTypeId: string;
let tagId: string;
const linkIds: string[] = [];
let counter = 0;
const unique = (prefix: string) => `${prefix} ${++counter}`;
const linkId = () => (linkIds.length ? oneOf(linkIds) : randomUUID());
const future = () => new Date(Date.now() + (1 + below(300)) * 86_400_000).toISOString();

const LINK_FIELDS = 'id name inviteLink isRevoked tags { id }';
/** Telegram cleans link names (trims, collapses spaces and newlines); the row keeps Telegram's name. */
const telegramName = (url: string) => t.telegram.links(CHANNEL).find((link) => link.invite_link === url)?.name;
const trimmed = (value: unknown) => (typeof value === 'string' ? value.trim() : value);

const OPERATIONS: Operation[] = [
  {
    name: 'createTagType',
    query: 'mutation($name: String!) { createTagType(name: $name) { id name } }',
    variables: (leaf) => ({ name: leaf('string', ['name'], unique('type')) }),
    echoes: (v, d) => [[trimmed(v.name), d.createTagType.name]],
  },
  {
    name: 'createTag',
    query:
      'mutation($name: String!, $color: HexColorCode!, $typeId: ID) { createTag(name: $name, color: $color, typeId: $typeId) { id name } }',
    variables: (leaf) => ({
      name: leaf('string', ['name'], unique('tag')),
      color: leaf('color', ['color'], '#12ab34'),
      typeId: leaf('id', ['typeId'], chance(0.5) ? tagTypeId : null),
    }),
    echoes: (v, d) => [[trimmed(v.name), d.createTag.name]],
  },
  {
    name: 'createPartner',
    query: 'mutation($externalId: Int!, $title: String!) { createPartner(externalId: $externalId, title: $title) { id title } }',
    variables: (leaf) => ({
      externalId: leaf('int', ['externalId'], 1000 + ++counter),
      title: leaf('string', ['title'], unique('Agency')),
    }),
    echoes: (v, d) => [[v.title, d.createPartner.title]],
  },
  {
    name: 'createApiToken',
    query:
      'mutation($name: String!, $partnerExternalId: Int) { createApiToken(name: $name, partnerExternalId: $partnerExternalId) { apiToken { name } } }',
    variables: (leaf) => ({
      name: leaf('string', ['name'], unique('token')),
      partnerExternalId: leaf('int', ['partnerExternalId'], chance(0.5) ? 7 : null),
    }),
    echoes: (v, d) => [[trimmed(v.name), d.createApiToken.apiToken.name]],
  },
  {
    name: 'revokeApiToken',
    // Never a real token's id: the fuzzing token must stay valid.
    query: 'mutation($id: ID!) { revokeApiToken(id: $id) { id } }',
    variables: (leaf) => ({ id: leaf('id', ['id'], randomUUID()) }),
  },
  {
    name: 'inviteLinks',
    query: /* GraphQL */ `
      query ($channelId: SafeInt!, $name: String, $page: Int, $limit: Int, $creatorId: SafeInt, $filter: InviteLinkFilter) {
        inviteLinks(channelId: $channelId, name: $name, page: $page, limit: $limit, creatorId: $creatorId, filter: $filter) {
          total
          items {
            id
            name
          }
        }
      }
    `,
    variables: (leaf) => ({
      channelId: leaf('safeInt', ['channelId'], CHANNEL),
      name: leaf('string', ['name'], oneOf(['promo', 'a', '%', '\\', null])),
      page: leaf('int', ['page'], 1 + below(3)),
      limit: leaf('int', ['limit'], 1 + below(100)),
      creatorId: leaf('safeInt', ['creatorId'], null),
      filter: chance(0.5)
        ? {
            linkIds: leaf('idList', ['filter', 'linkIds'], [linkId()]),
            tags: [
              {
                tagTypeId: leaf('id', ['filter', 'tags', '0', 'tagTypeId'], tagTypeId),
                tags: leaf('idList', ['filter', 'tags', '0', 'tags'], [tagId]),
              },
            ],
          }
        : null,
    }),
  },
  {
    name: 'inviteLink',
    query: 'query($id: ID!, $channelId: SafeInt!) { inviteLink(id: $id, channelId: $channelId) { id name } }',
    variables: (leaf) => ({ id: leaf('id', ['id'], linkId()), channelId: leaf('safeInt', ['channelId'], CHANNEL) }),
  },
  {
    name: 'partnerInviteLinks',
    query:
      'query($externalId: Int!, $channelId: SafeInt!, $page: Int, $limit: Int) { partnerInviteLinks(externalId: $externalId, channelId: $channelId, page: $page, limit: $limit) { total } }',
    variables: (leaf) => ({
      externalId: leaf('int', ['externalId'], 7),
      channelId: leaf('safeInt', ['channelId'], CHANNEL),
      page: leaf('int', ['page'], 1),
      limit: leaf('int', ['limit'], 10),
    }),
  },
  {
    name: 'createInviteLink',
    creates: true,
    query: `mutation($input: CreateInviteLinkInput!) { createInviteLink(input: $input) { ${LINK_FIELDS} } }`,
    variables: (leaf) => ({
      input: {
        channelId: leaf('safeInt', ['input', 'channelId'], CHANNEL),
        name: leaf('string', ['input', 'name'], unique('link').slice(0, 32)),
        memberLimit: leaf('int', ['input', 'memberLimit'], 1 + below(99999)),
        budget: leaf('int', ['input', 'budget'], below(100000)),
        tagIds: leaf('idList', ['input', 'tagIds'], chance(0.5) ? [tagId] : []),
        idempotencyKey: leaf('string', ['input', 'idempotencyKey'], chance(0.5) ? randomUUID() : null),
        expireDate: leaf('date', ['input', 'expireDate'], chance(0.5) ? future() : null),
      },
    }),
    echoes: (_v, d) => [[telegramName(d.createInviteLink.inviteLink), d.createInviteLink.name]],
  },
  {
    name: 'createSubscriptionInviteLink',
    creates: true,
    query: `mutation($input: CreateSubscriptionInviteLinkInput!) { createSubscriptionInviteLink(input: $input) { ${LINK_FIELDS} } }`,
    variables: (leaf) => ({
      input: {
        channelId: leaf('safeInt', ['input', 'channelId'], CHANNEL),
        name: leaf('string', ['input', 'name'], unique('sub').slice(0, 32)),
        subscriptionPrice: leaf('int', ['input', 'subscriptionPrice'], 1 + below(10000)),
        budget: leaf('int', ['input', 'budget'], below(1000)),
        tagIds: leaf('idList', ['input', 'tagIds'], []),
        idempotencyKey: leaf('string', ['input', 'idempotencyKey'], randomUUID()),
      },
    }),
    echoes: (_v, d) => [[telegramName(d.createSubscriptionInviteLink.inviteLink), d.createSubscriptionInviteLink.name]],
  },
  {
    name: 'partnerCreateInviteLink',
    creates: true,
    query: `mutation($externalId: Int!, $input: PartnerCreateInviteLinkInput!) { partnerCreateInviteLink(externalId: $externalId, input: $input) { ${LINK_FIELDS} } }`,
    variables: (leaf) => ({
      externalId: leaf('int', ['externalId'], 7),
      input: {
        channelId: leaf('safeInt', ['input', 'channelId'], CHANNEL),
        name: leaf('string', ['input', 'name'], unique('partner link').slice(0, 32)),
        memberLimit: leaf('int', ['input', 'memberLimit'], null),
        idempotencyKey: leaf('string', ['input', 'idempotencyKey'], chance(0.5) ? randomUUID() : null),
      },
    }),
    echoes: (_v, d) => [[telegramName(d.partnerCreateInviteLink.inviteLink), d.partnerCreateInviteLink.name]],
  },
  {
    name: 'updateInviteLink',
    query: `mutation($input: UpdateInviteLinkInput!) { updateInviteLink(input: $input) { ${LINK_FIELDS} } }`,
    variables: (leaf) => ({
      input: {
        id: leaf('id', ['input', 'id'], linkId()),
        channelId: leaf('safeInt', ['input', 'channelId'], CHANNEL),
        name: leaf('string', ['input', 'name'], unique('renamed').slice(0, 32)),
        budget: leaf('int', ['input', 'budget'], below(1000)),
        tagIds: leaf('idList', ['input', 'tagIds'], chance(0.5) ? [tagId] : []),
      },
    }),
    echoes: (_v, d) => [[telegramName(d.updateInviteLink.inviteLink), d.updateInviteLink.name]],
  },
  {
    name: 'revokeInviteLink',
    query: 'mutation($id: ID!, $channelId: SafeInt!) { revokeInviteLink(id: $id, channelId: $channelId) { id isRevoked } }',
    variables: (leaf) => ({
      id: leaf('id', ['id'], chance(0.2) ? linkId() : randomUUID()),
      channelId: leaf('safeInt', ['channelId'], CHANNEL),
    }),
  },
  {
    name: 'createShortLinks',
    // The valid link id names no link (NOT_FOUND before amoCRM), so the fuzz never waits on amoCRM's rate limit.
    query: 'mutation($input: [ShortLinkInput!]!) { createShortLinks(input: $input) { shortLinks { id } failures { index code } } }',
    variables: (leaf) => ({
      input: [
        {
          url: leaf('url', ['input', '0', 'url'], 'https://example.test/landing'),
          entityId: leaf('int', ['input', '0', 'entityId'], 1 + below(1000)),
          inviteLinkId: leaf('id', ['input', '0', 'inviteLinkId'], randomUUID()),
        },
      ],
    }),
  },
  {
    name: 'connectChannel',
    query: CONNECT_CHANNEL,
    variables: (leaf) => ({ telegramId: leaf('safeInt', ['telegramId'], CHANNEL) }),
  },
];

const TEXT_KINDS: Kind[] = ['string', 'id', 'idList'];

interface Plan {
  variables: Record<string, unknown>;
  /** The one text leaf poisoned while every other leaf stays valid, if this request is targeted. */
  target?: string[];
  /** Some text leaf holds what PostgreSQL cannot store as sent. */
  poisoned: boolean;
}

const hasUnstorable = (value: unknown): boolean =>
  typeof value === 'string' ? unstorable(value) : Array.isArray(value) ? value.some(hasUnstorable) : false;

function plan(operation: Operation): Plan {
  const textLeaves: { kind: Kind; path: string[]; valid: unknown }[] = [];
  const validVariables = operation.variables((kind, path, valid) => {
    if (TEXT_KINDS.includes(kind)) textLeaves.push({ kind, path, valid });
    return valid;
  });
  if (textLeaves.length && chance(0.5)) {
    const { kind, path, valid } = oneOf(textLeaves);
    const parent = path.slice(0, -1).reduce((object: any, key) => object[key], validVariables);
    if (kind === 'idList') {
      parent[path.at(-1)!] = [poisoned(randomUUID())];
      return { variables: validVariables, target: [...path, '0'], poisoned: true };
    }
    parent[path.at(-1)!] = poisoned(typeof valid === 'string' ? valid : undefined);
    return { variables: validVariables, target: path, poisoned: true };
  }
  let poisonedText = false;
  const variables = operation.variables((kind, _path, valid) => {
    const value = chance(0.2) ? chaosValue(kind) : valid;
    if (TEXT_KINDS.includes(kind) && hasUnstorable(value)) poisonedText = true;
    return value;
  });
  return { variables, poisoned: poisonedText };
}

const liveLinks = () => t.telegram.links(CHANNEL).filter((link) => !link.is_revoked).length;

beforeAll(async () => {
  t = await createTestApp({ telegramTimeoutMs: 10_000 });
  ({ token } = await t.createAccount('Fuzzed'));
  const ok = async (query: string, variables?: Record<string, unknown>) => {
    const response = await t.gql(token, query, variables);
    expect(response.errors).toBeUndefined();
    return response.data;
  };
  expect((await t.connectVerifiedChannel(token, CHANNEL)).errors).toBeUndefined();
  await ok('mutation { createPartner(externalId: 7, title: "Agency 7") { id } }');
  tagTypeId = (await ok('mutation { createTagType(name: "Source") { id } }')).createTagType.id;
  tagId = (await ok('mutation($t: ID) { createTag(name: "ads", color: "#ff0000", typeId: $t) { id } }', { t: tagTypeId })).createTag.id;
  for (let i = 0; i < 3; i++) {
    const created = await ok(`mutation($n: String!) { createInviteLink(input: { channelId: ${CHANNEL}, name: $n }) { id } }`, {
      n: `seed ${i}`,
    });
    linkIds.push(created.createInviteLink.id);
  }
});

afterAll(async () => {
  await t?.close();
});

describe('text PostgreSQL cannot store', () => {
  const cases: [field: string, query: string, variables: Record<string, unknown>, path: string][] = [
    ['tag type name', 'mutation($n: String!) { createTagType(name: $n) { id } }', { n: 'Sou\u0000rce' }, 'name'],
    ['tag name', 'mutation($n: String!) { createTag(name: $n, color: "#ffffff") { id } }', { n: 'ads\ud800' }, 'name'],
    ['partner title', 'mutation($n: String!) { createPartner(externalId: 99, title: $n) { id } }', { n: '\u0000' }, 'title'],
    ['token name', 'mutation($n: String!) { createApiToken(name: $n) { token } }', { n: 'ci\udfff' }, 'name'],
    ['name search', `query($n: String) { inviteLinks(channelId: ${CHANNEL}, name: $n) { total } }`, { n: 'pro\u0000mo' }, 'name'],
    [
      'link name',
      `mutation($n: String!) { createInviteLink(input: { channelId: ${CHANNEL}, name: $n }) { id } }`,
      { n: 'Spring\u0000' },
      'input.name',
    ],
    [
      'idempotency key',
      `mutation($k: String) { createSubscriptionInviteLink(input: { channelId: ${CHANNEL}, name: "sub", subscriptionPrice: 5, idempotencyKey: $k }) { id } }`,
      { k: 'key-\udbff' },
      'input.idempotencyKey',
    ],
    [
      'listed tag id',
      `mutation($t: ID!) { createInviteLink(input: { channelId: ${CHANNEL}, name: "x", tagIds: [$t] }) { id } }`,
      { t: '\u0000' },
      'input.tagIds.0',
    ],
  ];

  it.each(cases)(
    'refuses NUL and unpaired surrogates in the %s as VALIDATION_FAILED on the field, before Telegram',
    async (_field, query, variables, path) => {
      const callsBefore = t.telegram.calls.length;
      const response = await t.gql(token, query, variables);
      expect(response.status).toBe(200);
      expect(response.errors?.[0]?.extensions).toMatchObject({
        code: 'VALIDATION_FAILED',
        fields: [{ path: path.split('.'), message: expect.stringMatching(/^must (not contain the NUL character|be valid Unicode)/) }],
      });
      expect(response.data).toBeNull();
      expect(t.telegram.calls.slice(callsBefore)).toEqual([]);
    },
  );

  it('keeps odd but valid Unicode as sent: astral characters, joiners, combining marks, noncharacters', async () => {
    const name = '👨‍👩‍👧 e\u0301 \u{10ffff}\uffff \u202e';
    const response = await t.gql(token, 'mutation($n: String!) { createTagType(name: $n) { name } }', { n: name });
    expect(response.errors).toBeUndefined();
    expect(response.data.createTagType.name).toBe(name);
  });
});

describe('seeded input fuzzing', () => {
  it(`answers ${REQUESTS} fuzzed requests (seed ${SEED.toString(16)}) without an error of ours, refusing unstorable text before Telegram`, async () => {
    // One token sends every request: the per-token rate limit is not what this test is about.
    const server = createServer({ ...t.app, rateLimiter: createRequestRateLimiter(t.app.db, 0) });
    const failures: string[] = [];
    const tally = { targeted: 0, refusedAsValidation: 0, succeeded: 0, created: 0 };
    const byKind = new Map<string, number>();
    let failedRequests = 0;

    for (let request = 0; request < REQUESTS; request++) {
      const operation = oneOf(OPERATIONS);
      const { variables, target, poisoned: isPoisoned } = plan(operation);
      const callsBefore = t.telegram.calls.length;
      const liveBefore = operation.creates ? liveLinks() : 0;
      const response = await server.fetch('http://inviteql.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: operation.query, variables }),
      });
      const body = (await response.json()) as { data?: any; errors?: { message: string; extensions?: any }[] };
      const codes = (body.errors ?? []).map((error) => error.extensions?.code);
      const telegramCalls = t.telegram.calls.slice(callsBefore).map((call) => call.method);
      const field = body.data?.[operation.name];
      const problems: string[] = [];
      const fail = (kind: string, detail = '') => {
        problems.push(kind);
        byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
        if (failures.length < 25)
          failures.push(`#${request} ${operation.name} ${kind}${detail}: ${JSON.stringify(variables).slice(0, 240)}`);
      };

      if (response.status >= 500) fail('HTTP 5xx', ` ${response.status}`);
      if (codes.includes('INTERNAL_SERVER_ERROR')) fail('INTERNAL_SERVER_ERROR');
      if (codes.includes('VALIDATION_FAILED') && telegramCalls.length) fail('VALIDATION_FAILED after a Telegram call', ` ${telegramCalls}`);
      if (isPoisoned && field) fail('accepted text PostgreSQL cannot store');
      if (target) {
        tally.targeted++;
        const error = body.errors?.[0];
        const paths = (error?.extensions?.fields ?? []).map((f: { path: string[] }) => f.path.join('.'));
        if (error?.extensions?.code !== 'VALIDATION_FAILED' || !paths.includes(target.join('.'))) {
          fail(
            'poisoned field not refused as VALIDATION_FAILED on it',
            ` (${target.join('.')}: ${error?.extensions?.code ?? 'data'} ${JSON.stringify(paths)})`,
          );
        } else {
          tally.refusedAsValidation++;
        }
        if (telegramCalls.length) fail('poisoned field reached Telegram', ` (${target.join('.')}: ${telegramCalls})`);
      }
      if (field) {
        tally.succeeded++;
        for (const [sent, answered] of operation.echoes?.(variables, body.data) ?? []) {
          if (sent !== answered)
            fail('stored text differs from the text sent', ` (${JSON.stringify(sent)} as ${JSON.stringify(answered)})`);
        }
        if (operation.creates) {
          linkIds.push(field.id);
          tally.created++;
        }
      }
      if (operation.creates) {
        const added = liveLinks() - liveBefore;
        if (field ? added > 1 : added !== 0) fail('live Telegram links left', ` (${field ? 'succeeded' : 'failed'}, ${added} new)`);
      }
      if (problems.length) failedRequests++;
    }

    // Every live Telegram link is a stored, unrevoked row, and every such row is live in Telegram.
    const live = t.telegram
      .links(CHANNEL)
      .filter((link) => !link.is_revoked && link.creator.is_bot)
      .map((link) => link.invite_link)
      .sort();
    const stored = (
      await t.app.db.prisma.inviteLink.findMany({ where: { chatId: CHANNEL, isRevoked: false }, select: { inviteLink: true } })
    )
      .map((row) => row.inviteLink)
      .sort();
    expect(live).toEqual(stored);

    console.log(
      `fuzz seed ${SEED.toString(16)}: ${REQUESTS} requests, ${JSON.stringify(tally)}; ` +
        `${failedRequests} failed requests ${JSON.stringify(Object.fromEntries(byKind))}`,
    );
    expect(failures, `${failedRequests} of ${REQUESTS} requests failed: ${JSON.stringify(Object.fromEntries(byKind))}`).toEqual([]);
    // The run exercised both sides: poisoned requests refused, and valid ones that went through to Telegram.
    expect(tally.refusedAsValidation).toBeGreaterThan(REQUESTS / 4);
    expect(tally.created).toBeGreaterThan(50);
  }, 240_000);
});
