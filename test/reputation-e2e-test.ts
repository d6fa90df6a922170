// Four regtest nodes: a renter forms a contract with an honest host and one
// with a host that fails; the honest host settles with real sats, the other
// contract is refunded; the renter rates both on chain. A node that only
// follows the chain weighs the refunded contract's rating at zero; the
// renter's own records and pre-trust show apart; the CLI prints the view.
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
import { fundAll, getContract, makeDeal, mineSync, plugin, stateOf } from './util/contracts';

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
    memory: true, extensions: [contracts.extension, reputation.extension]
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

  t.test('should publish the renter\'s ratings and weigh a refunded contract\'s at zero', async (t) => {
    await renter.rpc('sendrating', [good.id(), 90, 4, 0, contracts.common.ratingFlags.FINAL]);
    await renter.rpc('sendrating', [bad.id(), -100, 1, 2, contracts.common.ratingFlags.FINAL]);
    await mineSync(ctx, renter);
    const f = await forValue(() => rep(observer, F), (r) => r.ratings.unpaid === 1, 30000, 'failed host rated');
    t.match(f.ratings, { counted: 0, unpaid: 1, weight: 0 }, 'a refunded contract\'s rating weighs nothing');
    t.equal(f.score, reputation.common.PRIOR_SCORE);
    t.equal(f.own, null);
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
    t.match(table[0], /identity\s+score\s+own\s+audits ok\/failed\s+settled\/refunded\s+ratings\s+rated sat\s+trust ppm/);
    const h = await rep(observer, H);
    t.equal(table.length, 5, 'header, rule and the three identities');
    t.match(table.join('\n'), new RegExp(`${h.identity}\\s+${h.score}`), 'each identity with its score');
    t.match(table.join('\n'), /400\?/, 'a prior score is marked');
    lines.length = 0;
    await reputationCommands.reputation(cli, [H, '--json']);
    t.same(JSON.parse(lines.join('\n')), h);
    await t.rejects(reputationCommands.reputation(cli, ['--sort', 'bogus']), { code: 'bad-arg' });
  });

  t.test('should show the renter\'s own records and its pre-trust apart', async (t) => {
    const h = await rep(renter, H);
    const f = await rep(renter, F);
    t.match(h.own, { passed: 4, failed: 0, refunded: 0 });
    t.match(f.own, { passed: 1, failed: 2, settled: 0, refunded: 1 });
    t.equal(h.ratings.counted, 0, 'its own rating is an own record, not the chain source');
    t.match(h.trust, { pretrusted: true });
    t.match(f.trust, { pretrusted: false, value: 0 });
    t.ok(h.score > 600 && f.score < reputation.common.PRIOR_SCORE, `renter: honest ${h.score}, failed ${f.score}`);
    t.ok(h.score > f.score);
  });
});
