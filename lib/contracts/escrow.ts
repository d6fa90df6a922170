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

/**
 * P2WPKH output script of an escrow key: where a channel state returns the
 * renter's remainder (the key is one of the renter wallet's own, so a
 * restore from the seed finds the coin).
 */
export function payoutScript(escrowKey: Buffer): bcoin.Script {
  return bcoin.Script.fromProgram(0, bcoin.KeyRing.fromPublic(escrowKey).getKeyHash());
}

/** Witness of the renter's refund (ELSE branch). */
export function refundWitness(renterSig: Buffer, script: bcoin.Script): Buffer[] {
  return [renterSig, Buffer.alloc(0), script.toRaw()];
}

/** Witness of a two-party spend (IF branch): channel states and closes. */
export function cooperativeWitness(renterSig: Buffer, hostSig: Buffer, script: bcoin.Script): Buffer[] {
  return [renterSig, hostSig, Buffer.from([1]), script.toRaw()];
}

/** The keys and height an escrow witness script names. */
export interface EscrowTerms {
  hostEscrowKey: Buffer;
  renterEscrowKey: Buffer;
  refundHeight: number;
}

/**
 * Read an escrow witness script back (the last item of a spend's
 * witness); null when the script is not exactly the template above. A
 * commitment only proves its escrow outputs are P2WSH, so a spend of one
 * whose record we lack may run any script.
 */
export function parseEscrowScript(raw: Buffer): EscrowTerms | null {
  let script: bcoin.Script;
  try {
    script = bcoin.Script.fromRaw(raw);
  } catch {
    return null;
  }
  const code = script.code;
  if (code.length !== 10)
    return null;
  const host = code[1].data;
  const renter = code[8].data;
  if (!host || !renter || host.length !== 33 || renter.length !== 33)
    return null;
  let refundHeight: number;
  try {
    refundHeight = code[4].toInt(true, 5);
  } catch {
    return null;
  }
  if (!Number.isSafeInteger(refundHeight) || refundHeight < 0)
    return null;
  const rebuilt = escrowScript(host, renter, refundHeight);
  return rebuilt.toRaw().equals(raw) ? { hostEscrowKey: host, renterEscrowKey: renter, refundHeight } : null;
}

/** How an escrow outpoint was spent, read from the spending input's witness. */
export type SpendKind = 'settled' | 'refunded';

/** Witness items of a two-party spend: renterSig, hostSig, selector, script. */
export const COOPERATIVE_ITEMS = 4;

/** Witness items of a refund: renterSig, selector, script. */
export const REFUND_ITEMS = 3;

/**
 * Classify a spend of an escrow output by its witness item count. The
 * selector's value (`01` or empty) is relay policy only (MINIMALIF), so a
 * miner could take the two-party branch with `02`; the count is consensus:
 * witness scripts must leave a clean stack, so the IF branch (two
 * signatures) needs exactly 4 items and the ELSE branch exactly 3. The
 * spend already passed consensus, so no other count reaches us.
 */
export function classifySpend(witness: bcoin.Witness): SpendKind {
  return witness.items.length === COOPERATIVE_ITEMS ? 'settled' : 'refunded';
}
