// A malleated copy of a payment is the payment, not a double spend
// (paymentkey.ts, ledgerfiles.ts, PROTOCOL 2.5). With real signed legacy
// txs: a copy whose signature S was flipped (anyone can make it) or that
// was signed again is the same payment; one that changes an output, the
// locktime, a sequence or the version is not; a segwit payment's txid
// does not change with its witness at all. Then the server's ledger over
// an in-memory pair: a copy mined instead of the payment charges nothing
// back and scores nobody, the record follows it (confirmed by its block,
// the copy put back when a reorg takes it out, back to the original when
// the new chain holds that), the same found at start in the chain or the
// mempool; a conflict that pays otherwise is charged back and scored 50.
// Real nodes: test/slow/negotiator-paymalleate-test.ts.
import t from 'tap';
import { randomBytes } from 'crypto';
import bcoin = require('../lib/bcoin');
import { RequestPacket, Payment, paymentTypes } from '../lib/negotiator/envelope';
import type { PaymentHooks, RestoredPayment } from '../lib/negotiator/payment';
import { paymentKey, samePayment } from '../lib/negotiator/paymentkey';
import { serverCodes } from '../lib/negotiator/server';
import type { Service } from '../lib/negotiator/services';
import { outpointsOf } from '../lib/negotiator/walletpay';
import { makePair, network } from './util/negotiator-pair';
import { malleate } from './util/malleate';

const { MANDATORY_VERIFY_FLAGS, STANDARD_VERIFY_FLAGS } = bcoin.Script.flags;
const ring = bcoin.KeyRing.generate(true);
const legacy = ring.getAddress('string', network);
const other = bcoin.KeyRing.generate(true).getAddress('string', network);

/** A confirmed-looking P2PKH coin of `ring`'s. */
function coin(value = 100000): bcoin.Coin {
  const funding = new bcoin.MTX();
  funding.addOutpoint(new bcoin.Outpoint(randomBytes(32).toString('hex'), 0));
  funding.addOutput(legacy, value);
  return bcoin.Coin.fromTX(funding.toTX(), 0, 1);
}

/** `c` spent: `value` to `to`, the rest less 1000 sat back; `tweak` changes the tx before it is signed. */
function pay(c: bcoin.Coin, to: string, value: number, tweak: (mtx: bcoin.MTX) => void = () => {}, type?: number): bcoin.TX {
  const mtx = new bcoin.MTX();
  mtx.addCoin(c);
  mtx.addOutput(to, value);
  mtx.addOutput(legacy, c.value - value - 1000);
  tweak(mtx);
  mtx.sign(ring, type);
  return mtx.toTX();
}

/** Does `tx` verify against `c` under `flags`? */
function valid(tx: bcoin.TX, c: bcoin.Coin, flags: number): boolean {
  const mtx = bcoin.MTX.fromRaw(tx.toRaw());
  mtx.view.addCoin(c);
  return mtx.verify(flags);
}

t.test('paymentKey: what a payment pays, whatever its input scripts', async (t) => {
  const c = coin();
  const p = pay(c, other, 5000);

  t.test('should take a copy with S flipped (anyone can make it) for the same payment', async (t) => {
    const copy = malleate(p);
    t.not(copy.txid(), p.txid(), 'another txid');
    t.ok(valid(copy, c, MANDATORY_VERIFY_FLAGS), 'valid under consensus');
    t.notOk(valid(copy, c, STANDARD_VERIFY_FLAGS), 'not standard (high S): a miner takes it, a mempool does not');
    t.equal(paymentKey(copy), paymentKey(p));
    t.ok(samePayment(p.toRaw(), copy.toRaw()));
  });

  t.test('should take a copy signed again (another sighash type) for the same payment', async (t) => {
    const again = pay(c, other, 5000, () => {}, bcoin.Script.hashType.ALL | bcoin.Script.hashType.ANYONECANPAY);
    t.not(again.txid(), p.txid());
    t.ok(valid(again, c, STANDARD_VERIFY_FLAGS), 'standard');
    t.ok(samePayment(p.toRaw(), again.toRaw()));
  });

  // [name, tx spending the same coin]
  const rows: Array<[string, () => bcoin.TX]> = [
    ['another amount to the same address', () => pay(c, other, 4000)],
    ['the same amount to another address', () => pay(c, bcoin.KeyRing.generate(true).getAddress('string', network), 5000)],
    ['an output more', () => pay(c, other, 5000, (m) => {
      m.outputs[1].value -= 1000;
      m.addOutput(other, 1000);
    })],
    ['another locktime', () => pay(c, other, 5000, (m) => m.setLocktime(100))],
    ['another sequence', () => pay(c, other, 5000, (m) => {
      m.inputs[0].sequence = 0xfffffffe;
    })],
    ['another version', () => pay(c, other, 5000, (m) => {
      m.version = 2;
    })]
  ];
  for (const [name, conflict] of rows) {
    t.test(`should tell ${name} from the payment`, async (t) => {
      t.notOk(samePayment(p.toRaw(), conflict().toRaw()));
    });
  }

  t.test('should refuse bytes that are no tx', async (t) => {
    t.notOk(samePayment(p.toRaw(), Buffer.from('no tx')));
  });

  t.test('should find no copy of a segwit payment: its txid does not cover the witness', async (t) => {
    const w = bcoin.KeyRing.fromPrivate(ring.privateKey, true);
    w.witness = true;
    const funding = new bcoin.MTX();
    funding.addOutpoint(new bcoin.Outpoint(randomBytes(32).toString('hex'), 0));
    funding.addOutput(w.getAddress('string', network), 100000);
    const wc = bcoin.Coin.fromTX(funding.toTX(), 0, 1);
    const mtx = new bcoin.MTX();
    mtx.addCoin(wc);
    mtx.addOutput(other, 5000);
    mtx.sign(w);
    const wp = mtx.toTX();
    const again = bcoin.MTX.fromRaw(wp.toRaw());
    again.view.addCoin(wc);
    again.inputs[0].witness = new bcoin.Witness();
    again.sign(w, bcoin.Script.hashType.ALL | bcoin.Script.hashType.ANYONECANPAY);
    const resigned = again.toTX();
    t.not(resigned.wtxid(), wp.wtxid(), 'another witness');
    t.equal(resigned.txid(), wp.txid(), 'the same txid');
  });
});

const priced: Service = {
  name: 'echo',
  version: 1,
  methods: { echo: { price: 500, handler: (args) => args } }
};

t.test('payments taken and their malleated copies (ledgerfiles.ts)', async (t) => {
  let outcome: RestoredPayment = 'pending';
  let spender: { data: Buffer; confirmed: boolean } | null = null;
  const restored: string[] = [];
  const bans: number[] = [];
  const txid = (data: Buffer) => bcoin.TX.fromRaw(data).txid();
  const hooks: PaymentHooks = {
    id: (data) => txid(data),
    async verify(): Promise<boolean> {
      return true;
    },
    async attach(): Promise<Buffer> {
      throw new Error('not a client here');
    },
    pending: () => true,
    spends: (data) => outpointsOf(bcoin.TX.fromRaw(data)),
    async restore(data): Promise<RestoredPayment> {
      restored.push(txid(data));
      return outcome;
    },
    spender: async () => spender,
    samePayment
  };
  const p = await makePair({}, { deferLimit: 0, height: () => 120, ban: (_peer, score) => bans.push(score) });
  p.b.registerService(priced);
  p.b.setPaymentHooks(hooks);
  const me = p.a.identity;
  const charged: string[] = [];
  p.b.on('double spend', (rec: { id: string }) => charged.push(rec.id));
  const paid = p.b.server.paid;
  const owed = () => p.b.server.credits.get(me.publicKey);
  let n = 0;
  /** A payment of `amount` sat taken for a call of its own (500 sat). */
  const take = async (tx: bcoin.TX, amount = 600) => {
    const r = new RequestPacket();
    r.to = p.b.identity.publicKey;
    r.nonce = p.b.server.nonces.issue(me.publicKey);
    r.service = 'echo';
    r.method = 'echo';
    r.args = Buffer.from(`call ${n++}`);
    r.payment = Payment.from(paymentTypes.ATTACHED, amount, tx.toRaw());
    t.equal((await p.b.server.handle(r.sign(me, network.magic), p.ba)).code, serverCodes.OK, 'taken');
  };
  const block = (tx: bcoin.TX) => ({ id: tx.txid(), spends: outpointsOf(tx), data: () => tx.toRaw() });

  const payment = pay(coin(), other, 600);
  const copy = malleate(payment);
  await take(payment);

  t.test('should take a copy mined instead of the payment for it: nothing charged back, nobody scored', async (t) => {
    p.b.paymentsConnected([block(copy)], 100);
    t.same(charged, [], 'no double spend');
    t.same(bans, [], 'no score');
    t.equal(owed(), 0, 'nothing owed');
    t.equal(paid.get(payment.txid()), null, 'no record under the old txid');
    const rec = paid.get(copy.txid());
    t.equal(rec?.height, 100, 'the record follows the copy, confirmed by its block');
    t.same(rec?.data, copy.toRaw(), 'with the copy\'s bytes');
  });

  t.test('should put the copy back when a reorg takes its block out, and follow the original when the new chain holds it', async (t) => {
    await p.b.paymentsDisconnected(100);
    t.same(restored, [copy.txid()], 'the copy put back');
    t.equal(paid.get(copy.txid())?.height, 0, 'unconfirmed again');
    p.b.paymentsConnected([block(payment)], 100);
    t.equal(paid.get(payment.txid())?.height, 100, 'the original, confirmed');
    t.equal(paid.get(copy.txid()), null);
    t.same(charged, []);
    t.equal(owed(), 0);
  });

  t.test('should follow a copy the mempool or the chain holds when put back (reorg, start)', async (t) => {
    // A reorg takes the original out again; the mempool holds its copy.
    outcome = 'double-spent';
    spender = { data: copy.toRaw(), confirmed: false };
    await p.b.paymentsDisconnected(100);
    t.same(charged, [], 'no double spend');
    t.equal(paid.get(copy.txid())?.height, 0, 'the record follows the copy in the mempool: pending');
    p.b.paymentsConnected([block(copy)], 101);
    t.equal(paid.get(copy.txid())?.height, 101, 'confirmed when the copy confirms');
    // At start, a copy in the chain.
    const a = pay(coin(), other, 600);
    await take(a);
    const aCopy = malleate(a);
    spender = { data: aCopy.toRaw(), confirmed: true };
    await p.b.restorePayments();
    t.same(charged, [], 'no double spend');
    t.equal(paid.get(aCopy.txid())?.height, 120, 'the copy in the chain at start: confirmed at the tip');
    t.equal(owed(), 0);
  });

  t.test('should charge back and score a conflict that pays otherwise', async (t) => {
    const c = coin();
    const b = pay(c, other, 600);
    await take(b);
    const theft = pay(c, legacy, 600);
    p.b.paymentsConnected([block(theft)], 102);
    t.same(charged, [b.txid()], 'charged back');
    t.same(bans, [50], 'its payer scored 50');
    t.equal(owed(), 600, 'owed again');

    // What it owes and the price in one payment.
    const dc = coin();
    const d = pay(dc, other, 1100);
    await take(d, 1100);
    t.equal(owed(), 0, 'paid');
    spender = { data: pay(dc, legacy, 1100).toRaw(), confirmed: true };
    await p.b.restorePayments();
    t.same(charged, [b.txid(), d.txid()], 'found at start in the chain: charged back');
    t.same(bans, [50, 50]);
    t.equal(owed(), 1100);
  });
});
