// Hostile payers against a real cloudcoind host (PROTOCOL 2.5): a peer
// driven from the test through the P2P layer pays `market` calls (400 sat,
// no deferral) with wallet transactions it builds and signs itself from
// coins the renter sent it. Each lie is refused with its documented status
// and, where it is misbehaviour, a ban score: a claim above what the tx
// pays (invalid, 20), a bid below the price (too-low, no score), a tx
// paying someone else (invalid, 20), a credited payment replayed for a
// second call (invalid, 20), unconfirmed payments past --unconfirmed-limit
// (unconfirmed, no score, served again after a block), and a payment
// double spent by a block after it was served (ban score 50, the amount
// owed again: please-pay until paid). The honest payment and a retry of
// the very call it paid are served.
import t from 'tap';
import { Identity } from '../../lib/base/identity';
import { paymentTypes } from '../../lib/negotiator/envelope';
import { readAmountBody, statuses } from '../../lib/negotiator/status';
import { identityScript } from '../../lib/negotiator/walletpay';
import { json, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import { mineWith } from '../util/mineblock';
import { marketPayer } from '../util/marketpayer';
import bcoin = require('../../lib/bcoin');

const network = bcoin.Network.get('regtest');
const PRICE = 400;

t.test('hostile payers against a real host', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[
    '--policy', `min-payment market ${PRICE}sat`, '--policy', 'defer-limit market 0', '--unconfirmed-limit', '2500sat'
  ]]);
  const host = hosts[0];
  const { coins, pay, connect, tip, myScript, toHost } = await marketPayer(t, renter, host, 8, 10);
  const A = paymentTypes.ATTACHED;

  await t.test('should serve an honest payment, and a retry of the same call against it', async (t) => {
    const c = await connect();
    const tx = pay(coins[0], toHost, 1000);
    t.equal((await c.ask('prices', A, 1000, tx.toRaw())).status, statuses.OK, 'paid 1000 sat for a 400 sat call');
    await forValue(async () => (await json<string[]>(host.cli(['getrawmempool']))).includes(tx.txid()), true, 30000,
      'the payment in the host\'s mempool');
    t.equal((await c.ask('prices', A, 1000, tx.toRaw())).status, statuses.OK, 'the same call again: served, paid already');
    t.equal(await c.score(), 0, 'no ban score');

    await t.test('should refuse it replayed for a second call, ban score 20', async (t) => {
      const r = await connect();
      t.equal((await r.ask('version', A, 1000, tx.toRaw())).status, statuses.PAYMENT_INVALID);
      t.equal(await forValue(r.score, 20, 15000, 'ban score'), 20);
    });
  });

  await t.test('should refuse a claim above what the tx pays, ban score 20', async (t) => {
    const c = await connect();
    t.equal((await c.ask('prices', A, 1000, pay(coins[1], toHost, 500).toRaw())).status, statuses.PAYMENT_INVALID);
    t.equal(await forValue(c.score, 20, 15000, 'ban score'), 20);
  });

  await t.test('should answer a bid below the price too-low with the price, no score', async (t) => {
    const c = await connect();
    const res = await c.ask('prices', A, 300, pay(coins[1], toHost, 300).toRaw());
    t.equal(res.status, statuses.TOO_LOW);
    t.equal(readAmountBody(res.body), PRICE);
    t.equal(await c.score(), 0);
  });

  await t.test('should refuse a tx that pays someone else, ban score 20', async (t) => {
    const c = await connect();
    const other = identityScript(Identity.generate(network).publicKey);
    t.equal((await c.ask('prices', A, 1000, pay(coins[1], other, 1000).toRaw())).status, statuses.PAYMENT_INVALID);
    t.equal(await forValue(c.score, 20, 15000, 'ban score'), 20);
  });

  await t.test('should hold unconfirmed payments to --unconfirmed-limit, and serve again after a block', async (t) => {
    const c = await connect();
    // 1000 sat of the first test are unconfirmed still.
    t.equal((await c.ask('prices', A, 1000, pay(coins[2], toHost, 1000).toRaw())).status, statuses.OK, '2000 unconfirmed');
    const over = pay(coins[3], toHost, 1000);
    const res = await c.ask('prices', A, 1000, over.toRaw());
    t.equal(res.status, statuses.UNCONFIRMED, '3000 would pass 2500');
    t.equal(readAmountBody(res.body), 2000, 'the body says what is unconfirmed');
    t.equal(await c.score(), 0, 'no score: an honest payer may pay faster than blocks come');
    // The renter mines: the payments must have reached its mempool first.
    // The host relays what it took as any tx, by an inv its peers get at
    // bcoin's next inventory flush (every 5 s): a block mined before that
    // would leave them out.
    const taken = await json<string[]>(host.cli(['getrawmempool']));
    t.equal(taken.length, 2, 'two payments unconfirmed at the host');
    await forValue(async () => {
      const pool = new Set(await json<string[]>(renter.cli(['getrawmempool'])));
      return taken.every((id) => pool.has(id));
    }, true, 30000, 'the payments relayed to the renter');
    await mine(renter, 1);
    await forValue(() => tip(host), await tip(renter), 30000, 'the host at the renter\'s tip');
    await forValue(async () => (await json<string[]>(host.cli(['getrawmempool']))).length, 0, 30000, 'the payments confirmed');
    t.equal((await c.ask('prices', A, 1000, over.toRaw())).status, statuses.OK, 'served once they confirmed');
  });

  await t.test('should charge back a payment double spent after the answer and score its payer 50', async (t) => {
    const c = await connect();
    const tx = pay(coins[4], toHost, 1000);
    t.equal((await c.ask('prices', A, 1000, tx.toRaw())).status, statuses.OK, 'served');
    await forValue(async () => (await json<string[]>(host.cli(['getrawmempool']))).includes(tx.txid()), true, 30000,
      'the payment in the host\'s mempool');
    // The same coin back to ourselves, in a block the host did not mine.
    const theft = pay(coins[4], myScript, 1000);
    await mineWith(host, [theft]);
    await forValue(async () => (await json<string[]>(host.cli(['getrawmempool']))).includes(tx.txid()), false, 30000,
      'the host dropped the payment');
    t.equal(await forValue(c.score, 50, 15000, 'ban score'), 50, 'the payer scored 50');
    const owed = await c.ask('prices', A, PRICE, pay(coins[5], toHost, PRICE).toRaw());
    t.equal(owed.status, statuses.PLEASE_PAY, 'the next call must pay what it owes');
    t.equal(readAmountBody(owed.body), 1000, 'the double-spent 1000 sat');
    t.equal((await c.ask('prices', A, 1400, pay(coins[6], toHost, 1400).toRaw())).status, statuses.OK,
      'owed + price paid: served');
  });
});
