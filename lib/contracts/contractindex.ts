/*!
 * contractindex.ts - the chain index of storage contracts and ratings.
 *
 * An Indexer (indexer.ts owns the tip, sync, undo and rollback): this
 * class only says what a block adds (commits, escrow spends, ratings) and
 * takes it away again; recordresolver.ts resolves contract records
 * against the commits.
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
import { getRaterKey, parseCommit, spendAmounts } from './blockscan';
import * as common from './common';
import { ContractQueries } from './contractqueries';
import type { ContractInfo, EscrowInfo, RatingInfo } from './contractqueries';
import { ContractError } from './errors';
import { classifySpend } from './escrow';
import { BlockStep, IndexTip, Indexer, indexerLayout } from './indexer';
import { layout, DB_VERSION } from './layout';
import { decodeRating, findPayload, RatingPayload } from './payload';
import {
  BlockUndo, CommitEntry, ContractRecord, RatingEntry, VoidRecord, spendTypes
} from './records';
import { type AddResult, LOCAL_PEER, RecordResolver } from './recordresolver';
import type { StorageContract } from './storagecontract';

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
  /** Pending, orphan and void records against the commits. */
  private readonly resolver: RecordResolver;

  constructor(options: ContractIndexOptions) {
    const params = common.getParams(options.network);
    super({ ...options, name: 'contracts', version: DB_VERSION, startHeight: params.startHeight });
    this.params = params;
    this.queries = new ContractQueries(this.db, params, () => this.tip.height);
    this.resolver = new RecordResolver({
      db: this.db,
      network: this.network,
      params,
      logger: this.logger,
      queries: this.queries,
      lock: this.lock,
      height: () => this.tip.height,
      trackResolved: (ce) => this.trackResolved(ce),
      emit: (event, ...args) => this.emit(event, ...args)
    });
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
    await this.resolver.resolveAllPending();
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
      await this.resolver.resolvePending(ce);
    }
    await this.resolver.retryVoid(changes.added);

    await this.resolver.pruneExpired();
    this.resolver.pruneOrphans();

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
   * Records (recordresolver.ts, inside the lock)
   */

  /** Orphans held, in all or from one peer. */
  orphanCount(peer?: number): number {
    return this.resolver.orphans.count(peer);
  }

  /**
   * Offer a record from `peer` (LOCAL_PEER for local callers). If its
   * commit is indexed, the record is verified in full and stored; throws
   * ContractError if it contradicts the commit. Otherwise it gets only
   * cheap checks and waits in the orphan pool ('orphan').
   */
  addRecord(record: ContractRecord, peer = LOCAL_PEER): Promise<AddResult> {
    return this.resolver.addRecord(record, peer);
  }

  /**
   * Remember the contracts of a commitment we are about to broadcast, so
   * they resolve as soon as it confirms (persisted: survives a restart),
   * and mark them ours.
   */
  addPending(txid: Buffer, contracts: StorageContract[]): Promise<void> {
    return this.resolver.addPending(txid, contracts);
  }

  /** Forget a commitment that was never broadcast (the mempool refused it). */
  removePending(txid: Buffer): Promise<void> {
    return this.resolver.removePending(txid);
  }

  /** Txids (internal order) of our own pending commitments. */
  ownPending(): Promise<Buffer[]> {
    return this.resolver.ownPending();
  }

  /**
   * Our pending commitment `txid` was never broadcast: void its records
   * (no longer ours; see RecordResolver#voidUnbroadcast).
   */
  voidUnbroadcast(txid: Buffer, code: string): Promise<ContractRecord[]> {
    return this.resolver.voidUnbroadcast(txid, code);
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
