/*!
 * escrow.ts - the escrow script every contract locks its value in.
 *
 *   OP_IF <hostEscPk> OP_CHECKSIGVERIFY
 *   OP_ELSE <refundHeight> OP_CHECKLOCKTIMEVERIFY OP_DROP
 *   OP_ENDIF <renterEscPk> OP_CHECKSIG
 *
 * Host and renter together spend at any time (channel states and the
 * cooperative close); the renter alone after the refund height.
 */

import bcoin = require('../bcoin');

/** Build the witness script of an escrow. */
export function escrowScript(hostEscrowKey: Buffer, renterEscrowKey: Buffer, refundHeight: number): bcoin.Script {
  const script = new bcoin.Script();
  script.pushSym('OP_IF');
  script.pushData(hostEscrowKey);
  script.pushSym('OP_CHECKSIGVERIFY');
  script.pushSym('OP_ELSE');
  script.pushInt(refundHeight);
  script.pushSym('OP_CHECKLOCKTIMEVERIFY');
  script.pushSym('OP_DROP');
  script.pushSym('OP_ENDIF');
  script.pushData(renterEscrowKey);
  script.pushSym('OP_CHECKSIG');
  script.compile();
  return script;
}

/** P2WSH output script of an escrow witness script. */
export function escrowOutputScript(script: bcoin.Script): bcoin.Script {
  return bcoin.Script.fromProgram(0, script.sha256());
}

/** P2WSH address of an escrow witness script. */
export function escrowAddress(script: bcoin.Script): bcoin.Address {
  return bcoin.Address.fromWitnessScripthash(script.sha256());
}

/** Witness of the renter's refund (ELSE branch). */
export function refundWitness(renterSig: Buffer, script: bcoin.Script): Buffer[] {
  return [renterSig, Buffer.alloc(0), script.toRaw()];
}

/** Witness of a two-party spend (IF branch): channel states and closes. */
export function cooperativeWitness(renterSig: Buffer, hostSig: Buffer, script: bcoin.Script): Buffer[] {
  return [renterSig, hostSig, Buffer.from([1]), script.toRaw()];
}

/** How an escrow outpoint was spent, read from the spending input's witness. */
export type SpendKind = 'settled' | 'refunded';

/**
 * Classify a spend of an escrow output. The OP_IF selector sits right under
 * the witness script: `01` takes the two-party branch, empty the refund.
 * Consensus already ran the script, so the shape is all that is left.
 */
export function classifySpend(witness: bcoin.Witness): SpendKind {
  const items = witness.items;
  if (items.length >= 2) {
    const selector = items[items.length - 2];
    if (selector.length === 1 && selector[0] === 1)
      return 'settled';
  }
  return 'refunded';
}
