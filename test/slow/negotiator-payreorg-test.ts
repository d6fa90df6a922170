// A host never loses a payment it took to a reorg or to a double spend
// mined while it was down (PROTOCOL 2.5, ledgerfiles.ts), on real
// cloudcoind processes: a peer driven from the test pays `market.prices`
// calls with wallet txs of its own, and a fourth node mines a longer
// branch alone and comes back.
// - A payment confirmed, then taken out of the chain by a real reorg, goes
//   back into the host's mempool (its raw tx is kept until the record is
//   forgotten), still after a kill -9, so its double spend mined next is
//   charged back (ban score 50, please-pay).
// - A payment confirmed, then double spent in a longer branch mined
//   alone: charged back after the reorg.
// - A payment whose parent was unconfirmed: the host is killed, the payer
//   mines the parent with a double spend of the payment, the host comes
//   back (bcoin keeps the payment as an orphan) and charges it back when
//   that block arrives.
import t from 'tap';
import bcoin = require('../../lib/bcoin');
import { paymentTypes } from '../../lib/negotiator/envelope';
import { readAmountBody, statuses } from '../../lib/negotiator/status';
import { DaemonProcess } from '../util/nodes-context';
import { json, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import { logLines } from '../util/blocks';
import { mineWith } from '../util/mineblock';
import { marketPayer } from '../util/marketpayer';

const PRICE = 400;
/** Waits that span a reorg or a relay (bcoin flushes invs every 5 s). */
const RELAY_MS = 120000;

t.test('payments taken survive a reorg and a double spend mined while the host is down (real nodes)', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[
    '--policy', `min-payment market ${PRICE}sat`, '--policy', 'defer-limit market 0'
  ]]);
  const host = hosts[0];
  const miner = await DaemonProcess.create();
  t.teardown(async () => {
    await miner.stop('SIGKILL');
    miner.cleanup();
  });
  await miner.start(['--connect', renter.addr]);
  const { coins, pay, connect: open, tip, myScript, toHost } = await marketPayer(t, renter, host, 4, 13);
  await forValue(() => tip(miner), await tip(renter), RELAY_MS, 'the miner at the renter\'s tip');
  const best = async (d: DaemonProcess) => await d.client().call('getbestblockhash') as string;
  const inMempool = async (id: string) => (await json<string[]>(host.cli(['getrawmempool']))).includes(id);
  /** A fresh connection that pays attached. */
  const connect = async () => {
    const c = await open();
    return { ask: (amount: number, data: Buffer) => c.ask('prices', paymentTypes.ATTACHED, amount, data), score: c.score };
  };
  const restart = async () => {
    await host.stop('SIGKILL');
    await host.start(['--connect', renter.addr]);
  };
  let owed = 0;

  const reorged = pay(coins[0], toHost, 1000);

  await t.test('should put a payment a reorg took out of the chain back into the mempool, also after a kill -9', async (t) => {
    const c = await connect();
    t.equal((await c.ask(1000, reorged.toRaw())).status, statuses.OK, 'paid 1000 sat');
    // The branch to be orphaned: the payment confirmed, while the miner is away.
    await miner.stop();
    await mineWith(renter, [reorged]);
    await forValue(() => best(host), await best(renter), RELAY_MS, 'the host at the renter\'s tip');
    await forValue(() => inMempool(reorged.txid()), false, RELAY_MS, 'the payment confirmed');
    const height = await tip(host);

    // A longer branch without it, mined alone, then back: a reorg of depth 1.
    await miner.start(['--nolisten', '--connect', '127.0.0.1:1']);
    await mine(miner, 2);
    await miner.stop();
    await miner.start();
    await renter.client().call('addnode', [miner.addr, 'onetry']);
    await forValue(() => best(host), await best(miner), RELAY_MS, 'the host on the longer branch');
    await forValue(() => logLines(host, 'of disconnected block'), (l) => /put back/.test(l), RELAY_MS, 'the put-back line');
    t.match(logLines(host, 'of disconnected block'), new RegExp(`disconnected block ${height} put back: \\{"pending":1\\}`));
    t.ok(await inMempool(reorged.txid()), 'the payment is in the host\'s mempool again');

    // Killed before it confirms again: its raw tx was kept past its block.
    await restart();
    await forValue(() => tip(host), await tip(miner), RELAY_MS, 'the host back at the tip');
    t.match(logLines(host, 'put back: {'), /unconfirmed payments taken put back: \{"pending":1\}/);
    t.ok(await inMempool(reorged.txid()), 'in the host\'s mempool after the kill');
  });

  await t.test('should charge back that payment when a block double spends it, score 50', async (t) => {
    const c = await connect();
    await mineWith(host, [pay(coins[0], myScript, 1000)]);
    owed += 1000;
    await forValue(() => inMempool(reorged.txid()), false, RELAY_MS, 'the host dropped the payment');
    t.equal(await forValue(c.score, 50, RELAY_MS, 'ban score'), 50, 'the payer scored 50');
    t.match(logLines(host, 'was double spent'), new RegExp(`payment ${reorged.txid()} of 1000 sat`));
    const res = await c.ask(PRICE, pay(coins[1], toHost, PRICE).toRaw());
    t.equal(res.status, statuses.PLEASE_PAY, 'the next call must pay what it owes');
    t.equal(readAmountBody(res.body), owed, 'the double-spent 1000 sat');
  });

  await t.test('should charge back a payment double spent and mined while the host was down', async (t) => {
    // The payment spends an unconfirmed parent the host has in its mempool only.
    const parent = pay(coins[2], myScript, 50000);
    await host.client().call('sendrawtransaction', [parent.toRaw().toString('hex')]);
    const change = bcoin.Coin.fromTX(parent, 1, -1);
    // What it owes (1000) and this call's price in one tx: it owes nothing after.
    const payment = pay(change, toHost, owed + PRICE);
    const doubleSpend = pay(change, myScript, owed + PRICE);
    const c = await connect();
    t.equal((await c.ask(owed + PRICE, payment.toRaw())).status, statuses.OK, 'paid the 1000 owed and this call');
    await host.stop('SIGKILL');
    // The parent mined with a double spend of the payment, while the host is down.
    await mineWith(renter, [parent, doubleSpend]);
    await host.start(['--connect', renter.addr]);
    await forValue(() => best(host), await best(renter), RELAY_MS, 'the host at the renter\'s tip');
    t.match(logLines(host, 'put back: {'), /unconfirmed payments taken put back: \{"unknown":1\}/,
      'at start the payment is an orphan (its parent was in the mempool only)');
    await forValue(() => logLines(host, payment.txid()), (l) => /was double spent/.test(l), RELAY_MS, 'the charge-back line');
    t.match(logLines(host, 'was double spent'), new RegExp(`payment ${payment.txid()} of 1400 sat .*\\(tx ${
      doubleSpend.txid()} of block \\d+ spends its input\\): charged back`));
    const res = await (await connect()).ask(PRICE, pay(coins[1], toHost, PRICE).toRaw());
    t.equal(res.status, statuses.PLEASE_PAY, 'the next call must pay what it owes');
    t.equal(readAmountBody(res.body), 1400, 'the double-spent 1400 sat');
  });

  await t.test('should charge back a confirmed payment that a longer branch double spends', async (t) => {
    await forValue(() => best(miner), await best(renter), RELAY_MS, 'the miner at the renter\'s tip');
    const payment = pay(coins[3], toHost, 1400 + PRICE);
    const doubleSpend = pay(coins[3], myScript, 1400 + PRICE);
    const c = await connect();
    t.equal((await c.ask(1400 + PRICE, payment.toRaw())).status, statuses.OK, 'paid the 1400 owed and this call');
    await miner.stop();
    await mineWith(renter, [payment]);
    await forValue(() => best(host), await best(renter), RELAY_MS, 'the host at the renter\'s tip');
    await forValue(() => inMempool(payment.txid()), false, RELAY_MS, 'the payment confirmed');
    const height = await tip(host);
    // The longer branch holds the double spend.
    await miner.start(['--nolisten', '--connect', '127.0.0.1:1']);
    await mineWith(miner, [doubleSpend]);
    await mine(miner, 1);
    await miner.stop();
    await miner.start();
    await renter.client().call('addnode', [miner.addr, 'onetry']);
    await forValue(() => best(host), await best(miner), RELAY_MS, 'the host on the longer branch');
    await forValue(() => logLines(host, payment.txid()), (l) => /was double spent/.test(l), RELAY_MS, 'the charge-back line');
    await forValue(() => logLines(host, `of disconnected block ${height} `), (l) => /put back/.test(l), RELAY_MS,
      'the put-back line');
    t.notOk(await inMempool(payment.txid()), 'not in the host\'s mempool');
    t.equal(await forValue(c.score, 50, RELAY_MS, 'ban score'), 50, 'the payer scored 50');
    const res = await (await connect()).ask(PRICE, pay(coins[1], toHost, PRICE).toRaw());
    t.equal(res.status, statuses.PLEASE_PAY, 'the next call must pay what it owes');
    t.equal(readAmountBody(res.body), 1400 + PRICE, 'the double-spent 1800 sat');
  });
});
