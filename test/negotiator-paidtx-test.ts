// The server's rules for attached payments (PROTOCOL 2.5, server.ts and
// paidtx.ts), keyed by outcome, over an in-memory pair with payment hooks
// whose "transactions" are named byte strings: a payment credited once
// per call, a retry of the same call served at most twice, replays and
// false claims refused with their ban scores, the unconfirmed limit, and
// the charge-back of a double-spent payment. Wallet transactions on real
// nodes: test/slow/negotiator-payabuse-test.ts.
import t from 'tap';
import { RequestPacket, Payment, paymentTypes } from '../lib/negotiator/envelope';
import type { PaymentHooks, PaymentVerdict, RestoredPayment } from '../lib/negotiator/payment';
import { serverCodes } from '../lib/negotiator/server';
import { statuses, readAmountBody } from '../lib/negotiator/status';
import type { Service } from '../lib/negotiator/services';
import type { Identity } from '../lib/base/identity';
import { makePair, fixedIdentity, network, type Pair } from './util/negotiator-pair';
import { stretched, WAIT_TIMEOUT_MS } from './util/wait';

/** `tx:NAME:SAT`: a payment named NAME paying SAT; anything else is no payment. */
function tx(name: string, sat: number): Buffer {
  return Buffer.from(`tx:${name}:${sat}`, 'latin1');
}

function parse(data: Buffer): { name: string; sat: number } | null {
  const m = /^tx:(\w+):(\d+)$/.exec(data.toString('latin1'));
  return m ? { name: m[1], sat: Number(m[2]) } : null;
}

/** Hooks over named payments; `pending` holds those still unconfirmed. */
function hooks(pending: Set<string>): PaymentHooks {
  return {
    id: (data) => parse(data)?.name ?? null,
    async verify(_from, amount, data): Promise<PaymentVerdict> {
      const p = parse(data);
      if (!p)
        return 'malformed';
      if (p.sat < amount)
        return 'underpays';
      pending.add(p.name);
      return true;
    },
    async attach(): Promise<Buffer> {
      throw new Error('not a client here');
    },
    pending: (id) => pending.has(id)
  };
}

const priced: Service = {
  name: 'echo',
  version: 1,
  methods: { echo: { price: 500, handler: (args) => args }, other: { price: 500, handler: () => Buffer.alloc(0) } }
};

function call(p: Pair, from: Identity, method: string, args: string, pay: Payment): RequestPacket {
  const r = new RequestPacket();
  r.to = p.b.identity.publicKey;
  r.nonce = p.b.server.nonces.issue(from.publicKey);
  r.service = 'echo';
  r.method = method;
  r.args = Buffer.from(args);
  r.payment = pay;
  return r.sign(from, network.magic);
}

t.test('attached payments at the server', async (t) => {
  const pending = new Set<string>();
  const p = await makePair({}, { unconfirmedLimit: 1500 });
  p.b.registerService(priced);
  p.b.setPaymentHooks(hooks(pending));
  const me = p.a.identity;
  const other = fixedIdentity(7);
  const attached = (data: Buffer, amount: number) => Payment.from(paymentTypes.ATTACHED, amount, data);
  const handle = (r: RequestPacket) => p.b.server.handle(r, p.ba);

  // [name, request, code, score]
  const rows: Array<[string, () => RequestPacket, string, number]> = [
    ['an honest payment is served', () => call(p, me, 'echo', 'x', attached(tx('a', 600), 600)), serverCodes.OK, 0],
    ['a retry of the same call is served', () => call(p, me, 'echo', 'x', attached(tx('a', 600), 600)), serverCodes.OK, 0],
    ['a second retry too', () => call(p, me, 'echo', 'x', attached(tx('a', 600), 600)), serverCodes.OK, 0],
    ['a third retry is refused, unscored', () => call(p, me, 'echo', 'x', attached(tx('a', 600), 600)),
      serverCodes.PAYMENT_INVALID, 0],
    ['the payment for other args is a replay', () => call(p, me, 'echo', 'y', attached(tx('a', 600), 600)),
      serverCodes.PAYMENT_INVALID, 20],
    ['the payment for another method is a replay', () => call(p, me, 'other', 'x', attached(tx('a', 600), 600)),
      serverCodes.PAYMENT_INVALID, 20],
    ['the payment from another identity is a replay', () => call(p, other, 'echo', 'x', attached(tx('a', 600), 600)),
      serverCodes.PAYMENT_INVALID, 20],
    ['a claim above what it pays is refused, scored', () => call(p, me, 'echo', 'x', attached(tx('b', 400), 600)),
      serverCodes.PAYMENT_INVALID, 20],
    ['bytes that are no payment are refused, scored', () => call(p, me, 'echo', 'x', attached(Buffer.from('junk'), 600)),
      serverCodes.PAYMENT_INVALID, 20],
    ['past the unconfirmed limit: unconfirmed, unscored', () => call(p, me, 'echo', 'z', attached(tx('c', 1000), 1000)),
      serverCodes.UNCONFIRMED, 0]
  ];
  for (const [name, req, code, score] of rows) {
    const h = await handle(req());
    t.equal(h.code, code, name);
    t.equal(h.score ?? 0, score, `${name}: score ${score}`);
  }

  t.test('should say what is unconfirmed, and serve once it confirmed', async (t) => {
    const h = await handle(call(p, me, 'echo', 'z', attached(tx('c', 1000), 1000)));
    t.equal(h.response.status, statuses.UNCONFIRMED);
    t.equal(readAmountBody(h.response.body), 600);
    pending.delete('a');
    t.equal((await handle(call(p, me, 'echo', 'z', attached(tx('c', 1000), 1000)))).code, serverCodes.OK);
  });

  t.test('should charge back a double-spent payment until it is paid again', async (t) => {
    const rec = p.b.server.doubleSpent('c');
    t.equal(rec?.amount, 1000);
    t.equal(p.b.server.doubleSpent('c'), null, 'once');
    t.equal(p.b.server.doubleSpent('nosuch'), null, 'a tx that paid nothing here');
    const deferred = await handle(call(p, me, 'echo', 'w', Payment.from(paymentTypes.DEFER, 500)));
    t.equal(deferred.code, serverCodes.PLEASE_PAY, 'no deferral while it owes a charged-back payment');
    t.equal(readAmountBody(deferred.response.body), 1000);
    const short = await handle(call(p, me, 'echo', 'w', attached(tx('d', 500), 500)));
    t.equal(short.code, serverCodes.PLEASE_PAY, 'the price alone is not enough');
    const replay = await handle(call(p, me, 'echo', 'z', attached(tx('c', 1000), 1000)));
    t.equal(replay.code, serverCodes.PLEASE_PAY, 'nor the double-spent tx again');
    pending.clear();
    t.equal((await handle(call(p, me, 'echo', 'w', attached(tx('e', 1500), 1500)))).code, serverCodes.OK, 'price + owed');
    t.equal(p.b.server.credits.get(me.publicKey), 0, 'paid');
    t.equal((await handle(call(p, me, 'echo', 'v', Payment.from(paymentTypes.DEFER, 500)))).code, serverCodes.OK,
      'deferral again');
  });
});

t.test('a paid call that goes unanswered', async (t) => {
  const pending = new Set<string>();
  const p = await makePair({}, { deferLimit: 0 });
  let hang = true;
  p.b.registerService({
    name: 'slow',
    version: 1,
    methods: {
      get: { price: 500, handler: () => hang ? new Promise<Buffer>(() => {}) : Promise.resolve(Buffer.from('done')) }
    }
  });
  p.b.setPaymentHooks(hooks(pending));
  const made: Buffer[] = [];
  const unanswered: Buffer[] = [];
  const taken: Buffer[] = [];
  let outcome: 'kept' | 'abandoned' = 'kept';
  p.a.setPaymentHooks({
    async verify(): Promise<PaymentVerdict> {
      return false;
    },
    async attach(_to, amount): Promise<Buffer> {
      made.push(tx(`p${made.length}`, amount));
      return made[made.length - 1];
    },
    async unanswered(data): Promise<'kept' | 'abandoned'> {
      unanswered.push(data);
      return outcome;
    },
    async taken(data): Promise<void> {
      taken.push(data);
    }
  });
  // A call the server leaves unanswered ends at a deadline that covers the rounds before the
  // payment (too-low, then attached) at the paced csreq rate, stretched by the machine's load
  // (a fixed 2 s failed at load 22); a call the server answers gets the ordinary wait.
  const ask = (timeout = stretched(2000)) =>
    p.a.request(p.ab, 'slow', 'get', Buffer.from('q'), { maxPayment: 500, prefer: 'attached', timeout });
  await p.a.request(p.ab, 'slow', 'version');

  t.test('should hand the payment to the hooks, then present it again on a retry', async (t) => {
    await t.rejects(ask(), { code: 'timeout' });
    t.equal(made.length, 1, 'paid once');
    t.same(unanswered, [made[0]], 'the hooks were told');
    t.same(taken, [], 'not taken: nobody answered (the payer records it only once the server took it)');
    hang = false;
    const res = await ask(WAIT_TIMEOUT_MS);
    t.equal(res.status, statuses.OK, 'the retry is served');
    t.equal(made.length, 1, 'with the same payment: not paid twice');
    t.same(taken, [made[0]], 'the answer took the payment: the hooks were told');
  });

  t.test('should pay anew once the hooks abandoned the payment', async (t) => {
    hang = true;
    outcome = 'abandoned';
    await t.rejects(ask(), { code: 'timeout' });
    t.equal(made.length, 2);
    await new Promise((r) => setImmediate(r));
    hang = false;
    t.equal((await ask(WAIT_TIMEOUT_MS)).status, statuses.OK);
    t.equal(made.length, 3, 'a new payment: the old one was taken back');
  });
});

t.test('payments taken and the chain (ledgerfiles.ts)', async (t) => {
  const pending = new Set<string>();
  const p = await makePair({}, { deferLimit: 0 });
  p.b.registerService(priced);
  const restored: string[] = [];
  let outcome: RestoredPayment = 'pending';
  p.b.setPaymentHooks({
    ...hooks(pending),
    // A payment NAME spends the output `in-NAME:0`.
    spends: (data) => {
      const x = parse(data);
      return x ? [`in-${x.name}:0`] : [];
    },
    async restore(data): Promise<RestoredPayment> {
      restored.push(parse(data)?.name ?? '?');
      return outcome;
    }
  });
  const me = p.a.identity;
  const charged: string[] = [];
  p.b.on('double spend', (rec: { id: string }) => charged.push(rec.id));
  const attached = (data: Buffer, amount: number) => Payment.from(paymentTypes.ATTACHED, amount, data);
  for (const name of ['a', 'b'])
    t.equal((await p.b.server.handle(call(p, me, 'echo', name, attached(tx(name, 600), 600)), p.ba)).code, serverCodes.OK);

  t.test('should charge back a payment whose input a block tx spends, once', async (t) => {
    p.b.paymentsConnected([{ id: 'a', spends: ['in-a:0'] }], 100);
    t.equal(p.b.server.paid.get('a')?.height, 100, 'the payment itself: confirmed');
    t.same(charged, [], 'not a double spend');
    p.b.paymentsConnected([{ id: 'z', spends: ['other:1', 'in-b:0'] }], 101);
    t.same(charged, ['b'], 'another tx spending its input: charged back');
    t.equal(p.b.server.credits.get(me.publicKey), 600, 'owed again');
    p.b.paymentsConnected([{ id: 'y', spends: ['in-b:0'] }], 102);
    t.same(charged, ['b'], 'once');
  });

  t.test('should put a disconnected block\'s payments back, and charge back one its new chain spent', async (t) => {
    await p.b.paymentsDisconnected(101);
    t.same(restored, [], 'none in that block');
    outcome = 'double-spent';
    await p.b.paymentsDisconnected(100);
    t.same(restored, ['a'], 'the payment of the block put back');
    t.equal(p.b.server.paid.get('a')?.height, 0, 'unconfirmed again');
    t.same(charged, ['b', 'a'], 'its input spent: charged back');
    t.equal(p.b.server.credits.get(me.publicKey), 1200);
  });
});
