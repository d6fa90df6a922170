/*!
 * walletpay.ts - `attached` payments made and checked with the ordinary
 * wallet (decloud's `attached` payment: "a transaction in the payment
 * amount"), PROTOCOL 2.5.
 *
 * A client pays `amount` sat to a server by a signed transaction from its
 * wallet's account 0 with one output of at least `amount` to the server's
 * identity address (P2WPKH of its identity key), carried as the payment's
 * `data` (raw tx bytes, at most 4 096). It records the tx in its wallet
 * (the coins count as spent) but does not broadcast it: the server does,
 * by taking it into its mempool, so nobody can present the payment of
 * another client before it arrives. The server accepts a tx that decodes,
 * pays its identity address at least `amount`, and that its mempool takes
 * in as a new transaction (all inputs known and unspent, standard, fee at
 * least the minimum relay fee); a tx already in its mempool or chain, an
 * orphan or a double spend is refused. Bytes that are no transaction are
 * malformed. Payments below the P2WPKH dust limit (294 sat) cannot be
 * made on chain: small calls are deferred (`defer`) and settled when the
 * server's `please-pay` asks for what they add up to.
 *
 * A call that goes unanswered after paying (timeout, closed connection)
 * leaves the tx in the wallet for `graceMs`: if by then it is neither in
 * the node's mempool nor confirmed, the server never broadcast it and the
 * wallet abandons it (its coins are spendable again). A refused payment is
 * abandoned at once, unless it is out there already. The server reports
 * each of its payments that its mempool drops for a conflicting block tx
 * (`doubleSpent`).
 */

import { createHash } from 'crypto';
import bcoin = require('../bcoin');
import { walletIdle, withWalletLock } from '../contracts/builders';
import { P2WPKH_DUST } from '../contracts/channel';
import { getParams } from '../contracts/common';
import { DEFAULT_PAYMENT_GRACE_MS } from './common';
import type { PaymentHooks, PaymentVerdict, UnansweredOutcome } from './payment';

/** The wallet calls the typings leave out (bcoin 1.0.2 Wallet#abandon, Wallet#getTX). */
type Abandoning = bcoin.Wallet & {
  abandon(hash: string): Promise<unknown>;
  getTX(hash: string): Promise<{ height: number } | null>;
};

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
  /** A payment tx in our mempool was dropped for a conflicting tx in a block (txid, RPC order). */
  doubleSpent?: (id: string) => void;
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
  if (ctx.doubleSpent) {
    const report = ctx.doubleSpent;
    ctx.mempool.on('double spend', (entry: { tx: bcoin.TX }) => report(entry.tx.txid()));
  }
  /**
   * Abandon our payment tx unless it is out there (in our mempool or
   * confirmed): then the server has it and it stays. True when abandoned.
   */
  const release = async (data: Buffer): Promise<boolean> => {
    try {
      const tx = bcoin.TX.fromRaw(data);
      const hash = tx.hash('hex');
      if (ctx.mempool.hasEntry(hash))
        return false;
      const wtx = await (ctx.wallet as Abandoning).getTX(hash);
      if (!wtx || wtx.height !== -1)
        return false;
      await (ctx.wallet as Abandoning).abandon(hash);
      ctx.logger?.info('negotiator: payment %s abandoned: the server did not take it', tx.txid());
      return true;
    } catch (e) {
      ctx.logger?.warning('negotiator: could not abandon a payment: %s', (e as Error).message);
      return false;
    }
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
        // The wallet counts the coins spent now; the server broadcasts the tx.
        await ctx.wdb.addTX(tx);
        return tx.toRaw();
      });
    },

    async refused(data: Buffer): Promise<void> {
      // The server did not take our payment: give the coins back to the wallet.
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
    }
  };
}