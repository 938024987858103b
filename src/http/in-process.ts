import type { RequestListener } from 'node:http';
import { Readable } from 'node:stream';
import inject from 'light-my-request';

/** Statuses whose Fetch Response may carry no body. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * A Fetch handler over a Node request listener: light-my-request hands the listener a fake
 * IncomingMessage and ServerResponse, so in-process requests take the same path as real ones.
 * A body gets its Content-Length, as a client would send it; the response streams.
 */
export function fetchThrough(listener: RequestListener) {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const headers = Object.fromEntries(request.headers);
    const payload = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    if (payload && headers['content-length'] === undefined) headers['content-length'] = String(payload.length);
    const reply = await inject(listener, {
      method: request.method as inject.InjectOptions['method'],
      url: request.url,
      headers,
      payload,
      payloadAsStream: true,
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(reply.headers)) {
      for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) responseHeaders.append(name, String(one));
    }
    const stream = reply.stream();
    if (NULL_BODY_STATUSES.has(reply.statusCode)) stream.resume();
    const body = NULL_BODY_STATUSES.has(reply.statusCode) ? null : (Readable.toWeb(stream) as ReadableStream<Uint8Array>);
    return new Response(body, { status: reply.statusCode, statusText: reply.statusMessage, headers: responseHeaders });
  };
}
