/*!
 * contracts-cost.ts - on-chain cost of storage contracts, in vbytes.
 *
 * Run: npx tsx bench/contracts-cost.ts
 *
 * Builds and signs real transactions (no node needed): a single
 * commitment, 100 contracts batched 16 per commitment (ceil(100/16) txs),
 * a refund and a rating, against a plain 1-in/2-out P2WPKH payment.
 * Every tx has one P2WPKH funding input and P2WPKH change, as the wallet
 * builds them. Regtest heights (2-byte CLTV push); mainnet adds 1 witness
 * byte per escrow spend, not per commitment.
 */

import bcoin = require('../lib/bcoin');
import { createHash } from 'crypto';
import { buildRatingTX, buildRefundTX, commitOutputs } from '../lib/contracts/builders';
import { MAX_BATCH } from '../lib/contracts/common';
import { RatingPayload } from '../lib/contracts/payload';
import { StorageContract } from '../lib/contracts/storagecontract';
import { Identity } from '../lib/base/identity';

const network = bcoin.Network.get('regtest');

function key(label: string): bcoin.KeyRing {
  const ring = bcoin.KeyRing.fromPrivate(createHash('sha256').update(label).digest(), true);
  ring.witness = true;
  return ring;
}

const payer = key('payer');
let nonce = 0;

/** A confirmed P2WPKH coin of `ring` worth `value`. */
function coinOf(ring: bcoin.KeyRing, value: number): bcoin.Coin {
  const fund = new bcoin.MTX();
  fund.addOutpoint(new bcoin.Outpoint(createHash('sha256').update(`prev ${nonce++}`).digest('hex'), 0));
  fund.addOutput(ring.getAddress(), value);
  return bcoin.Coin.fromTX(fund.toTX(), 0, 500);
}

function contract(i: number): StorageContract {
  const c = new StorageContract({
    network: network.magic,
    renterKey: key('renter').publicKey,
    hostKey: key(`host ${i}`).publicKey,
    renterEscrowKey: key(`renter escrow ${i}`).publicKey,
    hostEscrowKey: key(`host escrow ${i}`).publicKey,
    root: createHash('sha256').update(`root ${i}`).digest(),
    size: 1 << 30,
    startHeight: 500,
    endHeight: 900,
    auditInterval: 10,
    escrowValue: 50000,
    holdback: 2500,
    refundHeight: 912,
    expiryHeight: 510
  });
  return c;
}

/** One input, the given outputs, change; signed; vsize. */
function signedTX(outputs: bcoin.Output[]): bcoin.TX {
  const total = outputs.reduce((s, o) => s + o.value, 0);
  const mtx = new bcoin.MTX();
  mtx.version = 2;
  mtx.addCoin(coinOf(payer, total + 1e6));
  for (const o of outputs)
    mtx.outputs.push(o);
  mtx.addOutput(payer.getAddress(), 1e6 - 2000);
  mtx.sign(payer);
  return mtx.toTX();
}

const payment = signedTX([new bcoin.Output({ address: key('payee').getAddress(), value: 100000 })]);
const base = payment.getVirtualSize();

const single = signedTX(commitOutputs([contract(0)])).getVirtualSize();

const all = Array.from({ length: 100 }, (_, i) => contract(i));
let batchTotal = 0;
let txs = 0;
for (let i = 0; i < all.length; i += MAX_BATCH) {
  batchTotal += signedTX(commitOutputs(all.slice(i, i + MAX_BATCH))).getVirtualSize();
  txs += 1;
}
const perContract = batchTotal / all.length;
const full = signedTX(commitOutputs(all.slice(0, MAX_BATCH))).getVirtualSize();

const c0 = contract(0);
const escrowFund = new bcoin.MTX();
escrowFund.addOutpoint(new bcoin.Outpoint('11'.repeat(32), 0));
escrowFund.addOutput(c0.escrowOutputScript(), c0.escrowValue);
const refund = buildRefundTX(c0, bcoin.Coin.fromTX(escrowFund.toTX(), 0, 500),
  key('renter escrow 0'), payer.getAddress(), 1000).getVirtualSize();

const rater = new Identity(key('renter'), network);
const rating = buildRatingTX(coinOf(rater.ring, 20000), rater, new RatingPayload({
  id: c0.hash(), role: 0, score: 90, passed: 40, commitHeight: 501, commitIndex: 1
}), 1000).getVirtualSize();

const ratio = (v: number) => (v / base).toFixed(2);
const rows: Array<[string, number, string]> = [
  ['baseline: P2WPKH payment, 1 in / 2 out', base, '1.00'],
  ['single commitment (1 escrow + OP_RETURN + change)', single, ratio(single)],
  [`batch of 16 (one tx)`, full, ratio(full)],
  [`100 contracts in ${txs} txs, total`, batchTotal, ratio(batchTotal)],
  ['100 contracts batched, per contract', Math.round(perContract * 10) / 10, ratio(perContract)],
  ['refund (CLTV branch, 1 in / 1 out)', refund, ratio(refund)],
  ['rating (identity in, OP_RETURN 50 B, change)', rating, ratio(rating)]
];
console.log('CloudCoin contracts: on-chain cost (vbytes; ratio vs the baseline payment)\n');
for (const [name, vb, r] of rows)
  console.log(`${name.padEnd(52)} ${String(vb).padStart(8)} vB  x${r}`);
