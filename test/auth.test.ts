import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, CHANNEL, type TestApp } from './support/app.ts';

let t: TestApp;
let owner: { accountId: string; token: string };
let other: { accountId: string; token: string };

beforeAll(async () => {
  t = await createTestApp();
  owner = await t.createAccount('Owner');
  other = await t.createAccount('Other');
  const connected = await t.connectVerifiedChannel(owner.token, CHANNEL);
  expect(connected.errors).toBeUndefined();
});
afterAll(() => t.close());

const CHANNELS = '{ channels { id telegramId title } }';

describe('authentication', () => {
  it('rejects a request without a token', async () => {
    const response = await t.gql(null, CHANNELS);
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.data).toBeUndefined();
  });

  const withAuthorization = async (header: string) => {
    const response = await t.server.fetch('http://inviteql.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: header },
      body: JSON.stringify({ query: CHANNELS }),
    });
    return { status: response.status, error: (await response.json()).errors[0] };
  };

  it('rejects a malformed Authorization header', async () => {
    for (const header of ['Basic abc', 'Bearer', `Token ${owner.token}`, owner.token]) {
      const { status, error } = await withAuthorization(header);
      expect(status, header).toBe(401);
      expect(error.extensions.code, header).toBe('UNAUTHENTICATED');
      expect(error.message, header).toBe('Malformed Authorization header: expected "Bearer iql_…"');
    }
  });

  it('rejects an unknown token of the right shape', async () => {
    const response = await t.gql(`iql_${'x'.repeat(43)}`, CHANNELS);
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.errors?.[0]?.message).toMatch(/unknown/i);
  });

  it('calls a bearer token of the wrong length or alphabet unknown, without looking it up', async () => {
    for (const token of ['iql_wrongwrongwrong', `${owner.token}x`, `iql_${'!'.repeat(43)}`, 'not-our-format']) {
      const before = t.database.db.statementCount;
      const { status, error } = await withAuthorization(`Bearer ${token}`);
      expect(status, token).toBe(401);
      expect(error, token).toMatchObject({ message: 'Unknown API token', extensions: { code: 'UNAUTHENTICATED' } });
      expect(t.database.db.statementCount, token).toBe(before);
    }
  });

  it('rejects a revoked token at once', async () => {
    const created = await t.gql(owner.token, 'mutation { createApiToken(name: "ci") { token apiToken { id } } }');
    const { token, apiToken } = created.data.createApiToken;
    expect((await t.gql(token, CHANNELS)).data.channels).toHaveLength(1);
    const revoked = await t.gql(owner.token, 'mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }', { id: apiToken.id });
    expect(revoked.data.revokeApiToken.revokedAt).not.toBeNull();
    const after = await t.gql(token, CHANNELS);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(after.errors?.[0]?.message).toMatch(/revoked/i);
  });

  it('stores only a hash of each token: no table holds a secret', async () => {
    const created = await t.gql(
      owner.token,
      'mutation { createPartner(externalId: 5, title: "P") { id } createApiToken(name: "p", partnerExternalId: 5) { token } }',
    );
    const secrets = [owner.token, other.token, created.data.createApiToken.token];
    const tables = await t.app.db.prisma.$queryRawUnsafe<{ name: string }[]>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
    );
    expect(tables.map((table) => table.name)).toContain('api_tokens');
    for (const { name } of tables) {
      const [row] = await t.app.db.prisma.$queryRawUnsafe<{ dump: string | null }[]>(
        `SELECT string_agg(t::text, ' ') AS dump FROM "${name}" t`,
      );
      for (const secret of secrets) {
        expect(row?.dump ?? '', name).not.toContain(secret);
        expect(row?.dump ?? '', name).not.toContain(secret.slice(4));
      }
    }
  });
});

describe('tenancy', () => {
  it("does not show one account's channels to another", async () => {
    const mine = await t.gql(owner.token, CHANNELS);
    const theirs = await t.gql(other.token, CHANNELS);
    expect(mine.data.channels.map((c: { telegramId: number }) => c.telegramId)).toEqual([CHANNEL]);
    expect(theirs.data.channels).toEqual([]);
  });

  it("answers NOT_FOUND for another account's channel and link", async () => {
    const created = await t.gql(owner.token, 'mutation($c: SafeInt!) { createInviteLink(input: { channelId: $c, name: "mine" }) { id } }', {
      c: CHANNEL,
    });
    const id = created.data.createInviteLink.id;
    const read = await t.gql(other.token, 'query($id: ID!, $c: SafeInt!) { inviteLink(id: $id, channelId: $c) { id } }', {
      id,
      c: CHANNEL,
    });
    expect(read.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const list = await t.gql(other.token, 'query($c: SafeInt!) { inviteLinks(channelId: $c) { total } }', { c: CHANNEL });
    expect(list.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('request ids', () => {
  it('echoes a given x-request-id and makes one otherwise', async () => {
    const given = await t.server.fetch('http://inviteql.test/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const made = await t.server.fetch('http://inviteql.test/healthz');
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never writes a token to the logs', async () => {
    await t.gql(owner.token, CHANNELS);
    expect(t.logs.join('\n')).not.toContain(owner.token);
  });
});

describe('error masking', () => {
  it('masks an unexpected error (no SQL, no stack) and logs it with the request id', async () => {
    const prisma = t.app.db.prisma;
    await prisma.$executeRawUnsafe('ALTER TABLE partners RENAME TO partners_moved_away');
    try {
      const response = await t.gql(owner.token, '{ partners { id } }');
      const error = response.errors?.[0];
      expect(error?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(JSON.stringify(response.errors)).not.toMatch(/partners|relation|SELECT|at \w+ \(/i);
      const requestId = response.headers.get('x-request-id')!;
      const logged = t.logs.map((line) => JSON.parse(line)).find((line) => line.msg === 'unexpected error' && line.requestId === requestId);
      expect(logged?.err).toBeDefined();
    } finally {
      await prisma.$executeRawUnsafe('ALTER TABLE partners_moved_away RENAME TO partners');
    }
  });
});
