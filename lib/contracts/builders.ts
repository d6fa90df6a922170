/*!
 * builders.ts - commitment, refund, close and rating transactions.
 *
 * Every transaction is version 2 (bcoin 1.0.2 rejects v1 txs that signal
 * RBF), pays at least 1 sat/vB (the miner skips cheaper ones), keeps every
 * output above dust, and is submitted with `mempool.addTX` so a rejection
 * surfaces as a VerifyError instead of vanishing inside `wallet.send`.
 */

import bcoin = require('../bcoin');
import type { Identity } from '../base/identity';
import { batchRoot } from './batchtree';
import { buildCloseTX, P2WPKH_DUST, type ChannelState, type CloseAmounts } from './channel';
import * as common from './common';
import { ContractError, enforce } from './errors';
import { escrowOutputScript, refundWitness } from './escrow';
import { getEscrowRing, privateKeyOf, type MasterKey } from './escrowkeys';
import { Mutex } from './mutex';
import { CommitPayload, RatingPayload } from './payload';
import { StorageContract, verifyContract } from './storagecontract';

const { MTX, Script } = bcoin;

/** What the builders need from the node. */
export interface WalletContext {
  network: bcoin.Network;
  chain: bcoin.Chain;
  mempool: bcoin.Mempool;
  wdb: bcoin.WalletDB;
  wallet: bcoin.Wallet;
  /** The node's copy of the master key (escrow keys while the wallet is locked); default the wallet's. */
  master?: MasterKey;
  /** sat/kvB; defaults to the network's contract fee rate. */
  feeRate?: number;
}

// Coin selection and mempool submission must not interleave, or two
// builders pick the same coins before the wallet sees the first tx.
const locks = new WeakMap<bcoin.Wallet, Mutex>();

function walletLock(wallet: bcoin.Wallet): Mutex {
  let lock = locks.get(wallet);
  if (!lock) {
    lock = new Mutex();
    locks.set(wallet, lock);
  }
  return lock;
}

function feeRate(ctx: { network: bcoin.Network; feeRate?: number }): number {
  const rate = ctx.feeRate ?? common.getParams(ctx.network).feeRate;
  return Math.max(rate, ctx.network.minRelay);
}

/** Fee for `vsize` at `rate` sat/kvB, never below 1 sat/vB. */
export function feeFor(vsize: number, rate: number): number {
  return Math.max(Math.ceil(vsize * rate / 1000), vsize);
}

/**
 * Wait until the wallet has finished what it queued (block and tx adds).
 * bcoin's walletdb moves its tip before it adds a block's txs, and its coin
 * reads are not atomic with those writes: funding in that window fails an
 * assert in TXDB#getAccountCredits or picks coins just spent.
 */
export async function walletIdle(wdb: bcoin.WalletDB): Promise<void> {
  const unlock = await wdb.txLock.lock();
  unlock();
}

/**
 * Run `fn` while no other builder selects coins of `wallet` (the lock the
 * builders here take): for another extension's wallet transactions
 * (the negotiator's payments).
 */
export function withWalletLock<T>(wallet: bcoin.Wallet, fn: () => Promise<T>): Promise<T> {
  return walletLock(wallet).run(fn);
}

/** Fund from account 0 once the wallet is idle. */
async function fund(ctx: WalletContext, mtx: bcoin.MTX, rate: number): Promise<void> {
  await walletIdle(ctx.wdb);
  await ctx.wallet.fund(mtx, { account: 0, rate });
}

/**
 * Submit to our mempool and tell the wallet at once. Throws VerifyError
 * (refused), or ContractError `inputs-spent` when the mempool would only
 * keep it as an orphan; the wallet then never sees it.
 */
export async function submitTX(ctx: WalletContext, tx: bcoin.TX): Promise<void> {
  await ctx.mempool.addTX(tx);
  const hash = tx.hash('hex');
  // bcoin keeps a tx whose inputs it cannot find (spent on chain, e.g. an
  // escrow another refund or a close took) as an orphan and returns instead
  // of throwing: in the wallet it would stay pending for ever, out of every
  // mempool, its outputs counted in the balance.
  if (!ctx.mempool.hasEntry(hash)) {
    ctx.mempool.removeOrphan(hash);
    throw new ContractError('inputs-spent', `the mempool did not take ${tx.txid()}: an input is spent or unknown`);
  }
  await ctx.wdb.addTX(tx);
}

/**
 * Submit a commitment wallet first, then to the mempool (which relays
 * it): a kill between the two leaves it in the wallet, which resends it
 * at restart (and the resubmitter at every block), so a commitment can
 * reach peers only once the wallet holds it. The contracts plugin relies
 * on that at open: an own pending commitment the wallet lacks was never
 * broadcast (plugin.ts forgetUnbroadcast). If the mempool refuses it, or
 * keeps it only as an orphan, the wallet abandons it again; throws as
 * submitTX, or ContractError `wallet-refused` when the wallet did not
 * take it (it conflicts with one of its unconfirmed txs).
 */
export async function submitWalletFirst(ctx: WalletContext, tx: bcoin.TX): Promise<void> {
  const hash = tx.hash('hex');
  await ctx.wdb.addTX(tx);
  // [REJECT] the wallet ignored it: broadcast, it would be ours unknown to the wallet
  if (!await ctx.wallet.getTX(hash))
    throw new ContractError('wallet-refused', `the wallet did not take ${tx.txid()}: it conflicts with an unconfirmed tx`);
  try {
    await ctx.mempool.addTX(tx);
    // An orphan: see submitTX.
    if (!ctx.mempool.hasEntry(hash)) {
      ctx.mempool.removeOrphan(hash);
      throw new ContractError('inputs-spent', `the mempool did not take ${tx.txid()}: an input is spent or unknown`);
    }
  } catch (e) {
    try {
      await ctx.wallet.abandon(hash);
    } catch {
      // Not eligible: a block took it or its conflict meanwhile; the wallet follows the chain.
    }
    throw e;
  }
}

/**
 * The outputs of a commitment: escrows at vout 0..n-1, then the OP_RETURN.
 * Change is appended by funding.
 */
export function commitOutputs(contracts: StorageContract[]): bcoin.Output[] {
  enforce(contracts.length >= 1 && contracts.length <= common.MAX_BATCH, 'bad-batch-size');
  const outputs: bcoin.Output[] = [];
  for (const c of contracts)
    outputs.push(new bcoin.Output({ script: escrowOutputScript(c.escrowScript()), value: c.escrowValue }));
  const payload = new CommitPayload({
    count: contracts.length,
    vout0: 0,
    root: batchRoot(contracts.map(c => c.hash()))
  });
  outputs.push(new bcoin.Output({ script: Script.fromNulldata(payload.encode()), value: 0 }));
  return outputs;
}

/** Build, fund (account 0) and sign a commitment; does not submit it. */
export async function createCommitTX(ctx: WalletContext, contracts: StorageContract[]): Promise<bcoin.MTX> {
  const height = ctx.chain.height + 1;
  const seen = new Set<string>();
  for (const c of contracts) {
    verifyContract(c, height, ctx.network);
    // [REJECT] the same contract twice in one batch
    enforce(!seen.has(c.id()), 'duplicate-contract');
    seen.add(c.id());
  }
  const mtx = new MTX();
  mtx.version = 2;
  for (const output of commitOutputs(contracts))
    mtx.outputs.push(output);
  await fund(ctx, mtx, feeRate(ctx));
  await ctx.wallet.sign(mtx);
  return mtx;
}

/** Called around the submission of a commitment (see commitContracts). */
export interface CommitHooks {
  /** After signing, before the wallet and the mempool see the tx: persist what it commits. */
  beforeSubmit?(tx: bcoin.TX): Promise<void>;
  /** The wallet or the mempool refused the tx: it was never broadcast. */
  onReject?(tx: bcoin.TX): Promise<void>;
}

/**
 * Fund, sign and submit one commitment tx for up to 16 signed contracts.
 * The txid is final once signed, so `hooks.beforeSubmit` can record the
 * commitment first: a crash after the broadcast then loses nothing. It
 * goes to the wallet before the mempool (submitWalletFirst).
 */
export async function commitContracts(ctx: WalletContext, contracts: StorageContract[],
  hooks: CommitHooks = {}): Promise<bcoin.TX> {
  return walletLock(ctx.wallet).run(async () => {
    const mtx = await createCommitTX(ctx, contracts);
    const tx = mtx.toTX();
    if (hooks.beforeSubmit)
      await hooks.beforeSubmit(tx);
    try {
      await submitWalletFirst(ctx, tx);
    } catch (e) {
      if (hooks.onReject)
        await hooks.onReject(tx);
      throw e;
    }
    return tx;
  });
}

/**
 * The renter's refund through the CLTV branch: witness
 * [renterSig, <empty>, script], locktime = refund height, sequence
 * 0xfffffffe. Minable from block refundHeight + 1.
 */
export function buildRefundTX(contract: StorageContract, coin: bcoin.Coin, ring: bcoin.KeyRing,
  address: bcoin.Address, rate: number): bcoin.MTX {
  const script = contract.escrowScript();
  const build = (fee: number): bcoin.MTX => {
    const mtx = new MTX();
    mtx.version = 2;
    mtx.addCoin(coin);
    mtx.inputs[0].sequence = 0xfffffffe;
    mtx.setLocktime(contract.refundHeight);
    mtx.addOutput(address, coin.value - fee);
    const sig = mtx.signature(0, script, coin.value, ring.privateKey, Script.hashType.ALL, 1);
    mtx.inputs[0].witness.fromItems(refundWitness(sig, script));
    return mtx;
  };
  // Sign once to measure, then again with the exact fee (+1 for DER jitter).
  const fee = feeFor(build(0).getVirtualSize() + 1, rate);
  const mtx = build(fee);
  enforce(!mtx.outputs[0].isDust(bcoin.policy.MIN_RELAY), 'refund-dust');
  return mtx;
}

/** Refund a contract's escrow to our wallet; we must hold the renter key. */
export async function refundContract(ctx: WalletContext, contract: StorageContract,
  coin: bcoin.Coin): Promise<bcoin.TX> {
  const ring = await getEscrowRing(ctx.wallet, contract.renterEscrowKey, ctx.master);
  enforce(ring !== null, 'not-renter', 'the wallet does not hold the renter escrow key');
  // [REJECT] the CLTV branch is not spendable before the refund height
  enforce(ctx.chain.height >= contract.refundHeight, 'refund-too-early',
    `the refund is valid once the chain reaches height ${contract.refundHeight} (now ${ctx.chain.height},`
    + ` ${contract.refundHeight - ctx.chain.height} blocks to go); the node then refunds on its own`);
  return walletLock(ctx.wallet).run(async () => {
    // [REJECT] spent by a tx in the mempool (another refund got there first)
    enforce(!ctx.mempool.isSpent(coin.hash, coin.index), 'escrow-spent');
    const address = await ctx.wallet.receiveAddress(0);
    const tx = buildRefundTX(contract, coin, ring, address, feeRate(ctx)).toTX();
    await submitTX(ctx, tx);
    return tx;
  });
}

/**
 * Vsize of a close with one extra P2WPKH input and its change (the
 * notes measure 269-270 vB): what a fee coin must cover at a fee rate.
 */
const FUNDED_CLOSE_VSIZE = 271;

/**
 * A wallet coin (account 0) to pay a close's fee when the payout cannot:
 * spendable now (a mature coinbase or any other coin, not spent in the
 * mempool), P2WPKH or P2PKH, the smallest that covers a funded close at
 * `rate` with change above dust; with its key. Null if none.
 */
async function feeCoin(ctx: WalletContext, rate: number): Promise<{ coin: bcoin.Coin; ring: bcoin.KeyRing } | null> {
  const need = feeFor(FUNDED_CLOSE_VSIZE, rate) + P2WPKH_DUST;
  const height = ctx.chain.height;
  const coins = (await ctx.wallet.getCoins(0)).filter(coin =>
    coin.value >= need
    && (coin.script.isWitnessPubkeyhash() || coin.script.isPubkeyhash())
    && !(coin.coinbase && (coin.height < 0 || height + 1 - coin.height < COINBASE_MATURITY))
    && !ctx.mempool.isSpent(coin.hash, coin.index)
    // Held by a paid call in flight (lib/negotiator/walletpay.ts)
    && !ctx.wallet.isLocked(coin));
  coins.sort((a, b) => a.value - b.value);
  for (const coin of coins) {
    const address = coin.getAddress();
    // The node's copy of the master key: a host's close is paid while its wallet is locked.
    const ring = address ? await privateKeyOf(ctx.wallet, address, ctx.master ?? ctx.wallet.master) : null;
    if (ring)
      return { coin, ring };
  }
  return null;
}

/** Blocks before a coinbase output may be spent (consensus). */
const COINBASE_MATURITY = 100;

/**
 * The host's close with a channel state: the renter's remainder, the
 * host's payout (to a fresh address of account 0) less the fee at `rate`
 * sat/kvB, which the payout pays, or a wallet coin when the payout alone
 * would be dust after it. Submitted through the wallet, so the
 * resubmitter keeps it alive across reorgs. Throws ContractError
 * `close-needs-funding` (no coin can pay the fee) or `close-uneconomic`
 * (the fee is not below what the state pays: the host would lose money;
 * the renter's refund takes the escrow back instead).
 */
export async function closeContract(ctx: WalletContext, contract: StorageContract, escrow: bcoin.Coin,
  state: ChannelState, ring: bcoin.KeyRing, rate: number): Promise<{ tx: bcoin.TX; amounts: CloseAmounts }> {
  return walletLock(ctx.wallet).run(async () => {
    // [REJECT] spent by a tx in the mempool (another close got there first)
    enforce(!ctx.mempool.isSpent(escrow.hash, escrow.index), 'escrow-spent');
    await walletIdle(ctx.wdb);
    const payout = await ctx.wallet.receiveAddress(0);
    let built;
    try {
      built = buildCloseTX(contract, escrow, state, ring.privateKey, { payout, rate });
    } catch (e) {
      if (!(e instanceof ContractError) || e.code !== 'close-needs-funding')
        throw e;
      // [REJECT] a fee the state does not pay for: no wallet coin is worth adding
      enforce(state.paid > feeFor(FUNDED_CLOSE_VSIZE, rate), 'close-uneconomic',
        `the state pays ${state.paid} sat, not more than a close's fee at ${rate / 1000} sat/vB`);
      const coin = await feeCoin(ctx, rate);
      if (!coin)
        throw new ContractError('close-needs-funding', 'the payout cannot pay the close fee and no wallet coin can');
      built = buildCloseTX(contract, escrow, state, ring.privateKey, { payout, rate, feeCoin: coin });
    }
    // [REJECT] a close that costs the host more than the state pays it
    enforce(built.amounts.host > 0, 'close-uneconomic',
      `the state pays ${state.paid} sat, not more than the close's ${built.amounts.fee} sat fee`);
    const tx = built.tx.toTX();
    await submitTX(ctx, tx);
    return { tx, amounts: built.amounts };
  });
}

/**
 * A rating tx: input 0 spends `coin` (P2WPKH of the rater's identity), the
 * 50-byte OP_RETURN, change back to the identity address.
 */
export function buildRatingTX(coin: bcoin.Coin, identity: Identity, payload: RatingPayload,
  rate: number): bcoin.MTX {
  payload.check();
  const build = (fee: number): bcoin.MTX => {
    const mtx = new MTX();
    mtx.version = 2;
    mtx.addCoin(coin);
    mtx.addOutput(Script.fromNulldata(payload.encode()), 0);
    mtx.addOutput(identity.ring.getAddress(), coin.value - fee);
    mtx.sign(identity.ring);
    return mtx;
  };
  const fee = feeFor(build(0).getVirtualSize() + 1, rate);
  const mtx = build(fee);
  enforce(!mtx.outputs[1].isDust(bcoin.policy.MIN_RELAY), 'rating-dust');
  return mtx;
}

/** Send a rating, funding the identity address from account 0 if needed. */
export async function sendRating(ctx: WalletContext, identity: Identity,
  payload: RatingPayload): Promise<bcoin.TX> {
  const rate = feeRate(ctx);
  // 171 vB measured; a margin covers DER jitter, plus dust for the change.
  const needed = feeFor(200, rate) + 330;
  const program = identity.ring.getProgram().toRaw();
  return walletLock(ctx.wallet).run(async () => {
    await walletIdle(ctx.wdb);
    const coins = (await ctx.wallet.getCoins()).filter(
      coin => coin.script.toRaw().equals(program) && coin.value >= needed);
    coins.sort((a, b) => b.value - a.value);
    let coin = coins[0] ?? null;
    if (!coin) {
      const funding = new MTX();
      funding.version = 2;
      funding.addOutput(identity.ring.getAddress(), Math.max(common.getParams(ctx.network).ratingFund, needed));
      await fund(ctx, funding, rate);
      await ctx.wallet.sign(funding);
      const tx = funding.toTX();
      await submitTX(ctx, tx);
      coin = bcoin.Coin.fromTX(tx, 0, -1);
    }
    const tx = buildRatingTX(coin, identity, payload, rate).toTX();
    await submitTX(ctx, tx);
    return tx;
  });
}
