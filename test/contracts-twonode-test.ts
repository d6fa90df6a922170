// Two regtest nodes: a contract signed by both, committed, mined, active on
// both (the host learns the record over csctr), rated by both parties; a
// rating by a non-party is ignored. Also exercises every contracts RPC.
import t from 'tap';
import bcoin = require('../lib/bcoin');
import { Identity } from '../lib/base/identity';
import { buildRatingTX, submitTX } from '../lib/contracts/builders';
import { RatingPayload } from '../lib/contracts/payload';
import * as common from '../lib/contracts/common';
import { forValue } from './util/wait';
import {
  fundAll, getContract, makeDeal, mineSync, plugin, shareTX, startNodes, stateOf
} from './util/contracts';

t.test('contracts on two nodes', async (t) => {
  const ctx = await startNodes(2);
  t.teardown(() => ctx.close());
  const [renter, host] = ctx.nodes;
  await fundAll(ctx);

  const contract = await makeDeal(renter, host);
  const id = contract.id();
  const hex = contract.encode().toString('hex');

  t.test('should decode a contract over RPC', async (t) => {
    const json = await renter.rpc('decodecontract', [hex]) as Record<string, unknown>;
    t.equal(json.id, id);
    t.equal(json.valid, true);
    t.equal(json.signed, true);
    const bad = await renter.rpc('decodecontract', [hex.slice(0, 2) + '01' + hex.slice(4)]) as Record<string, unknown>;
    t.equal(bad.valid, false);
    t.equal(bad.error, 'bad-contract-network');
    await t.rejects(renter.rpc('decodecontract', ['00']), { code: -22 });
    await t.rejects(renter.rpc('decodecontract', []), { code: -8 });
  });

  t.test('should refuse unsigned or invalid contracts', async (t) => {
    const unsigned = await makeDeal(renter, host);
    unsigned.hostSig = Buffer.alloc(64);
    await t.rejects(renter.rpc('commitcontracts', [unsigned.encode().toString('hex')]),
      { code: -25, message: /contract-unsigned/ });
    await t.rejects(renter.rpc('getcontract', ['00'.repeat(32)]), { code: -5 });
    await t.rejects(renter.rpc('getcontract', ['xyz']), { code: -8 });
    await t.rejects(renter.rpc('listcontracts', ['bogus']), { code: -8 });
  });

  t.test('should commit, mine and show the contract active on both nodes', async (t) => {
    const res = await renter.rpc('commitcontracts', [hex]) as { txids: string[]; ids: string[] };
    t.same(res.ids, [id]);
    t.equal(res.txids.length, 1);
    const tx = renter.node.mempool.getTX(Buffer.from(res.txids[0], 'hex').reverse().toString('hex'));
    t.ok(tx, 'commitment in the mempool');
    t.equal(tx!.version, 2);
    // Pending for the renter who broadcast it; not relayed before it confirms.
    t.match(await getContract(renter, id), { state: 'pending', role: 'renter', commit: { txid: res.txids[0] } });
    t.equal(await getContract(host, id), null);
    await mineSync(ctx, renter);
    for (const n of [renter, host])
      await forValue(() => stateOf(n, id), 'active', 20000, `active on ${n.addr}`);
    const info = await getContract(host, id) as Record<string, any>;
    t.equal(info.role, 'host');
    t.equal(info.commit.txid, res.txids[0]);
    t.equal(info.commit.height, renter.height);
    t.equal(info.contract.escrowValue, contract.escrowValue);
    t.equal((await getContract(renter, id) as Record<string, any>).role, 'renter');
    const active = await host.rpc('listcontracts', ['active']) as unknown[];
    t.equal(active.length, 1);
    t.same(await host.rpc('listcontracts', ['expired']), []);
  });

  t.test('should record ratings by both parties', async (t) => {
    const r1 = await renter.rpc('sendrating', [id, 80, 4, 0, common.ratingFlags.FINAL]);
    const r2 = await host.rpc('sendrating', [id, -5]);
    t.type(r1, 'string');
    t.type(r2, 'string');
    await shareTX(renter, host, r1 as string);
    await mineSync(ctx, host);
    for (const n of [renter, host]) {
      const info = await forValue(() => getContract(n, id),
        (v) => !!v && !!(v.ratings as any).renter && !!(v.ratings as any).host, 20000, 'ratings') as Record<string, any>;
      t.equal(info.ratings.renter.score, 80);
      t.equal(info.ratings.renter.passed, 4);
      t.equal(info.ratings.renter.flags, common.ratingFlags.FINAL);
      t.equal(info.ratings.host.score, -5);
      t.equal(info.ratings.host.rater, (await plugin(host).identity()).publicKey.toString('hex'));
    }
    const hostId = (await plugin(host).identity()).publicKey.toString('hex');
    const got = await renter.rpc('getratings', [hostId]) as Record<string, any>;
    t.equal(got.received.length, 1);
    t.equal(got.received[0].score, 80);
    t.equal(got.given.length, 1);
    t.equal(got.given[0].score, -5);
    await t.rejects(renter.rpc('sendrating', [id, 101]), { code: -8 });
    await t.rejects(renter.rpc('getratings', ['02' + 'ff'.repeat(32)]), { code: -8 });
    await t.rejects(renter.rpc('sendrating', ['00'.repeat(32), 1]), { code: -5 });
  });

  t.test('should replace a rating by a later one and ignore non-parties', async (t) => {
    // A stranger claims the renter role for this contract.
    const stranger = Identity.generate(renter.node.network);
    const ctxW = plugin(renter).walletContext();
    const fund = new bcoin.MTX();
    fund.version = 2;
    fund.addOutput(stranger.ring.getAddress(), 50000);
    await ctxW.wallet.fund(fund, { account: 0, rate: 2000 });
    await ctxW.wallet.sign(fund);
    const fundTX = fund.toTX();
    await submitTX(ctxW, fundTX);
    const info = await getContract(renter, id) as Record<string, any>;
    const payload = new RatingPayload({
      id: Buffer.from(id, 'hex'), role: common.roles.RENTER, score: -100,
      commitHeight: info.commit.height, commitIndex: info.commit.txIndex, leafIndex: info.commit.leaf
    });
    const fake = buildRatingTX(bcoin.Coin.fromTX(fundTX, 0, -1), stranger, payload, 2000).toTX();
    await renter.node.mempool.addTX(fake);
    // And the host changes its mind.
    const later = await host.rpc('sendrating', [id, 30]) as string;
    await shareTX(host, renter, later);
    await mineSync(ctx, renter);
    t.ok(await renter.node.chain.db.getTX(fake.hash('hex')), 'stranger rating mined');
    await forValue(() => getContract(renter, id), (v) => !!v && (v.ratings as any).host.score === 30,
      20000, 'replaced rating');
    for (const n of [renter, host]) {
      const now = await getContract(n, id) as Record<string, any>;
      t.equal(now.ratings.renter.score, 80, 'stranger ignored');
      t.equal(now.ratings.host.score, 30, 'later rating wins');
    }
    const none = await host.rpc('getratings', [stranger.publicKey.toString('hex')]) as Record<string, any>;
    t.same(none.received, []);
    t.same(none.given, []);
  });

  t.test('should expire at the end height', async (t) => {
    const end = contract.endHeight;
    await mineSync(ctx, renter, end - renter.height);
    for (const n of [renter, host])
      await forValue(() => stateOf(n, id), 'expired', 20000, 'expired');
    await t.rejects(renter.rpc('refundcontract', [id]), { code: -25, message: /refund-too-early/ });
    await t.rejects(host.rpc('refundcontract', [id]), { code: -25, message: /not-renter/ });
  });
});
