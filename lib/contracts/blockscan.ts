/*!
 * blockscan.ts - what the contract index reads out of a block's txs.
 *
 * Pure parsing against the consensus-valid block: a commit payload and the
 * escrow outputs it names become a CommitEntry; a rating's rater is the
 * witness key of input 0 when that input spends a P2WPKH output. Nothing
 * here writes; the index decides what to keep.
 */

import bcoin = require('../bcoin');
import { ZERO_KEY } from '../base/consts';
import { enforce } from './errors';
import { parseEscrowScript, payoutScript } from './escrow';
import { decodeCommit } from './payload';
import { CommitEntry, LeafEntry } from './records';

/** Where a tx sits in the chain. */
export interface TXPosition {
  height: number;
  /** Block hash, internal-order hex. */
  block: string;
  /** Index of the tx in its block. */
  index: number;
}

/**
 * The CommitEntry of a commit payload `data` found at output
 * `payloadIndex` of `tx`; throws ContractError if its escrows are not
 * where it says (the index then ignores the payload).
 */
export function parseCommit(tx: bcoin.TX, data: Buffer, payloadIndex: number, at: TXPosition): CommitEntry {
  const p = decodeCommit(data);
  // [IGNORE] escrows past the last output, or overlapping the OP_RETURN
  enforce(p.vout0 + p.count <= tx.outputs.length, 'bad-commit-vout');
  enforce(payloadIndex < p.vout0 || payloadIndex >= p.vout0 + p.count, 'bad-commit-vout');
  const ce = new CommitEntry();
  ce.txid = tx.hash();
  ce.height = at.height;
  ce.block = Buffer.from(at.block, 'hex');
  ce.txIndex = at.index;
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

/**
 * The output `input` spends: from the tx index when it is on, else from
 * the block's undo coins (`view`, loaded once per block by the caller);
 * null if neither has it (the block was disconnected under us).
 */
async function spentOutput(chain: bcoin.Chain, input: bcoin.Input,
  view: () => Promise<bcoin.CoinView>): Promise<bcoin.Output | null> {
  const prev = await chain.db.getTX(input.prevout.hash);
  if (prev)
    return prev.outputs[input.prevout.index] ?? null;
  return (await view()).getOutput(input.prevout);
}

/** What the spend of one escrow moved (sat); see LeafEntry. */
export interface SpendAmounts {
  returned: number;
  paid: number;
  fee: number;
}

/**
 * The amounts of the spend of escrow `leaf` by input `index` of `tx`: the
 * fee is the tx's (inputs less outputs), counted only on its first escrow
 * input (`first`); a settle returns what its outputs pay P2WPKH of the
 * renter escrow key named in the witness script (at most the escrow), a
 * refund returns the escrow less the fee. A spent output neither index
 * has (a block disconnected under us) counts as zero fee.
 */
export async function spendAmounts(chain: bcoin.Chain, tx: bcoin.TX, index: number, leaf: LeafEntry,
  settled: boolean, first: boolean, view: () => Promise<bcoin.CoinView>): Promise<SpendAmounts> {
  let fee = 0;
  if (first) {
    let inputs = 0;
    let known = true;
    for (const input of tx.inputs) {
      const out = await spentOutput(chain, input, view);
      if (!out) {
        known = false;
        break;
      }
      inputs += out.value;
    }
    const outputs = tx.outputs.reduce((sum, out) => sum + out.value, 0);
    fee = known ? Math.max(0, inputs - outputs) : 0;
  }
  if (!settled)
    return { returned: Math.max(0, leaf.value - fee), paid: 0, fee };
  const items = tx.inputs[index].witness.items;
  const terms = parseEscrowScript(items[items.length - 1]);
  let returned = 0;
  if (terms) {
    const renter = payoutScript(terms.renterEscrowKey).toRaw();
    for (const out of tx.outputs) {
      if (out.script.toRaw().equals(renter))
        returned += out.value;
    }
  }
  returned = Math.min(returned, leaf.value);
  return { returned, paid: leaf.value - returned, fee };
}

/** Witness pubkey of input 0 if it spends a P2WPKH output, else ZERO_KEY. */
export async function getRaterKey(chain: bcoin.Chain, tx: bcoin.TX, block: bcoin.Block): Promise<Buffer> {
  const input = tx.inputs[0];
  const items = input.witness.items;
  if (input.script.raw.length !== 0 || items.length !== 2 || items[1].length !== 33)
    return ZERO_KEY;
  // The prevout decides P2WPKH vs a P2WSH with a 33-byte script: from
  // the tx index when it is on, else from the block's undo coins.
  let out: bcoin.Output | null = null;
  const prev = await chain.db.getTX(input.prevout.hash);
  if (prev)
    out = prev.outputs[input.prevout.index] ?? null;
  else
    out = (await chain.getBlockView(block)).getOutput(input.prevout);
  if (!out || !out.script.isWitnessPubkeyhash())
    return ZERO_KEY;
  const program = out.script.getWitnessPubkeyhash();
  const hash160 = bcoin.KeyRing.fromPublic(items[1]).getKeyHash();
  if (!program || !program.equals(hash160))
    return ZERO_KEY;
  return items[1];
}
