/*!
 * recordrelay.ts - contract records between CloudStorage peers.
 *
 * Serves csgetctr (one record by id) and csgetcmt (every record of one
 * commitment) with csctr packets, offers the csctr records peers send to
 * the index, relays a record once its commit confirms or a rating cites
 * it, and asks peers for the records the index lacks: by id, by
 * commitment, and once the chain is synced for every unresolved commit
 * (then each new outbound peer). Only resolved records are ever sent.
 */

import type bcoin = require('../bcoin');
import type { NodeAPI } from '../base/extension';
import { PacketError } from '../base/errors';
import * as common from './common';
import type { ContractIndex } from './contractindex';
import { ContractError } from './errors';
import {
  decodeContractRecord, decodeGetCommit, decodeGetContract, encodeContractRecord, encodeGetCommit, encodeGetContract
} from './packets';
import type { ContractRecord } from './records';

/** What the relay needs from the node. */
export interface RecordRelayContext {
  api: Pick<NodeAPI, 'pool' | 'chain' | 'logger' | 'sendPacket'>;
  index: ContractIndex;
  /** The extension is open: packets before that are ignored. */
  isOpen(): boolean;
}

/** Gossips contract records with CloudStorage peers. */
export class RecordRelay {
  /** Asked peers for the records of unresolved commits once the chain was synced. */
  private askedAtSync = false;
  private readonly ctx: RecordRelayContext;

  constructor(ctx: RecordRelayContext) {
    this.ctx = ctx;
  }

  /**
   * A block connected: caught up with the network once, ask for the
   * records we lack (a restored or long-offline node); later, each new
   * outbound peer is asked.
   */
  handleBlock(height: number): void {
    if (!this.askedAtSync && this.ctx.api.chain.synced && height === this.ctx.api.chain.height) {
      this.askedAtSync = true;
      for (const peer of this.cloudPeers())
        this.requestCommits(peer);
    }
  }

  /** A peer connected: an outbound CloudStorage peer is asked once we synced. */
  handlePeerOpen(peer: bcoin.Peer): void {
    if (this.askedAtSync && peer.outbound && (peer.services & common.NODE_CLOUDSTORAGE))
      this.requestCommits(peer);
  }

  private *cloudPeers(): Generator<bcoin.Peer> {
    for (let peer = this.ctx.api.pool.peers.head(); peer; peer = peer.next) {
      if (peer.handshake && !peer.destroyed && (peer.services & common.NODE_CLOUDSTORAGE))
        yield peer;
    }
  }

  /** Send a resolved record to every CloudStorage peer (csctr). */
  relay(record: ContractRecord): void {
    const payload = encodeContractRecord(record);
    for (const peer of this.cloudPeers())
      this.ctx.api.sendPacket(peer, common.packetCmds.CONTRACT, payload);
  }

  /** Ask CloudStorage peers for a contract record (csgetctr). */
  request(id: Buffer): void {
    const payload = encodeGetContract(id);
    for (const peer of this.cloudPeers())
      this.ctx.api.sendPacket(peer, common.packetCmds.GETCONTRACT, payload);
  }

  /** Ask CloudStorage peers for every record of one commitment (csgetcmt). */
  requestCommit(txid: Buffer): void {
    const payload = encodeGetCommit(txid);
    for (const peer of this.cloudPeers())
      this.ctx.api.sendPacket(peer, common.packetCmds.GETCOMMIT, payload);
  }

  /** Ask `peer` for the records of commitments we cannot resolve (csgetcmt). */
  private requestCommits(peer: bcoin.Peer): void {
    for (const txid of this.ctx.index.unresolvedCommits(common.MAX_COMMIT_REQUESTS))
      this.ctx.api.sendPacket(peer, common.packetCmds.GETCOMMIT, encodeGetCommit(txid));
  }

  /** An orphan record from `id` failed later: raise its sender's ban score. */
  punish(id: number, code: string): void {
    for (let peer = this.ctx.api.pool.peers.head(); peer; peer = peer.next) {
      if (peer.id !== id)
        continue;
      this.ctx.api.logger.debug('Bad orphan record from %s: %s.', peer.hostname(), code);
      peer.increaseBan(code === 'orphan-expired' ? common.ORPHAN_EXPIRED_SCORE : common.BAD_RECORD_SCORE);
      return;
    }
  }

  async handleGetContract(peer: bcoin.Peer, payload: Buffer): Promise<void> {
    const id = decodeGetContract(payload);
    if (!this.ctx.isOpen())
      return;
    // Only resolved records exist in c[]: never relay before the commit confirms.
    const record = await this.ctx.index.getRecord(id);
    if (record)
      this.ctx.api.sendPacket(peer, common.packetCmds.CONTRACT, encodeContractRecord(record));
  }

  /** csgetcmt: every record we hold of one commitment, as csctr packets. */
  async handleGetCommit(peer: bcoin.Peer, payload: Buffer): Promise<void> {
    const txid = decodeGetCommit(payload);
    if (!this.ctx.isOpen())
      return;
    const ce = await this.ctx.index.getCommit(txid);
    if (!ce)
      return;
    for (const leaf of ce.leaves) {
      const record = leaf.isResolved() ? await this.ctx.index.getRecord(leaf.id) : null;
      if (record)
        this.ctx.api.sendPacket(peer, common.packetCmds.CONTRACT, encodeContractRecord(record));
    }
  }

  async handleContract(peer: bcoin.Peer, payload: Buffer): Promise<void> {
    const record = decodeContractRecord(payload);
    if (!this.ctx.isOpen())
      return;
    try {
      await this.ctx.index.addRecord(record, peer.id);
    } catch (e) {
      if (e instanceof ContractError)
        throw new PacketError(e.code, 'reject', common.BAD_RECORD_SCORE);
      throw e;
    }
  }
}
