/*!
 * wallettxrpc.ts - the wallet's transaction and balance RPCs answered as
 * bitcoind's: gettransaction, getbalance, getbalances, getwalletinfo's
 * balances, listtransactions, listsinceblock and listunspent.
 *
 * bcoin 1.0.2's answers misled a user: gettransaction of any send threw
 * "Invalid integer value" (it reads a `fee` field its Details record does
 * not have), getbalance counted immature coinbase and ignored the wallet's
 * own unconfirmed spends, listunspent listed immature coinbase,
 * listtransactions gave the oldest N with no fee on sends, and
 * listsinceblock without a hash read a chain object its RPC does not have.
 * The rules below are Bitcoin Core's (src/wallet/receive.cpp for the
 * balances and what a tx sends and receives, src/wallet/rpc/coins.cpp and
 * src/wallet/rpc/transactions.cpp for the answers), applied to bcoin's
 * wallet records: a path on an input or output means the wallet owns it,
 * branch 1 is change.
 */

import bcoin = require('../bcoin');
import { RPCError, rpcCodes } from '../base/errors';
import { positionLabel, usageNames } from '../base/rpc';

type WalletRPC = bcoin.WalletPlugin['rpc'];
type JSONEntry = Record<string, unknown>;

const GETTRANSACTION = 'gettransaction "txid" ( include_watchonly )\n'
  + 'A wallet tx: amount (net, less the fee), fee (negative, on sends), confirmations, details (category send, receive,\n'
  + 'generate, immature; address, amount, vout, fee on sends) and hex, as bitcoind\'s.';
const GETBALANCE = 'getbalance ( "dummy" minconf include_watchonly )\n'
  + 'The trusted balance, as bitcoind\'s: confirmed coins and the wallet\'s own unconfirmed change, less its unconfirmed\n'
  + 'spends, without immature coinbase (getbalances). dummy: "*" (or left out) for the whole wallet, or a bcoin account name;\n'
  + 'minconf (default 0): only coins with at least this many confirmations.';
const GETBALANCES = 'getbalances\nThe wallet\'s balances in BTC, as bitcoind\'s: mine.trusted (getbalance), mine.untrusted_pending '
  + '(unconfirmed coins others sent),\nmine.immature (coinbase not yet spendable), and the last block the wallet processed.';
const LISTTRANSACTIONS = 'listtransactions ( "label" count skip include_watchonly )\n'
  + 'The most recent count (default 10) entries, oldest first, after skipping the skip most recent; "*" (default) for every\n'
  + 'label, or one label for only its incoming entries. Sends are negative and carry the (negative) fee, as bitcoind\'s.';
const LISTSINCEBLOCK = 'listsinceblock ( "blockhash" target_confirmations include_watchonly include_removed )\n'
  + 'Every wallet tx in blocks after blockhash (all without one) and the unconfirmed ones; "removed": those of blocks\n'
  + 'since reorganised away; "lastblock": the block target_confirmations (default 1, the tip) deep, for the next call.';

/** bitcoind's answer for a txid the wallet does not have (gettransaction, src/wallet/rpc/transactions.cpp). */
const NOT_IN_WALLET = 'Invalid or non-wallet transaction id';

/** BTC as a JSON number, from sat. */
function btc(sat: number): number {
  return sat / 1e8;
}

/** Display-order hex of a bcoin internal-order hash (and back: the same byte reversal). */
function revHex(hex: string): string {
  return Buffer.from(hex, 'hex').reverse().toString('hex');
}

/**
 * Positional params checked as bcoin's Validator does for its wallet
 * methods (JSON types, no strings for numbers), named in bitcoind's words
 * (`Position 2 (minconf) must be a int.`).
 */
class Args {
  private readonly names: Array<string | null>;

  constructor(private readonly args: unknown[], usage: string) {
    this.names = usageNames(usage);
  }

  private bad(i: number, what: string): RPCError {
    return new RPCError(rpcCodes.TYPE_ERROR, `${positionLabel(i, this.names[i])} must be a ${what}.`);
  }

  private given(i: number): boolean {
    return this.args[i] !== undefined && this.args[i] !== null;
  }

  str(i: number): string | null {
    if (!this.given(i))
      return null;
    if (typeof this.args[i] !== 'string')
      throw this.bad(i, 'string');
    return this.args[i] as string;
  }

  int(i: number, fallback: number): number {
    if (!this.given(i))
      return fallback;
    const v = this.args[i];
    if (typeof v !== 'number' || !Number.isSafeInteger(v))
      throw this.bad(i, 'int');
    return v;
  }

  bool(i: number, fallback: boolean): boolean {
    if (!this.given(i))
      return fallback;
    const v = this.args[i];
    // bitcoind (and bval) take 1 and 0 too.
    if (v === 1 || v === 0)
      return v === 1;
    if (typeof v !== 'boolean')
      throw this.bad(i, 'boolean');
    return v;
  }

  /** A txid or block hash as displayed, in bcoin's internal order. */
  hash(i: number): string | null {
    const v = this.str(i);
    if (v === null)
      return null;
    if (!/^[0-9a-f]{64}$/i.test(v))
      throw this.bad(i, 'hex string');
    return revHex(v.toLowerCase());
  }
}

/** Throw the usage (bcoin's way: paramerrors.ts turns it into bitcoind's count error) on help or a wrong count. */
function checkCount(args: unknown, help: boolean, max: number, usage: string, min = 0): unknown[] {
  if (help || !Array.isArray(args) || args.length > max || args.length < min)
    throw new RPCError(rpcCodes.MISC_ERROR, usage);
  return args;
}

/** An output the wallet sent or received (bitcoind's COutputEntry). */
interface OutputEntry {
  address: string | null;
  value: number;
  vout: number;
  /** The receiving address's label; null for an address the wallet does not own or for change. */
  label: string | null;
}

/** What a tx took from and gave to the wallet (bitcoind's CachedTxGetAmounts, src/wallet/receive.cpp). */
interface Amounts {
  /** Sum of the wallet's own inputs, sat. */
  debit: number;
  /** Sum of the wallet's own outputs, change included, sat. */
  credit: number;
  valueOut: number;
  /** The wallet paid into it: bitcoind's IsFromMe (debit > 0). */
  fromMe: boolean;
  /** debit - outputs when from the wallet, sat (positive), else 0. */
  fee: number;
  sent: OutputEntry[];
  received: OutputEntry[];
}

/**
 * bitcoind labels an address in its address book; getnewaddress without
 * a label files it under "". cloudcoind's getnewaddress gives bcoin's
 * "default" account's addresses, so that account reads as "" and any other
 * as its name. Change is in no address book: no label.
 */
function labelOf(member: bcoin.DetailsMember): string | null {
  if (!member.path || member.path.branch !== 0)
    return null;
  return member.path.name === 'default' ? '' : member.path.name;
}

/** One view of the wallet for one call: depths against the same height, trust and block positions cached. */
class WalletView {
  readonly wallet: bcoin.Wallet;
  readonly height: number;
  private readonly node: bcoin.FullNode;
  private readonly network: bcoin.Network;
  private readonly trust = new Map<string, boolean>();
  private readonly positions = new Map<string, Map<string, number>>();

  constructor(rpc: WalletRPC, network: bcoin.Network) {
    this.wallet = rpc.wallet;
    this.height = rpc.wdb.state.height;
    this.node = rpc.client.node;
    this.network = network;
  }

  get chain(): bcoin.Chain {
    return this.node.chain;
  }

  depth(wtx: { height: number }): number {
    if (wtx.height === -1 || wtx.height > this.height)
      return 0;
    return this.height - wtx.height + 1;
  }

  /**
   * bitcoind's IsTxImmatureCoinBase: a coinbase is valued once it is 101
   * deep (GetBlocksToMaturity: COINBASE_MATURITY + 1 - depth). bcoin's
   * coin selector already spends it at 100 deep; the balance errs low.
   */
  immature(coinbase: boolean, depth: number): boolean {
    return coinbase && bcoin.consensus.COINBASE_MATURITY + 1 - depth > 0;
  }

  amounts(details: bcoin.Details): Amounts {
    let debit = 0;
    for (const input of details.inputs) {
      if (input.path)
        debit += input.value;
    }
    const fromMe = debit > 0;
    let valueOut = 0;
    let credit = 0;
    const sent: OutputEntry[] = [];
    const received: OutputEntry[] = [];
    details.outputs.forEach((member, vout) => {
      valueOut += member.value;
      if (member.path)
        credit += member.value;
      // A tx the wallet paid for: its change is neither sent nor received.
      if (fromMe && member.path && member.path.branch === 1)
        return;
      if (!fromMe && !member.path)
        return;
      const entry = { address: member.address ? member.address.toString(this.network) : null, value: member.value, vout,
        label: labelOf(member) };
      if (fromMe)
        sent.push(entry);
      if (member.path)
        received.push(entry);
    });
    return { debit, credit, valueOut, fromMe, fee: fromMe ? debit - valueOut : 0, sent, received };
  }

  /**
   * bitcoind's CachedTxIsTrusted: confirmed, or unconfirmed, in the
   * mempool, every input the wallet's own output of a trusted tx (its own
   * change, never coins someone else may double-spend).
   */
  async trusted(wtx: bcoin.TXRecord): Promise<boolean> {
    if (this.depth(wtx) >= 1)
      return true;
    const known = this.trust.get(wtx.hash);
    if (known !== undefined)
      return known;
    this.trust.set(wtx.hash, false);
    let ok = this.node.mempool.hasEntry(wtx.hash);
    const details = ok ? await this.wallet.toDetails(wtx) : null;
    ok = details !== null && details.inputs.length > 0;
    for (let i = 0; ok && details && i < details.inputs.length; i++) {
      const parent = details.inputs[i].path ? await this.wallet.getTX(wtx.tx.inputs[i].prevout.hash) : null;
      ok = parent !== null && await this.trusted(parent);
    }
    this.trust.set(wtx.hash, ok);
    return ok;
  }

  /**
   * The wallet's balances in sat (bitcoind's GetBalance): trusted coins
   * at least `minconf` deep, untrusted unconfirmed ones in the mempool,
   * and immature coinbase. A coin an unconfirmed wallet tx spends is
   * spent (bcoin's Credit#spent).
   */
  async balances(account: string | null, minconf: number): Promise<{ trusted: number; pending: number; immature: number }> {
    const out = { trusted: 0, pending: 0, immature: 0 };
    for (const credit of await this.wallet.getCredits(account)) {
      const coin = credit.coin;
      const depth = this.depth(coin);
      // A coinbase out of the main chain (its block left by a reorg) is
      // worth nothing (bitcoind's CachedTxGetImmatureCredit: IsTxInMainChain).
      if (coin.coinbase && depth === 0)
        continue;
      if (this.immature(coin.coinbase, depth)) {
        out.immature += coin.value;
        continue;
      }
      if (credit.spent)
        continue;
      const wtx = depth === 0 ? await this.wallet.getTX(coin.hash) : null;
      if (depth >= 1 || (wtx && await this.trusted(wtx))) {
        if (depth >= minconf)
          out.trusted += coin.value;
      } else if (this.node.mempool.hasEntry(coin.hash)) {
        out.pending += coin.value;
      }
    }
    return out;
  }

  /** A confirmed tx's position in its block (bcoin's record keeps none): read from the block, once per block. */
  private async position(wtx: bcoin.TXRecord): Promise<number> {
    if (wtx.tx.isCoinbase() || !wtx.block)
      return 0;
    let map = this.positions.get(wtx.block);
    if (!map) {
      map = new Map();
      const block = await this.chain.getBlock(wtx.block);
      block?.txs.forEach((tx, i) => map!.set(tx.hash('hex'), i));
      this.positions.set(wtx.block, map);
    }
    return map.get(wtx.hash) ?? -1;
  }

  /** bitcoind's WalletTxToJSON: the fields every tx answer shares. */
  async txJSON(wtx: bcoin.TXRecord): Promise<JSONEntry> {
    const confirmations = this.depth(wtx);
    const out: JSONEntry = { confirmations };
    if (wtx.tx.isCoinbase())
      out.generated = true;
    if (confirmations > 0 && wtx.block) {
      out.blockhash = revHex(wtx.block);
      out.blockheight = wtx.height;
      out.blockindex = await this.position(wtx);
      out.blocktime = wtx.time;
    } else {
      out.trusted = await this.trusted(wtx);
    }
    out.txid = wtx.tx.txid();
    out.wtxid = wtx.tx.wtxid();
    out.walletconflicts = [];
    out.time = wtx.mtime;
    out.timereceived = wtx.mtime;
    let rbf = 'no';
    if (confirmations === 0)
      rbf = wtx.tx.isRBF() ? 'yes' : this.node.mempool.hasEntry(wtx.hash) ? 'no' : 'unknown';
    out['bip125-replaceable'] = rbf;
    return out;
  }

  /**
   * bitcoind's ListTransactions: a send entry per output the wallet paid
   * (change left out) with the fee, then a receive entry per output it
   * owns; with `long`, each with the tx's fields. A label keeps only the
   * receive entries of that label.
   */
  async entries(wtx: bcoin.TXRecord, long: boolean, label: string | null): Promise<JSONEntry[]> {
    const details = await this.wallet.toDetails(wtx);
    if (!details)
      return [];
    const a = this.amounts(details);
    const common = long ? await this.txJSON(wtx) : {};
    const out: JSONEntry[] = [];
    if (label === null) {
      for (const s of a.sent) {
        out.push({ ...(s.address ? { address: s.address } : {}), category: 'send', amount: -btc(s.value),
          ...(s.label !== null ? { label: s.label } : {}), vout: s.vout, fee: -btc(a.fee), ...common, abandoned: false });
      }
    }
    const depth = this.depth(wtx);
    for (const r of a.received) {
      if (label !== null && r.label !== label)
        continue;
      let category = 'receive';
      if (wtx.tx.isCoinbase())
        category = depth < 1 ? 'orphan' : this.immature(true, depth) ? 'immature' : 'generate';
      out.push({ ...(r.address ? { address: r.address } : {}), category, amount: btc(r.value),
        ...(r.label !== null ? { label: r.label } : {}), vout: r.vout, ...common });
    }
    return out;
  }

  /**
   * Every wallet tx in the order bitcoind keeps (nOrderPos: when the
   * wallet first saw it): bcoin's mtime, then block height (unconfirmed
   * last), then position in the block; bcoin lists by hash.
   */
  async history(): Promise<bcoin.TXRecord[]> {
    const txs = await this.wallet.getHistory();
    const height = (w: bcoin.TXRecord) => (w.height === -1 ? Number.MAX_SAFE_INTEGER : w.height);
    // Only txs that tie on both need their block read.
    const ties = new Map<string, number>();
    const tie = (w: bcoin.TXRecord) => `${w.mtime}:${w.height}`;
    for (const w of txs)
      ties.set(tie(w), (ties.get(tie(w)) ?? 0) + 1);
    const pos = new Map<string, number>();
    for (const w of txs) {
      if (w.height !== -1 && ties.get(tie(w))! > 1)
        pos.set(w.hash, await this.position(w));
    }
    return txs.sort((a, b) => a.mtime - b.mtime || height(a) - height(b) || (pos.get(a.hash) ?? 0) - (pos.get(b.hash) ?? 0)
      || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  }
}

/** The blocks from `entry` back to where it meets the main chain (none for a main-chain block), and the height there. */
async function offMainChain(chain: bcoin.Chain, entry: bcoin.ChainEntry): Promise<{ fork: number; blocks: string[] }> {
  const blocks: string[] = [];
  let e: bcoin.ChainEntry | null = entry;
  while (e && !await chain.isMainChain(e)) {
    blocks.push(e.hash);
    e = await chain.getEntry(e.prevBlock);
  }
  return { fork: e ? e.height : -1, blocks };
}

/** Install the wallet tx and balance RPCs on bcoin's wallet RPC (fixWalletRPC calls this). */
export function fixWalletTxRPC(walletRPC: WalletRPC, network: bcoin.Network): void {
  const view = () => new WalletView(walletRPC, network);
  const calls = walletRPC.calls;

  calls.gettransaction = async (args, help) => {
    const p = new Args(checkCount(args, help, 2, GETTRANSACTION, 1), GETTRANSACTION);
    const hash = p.hash(0);
    p.bool(1, false);
    if (hash === null)
      throw new RPCError(rpcCodes.TYPE_ERROR, `${positionLabel(0, 'txid')} must be a hex string.`);
    const v = view();
    const wtx = await v.wallet.getTX(hash);
    const details = wtx ? await v.wallet.toDetails(wtx) : null;
    if (!wtx || !details)
      throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, NOT_IN_WALLET);
    // bitcoind's gettransaction: amount = credit - debit - fee, where fee
    // = outputs - debit on a tx the wallet paid (so a send reads as the
    // amount sent, negative), and an immature coinbase is valued at 0
    // until it matures (CachedTxGetCredit).
    const a = v.amounts(details);
    const credit = v.immature(wtx.tx.isCoinbase(), v.depth(wtx)) ? 0 : a.credit;
    const fee = a.fromMe ? a.valueOut - a.debit : 0;
    const out: JSONEntry = { amount: btc(credit - a.debit - fee) };
    if (a.fromMe)
      out.fee = btc(fee);
    Object.assign(out, await v.txJSON(wtx));
    out.details = await v.entries(wtx, false, null);
    out.hex = wtx.tx.toRaw().toString('hex');
    return out;
  };

  calls.getbalance = async (args, help) => {
    const p = new Args(checkCount(args, help, 3, GETBALANCE), GETBALANCE);
    let account = p.str(0);
    // bitcoind (0.19+, src/wallet/rpc/coins.cpp) counts trusted coins
    // with minconf 0 by default; bcoin counted every confirmed coin,
    // immature coinbase included, with minconf 1.
    const minconf = p.int(1, 0);
    const v = view();
    const watchOnly = p.bool(2, v.wallet.watchOnly);
    if (account === '*')
      account = null;
    else if (account === '')
      account = 'default';
    if (account !== null && !await v.wallet.hasAccount(account))
      throw new RPCError(rpcCodes.INVALID_PARAMETER, `dummy must be "*" or left out (or a bcoin account name: no account "${account}")`);
    // A watch-only wallet's coins are all watch-only: counted only when asked for (bitcoind's default for such a wallet).
    if (v.wallet.watchOnly && !watchOnly)
      return 0;
    return btc((await v.balances(account, minconf)).trusted);
  };

  calls.getbalances = async (args, help) => {
    checkCount(args, help, 0, GETBALANCES);
    const v = view();
    const b = await v.balances(null, 0);
    const tip = await v.chain.getEntryByHeight(v.height);
    return {
      mine: { trusted: btc(b.trusted), untrusted_pending: btc(b.pending), immature: btc(b.immature) },
      lastprocessedblock: { hash: tip ? tip.rhash() : null, height: v.height }
    };
  };

  // bitcoind's getwalletinfo: balance is getbalance's (trusted),
  // unconfirmed_balance the untrusted pending, immature_balance the rest;
  // bcoin gave the unconfirmed total as both.
  const info = calls.getwalletinfo;
  calls.getwalletinfo = async function getWalletInfo(this: unknown, args, help) {
    const result = await info.call(this, args, help) as JSONEntry;
    const b = await view().balances(null, 0);
    const out: JSONEntry = {};
    for (const [k, value] of Object.entries(result)) {
      if (k === 'balance')
        out.balance = btc(b.trusted);
      else if (k === 'unconfirmed_balance')
        Object.assign(out, { unconfirmed_balance: btc(b.pending), immature_balance: btc(b.immature) });
      else
        out[k] = value;
    }
    return out;
  };

  calls.listtransactions = async (args, help) => {
    const p = new Args(checkCount(args, help, 4, LISTTRANSACTIONS), LISTTRANSACTIONS);
    const label = p.str(0) ?? '*';
    const count = p.int(1, 10);
    const skip = p.int(2, 0);
    p.bool(3, false);
    if (count < 0)
      throw new RPCError(rpcCodes.INVALID_PARAMETER, 'Negative count');
    if (skip < 0)
      throw new RPCError(rpcCodes.INVALID_PARAMETER, 'Negative from');
    // bitcoind (listtransactions, src/wallet/rpc/transactions.cpp) walks
    // from the newest tx back until it has skip + count entries, then
    // answers that window oldest first.
    const v = view();
    const txs = await v.history();
    const newestFirst: JSONEntry[] = [];
    for (let i = txs.length - 1; i >= 0 && newestFirst.length < skip + count; i--)
      newestFirst.push(...await v.entries(txs[i], true, label === '*' ? null : label));
    return newestFirst.slice(skip, skip + count).reverse();
  };

  calls.listsinceblock = async (args, help) => {
    const p = new Args(checkCount(args, help, 4, LISTSINCEBLOCK), LISTSINCEBLOCK);
    const hash = p.hash(0);
    const target = p.int(1, 1);
    p.bool(2, false);
    const includeRemoved = p.bool(3, true);
    if (target < 1)
      throw new RPCError(rpcCodes.INVALID_PARAMETER, 'Invalid parameter');
    const v = view();
    // bitcoind: txs less deep than the block's height (or where a block
    // that left the main chain forked from it) are listed, unconfirmed
    // ones too; the left blocks' wallet txs go in "removed".
    let depth = -1;
    let left: string[] = [];
    if (hash !== null) {
      const entry = await v.chain.getEntry(hash);
      if (!entry)
        throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, 'Block not found');
      const { fork, blocks } = await offMainChain(v.chain, entry);
      depth = v.height + 1 - fork;
      left = blocks;
    }
    const transactions: JSONEntry[] = [];
    for (const wtx of await v.history()) {
      if (depth === -1 || v.depth(wtx) < depth)
        transactions.push(...await v.entries(wtx, true, null));
    }
    const removed: JSONEntry[] = [];
    for (const blockHash of includeRemoved ? left : []) {
      const block = await v.chain.getBlock(blockHash);
      for (const tx of block ? block.txs : []) {
        const wtx = await v.wallet.getTX(tx.hash('hex'));
        if (wtx)
          removed.push(...await v.entries(wtx, true, null));
      }
    }
    const last = await v.chain.getEntryByHeight(Math.max(0, v.height + 1 - target));
    return { transactions, ...(includeRemoved ? { removed } : {}), lastblock: last ? last.rhash() : null };
  };

  // bitcoind's listunspent lists only coins it could spend now: no
  // immature coinbase (AvailableCoins, src/wallet/spend.cpp).
  const unspent = calls.listunspent;
  calls.listunspent = async function listUnspent(this: unknown, args, help) {
    const result = await unspent.call(this, args, help) as Array<{ txid: string; vout: number }>;
    const v = view();
    const immature = new Set<string>();
    for (const coin of await v.wallet.getCoins()) {
      if (v.immature(coin.coinbase, v.depth(coin)))
        immature.add(`${revHex(coin.hash)}:${coin.index}`);
    }
    return result.filter((c) => !immature.has(`${c.txid}:${c.vout}`));
  };
}
