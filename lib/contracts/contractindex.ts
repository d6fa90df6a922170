/*!
 * contractindex.ts - the chain index of storage contracts and ratings.
 *
 * Its own bdb database (`<datadir>/contracts`, or memory). It follows the
 * main chain block by block, keeps its own tip and a per-block undo record,
 * and on open rolls back to the fork point and replays, as bcoin's walletdb
 * does. Chain hooks never throw: a failure marks the index dirty and the
 * next hook resynchronizes from the chain.
 *
 * Commits are indexed as soon as they confirm; their contract records (the
 * signed contracts) arrive separately, from our own commitments or from
 * peers, and are stored only once a commit in the index proves them.
 * Ratings are kept as seen; which one counts is decided at query time
 * against the record: the latest rating for (id, role) whose input 0 was
 * signed by that role's identity key.
 *
 * Records from peers whose commit is not indexed yet (orphans) get only
 * cheap checks and wait in memory, a bounded number per sending peer;
 * their signatures are verified when the commit resolves them.
 *
 * Events: 'resolve' (record) when a record becomes valid and relayable;
 * 'void' (record, code) when a pending record can no longer become valid
 * (ours are kept in the void table, so their escrow can be refunded);
 * 'bad orphan' (peer id, code) when an orphan from that peer fails
 * against its commit or its commit never comes in time;
 * 'rated' (record) when a confirmed rating cites a record;
 * 'missing' (id) when the chain names an id we hold no record for;
 * 'unresolve' (record) when a reorg removes its commit; 'connect' and
 * 'disconnect' (tip) after each block.
 */

import * as path from 'path';
import { EventEmitter } from 'events';
import bcoin = require('../bcoin');
import bdb = require('../bdb');
import { batchBranch, batchRoot, verifyBranch } from './batchtree';
import { ZERO_KEY } from '../base/consts';
import * as common from './common';
import { ContractError, enforce } from './errors';
import { classifySpend } from './escrow';
import { layout, prefixRange, DB_VERSION } from './layout';
import { Mutex } from './mutex';
import { decodeCommit, decodeRating, findPayload, RatingPayload } from './payload';
import {
  BlockUndo, CommitEntry, ContractRecord, LeafEntry, RatingEntry, VoidRecord, spendTypes
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

/** The index tip. */
export interface IndexTip {
  height: number;
  /** Internal-order hex, like bcoin's ChainEntry#hash. */
  hash: string;
}

/** An effective rating, as returned by queries. */
export interface RatingInfo {
  id: string;
  role: string;
  score: number;
  passed: number;
  failed: number;
  flags: number;
  rater: string;
  txid: string;
  height: number;
}

/** A contract as returned by queries. */
export interface ContractInfo {
  id: string;
  state: common.ContractStateName;
  contract: StorageContract;
  /** Null only for a void record whose commit is not on chain. */
  commit: {
    txid: string;
    height: number;
    block: string;
    txIndex: number;
    leaf: number;
    vout: number;
    count: number;
  } | null;
  spend: { type: 'settled' | 'refunded'; txid: string; height: number } | null;
  ratings: { renter: RatingInfo | null; host: RatingInfo | null };
  /** Why the record is void (state `void`), else null. */
  void: string | null;
}

/** ContractInfo.commit for leaf `leaf` of a commitment. */
function commitInfo(ce: CommitEntry, leaf: number): NonNullable<ContractInfo['commit']> {
  return {
    txid: revHex(ce.txid),
    height: ce.height,
    block: revHex(ce.block),
    txIndex: ce.txIndex,
    leaf,
    vout: ce.vout0 + leaf,
    count: ce.count
  };
}

/** ContractInfo.spend of an escrow leaf, null while unspent. */
function spendInfo(leaf: LeafEntry): ContractInfo['spend'] {
  if (leaf.spendType === spendTypes.NONE)
    return null;
  return {
    type: leaf.spendType === spendTypes.SETTLED ? 'settled' : 'refunded',
    txid: revHex(leaf.spendTxid),
    height: leaf.spendHeight
  };
}

/** An escrow output on chain that funds a contract. */
export interface EscrowInfo {
  record: ContractRecord;
  commit: CommitEntry;
  leaf: LeafEntry;
}

/**
 * Result of offering a record to the index; 'stale' means dropped because
 * its commit can no longer be valid.
 */
export type AddResult = 'added' | 'known' | 'orphan' | 'stale';

/** A record kept until its commit is indexed, and who sent it. */
interface Orphan {
  record: ContractRecord;
  peer: number;
}

/** Display (reversed) hex of an internal-order hash. */
export function revHex(hash: Buffer): string {
  return Buffer.from(hash).reverse().toString('hex');
}

function hashToBuf(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}

function hash160(pk: Buffer): Buffer {
  return bcoin.KeyRing.fromPublic(pk).getKeyHash();
}

/**
 * State of a resolved contract at index height `tip`.
 */
export function contractState(entry: CommitEntry, leaf: LeafEntry, contract: StorageContract,
  tip: number, params: common.ContractParams): common.ContractStateName {
  if (leaf.spendType === spendTypes.SETTLED)
    return common.states.SETTLED;
  if (leaf.spendType === spendTypes.REFUNDED)
    return common.states.REFUNDED;
  if (tip - entry.height + 1 < params.activationDepth)
    return common.states.COMMITTED;
  if (tip >= contract.endHeight)
    return common.states.EXPIRED;
  return common.states.ACTIVE;
}

/** The contract and rating index. */
export class ContractIndex extends EventEmitter {
  readonly network: bcoin.Network;
  readonly chain: bcoin.Chain;
  readonly logger: bcoin.Logger | null;
  readonly params: common.ContractParams;
  readonly db: bdb.DB;
  tip: IndexTip = { height: -1, hash: '' };
  /** A hook or replay failed; the next sync retries. */
  dirty = false;

  private readonly lock = new Mutex();
  /** Unspent escrow outpoints of indexed commits (`txid:vout`). */
  private readonly watched = new Set<string>();
  /**
   * Records from peers whose commit we have not indexed yet, by
   * `txid:leaf:id`, oldest first (Map keeps insertion order).
   */
  private readonly orphans = new Map<string, Orphan>();
  /** Orphans held per sending peer id. */
  private readonly orphanPeers = new Map<number, number>();

  constructor(options: ContractIndexOptions) {
    super();
    this.network = options.network;
    this.chain = options.chain;
    this.logger = options.logger ? options.logger.context('contracts') : null;
    this.params = common.getParams(this.network);
    const memory = options.memory !== false || !options.datadir;
    this.db = bdb.create({
      memory,
      location: memory ? undefined : path.join(options.datadir as string, 'contracts'),
      cacheSize: 8 << 20,
      compression: true
    });
  }

  /*
   * Lifecycle
   */

  async open(): Promise<void> {
    await this.db.open();
    await this.db.verify(layout.V, 'contracts', DB_VERSION);
    const raw = await this.db.get(layout.R);
    if (raw) {
      this.tip = { height: raw.readUInt32LE(0), hash: raw.toString('hex', 4, 36) };
    } else {
      const start = Math.max(0, Math.min(this.chain.height, this.params.startHeight - 1));
      const entry = await this.chain.getEntryByHeight(start);
      if (!entry)
        throw new Error(`Contract index: no chain entry at ${start}.`);
      this.tip = { height: entry.height, hash: entry.hash };
      const b = this.db.batch();
      b.put(layout.h(entry.height), hashToBuf(entry.hash));
      b.put(layout.R, this.tipRaw());
      await b.write();
    }
    await this.loadWatched();
    await this.sync();
  }

  async close(): Promise<void> {
    await this.lock.run(async () => {
      await this.db.close();
    });
  }

  private tipRaw(): Buffer {
    const raw = Buffer.alloc(36);
    raw.writeUInt32LE(this.tip.height, 0);
    hashToBuf(this.tip.hash).copy(raw, 4);
    return raw;
  }

  private async loadWatched(): Promise<void> {
    this.watched.clear();
    const entries = await this.db.values({
      ...prefixRange(layout.prefix.t),
      parse: (value: Buffer) => new CommitEntry().decode(value)
    });
    for (const ce of entries) {
      ce.leaves.forEach((leaf, i) => {
        if (leaf.spendType === spendTypes.NONE)
          this.watched.add(ce.outpointKey(i));
      });
    }
  }

  /*
   * Chain following
   */

  /** Chain 'connect' hook: never throws. */
  async handleConnect(entry: bcoin.ChainEntry, block: bcoin.Block): Promise<void> {
    await this.lock.run(async () => {
      try {
        if (!this.dirty && entry.prevBlock === this.tip.hash && entry.height === this.tip.height + 1)
          await this.connectBlock(entry, block);
        else
          await this.syncUnlocked();
      } catch (e) {
        this.fail('connect', e);
      }
    });
  }

  /** Chain 'disconnect' hook: never throws. */
  async handleDisconnect(entry: bcoin.ChainEntry): Promise<void> {
    await this.lock.run(async () => {
      try {
        if (!this.dirty && entry.hash === this.tip.hash)
          await this.disconnectTip();
        else
          await this.syncUnlocked();
      } catch (e) {
        this.fail('disconnect', e);
      }
    });
  }

  /** Roll back to the fork point with the main chain and replay; never throws. */
  async sync(): Promise<void> {
    await this.lock.run(async () => {
      try {
        await this.syncUnlocked();
      } catch (e) {
        this.fail('sync', e);
      }
    });
  }

  private fail(what: string, e: unknown): void {
    this.dirty = true;
    if (this.logger)
      this.logger.error('Contract index %s failed: %s', what, e instanceof Error ? e.stack || e.message : String(e));
    // An unhandled 'error' event would throw: only emit to listeners.
    if (this.listenerCount('error') > 0)
      this.emit('error', e instanceof Error ? e : new Error(String(e)));
  }

  private async syncUnlocked(): Promise<void> {
    // Roll back while our tip is not on the main chain.
    while (this.tip.height > 0) {
      const main = await this.chain.getEntryByHeight(this.tip.height);
      if (main && main.hash === this.tip.hash)
        break;
      await this.disconnectTip();
    }
    // Replay what we missed.
    while (this.tip.height < this.chain.height) {
      const entry = await this.chain.getEntryByHeight(this.tip.height + 1);
      if (!entry || entry.prevBlock !== this.tip.hash)
        break; // the chain is reorganizing; its next event resyncs
      const block = await this.chain.getBlock(entry.hash);
      if (!block)
        break;
      await this.connectBlock(entry, block);
    }
    // A failure (or crash) between a block's batch and resolvePending
    // leaves pending records for an indexed commit: resolve them now.
    await this.resolveAllPending();
    this.dirty = false;
  }

  /** Write a block's batch together with the new tip; on failure keep the old tip. */
  private async writeWithTip(b: bdb.Batch, tip: IndexTip): Promise<void> {
    const prev = this.tip;
    this.tip = tip;
    b.put(layout.R, this.tipRaw());
    try {
      await b.write();
    } catch (e) {
      this.tip = prev;
      throw e;
    }
  }

  private async connectBlock(entry: bcoin.ChainEntry, block: bcoin.Block): Promise<void> {
    const undo = new BlockUndo();
    undo.hash = hashToBuf(entry.hash);
    const touched = new Map<string, CommitEntry>();
    const added: CommitEntry[] = [];
    const ratings: Array<{ key: Buffer; entry: RatingEntry; payload: RatingPayload }> = [];
    const watchAdd = new Set<string>();
    const watchDel = new Set<string>();

    for (let i = 0; i < block.txs.length; i++) {
      const tx = block.txs[i];
      // [IGNORE] coinbase: no escrow spends, no payloads
      if (tx.isCoinbase())
        continue;

      for (const input of tx.inputs) {
        const key = `${input.prevout.hash}:${input.prevout.index}`;
        // An escrow committed earlier in this block is not in `watched` yet.
        if (!(this.watched.has(key) || watchAdd.has(key)) || watchDel.has(key))
          continue;
        const ce = touched.get(input.prevout.hash) ?? await this.getCommit(hashToBuf(input.prevout.hash));
        if (!ce)
          continue;
        const leafIndex = input.prevout.index - ce.vout0;
        const leaf = ce.leaves[leafIndex];
        leaf.spendType = classifySpend(input.witness) === 'settled' ? spendTypes.SETTLED : spendTypes.REFUNDED;
        leaf.spendHeight = entry.height;
        leaf.spendTxid = tx.hash();
        touched.set(input.prevout.hash, ce);
        undo.spends.push({ txid: ce.txid, leaf: leafIndex });
        watchDel.add(key);
      }

      const found = findPayload(tx);
      if (!found)
        continue;
      try {
        if (found.type === common.payloadTypes.COMMIT) {
          const ce = this.parseCommit(tx, found.data, found.index, entry, i);
          touched.set(tx.hash('hex'), ce);
          added.push(ce);
          undo.commits.push(ce.txid);
          ce.leaves.forEach((_, j) => watchAdd.add(ce.outpointKey(j)));
        } else {
          const payload = decodeRating(found.data);
          const re = new RatingEntry();
          re.raterKey = await this.getRaterKey(tx, block);
          re.payload = found.data;
          re.txid = tx.hash();
          re.height = entry.height;
          re.txIndex = i;
          ratings.push({ key: layout.r(payload.id, payload.role, entry.height, i), entry: re, payload });
          undo.ratings.push({ id: payload.id, role: payload.role, txIndex: i });
        }
      } catch (e) {
        if (!(e instanceof ContractError))
          throw e;
        // [IGNORE] malformed CloudCoin payloads: the tx is valid Bitcoin
        this.logger?.debug('Ignoring payload in %s: %s', tx.txid(), e.code);
      }
    }

    const b = this.db.batch();
    for (const ce of touched.values())
      b.put(layout.t(ce.txid), ce.encode());
    for (const r of ratings)
      b.put(r.key, r.entry.encode());
    b.put(layout.u(entry.height), undo.encode());
    b.put(layout.h(entry.height), hashToBuf(entry.hash));
    await this.writeWithTip(b, { height: entry.height, hash: entry.hash });
    for (const key of watchAdd)
      this.watched.add(key);
    for (const key of watchDel)
      this.watched.delete(key);

    // Records waiting for these commits (ours, orphans from peers).
    for (const ce of added)
      await this.resolvePending(ce);
    await this.retryVoid(added);

    await this.pruneExpired();
    this.pruneOrphans();

    for (const ce of added) {
      // A single commit names its id: ask peers if we lack the record.
      if (ce.count === 1 && !ce.leaves[0].isResolved())
        this.emit('missing', ce.root);
    }
    for (const r of ratings) {
      const record = await this.getRecord(r.payload.id);
      if (record)
        this.emit('rated', record);
      else
        this.emit('missing', r.payload.id);
    }
    this.emit('connect', this.tip);
  }

  private parseCommit(tx: bcoin.TX, data: Buffer, payloadIndex: number,
    entry: bcoin.ChainEntry, txIndex: number): CommitEntry {
    const p = decodeCommit(data);
    // [IGNORE] escrows past the last output, or overlapping the OP_RETURN
    enforce(p.vout0 + p.count <= tx.outputs.length, 'bad-commit-vout');
    enforce(payloadIndex < p.vout0 || payloadIndex >= p.vout0 + p.count, 'bad-commit-vout');
    const ce = new CommitEntry();
    ce.txid = tx.hash();
    ce.height = entry.height;
    ce.block = hashToBuf(entry.hash);
    ce.txIndex = txIndex;
    ce.count = p.count;
    ce.vout0 = p.vout0;
    ce.root = p.root;
    for (let j = 0; j < p.count; j++) {
      const out = tx.outputs[p.vout0 + j];
      // [IGNORE] a committed escrow that is not a P2WSH output
      enforce(out.script.isWitnessScripthash() && out.value > 0, 'bad-commit-escrow');
      const leaf = new LeafEntry();
      leaf.value = out.value;
      leaf.scriptHash = out.script.getWitnessScripthash() as Buffer;
      ce.leaves.push(leaf);
    }
    return ce;
  }

  /** Witness pubkey of input 0 if it spends a P2WPKH output, else zeros. */
  private async getRaterKey(tx: bcoin.TX, block: bcoin.Block): Promise<Buffer> {
    const input = tx.inputs[0];
    const items = input.witness.items;
    if (input.script.raw.length !== 0 || items.length !== 2 || items[1].length !== 33)
      return ZERO_KEY;
    // The prevout decides P2WPKH vs a P2WSH with a 33-byte script: from
    // the tx index when it is on, else from the block's undo coins.
    let out: bcoin.Output | null = null;
    const prev = await this.chain.db.getTX(input.prevout.hash);
    if (prev)
      out = prev.outputs[input.prevout.index] ?? null;
    else
      out = (await this.chain.getBlockView(block)).getOutput(input.prevout);
    if (!out || !out.script.isWitnessPubkeyhash())
      return ZERO_KEY;
    const program = out.script.getWitnessPubkeyhash();
    if (!program || !program.equals(hash160(items[1])))
      return ZERO_KEY;
    return items[1];
  }

  private async disconnectTip(): Promise<void> {
    const height = this.tip.height;
    const raw = await this.db.get(layout.u(height));
    const b = this.db.batch();
    const watchAdd: string[] = [];
    const watchDel: string[] = [];
    const unresolved: ContractRecord[] = [];
    if (raw) {
      const undo = new BlockUndo().decode(raw);
      for (const r of undo.ratings)
        b.del(layout.r(r.id, r.role, height, r.txIndex));
      const touched = new Map<string, CommitEntry>();
      for (const s of undo.spends) {
        const hex = s.txid.toString('hex');
        const ce = touched.get(hex) ?? await this.getCommit(s.txid);
        if (!ce)
          continue;
        const leaf = ce.leaves[s.leaf];
        leaf.spendType = spendTypes.NONE;
        leaf.spendHeight = 0;
        leaf.spendTxid = Buffer.alloc(32);
        touched.set(hex, ce);
        watchAdd.push(ce.outpointKey(s.leaf));
      }
      const removed = new Set<string>();
      for (const txid of undo.commits) {
        const hex = txid.toString('hex');
        const ce = touched.get(hex) ?? await this.getCommit(txid);
        removed.add(hex);
        if (!ce)
          continue;
        for (let j = 0; j < ce.leaves.length; j++) {
          const leaf = ce.leaves[j];
          watchDel.push(ce.outpointKey(j));
          if (!leaf.isResolved())
            continue;
          // Keep the record: if the commit confirms again, it resolves again.
          const record = await this.getRecord(leaf.id);
          if (record) {
            b.put(layout.q(txid, j), record.encode());
            b.del(layout.c(leaf.id));
            b.del(layout.i(record.contract.renterKey, leaf.id));
            b.del(layout.i(record.contract.hostKey, leaf.id));
            unresolved.push(record);
          }
        }
        b.del(layout.t(txid));
      }
      for (const [hex, ce] of touched) {
        if (!removed.has(hex))
          b.put(layout.t(ce.txid), ce.encode());
      }
      b.del(layout.u(height));
    }
    b.del(layout.h(height));
    const prevRaw = await this.db.get(layout.h(height - 1));
    let prevHash: string;
    if (prevRaw) {
      prevHash = prevRaw.toString('hex');
    } else {
      // Below where this index started: nothing was indexed there.
      const prev = await this.chain.getEntryByHeight(height - 1);
      if (!prev)
        throw new Error(`Contract index: no chain entry at ${height - 1}.`);
      prevHash = prev.hash;
      b.put(layout.h(height - 1), hashToBuf(prevHash));
    }
    await this.writeWithTip(b, { height: height - 1, hash: prevHash });
    for (const key of watchDel)
      this.watched.delete(key);
    for (const key of watchAdd) {
      // Not for an escrow whose commit this block also removed (a commit
      // and its spend in the same block).
      if (!watchDel.includes(key))
        this.watched.add(key);
    }
    for (const record of unresolved)
      this.emit('unresolve', record);
    this.emit('disconnect', this.tip);
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
    this.emit('resolve', record);
    return 'added';
  }

  /**
   * Resolve the pending records of a commit that just got indexed, then the
   * orphans waiting for it (verified in full only now).
   */
  private async resolvePending(ce: CommitEntry): Promise<void> {
    const pending = await this.db.values({
      ...prefixRange(layout.prefix.q(ce.txid)),
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
    for (const [key, orphan] of this.orphans) {
      if (!orphan.record.txid.equals(ce.txid))
        continue;
      this.dropOrphan(key, orphan);
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
      ...prefixRange(layout.prefix.qAll),
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
      ...prefixRange(layout.prefix.vAll),
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
    const rows = await this.db.values({
      ...prefixRange(layout.prefix.qAll),
      parse: (value: Buffer) => new ContractRecord().decode(value)
    });
    for (const record of rows) {
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
    for (const [key, orphan] of this.orphans) {
      if (orphan.record.contract.expiryHeight + this.params.window >= this.tip.height)
        continue;
      this.dropOrphan(key, orphan);
      this.emit('bad orphan', orphan.peer, 'orphan-expired');
    }
  }

  private dropOrphan(key: string, orphan: Orphan): void {
    this.orphans.delete(key);
    const n = (this.orphanPeers.get(orphan.peer) ?? 1) - 1;
    if (n > 0)
      this.orphanPeers.set(orphan.peer, n);
    else
      this.orphanPeers.delete(orphan.peer);
  }

  /** Drop the oldest orphan sent by `peer`. */
  private evictOrphan(peer: number): void {
    for (const [key, orphan] of this.orphans) {
      if (orphan.peer === peer) {
        this.dropOrphan(key, orphan);
        return;
      }
    }
  }

  /** The peer holding the most orphans. */
  private busiestPeer(): number {
    let peer = LOCAL_PEER;
    let most = -1;
    for (const [id, n] of this.orphanPeers) {
      if (n > most) {
        peer = id;
        most = n;
      }
    }
    return peer;
  }

  /** Orphans held, in all or from one peer. */
  orphanCount(peer?: number): number {
    return peer === undefined ? this.orphans.size : this.orphanPeers.get(peer) ?? 0;
  }

  /**
   * Offer a record from `peer` (LOCAL_PEER for local callers). If its
   * commit is indexed, the record is verified in full and stored; throws
   * ContractError if it contradicts the commit. Otherwise it gets only
   * cheap checks and waits in memory ('orphan'): at most
   * MAX_ORPHANS_PER_PEER per peer (the peer's oldest goes first) and
   * MAX_ORPHAN_RECORDS in all (the busiest peer's oldest goes first).
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
      const key = `${record.txid.toString('hex')}:${record.leaf}:${record.contract.id()}`;
      if (this.orphans.has(key))
        return 'orphan';
      if (this.orphanCount(peer) >= common.MAX_ORPHANS_PER_PEER)
        this.evictOrphan(peer);
      else if (this.orphans.size >= common.MAX_ORPHAN_RECORDS)
        this.evictOrphan(this.busiestPeer());
      this.orphans.set(key, { record, peer });
      this.orphanPeers.set(peer, this.orphanCount(peer) + 1);
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
        ...prefixRange(layout.prefix.q(txid)),
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

  /**
   * Whether a contract is committed, pending or ours already: committing
   * it again would fund a second escrow.
   */
  async hasCommitment(id: Buffer): Promise<boolean> {
    if (await this.db.has(layout.c(id)) || await this.db.has(layout.o(id)))
      return true;
    const pending = await this.db.values({
      ...prefixRange(layout.prefix.qAll),
      parse: (value: Buffer) => new ContractRecord().decode(value)
    });
    return pending.some(r => r.contract.hash().equals(id));
  }

  /*
   * Queries
   */

  async getCommit(txid: Buffer): Promise<CommitEntry | null> {
    const raw = await this.db.get(layout.t(txid));
    return raw ? new CommitEntry().decode(raw) : null;
  }

  async getRecord(id: Buffer): Promise<ContractRecord | null> {
    const raw = await this.db.get(layout.c(id));
    return raw ? new ContractRecord().decode(raw) : null;
  }

  /** Ids of every resolved contract. */
  async getIds(): Promise<Buffer[]> {
    return this.db.keys({
      ...prefixRange(layout.prefix.c),
      parse: (key: Buffer) => key.subarray(1)
    });
  }

  /** The effective rating for (id, role), or null. */
  async getRating(record: ContractRecord, ce: CommitEntry, role: number): Promise<RatingInfo | null> {
    const contract = record.contract;
    const id = contract.hash();
    const expected = role === common.roles.RENTER ? contract.renterKey : contract.hostKey;
    const entries = await this.db.values({
      ...prefixRange(layout.prefix.r(id, role)),
      parse: (value: Buffer) => new RatingEntry().decode(value)
    });
    // Latest first: a later valid rating replaces an earlier one.
    for (const re of entries.reverse()) {
      // [IGNORE] input 0 not signed by the role's identity key
      if (!re.raterKey.equals(expected))
        continue;
      // [IGNORE] rating before (or in place of) its commit
      if (re.height < ce.height || (re.height === ce.height && re.txIndex <= ce.txIndex))
        continue;
      let p: RatingPayload;
      try {
        p = decodeRating(re.payload);
      } catch {
        continue;
      }
      // [IGNORE] commit locator does not point at this contract's commit
      if (p.commitHeight !== ce.height || p.commitIndex !== ce.txIndex || p.leafIndex !== record.leaf)
        continue;
      return {
        id: id.toString('hex'),
        role: common.rolesByVal[role],
        score: p.score,
        passed: p.passed,
        failed: p.failed,
        flags: p.flags,
        rater: re.raterKey.toString('hex'),
        txid: revHex(re.txid),
        height: re.height
      };
    }
    return null;
  }

  /** Our void records of a contract (usually none or one). */
  async getVoids(id: Buffer): Promise<VoidRecord[]> {
    return this.db.values({
      ...prefixRange(layout.prefix.v(id)),
      parse: (value: Buffer) => new VoidRecord().decode(value)
    });
  }

  /** Ids of our void records that are not resolved elsewhere. */
  async getVoidIds(): Promise<Buffer[]> {
    const keys = await this.db.keys({
      ...prefixRange(layout.prefix.vAll),
      parse: (key: Buffer) => key.subarray(1, 33)
    });
    const out: Buffer[] = [];
    const seen = new Set<string>();
    for (const id of keys) {
      const hex = id.toString('hex');
      if (seen.has(hex) || await this.db.has(layout.c(id)))
        continue;
      seen.add(hex);
      out.push(id);
    }
    return out;
  }

  /**
   * Escrow outputs on chain that fund a contract: the resolved commit's,
   * then those of our void records whose commit is indexed.
   */
  async getEscrows(id: Buffer): Promise<EscrowInfo[]> {
    const records: ContractRecord[] = [];
    const record = await this.getRecord(id);
    if (record)
      records.push(record);
    for (const v of await this.getVoids(id))
      records.push(v.record);
    const out: EscrowInfo[] = [];
    const seen = new Set<string>();
    for (const r of records) {
      const outpoint = `${r.txid.toString('hex')}:${r.leaf}`;
      if (seen.has(outpoint))
        continue;
      seen.add(outpoint);
      const ce = await this.getCommit(r.txid);
      const leaf = ce ? ce.leaves[r.leaf] : undefined;
      // Only an output that is this contract's escrow script and value.
      if (!ce || !leaf || leaf.value !== r.contract.escrowValue
        || !leaf.scriptHash.equals(r.contract.escrowScript().sha256()))
        continue;
      out.push({ record: r, commit: ce, leaf });
    }
    return out;
  }

  /** Query form of a void record: state `void`, commit and spend if on chain. */
  private async getVoidInfo(id: Buffer, v: VoidRecord): Promise<ContractInfo> {
    const record = v.record;
    const ce = await this.getCommit(record.txid);
    const leaf = ce ? ce.leaves[record.leaf] : undefined;
    return {
      id: id.toString('hex'),
      state: common.states.VOID,
      contract: record.contract,
      commit: ce && leaf ? commitInfo(ce, record.leaf) : null,
      spend: leaf ? spendInfo(leaf) : null,
      ratings: { renter: null, host: null },
      void: v.code
    };
  }

  /**
   * Everything known about a contract: its resolved record, else our void
   * record; null if neither is stored.
   */
  async getContract(id: Buffer): Promise<ContractInfo | null> {
    const record = await this.getRecord(id);
    if (!record) {
      const voids = await this.getVoids(id);
      return voids.length > 0 ? this.getVoidInfo(id, voids[0]) : null;
    }
    const ce = await this.getCommit(record.txid);
    if (!ce)
      return null;
    const leaf = ce.leaves[record.leaf];
    const state = contractState(ce, leaf, record.contract, this.tip.height, this.params);
    return {
      id: id.toString('hex'),
      state,
      contract: record.contract,
      commit: commitInfo(ce, record.leaf),
      spend: spendInfo(leaf),
      ratings: {
        renter: await this.getRating(record, ce, common.roles.RENTER),
        host: await this.getRating(record, ce, common.roles.HOST)
      },
      void: null
    };
  }

  /** State of a contract, or null if unknown. */
  async getState(id: Buffer): Promise<common.ContractStateName | null> {
    const info = await this.getContract(id);
    return info ? info.state : null;
  }

  /** Every resolved contract, then our void ones, optionally only those in `state`. */
  async listContracts(state?: common.ContractStateName): Promise<ContractInfo[]> {
    const out: ContractInfo[] = [];
    for (const id of [...await this.getIds(), ...await this.getVoidIds()]) {
      const info = await this.getContract(id);
      if (info && (!state || info.state === state))
        out.push(info);
    }
    return out;
  }

  /** Contracts an identity is party to, with its role. */
  async getIdentityContracts(pk: Buffer): Promise<Array<{ id: Buffer; role: number }>> {
    const rows = await this.db.range({
      ...prefixRange(layout.prefix.i(pk)),
      parse: (key: Buffer, value: Buffer) => ({ id: key.subarray(34), role: value[0] })
    });
    return rows;
  }

  /** Effective ratings an identity received and gave. */
  async getIdentityRatings(pk: Buffer): Promise<{ received: RatingInfo[]; given: RatingInfo[] }> {
    const received: RatingInfo[] = [];
    const given: RatingInfo[] = [];
    for (const { id, role } of await this.getIdentityContracts(pk)) {
      const record = await this.getRecord(id);
      const ce = record ? await this.getCommit(record.txid) : null;
      if (!record || !ce)
        continue;
      const other = role === common.roles.RENTER ? common.roles.HOST : common.roles.RENTER;
      const got = await this.getRating(record, ce, other);
      if (got)
        received.push(got);
      const mine = await this.getRating(record, ce, role);
      if (mine)
        given.push(mine);
    }
    return { received, given };
  }
}

export { batchRoot };
