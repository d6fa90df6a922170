/*!
 * dialer.ts - reaching announced hosts on demand, and being reached.
 *
 * A renter is connected to few CloudStorage peers; `connectHosts` opens
 * short-lived connections to announced hosts it is not connected to, with
 * bounded concurrency, a timeout per attempt and a budget of new
 * connections. A host's `csannounce2` lists direct addresses (dialled) and
 * relays: nodes the host keeps outbound connections to. A host behind NAT
 * is reached by asking a relay (`peers.connect`) to have the host dial us
 * back (`peers.dialback`); the relay names the address our connection to it
 * comes from, so nobody can make a host dial a third party's address.
 *
 * Connections opened here are temporary: closed when the negotiation that
 * opened them is over (`release`, keeping the hosts that made offers) or
 * after TEMP_IDLE_MS without a request or response, unless the host was
 * `hold`-ed (a contract there): a held host keeps one connection.
 */

import bio = require('bufio');
import type { EventEmitter } from 'events';
import { BoundedMap } from './boundedmap';
import {
  CONNECT_BURST, CONNECT_PER_MIN, DIALBACK_BURST, DIALBACK_PER_MIN, DIALBACK_TIMEOUT_MS, DIAL_CONCURRENCY,
  DIAL_TIMEOUT_MS, MAX_CLOUD_PEERS, MAX_ANNOUNCE_SOURCES, TEMP_IDLE_MS, TEMP_SWEEP_MS, ANNOUNCE2_VERSION,
  PUBKEY_SIZE
} from './common';
import { ServiceError } from './errors';
import { AnnouncePacket, HostAddr, addrKinds } from './announcepacket';
import { KeyedBuckets, TokenBucket, type CloudPeer, type CloudPeers, type PeerLike } from './peers';
import type { RequestContext } from './services';
import { statuses } from './status';
import type { CallResult, RequestOptions } from './requester';
import { checkEnd, readFixed, readPubkey } from './wire';

/** Declines of `peers.connect` and `peers.dialback` (the body carries the code). */
export const dialCodes = {
  NOT_CONNECTED: 'not-connected',
  NOT_HOSTING: 'not-hosting',
  NO_DIALER: 'no-dialer',
  RATE_LIMITED: 'rate-limited',
  DIALBACK_DECLINED: 'dialback-declined'
} as const;

export interface DialerOptions {
  peers: CloudPeers;
  /** The negotiator: emits `peer identity` (CloudPeer) and `disconnect` (PeerLike). */
  events: EventEmitter;
  /** Open an outbound connection (the pool); null when it cannot. Without it nothing is dialled. */
  dial?: (hostname: string) => PeerLike | null;
  /** Close a connection. */
  disconnect?: (peer: PeerLike) => void;
  request(target: PeerLike, service: string, method: string, args: Buffer, options?: RequestOptions): Promise<CallResult>;
  /** Our P2P listening port, or null when we accept no connections. */
  listenPort(): number | null;
  /** Whether we announce ourselves as a host (only hosts dial back). */
  hosting(): boolean;
  clock(): number;
  /** The number of temporary connections changed (they get outbound slots of their own). */
  temporaryChanged?: (count: number) => void;
}

/** What `connectHosts` wants: how many hosts, which, and how hard to try. */
export interface ConnectOptions {
  /** Connected hosts wanted (counting those already connected). */
  count: number;
  /** New connections at most (default count x 3). */
  maxNew?: number;
  /** Which announced hosts qualify (prices, capacity...). */
  filter?: (ann: AnnouncePacket) => boolean;
  /** Per attempt (default DIAL_TIMEOUT_MS). */
  timeoutMs?: number;
}

export interface ConnectResult {
  /** Identity keys of qualifying hosts connected now (proven). */
  connected: Buffer[];
  /** New connections opened (dials and dial-backs asked for). */
  opened: number;
  /** Hosts tried and not reached, with why. */
  failed: Array<{ pubkey: Buffer; reason: string }>;
  /** Temporary connections to the hosts connected, leased to the caller: hand them to `release` when done. */
  lease: PeerLike[];
}

/** Cancelled waits reject with this; never seen by callers. */
class Cancelled extends Error {}

export class Dialer {
  private readonly options: DialerOptions;
  /** Connections we opened or asked for, with when they last carried a request. */
  private readonly temporary = new Map<PeerLike, number>();
  /** Negotiations using a temporary connection now (leased by connectHosts, until released). */
  private readonly users = new Map<PeerLike, number>();
  /** Hosts whose connection we keep (contracts there). */
  private readonly held = new BoundedMap<string, true>(MAX_CLOUD_PEERS);
  /** Addresses that turned out to reach this node itself (`ownAddress`): never dialled. */
  private readonly own = new BoundedMap<string, true>(MAX_CLOUD_PEERS);
  private readonly connectBudgets: KeyedBuckets;
  private readonly dialbackBudgets: KeyedBuckets;
  private readonly dialbackTotal: TokenBucket;
  private sweeper: ReturnType<typeof setInterval> | null = null;

  constructor(options: DialerOptions) {
    this.options = options;
    this.connectBudgets = new KeyedBuckets(CONNECT_PER_MIN / 60, CONNECT_BURST, MAX_ANNOUNCE_SOURCES, options.clock);
    this.dialbackBudgets = new KeyedBuckets(DIALBACK_PER_MIN / 60, DIALBACK_BURST, MAX_ANNOUNCE_SOURCES, options.clock);
    this.dialbackTotal = new TokenBucket((4 * DIALBACK_PER_MIN) / 60, 4 * DIALBACK_BURST, options.clock);
    options.events.on('disconnect', (peer: PeerLike) => {
      this.users.delete(peer);
      if (this.temporary.delete(peer))
        this.options.temporaryChanged?.(this.temporary.size);
    });
  }

  close(): void {
    if (this.sweeper)
      clearInterval(this.sweeper);
    this.sweeper = null;
    this.temporary.clear();
  }

  /** Keep a connection to this host open (a contract there); it survives idle sweeps (one per host: `sweep`). */
  hold(publicKey: Buffer): void {
    this.held.set(publicKey.toString('hex'), true);
  }

  isHeld(publicKey: Buffer): boolean {
    return this.held.has(publicKey.toString('hex'));
  }

  /** `hostname` (ip:port) reached this node itself: never dial it again. */
  ownAddress(hostname: string): void {
    this.own.set(hostname, true);
  }

  /** Whether `peer` is a connection we opened for a while only. */
  isTemporary(peer: PeerLike): boolean {
    return this.temporary.has(peer);
  }

  /** The connection carried a request or response: it is not idle. */
  touch(peer: PeerLike): void {
    if (this.temporary.has(peer))
      this.temporary.set(peer, this.options.clock());
  }

  private markTemporary(peer: PeerLike): void {
    this.temporary.set(peer, this.options.clock());
    this.options.temporaryChanged?.(this.temporary.size);
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), TEMP_SWEEP_MS);
      this.sweeper.unref?.();
    }
  }

  /**
   * Close temporary connections idle for TEMP_IDLE_MS, except one to each
   * host we hold. A held host's temporary connection is redundant while
   * another connection proves the same identity: the host dialled us while
   * our dial to it was under way (a restarted host with `--connect`), and
   * both would otherwise stay for good. The connection kept for a held host
   * is one we did not open (the host keeps it), else the latest used.
   */
  sweep(now = this.options.clock()): number {
    const keep = new Map<string, PeerLike>();
    for (const cp of this.options.peers.all()) {
      if (!cp.publicKey || !this.isHeld(cp.publicKey))
        continue;
      const hex = cp.publicKey.toString('hex');
      const kept = keep.get(hex);
      if (!kept || (this.temporary.has(kept)
        && (!this.temporary.has(cp.peer) || (this.temporary.get(cp.peer) as number) > (this.temporary.get(kept) as number))))
        keep.set(hex, cp.peer);
    }
    const idle: PeerLike[] = [];
    for (const [peer, at] of this.temporary) {
      const key = this.options.peers.get(peer)?.publicKey;
      if (!(key && keep.get(key.toString('hex')) === peer) && now - at >= TEMP_IDLE_MS)
        idle.push(peer);
    }
    return this.closeTemporary(idle);
  }

  /** Close these temporary connections; returns how many. */
  private closeTemporary(peers: PeerLike[]): number {
    for (const peer of peers) {
      this.temporary.delete(peer);
      this.options.disconnect?.(peer);
    }
    if (peers.length)
      this.options.temporaryChanged?.(this.temporary.size);
    return peers.length;
  }

  /**
   * A negotiation is over: of the temporary connections its `connectHosts`
   * leased, close those no other negotiation still uses, whose host is
   * neither in `keep` (made an offer) nor held. Returns how many closed.
   */
  release(lease: PeerLike[], keep: Buffer[]): number {
    const kept = new Set(keep.map(k => k.toString('hex')));
    const done: PeerLike[] = [];
    for (const peer of lease) {
      const users = (this.users.get(peer) ?? 1) - 1;
      if (users > 0) {
        this.users.set(peer, users);
        continue;
      }
      this.users.delete(peer);
      const key = this.options.peers.get(peer)?.publicKey;
      if (this.temporary.has(peer) && !(key && (kept.has(key.toString('hex')) || this.isHeld(key))))
        done.push(peer);
    }
    return this.closeTemporary(done);
  }

  /**
   * Wait until a connection proves an identity `match` accepts. Rejects on
   * timeout, when `peer` (if given) disconnects first, or on `signal`.
   */
  private waitIdentity(match: (cp: CloudPeer) => boolean, timeoutMs: number, peer: PeerLike | null,
    signal?: AbortSignal): Promise<CloudPeer> {
    for (const cp of this.options.peers.all()) {
      if (cp.publicKey && match(cp))
        return Promise.resolve(cp);
    }
    const events = this.options.events;
    return new Promise((resolve, reject) => {
      const done = (err: Error | null, cp?: CloudPeer): void => {
        clearTimeout(timer);
        events.removeListener('peer identity', onIdentity);
        events.removeListener('disconnect', onClose);
        signal?.removeEventListener('abort', onAbort);
        if (err)
          reject(err);
        else
          resolve(cp as CloudPeer);
      };
      const onIdentity = (cp: CloudPeer): void => {
        if (match(cp))
          done(null, cp);
        else if (peer && cp.peer === peer)
          done(new Error('another identity answered'));
      };
      const onClose = (p: PeerLike): void => {
        if (peer && p === peer)
          done(new Error('connection failed'));
      };
      const onAbort = (): void => done(new Cancelled());
      const timer = setTimeout(() => done(new Error('timed out')), timeoutMs);
      events.on('peer identity', onIdentity);
      events.on('disconnect', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Be connected to `count` announced hosts that pass `filter`: dial those
   * we are not connected to, cheapest storage first, at most DIAL_CONCURRENCY
   * at once and `maxNew` new connections in all.
   */
  async connectHosts(hosts: AnnouncePacket[], opts: ConnectOptions): Promise<ConnectResult> {
    const filter = opts.filter ?? (() => true);
    const wanted = hosts.filter(a => !a.withdrawn && filter(a));
    const connected = new Map<string, Buffer>();
    for (const a of wanted) {
      if (this.options.peers.byKey(a.publicKey))
        connected.set(a.publicKey.toString('hex'), a.publicKey);
    }
    const queue = wanted.filter(a => !connected.has(a.publicKey.toString('hex')) && a.addrs.length > 0)
      .sort((a, b) => a.storagePrice - b.storagePrice);
    const budget = { left: opts.maxNew ?? opts.count * 3, opened: 0 };
    const failed: ConnectResult['failed'] = [];
    const timeoutMs = opts.timeoutMs ?? DIAL_TIMEOUT_MS;
    let active = 0;
    const worker = async (): Promise<void> => {
      // Never more attempts at once than hosts still missing.
      while (connected.size + active < opts.count && budget.left > 0 && queue.length > 0) {
        const ann = queue.shift() as AnnouncePacket;
        active += 1;
        const reason = this.options.dial ? await this.reach(ann, budget, timeoutMs) : 'no dialer';
        active -= 1;
        if (reason === null)
          connected.set(ann.publicKey.toString('hex'), ann.publicKey);
        else
          failed.push({ pubkey: ann.publicKey, reason });
      }
    };
    await Promise.all(Array.from({ length: DIAL_CONCURRENCY }, worker));
    // Lease the temporary connections to the hosts wanted, until `release`.
    const lease: PeerLike[] = [];
    for (const key of connected.values()) {
      const peer = this.options.peers.byKey(key)?.peer;
      if (peer && this.temporary.has(peer)) {
        this.users.set(peer, (this.users.get(peer) ?? 0) + 1);
        lease.push(peer);
      }
    }
    return { connected: [...connected.values()], opened: budget.opened, failed, lease };
  }

  /** Reach one host: its direct addresses, then its relays. Null on success, else why not. */
  private async reach(ann: AnnouncePacket, budget: { left: number; opened: number }, timeoutMs: number)
    : Promise<string | null> {
    const isHost = (cp: CloudPeer): boolean => cp.publicKey !== null && cp.publicKey.equals(ann.publicKey);
    let why = 'no dialable address';
    for (const hostname of ann.hostnames(addrKinds.DIRECT)) {
      if (this.own.has(hostname)) {
        why = `${hostname}: this node's own address`;
        continue;
      }
      if (!this.take(budget))
        return 'connection budget spent';
      const peer = this.open(hostname);
      if (!peer)
        continue;
      try {
        await this.waitIdentity(isHost, timeoutMs, peer);
        return null;
      } catch (e) {
        why = `${hostname}: ${(e as Error).message}`;
      }
    }
    for (const hostname of ann.hostnames(addrKinds.RELAY)) {
      const result = await this.viaRelay(ann, hostname, budget, timeoutMs);
      if (result === null)
        return null;
      why = `via ${hostname}: ${result}`;
    }
    return why;
  }

  /** Ask the relay at `hostname` to have the host dial us back. */
  private async viaRelay(ann: AnnouncePacket, hostname: string, budget: { left: number; opened: number },
    timeoutMs: number): Promise<string | null> {
    const port = this.options.listenPort();
    if (port === null)
      return 'we accept no connections, so a host behind NAT cannot dial back';
    let relay = this.options.peers.byHostname(hostname);
    try {
      if (!relay?.publicKey) {
        // The host dialled us once, so we are among its relays: asking
        // ourselves to relay would only dial ourselves (Negotiator#selfConnected).
        if (this.own.has(hostname))
          return 'the relay is this node';
        if (!this.take(budget))
          return 'connection budget spent';
        const peer = this.open(hostname);
        if (!peer)
          return 'cannot dial the relay';
        relay = await this.waitIdentity(cp => cp.peer === peer, timeoutMs, peer);
      }
    } catch (e) {
      return this.own.has(hostname) ? 'the relay is this node' : (e as Error).message;
    }
    if (!this.take(budget))
      return 'connection budget spent';
    const abort = new AbortController();
    const back = this.waitIdentity(cp => cp.publicKey !== null && cp.publicKey.equals(ann.publicKey),
      DIALBACK_TIMEOUT_MS, null, abort.signal);
    back.catch(() => {});
    try {
      const res = await this.options.request(relay.peer, 'peers', 'connect', connectArgs(ann.publicKey, port),
        { timeout: timeoutMs });
      if (res.status !== statuses.OK) {
        abort.abort();
        return `${res.status}${res.body.length ? ' ' + res.body.toString('latin1') : ''}`;
      }
      const cp = await back;
      this.markTemporary(cp.peer);
      return null;
    } catch (e) {
      abort.abort();
      return (e as Error).message;
    }
  }

  private take(budget: { left: number; opened: number }): boolean {
    if (budget.left <= 0)
      return false;
    budget.left -= 1;
    budget.opened += 1;
    return true;
  }

  /** Dial `hostname` as a temporary connection; null when the pool will not. */
  private open(hostname: string): PeerLike | null {
    const peer = this.options.dial?.(hostname) ?? null;
    if (peer && !this.options.peers.get(peer))
      this.markTemporary(peer);
    return peer;
  }

  /**
   * `peers.connect` (we are the relay): forward a dial-back request to the
   * connected host `target`, naming the address the caller's connection
   * comes from and the port it listens on.
   */
  async handleConnect(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const { target, port } = readConnectArgs(args);
    // [DECLINE] a caller may ask for a few dial-backs a minute
    if (!this.connectBudgets.get(ctx.from.toString('hex')).take())
      throw new ServiceError(statuses.RATE_LIMITED, dialCodes.RATE_LIMITED, Buffer.from(dialCodes.RATE_LIMITED));
    const host = this.options.peers.byKey(target);
    // [DECLINE] we have no connection to that host that can carry a dial-back
    if (!host || host.csVersion < ANNOUNCE2_VERSION)
      throw declined(dialCodes.NOT_CONNECTED);
    const addr = HostAddr.fromHostname(addrKinds.DIRECT, withPort(ctx.peer.hostname(), port));
    if (!addr)
      throw ServiceError.badArgs();
    const res = await this.options.request(host.peer, 'peers', 'dialback', dialbackArgs(ctx.from, addr),
      { timeout: DIAL_TIMEOUT_MS });
    // [DECLINE] the host would not dial back (not hosting, rate limited...)
    if (res.status !== statuses.OK)
      throw declined(dialCodes.DIALBACK_DECLINED);
    return Buffer.alloc(0);
  }

  /**
   * `peers.dialback` (we are the host, asked by a relay we are connected
   * to): dial the renter at the address the relay saw. Answers at once;
   * the renter waits for our connection.
   */
  async handleDialback(args: Buffer, ctx: RequestContext): Promise<Buffer> {
    const { renter, addr } = readDialbackArgs(args);
    // [DECLINE] only hosts are dialled back to; others have nothing to offer
    if (!this.options.hosting())
      throw declined(dialCodes.NOT_HOSTING);
    // [DECLINE] a relay may ask for a few dial-backs a minute, all relays a few more
    if (!this.dialbackBudgets.get(ctx.from.toString('hex')).take() || !this.dialbackTotal.take())
      throw new ServiceError(statuses.RATE_LIMITED, dialCodes.RATE_LIMITED, Buffer.from(dialCodes.RATE_LIMITED));
    if (this.options.peers.byKey(renter))
      return Buffer.alloc(0);
    const hostname = addr.toHostname();
    if (!hostname)
      throw ServiceError.badArgs();
    if (!this.options.dial)
      throw declined(dialCodes.NO_DIALER);
    const peer = this.options.dial(hostname);
    if (peer) {
      // Whoever answers there must be the renter that asked.
      this.waitIdentity(cp => cp.peer === peer, DIAL_TIMEOUT_MS, peer).then((cp) => {
        if (!cp.publicKey || !cp.publicKey.equals(renter))
          this.options.disconnect?.(peer);
      }, () => {});
    }
    return Buffer.alloc(0);
  }
}

function declined(code: string): ServiceError {
  return new ServiceError(`${statuses.DECLINED}/${code}`, code, Buffer.from(code, 'latin1'));
}

/** `peers.connect` args: target identity (33) || u16 LE port we listen on. */
export function connectArgs(target: Buffer, port: number): Buffer {
  const bw = bio.write(PUBKEY_SIZE + 2);
  bw.writeBytes(target);
  bw.writeU16(port);
  return bw.render();
}

/** `peers.dialback` args: the renter's identity (33) || HostAddr to dial it at. */
export function dialbackArgs(renter: Buffer, addr: HostAddr): Buffer {
  const bw = bio.write(PUBKEY_SIZE + addr.getSize());
  bw.writeBytes(renter);
  addr.write(bw);
  return bw.render();
}

/** Read `peers.connect` args; a ServiceError `bad-args` when malformed. */
export function readConnectArgs(args: Buffer): { target: Buffer; port: number } {
  try {
    const br = bio.read(args);
    const target = readPubkey(br);
    const port = readFixed(br, 2).readUInt16LE(0);
    checkEnd(br);
    if (port === 0)
      throw new Error('port 0');
    return { target, port };
  } catch {
    throw ServiceError.badArgs();
  }
}

/** Read `peers.dialback` args; a ServiceError `bad-args` when malformed. */
export function readDialbackArgs(args: Buffer): { renter: Buffer; addr: HostAddr } {
  try {
    const br = bio.read(args);
    const renter = readPubkey(br);
    const addr = new HostAddr().read(br);
    checkEnd(br);
    return { renter, addr };
  } catch {
    throw ServiceError.badArgs();
  }
}

/** `ip:port` / `[ip]:port` of a connection's address with another port. */
function withPort(hostname: string, port: number): string {
  const colon = hostname.lastIndexOf(':');
  return `${colon === -1 ? hostname : hostname.slice(0, colon)}:${port}`;
}
