/*!
 * nonces.ts - server-issued single-use request nonces (DESIGN 4).
 *
 * nonce = HMAC-SHA256(serverKey, clientPk || u32 epoch || u32 counter)[:16]
 * with 10-minute epochs and one process-wide counter: per-client state may be
 * forgotten (bounded maps), but the (epoch, counter) pair of a nonce is never
 * issued twice, so a nonce once used can never come back. A server hands one out in every response
 * (`nextNonce`); a request must carry an outstanding nonce issued to its
 * `from` key in the current or previous epoch, and using it removes it.
 * Outstanding nonces are capped per client and in total, and the used set
 * (kept only to tell a replay from an unknown nonce) is pruned per epoch,
 * so memory stays bounded whatever clients do.
 */

import { createHmac, randomBytes } from 'crypto';
import { BoundedMap } from './boundedmap';
import {
  NONCE_SIZE, NONCE_EPOCH_MS, MAX_NONCES_PER_CLIENT, MAX_NONCE_CLIENTS,
  MAX_CACHED_NONCES, MAX_NONCE_SERVERS
} from './common';

/** Outcome of checking a request nonce. */
export const nonceResults = {
  OK: 'ok',
  /** Used before: a replay. */
  REPLAYED: 'replayed-nonce',
  /** Never issued to this key, forgotten, or a zero nonce. */
  UNKNOWN: 'unknown-nonce',
  /** Issued more than one epoch ago. */
  EXPIRED: 'expired-nonce'
} as const;

export type NonceResult = typeof nonceResults[keyof typeof nonceResults];

interface ClientNonces {
  /** Epoch of the newest nonce issued (prune skips recently active clients). */
  epoch: number;
  /** nonce hex -> epoch issued, oldest first. */
  outstanding: Map<string, number>;
}

export type Clock = () => number;

/** The server side: issues and checks nonces. */
export class NonceManager {
  private readonly key: Buffer;
  private readonly clock: Clock;
  private readonly clients = new BoundedMap<string, ClientNonces>(MAX_NONCE_CLIENTS);
  /** epoch -> used nonce hexes (current and previous epoch only). */
  private readonly used = new Map<number, Set<string>>();
  private readonly maxUsed: number;
  private prunedAt = -1;
  /**
   * Epoch and counter of the next nonce, for all clients. The epoch never goes
   * back (a clock stepping back keeps the later epoch), so no pair repeats.
   */
  private issueEpoch = -1;
  private counter = 0;

  constructor(options: { key?: Buffer; clock?: Clock; maxUsed?: number } = {}) {
    this.key = options.key ?? randomBytes(32);
    this.clock = options.clock ?? Date.now;
    this.maxUsed = options.maxUsed ?? MAX_NONCE_CLIENTS * MAX_NONCES_PER_CLIENT;
  }

  epoch(): number {
    return Math.floor(this.clock() / NONCE_EPOCH_MS);
  }

  /** Nonce number `counter` of `clientPk` in `epoch`. */
  derive(clientPk: Buffer, epoch: number, counter: number): Buffer {
    const e = Buffer.alloc(8);
    e.writeUInt32LE(epoch >>> 0, 0);
    e.writeUInt32LE(counter >>> 0, 4);
    return createHmac('sha256', this.key).update(clientPk).update(e).digest().subarray(0, NONCE_SIZE);
  }

  /** Issue a fresh nonce to `clientPk`. */
  issue(clientPk: Buffer): Buffer {
    const epoch = this.epoch();
    this.prune(epoch);
    const id = clientPk.toString('hex');
    let state = this.clients.touch(id);
    if (!state) {
      state = { epoch, outstanding: new Map() };
      this.clients.set(id, state);
    }
    // Only a fresh epoch restarts the counter; a client forgotten and seen
    // again in the same epoch continues from the shared counter (no reissue).
    if (epoch > this.issueEpoch || this.counter > 0xffffffff) {
      this.issueEpoch = Math.max(epoch, this.issueEpoch + 1);
      this.counter = 0;
    }
    const nonce = this.derive(clientPk, this.issueEpoch, this.counter);
    this.counter += 1;
    state.epoch = this.issueEpoch;
    state.outstanding.set(nonce.toString('hex'), this.issueEpoch);
    while (state.outstanding.size > MAX_NONCES_PER_CLIENT) {
      const oldest = state.outstanding.keys().next();
      if (oldest.done)
        break;
      state.outstanding.delete(oldest.value);
    }
    return nonce;
  }

  /** Check and consume a request nonce. */
  consume(clientPk: Buffer, nonce: Buffer): NonceResult {
    const epoch = this.epoch();
    this.prune(epoch);
    const hex = nonce.toString('hex');
    const usedKey = clientPk.toString('hex') + hex;
    // [REJECT] used before: a replay, whatever the outstanding set says
    for (const set of this.used.values()) {
      if (set.has(usedKey))
        return nonceResults.REPLAYED;
    }
    const state = this.clients.get(clientPk.toString('hex'));
    const issued = state ? state.outstanding.get(hex) : undefined;
    // [REJECT] never issued to this key, or forgotten
    if (!state || issued === undefined)
      return nonceResults.UNKNOWN;
    state.outstanding.delete(hex);
    if (issued < epoch - 1)
      return nonceResults.EXPIRED;
    let set = this.used.get(epoch);
    if (!set) {
      set = new Set();
      this.used.set(epoch, set);
    }
    if (set.size < this.maxUsed)
      set.add(usedKey);
    return nonceResults.OK;
  }

  /**
   * What `consume` would answer, without consuming: a map lookup, so the
   * server can decline a stale nonce before paying for a signature check.
   */
  check(clientPk: Buffer, nonce: Buffer): NonceResult {
    const epoch = this.epoch();
    const hex = nonce.toString('hex');
    const usedKey = clientPk.toString('hex') + hex;
    for (const set of this.used.values()) {
      if (set.has(usedKey))
        return nonceResults.REPLAYED;
    }
    const issued = this.clients.get(clientPk.toString('hex'))?.outstanding.get(hex);
    if (issued === undefined)
      return nonceResults.UNKNOWN;
    if (issued < epoch - 1)
      return nonceResults.EXPIRED;
    return nonceResults.OK;
  }

  /** Outstanding nonces in total (for tests and getinfo-style stats). */
  outstanding(): number {
    let n = 0;
    for (const state of this.clients.values())
      n += state.outstanding.size;
    return n;
  }

  usedCount(): number {
    let n = 0;
    for (const set of this.used.values())
      n += set.size;
    return n;
  }

  private prune(epoch: number): void {
    // Once per epoch: entries older than the previous epoch can only fail.
    if (epoch === this.prunedAt)
      return;
    this.prunedAt = epoch;
    for (const e of this.used.keys()) {
      if (e < epoch - 1)
        this.used.delete(e);
    }
    for (const state of this.clients.values()) {
      if (state.epoch >= epoch - 1)
        continue;
      for (const [hex, issued] of state.outstanding) {
        if (issued < epoch - 1)
          state.outstanding.delete(hex);
      }
    }
  }
}

/** The client side: nonces servers handed us, per server key. */
export class NonceCache {
  private readonly servers = new BoundedMap<string, Buffer[]>(MAX_NONCE_SERVERS);

  add(serverPk: Buffer, nonce: Buffer): void {
    const id = serverPk.toString('hex');
    const list = this.servers.touch(id) ?? [];
    list.push(nonce);
    if (list.length > MAX_CACHED_NONCES)
      list.shift();
    this.servers.set(id, list);
  }

  /**
   * Take the newest nonce for a server, or a random one, which the server
   * answers with refresh-nonce (random, not zero, so that concurrent first
   * requests still differ and have distinct request hashes).
   */
  take(serverPk: Buffer): Buffer {
    const list = this.servers.get(serverPk.toString('hex'));
    const nonce = list ? list.pop() : undefined;
    return nonce ?? randomBytes(NONCE_SIZE);
  }

  count(serverPk: Buffer): number {
    return this.servers.get(serverPk.toString('hex'))?.length ?? 0;
  }
}
