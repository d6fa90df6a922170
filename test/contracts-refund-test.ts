// Escrow spends: after the CLTV height the renter's node recovers the
// escrow on its own (state `refunded` on both nodes, with what it
// returned and its fee), and refundcontract answers with that refund; too
// early, refundcontract names the height from which it works. A
// two-party spend reads as `settled`, with what it paid each side.
import t from 'tap';
import bcoin = require('../lib/bcoin');
import { submitTX } from '../lib/contracts/builders';
import { forEvent, forValue } from './util/wait';
import {
  escrowCoin, fundAll, getContract, makeDeal, mineSync, plugin, startNodes, stateOf, twoPartySpend
} from './util/contracts';

t.test('escrow spends', async (t) => {
  const ctx = await startNodes(2);
  t.teardown(() => ctx.close());
  const [renter, host] = ctx.nodes;
  await fundAll(ctx);

  const start = renter.height;
  // Short periods: end at +13, refund at end + W (12) = +25.
  const refundable = await makeDeal(renter, host, { endHeight: start + 13, refundHeight: start + 25 });
  const settled = await makeDeal(renter, host, { endHeight: start + 13, refundHeight: start + 25, size: 2 << 20 });
  const res = await renter.rpc('commitcontracts',
    [refundable.encode().toString('hex'), settled.encode().toString('hex')]) as { txids: string[] };
  t.equal(res.txids.length, 1, 'one commitment for both');
  await mineSync(ctx, renter);
  for (const n of ctx.nodes) {
    await forValue(() => stateOf(n, refundable.id()), 'active', 20000, 'active');
    await forValue(() => stateOf(n, settled.id()), 'active', 20000, 'active');
  }

  t.test('should read a two-party spend as settled, with what it paid each side', async (t) => {
    const info = await getContract(renter, settled.id()) as Record<string, any>;
    t.equal(info.closeDeadline, settled.refundHeight - 6, 'close deadline refundHeight - W/2');
    const rRing = (await plugin(renter).getEscrowRing(settled.renterEscrowKey))!;
    const hRing = (await plugin(host).getEscrowRing(settled.hostEscrowKey))!;
    t.ok(rRing && hRing, 'each side holds its escrow key');
    t.equal(await plugin(renter).getEscrowRing(settled.hostEscrowKey), null);
    const coin = await escrowCoin(renter, settled);
    const mtx = await twoPartySpend(renter, renter, host, settled);
    await submitTX(plugin(host).walletContext(), mtx.toTX());
    await mineSync(ctx, host);
    for (const n of ctx.nodes) {
      await forValue(() => stateOf(n, settled.id()), 'settled', 20000, 'settled');
      const spend = (await getContract(n, settled.id()) as Record<string, any>).spend;
      t.same(spend, { type: 'settled', txid: mtx.txid(), height: host.height, returned: 0, paid: coin.value, fee: 1000 },
        'nothing back to the renter, the whole escrow to the host, its fee');
    }
    const list = await host.rpc('listcontracts', ['settled']) as unknown[];
    t.equal(list.length, 1);
  });

  t.test('should refuse a refund before the refund height, naming that height', async (t) => {
    await mineSync(ctx, renter, refundable.refundHeight - 1 - renter.height);
    t.equal(await stateOf(host, refundable.id()), 'expired');
    await t.rejects(renter.rpc('refundcontract', [refundable.id()]),
      { code: -25, message: new RegExp(`refund-too-early: .*height ${refundable.refundHeight} \\(now ${renter.height}, 1 blocks`) });
  });

  t.test('should refund on its own at the refund height, and refundcontract answers with that refund', async (t) => {
    const wallet = plugin(renter).walletContext().wallet;
    const before = (await wallet.getBalance()).unconfirmed;
    const seen: { tx?: bcoin.TX } = {};
    const refunded = forEvent(plugin(renter).refunder, 'refund', 60000, (id, tx) => {
      seen.tx = tx as bcoin.TX;
      return (id as Buffer).equals(refundable.hash());
    });
    refunded.catch(() => {}); // awaited below
    await mineSync(ctx, host);
    t.equal(renter.height, refundable.refundHeight);
    await refunded;
    const tx = seen.tx!;
    t.ok(renter.node.mempool.has(tx.hash('hex')), 'the refund waits in the mempool');
    await t.rejects(host.rpc('refundcontract', [refundable.id()]), { code: -25, message: /not-renter/ });
    t.equal(await renter.rpc('refundcontract', [refundable.id()]), tx.txid(), 'the same refund, not a second one');
    t.equal(tx.locktime, refundable.refundHeight);
    t.equal(tx.inputs[0].sequence, 0xfffffffe);
    t.equal(tx.inputs[0].witness.items.length, 3);
    t.equal(tx.inputs[0].witness.items[1].length, 0);
    const fee = refundable.escrowValue - tx.outputs[0].value;
    t.ok(fee >= tx.getVirtualSize(), 'pays at least 1 sat/vB');
    await forValue(async () => (await wallet.getBalance()).unconfirmed, before + tx.outputs[0].value,
      20000, 'refund credited to the wallet');
    await mineSync(ctx, renter);
    for (const n of ctx.nodes) {
      await forValue(() => stateOf(n, refundable.id()), 'refunded', 20000, 'refunded');
      const info = await getContract(n, refundable.id()) as Record<string, any>;
      t.same(info.spend, { type: 'refunded', txid: tx.txid(), height: host.height,
        returned: tx.outputs[0].value, paid: 0, fee });
    }
    await t.rejects(renter.rpc('refundcontract', [refundable.id()]), { code: -25, message: /escrow-spent/ });
  });
});
