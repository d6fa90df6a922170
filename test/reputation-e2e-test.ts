// Four regtest nodes: a renter forms a contract with an honest host and one
// with a host that fails; the honest host settles with real sats, the other
// contract is refunded; the renter rates both on chain. A fourth node that
// only follows the chain ranks the honest host above the failed one; the
// renter's own records and EigenTrust show apart; a reorg that removes a
// rating removes its weight.
import t from 'tap';
import bcoin = require('../lib/bcoin');
import * as contracts from '../lib/contracts';
import * as reputation from '../lib/reputation';
import { buildCloseTX, signState } from '../lib/contracts/channel';
import { submitTX } from '../lib/contracts/builders';
import type { StorageContract } from '../lib/contracts/storagecontract';
import type { ReputationJSON } from '../lib/reputation';
import type { CommandContext } from '../lib/cli/cmdutil';
import { reputationCommands } from '../lib/cli/reputationcmds';
import type { RPCClient } from '../lib/cli/rpcclient';
import { NodesContext, type TestNode } from './util/nodes-context';
import { forValue } from './util/wait';
import { fundAll, getContract, internal, makeDeal, mineSync, plugin, stateOf } from './util/contracts';

async function escrowCoin(n: TestNode, c: StorageContract): Promise<bcoin.Coin> {
  const info = await getContract(n, c.id()) as { commit: { txid: string; vout: number; height: number } };
  const tx = await n.node.chain.db.getTX(Buffer.from(info.commit.txid, 'hex').reverse().toString('hex'));
  return bcoin.Coin.fromTX(tx!, info.commit.vout, info.commit.height);
}

async function pk(n: TestNode): Promise<string> {
  return (await plugin(n).identity()).publicKey.toString('hex');
}

async function rep(n: TestNode, who: string): Promise<ReputationJSON> {
  return await n.rpc('getreputation', [who]) as ReputationJSON;
}

t.test('reputation on regtest nodes', async (t) => {
  const ctx = await NodesContext.create(Array.from({ length: 4 }, () => ({
    // Ratings by hand here (rater.ts publishes on its own: reputation-rater-test).
    memory: true, extensions: [contracts.extension, reputation.extension], config: { rate: 'off' }
  })));
  t.teardown(() => ctx.close());
  await ctx.open();
  await ctx.connectAll();
  const [renter, honest, failing, observer] = ctx.nodes;
  await fundAll(ctx);
  const H = await pk(honest);
  const F = await pk(failing);
  const R = await pk(renter);

  const good = await makeDeal(renter, honest, { escrowValue: 50000 });
  const bad = await makeDeal(renter, failing, { escrowValue: 30000 });
  await renter.rpc('commitcontracts', [good.encode().toString('hex'), bad.encode().toString('hex')]);
  await mineSync(ctx, renter);
  for (const n of ctx.nodes) {
    for (const c of [good, bad])
      await forValue(() => stateOf(n, c.id()), 'active', 30000, `active on ${n.addr}`);
  }

  t.test('should give an identity nobody rated the prior, and check its argument', async (t) => {
    const r = await rep(observer, H);
    t.match(r, { pubkey: H, score: reputation.common.PRIOR_SCORE, known: false, own: null, trust: null });
    t.match(r.ratings, { counted: 0, unpaid: 0, weight: 0 });
    // By identity address too.
    const byAddr = await rep(observer, r.identity);
    t.equal(byAddr.pubkey, H);
    await t.rejects(observer.rpc('getreputation', ['nope']), { code: -8 });
    await t.rejects(observer.rpc('getreputation', ['04' + '11'.repeat(32)]), { code: -8 });
    await t.rejects(observer.rpc('getreputation', [H, 1]), { code: -8 });
    const all = await observer.rpc('getreputation', []) as ReputationJSON[];
    t.same(all.map((x) => x.pubkey).sort(), [R, H, F].sort(), 'every identity the index names');
    // The renter's own list leaves its own identity out (a user of `hosts` expects no row for itself).
    const mine = await renter.rpc('getreputation', []) as ReputationJSON[];
    t.same(mine.map((x) => x.pubkey).sort(), [H, F].sort(), 'the renter\'s list: its counterparties, not itself');
    t.equal((await rep(renter, R)).pubkey, R, 'asked by name, its own identity still answers');
  });

  t.test('should settle the honest host with real sats and refund the failed one', async (t) => {
    const coin = await escrowCoin(honest, good);
    const rKey = (await plugin(renter).getEscrowRing(good.renterEscrowKey))!.privateKey;
    const hKey = (await plugin(honest).getEscrowRing(good.hostEscrowKey))!.privateKey;
    const state = signState(good, coin, 1, 20000, rKey);
    const payout = await plugin(honest).walletContext().wallet.receiveAddress(0);
    const { tx } = buildCloseTX(good, coin, state, hKey, { payout, rate: 1000 });
    await submitTX(plugin(honest).walletContext(), tx.toTX());
    await mineSync(ctx, honest);
    await forValue(() => stateOf(observer, good.id()), 'settled', 30000, 'settled on the observer');
    // The failed host never closes: the renter's node takes its escrow back
    // at refundHeight on its own (refundcontract answers with that refund).
    await mineSync(ctx, renter, bad.refundHeight - renter.height);
    await renter.rpc('refundcontract', [bad.id()]);
    await mineSync(ctx, renter);
    await forValue(() => stateOf(observer, bad.id()), 'refunded', 30000, 'refunded on the observer');
  });

  t.test('should rank the honest host above the failed one on a node that only follows the chain', async (t) => {
    await renter.rpc('sendrating', [good.id(), 90, 4, 0, contracts.common.ratingFlags.FINAL]);
    await renter.rpc('sendrating', [bad.id(), -100, 1, 2, contracts.common.ratingFlags.FINAL]);
    await mineSync(ctx, renter);
    const h = await forValue(() => rep(observer, H), (r) => r.ratings.counted === 1, 30000, 'honest rating counted');
    const f = await rep(observer, F);
    t.comment(`observer: honest ${h.score} (settled ${h.ratings.settled} sat), failed ${f.score}`);
    t.equal(h.ratings.settled, 20000, 'weighted by the sats settled to the host');
    t.equal(h.ratings.score, 950);
    t.match(f.ratings, { counted: 0, unpaid: 1, weight: 0 }, 'a refunded contract\'s rating weighs nothing');
    t.ok(h.score > f.score, `${h.score} > ${f.score}`);
    t.equal(h.own, null);
    const list = await observer.rpc('getreputation', []) as ReputationJSON[];
    t.equal(list[0].pubkey, H, 'highest score first');
  });

  t.test('should print the view as a table and as JSON', async (t) => {
    const lines: string[] = [];
    const cli: CommandContext = {
      client: { call: (method: string, params: unknown[]) => observer.rpc(method, params) } as unknown as RPCClient,
      out: (line) => lines.push(line),
      err: process.stderr
    };
    await reputationCommands.reputation(cli, []);
    const table = lines.join('\n').split('\n');
    t.match(table[0], /identity\s+score\s+own\s+audits ok\/failed\s+settled\/refunded\s+ratings\s+rated sat\s+peers\s+trust ppm/);
    const h = await rep(observer, H);
    t.match(table[2], new RegExp(`^${h.identity}\\s+${h.score}\\s`), 'honest host first, with its score');
    t.match(table.join('\n'), /400\?/, 'a prior score is marked');
    lines.length = 0;
    await reputationCommands.reputation(cli, [H, '--json']);
    t.same(JSON.parse(lines.join('\n')), h);
    await t.rejects(reputationCommands.reputation(cli, ['--sort', 'bogus']), { code: 'bad-arg' });
  });

  t.test('should show the renter\'s own records and its pre-trust apart', async (t) => {
    const h = await rep(renter, H);
    const f = await rep(renter, F);
    t.match(h.own, { passed: 4, failed: 0, settled: 1, paid: 20000, refunded: 0 });
    t.match(f.own, { passed: 1, failed: 2, settled: 0, refunded: 1 });
    t.equal(h.ratings.counted, 0, 'its own rating is an own record, not the chain source');
    t.match(h.trust, { pretrusted: true });
    t.match(f.trust, { pretrusted: false, value: 0 });
    t.ok(h.score > 600 && f.score < reputation.common.PRIOR_SCORE, `renter: honest ${h.score}, failed ${f.score}`);
  });

  t.test('should drop a rating\'s weight when a reorg removes it', async (t) => {
    // The observer, cut off, mines a longer chain without the host's rating of the renter.
    await observer.rpc('setban', [renter.addr, 'add']);
    for (let p = observer.node.pool.peers.head(); p; p = p.next)
      p.destroy();
    await forValue(() => observer.node.pool.peers.head(), null, 30000, 'observer isolated');
    const forkHeight = renter.height;
    const rating = await honest.rpc('sendrating', [good.id(), 100]) as string;
    await honest.mine(1);
    await forValue(() => failing.height, forkHeight + 1, 30000, 'rating block on the failing host');
    const viewer = failing;
    await forValue(() => rep(viewer, R), (r) => r.ratings.counted === 1, 30000, 'renter rated');
    await observer.mine(2);
    await observer.rpc('clearbanned');
    await renter.rpc('addnode', [observer.addr, 'onetry']);
    await forValue(() => viewer.node.chain.tip.hash, observer.node.chain.tip.hash, 30000, 'reorged to the observer\'s chain');
    await ctx.sync();
    const gone = await forValue(() => rep(viewer, R), (r) => r.ratings.counted === 0, 30000, 'rating weight removed');
    t.match(gone.ratings, { settled: 0, weight: 0 });
    // The resubmitter puts the rating back; the next block confirms it again.
    await forValue(() => honest.node.mempool.has(internal(rating)), true, 30000, 'rating back in the mempool');
    await mineSync(ctx, honest);
    await forValue(() => rep(viewer, R), (r) => r.ratings.counted === 1, 30000, 'rating weight back');
  });
});
