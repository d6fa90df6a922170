/*!
 * walletpay.ts - `attached` payments made and checked with the ordinary
 * wallet (decloud's `attached` payment: "a transaction in the payment
 * amount"), PROTOCOL 2.5.
 *
 * A client pays `amount` sat to a server by a signed transaction from its
 * wallet's account 0 with one output of at least `amount` to the server's
 * identity address (P2WPKH of its identity key), carried as the payment's
 * `data` (raw tx bytes, at most 4 096). It neither broadcasts the tx nor
 * records it in its wallet before the server took it: it locks the coins
 * the tx spends (in memory, `listlockunspent`), so no other tx of the node
 * spends them meanwhile. The server broadcasts it, by taking it into its
 * mempool, so nobody can present the payment of another client before it
 * arrives. Recording it earlier would send it out for the server: bcoin's
 * wallet rebroadcasts its pending txs when it opens, and the resubmitter
 * (lib/contracts/resubmitter.ts) puts them into our mempool and announces
 * them after every block, so a server that never answered would be paid
 * anyway and our mempool would hold a tx nobody took. The client records
 * the tx in its wallet once the server answers a status that takes the
 * payment (`taken`), or when the tx reaches its mempool or chain from the
 * network (the wallet sees it there as any tx spending its coins). Our
 * own mempool never holds it first, so a tx seen there is the server's.
 *
 * The server accepts a tx that decodes, pays its identity address at
 * least `amount`, and that its mempool takes in as a new transaction (all
 * inputs known and unspent, standard, fee at least the minimum relay
 * fee); a tx already in its mempool or chain, an orphan or a double spend
 * is refused. Bytes that are no transaction are malformed. Payments below
 * the P2WPKH dust limit (294 sat) cannot be made on chain: small calls
 * are deferred (`defer`) and settled when the server's `please-pay` asks
 * for what they add up to.
 *
 * A call that goes unanswered after paying (timeout, closed connection)
 * keeps the coins locked for `graceMs`: if by then the tx is neither in
 * the node's mempool nor in its wallet (which a block holding it would
 * have put there), the server never broadcast it and the payment is
 * abandoned (its coins unlocked); if it is, the payment is kept. A refused
 * payment is abandoned at once. The server finds each of its payments
 * whose input a block tx spends (`spends`, ledgerfiles.ts); after a
 * restart, and after a reorg takes one out of the chain, it puts those it
 * took back into its mempool (`restore`), so that still holds for them;
 * one whose inputs a tx in the chain spent already is found double spent
 * there (bcoin would keep it as an orphan). A spender that is the same
 * payment under other input scripts (`samePayment`, `spender`: a
 * malleated copy, paymentkey.ts) is no double spend.
 */

import { createHash } from 'crypto';
import bcoin = require('../bcoin');
import { holdCoin, releaseCoin } from '../base/coinholds';
import { walletIdle, withWalletLock } from '../contracts/builders';
import { P2WPKH_DUST } from '../contracts/channel';
import { getParams } from '../contracts/common';
import { DEFAULT_PAYMENT_GRACE_MS, SPENDER_SCAN_DEPTH } from './common';
import { samePayment } from './paymentkey';
import type { PaymentHooks, PaymentVerdict, RestoredPayment, UnansweredOutcome } from './payment';

/** What the wallet payments need from the node. */
export interface WalletPayContext {
  network: bcoin.Network;
  chain: bcoin.Chain;
  mempool: bcoin.Mempool;
  wdb: bcoin.WalletDB;
  wallet: bcoin.Wallet;
  /** This node's identity key: payments to it are ours. */
  identity(): Buffer;
  /** sat/kvB for payments; default the contracts' rate for the network (lib/contracts/common.ts), at least minimum relay. */
  feeRate?: number;
  /** ms an unanswered payment may stay unseen before it is abandoned (default DEFAULT_PAYMENT_GRACE_MS). */
  graceMs?: number;
  logger?: Pick<bcoin.Logger, 'info' | 'warning'>;
}

/** The P2WPKH output script of an identity key. */
export function identityScript(publicKey: Buffer): bcoin.Script {
  const sha = createHash('sha256').update(publicKey).digest();
  return bcoin.Script.fromProgram(0, createHash('ripemd160').update(sha).digest());
}

/** True when the chain holds an unspent output of `tx` (it confirmed). */
async function confirmed(chain: bcoin.Chain, tx: bcoin.TX): Promise<boolean> {
  for (let i = 0; i < tx.outputs.length; i++) {
    if (await chain.getCoin(tx.hash('hex'), i))
      return true;
  }
  return false;
}

/** The outputs `tx` spends, as "txid:index" (RPC order): PaymentHooks#spends, and a block's txs (plugin.ts). */
export function outpointsOf(tx: bcoin.TX): string[] {
  return tx.inputs.map((input) => `${input.prevout.txid()}:${input.prevout.index}`);
}

/**
 * True when a tx in the chain spent an output `tx` spends, and `tx` is not
 * in the chain: a conflict confirmed (needs the tx index, which cloudcoind
 * keeps). An output whose tx the chain does not hold (an unconfirmed
 * parent the node lost) is no proof of a conflict.
 */
async function spentInChain(chain: bcoin.Chain, tx: bcoin.TX): Promise<boolean> {
  if (await chain.db.hasTX(tx.hash('hex')))
    return false;
  for (const { prevout } of tx.inputs) {
    if (await chain.db.hasTX(prevout.hash) && !await chain.getCoin(prevout.hash, prevout.index))
      return true;
  }
  return false;
}

/**
 * The tx that spends an input of `tx`: one in the mempool, else one in the
 * last SPENDER_SCAN_DEPTH blocks (no lower than the block holding the
 * spent output: the spender comes after it), or null.
 */
async function spenderOf(chain: bcoin.Chain, mempool: bcoin.Mempool, tx: bcoin.TX)
  : Promise<{ data: Buffer; confirmed: boolean } | null> {
  for (const { prevout } of tx.inputs) {
    const spender = mempool.getSpentTX(prevout.hash, prevout.index);
    if (spender)
      return { data: spender.toRaw(), confirmed: false };
  }
  const spent = new Set(tx.inputs.map(({ prevout }) => `${prevout.hash}:${prevout.index}`));
  let low = Math.max(1, chain.height - SPENDER_SCAN_DEPTH + 1);
  for (const { prevout } of tx.inputs) {
    const meta = await chain.db.getMeta(prevout.hash);
    if (meta && meta.height >= low)
      low = meta.height;
  }
  for (let height = chain.height; height >= low; height--) {
    const block = await chain.getBlock(height);
    for (const btx of block?.txs ?? []) {
      if (btx.inputs.some(({ prevout }) => spent.has(`${prevout.hash}:${prevout.index}`)))
        return { data: btx.toRaw(), confirmed: true };
    }
  }
  return null;
}

/** Sat a tx pays to `script` in all. */
function paidTo(tx: bcoin.TX, script: bcoin.Script): number {
  const raw = script.toRaw();
  let sum = 0;
  for (const out of tx.outputs) {
    if (out.script.toRaw().equals(raw))
      sum += out.value;
  }
  return sum;
}

/** Payment hooks over the node's wallet and mempool. */
export function walletPayments(ctx: WalletPayContext): PaymentHooks {
  // The rate the node's other transactions pay (the miner skips txs at the bare minimum relay rate).
  const rate = Math.max(ctx.feeRate ?? getParams(ctx.network).feeRate, ctx.network.minRelay);
  const grace = ctx.graceMs ?? DEFAULT_PAYMENT_GRACE_MS;
  const wallet = ctx.wallet;
  /** Lock (or unlock) the coins a payment tx of ours spends. */
  const lock = (tx: bcoin.TX, on: boolean): void => {
    for (const input of tx.inputs) {
      if (on) {
        wallet.lockCoin(input.prevout);
        holdCoin(wallet, input.prevout);
      } else {
        releaseCoin(wallet, input.prevout);
        wallet.unlockCoin(input.prevout);
      }
    }
  };
  /**
   * Is our payment tx out there: in our mempool (we never put it there:
   * the server did, and it was relayed to us) or in our wallet (a block
   * held it, or we recorded it once the server took it)?
   */
  const seen = async (tx: bcoin.TX): Promise<boolean> =>
    ctx.mempool.hasEntry(tx.hash('hex')) || await wallet.getTX(tx.hash('hex')) !== null;
  /** Record a payment the server took in our wallet (a no-op when the wallet has it); never throws. */
  const record = async (tx: bcoin.TX): Promise<void> => {
    try {
      await ctx.wdb.addTX(tx);
    } catch (e) {
      ctx.logger?.warning('negotiator: could not record payment %s: %s', tx.txid(), (e as Error).message);
    }
  };
  /**
   * Unlock our payment's coins; unless the tx is out there (then it is
   * recorded and kept), it is abandoned. True when abandoned.
   */
  const release = async (data: Buffer): Promise<boolean> => {
    let tx: bcoin.TX;
    try {
      tx = bcoin.TX.fromRaw(data);
    } catch {
      return false;
    }
    const out = await seen(tx).catch(() => false);
    if (out)
      await record(tx);
    lock(tx, false);
    if (out)
      return false;
    ctx.logger?.info('negotiator: payment %s abandoned: the server did not take it', tx.txid());
    return true;
  };
  return {
    async verify(_from: Buffer, amount: number, data: Buffer): Promise<PaymentVerdict> {
      let tx: bcoin.TX;
      try {
        tx = bcoin.TX.fromRaw(data);
      } catch {
        return 'malformed';
      }
      // [REJECT] the tx pays our identity less than claimed (or pays someone else): a false claim
      if (paidTo(tx, identityScript(ctx.identity())) < amount)
        return 'underpays';
      // [REJECT] a tx we already have: someone else's payment, or this one again
      if (ctx.mempool.hasEntry(tx.hash('hex')) || ctx.mempool.hasOrphan(tx.hash('hex')) || await confirmed(ctx.chain, tx))
        return false;
      try {
        const missing = await ctx.mempool.addTX(tx) as unknown[] | null;
        // [REJECT] inputs we do not know (an orphan pays nothing yet)
        if (missing && missing.length > 0)
          return false;
      } catch (e) {
        ctx.logger?.info('negotiator: payment tx %s refused: %s', tx.txid(), (e as Error).message);
        return false;
      }
      return true;
    },

    async attach(to: Buffer, amount: number): Promise<Buffer> {
      if (amount < P2WPKH_DUST)
        throw new Error(`${amount} sat is below the dust limit (${P2WPKH_DUST} sat): defer it instead`);
      return withWalletLock(ctx.wallet, async () => {
        const mtx = new bcoin.MTX();
        mtx.version = 2;
        mtx.addOutput(identityScript(to), amount);
        await walletIdle(ctx.wdb);
        await ctx.wallet.fund(mtx, { account: 0, rate });
        await ctx.wallet.sign(mtx);
        const tx = mtx.toTX();
        // Spent by this payment until the server took it or we abandon it;
        // not recorded (nor sent) before the server took it.
        lock(tx, true);
        return tx.toRaw();
      });
    },

    async taken(data: Buffer): Promise<void> {
      let tx: bcoin.TX;
      try {
        tx = bcoin.TX.fromRaw(data);
      } catch {
        return;
      }
      await record(tx);
      lock(tx, false);
    },

    async refused(data: Buffer): Promise<void> {
      // The server did not take our payment: the coins are spendable again.
      await release(data);
    },

    async unanswered(data: Buffer): Promise<UnansweredOutcome> {
      await new Promise<void>((resolve) => setTimeout(resolve, grace).unref());
      if (await release(data))
        return 'abandoned';
      ctx.logger?.info('negotiator: payment %s kept: the server took it (unanswered call)', bcoin.TX.fromRaw(data).txid());
      return 'kept';
    },

    id(data: Buffer): string | null {
      try {
        return bcoin.TX.fromRaw(data).txid();
      } catch {
        return null;
      }
    },

    pending(id: string): boolean {
      return ctx.mempool.hasEntry(Buffer.from(id, 'hex').reverse().toString('hex'));
    },

    async restore(data: Buffer): Promise<RestoredPayment> {
      let tx: bcoin.TX;
      try {
        tx = bcoin.TX.fromRaw(data);
      } catch {
        return 'unknown';
      }
      const hash = tx.hash('hex');
      try {
        if (ctx.mempool.hasEntry(hash))
          return 'pending';
        if (await ctx.chain.db.hasTX(hash) || await confirmed(ctx.chain, tx))
          return 'confirmed';
        // Waits for the chain's lock: after a reorg, on the new chain.
        const missing = await ctx.mempool.addTX(tx) as unknown[] | null;
        if (!missing || missing.length === 0)
          return 'pending';
        // An orphan: its inputs are not unspent outputs we know.
        if (await spentInChain(ctx.chain, tx)) {
          ctx.mempool.removeOrphan(hash);
          return 'double-spent';
        }
        return 'unknown';
      } catch (e) {
        const reason = (e as { reason?: string }).reason;
        // A mempool tx spending the same inputs: a double spend.
        if (reason === 'bad-txns-inputs-spent')
          return 'double-spent';
        if (reason === 'txn-already-known')
          return 'confirmed';
        // Put back meanwhile (after a reorg: by the chain's own disconnect handlers).
        if (reason === 'txn-already-in-mempool')
          return 'pending';
        ctx.logger?.info('negotiator: payment taken %s not put back: %s', tx.txid(), (e as Error).message);
        return 'unknown';
      }
    },

    spends(data: Buffer): string[] {
      try {
        return outpointsOf(bcoin.TX.fromRaw(data));
      } catch {
        return [];
      }
    },

    async spender(data: Buffer): Promise<{ data: Buffer; confirmed: boolean } | null> {
      try {
        return await spenderOf(ctx.chain, ctx.mempool, bcoin.TX.fromRaw(data));
      } catch {
        return null;
      }
    },

    samePayment
  };
}