// The README a newcomer follows matches the server: its examples run, its tables say what happens.
import { readdirSync, readFileSync } from 'node:fs';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CHAT_IDS, ensureSandboxAccount } from '../src/sandbox/demo-data.ts';
import { createTestApp, type TestApp } from './support/app.ts';

const readme = readFileSync('README.md', 'utf8');

/** The text of one `## ` section. */
const section = (title: string) => {
  const start = readme.indexOf(`\n## ${title}\n`);
  expect(start, `README section "${title}"`).toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
};

/** Fenced blocks of a language, in README order. */
const blocks = (language: string) =>
  [...readme.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((match) => match[1]!);

let t: TestApp;
let devToken: string;

beforeAll(async () => {
  t = await createTestApp();
  // What npm start makes in sandbox mode: the demo account, its channel and the dev token.
  devToken = await ensureSandboxAccount(t.app.db);
});
afterAll(() => t.close());

const post = async (token: string, body: unknown) => {
  const response = await t.server.fetch('http://inviteql.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: { message: string; extensions: any }[] } };
};

describe('README examples', () => {
  it('are each one named operation, and run in README order, curl commands included, without an error', async () => {
    const documents = blocks('graphql');
    expect(documents.length).toBeGreaterThanOrEqual(3);
    for (const document of documents) {
      const operations = parse(document).definitions.filter(
        (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
      );
      expect(operations, document).toHaveLength(1);
      expect(operations[0]!.name?.value, document).toMatch(/^[A-Z]\w+$/);
    }

    // GraphiQL blocks and curl commands, in the order a reader meets them.
    const steps = [...readme.matchAll(/```graphql\n([\s\S]*?)```|```sh\n(curl [\s\S]*?)```/g)].map((match) =>
      match[1] !== undefined ? { graphql: match[1] } : { curl: match[2]! },
    );
    const variables: Record<string, string> = { TOKEN: devToken };
    let lastLinkId: string | undefined;
    let curls = 0;
    for (const step of steps) {
      let result;
      if ('graphql' in step) {
        result = await post(devToken, { query: step.graphql });
      } else {
        curls++;
        expect(step.curl).toContain("-H 'content-type: application/json'");
        const tokenName = /-H "authorization: Bearer \$(\w+)"/.exec(step.curl)?.[1];
        const body = /-d '([^']+)'/.exec(step.curl)?.[1];
        expect(tokenName && variables[tokenName], step.curl).toBeTruthy();
        const json = JSON.parse(body!.replace('<link id>', lastLinkId ?? '<no link made yet>'));
        result = await post(variables[tokenName!]!, json);
      }
      expect(result.body.errors, JSON.stringify(step)).toBeUndefined();
      expect(result.status).toBe(200);
      if (result.body.data?.createApiToken) variables.PARTNER_TOKEN = result.body.data.createApiToken.token;
      lastLinkId = result.body.data?.partnerCreateInviteLink?.id ?? lastLinkId;
    }
    expect(curls).toBeGreaterThanOrEqual(4);
    expect(lastLinkId).toBeDefined();
  });
});

describe('README sandbox chats', () => {
  it.each([
    [DEMO_CHAT_IDS.botLacksInviteRights, 'FORBIDDEN', 'BOT_RIGHTS_MISSING'],
    [DEMO_CHAT_IDS.botNotMember, 'CONFLICT', 'BOT_NOT_IN_CHANNEL'],
  ])('%s: link calls answer NOT_FOUND, connectChannel answers %s / %s, as its row says', async (chat, code, reason) => {
    const link = await post(devToken, { query: `mutation L { createInviteLink(input: { channelId: ${chat}, name: "x" }) { id } }` });
    expect(link.body.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    const list = await post(devToken, { query: `query L { inviteLinks(channelId: ${chat}) { total } }` });
    expect(list.body.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    const connect = await post(devToken, { query: `mutation C { connectChannel(telegramId: ${chat}) { id } }` });
    expect(connect.body.errors?.[0]?.extensions).toMatchObject({ code, reason });

    const row = section('A first query')
      .split('\n')
      .find((line) => line.startsWith(`| \`${chat}\``));
    expect(row).toBeDefined();
    const [, , connectCell, linkCell] = row!
      .split('|')
      .slice(1)
      .map((cell) => cell.trim());
    expect(connectCell).toBe(`\`${code}\` / \`${reason}\``);
    expect(linkCell).toBe('`NOT_FOUND`');
  });
});

describe('README HTTP endpoints', () => {
  it('shows what /healthz, /readyz and / really answer', async () => {
    const endpoints = section('HTTP endpoints');
    for (const path of ['/healthz', '/readyz']) {
      const response = await t.server.fetch(`http://inviteql.test${path}`);
      const row = endpoints.split('\n').find((line) => line.startsWith(`| \`GET ${path}\``));
      expect(row, path).toContain(`\`${response.status}\` \`${await response.text()}\``);
    }
    const root = await t.server.fetch('http://inviteql.test/', { redirect: 'manual' });
    expect(endpoints).toContain(`| \`GET /\` | \`${root.status}\` to \`${root.headers.get('location')}\` |`);
  });
});

describe('README errors', () => {
  it('lists every code the server answers with, graphql-yoga and its plugins included', async () => {
    const partnerToken = (
      await post(devToken, {
        query: 'mutation P { createPartner(externalId: 91, title: "P") { id } createApiToken(name: "p", partnerExternalId: 91) { token } }',
      })
    ).body.data.createApiToken.token as string;
    const provoked = [
      await post(devToken, { query: '{ channels {' }),
      await post(devToken, { query: '{ nope }' }),
      await post(devToken, { query: 'query L($c: SafeInt!) { inviteLinks(channelId: $c) { total } }', variables: { c: 'x' } }),
      await post(devToken, { query: 'query A { channels { id } } query B { tags { id } }' }),
      await post(devToken, {}),
      await post(devToken, { documentId: 'sha256:0000' }),
      await post(partnerToken, { query: '{ channels { id } }' }),
      await post(devToken, { query: `{ tagTypes { ${'tags { type { '.repeat(6)}id${' } }'.repeat(6)} } }` }),
      await post('iql_short', { query: '{ channels { id } }' }),
    ];
    const yogaCodes = provoked.map((response) => response.body.errors?.[0]?.extensions?.code as string);
    expect(yogaCodes).toEqual([
      'GRAPHQL_PARSE_FAILED',
      'GRAPHQL_VALIDATION_FAILED',
      'BAD_USER_INPUT',
      'OPERATION_RESOLUTION_FAILURE',
      'PERSISTED_QUERY_ID_REQUIRED',
      'PERSISTED_QUERY_NOT_IN_LIST',
      'PERSISTED_QUERY_ONLY',
      'QUERY_LIMIT_EXCEEDED',
      'UNAUTHENTICATED',
    ]);
    // The contract's codes (src/errors.ts) and every code our HTTP layer writes.
    const errorCodes = [...readFileSync('src/errors.ts', 'utf8').matchAll(/^ {2}([A-Z_]+): \d{3},$/gm)].map((match) => match[1]!);
    expect(errorCodes).toContain('UPSTREAM_ERROR');
    const httpCodes = readdirSync('src/http')
      .map((file) => `src/http/${file}`)
      .flatMap((file) =>
        [...readFileSync(file, 'utf8').matchAll(/code: '([A-Z_]+)'|badRequestError\([^)]*'([A-Z_]+)'\)/g)].map(
          (match) => (match[1] ?? match[2])!,
        ),
      );
    expect(httpCodes).toContain('INTERNAL_SERVER_ERROR');

    const listed = new Set([...section('Errors').matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]!));
    const missing = [...new Set([...yogaCodes, ...errorCodes, ...httpCodes])].filter((code) => !listed.has(code));
    expect(missing).toEqual([]);
  });

  it('has a Troubleshooting section for the start-up, token, content-type and install problems', () => {
    const troubleshooting = section('Troubleshooting');
    for (const text of [
      'Cannot connect to PostgreSQL at',
      'password authentication failed',
      'does not exist (create it',
      'failed earlier',
      'Invalid configuration:',
      'SANDBOX_TOKEN',
      'Unknown API token',
      'UNSUPPORTED_CONTENT_TYPE',
      'OPERATION_RESOLUTION_FAILURE',
      'EBADENGINE',
      '@prisma/streams-local',
      'skipped:',
    ]) {
      expect(troubleshooting, text).toContain(text);
    }
  });
});
