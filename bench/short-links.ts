// Issue 5's bench line: one createShortLinks call of 1000 contacts through the GraphQL server,
// against the amoCRM emulator with its real limit (7 requests/s) and our client limit.
import { performance } from 'node:perf_hooks';
import { buildApp, type App } from '../src/app.ts';
import { createServer } from '../src/http/server.ts';
import { AmoCrmEmulator } from '../src/sandbox/amocrm-emulator.ts';

export interface ShortLinksMeasurement {
  items: number;
  upstreamCalls: number;
  ms: number;
  created: number;
  failures: number;
}

const CREATE_SHORT_LINKS = /* GraphQL */ `
  mutation Bench($input: [ShortLinkInput!]!) {
    createShortLinks(input: $input) {
      shortLinks {
        id
        url
      }
      failures {
        index
        code
      }
    }
  }
`;

export async function measureShortLinks(app: App, token: string, items = 1000): Promise<ShortLinksMeasurement> {
  const emulator = new AmoCrmEmulator();
  // The same App over the same database, with amoCRM as this emulator (its own 7 requests/s limit).
  const running = await buildApp({ ...app.config, SANDBOX_TOKEN: token }, app.log, {
    db: app.db,
    amocrmEmulator: {
      emulator,
      client: { clientId: 'emulator-client-id', clientSecret: 'emulator-client-secret', redirectUri: 'https://example.test/amocrm/oauth' },
    },
  });
  try {
    const server = createServer(running.app);
    const input = Array.from({ length: items }, (_, index) => ({
      url: `https://t.me/+bench${index}`,
      entityId: 100_000 + index,
    }));
    const started = performance.now();
    const response = await server.fetch('http://bench.local/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: CREATE_SHORT_LINKS, variables: { input } }),
    });
    const body = (await response.json()) as {
      data?: { createShortLinks: { shortLinks: (object | null)[]; failures: object[] } };
      errors?: { message: string }[];
    };
    const ms = Math.round(performance.now() - started);
    if (!body.data) throw new Error(`createShortLinks failed: ${JSON.stringify(body.errors)}`);
    return {
      items,
      upstreamCalls: emulator.callCount('/api/v4/short_links'),
      ms,
      created: body.data.createShortLinks.shortLinks.filter(Boolean).length,
      failures: body.data.createShortLinks.failures.length,
    };
  } finally {
    await running.close();
  }
}
