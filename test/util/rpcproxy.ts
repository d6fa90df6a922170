// A TCP proxy in front of a node's RPC port that can hold or cut a
// client's connection when a given method is called: what a stalled or
// dropped connection looks like to cloudcoin-cli, on cue.
import * as net from 'net';

/** What to do with a client connection once a request names the method. */
export type ProxyAction = 'hold' | 'cut';

export interface RPCProxy {
  port: number;
  /** Requests seen, by method name, in order. */
  seen: string[];
  /** Send what `hold` kept on to the node, and forward everything from then on. */
  release(): void;
  close(): Promise<void>;
}

/**
 * Forward 127.0.0.1:<port> to 127.0.0.1:<target>. When a client sends a
 * request whose body names `method`: `hold` keeps that request (and the
 * rest of the connection) from the node until `release()`; `cut` forwards it, then
 * closes the client's side at once while the node carries on.
 */
export function rpcProxy(target: number, method: string, action: ProxyAction): Promise<RPCProxy> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  // Each held connection's kept bytes and its way on to the node.
  const held = new Map<net.Socket, Buffer[]>();
  let released = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (chunk: Buffer) => {
      const kept = held.get(upstream);
      if (kept) {
        kept.push(chunk);
        return;
      }
      const m = /"method":"([a-z]+)"/.exec(chunk.toString('latin1'));
      if (m)
        seen.push(m[1]);
      if (m && m[1] === method && action === 'hold' && !released) {
        held.set(upstream, [chunk]);
        return;
      }
      upstream.write(chunk);
      if (m && m[1] === method && action === 'cut')
        client.destroy();
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!client.destroyed)
        client.write(chunk);
    });
    client.on('error', () => {});
    upstream.on('error', () => client.destroy());
    client.on('close', () => {
      // Let the node finish a cut request; then drop the upstream side too.
      if (action === 'cut')
        upstream.end();
      else
        upstream.destroy();
    });
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        seen,
        release: () => {
          released = true;
          for (const [upstream, kept] of held) {
            for (const chunk of kept)
              upstream.write(chunk);
          }
          held.clear();
        },
        close: () => new Promise<void>((done) => {
          for (const s of sockets)
            s.destroy();
          server.close(() => done());
        })
      });
    });
  });
}
