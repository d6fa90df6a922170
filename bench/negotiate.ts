/*!
 * negotiate.ts - negotiation latency between two local cloudcoind
 * processes (regtest, loopback): quote -> signed offer -> countersigned
 * contract (`negotiatestorage` then `proposestorage`, over JSON-RPC),
 * p50/p99 over N deals, with the P2P round trips each deal took.
 *
 * The host reaches the renter through a TCP relay in this process that
 * parses the P2P framing (magic, command, length, checksum) both ways and
 * counts the cs* packets of each deal; a round trip is a renter -> host
 * run of packets answered by a host -> renter one. Baseline, same run,
 * same relay: a bitcoind `ping` RPC round trip (P2P ping/pong), p50.
 *
 *   npm run build && npx tsx bench/negotiate.ts [--deals 100] [--json]
 */

import * as net from 'net';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { RPCClient, cookiePath } from '../lib/cli/rpcclient';
import { LocalNet, LocalNode } from '../scripts/localnet';
import { chainTemplate, seedNode } from './chain';
import { BenchReport, intFlag, printReport } from './util';

type Dir = 'r>h' | 'h>r';

/** A TCP relay to `to` that logs each P2P packet's command and direction. */
class Relay {
  readonly log: { dir: Dir; cmd: string; at: number }[] = [];
  private readonly server: net.Server;
  port = 0;

  constructor(private readonly to: number) {
    this.server = net.createServer((host) => {
      const renter = net.connect(this.to, '127.0.0.1');
      this.pipe(host, renter, 'h>r');
      this.pipe(renter, host, 'r>h');
      const end = () => { host.destroy(); renter.destroy(); };
      host.on('close', end);
      renter.on('close', end);
      host.on('error', end);
      renter.on('error', end);
    });
  }

  async open(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private pipe(from: net.Socket, to: net.Socket, dir: Dir): void {
    let buf = Buffer.alloc(0);
    from.on('data', (d: Buffer) => {
      to.write(d);
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 24) {
        const len = buf.readUInt32LE(16);
        if (buf.length < 24 + len)
          break;
        this.log.push({ dir, cmd: buf.toString('latin1', 4, 16).replace(/\0+$/, ''), at: performance.now() });
        buf = buf.subarray(24 + len);
      }
    });
  }

  close(): void {
    this.server.close();
  }
}

/** Round trips in a packet sequence: runs renter -> host answered by host -> renter. */
function roundTrips(seq: { dir: Dir }[]): number {
  let trips = 0;
  for (let i = 1; i < seq.length; i++)
    if (seq[i - 1].dir === 'r>h' && seq[i].dir === 'h>r')
      trips++;
  return trips;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function main(): Promise<void> {
  const argv = process.argv;
  const deals = Math.max(1, intFlag(argv, 'deals', 100));
  const localnet = new LocalNet('cloudcoin-bench-neg-');
  let relay: Relay | null = null;
  try {
    // Both on the pre-mined chain (bench/chain.ts); the renter pays, so it takes the wallet.
    const chain = await chainTemplate(localnet);
    const renterNode = await localnet.node('renter');
    const hostNode: LocalNode = await localnet.node('host');
    seedNode(chain, renterNode, true);
    seedNode(chain, hostNode, false);
    await localnet.daemon(renterNode);
    relay = new Relay(renterNode.port);
    await relay.open();
    await localnet.daemon(hostNode, ['--host', '--connect', `127.0.0.1:${relay.port}`]);
    await localnet.until('the host', async () => localnet.json<unknown[]>(renterNode, ['getcloudpeers']), (p) => p.length === 1);
    const rpc = new RPCClient({ host: '127.0.0.1', port: renterNode.rpcPort, cookieFile: cookiePath(path.join(renterNode.base, 'regtest')) });
    // Baseline: P2P ping -> pong round trips seen at the same relay.
    const pings: number[] = [];
    for (let i = 0; i < 20; i++) {
      const before = relay.log.length;
      await rpc.call('ping');
      const seen = await localnet.until('a pong', async () => relay!.log.slice(before), (l) => l.some((p) => p.cmd === 'pong'));
      const ping = seen.find((p) => p.cmd === 'ping');
      const pong = seen.find((p) => p.cmd === 'pong' && ping && p.dir !== ping.dir);
      if (ping && pong)
        pings.push(pong.at - ping.at);
    }
    if (pings.length === 0)
      throw new Error('no ping was answered through the relay');
    const lat: number[] = [];
    const quoteLat: number[] = [];
    const trips: number[] = [];
    const cmds = new Map<string, number>();
    for (let i = 0; i < deals; i++) {
      const size = 4096 * (i + 1);
      const fileId = randomBytes(32).toString('hex');
      await rpc.call('addfile', [fileId, '', size]);
      const before = relay.log.length;
      const t0 = process.hrtime.bigint();
      const neg = await rpc.call('negotiatestorage', [size, 100, 100000, 1]) as { offers: { offer: string }[] };
      const t1 = process.hrtime.bigint();
      await rpc.call('proposestorage', [neg.offers[0].offer, randomBytes(32).toString('hex'), size, fileId, randomBytes(32).toString('hex')]);
      const t2 = process.hrtime.bigint();
      quoteLat.push(Number(t1 - t0) / 1e6);
      lat.push(Number(t2 - t0) / 1e6);
      const seq = relay.log.slice(before).filter((p) => p.cmd.startsWith('cs'));
      trips.push(roundTrips(seq));
      for (const p of seq)
        cmds.set(p.cmd, (cmds.get(p.cmd) ?? 0) + 1);
    }
    const ping50 = pct(pings, 50);
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    const report: BenchReport = {
      bench: 'negotiate',
      notes: [`${deals} deals (sizes 4 KiB .. ${deals * 4} KiB, so no offer is reused), renter and host cloudcoind on regtest, `
        + `P2P through a counting relay; baseline: P2P ping round trip p50 ${ms(ping50)}, p99 ${ms(pct(pings, 99))}`,
        `cs* packets over all deals: ${[...cmds].map(([c, n]) => `${c} ${n}`).join(', ')}`],
      tables: [{
        title: 'negotiation latency: quote -> countersigned contract',
        columns: ['step', 'p50', 'p99', 'p50 x ping', 'P2P round trips (p50 / max)'],
        rows: [
          ['negotiatestorage (quote, signed offer)', ms(pct(quoteLat, 50)), ms(pct(quoteLat, 99)), (pct(quoteLat, 50) / ping50).toFixed(1), '-'],
          ['quote -> countersigned contract', ms(pct(lat, 50)), ms(pct(lat, 99)), (pct(lat, 50) / ping50).toFixed(1), `${pct(trips, 50)} / ${Math.max(...trips)}`]
        ]
      }],
      ratios: [
        { name: `deal latency p50 (${pct(trips, 50)} round trips)`, value: pct(lat, 50) / ping50, baseline: 'P2P ping round trip p50', lowerIsBetter: true },
        { name: 'deal latency p99', value: pct(lat, 99) / ping50, baseline: 'P2P ping round trip p50', lowerIsBetter: true }
      ]
    };
    printReport(report, argv);
  } finally {
    relay?.close();
    await localnet.cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
