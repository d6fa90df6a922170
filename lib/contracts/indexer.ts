/*!
 * indexer.ts - a chain indexer base: tip, sync, per-block undo, rollback.
 *
 * Shaped after bcoin's lib/indexer/indexer.js (and walletdb's resync): the
 * base owns its own bdb database, the index tip, the hash it connected at
 * each height and an opaque undo record per block; on open, and after any
 * failure, it rolls back to the fork point with the main chain and
 * replays. A child only says what a block adds (`indexBlock`, returning
 * its undo bytes) and how to take it away again (`unindexBlock`); it never
 * touches the tip. Chain hooks never throw: a failure marks the index
 * dirty and the next hook resynchronizes from the chain.
 *
 * Keys the base owns (a child's layout must not reuse these letters):
 *
 *   V                 -> db version (bdb's verify record)
 *   R                 -> tip: height u32 LE, block hash (32, internal order)
 *   h[height u32 BE]  -> block hash the index connected there
 *   u[height u32 BE]  -> the child's undo record of that block
 *
 * Events: 'connect' and 'disconnect' (tip) after each block, once the
 * child's follow-up work has run; 'error' (only if someone listens).
 */

import * as path from 'path';
import { EventEmitter } from 'events';
import bcoin = require('../bcoin');
import bdb = require('../bdb');
import { Mutex } from './mutex';

/** The index tip. */
export interface IndexTip {
  height: number;
  /** Internal-order hex, like bcoin's ChainEntry#hash. */
  hash: string;
}

/** Options for an Indexer. */
export interface IndexerOptions {
  /** Logger context and database folder (`<datadir>/<name>`). */
  name: string;
  /** Database version the child's layout is at (bdb `verify`). */
  version: number;
  network: bcoin.Network;
  chain: bcoin.Chain;
  logger?: bcoin.Logger;
  /** Keep the database in memory (also when no datadir is given). */
  memory?: boolean;
  datadir?: string;
  /** First height worth indexing: a new index starts just below it. */
  startHeight: number;
}

/**
 * What a child did to a block's batch. `undo` is stored with the block
 * (handed back to `unindexBlock`); `done` runs once the batch and the new
 * tip are written: in-memory caches, follow-up writes and events go there.
 */
export interface BlockStep {
  undo?: Buffer | null;
  done?: () => Promise<void> | void;
}

const keys = {
  V: bdb.key('V'),
  R: bdb.key('R'),
  h: bdb.key('h', ['uint32']),
  u: bdb.key('u', ['uint32'])
};

/** The base's database keys (see the header), built with bdb.key as every layout's are. */
export const indexerLayout = {
  V: keys.V.build(),
  R: keys.R.build(),
  h: (height: number): Buffer => keys.h.build(height),
  u: (height: number): Buffer => keys.u.build(height)
};

/** A chain-following index over its own database. */
export abstract class Indexer extends EventEmitter {
  readonly name: string;
  readonly network: bcoin.Network;
  readonly chain: bcoin.Chain;
  readonly logger: bcoin.Logger | null;
  readonly db: bdb.DB;
  tip: IndexTip = { height: -1, hash: '' };
  /** A hook or replay failed; the next sync retries. */
  dirty = false;

  /** Serializes block hooks, syncs and the child's own writes. */
  protected readonly lock = new Mutex();
  private readonly version: number;
  private readonly startHeight: number;

  constructor(options: IndexerOptions) {
    super();
    this.name = options.name;
    this.version = options.version;
    this.startHeight = options.startHeight;
    this.network = options.network;
    this.chain = options.chain;
    this.logger = options.logger ? options.logger.context(options.name) : null;
    const memory = options.memory !== false || !options.datadir;
    this.db = bdb.create({
      memory,
      location: memory ? undefined : path.join(options.datadir as string, options.name),
      cacheSize: 8 << 20,
      compression: true
    });
  }

  /** What a connected block adds to `b`; returns its undo. */
  protected abstract indexBlock(entry: bcoin.ChainEntry, block: bcoin.Block, b: bdb.Batch): Promise<BlockStep>;

  /** Revert what the block at `tip` added, given its undo (null if none was stored). */
  protected abstract unindexBlock(tip: IndexTip, undo: Buffer | null, b: bdb.Batch): Promise<BlockStep>;

  /** Load in-memory state from the database (open, before the first sync). */
  protected async load(): Promise<void> {}

  /** After every completed sync, inside the lock: repair half-done work. */
  protected async afterSync(): Promise<void> {}

  /**
   * Rewrite a database left by an older version `from` into `b` (the base
   * then writes the new version with it). Runs at open, before load(),
   * with the chain open. By default an older database is refused.
   */
  protected async migrate(from: number, _b: bdb.Batch): Promise<void> {
    throw new Error(`Index ${this.name}: database version ${from} cannot be upgraded to ${this.version}.`);
  }

  /*
   * Lifecycle
   */

  async open(): Promise<void> {
    await this.db.open();
    await this.upgrade();
    await this.db.verify(indexerLayout.V, this.name, this.version);
    const raw = await this.db.get(indexerLayout.R);
    if (raw) {
      this.tip = { height: raw.readUInt32LE(0), hash: raw.toString('hex', 4, 36) };
    } else {
      const start = Math.max(0, Math.min(this.chain.height, this.startHeight - 1));
      const entry = await this.chain.getEntryByHeight(start);
      if (!entry)
        throw new Error(`Index ${this.name}: no chain entry at ${start}.`);
      this.tip = { height: entry.height, hash: entry.hash };
      const b = this.db.batch();
      b.put(indexerLayout.h(entry.height), Buffer.from(entry.hash, 'hex'));
      b.put(indexerLayout.R, this.tipRaw());
      await b.write();
    }
    await this.load();
    await this.sync();
  }

  async close(): Promise<void> {
    await this.lock.run(async () => {
      await this.db.close();
    });
  }

  /**
   * Bring an older database to this version (migrate), or refuse a newer
   * one with a clear message (bdb's own says only "version mismatch").
   */
  private async upgrade(): Promise<void> {
    const raw = await this.db.get(indexerLayout.V);
    const name = this.name.length;
    if (!raw || raw.length !== name + 4 || raw.toString('ascii', 0, name) !== this.name)
      return; // new, or not ours: verify() decides
    const from = raw.readUInt32LE(name);
    if (from > this.version) {
      throw new Error(`Index ${this.name}: the database is version ${from}, this cloudcoind reads up to`
        + ` ${this.version}: run a newer cloudcoind.`);
    }
    if (from === this.version)
      return;
    const b = this.db.batch();
    await this.migrate(from, b);
    const value = Buffer.alloc(name + 4);
    value.write(this.name, 0, 'ascii');
    value.writeUInt32LE(this.version, name);
    b.put(indexerLayout.V, value);
    await b.write();
    this.logger?.info('Index %s: upgraded the database from version %d to %d.', this.name, from, this.version);
  }

  private tipRaw(): Buffer {
    const raw = Buffer.alloc(36);
    raw.writeUInt32LE(this.tip.height, 0);
    Buffer.from(this.tip.hash, 'hex').copy(raw, 4);
    return raw;
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
      this.logger.error('Index %s: %s failed: %s', this.name, what, e instanceof Error ? e.stack || e.message : String(e));
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
    await this.afterSync();
    this.dirty = false;
  }

  /** Write a block's batch together with the new tip; on failure keep the old tip. */
  private async writeWithTip(b: bdb.Batch, tip: IndexTip): Promise<void> {
    const prev = this.tip;
    this.tip = tip;
    b.put(indexerLayout.R, this.tipRaw());
    try {
      await b.write();
    } catch (e) {
      this.tip = prev;
      throw e;
    }
  }

  private async connectBlock(entry: bcoin.ChainEntry, block: bcoin.Block): Promise<void> {
    const b = this.db.batch();
    const step = await this.indexBlock(entry, block, b);
    if (step.undo)
      b.put(indexerLayout.u(entry.height), step.undo);
    b.put(indexerLayout.h(entry.height), Buffer.from(entry.hash, 'hex'));
    await this.writeWithTip(b, { height: entry.height, hash: entry.hash });
    if (step.done)
      await step.done();
    this.emit('connect', this.tip);
  }

  private async disconnectTip(): Promise<void> {
    const tip = this.tip;
    const undo = await this.db.get(indexerLayout.u(tip.height));
    const b = this.db.batch();
    const step = await this.unindexBlock(tip, undo, b);
    b.del(indexerLayout.u(tip.height));
    b.del(indexerLayout.h(tip.height));
    const prevRaw = await this.db.get(indexerLayout.h(tip.height - 1));
    let prevHash: string;
    if (prevRaw) {
      prevHash = prevRaw.toString('hex');
    } else {
      // Below where this index started: nothing was indexed there.
      const prev = await this.chain.getEntryByHeight(tip.height - 1);
      if (!prev)
        throw new Error(`Index ${this.name}: no chain entry at ${tip.height - 1}.`);
      prevHash = prev.hash;
      b.put(indexerLayout.h(tip.height - 1), Buffer.from(prevHash, 'hex'));
    }
    await this.writeWithTip(b, { height: tip.height - 1, hash: prevHash });
    if (step.done)
      await step.done();
    this.emit('disconnect', this.tip);
  }
}
