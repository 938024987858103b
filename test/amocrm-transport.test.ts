import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmoCrmTransport, AmoTransportError, mapAmoCrmError } from '../src/adapters/amocrm/index.ts';
import { createLogger } from '../src/logger.ts';
import { AmoCrmEmulator } from '../src/sandbox/amocrm-emulator.ts';

const TOKEN = 'private-integration-token';
const SHORT_LINKS = '/api/v4/short_links';

let emulator: AmoCrmEmulator;
beforeAll(async () => {
  emulator = new AmoCrmEmulator({ longLivedTokens: [TOKEN] });
  await emulator.listen(0);
});
afterAll(() => emulator.close());

const request = (entityId: number) => ({
  path: SHORT_LINKS,
  bearer: TOKEN,
  body: [{ url: 'https://shop.test/offer', metadata: { entity_type: 'contacts', entity_id: entityId } }],
});

describe('the amoCRM rate limiter queue', () => {
  it('refuses at once what would wait over 30 s, and drops the queue when aborted', async () => {
    const shutdown = new AbortController();
    const transport = new AmoCrmTransport({
      baseUrl: emulator.baseUrl,
      rateLimitPerSecond: 1,
      timeoutMs: 5000,
      log: createLogger('silent'),
      signal: shutdown.signal,
    });
    const callsBefore = emulator.calls.length;
    // At 1 request per second: one is sent now, 30 wait up to 30 s.
    const accepted = Array.from({ length: 31 }, (_, i) => transport.post(request(i + 1)));
    const settled = accepted.map((promise) =>
      promise.then(
        () => 'sent',
        (error: unknown) => error,
      ),
    );

    // Refused before its turn: the queue has not moved past the first request.
    const refused = await transport.post(request(99)).catch((error: unknown) => error);
    expect(emulator.calls.length - callsBefore).toBeLessThanOrEqual(1);
    expect(refused).toBeInstanceOf(AmoTransportError);
    expect(refused).toMatchObject({ kind: 'queue-full', retryAfterSeconds: 31 });
    expect(mapAmoCrmError(refused, 'short_links').error.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 31 });

    expect(await settled[0]).toBe('sent');
    shutdown.abort(new Error('shutting down'));
    const outcomes = await Promise.all(settled.slice(1));
    // Whatever had not left the queue is rejected, never sent.
    const sent = outcomes.filter((outcome) => outcome === 'sent').length;
    expect(outcomes.length - sent).toBeGreaterThanOrEqual(28);
    for (const outcome of outcomes) if (outcome !== 'sent') expect((outcome as Error).message).toBe('shutting down');
    expect(emulator.calls.length - callsBefore).toBe(1 + sent);
  });
});
