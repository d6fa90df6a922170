/*!
 * recordresolver.ts - contract records matched against the commits in the index.
 *
 * A record (the signed contract, its batch leaf and branch) is stored only
 * once a commit in the index proves it. Ours wait as pending records
 * (persisted before the commit is broadcast); peers' wait in the orphan
 * pool (orphanpool.ts), checked only cheaply until their commit connects.
 * A pending record that can no longer resolve is dropped, ours kept in the
 * void table so their escrow can still be refunded. Runs inside the
 * index's lock and emits the index's events ('resolve', 'void',
 * 'bad orphan'); contractindex.ts says when.
 */

import type bdb = require('../bdb');
import type bcoin = require('../bcoin');
import { batchBranch, verifyBranch } from './batchtree';
import * as common from './common';
import type { ContractQueries } from './contractqueries';
import { ContractError, enforce } from './errors';
import { layout } from './layout';
import type { Mutex } from './mutex';
import { OrphanPool } from './orphanpool';
import { CommitEntry, ContractRecord, VoidRecord } from './records';
import { type StorageContract, checkContractCheap, verifyContract } from './storagecontract';

/** Peer id of records offered locally (RPC, tests): bcoin's ids start at 0. */
export const LOCAL_PEER = -1;

/**
 * Result of offering a record to the index; 'stale' means dropped because
 * its commit can no longer be valid.
 */
export type AddResult = 'added' | 'known' | 'orphan' | 'stale';

/** What the resolver uses of its index. */
export interface RecordResolverContext {
  db: bdb.DB;
  network: bcoin.Network;
  params: common.ContractParams;
  logger: bcoin.Logger | null;
  queries: ContractQueries;
  /** The index's lock: record offers wait for block hooks and syncs. */
  lock: Mutex;
  /** The index tip's height. */
  height: () => number;
  /** A commit's leaves changed: the index keeps its set of unresolved commits. */
  trackResolved: (ce: CommitEntry) => void;
  /** Emit an event on the index. */
  emit: (event: string, ...args: unknown[]) => void;
}

/** Resolves, holds and voids the contract records of the index. */
export class RecordResolver {
  /** Records from peers whose commit is not indexed yet. */
  readonly orphans = new OrphanPool();
  private readonly ctx: RecordResolverContext;

  constructor(ctx: RecordResolverContext) {
    this.ctx = ctx;
  }

  private getCommit(txid: Buffer): Promise<CommitEntry | null> {
    return this.ctx.queries.getCommit(txid);
  }

  /**
   * Check a record against its commit and store it. Throws ContractError if
   * the record contradicts the commit (the sender lied).
   */
  private async resolve(ce: CommitEntry, record: ContractRecord): Promise<AddResult> {
    const contract = record.contract;
    const id = contract.hash();
    // [REJECT] leaf outside the batch
    enforce(record.leaf < ce.count, 'bad-record-leaf');
    const leaf = ce.leaves[record.leaf];
    if (leaf.isResolved() && leaf.id.equals(id))
      return 'known';
    // [REJECT] the branch does not lead from the id to the committed root
    enforce(verifyBranch(ce.root, id, record.leaf, ce.count, record.branch), 'bad-record-branch');
    // [REJECT] the escrow output is not this contract's script and value
    enforce(leaf.scriptHash.equals(contract.escrowScript().sha256()), 'bad-record-escrow');
    enforce(leaf.value === contract.escrowValue, 'bad-record-escrow-value');
    // [REJECT] contract invalid at the commit height (offer expired, sigs...)
    verifyContract(contract, ce.height, this.ctx.network);
    // [IGNORE] already committed elsewhere: the first commit wins
    if (leaf.isResolved() || await this.ctx.db.has(layout.c(id)))
      return 'known';
    leaf.id = id;
    const b = this.ctx.db.batch();
    b.put(layout.t(ce.txid), ce.encode());
    b.put(layout.c(id), record.encode());
    b.put(layout.i(contract.renterKey, id), Buffer.from([common.roles.RENTER]));
    b.put(layout.i(contract.hostKey, id), Buffer.from([common.roles.HOST]));
    b.del(layout.q(ce.txid, record.leaf));
    await b.write();
    this.ctx.trackResolved(ce);
    this.ctx.emit('resolve', record);
    return 'added';
  }

  /**
   * Resolve the pending records of a commit that just got indexed, then the
   * orphans waiting for it (verified in full only now).
   */
  async resolvePending(ce: CommitEntry): Promise<void> {
    const pending = await this.ctx.db.values({
      ...layout.range.q(ce.txid),
      parse: (value: Buffer) => new ContractRecord().decode(value)
    });
    for (const record of pending) {
      let code: string | null = null;
      try {
        if (await this.resolve(ce, record) === 'known') {
          if (ce.leaves[record.leaf].id.equals(record.contract.hash()))
            await this.ctx.db.del(layout.q(ce.txid, record.leaf)); // resolved already (a peer's copy)
          else
            code = 'contract-already-committed'; // another commit won the id
        }
      } catch (e) {
        if (!(e instanceof ContractError))
          throw e;
        // Refused by its own commit (e.g. confirmed after offer expiry).
        code = e.code;
      }
      if (code)
        await this.voidPending(record, code);
    }
    for (const orphan of this.orphans.take(ce.txid)) {
      try {
        await this.resolve(ce, orphan.record);
      } catch (e) {
        if (!(e instanceof ContractError))
          throw e;
        this.ctx.logger?.debug('Dropping orphan record %s: %s', orphan.record.contract.id(), e.code);
        this.ctx.emit('bad orphan', orphan.peer, e.code);
      }
    }
  }

  /** Resolve every pending record whose commit is indexed. */
  async resolveAllPending(): Promise<void> {
    const txids = await this.ctx.db.keys({
      ...layout.range.qAll(),
      parse: (key: Buffer) => key.subarray(1, 33)
    });
    const seen = new Set<string>();
    for (const txid of txids) {
      const hex = txid.toString('hex');
      if (seen.has(hex))
        continue;
      seen.add(hex);
      const ce = await this.getCommit(txid);
      if (ce)
        await this.resolvePending(ce);
    }
  }

  /**
   * A pending record can no longer resolve: drop it, keeping ours in the
   * void table (its escrow may be on chain, and only the renter's refund
   * recovers it). Emits 'void'.
   */
  private async voidPending(record: ContractRecord, code: string): Promise<void> {
    const id = record.contract.hash();
    const b = this.ctx.db.batch();
    b.del(layout.q(record.txid, record.leaf));
    if (await this.ctx.db.has(layout.o(id))) {
      const v = new VoidRecord({ record, code, height: this.ctx.height() });
      b.put(layout.v(id, record.txid, record.leaf), v.encode());
    }
    await b.write();
    this.ctx.logger?.warning('Contract %s void: %s', record.contract.id(), code);
    this.ctx.emit('void', record, code);
  }

  /**
   * A void record whose commit connects again, now at a height where the
   * contract is valid (a reorg moved it), resolves after all.
   */
  async retryVoid(added: CommitEntry[]): Promise<void> {
    if (added.length === 0)
      return;
    const byTxid = new Map(added.map(ce => [ce.txid.toString('hex'), ce]));
    const rows = await this.ctx.db.range({
      ...layout.range.vAll(),
      parse: (key: Buffer, value: Buffer) => ({ key, v: new VoidRecord().decode(value) })
    });
    for (const { key, v } of rows) {
      const ce = byTxid.get(v.record.txid.toString('hex'));
      if (!ce)
        continue;
      try {
        await this.resolve(ce, v.record);
        if (ce.leaves[v.record.leaf].id.equals(v.record.contract.hash()))
          await this.ctx.db.del(key);
      } catch (e) {
        if (!(e instanceof ContractError))
          throw e;
      }
    }
  }

  /**
   * Void pending records whose offer expired more than W blocks ago
   * without a commit: no commit can confirm validly any more (the margin
   * keeps them through shallow reorgs).
   */
  async pruneExpired(): Promise<void> {
    for (const record of await this.ctx.queries.getPending()) {
      if (record.contract.expiryHeight + this.ctx.params.window >= this.ctx.height())
        continue;
      // Its commit is indexed: resolvePending decides, not the clock.
      if (await this.ctx.db.has(layout.t(record.txid)))
        continue;
      await this.voidPending(record, 'contract-offer-expired');
    }
  }

  /** Drop orphans whose commit can no longer be valid; blame the sender. */
  pruneOrphans(): void {
    const stale = this.orphans.prune(o => o.record.contract.expiryHeight + this.ctx.params.window < this.ctx.height());
    for (const orphan of stale)
      this.ctx.emit('bad orphan', orphan.peer, 'orphan-expired');
  }

  /**
   * Offer a record from `peer` (LOCAL_PEER for local callers). If its
   * commit is indexed, the record is verified in full and stored; throws
   * ContractError if it contradicts the commit. Otherwise it gets only
   * cheap checks and waits in the orphan pool ('orphan').
   */
  async addRecord(record: ContractRecord, peer = LOCAL_PEER): Promise<AddResult> {
    return this.ctx.lock.run(async () => {
      const ce = await this.getCommit(record.txid);
      if (ce)
        return this.resolve(ce, record);
      // [REJECT] fails what can be checked without the commit, cheaply: no
      // curve points, no signatures (a few microseconds; the txid is not
      // signed, so one signed contract can be replayed under any txid)
      checkContractCheap(record.contract, this.ctx.network);
      // [IGNORE] its commit could not be valid any more (see pruneExpired)
      if (record.contract.expiryHeight + this.ctx.params.window < this.ctx.height())
        return 'stale';
      this.orphans.add(record, peer);
      return 'orphan';
    });
  }

  /**
   * Remember the contracts of a commitment we are about to broadcast, so
   * they resolve as soon as it confirms (persisted: survives a restart),
   * and mark them ours.
   */
  async addPending(txid: Buffer, contracts: StorageContract[]): Promise<void> {
    const ids = contracts.map(c => c.hash());
    const records = contracts.map((contract, leaf) =>
      new ContractRecord({ contract, txid, leaf, branch: batchBranch(ids, leaf) }));
    await this.ctx.lock.run(async () => {
      const b = this.ctx.db.batch();
      for (const record of records) {
        b.put(layout.q(txid, record.leaf), record.encode());
        b.put(layout.o(ids[record.leaf]), Buffer.concat([txid, Buffer.from([record.leaf])]));
      }
      await b.write();
      const ce = await this.getCommit(txid);
      if (ce)
        await this.resolvePending(ce);
    });
  }

  /**
   * Txids of our pending commitments (records we added with addPending
   * and still own), not those a reorg sent back to pending from peers.
   */
  async ownPending(): Promise<Buffer[]> {
    const out = new Map<string, Buffer>();
    for (const record of await this.ctx.queries.getPending()) {
      const own = await this.ctx.db.get(layout.o(record.contract.hash()));
      if (own && own.subarray(0, 32).equals(record.txid))
        out.set(record.txid.toString('hex'), record.txid);
    }
    return [...out.values()];
  }

  /**
   * Our commitment `txid` was never broadcast (a kill after addPending,
   * before the wallet took it): its pending records become void records
   * (`code`) that are no longer ours, so nothing counts their contracts as
   * committed or reuses them, and the renter's book forgets them at offer
   * expiry. Should the tx confirm after all, retryVoid resolves them.
   * Untouched if its commit is indexed. Returns the records voided.
   */
  async voidUnbroadcast(txid: Buffer, code: string): Promise<ContractRecord[]> {
    return this.ctx.lock.run(async () => {
      if (await this.ctx.db.has(layout.t(txid)))
        return [];
      const rows = await this.ctx.db.range({
        ...layout.range.q(txid),
        parse: (key: Buffer, value: Buffer) => ({ key, record: new ContractRecord().decode(value) })
      });
      const b = this.ctx.db.batch();
      for (const { key, record } of rows) {
        const id = record.contract.hash();
        b.del(key);
        const own = await this.ctx.db.get(layout.o(id));
        if (own && own.subarray(0, 32).equals(txid))
          b.del(layout.o(id));
        b.put(layout.v(id, txid, record.leaf), new VoidRecord({ record, code, height: this.ctx.height() }).encode());
      }
      await b.write();
      for (const { record } of rows)
        this.ctx.emit('void', record, code);
      return rows.map(r => r.record);
    });
  }

  /** Forget a commitment that was never broadcast (the mempool refused it). */
  async removePending(txid: Buffer): Promise<void> {
    await this.ctx.lock.run(async () => {
      const rows = await this.ctx.db.range({
        ...layout.range.q(txid),
        parse: (key: Buffer, value: Buffer) => ({ key, record: new ContractRecord().decode(value) })
      });
      const b = this.ctx.db.batch();
      for (const { key, record } of rows) {
        b.del(key);
        const id = record.contract.hash();
        const own = await this.ctx.db.get(layout.o(id));
        if (own && own.subarray(0, 32).equals(txid))
          b.del(layout.o(id));
      }
      await b.write();
    });
  }
}
