/*!
 * orphanpool.ts - contract records from peers whose commit is not indexed.
 *
 * A peer relays a record once its commit confirms on the peer's chain; we
 * may not have that block yet. Such orphans get only cheap checks and wait
 * here, in memory, bounded per sending peer and in all (as bcoin's mempool
 * bounds orphan txs), until the commit connects or can no longer be valid.
 */

import * as common from './common';
import type { ContractRecord } from './records';

/** A record kept until its commit is indexed, and who sent it. */
export interface Orphan {
  record: ContractRecord;
  /** bcoin peer id of the sender (LOCAL_PEER for local callers). */
  peer: number;
}

/** Bounded orphan records, oldest first. */
export class OrphanPool {
  /** By `txid:leaf:id`, oldest first (Map keeps insertion order). */
  private readonly orphans = new Map<string, Orphan>();
  /** Orphans held per sending peer id. */
  private readonly peers = new Map<number, number>();

  /**
   * @param perPeer most orphans one peer may hold (its oldest goes first)
   * @param total most orphans in all (the busiest peer's oldest goes first)
   */
  constructor(readonly perPeer = common.MAX_ORPHANS_PER_PEER, readonly total = common.MAX_ORPHAN_RECORDS) {}

  /** Orphans held, in all or from one peer. */
  count(peer?: number): number {
    return peer === undefined ? this.orphans.size : this.peers.get(peer) ?? 0;
  }

  /** Keep `record` from `peer`, evicting to stay within the bounds; false if already held. */
  add(record: ContractRecord, peer: number): boolean {
    const key = `${record.txid.toString('hex')}:${record.leaf}:${record.contract.id()}`;
    if (this.orphans.has(key))
      return false;
    if (this.count(peer) >= this.perPeer)
      this.evict(peer);
    else if (this.orphans.size >= this.total)
      this.evict(this.busiestPeer());
    this.orphans.set(key, { record, peer });
    this.peers.set(peer, this.count(peer) + 1);
    return true;
  }

  /** Remove and return the orphans that name commit `txid`. */
  take(txid: Buffer): Orphan[] {
    return this.removeWhere(orphan => orphan.record.txid.equals(txid));
  }

  /** Remove and return the orphans for which `stale` holds. */
  prune(stale: (orphan: Orphan) => boolean): Orphan[] {
    return this.removeWhere(stale);
  }

  private removeWhere(match: (orphan: Orphan) => boolean): Orphan[] {
    const out: Orphan[] = [];
    for (const [key, orphan] of this.orphans) {
      if (!match(orphan))
        continue;
      this.drop(key, orphan);
      out.push(orphan);
    }
    return out;
  }

  private drop(key: string, orphan: Orphan): void {
    this.orphans.delete(key);
    const n = (this.peers.get(orphan.peer) ?? 1) - 1;
    if (n > 0)
      this.peers.set(orphan.peer, n);
    else
      this.peers.delete(orphan.peer);
  }

  /** Drop the oldest orphan sent by `peer`. */
  private evict(peer: number): void {
    for (const [key, orphan] of this.orphans) {
      if (orphan.peer === peer) {
        this.drop(key, orphan);
        return;
      }
    }
  }

  /** The peer holding the most orphans. */
  private busiestPeer(): number {
    let peer = -1;
    let most = -1;
    for (const [id, n] of this.peers) {
      if (n > most) {
        peer = id;
        most = n;
      }
    }
    return peer;
  }
}
