// Test helpers for the negotiator: fixed identities and an in-memory peer
// pair that delivers cs* packets asynchronously, scoring PacketErrors the
// way cloudcoind does. Not a test file itself (tap runs test/*-test.ts).
import bcoin = require('../../lib/bcoin');
import { PacketError } from '../../lib/base/errors';
import { Identity } from '../../lib/base/identity';
import { Negotiator, NegotiatorOptions } from '../../lib/negotiator/negotiator';
import { NODE_CLOUDSTORAGE } from '../../lib/negotiator/common';
import { unverifiedPayments } from '../../lib/negotiator/payment';
import type { PeerLike } from '../../lib/negotiator/peers';

export const network = bcoin.Network.get('regtest');

/** A deterministic identity: private key = 32 bytes of `byte`. */
export function fixedIdentity(byte: number): Identity {
  return new Identity(bcoin.KeyRing.fromPrivate(Buffer.alloc(32, byte), true), network);
}

let nextId = 1;

/** One side's view of a connection. */
export class FakePeer implements PeerLike {
  readonly id = nextId++;
  services = (NODE_CLOUDSTORAGE | 9) >>> 0;
  outbound: boolean;
  agent: string | null = '/cloudcoin-test/';
  version = 70015;
  banScore = 0;
  closed = false;
  readonly host: string;
  /** The negotiator that receives what is sent to this peer. */
  remote: Negotiator | null = null;
  /** The remote's view of us. */
  back: FakePeer | null = null;
  /** PacketError codes raised by the remote when handling our packets. */
  readonly errors: string[] = [];
  /** Packets sent to this peer: [cmd, payload]. */
  readonly sent: Array<[string, Buffer]> = [];
  /** Drop instead of delivering (a silent server). */
  blackhole = false;

  constructor(host: string, outbound: boolean) {
    this.host = host;
    this.outbound = outbound;
  }

  hostname(): string {
    return this.host;
  }
}

/** Deliver `payload` to the negotiator behind `to`, as if sent by `to.back`. */
export function deliver(to: FakePeer, cmd: string, payload: Buffer): Promise<void> {
  return new Promise((resolve) => {
    setImmediate(() => {
      const remote = to.remote;
      const from = to.back;
      if (!remote || !from || to.closed || to.blackhole) {
        resolve();
        return;
      }
      remote.handlePacket(from, cmd, payload).then(resolve, (err: unknown) => {
        const code = err instanceof PacketError ? err.code : 'handler-failure';
        from.errors.push(code);
        if (err instanceof PacketError && err.verdict === 'reject')
          from.banScore += err.score;
        else if (!(err instanceof PacketError))
          from.banScore += 100;
        resolve();
      });
    });
  });
}

export interface Pair {
  a: Negotiator;
  b: Negotiator;
  /** a's peer object for b. */
  ab: FakePeer;
  /** b's peer object for a. */
  ba: FakePeer;
}

export type SideOptions = Partial<Omit<NegotiatorOptions, 'network' | 'send'>>;

function send(peer: PeerLike, cmd: string, payload: Buffer): void {
  const p = peer as FakePeer;
  p.sent.push([cmd, payload]);
  void deliver(p, cmd, payload);
}

/** An open negotiator with a fixed identity, sending over FakePeers. */
export async function makeNode(byte: number, opts: SideOptions = {}): Promise<Negotiator> {
  // Attached payments are believed here (no wallet in memory); cloudcoind pays with its wallet (walletpay.ts).
  const n = new Negotiator({ network, send, identity: fixedIdentity(byte), payments: unverifiedPayments, ...opts });
  await n.open();
  return n;
}

let nextHost = 1;

/**
 * Connect two open negotiators (x dials y) and wait until both proved
 * their identities. Returns [x's peer for y, y's peer for x].
 */
export async function link(x: Negotiator, y: Negotiator): Promise<[FakePeer, FakePeer]> {
  const xy = new FakePeer(`10.0.1.${nextHost++}:18444`, true);
  const yx = new FakePeer(`10.0.2.${nextHost++}:50000`, false);
  xy.remote = y;
  xy.back = yx;
  yx.remote = x;
  yx.back = xy;
  const provenOn = (n: Negotiator, peer: FakePeer): Promise<void> => new Promise((resolve) => {
    const on = (cp: { peer: PeerLike }): void => {
      if (cp.peer !== peer)
        return;
      n.removeListener('peer identity', on);
      resolve();
    };
    n.on('peer identity', on);
  });
  const proven = Promise.all([provenOn(x, xy), provenOn(y, yx)]);
  x.peerOpen(xy);
  y.peerOpen(yx);
  await proven;
  return [xy, yx];
}

/** Two open negotiators connected by an in-memory link; identities proven. */
export async function makePair(aOpts: SideOptions = {}, bOpts: SideOptions = {}): Promise<Pair> {
  const a = await makeNode(1, aOpts);
  const b = await makeNode(2, bOpts);
  const [ab, ba] = await link(a, b);
  return { a, b, ab, ba };
}

/** Wait for `n` more errors on a peer (the remote scored our packets). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++)
    await new Promise((r) => setImmediate(r));
}

/**
 * An in-memory network of negotiators listening at `ip:port` names. Nodes
 * made with `node()` dial each other through it (NegotiatorOptions.dial);
 * a name nobody listens at fails like a refused connection, and a node
 * made `nat` accepts no connections (it can only dial out).
 */
export class FakeNet {
  private readonly listeners = new Map<string, Negotiator>();
  private nextPort = 40000;
  /** Every connection opened through the net, by dialer name (tests count them). */
  readonly dials: Array<{ from: string; to: string }> = [];

  /** An open negotiator at `hostname` (`ip:port`). */
  async node(byte: number, hostname: string, opts: SideOptions & { nat?: boolean } = {}): Promise<Negotiator> {
    const holder: { neg: Negotiator | null } = { neg: null };
    const [ip, port] = splitHost(hostname);
    const { nat, ...rest } = opts;
    const n = await makeNode(byte, {
      dial: (to) => this.dial(holder.neg as Negotiator, ip, to),
      disconnect: (peer) => this.disconnect(peer as FakePeer),
      directAddresses: () => (nat ? [] : [hostname]),
      listenPort: () => (nat ? null : port),
      ...rest
    });
    holder.neg = n;
    if (!nat)
      this.listeners.set(hostname, n);
    return n;
  }

  /** Open a connection from `from` (at `fromIp`) to the node listening at `to`, as its pool would. */
  dial(from: Negotiator, fromIp: string, to: string): FakePeer {
    this.dials.push({ from: fromIp, to });
    const target = this.listeners.get(to);
    const xy = new FakePeer(to, true);
    if (!target) {
      // Refused: the pool reports the peer closed without a handshake.
      setImmediate(() => from.peerClose(xy));
      return xy;
    }
    const yx = new FakePeer(`${fromIp}:${this.nextPort++}`, false);
    xy.remote = target;
    xy.back = yx;
    yx.remote = from;
    yx.back = xy;
    setImmediate(() => {
      from.peerOpen(xy);
      target.peerOpen(yx);
    });
    return xy;
  }

  /** Close a connection on both ends. */
  disconnect(peer: FakePeer): void {
    const back = peer.back;
    peer.closed = true;
    if (back)
      back.closed = true;
    setImmediate(() => {
      back?.remote?.peerClose(peer);
      if (back)
        peer.remote?.peerClose(back);
    });
  }
}

function splitHost(hostname: string): [string, number] {
  const colon = hostname.lastIndexOf(':');
  return [hostname.slice(0, colon), Number(hostname.slice(colon + 1))];
}
