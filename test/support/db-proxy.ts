import net, { type AddressInfo } from 'node:net';

/**
 * A TCP proxy to a PostgreSQL database that can fail as networks do: cut() drops every open
 * connection and refuses new ones (as a database that went away does) until restore();
 * refuseNext(n) refuses only the next n connections; silence(true) drops every byte both ways
 * while connections stay open (a dead NAT entry).
 */
export interface DatabaseProxy {
  url: string;
  /** Connections the proxy refused so far. */
  readonly refused: number;
  cut(): void;
  restore(): void;
  refuseNext(connections: number): void;
  silence(on: boolean): void;
  close(): Promise<void>;
}

export async function cuttableProxy(databaseUrl: string): Promise<DatabaseProxy> {
  const target = new URL(databaseUrl);
  let cut = false;
  let toRefuse = 0;
  let refused = 0;
  let silent = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((downstream) => {
    if (cut || toRefuse > 0) {
      if (toRefuse > 0) toRefuse--;
      refused++;
      downstream.destroy();
      return;
    }
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const [from, to] of [
      [downstream, upstream],
      [upstream, downstream],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => silent || to.write(chunk));
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
      from.on('error', () => {});
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    get refused() {
      return refused;
    },
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      cut = false;
    },
    refuseNext(connections) {
      toRefuse = connections;
    },
    silence(on) {
      silent = on;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
