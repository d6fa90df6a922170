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
