import net, { type AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createHttpServer } from '../src/http/node-server.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listening(env: Record<string, string>) {
  const server = createHttpServer((_request, response) => response.end('ok'), loadConfig(env));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A raw client: what the server sent, and whether it closed the connection. */
function rawClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const state = { received: '', closed: false };
  socket.on('data', (chunk) => (state.received += String(chunk)));
  socket.on('close', () => (state.closed = true));
  socket.on('error', () => {});
  return { socket, state, connected: new Promise((resolve) => socket.once('connect', resolve)) };
}

describe('the HTTP server limits', () => {
  it('has sane defaults, and refuses a headers deadline longer than the request deadline', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_KEEP_ALIVE_TIMEOUT_MS: 5_000,
      HTTP_MAX_CONNECTIONS: 1000,
    });
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' })).toThrow(
      /HTTP_HEADERS_TIMEOUT_MS="20000"/,
    );
    expect(() => loadConfig({ HTTP_MAX_CONNECTIONS: '0' })).toThrow(/HTTP_MAX_CONNECTIONS/);
  });

  it('applies the configured values to the server', async () => {
    const { server } = await listening({
      HTTP_REQUEST_TIMEOUT_MS: '4000',
      HTTP_HEADERS_TIMEOUT_MS: '3000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '2000',
      HTTP_MAX_CONNECTIONS: '7',
    });
    expect([server.requestTimeout, server.headersTimeout, server.keepAliveTimeout, server.maxConnections]).toEqual([4000, 3000, 2000, 7]);
  });

  it('cuts a client that never finishes its headers with 408', async () => {
    const { port } = await listening({ HTTP_HEADERS_TIMEOUT_MS: '200', HTTP_REQUEST_TIMEOUT_MS: '400' });
    const slow = rawClient(port);
    await slow.connected;
    slow.socket.write('GET /healthz HTTP/1.1\r\nHost: inviteql.test\r\nX-Slow: ');
    await expect.poll(() => slow.state.closed, { timeout: 5000 }).toBe(true);
    expect(slow.state.received).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes an idle keep-alive connection after its response', async () => {
    const { port } = await listening({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '200' });
    const client = rawClient(port);
    await client.connected;
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: inviteql.test\r\nConnection: keep-alive\r\n\r\n');
    await expect.poll(() => client.state.closed, { timeout: 5000 }).toBe(true);
    expect(client.state.received).toMatch(/^HTTP\/1\.1 200/);
  });

  it('drops connections past HTTP_MAX_CONNECTIONS, and serves the ones it holds', async () => {
    const { server, port } = await listening({ HTTP_MAX_CONNECTIONS: '1' });
    const first = rawClient(port);
    await first.connected;
    await expect.poll(() => new Promise((resolve) => server.getConnections((_error, count) => resolve(count)))).toBe(1);
    const second = rawClient(port);
    await expect.poll(() => second.state.closed, { timeout: 5000 }).toBe(true);
    expect(second.state.received).toBe('');
    first.socket.write('GET /healthz HTTP/1.1\r\nHost: inviteql.test\r\nConnection: close\r\n\r\n');
    await expect.poll(() => first.state.closed, { timeout: 5000 }).toBe(true);
    expect(first.state.received).toMatch(/^HTTP\/1\.1 200[\s\S]*ok$/);
  });
});
