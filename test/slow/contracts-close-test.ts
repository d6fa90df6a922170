// The host's side of the channel on real regtest nodes: the channel store
// refuses every state it must (table by code) and keeps the latest one;
// closecontract splits the escrow exactly as the state says, paying the
// fee (estimatesmartfee, at least 1 sat/vB) from the payout or, when the
// payout alone would be dust, from a wallet coin, and refuses a close that
// would cost more than it pays; the index records what each side got. A
// close the node made on its own at end height, orphaned by a reorg,
// confirms again with nobody running a command (the resubmitter). A host
// stopped with a non-final state closes after its restart, before the
// deadline; a renter stopped before a refund height refunds after its
// restart, and refunds on its own while running. Nodes keep their
// databases on disk, so a restart reopens the same datadir.
import t from 'tap';
import bcoin = require('../../lib/bcoin');
import { ChannelState, renterPayoutScript, signState, stateSighash } from '../../lib/contracts/channel';
import type { StorageContract } from '../../lib/contracts/storagecontract';
import { forEvent, forValue } from '../util/wait';
import {
  escrowCoin, fundAll, getContract, heldAt, internal, makeDeal, mineSync, plugin, startNodes, stateOf, waitIndexed
} from '../util/contracts';

t.test('host closes', async (t) => {
  // 0 renter, 1 host, 2 observer (isolated while a close is mined, for the reorg).
  const ctx = await startNodes(3, { memory: false });
  t.teardown(() => ctx.close());
  const [renter, host, observer] = ctx.nodes;
  await fundAll(ctx);

  const start = renter.height;
  const a = await makeDeal(renter, host, { escrowValue: 50000 });
  const b = await makeDeal(renter, host, { escrowValue: 30000, size: 2 << 20 });
  const c = await makeDeal(renter, host, { escrowValue: 20000, size: 3 << 20, endHeight: start + 8, expiryHeight: start + 5 });
  // d: its close deadline (refund - W/2 = start + 16) comes before end +
  // 2 intervals (start + 20): the node closes a non-final state at start + 15.
  const d = await makeDeal(renter, host, { escrowValue: 25000, endHeight: start + 10, refundHeight: start + 22,
    expiryHeight: start + 5 });
  // e and f: no state ever; the renter refunds them (e while it is stopped).
  const e = await makeDeal(renter, host, { escrowValue: 21000, endHeight: start + 10, refundHeight: start + 22,
    expiryHeight: start + 5 });
  const f = await makeDeal(renter, host, { escrowValue: 22000, endHeight: start + 10, refundHeight: start + 25,
    expiryHeight: start + 5 });
  const uncommitted = await makeDeal(renter, host, { size: 4 << 20 });
  await renter.rpc('commitcontracts', [a, b, c, d, e, f].map(x => x.encode().toString('hex')));
  await mineSync(ctx, renter);
  for (const x of [a, b, c, d, e, f])
    await forValue(() => stateOf(host, x.id()), 'active', 20000, 'active');
  const key = async (x: StorageContract): Promise<Buffer> =>
    (await plugin(renter).getEscrowRing(x.renterEscrowKey))!.privateKey;
  const sign = async (x: StorageContract, number: number, paid: number): Promise<ChannelState> =>
    signState(x, await escrowCoin(host, x), number, paid, await key(x));
  const accept = (x: StorageContract, s: ChannelState, final = false, prepaid?: number) =>
    plugin(host).acceptState(x, s, { final, prepaid });

  t.test('should store a state once, and acknowledge the same state again', async (t) => {
    const first = await accept(a, await sign(a, 1, 4000));
    t.equal(first.added, true);
    t.same(first.stored.getJSON(),
      { number: 1, paid: 4000, sighashType: stateSighash.SINGLE, final: false, height: host.height, prepaid: 0, missed: [] });
    const again = await accept(a, first.stored.state);
    t.equal(again.added, false, 'a resend after a lost acknowledgement');
    const latest = await plugin(host).latestState(a.hash());
    t.equal(latest!.state.number, 1);
  });

  t.test('should keep what a state prepaid for downloads, cumulative like paid', async (t) => {
    const two = await sign(a, 2, 4500);
    await t.rejects(accept(a, two, false, 4501), { code: 'state-bad-amount' }, 'more prepaid than the state pays');
    t.equal((await accept(a, two, false, 500)).stored.prepaid, 500);
    const three = await sign(a, 3, 4600);
    await t.rejects(accept(a, three, false, 499), { code: 'state-pays-less' }, 'prepaid going back');
    const kept = await accept(a, three);
    t.equal(kept.stored.prepaid, 500, 'a state sent without it keeps the last');
    const res = await host.rpc('acceptchannelstate', [(await sign(a, 4, 4700)).encode().toString('hex'), false, 600]);
    t.match(res, { number: 4, paid: 4700, prepaid: 600, added: true });
    t.equal((await getContract(host, a.id()) as { channel: { prepaid: number } }).channel.prepaid, 600);
  });

  t.test('should refuse what it must, by code', async (t) => {
    const good = await sign(a, 5, 9000);
    const flipped = ChannelState.decode(good.encode());
    flipped.renterSig = Buffer.from(flipped.renterSig);
    flipped.renterSig[10] ^= 1;
    const byHost = signState(a, await escrowCoin(host, a), 5, 9000,
      (await plugin(host).getEscrowRing(a.hostEscrowKey))!.privateKey);
    const tooMuch = await sign(a, 5, 9000);
    tooMuch.paid = a.escrowValue + 1;
    const none = await sign(a, 5, 9000);
    none.sighashType = stateSighash.NONE;
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['state-out-of-order', async () => accept(a, await sign(a, 0, 5000))],
      ['state-out-of-order', async () => accept(a, await sign(a, 1, 6000))],
      ['state-pays-less', async () => accept(a, await sign(a, 5, 4699))],
      ['state-wrong-contract', async () => accept(a, await sign(b, 7, 5000))],
      ['state-bad-sig', () => accept(a, flipped)],
      ['state-bad-sig', () => accept(a, byHost)],
      ['state-bad-amount', () => accept(a, tooMuch)],
      ['state-bad-sighash', () => accept(a, none)],
      ['not-host', async () => plugin(renter).acceptState(a, await sign(a, 6, 9000))],
      ['unknown-contract', async () => accept(uncommitted, (() => {
        const s = new ChannelState();
        s.contractId = uncommitted.hash();
        s.number = 1;
        return s;
      })())]
    ];
    for (const [code, run] of cases)
      await t.rejects(run(), { code }, code);
    t.equal((await plugin(host).latestState(a.hash()))!.state.number, 4, 'nothing refused was stored');
    await t.rejects(host.rpc('acceptchannelstate', [flipped.encode().toString('hex')]),
      { code: -25, message: /state-bad-sig/ }, 'the RPC answers with the code');
    await t.rejects(host.rpc('acceptchannelstate', ['00']), { code: -8 });
    const res = await host.rpc('acceptchannelstate', [good.encode().toString('hex')]) as Record<string, unknown>;
    t.match(res, { id: a.id(), number: 5, paid: 9000, final: false, added: true });
  });

  t.test('should refuse to close without a state', async (t) => {
    await t.rejects(host.rpc('closecontract', [b.id()]), { code: -25, message: /no-channel-state/ });
    await t.rejects(renter.rpc('closecontract', [a.id()]), { code: -25, message: /not-host/ });
  });

  t.test('should close with the latest state: the renter gets exactly its remainder', async (t) => {
    const latest = await sign(a, 6, 12000);
    await accept(a, latest);
    const renterBefore = await heldAt(renter, renterPayoutScript(a));
    // The close asks for confirmation within the blocks left before its
    // deadline, at most the 15 blocks bcoin's estimator tracks.
    const target = Math.min(15, a.refundHeight - 6 - 1 - host.height);
    const est = await host.rpc('estimatesmartfee', [target]) as { fee: number };
    const res = await host.rpc('closecontract', [a.id().slice(0, 12)]) as Record<string, number | string>;
    t.match(res, { number: 6, paid: 12000, returned: 38000 });
    const rate = res.feeRate as number;
    t.equal(rate, Math.max(est.fee > 0 ? est.fee * 1e5 : 0, 1), `fee rate ${rate} sat/vB: estimatesmartfee, at least 1`);
    const vsize = res.vsize as number;
    // Measured on the unsigned-fee draft, +1 vB: a DER signature may be a byte shorter or longer.
    t.ok((res.fee as number) >= Math.ceil(vsize * rate) && (res.fee as number) <= Math.ceil((vsize + 2) * rate),
      `fee ${res.fee} sat: the rate times the vsize (${vsize} vB, +1 for signature size jitter)`);
    t.equal((res.payout as number) + (res.fee as number), 12000, 'the host pays the fee from its payout');
    t.ok((res.vsize as number) <= 172, `close of ${res.vsize} vB`);
    await t.rejects(host.rpc('closecontract', [a.id()]), { code: -25, message: /escrow-spent/ });
    await t.rejects(accept(a, await sign(a, 7, 13000)), { code: 'escrow-spent' });
    await mineSync(ctx, host);
    for (const n of [renter, host]) {
      await forValue(() => stateOf(n, a.id()), 'settled', 20000, 'settled');
      t.same((await getContract(n, a.id()))!.spend,
        { type: 'settled', txid: res.txid, height: host.height, returned: 38000, paid: 12000, fee: res.fee });
    }
    await forValue(() => heldAt(renter, renterPayoutScript(a)), renterBefore + 38000, 20000, 'renter remainder');
  });

  t.test('should pay the fee from a wallet coin when the payout alone would be dust', async (t) => {
    await accept(b, await sign(b, 1, 150));
    await t.rejects(host.rpc('closecontract', [b.id()]), { code: -25, message: /close-uneconomic/ });
    await accept(b, await sign(b, 2, 450));
    const res = await host.rpc('closecontract', [b.id()]) as Record<string, number | string>;
    const tx = host.node.mempool.getTX(internal(res.txid as string))!;
    t.equal(tx.inputs.length, 2, 'the escrow and a wallet coin');
    t.equal(res.payout, 450 - (res.fee as number), 'the host nets the state less the fee');
    t.ok((res.payout as number) > 0);
    await mineSync(ctx, host);
    await forValue(async () => (await getContract(renter, b.id()))!.spend, (s) => !!s, 20000, 'b settled');
    t.same((await getContract(renter, b.id()))!.spend,
      { type: 'settled', txid: res.txid, height: host.height, returned: 30000 - 450, paid: 450, fee: res.fee });
  });

  t.test('should close on its own at end height with a final state, and again after a reorg', async (t) => {
    await accept(c, await sign(c, 1, 2000));
    await accept(c, await sign(c, 2, 5000), true);
    const info = (await getContract(host, c.id()))!;
    t.match(info.channel, { number: 2, paid: 5000, final: true, closeAt: c.endHeight });
    t.equal(info.closeDeadline, c.refundHeight - 6);
    await mineSync(ctx, renter, c.endHeight - 1 - renter.height);
    t.equal((await getContract(host, c.id()))!.spend, null, 'not closed before end height');
    t.notOk(host.node.mempool.isSpent((await escrowCoin(host, c)).hash, (await escrowCoin(host, c)).index));

    // The observer will not see the block with the close.
    await observer.rpc('setban', [renter.addr, 'add']);
    for (let p = observer.node.pool.peers.head(); p; p = p.next)
      p.destroy();
    await forValue(() => observer.node.pool.peers.head(), null, 20000, 'observer isolated');
    const forkHeight = renter.height;

    const seen: { tx?: bcoin.TX } = {};
    const closed = forEvent(plugin(host).closer, 'close', 60000, (id, tx) => {
      seen.tx = tx as bcoin.TX;
      return (id as Buffer).equals(c.hash());
    });
    // Handled at once: a rejection waits for the await below.
    closed.catch(() => {});
    await host.mine(1);
    t.equal(host.height, c.endHeight);
    await closed;
    const close = seen.tx!;
    t.equal(close.outputs[0].value, 15000, 'output 0 returns the renter its remainder');
    await host.mine(1);
    await forValue(() => renter.height, forkHeight + 2, 20000, 'renter has the close');
    await waitIndexed({ nodes: [renter, host] } as typeof ctx);
    await forValue(() => stateOf(renter, c.id()), 'settled', 20000, 'settled before the reorg');

    // A longer chain without the close.
    await observer.mine(3);
    await observer.rpc('clearbanned');
    await renter.rpc('addnode', [observer.addr, 'onetry']);
    await ctx.sync();
    await waitIndexed(ctx);
    t.equal(host.node.chain.tip.hash, observer.node.chain.tip.hash, 'the host took the longer chain');
    t.equal(await stateOf(host, c.id()), 'expired', 'the close was orphaned');
    await forValue(() => host.node.mempool.has(close.hash('hex')), true, 20000, 'the same close back in the mempool');
    // The renter mines: the close must reach it from the host's mempool.
    await forValue(() => renter.node.mempool.has(close.hash('hex')), true, 60000, 'the close relayed again');
    await mineSync(ctx, renter);
    for (const n of ctx.nodes) {
      await forValue(() => stateOf(n, c.id()), 'settled', 20000, `settled again on ${n.addr}`);
      t.match((await getContract(n, c.id()))!.spend, { txid: close.txid(), returned: 15000, paid: 5000 });
    }
  });

  t.test('should close before the deadline after a restart, with a state that is not final', async (t) => {
    await accept(d, await sign(d, 1, 3000));
    await accept(d, await sign(d, 2, 7000));
    const info = (await getContract(host, d.id()))!;
    t.equal(info.closeDeadline, start + 16, 'refund height - W/2');
    t.match(info.channel, { number: 2, paid: 7000, final: false, closeAt: start + 15 },
      'before end + 2 intervals, the deadline comes first');
    t.ok(host.height < start + 15, `not due yet at ${host.height}`);
    const escrow = await escrowCoin(host, d);
    await host.close();
    // The chain reaches the due height while the host is down.
    await renter.mine(start + 15 - renter.height);
    await host.open();
    await ctx.connect(1, 0);
    await ctx.sync(60000);
    await waitIndexed(ctx);
    t.equal(host.height, start + 15);
    await forValue(() => host.node.mempool.isSpent(escrow.hash, escrow.index), true, 60000,
      'the restarted host closed d');
    const spend = host.node.mempool.getSpentTX(escrow.hash, escrow.index)!;
    t.equal(spend.outputs[0].value, 25000 - 7000, 'the renter\'s remainder of the latest state');
    await forValue(() => renter.node.mempool.has(spend.hash('hex')), true, 60000, 'the close relayed');
    await mineSync(ctx, renter);
    t.ok(renter.height <= d.refundHeight, 'confirmed before the renter\'s refund could be');
    for (const n of [renter, host]) {
      await forValue(() => stateOf(n, d.id()), 'settled', 20000, 'd settled');
      t.match((await getContract(n, d.id()))!.spend,
        { type: 'settled', txid: spend.txid(), returned: 18000, paid: 7000 });
    }
    const s = (await getContract(host, d.id()))!.spend as { paid: number; fee: number };
    t.equal(spend.outputs[1].value, s.paid - s.fee, 'the host\'s payout is what it was paid less the fee');
  });

  t.test('should refund on its own after the refund height, also after a restart', async (t) => {
    for (const x of [e, f])
      t.equal(await stateOf(renter, x.id()), 'expired');
    await t.rejects(renter.rpc('refundcontract', [e.id()]),
      { code: -25, message: new RegExp(`refund-too-early.*height ${e.refundHeight}`) }, 'too early names the height');
    await renter.close();
    // e's refund height passes while the renter is down; f's comes after its restart.
    await host.mine(e.refundHeight + 1 - host.height);
    t.ok(host.height < f.refundHeight);
    await renter.open();
    // Outbound to the host: bcoin syncs blocks from outbound peers.
    await ctx.connect(0, 1);
    await ctx.connect(2, 0);
    await ctx.sync(60000);
    await waitIndexed(ctx);
    const escrowE = await escrowCoin(renter, e);
    await forValue(() => renter.node.mempool.isSpent(escrowE.hash, escrowE.index), true, 60000,
      'the restarted renter refunded e');
    await mineSync(ctx, host, f.refundHeight - host.height);
    const escrowF = await escrowCoin(renter, f);
    await forValue(() => renter.node.mempool.isSpent(escrowF.hash, escrowF.index), true, 60000,
      'the renter refunded f at its refund height');
    await mineSync(ctx, renter);
    const wallet = plugin(renter).walletContext().wallet;
    for (const [x, value] of [[e, 21000], [f, 22000]] as const) {
      await forValue(() => stateOf(host, x.id()), 'refunded', 20000, `${x.id()} refunded`);
      const s = (await getContract(host, x.id()))!.spend as { txid: string; returned: number; paid: number; fee: number };
      t.equal(s.paid, 0);
      t.ok(s.fee > 0 && s.fee < 1000, `refund fee ${s.fee} sat`);
      t.equal(s.returned, value - s.fee, 'the escrow less the fee came back');
      const coin = (await wallet.getCoins()).find(c => c.hash === internal(s.txid) && c.index === 0);
      t.equal(coin?.value, s.returned, 'into the renter\'s wallet');
    }
  });
});
