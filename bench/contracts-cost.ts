/*!
 * contracts-cost.ts - on-chain cost of storage contracts, in vbytes.
 *
 * Run: npx tsx bench/contracts-cost.ts [--counts 1,10,100,1000] [--json]
 *
 * Builds and signs real transactions (no node needed): a single
 * commitment, the contracts of one put (1, 10, 100, 1000: 16 per commitment),
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
import { BenchReport, printReport, stringFlag } from './util';

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
const full = signedTX(commitOutputs(Array.from({ length: MAX_BATCH }, (_, i) => contract(i)))).getVirtualSize();

/** vbytes of committing `n` contracts formed by one put (MAX_BATCH per commitment). */
function committed(n: number): { total: number; txs: number } {
  const all = Array.from({ length: n }, (_, i) => contract(i));
  let total = 0;
  let txs = 0;
  for (let i = 0; i < all.length; i += MAX_BATCH) {
    total += signedTX(commitOutputs(all.slice(i, i + MAX_BATCH))).getVirtualSize();
    txs += 1;
  }
  return { total, txs };
}

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

const counts = stringFlag(process.argv, 'counts', '1,10,100,1000').split(',').map(Number);
if (counts.some((n) => !Number.isSafeInteger(n) || n < 1))
  throw new Error('--counts must be whole numbers such as 1,10,100');
const perPut = counts.map((n) => ({ n, ...committed(n) }));
const ratio = (v: number) => (v / base).toFixed(2);
const report: BenchReport = {
  bench: 'contracts-cost',
  notes: [`baseline: a P2WPKH payment, 1 in / 2 out, ${base} vB; commitments batch at most ${MAX_BATCH} contracts per tx; `
    + 'a later file on an open contract is an off-chain revision: 0 vB'],
  tables: [{
    title: 'on-chain cost per put: vbytes per contract (ratio vs the payment)',
    columns: ['contracts per put', 'txs', 'total vB', 'vB per contract', 'x payment'],
    rows: perPut.map((p) => [String(p.n), String(p.txs), String(p.total), (p.total / p.n).toFixed(1), ratio(p.total / p.n)])
  }, {
    title: 'other transactions (vbytes)',
    columns: ['transaction', 'vB', 'x payment'],
    rows: [
      ['single commitment (1 escrow + OP_RETURN + change)', String(single), ratio(single)],
      [`full batch of ${MAX_BATCH} (one tx)`, String(full), ratio(full)],
      ['refund (CLTV branch, 1 in / 1 out)', String(refund), ratio(refund)],
      ['rating (identity in, OP_RETURN 50 B, change)', String(rating), ratio(rating)]
    ]
  }],
  ratios: perPut.map((p) => ({ name: `vB per contract, ${p.n} per put`, value: p.total / p.n / base, baseline: 'a P2WPKH payment', lowerIsBetter: true }))
};
printReport(report);
