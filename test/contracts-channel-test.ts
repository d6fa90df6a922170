// Channel states on a real regtest chain (requireStandard): the renter
// signs SINGLE|ANYONECANPAY states, the host closes with the latest one
// paying its own fee; the renter's remainder lands in its wallet, a
// tampered close is refused by the mempool, and a dust remainder uses NONE.
import t from 'tap';
import { buildCloseTX, renterPayoutScript, signState, stateSighash } from '../lib/contracts/channel';
import { submitTX } from '../lib/contracts/builders';
import type { StorageContract } from '../lib/contracts/storagecontract';
import { forValue } from './util/wait';
import { escrowCoin, fundAll, heldAt, makeDeal, mineSync, plugin, startNodes, stateOf } from './util/contracts';

t.test('payment channel', async (t) => {
  const ctx = await startNodes(2);
  t.teardown(() => ctx.close());
  const [renter, host] = ctx.nodes;
  await fundAll(ctx);

  const a = await makeDeal(renter, host, { escrowValue: 50000 });
  const b = await makeDeal(renter, host, { escrowValue: 30000, size: 2 << 20 });
  await renter.rpc('commitcontracts', [a.encode().toString('hex'), b.encode().toString('hex')]);
  await mineSync(ctx, renter);
  for (const c of [a, b])
    await forValue(() => stateOf(host, c.id()), 'active', 20000, 'active');
  const rKey = async (c: StorageContract): Promise<Buffer> =>
    (await plugin(renter).getEscrowRing(c.renterEscrowKey))!.privateKey;
  const hKey = async (c: StorageContract): Promise<Buffer> =>
    (await plugin(host).getEscrowRing(c.hostEscrowKey))!.privateKey;

  t.test('should close with the latest state and split the escrow as signed', async (t) => {
    const coin = await escrowCoin(host, a);
    signState(a, coin, 1, 4000, await rKey(a));
    const latest = signState(a, coin, 2, 12000, await rKey(a));
    const payout = await plugin(host).walletContext().wallet.receiveAddress(0);
    const { tx, amounts } = buildCloseTX(a, coin, latest, await hKey(a), { payout, rate: 1000 });
    t.equal(amounts.renter, 38000);
    t.equal(amounts.renter + amounts.host + amounts.fee, 50000);
    const renterScript = renterPayoutScript(a);
    const hostBefore = await heldAt(host, tx.outputs[1].script);
    const renterBefore = await heldAt(renter, renterScript);
    await submitTX(plugin(host).walletContext(), tx.toTX());
    await mineSync(ctx, host);
    await forValue(() => stateOf(renter, a.id()), 'settled', 20000, 'settled on the renter');
    await forValue(() => heldAt(host, tx.outputs[1].script), hostBefore + amounts.host, 20000, 'host paid');
    await forValue(() => heldAt(renter, renterScript), renterBefore + 38000, 20000, 'renter remainder in its wallet');
  });

  t.test('should be refused by the mempool when the host changes the renter output', async (t) => {
    const coin = await escrowCoin(host, b);
    const state = signState(b, coin, 1, 6000, await rKey(b));
    const payout = await plugin(host).walletContext().wallet.receiveAddress(0);
    const { tx } = buildCloseTX(b, coin, state, await hKey(b), { payout, rate: 1000 });
    tx.outputs[0].value -= 1000;
    tx.outputs[1].value += 1000;
    await t.rejects(host.node.mempool.addTX(tx.toTX()), { reason: /script-verify-flag/ } as object as Error);
  });

  t.test('should give the host everything with NONE when the remainder is dust', async (t) => {
    const coin = await escrowCoin(host, b);
    const state = signState(b, coin, 2, b.escrowValue - 100, await rKey(b));
    t.equal(state.sighashType, stateSighash.NONE);
    const payout = await plugin(host).walletContext().wallet.receiveAddress(0);
    const { tx, amounts } = buildCloseTX(b, coin, state, await hKey(b), { payout, rate: 1000 });
    t.equal(amounts.renter, 0);
    t.equal(tx.outputs.length, 1);
    await submitTX(plugin(host).walletContext(), tx.toTX());
    await mineSync(ctx, host);
    await forValue(() => stateOf(renter, b.id()), 'settled', 20000, 'settled');
  });
});
