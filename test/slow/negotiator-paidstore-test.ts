// The payments a host took survive a crash (PROTOCOL 2.5, paidstore.ts),
// on real cloudcoind processes: a peer driven from the test pays a
// `market.prices` call (400 sat, no deferral) with a wallet tx of its own;
// the host is killed (SIGKILL: no orderly close) and started again. Then,
// as before the crash: the same payment presented for another call is a
// replay (invalid, ban score 20); the very call it paid is served again (a
// retry after a lost answer); and the payment double spent by a block is
// charged back (ban score 50, please-pay the 1000 sat owed).
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { paymentTypes } from '../../lib/negotiator/envelope';
import { readAmountBody, statuses } from '../../lib/negotiator/status';
import { json, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import { logLines } from '../util/blocks';
import { mineWith } from '../util/mineblock';
import { marketPayer } from '../util/marketpayer';

const PRICE = 400;

t.test('payments taken survive a crash of the host (real nodes)', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[
    '--policy', `min-payment market ${PRICE}sat`, '--policy', 'defer-limit market 0'
  ]]);
  const host = hosts[0];
  const { coins, pay, connect: open, tip, myScript, toHost } = await marketPayer(t, renter, host, 2, 11);
  const inMempool = async (id: string) => (await json<string[]>(host.cli(['getrawmempool']))).includes(id);
  /** A fresh connection that pays attached. */
  const connect = async () => {
    const c = await open();
    return { ask: (method: string, amount: number, data: Buffer) => c.ask(method, paymentTypes.ATTACHED, amount, data), score: c.score };
  };

  const tx = pay(coins[0], toHost, 1000);

  await t.test('should keep a payment taken across a kill -9 and put it back into the mempool', async (t) => {
    const c = await connect();
    t.equal((await c.ask('prices', 1000, tx.toRaw())).status, statuses.OK, 'paid 1000 sat for a 400 sat call');
    t.ok(fs.existsSync(path.join(host.datadir, 'cspaid.dat')), 'a payments file in the datadir');
    await forValue(() => inMempool(tx.txid()), true, 30000, 'the payment in the host\'s mempool');
    await host.stop('SIGKILL');
    await host.start(['--connect', renter.addr]);
    await forValue(() => tip(host), await tip(renter), 60000, 'the host at the renter\'s tip');
    t.match(logLines(host, 'payments taken read back'), /1 payments taken read back/);
    t.match(logLines(host, 'put back'), /"pending":1/);
    t.ok(await inMempool(tx.txid()), 'the payment is in the host\'s mempool again');
  });

  await t.test('should refuse it replayed for a second call after the crash, ban score 20', async (t) => {
    const r = await connect();
    t.equal((await r.ask('version', 1000, tx.toRaw())).status, statuses.PAYMENT_INVALID);
    t.equal(await forValue(r.score, 20, 15000, 'ban score'), 20);
  });

  await t.test('should serve a retry of the very call it paid after the crash', async (t) => {
    const c = await connect();
    t.equal((await c.ask('prices', 1000, tx.toRaw())).status, statuses.OK, 'served, paid already');
    t.equal(await c.score(), 0, 'no ban score');
  });

  await t.test('should charge back a double spend of it after the crash and score its payer 50', async (t) => {
    const c = await connect();
    // The same coin back to ourselves, in a block the host did not mine.
    await mineWith(host, [pay(coins[0], myScript, 1000)]);
    await forValue(() => inMempool(tx.txid()), false, 30000, 'the host dropped the payment');
    t.equal(await forValue(c.score, 50, 15000, 'ban score'), 50, 'the payer scored 50');
    t.match(logLines(host, 'was double spent'), new RegExp(`payment ${tx.txid()} of 1000 sat`));
    const owed = await c.ask('prices', PRICE, pay(coins[1], toHost, PRICE).toRaw());
    t.equal(owed.status, statuses.PLEASE_PAY, 'the next call must pay what it owes');
    t.equal(readAmountBody(owed.body), 1000, 'the double-spent 1000 sat');
  });
});
