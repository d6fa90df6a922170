// A server that answers each connection's first HTTP request with a fixed
// JSON body (keep-alive, no Keep-Alive hint) and resets the connection on
// the next one: a client that reuses the socket meets the reset, as when a
// server's idle timeout races a reuse (Node's `reusedSocket` race). For the
// clients' retry tests.
import * as net from 'net';

export interface ResetServer {
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  close(): void;
}

export async function startResetServer(body: string): Promise<ResetServer> {
  let connections = 0;
  const socks: net.Socket[] = [];
  const server = net.createServer((sock) => {
    connections++;
    socks.push(sock);
    let requests = 0;
    sock.on('error', () => {});
    sock.on('data', (d: Buffer) => {
      if (!d.includes('\r\n\r\n'))
        return;
      if (++requests > 1) {
        sock.resetAndDestroy();
        return;
      }
      sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () => {
      for (const s of socks)
        s.destroy();
      server.close();
    }
  };
}
