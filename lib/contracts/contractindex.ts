/*!
 * contractindex.ts - the chain index of storage contracts and ratings.
 *
 * An Indexer (indexer.ts owns the tip, sync, undo and rollback): this
 * class only says what a block adds (commits, escrow spends, ratings) and
 * takes it away again, and resolves contract records against commits.
 *
 * Commits are indexed as soon as they confirm; their contract records (the
 * signed contracts) arrive separately, from our own commitments or from
 * peers, and are stored only once a commit in the index proves them.
 * Ratings are kept as seen; which one counts is decided at query time
 * (contractqueries.ts). Records from peers whose commit is not indexed yet
 * wait in the orphan pool (orphanpool.ts); their signatures are verified
 * when the commit resolves them.
 *
 * Events: 'resolve' (record) when a record becomes valid and relayable;
 * 'void' (record, code) when a pending record can no longer become valid
 * (ours are kept in the void table, so their escrow can be refunded);
 * 'bad orphan' (peer id, code) when an orphan from that peer fails
 * against its commit or its commit never comes in time;
 * 'rated' (record) when a confirmed rating cites a record;
 * 'missing' (id) when the chain names an id we hold no record for;
 * 'missing commit' (txid) when a batch commit connects with a leaf we hold
 * no record for;
 * 'unresolve' (record) when a reorg removes its commit; 'connect' and
 * 'disconnect' (tip) after each block.
 */

import bcoin = require('../bcoin');
import type bdb = require('../bdb');
import { batchBranch, verifyBranch } from './batchtree';
import { getRaterKey, parseCommit, spendAmounts } from './blockscan';
import * as common from './common';
import { ContractQueries } from './contractqueries';
import type { ContractInfo, EscrowInfo, RatingInfo } from './contractqueries';
import { ContractError, enforce } from './errors';
import { classifySpend } from './escrow';
import { BlockStep, IndexTip, Indexer, indexerLayout } from './indexer';
import { layout, DB_VERSION } from './layout';
import { OrphanPool } from './orphanpool';
import { decodeRating, findPayload, RatingPayload } from './payload';
import {
  BlockUndo, CommitEntry, ContractRecord, RatingEntry, VoidRecord, spendTypes
} from './records';
import { StorageContract, checkContractCheap, verifyContract } from './storagecontract';

/** Peer id of records offered locally (RPC, tests): bcoin's ids start at 0. */
export const LOCAL_PEER = -1;

/** Options for ContractIndex. */
export interface ContractIndexOptions {
  network: bcoin.Network;
  chain: bcoin.Chain;
  logger?: bcoin.Logger;
  /** Keep the database in memory. */
  memory?: boolean;
  /** Data directory; the database lives in `<datadir>/contracts`. */
  datadir?: string;
}

/**
 * Result of offering a record to the index; 'stale' means dropped because
 * its commit can no longer be valid.
 */
export type AddResult = 'added' | 'known' | 'orphan' | 'stale';

/** What indexBlock collects from one block before writing it. */
interface BlockChanges {
  undo: BlockUndo;
  /** Commit entries changed by this block, by txid hex. */
  touched: Map<string, CommitEntry>;
  /** Commits this block confirms. */
  added: CommitEntry[];
  ratings: Array<{ key: Buffer; entry: RatingEntry; payload: RatingPayload }>;
  /** Escrow outpoints (`txid:vout`) to start and stop watching. */
  watchAdd: Set<string>;
  watchDel: Set<string>;
  /** The block's spent coins, loaded at its first escrow spend. */
  view?: Promise<bcoin.CoinView>;
}

/** The contract and rating index. */
export class ContractIndex extends Indexer {
  readonly params: common.ContractParams;
  /** Read queries at the index tip. */
  readonly queries: ContractQueries;
  /** Unspent escrow outpoints of indexed commits (`txid:vout`). */
  private readonly watched = new Set<string>();
  /** Indexed commits (txid hex) with a leaf we hold no record for. */
  private readonly unresolved = new Set<string>();
  private readonly orphans = new OrphanPool();

  constructor(options: ContractIndexOptions) {
    const params = common.getParams(options.network);
    super({ ...options, name: 'contracts', version: DB_VERSION, startHeight: params.startHeight });
    this.params = params;
    this.queries = new ContractQueries(this.db, params, () => this.tip.height);
  }

  protected async load(): Promise<void> {
    this.watched.clear();
    this.unresolved.clear();
    const entries = await this.db.values({
      ...layout.range.t(),
      parse: (value: Buffer) => new CommitEntry().decode(value)
    });
    for (const ce of entries) {
      ce.leaves.forEach((leaf, i) => {
        if (leaf.spendType === spendTypes.NONE)
          this.watched.add(ce.outpointKey(i));
      });
      this.trackResolved(ce);
    }
  }

  /**
   * Version 0 -> 1: commit entries gain their spends' amounts, read back
   * from the blocks of the spends (the blocks this index connected).
   */
  protected async migrate(from: number, b: bdb.Batch): Promise<void> {
    if (from !== 0)
      return super.migrate(from, b);
    const rows = await this.db.range({
      ...layout.range.t(),
      parse: (key: Buffer, value: Buffer) => ({ key, ce: new CommitEntry().decodeAt(value, 0) })
    });
    const commits = new Map(rows.map(({ ce }) => [ce.txid.toString('hex'), ce]));
    const isEscrow = (prevout: bcoin.Outpoint): boolean => {
      const ce = commits.get(prevout.hash);
      return !!ce && prevout.index >= ce.vout0 && prevout.index < ce.vout0 + ce.count;
    };
    for (const { key, ce } of rows) {
      for (let j = 0; j < ce.leaves.length; j++) {
        const leaf = ce.leaves[j];
        if (leaf.spendType === spendTypes.NONE)
          continue;
        const hash = await this.db.get(indexerLayout.h(leaf.spendHeight));
        const block = hash ? await this.chain.getBlock(hash.toString('hex')) : null;
        const tx = block ? block.txs.find(t => t.hash().equals(leaf.spendTxid)) : undefined;
        if (!block || !tx)
          continue; // a block the chain no longer has: its amounts stay zero
        const i = tx.inputs.findIndex(input =>
          input.prevout.hash === ce.txid.toString('hex') && input.prevout.index === ce.vout0 + j);
        if (i < 0)
          continue;
        const first = !tx.inputs.slice(0, i).some(input => isEscrow(input.prevout));
        const amounts = await spendAmounts(this.chain, tx, i, leaf, leaf.spendType === spendTypes.SETTLED, first,
          () => this.chain.getBlockView(block));
        leaf.returned = amounts.returned;
        leaf.paid = amounts.paid;
        leaf.fee = amounts.fee;
      }
      b.put(key, ce.encode());
    }
  }

  /** Keep `unresolved` in step with a commit's leaves. */
  private trackResolved(ce: CommitEntry): void {
    const hex = ce.txid.toString('hex');
    if (ce.leaves.every(leaf => leaf.isResolved()))
      this.unresolved.delete(hex);
    else
      this.unresolved.add(hex);
  }

  /**
   * Up to `limit` indexed commitments (internal-order txids) with a leaf
   * we hold no record for: what to ask peers for (csgetcmt) after a sync
   * or a restore from the seed.
   */
  unresolvedCommits(limit: number): Buffer[] {
    const out: Buffer[] = [];
    for (const hex of this.unresolved) {
      if (out.length >= limit)
        break;
      out.push(Buffer.from(hex, 'hex'));
    }
    return out;
  }

  /**
   * A failure (or crash) between a block's batch and resolvePending
   * leaves pending records for an indexed commit: resolve them now.
   */
  protected async afterSync(): Promise<void> {
    await this.resolveAllPending();
  }

  /*
   * Connect
   */

  protected async indexBlock(entry: bcoin.ChainEntry, block: bcoin.Block, b: bdb.Batch): Promise<BlockStep> {
    const changes: BlockChanges = {
      undo: new BlockUndo(),
      touched: new Map(),
      added: [],
      ratings: [],
      watchAdd: new Set(),
      watchDel: new Set()
    };
    changes.undo.hash = Buffer.from(entry.hash, 'hex');
    for (let i = 0; i < block.txs.length; i++) {
      const tx = block.txs[i];
      // [IGNORE] coinbase: no escrow spends, no payloads
      if (tx.isCoinbase())
        continue;
      await this.scanSpends(changes, tx, block, entry.height);
      await this.scanPayload(changes, tx, block, { height: entry.height, block: entry.hash, index: i });
    }
    for (const ce of changes.touched.values())
      b.put(layout.t(ce.txid), ce.encode());
    for (const r of changes.ratings)
      b.put(r.key, r.entry.encode());
    return { undo: changes.undo.encode(), done: () => this.afterConnect(changes) };
  }

  /**
   * Mark the watched escrows `tx` spends as settled or refunded, with what
   * each spend moved (blockscan.spendAmounts).
   */
  private async scanSpends(changes: BlockChanges, tx: bcoin.TX, block: bcoin.Block, height: number): Promise<void> {
    const { touched, watchAdd, watchDel } = changes;
    let first = true;
    for (let i = 0; i < tx.inputs.length; i++) {
      const input = tx.inputs[i];
      const key = `${input.prevout.hash}:${input.prevout.index}`;
      // An escrow committed earlier in this block is not in `watched` yet.
      if (!(this.watched.has(key) || watchAdd.has(key)) || watchDel.has(key))
        continue;
      const ce = touched.get(input.prevout.hash) ?? await this.getCommit(Buffer.from(input.prevout.hash, 'hex'));
      if (!ce)
        continue;
      const leafIndex = input.prevout.index - ce.vout0;
      const leaf = ce.leaves[leafIndex];
      const settled = classifySpend(input.witness) === 'settled';
      if (!changes.view)
        changes.view = this.chain.getBlockView(block);
      const view = changes.view;
      const amounts = await spendAmounts(this.chain, tx, i, leaf, settled, first, () => view);
      first = false;
      leaf.spendType = settled ? spendTypes.SETTLED : spendTypes.REFUNDED;
      leaf.spendHeight = height;
      leaf.spendTxid = tx.hash();
      leaf.returned = amounts.returned;
      leaf.paid = amounts.paid;
      leaf.fee = amounts.fee;
      touched.set(input.prevout.hash, ce);
      changes.undo.spends.push({ txid: ce.txid, leaf: leafIndex });
      watchDel.add(key);
    }
  }

  /** Collect the commit or rating payload of `tx`, if any. */
  private async scanPayload(changes: BlockChanges, tx: bcoin.TX, block: bcoin.Block,
    at: { height: number; block: string; index: number }): Promise<void> {
    const found = findPayload(tx);
    if (!found)
      return;
    try {
      if (found.type === common.payloadTypes.COMMIT) {
        const ce = parseCommit(tx, found.data, found.index, at);
        changes.touched.set(tx.hash('hex'), ce);
        changes.added.push(ce);
        changes.undo.commits.push(ce.txid);
        ce.leaves.forEach((_, j) => changes.watchAdd.add(ce.outpointKey(j)));
        return;
      }
      const payload = decodeRating(found.data);
      const re = new RatingEntry();
      re.raterKey = await getRaterKey(this.chain, tx, block);
      re.payload = found.data;
      re.txid = tx.hash();
      re.height = at.height;
      re.txIndex = at.index;
      changes.ratings.push({ key: layout.r(payload.id, payload.role, at.height, at.index), entry: re, payload });
      changes.undo.ratings.push({ id: payload.id, role: payload.role, txIndex: at.index });
    } catch (e) {
      if (!(e instanceof ContractError))
        throw e;
      // [IGNORE] malformed CloudCoin payloads: the tx is valid Bitcoin
      this.logger?.debug('Ignoring payload in %s: %s', tx.txid(), e.code);
    }
  }

  /** Once the block is written: watch set, records waiting for it, events. */
  private async afterConnect(changes: BlockChanges): Promise<void> {
    for (const key of changes.watchAdd)
      this.watched.add(key);
    for (const key of changes.watchDel)
      this.watched.delete(key);

    // Records waiting for these commits (ours, orphans from peers).
    for (const ce of changes.added) {
      this.trackResolved(ce);
      await this.resolvePending(ce);
    }
    await this.retryVoid(changes.added);

    await this.pruneExpired();
    this.pruneOrphans();

    for (const ce of changes.added) {
      // Ask peers for records we lack: a single commit names its id; a
      // batch names none on chain, so by commitment. Relay alone misses
      // a node that was away while the records resolved elsewhere (a
      // fresh sync, a reconnect: the ask once synced came before this block).
      if (ce.count === 1 && !ce.leaves[0].isResolved())
        this.emit('missing', ce.root);
      else if (ce.count > 1 && ce.leaves.some(leaf => !leaf.isResolved()))
        this.emit('missing commit', ce.txid);
    }
    for (const r of changes.ratings) {
      const record = await this.getRecord(r.payload.id);
      if (record)
        this.emit('rated', record);
      else
        this.emit('missing', r.payload.id);
    }
  }

  /*
   * Disconnect
   */

  protected async unindexBlock(tip: IndexTip, raw: Buffer | null, b: bdb.Batch): Promise<BlockStep> {
    if (!raw)
      return {};
    const undo = new BlockUndo().decode(raw);
    for (const r of undo.ratings)
      b.del(layout.r(r.id, r.role, tip.height, r.txIndex));
    const touched = new Map<string, CommitEntry>();
    const watchAdd = await this.undoSpends(undo, touched);
    const { removed, watchDel, unresolved } = await this.undoCommits(undo, touched, b);
    for (const [hex, ce] of touched) {
      if (!removed.has(hex))
        b.put(layout.t(ce.txid), ce.encode());
    }
    return {
      done: () => {
        for (const key of watchDel)
          this.watched.delete(key);
        for (const key of watchAdd) {
          // Not for an escrow whose commit this block also removed (a
          // commit and its spend in the same block).
          if (!watchDel.includes(key))
            this.watched.add(key);
        }
        for (const hex of removed)
          this.unresolved.delete(hex);
        for (const record of unresolved)
          this.emit('unresolve', record);
      }
    };
  }

  /** Mark the escrows the block spent unspent again; returns their outpoints. */
  private async undoSpends(undo: BlockUndo, touched: Map<string, CommitEntry>): Promise<string[]> {
    const watchAdd: string[] = [];
    for (const s of undo.spends) {
      const hex = s.txid.toString('hex');
      const ce = touched.get(hex) ?? await this.getCommit(s.txid);
      if (!ce)
        continue;
      ce.leaves[s.leaf].clearSpend();
      touched.set(hex, ce);
      watchAdd.push(ce.outpointKey(s.leaf));
    }
    return watchAdd;
  }

  /**
   * Remove the block's commits; their resolved records go back to pending
   * (if the commit confirms again, they resolve again).
   */
  private async undoCommits(undo: BlockUndo, touched: Map<string, CommitEntry>, b: bdb.Batch): Promise<{
    removed: Set<string>; watchDel: string[]; unresolved: ContractRecord[];
  }> {
    const removed = new Set<string>();
    const watchDel: string[] = [];
    const unresolved: ContractRecord[] = [];
    for (const txid of undo.commits) {
      const hex = txid.toString('hex');
      const ce = touched.get(hex) ?? await this.getCommit(txid);
      removed.add(hex);
      b.del(layout.t(txid));
      if (!ce)
        continue;
      for (let j = 0; j < ce.leaves.length; j++) {
        const leaf = ce.leaves[j];
        watchDel.push(ce.outpointKey(j));
        const record = leaf.isResolved() ? await this.getRecord(leaf.id) : null;
        if (!record)
          continue;
        b.put(layout.q(txid, j), record.encode());
        b.del(layout.c(leaf.id));
        b.del(layout.i(record.contract.renterKey, leaf.id));
        b.del(layout.i(record.contract.hostKey, leaf.id));
        unresolved.push(record);
      }
    }
    return { removed, watchDel, unresolved };
  }

  /*
   * Records
   */

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
    verifyContract(contract, ce.height, this.network);
    // [IGNORE] already committed elsewhere: the first commit wins
    if (leaf.isResolved() || await this.db.has(layout.c(id)))
      return 'known';
    leaf.id = id;
    const b = this.db.batch();
    b.put(layout.t(ce.txid), ce.encode());
    b.put(layout.c(id), record.encode());
    b.put(layout.i(contract.renterKey, id), Buffer.from([common.roles.RENTER]));
    b.put(layout.i(contract.hostKey, id), Buffer.from([common.roles.HOST]));
    b.del(layout.q(ce.txid, record.leaf));
    await b.write();
    this.trackResolved(ce);
    this.emit('resolve', record);
    return 'added';
  }

  /**
   * Resolve the pending records of a commit that just got indexed, then the
   * orphans waiting for it (verified in full only now).
   */
  private async resolvePending(ce: CommitEntry): Promise<void> {
    const pending = await this.db.values({
      ...layout.range.q(ce.txid),
      parse: (value: Buffer) => new ContractRecord().decode(value)
    });
    for (const record of pending) {
      let code: string | null = null;
      try {
        if (await this.resolve(ce, record) === 'known') {
          if (ce.leaves[record.leaf].id.equals(record.contract.hash()))
            await this.db.del(layout.q(ce.txid, record.leaf)); // resolved already (a peer's copy)
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
        this.logger?.debug('Dropping orphan record %s: %s', orphan.record.contract.id(), e.code);
        this.emit('bad orphan', orphan.peer, e.code);
      }
    }
  }

  /** Resolve every pending record whose commit is indexed. */
  private async resolveAllPending(): Promise<void> {
    const txids = await this.db.keys({
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
    const b = this.db.batch();
    b.del(layout.q(record.txid, record.leaf));
    if (await this.db.has(layout.o(id))) {
      const v = new VoidRecord({ record, code, height: this.tip.height });
      b.put(layout.v(id, record.txid, record.leaf), v.encode());
    }
    await b.write();
    this.logger?.warning('Contract %s void: %s', record.contract.id(), code);
    this.emit('void', record, code);
  }

  /**
   * A void record whose commit connects again, now at a height where the
   * contract is valid (a reorg moved it), resolves after all.
   */
  private async retryVoid(added: CommitEntry[]): Promise<void> {
    if (added.length === 0)
      return;
    const byTxid = new Map(added.map(ce => [ce.txid.toString('hex'), ce]));
    const rows = await this.db.range({
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
          await this.db.del(key);
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
  private async pruneExpired(): Promise<void> {
    for (const record of await this.queries.getPending()) {
      if (record.contract.expiryHeight + this.params.window >= this.tip.height)
        continue;
      // Its commit is indexed: resolvePending decides, not the clock.
      if (await this.db.has(layout.t(record.txid)))
        continue;
      await this.voidPending(record, 'contract-offer-expired');
    }
  }

  /** Drop orphans whose commit can no longer be valid; blame the sender. */
  private pruneOrphans(): void {
    const stale = this.orphans.prune(o => o.record.contract.expiryHeight + this.params.window < this.tip.height);
    for (const orphan of stale)
      this.emit('bad orphan', orphan.peer, 'orphan-expired');
  }

  /** Orphans held, in all or from one peer. */
  orphanCount(peer?: number): number {
    return this.orphans.count(peer);
  }

  /**
   * Offer a record from `peer` (LOCAL_PEER for local callers). If its
   * commit is indexed, the record is verified in full and stored; throws
   * ContractError if it contradicts the commit. Otherwise it gets only
   * cheap checks and waits in the orphan pool ('orphan').
   */
  async addRecord(record: ContractRecord, peer = LOCAL_PEER): Promise<AddResult> {
    return this.lock.run(async () => {
      const ce = await this.getCommit(record.txid);
      if (ce)
        return this.resolve(ce, record);
      // [REJECT] fails what can be checked without the commit, cheaply: no
      // curve points, no signatures (a few microseconds; the txid is not
      // signed, so one signed contract can be replayed under any txid)
      checkContractCheap(record.contract, this.network);
      // [IGNORE] its commit could not be valid any more (see pruneExpired)
      if (record.contract.expiryHeight + this.params.window < this.tip.height)
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
    await this.lock.run(async () => {
      const b = this.db.batch();
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

  /** Forget a commitment that was never broadcast (the mempool refused it). */
  async removePending(txid: Buffer): Promise<void> {
    await this.lock.run(async () => {
      const rows = await this.db.range({
        ...layout.range.q(txid),
        parse: (key: Buffer, value: Buffer) => ({ key, record: new ContractRecord().decode(value) })
      });
      const b = this.db.batch();
      for (const { key, record } of rows) {
        b.del(key);
        const id = record.contract.hash();
        const own = await this.db.get(layout.o(id));
        if (own && own.subarray(0, 32).equals(txid))
          b.del(layout.o(id));
      }
      await b.write();
    });
  }

  /*
   * Queries (contractqueries.ts, at the index tip)
   */

  getCommit(txid: Buffer): Promise<CommitEntry | null> {
    return this.queries.getCommit(txid);
  }

  getRecord(id: Buffer): Promise<ContractRecord | null> {
    return this.queries.getRecord(id);
  }

  /** Committed, pending or ours already: committing it again would fund a second escrow. */
  hasCommitment(id: Buffer): Promise<boolean> {
    return this.queries.hasCommitment(id);
  }

  getVoids(id: Buffer): Promise<VoidRecord[]> {
    return this.queries.getVoids(id);
  }

  getEscrows(id: Buffer): Promise<EscrowInfo[]> {
    return this.queries.getEscrows(id);
  }

  getContract(id: Buffer): Promise<ContractInfo | null> {
    return this.queries.getContract(id);
  }

  getState(id: Buffer): Promise<common.ContractStateName | null> {
    return this.queries.getState(id);
  }

  listContracts(state?: common.ContractStateName): Promise<ContractInfo[]> {
    return this.queries.listContracts(state);
  }

  getIdentityRatings(pk: Buffer): Promise<{ received: RatingInfo[]; given: RatingInfo[] }> {
    return this.queries.getIdentityRatings(pk);
  }
}
