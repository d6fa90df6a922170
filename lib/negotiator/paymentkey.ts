/*!
 * paymentkey.ts - what a payment tx pays, whatever its input scripts say.
 *
 * A legacy (non-witness) input's scriptSig is not covered by its own
 * signature, so anyone relaying or mining a payment can change it (flip a
 * signature's S to n - S, re-encode a push) and with it the txid; its
 * signer can also sign again. The copy spends the same outputs and pays
 * the same amounts to the same scripts: the host got its money, and the
 * payer double spent nothing (PROTOCOL 2.5). A tx that spends a payment's
 * input is the same payment exactly when its version, every input's
 * prevout and sequence, every output and its locktime are the payment's:
 * the txid of the tx with every input script and witness emptied.
 */

import bcoin = require('../bcoin');

/** The payment `tx` makes: its txid (RPC order) with every input script and witness emptied. */
export function paymentKey(tx: bcoin.TX): string {
  const bare = new bcoin.TX();
  bare.version = tx.version;
  bare.locktime = tx.locktime;
  for (const input of tx.inputs) {
    const copy = new bcoin.Input();
    copy.prevout = new bcoin.Outpoint(input.prevout.hash, input.prevout.index);
    copy.sequence = input.sequence;
    bare.inputs.push(copy);
  }
  for (const output of tx.outputs)
    bare.outputs.push(new bcoin.Output({ value: output.value, script: output.script }));
  return bare.txid();
}

/** Do raw txs `a` and `b` make the same payment (one a malleated copy of the other)? False when either is no tx. */
export function samePayment(a: Buffer, b: Buffer): boolean {
  try {
    return paymentKey(bcoin.TX.fromRaw(a)) === paymentKey(bcoin.TX.fromRaw(b));
  } catch {
    return false;
  }
}
