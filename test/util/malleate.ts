// Malleated copies of a legacy payment tx, as a third party (a relaying
// node, a miner) or the payer can make them: the same inputs and outputs,
// other input scripts, another txid (lib/negotiator/paymentkey.ts).
import bcoin = require('../../lib/bcoin');

/** secp256k1's group order. */
const N = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');

function toBig(b: Buffer): bigint {
  return BigInt(`0x${b.toString('hex') || '0'}`);
}

/** A DER integer's bytes: minimal big-endian, a 0 first when the top bit is set. */
function derInt(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2)
    hex = `0${hex}`;
  const b = Buffer.from(hex, 'hex');
  return b[0] & 0x80 ? Buffer.concat([Buffer.alloc(1), b]) : b;
}

/** A DER integer element: tag, length, bytes. */
function derElement(b: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x02, b.length]), b]);
}

/** A DER signature (with its sighash byte) whose S is n - S: as valid under consensus, not standard (LOW_S). */
export function flipS(sig: Buffer): Buffer {
  if (sig[0] !== 0x30 || sig[2] !== 0x02)
    throw new Error('not a DER signature');
  const r = sig.subarray(4, 4 + sig[3]);
  const at = 4 + sig[3];
  if (sig[at] !== 0x02)
    throw new Error('not a DER signature');
  const s = toBig(sig.subarray(at + 2, at + 2 + sig[at + 1]));
  const body = Buffer.concat([derElement(r), derElement(derInt(N - s))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body, sig.subarray(sig.length - 1)]);
}

/**
 * `tx` with the signature of each P2PKH input (scriptSig `<sig> <pubkey>`)
 * S-flipped: what anyone can do to a legacy tx without its keys. The copy
 * is consensus-valid but not standard (a miner takes it: test/util/mineblock.ts).
 */
export function malleate(tx: bcoin.TX): bcoin.TX {
  const copy = bcoin.MTX.fromRaw(tx.toRaw());
  for (const input of copy.inputs) {
    const sig = input.script.getData(0);
    const key = input.script.getData(1);
    if (!sig || !key)
      throw new Error('not a P2PKH input');
    input.script = new bcoin.Script().pushData(flipS(sig)).pushData(key).compile();
  }
  return copy.toTX();
}

/**
 * `tx` signed again by `ring` with SIGHASH_ALL|ANYONECANPAY: what its
 * signer can do; unlike `malleate` the copy is standard (a mempool takes it).
 */
export function signAgain(tx: bcoin.TX, coins: bcoin.Coin[], ring: bcoin.KeyRing): bcoin.TX {
  const copy = bcoin.MTX.fromRaw(tx.toRaw());
  for (const c of coins)
    copy.view.addCoin(c);
  for (const input of copy.inputs) {
    input.script = new bcoin.Script();
    input.witness = new bcoin.Witness();
  }
  copy.sign(ring, bcoin.Script.hashType.ALL | bcoin.Script.hashType.ANYONECANPAY);
  return copy.toTX();
}
