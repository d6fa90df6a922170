// The resubmitter: our unconfirmed txs go back into the mempool, parents
// first, unless they can no longer confirm; a refund whose escrow the
// other party settled meanwhile is left out, never kept as an orphan; a
// pending tx of ours whose input a confirmed tx spent is abandoned in the
// wallet, and a refund of an escrow spent on chain is never made; a peer
// that connects hears of our unconfirmed txs at once, not at the next block.
import t from 'tap';
import bcoin = require('../lib/bcoin');
import { buildRefundTX, refundContract, submitTX } from '../lib/contracts/builders';
import { ContractError } from '../lib/contracts/errors';
import { sortDeps } from '../lib/contracts/resubmitter';
import { forEvent, forValue } from './util/wait';
import {
  escrowCoin, fundAll, getContract, internal, makeDeal, mineSync, plugin, startNodes, stateOf, twoPartySpend, waitIndexed
} from './util/contracts';

/** A tx spending output 0 of each of `parents` (never checked: only its shape matters). */
function child(...parents: bcoin.TX[]): bcoin.TX {
  const mtx = new bcoin.MTX();
  mtx.version = 2;
  for (const p of parents)
    mtx.addOutpoint(new bcoin.Outpoint(p.hash('hex'), 0));
  if (parents.length === 0)
    mtx.addOutpoint(new bcoin.Outpoint(Buffer.alloc(32, Math.random() * 255).toString('hex'), 0));
  mtx.addOutput(bcoin.Script.fromProgram(0, Buffer.alloc(20)), 1000);
  return mtx.toTX();
}

t.test('sortDeps', async (t) => {
  t.test('should put every parent before its children', async (t) => {
    const a = child();
    const b = child(a);
    const c = child(b, a);
    const d = child();
    const sorted = sortDeps([c, d, b, a]).map(tx => tx.hash('hex'));
    const at = (tx: bcoin.TX) => sorted.indexOf(tx.hash('hex'));
    t.equal(sorted.length, 4);
    t.ok(at(a) < at(b) && at(b) < at(c), 'a, b, c in order');
  });
});

t.test('Resubmitter', async (t) => {
  const ctx = await startNodes(2);
  t.teardown(() => ctx.close());
  const [renter, host] = ctx.nodes;
  await fundAll(ctx);
  const start = renter.height;
  const c = await makeDeal(renter, host, { endHeight: start + 13, refundHeight: start + 25 });
  await renter.rpc('commitcontracts', [c.encode().toString('hex')]);
  await mineSync(ctx, renter);
  await mineSync(ctx, renter, c.refundHeight - renter.height);

  t.test('should leave out a refund whose escrow was settled elsewhere', async (t) => {
    // The host is cut off: the renter's refund never reaches it.
    await host.rpc('setban', [renter.addr, 'add']);
    for (let p = host.node.pool.peers.head(); p; p = p.next)
      p.destroy();
    await forValue(() => host.node.pool.peers.head(), null, 20000, 'host isolated');
    const refundTxid = await renter.rpc('refundcontract', [c.id()]) as string;
    const refund = renter.node.mempool.getTX(internal(refundTxid))!;

    // Meanwhile both parties' keys settle the escrow on the host's chain.
    const mtx = await twoPartySpend(host, renter, host, c);
    await submitTX(plugin(host).walletContext(), mtx.toTX());
    await host.mine(1);

    // Back together: the renter takes the host's longer chain.
    await host.rpc('clearbanned');
    await renter.rpc('addnode', [host.addr, 'onetry']);
    await ctx.sync();
    await waitIndexed(ctx);
    t.equal(await stateOf(renter, c.id()), 'settled');
    t.notOk(renter.node.mempool.has(internal(refundTxid)), 'the mempool dropped the double spend');

    const result = await plugin(renter).resubmitter.resubmitOwn(renter.height);
    // bcoin's wallet saw the settlement spend an input of its pending
    // refund and dropped it; were it still pending, the check refuses it.
    const pending = await plugin(renter).resubmitter.pending();
    t.notOk(pending.some(tx => tx.txid() === refundTxid), 'the wallet dropped the conflicted refund');
    t.equal(await plugin(renter).resubmitter.whyNot(refund), 'conflict-in-chain', 'seen as conflicted');
    t.notOk(result.resubmitted.includes(refundTxid));
    t.notOk(result.announced.includes(refundTxid), 'never announced again');
    t.notOk(renter.node.mempool.has(internal(refundTxid)), 'not back in the mempool');
    t.notOk(renter.node.mempool.hasOrphan(internal(refundTxid)), 'not kept as an orphan');
  });

  t.test('should abandon a pending tx whose input a confirmed tx spent, and never refund a spent escrow', async (t) => {
    // A second contract, settled by both parties before the renter's
    // refund height: the renter's wallet never sees the settlement (it
    // pays the host), so nothing links it to a refund made after it.
    const d = await makeDeal(renter, host, { endHeight: renter.height + 13, refundHeight: renter.height + 25 });
    await renter.rpc('commitcontracts', [d.encode().toString('hex')]);
    await mineSync(ctx, renter);
    const settle = (await twoPartySpend(renter, renter, host, d)).toTX();
    await submitTX(plugin(host).walletContext(), settle);
    await forValue(() => renter.node.mempool.has(settle.hash('hex')), true, 20000, 'the settlement relayed');
    await mineSync(ctx, renter, d.refundHeight - renter.height);
    t.equal(await stateOf(renter, d.id()), 'settled');
    const wctx = plugin(renter).walletContext();
    const coin = await escrowCoin(renter, d);
    const ring = (await plugin(renter).getEscrowRing(d.renterEscrowKey))!;
    const pendingIds = async () => (await plugin(renter).resubmitter.pending()).map(tx => tx.txid());

    // A refund of that escrow (built on a stale view of it) is refused
    // before the wallet sees it: the mempool would only keep it as an orphan.
    const refused = await refundContract(wctx, d, coin).catch((e: unknown) => e);
    t.ok(refused instanceof ContractError && refused.code === 'inputs-spent', 'refused: inputs-spent');
    t.same(await pendingIds(), [], 'no pending wallet tx');

    // One already in the wallet (as such a refund was kept before): its
    // output counts in the balance until it is abandoned at the next block.
    const before = await wctx.wallet.getBalance();
    const stale = buildRefundTX(d, coin, ring, await wctx.wallet.receiveAddress(0), 1000).toTX();
    await wctx.wdb.addTX(stale);
    t.same(await pendingIds(), [stale.txid()], 'the stale refund pending in the wallet');
    t.equal((await wctx.wallet.getBalance()).unconfirmed, before.unconfirmed + stale.outputs[0].value,
      'its output counted');
    await mineSync(ctx, renter);
    await forValue(pendingIds, (p) => p.length === 0, 20000, 'the stale refund abandoned');
    t.notOk(renter.node.mempool.has(stale.hash('hex')) || renter.node.mempool.hasOrphan(stale.hash('hex')),
      'not in the mempool, not an orphan');
    const after = await wctx.wallet.getBalance();
    t.equal(after.unconfirmed, after.confirmed, 'nothing unconfirmed counted in the balance');
  });

  t.test('should put our unconfirmed txs back into an emptied mempool, parents first', async (t) => {
    // A rating funds the identity address first: a parent and a child, both ours.
    const rated = await renter.rpc('sendrating', [c.id(), 50]) as string;
    const ratingTX = renter.node.mempool.getTX(internal(rated))!;
    const parent = ratingTX.inputs[0].prevout.hash;
    t.ok(renter.node.mempool.has(parent), 'the funding tx waits too');
    // What a restart without a mempool file leaves: nothing.
    await renter.node.mempool.reset();
    t.equal(renter.node.mempool.map.size, 0);
    const result = await plugin(renter).resubmitter.resubmitOwn(renter.height);
    t.ok(result.resubmitted.includes(rated), 'rating back');
    t.ok(renter.node.mempool.has(parent) && renter.node.mempool.has(internal(rated)), 'both in the mempool');
    t.ok(result.announced.includes(rated), 'announced to peers');
    await mineSync(ctx, renter);
    const info = await forValue(() => getContract(host, c.id()),
      v => !!v && !!(v.ratings as { renter: unknown }).renter, 20000, 'rating confirmed') as Record<string, any>;
    t.equal(info.ratings.renter.score, 50);
  });

  t.test('should announce our unconfirmed txs to a peer as it connects, with no block', async (t) => {
    // Apart, as a restarted node is before it has peers: the renter's tx
    // enters its mempool with nobody to announce it to.
    await host.rpc('setban', [renter.addr, 'add']);
    for (let p = host.node.pool.peers.head(); p; p = p.next)
      p.destroy();
    const linked = (n: typeof host) => {
      for (let p = n.node.pool.peers.head(); p; p = p.next) {
        if (p.handshake)
          return true;
      }
      return false;
    };
    await forValue(() => linked(renter) || linked(host), false, 20000, 'the two apart');
    const txid = await renter.rpc('sendtoaddress', [await host.address(), 0.5]) as string;
    t.ok(renter.node.mempool.has(internal(txid)), 'in the renter\'s mempool');
    t.notOk(host.node.mempool.has(internal(txid)), 'not on the host');
    const height = renter.height;
    // The renter dials the host: from the host's side an inbound peer, of
    // which it asks no mempool; only the renter's inv can bring the tx.
    const announced = forEvent<bcoin.TX[]>(plugin(renter).resubmitter, 'announce', 20000,
      (txs) => (txs as bcoin.TX[]).some(tx => tx.txid() === txid));
    await host.rpc('clearbanned');
    await renter.rpc('addnode', [host.addr, 'onetry']);
    await announced;
    await forValue(() => host.node.mempool.has(internal(txid)), true, 20000, 'the tx in the host\'s mempool');
    t.equal(renter.height, height, 'with no block mined');
  });

  t.test('should read our pending txs once for many handshakes, and again after a mempool change', async (t) => {
    const resubmitter = plugin(renter).resubmitter;
    const wdb = renter.node.wallet().wdb;
    let reads = 0;
    const getWallets = wdb.getWallets.bind(wdb);
    wdb.getWallets = async () => {
      reads += 1;
      return getWallets();
    };
    t.teardown(() => {
      wdb.getWallets = getWallets;
    });
    const sent: number[] = [];
    const peer = { noRelay: false, handshake: true, destroyed: false,
      send: (packet: { items: unknown[] }) => sent.push(packet.items.length) } as unknown as bcoin.Peer;
    // A first tx of ours so that there is something to announce.
    const first = await renter.rpc('sendtoaddress', [await host.address(), 0.25]) as string;
    await forValue(() => renter.node.mempool.has(internal(first)), true, 20000, 'ours in the mempool');
    const counts = await Promise.all(Array.from({ length: 20 }, () => resubmitter.handlePeerOpen(peer)));
    t.equal(reads, 1, '20 handshakes, one read of the wallets');
    t.ok(counts.every((n) => n === counts[0] && n >= 1), 'each handshake announced the same txs');
    const second = await renter.rpc('sendtoaddress', [await host.address(), 0.25]) as string;
    await forValue(() => renter.node.mempool.has(internal(second)), true, 20000, 'the new one in the mempool');
    const after = await resubmitter.handlePeerOpen(peer);
    t.equal(reads, 2, 'a tx entering the mempool makes the next handshake read again');
    t.equal(after, counts[0] + 1, 'and it is announced');
  });
});
