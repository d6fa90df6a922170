/*!
 * resubmitter.ts - keeps transactions alive across reorgs, with nobody
 * running a command.
 *
 * Two gaps in bcoin 1.0.2 lose transactions for good:
 *
 * - Its mempool re-adds a disconnected block's txs only when the mempool
 *   is not empty (Mempool#_removeBlock returns early on `map.size === 0`):
 *   on a quiet node a reorg drops every tx of the orphaned blocks. We
 *   listen on the chain's own 'disconnect' event, which bcoin awaits right
 *   after its mempool handler, so we see the chain exactly as bcoin did,
 *   and re-add what it skipped (everyone's txs, as bitcoind does) the way
 *   bcoin does: Mempool#insertTX, because the mempool's lock is the
 *   chain's, which the reorg holds (Mempool#addTX there deadlocks).
 * - Its wallet resends pending txs only when the wallet (re)connects to
 *   the node, or on `resendwallettransactions`; and its announcements go
 *   through each peer's inventory filter, so a peer that saw a tx once is
 *   never told of it again, even after a reorg dropped it there. After
 *   every block we put our own unconfirmed txs (every pending tx of every
 *   wallet: commitments, refunds, ratings, channel closes) back into the
 *   mempool if they fell out and are still valid, and announce them to
 *   every peer by a direct `inv` (at most once per `interval` blocks, and
 *   again after any reorg). A tx stops being sent once it confirms or one
 *   of its inputs is spent by another tx (it conflicts); bitcoind's wallet
 *   does the same with its own mempool.
 * - A restarted node's wallet resends its pending txs into the mempool
 *   before any peer is connected, and bcoin announces a tx only as it
 *   enters the mempool; a peer that connects later hears of them at the
 *   next block (a host killed after its close was answered confirmed it a
 *   block late). Each peer that connects gets an `inv` of our unconfirmed
 *   txs in the mempool at once.
 *
 * And one in its wallet keeps money wrong: a pending tx of ours whose input
 * a confirmed tx spent can never confirm, yet bcoin's wallet keeps it
 * pending when it never linked the two (it records who spends an input
 * that is not its coin, such as an escrow, only for unconfirmed txs: a
 * refund made again after a restart, or one built on an escrow a block
 * had just spent). Its outputs count in the balance and can be picked to
 * fund a tx. We abandon it (Wallet#abandon: it and the txs spending it).
 * Nothing is lost: what spent the input stays; a reorg that drops that tx
 * brings it back to the mempool, and the refunder and the closer work from
 * the chain again at the next block.
 *
 * Every entry point catches its errors: nothing here throws into the chain.
 *
 * Events: 'resubmit' (tx) when a tx goes back into the mempool;
 * 'announce' (txs) after a direct inv to the peers (or to one peer that
 * just connected).
 */

import { EventEmitter } from 'events';
import bcoin = require('../bcoin');

/** Most inventory items per `inv` (bitcoind MAX_INV_SZ is 50 000). */
const MAX_INV_ITEMS = 1000;

/** Options for a Resubmitter. */
export interface ResubmitterOptions {
  chain: bcoin.Chain;
  mempool: bcoin.Mempool;
  pool: bcoin.Pool;
  /** The wallet database; read lazily (the wallet opens after init). */
  wdb: () => bcoin.WalletDB;
  logger?: bcoin.Logger | null;
  /** Re-announce an unconfirmed tx of ours at most once per this many blocks. */
  interval: number;
}

/** What one pass over our unconfirmed txs did. */
export interface ResubmitResult {
  /** Put back into the mempool. */
  resubmitted: string[];
  /** Announced to peers (txids). */
  announced: string[];
  /** Left out: conflicted, not final yet, or refused (txid -> reason). */
  skipped: Map<string, string>;
  /** Removed from the wallet: an input spent by a confirmed tx (txids). */
  abandoned: string[];
}

/** Order txs so that parents come before the children that spend them. */
export function sortDeps(txs: bcoin.TX[]): bcoin.TX[] {
  const byHash = new Map(txs.map(tx => [tx.hash('hex'), tx]));
  const out: bcoin.TX[] = [];
  const done = new Set<string>();
  const visit = (tx: bcoin.TX): void => {
    const hash = tx.hash('hex');
    if (done.has(hash))
      return;
    done.add(hash);
    for (const input of tx.inputs) {
      const parent = byHash.get(input.prevout.hash);
      if (parent)
        visit(parent);
    }
    out.push(tx);
  };
  txs.forEach(visit);
  return out;
}

/** Resubmits disconnected txs and rebroadcasts our own until they confirm. */
export class Resubmitter extends EventEmitter {
  private readonly options: ResubmitterOptions;
  /** Height at which each of our txs (txid hex) was last announced. */
  private readonly announced = new Map<string, number>();
  private opened = false;
  /**
   * Our unconfirmed txs as the last peer handshake read them, shared by
   * the handshakes that follow until a tx enters the mempool, a block
   * connects or one disconnects: a handshake is a remote's to make, and
   * reading every wallet's pending txs for each one let any peer that
   * reconnects in a loop keep the wallet database busy.
   */
  private forPeers: Promise<bcoin.TX[]> | null = null;
  private readonly onDisconnect = (entry: bcoin.ChainEntry, block: bcoin.Block): Promise<void> => {
    this.forPeers = null;
    return this.handleDisconnect(entry, block);
  };
  private readonly onMempoolTX = (): void => {
    this.forPeers = null;
  };

  constructor(options: ResubmitterOptions) {
    super();
    this.options = options;
  }

  /** Start listening; once, send what is pending now. */
  async open(): Promise<void> {
    this.options.chain.on('disconnect', this.onDisconnect);
    this.options.mempool.on('tx', this.onMempoolTX);
    this.opened = true;
    await this.handleBlock(this.options.chain.height);
  }

  async close(): Promise<void> {
    this.opened = false;
    this.forPeers = null;
    this.options.chain.removeListener('disconnect', this.onDisconnect);
    this.options.mempool.removeListener('tx', this.onMempoolTX);
  }

  private log(level: 'debug' | 'info' | 'warning', fmt: string, ...args: unknown[]): void {
    const logger = this.options.logger;
    if (logger)
      logger[level](fmt, ...args);
  }

  /**
   * Chain 'disconnect': re-add the block's txs that are not in the mempool
   * (what bcoin skips on an empty mempool). Txs the new chain makes invalid
   * are refused by the mempool, as bcoin's own path refuses them.
   */
  async handleDisconnect(entry: bcoin.ChainEntry, block: bcoin.Block): Promise<void> {
    if (!this.opened)
      return;
    // A reorg: peers may have dropped what they saw; announce again.
    this.announced.clear();
    const mempool = this.options.mempool;
    let count = 0;
    for (const tx of block.txs) {
      if (tx.isCoinbase() || mempool.hasEntry(tx.hash('hex')))
        continue;
      try {
        // As bcoin's own disconnect path: no lock, id -1, 'unconfirmed'.
        await mempool.insertTX(tx, -1);
        count += 1;
        mempool.emit('unconfirmed', tx, block);
        this.emit('resubmit', tx);
      } catch (e) {
        this.log('debug', 'Disconnected tx %s not re-added: %s', tx.txid(), reason(e));
      }
    }
    if (count > 0)
      this.log('info', 'Re-added %d txs of disconnected block %d to the mempool.', count, entry.height);
  }

  /** After a block connected at `height`: resubmit and announce ours; never throws. */
  async handleBlock(height: number): Promise<ResubmitResult | null> {
    if (!this.opened)
      return null;
    this.forPeers = null;
    try {
      return await this.resubmitOwn(height);
    } catch (e) {
      this.log('warning', 'Resubmitting our txs failed: %s', reason(e));
      return null;
    }
  }

  /**
   * A peer finished its handshake (pool 'peer open'): send it an `inv` of
   * our unconfirmed txs in the mempool, parents first (read once for the
   * handshakes until the next mempool or chain change: `forPeers`).
   * Returns how many; never throws.
   */
  async handlePeerOpen(peer: bcoin.Peer): Promise<number> {
    if (!this.opened || peer.noRelay)
      return 0;
    try {
      if (!this.forPeers) {
        const read = this.pending();
        // A failed read is not kept: the next handshake reads again.
        read.catch(() => {
          if (this.forPeers === read)
            this.forPeers = null;
        });
        this.forPeers = read;
      }
      const txs = (await this.forPeers).filter(tx => this.options.mempool.hasEntry(tx.hash('hex')));
      if (txs.length === 0 || !peer.handshake || peer.destroyed)
        return 0;
      for (let i = 0; i < txs.length; i += MAX_INV_ITEMS)
        peer.send(new bcoin.packets.InvPacket(txs.slice(i, i + MAX_INV_ITEMS).map(tx => tx.toInv())));
      this.emit('announce', txs);
      return txs.length;
    } catch (e) {
      this.log('warning', 'Announcing our txs to a new peer failed: %s', reason(e));
      return 0;
    }
  }

  /** Our unconfirmed txs, parents first. */
  async pending(): Promise<bcoin.TX[]> {
    return (await this.pendingByWallet()).map(p => p.tx);
  }

  /** Our unconfirmed txs with the wallet each is in, parents first. */
  private async pendingByWallet(): Promise<Array<{ tx: bcoin.TX; wallet: bcoin.Wallet }>> {
    const wdb = this.options.wdb();
    // bcoin's walletdb moves its tip before it adds a block's txs: wait
    // until it is done, or we would see just-confirmed txs as pending.
    const unlock = await wdb.txLock.lock();
    unlock();
    const owner = new Map<string, bcoin.Wallet>();
    const txs: bcoin.TX[] = [];
    for (const id of await wdb.getWallets()) {
      const wallet = await wdb.get(id);
      if (!wallet)
        continue;
      for (const wtx of await wallet.getPending()) {
        if (owner.has(wtx.tx.hash('hex')))
          continue;
        owner.set(wtx.tx.hash('hex'), wallet);
        txs.push(wtx.tx);
      }
    }
    return sortDeps(txs).map(tx => ({ tx, wallet: owner.get(tx.hash('hex'))! }));
  }

  /**
   * Put every unconfirmed tx of ours that is still valid back into the
   * mempool, and announce those in it to every peer (rate-limited).
   */
  async resubmitOwn(height: number): Promise<ResubmitResult> {
    const { mempool, interval } = this.options;
    const result: ResubmitResult = { resubmitted: [], announced: [], skipped: new Map(), abandoned: [] };
    const txs = await this.pendingByWallet();
    const ours = new Set(txs.map(p => p.tx.hash('hex')));
    /** Ours that cannot enter the mempool now: their children cannot either. */
    const out = new Set<string>();
    const announce: bcoin.TX[] = [];
    for (const { tx, wallet } of txs) {
      const hash = tx.hash('hex');
      if (!mempool.hasEntry(hash)) {
        const skip = (why: string) => {
          result.skipped.set(tx.txid(), why);
          out.add(hash);
        };
        if (tx.inputs.some(i => out.has(i.prevout.hash))) {
          skip('parent-not-sent');
          continue;
        }
        const why = await this.whyNot(tx, ours);
        if (why === 'conflict-in-chain' && await this.abandon(wallet, tx)) {
          result.abandoned.push(tx.txid());
          out.add(hash);
          continue;
        }
        if (why) {
          skip(why);
          continue;
        }
        try {
          await mempool.addTX(tx);
        } catch (e) {
          skip(reason(e));
          continue;
        }
        // Kept as an orphan (an input unknown): not sent.
        if (!mempool.hasEntry(hash)) {
          mempool.removeOrphan(hash);
          skip('missing-inputs');
          continue;
        }
        result.resubmitted.push(tx.txid());
        this.emit('resubmit', tx);
      }
      const last = this.announced.get(hash);
      if (last === undefined || height - last >= interval || height < last)
        announce.push(tx);
    }
    for (const hash of this.announced.keys()) {
      if (!ours.has(hash))
        this.announced.delete(hash);
    }
    if (announce.length > 0 && this.announce(announce) > 0) {
      for (const tx of announce) {
        this.announced.set(tx.hash('hex'), height);
        result.announced.push(tx.txid());
      }
      this.emit('announce', announce);
    }
    if (result.resubmitted.length > 0)
      this.log('info', 'Resubmitted %d of our unconfirmed txs.', result.resubmitted.length);
    return result;
  }

  /**
   * Why `tx` cannot go into the mempool now, or null if it may: it
   * confirmed (`confirmed`), an input is spent by a tx in the mempool
   * (`conflict-in-mempool`) or by a confirmed one (`conflict-in-chain`:
   * its parent confirmed, the output is gone), or an input's parent is
   * nowhere (`missing-inputs`: a reorg may bring it back).
   * Inputs from txs in `ours` (unconfirmed, sent first) count as there.
   */
  async whyNot(tx: bcoin.TX, ours: Set<string> = new Set()): Promise<string | null> {
    const { chain, mempool } = this.options;
    if (await chain.db.hasTX(tx.hash('hex')))
      return 'confirmed';
    for (const { prevout } of tx.inputs) {
      if (mempool.isSpent(prevout.hash, prevout.index))
        return 'conflict-in-mempool';
      // The parent is unconfirmed: in the mempool, or ours and sent first.
      if (mempool.hasEntry(prevout.hash) || ours.has(prevout.hash))
        continue;
      if (!await chain.getCoin(prevout.hash, prevout.index))
        return await chain.db.hasTX(prevout.hash) ? 'conflict-in-chain' : 'missing-inputs';
    }
    return null;
  }

  /** Remove a conflicted tx of ours from its wallet; false if the wallet refused. */
  private async abandon(wallet: bcoin.Wallet, tx: bcoin.TX): Promise<boolean> {
    try {
      await wallet.abandon(tx.hash('hex'));
    } catch (e) {
      this.log('warning', 'Could not abandon our conflicted tx %s: %s', tx.txid(), reason(e));
      return false;
    }
    this.log('info', 'Abandoned our tx %s: a confirmed tx spent one of its inputs.', tx.txid());
    return true;
  }

  /** Send an `inv` for `txs` to every relaying peer; returns how many peers. */
  private announce(txs: bcoin.TX[]): number {
    let peers = 0;
    for (let peer = this.options.pool.peers.head(); peer; peer = peer.next) {
      if (!peer.handshake || peer.destroyed || peer.noRelay)
        continue;
      for (let i = 0; i < txs.length; i += MAX_INV_ITEMS)
        peer.send(new bcoin.packets.InvPacket(txs.slice(i, i + MAX_INV_ITEMS).map(tx => tx.toInv())));
      peers += 1;
    }
    return peers;
  }
}

function reason(e: unknown): string {
  const err = e as { type?: string; code?: string; reason?: string; message?: string };
  if (err && err.type === 'VerifyError')
    return `${err.code}: ${err.reason}`;
  return e instanceof Error ? e.message : String(e);
}
