// A legacy payment malleated after the answer is no double spend (PROTOCOL
// 2.5, paymentkey.ts), against a real cloudcoind host: a peer driven from
// the test pays `market` calls (400 sat, no deferral) with P2PKH txs it
// signs itself. A copy of its payment with every signature's S flipped
// (what any relaying node or miner can do, without the keys: another
// txid, the same inputs and outputs) is mined instead of it: nothing is
// charged back, the payer is not scored, and its next call pays only the
// price. A conflict paying anything else is still a double spend: charged
// back, ban score 50, please-pay.
import t from 'tap';
import { paymentTypes } from '../../lib/negotiator/envelope';
import { readAmountBody, statuses } from '../../lib/negotiator/status';
import { json, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import { logLines } from '../util/blocks';
import { mineWith } from '../util/mineblock';
import { marketPayer } from '../util/marketpayer';
import { malleate } from '../util/malleate';

const PRICE = 400;

t.test('a malleated payment mined instead of the original (real host)', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[
    '--policy', `min-payment market ${PRICE}sat`, '--policy', 'defer-limit market 0'
  ]]);
  const host = hosts[0];
  const { coins, pay, connect, myScript, toHost } = await marketPayer(t, renter, host, 4, 11, true);
  const A = paymentTypes.ATTACHED;
  const inMempool = async (id: string) => (await json<string[]>(host.cli(['getrawmempool']))).includes(id);

  await t.test('should keep the credit of a payment whose malleated copy is mined: no charge back, no score', async (t) => {
    const c = await connect();
    const payment = pay(coins[0], toHost, 1000);
    t.equal((await c.ask('prices', A, 1000, payment.toRaw())).status, statuses.OK, 'paid 1000 sat for a 400 sat call');
    await forValue(() => inMempool(payment.txid()), true, 30000, 'the payment in the host\'s mempool');
    const copy = malleate(payment);
    t.not(copy.txid(), payment.txid(), 'the copy has another txid');
    await mineWith(host, [copy]);
    await forValue(() => logLines(host, payment.txid()), (l) => /malleated/.test(l), 30000, 'the malleated line');
    t.match(logLines(host, payment.txid()), new RegExp(`payment ${payment.txid()} of 1000 sat is now tx ${copy.txid()} in block \\d+`));
    t.notOk(await inMempool(payment.txid()), 'the original left the mempool');
    t.notMatch(logLines(host, 'was double spent'), payment.txid(), 'not charged back');
    t.equal(await c.score(), 0, 'the payer is not scored');
    const res = await c.ask('prices', A, PRICE, pay(coins[1], toHost, PRICE).toRaw());
    t.equal(res.status, statuses.OK, 'the next call pays its price only: nothing owed');
    t.equal(await c.score(), 0);
  });

  await t.test('should still charge back a conflict that pays otherwise, ban score 50', async (t) => {
    const c = await connect();
    const payment = pay(coins[2], toHost, 1000);
    t.equal((await c.ask('prices', A, 1000, payment.toRaw())).status, statuses.OK, 'served');
    await forValue(() => inMempool(payment.txid()), true, 30000, 'the payment in the host\'s mempool');
    // The same coin back to ourselves, in a block.
    await mineWith(host, [pay(coins[2], myScript, 1000)]);
    t.equal(await forValue(c.score, 50, 30000, 'ban score'), 50, 'the payer scored 50');
    t.match(logLines(host, 'was double spent'), new RegExp(`payment ${payment.txid()} of 1000 sat`));
    const res = await c.ask('prices', A, PRICE, pay(coins[3], toHost, PRICE).toRaw());
    t.equal(res.status, statuses.PLEASE_PAY, 'the next call must pay what it owes');
    t.equal(readAmountBody(res.body), 1000, 'the double-spent 1000 sat');
  });
});
