/*!
 * ports.ts - find free TCP ports on loopback (tests, the demo).
 *
 * Ports are picked below the kernel's ephemeral range
 * (/proc/sys/net/ipv4/ip_local_port_range, 32768-60999 by default): a port
 * the OS hands out for `listen(0)` comes from that range, which is also
 * where every outgoing connection takes its local port, so a node stopped
 * and started again on the same port (a restart keeps its address) could
 * find it taken by some connection's local end meanwhile (EADDRINUSE, seen
 * in a test run beside the stress suites).
 */

import * as fs from 'fs';
import * as net from 'net';

/** Lowest port picked. */
const LOWEST = 10000;

/** Tries before falling back to a port the OS picks. */
const TRIES = 50;

/** The first port of the ephemeral range, or null where it cannot be read. */
function ephemeralStart(): number | null {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : null;
  } catch {
    return null;
  }
}

/** Listen on `port` (0: any) and release it; resolves to the port, or null if it is taken. */
function tryPort(port: number, host: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES')
        resolve(null);
      else
        reject(e);
    });
    server.listen(port, host, () => {
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => resolve(bound));
    });
  });
}

/** A free port below the ephemeral range (any free port where that range is unknown or leaves no room). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const high = ephemeralStart();
  if (high !== null && high - LOWEST >= 1000) {
    for (let i = 0; i < TRIES; i++) {
      const port = await tryPort(LOWEST + Math.floor(Math.random() * (high - LOWEST)), host);
      if (port !== null)
        return port;
    }
  }
  const port = await tryPort(0, host);
  if (port === null)
    throw new Error(`no free port on ${host}`);
  return port;
}

/** Several distinct free ports. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < count)
    out.add(await freePort(host));
  return [...out];
}
