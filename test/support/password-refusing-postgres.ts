import net, { type AddressInfo } from 'node:net';

/**
 * A PostgreSQL server, as far as the wire protocol goes, that asks every client for a password
 * and refuses it as PostgreSQL does (SQLSTATE 28P01). The test server trusts every local user,
 * so a wrong password cannot be tried against it.
 */
export async function startPasswordRefusingPostgres(): Promise<{ port: number; passwordsReceived: string[]; close(): Promise<void> }> {
  const passwordsReceived: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    let user = '';
    let startedUp = false;
    let refused = false;
    socket.on('data', (chunk) => {
      if (refused) return;
      buffered = Buffer.concat([buffered, chunk]);
      if (!startedUp) {
        if (buffered.length < 4 || buffered.length < buffered.readInt32BE(0)) return;
        const length = buffered.readInt32BE(0);
        const parameters = buffered.subarray(8, length).toString('utf8').split('\0');
        user = parameters[parameters.indexOf('user') + 1] ?? '';
        buffered = buffered.subarray(length);
        startedUp = true;
        // AuthenticationCleartextPassword
        socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
        return;
      }
      if (buffered.length < 5 || buffered.length < 1 + buffered.readInt32BE(1)) return;
      if (buffered[0] !== 0x70) return void socket.destroy();
      refused = true;
      passwordsReceived.push(
        buffered
          .subarray(5, 1 + buffered.readInt32BE(1))
          .toString('utf8')
          .replace(/\0$/, ''),
      );
      const fields = [
        ['S', 'FATAL'],
        ['V', 'FATAL'],
        ['C', '28P01'],
        ['M', `password authentication failed for user "${user}"`],
      ];
      const body = Buffer.concat([...fields.map(([type, value]) => Buffer.from(`${type}${value}\0`, 'utf8')), Buffer.from([0])]);
      const header = Buffer.alloc(5);
      header.write('E', 0);
      header.writeInt32BE(body.length + 4, 1);
      socket.end(Buffer.concat([header, body]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    passwordsReceived,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
