/*!
 * escrowspender.ts - spends the escrows of our contracts: refunds and closes.
 *
 * As renter, a contract's escrow comes back through the CLTV branch (a
 * refund), one escrow per call, from its resolved commit or from one of
 * our void records whose commit confirmed anyway. As host, a contract
 * closes with the latest channel state the renter signed, at a fee rate
 * for the blocks left before its deadline. An escrow counts as open while
 * it is unspent on chain and no mempool tx spends it.
 */

import bcoin = require('../bcoin');
import type { Identity } from '../base/identity';
import type { NodeAPI } from '../base/extension';
import * as builders from './builders';
import type { CloseAmounts } from './channel';
import type { ChannelStore, EscrowLookup, StoredState } from './channelstore';
import * as common from './common';
import type { ContractIndex } from './contractindex';
import { escrowCoin, revHex, type EscrowInfo } from './contractqueries';
import { ContractError, enforce } from './errors';
import { classifySpend } from './escrow';
import { spendTypes } from './records';
import { closeDeadline } from './schedule';
import type { StorageContract } from './storagecontract';

/** What a close did: the tx, the split, the state it used and the fee rate (sat/kvB). */
export interface CloseResult {
  tx: bcoin.TX;
  amounts: CloseAmounts;
  state: StoredState;
  rate: number;
}

/**
 * Longest fee estimate target a close asks for: bcoin 1.0.2's estimator
 * tracks 15 blocks (MAX_BLOCK_CONFIRMS in lib/mempool/fees.js) and throws
 * above that.
 */
const MAX_FEE_TARGET = 15;

/** What the spender needs from the node. */
export interface EscrowSpenderContext {
  api: Pick<NodeAPI, 'network' | 'chain' | 'mempool' | 'node'>;
  params: common.ContractParams;
  index: ContractIndex;
  channels: ChannelStore;
  identity(): Promise<Identity>;
  /** Our key ring for an escrow public key, or null if not ours. */
  getEscrowRing(publicKey: Buffer): Promise<bcoin.KeyRing | null>;
  /** The primary wallet and what the tx builders need. */
  walletContext(): builders.WalletContext;
}

/** Refunds (renter) and closes (host) the escrows of our contracts. */
export class EscrowSpender {
  private readonly ctx: EscrowSpenderContext;

  constructor(ctx: EscrowSpenderContext) {
    this.ctx = ctx;
  }

  /**
   * Recover a contract's escrow through the CLTV branch (renter only): the
   * escrow of its resolved commit, else of one of our void records (a
   * commit that confirmed after offer expiry). One unspent escrow per
   * call; when every escrow is spent and one by a refund of ours waiting
   * in the mempool (the node refunds on its own), that refund.
   */
  async refund(id: Buffer): Promise<bcoin.TX> {
    const escrows = await this.ctx.index.getEscrows(id);
    if (escrows.length === 0) {
      enforce(await this.ctx.index.getContract(id) !== null, 'unknown-contract');
      // [REJECT] a void record whose commit never confirmed: nothing to refund
      throw new ContractError('no-escrow', 'no commitment of this contract is on chain');
    }
    // [REJECT] the CLTV branch is the renter's alone
    enforce(await this.ctx.getEscrowRing(escrows[0].record.contract.renterEscrowKey) !== null, 'not-renter',
      'the wallet does not hold the renter escrow key');
    const open = escrows.find(e => this.isOpen(e));
    if (open)
      return this.refundEscrow(open);
    for (const e of escrows) {
      if (e.leaf.spendType !== spendTypes.NONE)
        continue;
      const hash = e.commit.txid.toString('hex');
      const index = e.commit.vout0 + e.record.leaf;
      const tx = this.ctx.api.mempool.getSpentTX(hash, index);
      // Only the renter escrow key signs a refund: one in the mempool is ours.
      const input = tx ? tx.inputs.find(i => i.prevout.hash === hash && i.prevout.index === index) : undefined;
      if (tx && input && classifySpend(input.witness) === 'refunded')
        return tx;
    }
    // [REJECT] every escrow of the contract already spent (or being spent): say by what
    const spent = escrows.find(e => e.leaf.spendType !== spendTypes.NONE);
    if (spent) {
      const how = spent.leaf.spendType === spendTypes.SETTLED ? 'closed by the host' : 'refunded';
      throw new ContractError('escrow-spent', `the escrow was already ${how} in ${revHex(spent.leaf.spendTxid)} `
        + `at height ${spent.leaf.spendHeight}`);
    }
    throw new ContractError('escrow-spent', 'the escrow is being spent by a transaction in the mempool');
  }

  /** Unspent on chain and not spent by a mempool tx. */
  private isOpen(e: EscrowInfo): boolean {
    return e.leaf.spendType === spendTypes.NONE
      && !this.ctx.api.mempool.isSpent(e.commit.txid.toString('hex'), e.commit.vout0 + e.record.leaf);
  }

  /** Refund one escrow to our wallet (renter only); throws ContractError. */
  async refundEscrow(e: EscrowInfo): Promise<bcoin.TX> {
    return builders.refundContract(this.ctx.walletContext(), e.record.contract, escrowCoin(e));
  }

  /**
   * Open escrows (unspent on chain and in the mempool) of the contracts we
   * are the renter of: resolved ones, and our void records' whose commit
   * confirmed.
   */
  async openRenterEscrows(): Promise<EscrowInfo[]> {
    const me = (await this.ctx.identity()).publicKey;
    const q = this.ctx.index.queries;
    const ids = (await q.getIdentityContracts(me))
      .filter(c => c.role === common.roles.RENTER).map(c => c.id);
    ids.push(...await q.getVoidIds());
    const out: EscrowInfo[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      for (const e of await this.ctx.index.getEscrows(id)) {
        const key = e.commit.outpointKey(e.record.leaf);
        if (seen.has(key) || !this.isOpen(e) || !e.record.contract.renterKey.equals(me))
          continue;
        seen.add(key);
        out.push(e);
      }
    }
    return out;
  }

  /**
   * A contract's escrow from the index (its resolved commit's), and
   * whether it is spent on chain or by a mempool tx; null if not resolved.
   */
  async escrowOf(id: Buffer): Promise<EscrowLookup | null> {
    const record = await this.ctx.index.getRecord(id);
    if (!record)
      return null;
    const e = (await this.ctx.index.getEscrows(id)).find(x => x.record.txid.equals(record.txid) && x.record.leaf === record.leaf);
    if (!e)
      return null;
    return { coin: escrowCoin(e), spent: !this.isOpen(e) };
  }

  /** Fee rate for a close (sat/kvB): estimatesmartfee for the blocks left before its deadline, at least 1 sat/vB. */
  closeFeeRate(contract: StorageContract): number {
    const left = closeDeadline(contract, this.ctx.params) - 1 - this.ctx.api.chain.height;
    const target = Math.max(1, Math.min(MAX_FEE_TARGET, left));
    const fees = this.ctx.api.node.fees;
    const estimate = fees ? fees.estimateFee(target, true) : 0;
    return Math.max(estimate, this.ctx.api.network.minRelay, 1000);
  }

  /**
   * Close a contract we host with its latest channel state, now: the
   * renter's remainder, our payout less the fee (closeFeeRate), submitted
   * through the wallet. Throws ContractError: `unknown-contract`,
   * `not-host`, `no-channel-state` (nothing to close with: the renter's
   * refund takes the escrow back), `escrow-spent`, `close-uneconomic`,
   * `close-needs-funding`.
   */
  async closeContract(id: Buffer): Promise<CloseResult> {
    const record = await this.ctx.index.getRecord(id);
    enforce(record !== null, 'unknown-contract');
    const contract = record.contract;
    enforce(contract.hostKey.equals((await this.ctx.identity()).publicKey), 'not-host');
    const ring = await this.ctx.getEscrowRing(contract.hostEscrowKey);
    enforce(ring !== null, 'not-host', 'the wallet does not hold the host escrow key');
    const stored = await this.ctx.channels.latestState(id);
    enforce(stored !== null, 'no-channel-state',
      'the renter never sent a channel state: its refund after the refund height takes the escrow back');
    const escrow = await this.escrowOf(id);
    enforce(escrow !== null, 'unknown-contract');
    // [REJECT] closed or refunded already, or a spend waits in the mempool
    enforce(!escrow.spent, 'escrow-spent');
    const rate = this.closeFeeRate(contract);
    const { tx, amounts } = await builders.closeContract(this.ctx.walletContext(), contract, escrow.coin,
      stored.state, ring, rate);
    return { tx, amounts, state: stored, rate };
  }
}
