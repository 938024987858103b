import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The HTTP plumbing both emulators share: a node:http server that listens and closes (dropping held
 * requests), body reading, JSON replies, and the gate in front of the `/_emulator/...` control routes.
 */

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

export class EmulatorServer {
  private server: Server | undefined;
  private listeningUrl: string | undefined;

  /**
   * @param name  names the emulator in errors ("TelegramEmulator is not listening")
   * @param onUnhandled  answers a request whose handler threw
   */
  constructor(
    private readonly name: string,
    private readonly handle: RequestHandler,
    private readonly onUnhandled: (error: unknown, response: ServerResponse) => void,
  ) {}

  get url(): string {
    if (this.listeningUrl === undefined) throw new Error(`${this.name} is not listening`);
    return this.listeningUrl;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error(`${this.name} is already listening`);
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => this.onUnhandled(error, response));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const boundPort = (server.address() as AddressInfo).port;
    this.server = server;
    this.listeningUrl = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
    return this.listeningUrl;
  }

  /** Also drops open connections: keep-alive sockets and requests held by an injected hang. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.listeningUrl = undefined;
    const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    server.closeAllConnections();
    await closed;
  }
}

export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The parsed JSON, or undefined when the text is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: { contentType: string; value: unknown };
}

export function jsonReply(status: number, value: unknown, contentType = 'application/json'): Reply {
  return { status, body: { contentType, value } };
}

export function send(response: ServerResponse, reply: Reply): void {
  const headers: Record<string, string | number> = { ...reply.headers };
  const text = reply.body ? JSON.stringify(reply.body.value) : undefined;
  if (reply.body && text !== undefined) {
    headers['content-type'] = reply.body.contentType;
    headers['content-length'] = Buffer.byteLength(text);
  }
  response.writeHead(reply.status, headers);
  response.end(text);
}

// ---------------------------------------------------------------------------------------------
// Control routes (`/_emulator/...`) let tests and the sandbox drive an emulator. They answer only
// requests from loopback, whatever address the emulator listens on, and, when the emulator has a
// control secret (sandbox mode), only under `/_emulator/<secret>/...`.

export const CONTROL_PREFIX = '/_emulator/';

export type ControlMatch =
  /** `route` is the path after the prefix (and secret), e.g. "fail". */
  | { kind: 'route'; route: string }
  /** 403: not from loopback; 404: no or wrong secret. */
  | { kind: 'refused'; status: 403 | 404 };

/** Undefined when the path is not a control path at all. */
export function matchControlRoute(request: IncomingMessage, pathname: string, secret: string | undefined): ControlMatch | undefined {
  if (!pathname.startsWith(CONTROL_PREFIX)) return undefined;
  if (!isLoopbackAddress(request.socket.remoteAddress)) return { kind: 'refused', status: 403 };
  const rest = pathname.slice(CONTROL_PREFIX.length);
  if (secret === undefined) return { kind: 'route', route: rest };
  const slash = rest.indexOf('/');
  if (slash < 0 || !sameSecret(rest.slice(0, slash), secret)) return { kind: 'refused', status: 404 };
  return { kind: 'route', route: rest.slice(slash + 1) };
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** A path-safe random secret for control routes. */
export function randomControlSecret(): string {
  return randomBytes(18).toString('base64url');
}

function sameSecret(given: string, secret: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}
