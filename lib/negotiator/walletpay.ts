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
 */

import { createHash } from 'crypto';
import bcoin = require('../bcoin');
import { walletIdle, withWalletLock } from '../contracts/builders';
import { P2WPKH_DUST } from '../contracts/channel';
import { getParams } from '../contracts/common';
import type { PaymentHooks, PaymentVerdict } from './payment';

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
  return {
    async verify(_from: Buffer, amount: number, data: Buffer): Promise<PaymentVerdict> {
      let tx: bcoin.TX;
      try {
        tx = bcoin.TX.fromRaw(data);
      } catch {
        return 'malformed';
      }
      // [REJECT] the tx pays our identity less than claimed
      if (paidTo(tx, identityScript(ctx.identity())) < amount)
        return false;
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
      try {
        const tx = bcoin.TX.fromRaw(data);
        await (ctx.wallet as bcoin.Wallet & { abandon(hash: string): Promise<unknown> }).abandon(tx.hash('hex'));
      } catch (e) {
        ctx.logger?.warning('negotiator: could not abandon a refused payment: %s', (e as Error).message);
      }
    }
  };
}
