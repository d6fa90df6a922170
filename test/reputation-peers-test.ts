// Asking peers (lib/reputation/asker.ts) on regtest nodes: a renter R
// settled a contract with T (so R pre-trusts T); T settled one with the
// host X, and S had one with X refunded. R asks its peers `reputation.get`
// about hosts and keeps their signed statements: T's weighs its
// confidence (R trusts T fully), S's weighs nothing (nobody R trusts rates
// S); getreputation and the `reputation` table show the peers source apart.
import t from 'tap';
import type { ReputationJSON, ReputationPlugin } from '../lib/reputation';
import type { CommandContext } from '../lib/cli/cmdutil';
import { reputationCommands } from '../lib/cli/reputationcmds';
import type { RPCClient } from '../lib/cli/rpcclient';
import { NodesContext, type TestNode } from './util/nodes-context';
import { forCloudPeers } from './util/network';
import { forValue } from './util/wait';
import { fundAll, makeDeal, mineSync, plugin, stateOf, twoPartySpend } from './util/contracts';

async function pk(n: TestNode): Promise<string> {
  return (await plugin(n).identity()).publicKey.toString('hex');
}

async function rep(n: TestNode, who: string): Promise<ReputationJSON> {
  return await n.rpc('getreputation', [who]) as ReputationJSON;
}

t.test('statements asked of peers', async (t) => {
  // Ratings by hand (none here): the sources under test are own records and statements.
  const ctx = await NodesContext.create([
    { config: { rate: 'off' } }, { config: { rate: 'off' } }, { config: { rate: 'off', host: true } }, { config: { rate: 'off' } }
  ]);
  t.teardown(() => ctx.close());
  await ctx.open();
  await ctx.connectAll();
  const [R, T, X, S] = ctx.nodes;
  await fundAll(ctx);
  await forCloudPeers(R, [T, X, S], 30000, 'R\'s cloud peers');
  const [keyT, keyX, keyS] = [await pk(T), await pk(X), await pk(S)];
  await forValue(async () => (await R.rpc('listhosts') as Array<{ pubkey: string }>).some((h) => h.pubkey === keyX), true,
    30000, 'the host\'s announcement');

  const rt = await makeDeal(R, T, { escrowValue: 40000 });
  const tx = await makeDeal(T, X, { escrowValue: 40000 });
  const sx = await makeDeal(S, X, { escrowValue: 40000 });
  // Each commitment mined by its renter (the relay may not have carried it yet).
  for (const [n, c] of [[R, rt], [T, tx], [S, sx]] as const) {
    await n.rpc('commitcontracts', [c.encode().toString('hex')]);
    await mineSync(ctx, n);
  }
  for (const c of [rt, tx, sx])
    await forValue(() => stateOf(R, c.id()), 'active', 30000, `active ${c.id()}`);
  // R-T and T-X settle with sats to the host; S-X goes back to S.
  for (const [c, renter, host] of [[rt, R, T], [tx, T, X]] as const) {
    await host.node.mempool.addTX((await twoPartySpend(host, renter, host, c)).toTX());
    await mineSync(ctx, host);
  }
  await mineSync(ctx, R, Math.max(0, sx.refundHeight - R.height));
  await S.rpc('refundcontract', [sx.id()]);
  await mineSync(ctx, S);
  for (const [c, state] of [[rt, 'settled'], [tx, 'settled'], [sx, 'refunded']] as const)
    await forValue(() => stateOf(R, c.id()), state, 30000, `${state} ${c.id()}`);
  await forValue(() => rep(T, keyX), (r) => r.own?.settled === 1, 30000, 'T\'s own record of X');
  await forValue(() => rep(S, keyX), (r) => r.own?.refunded === 1, 30000, 'S\'s own record of X');
  const before = await forValue(() => rep(R, keyT), (r) => r.trust?.pretrusted === true, 30000, 'R pre-trusts T');
  t.equal(before.own?.settled, 1);

  t.test('should keep the statements apart and weigh them by trust in the signer', async (t) => {
    const asker = R.node.require<ReputationPlugin>('reputation').asker!;
    await asker.kick();
    t.comment(`round: ${JSON.stringify(asker.last)}`);
    const x = await forValue(() => rep(R, keyX), (r) => r.peers.statements === 2, 30000, 'two statements about X');
    const byT = x.peers.opinions.find((o) => o.pubkey === keyT)!;
    const byS = x.peers.opinions.find((o) => o.pubkey === keyS)!;
    t.match(byT, { settled: 1, refunded: 0, score: 666, confidence: 333, weight: 333 }, 'T: trusted fully');
    t.match(byS, { settled: 0, refunded: 1, score: 333, confidence: 333, weight: 0 }, 'S: nobody R trusts rates it');
    t.match(x.peers, { counted: 1, score: 666, confidence: 333 });
    t.equal(x.own, null, 'R never dealt with X');
    t.equal(x.ratings.counted, 0);
    t.equal(x.score, Math.floor((400 * 1000 + 333 * 666) / (1000 + 333)), 'the prior and the peers source');
    t.ok(x.known);
    t.comment(`R's view of X: score ${x.score} (peers ${x.peers.score}, ${x.peers.counted}/${x.peers.statements} counted)`);
    // What X says of others counts; what nobody saw says nothing.
    const aboutT = await rep(R, keyT);
    t.equal(aboutT.peers.counted, 0, 'statements without own records weigh nothing');
    t.equal(aboutT.score, before.score, 'so T\'s score is unchanged');
  });

  t.test('should show the peers column in the table', async (t) => {
    const lines: string[] = [];
    const cli: CommandContext = {
      client: { call: (method: string, params: unknown[]) => R.rpc(method, params) } as unknown as RPCClient,
      out: (line) => lines.push(line),
      err: process.stderr
    };
    await reputationCommands.reputation(cli, [keyX]);
    t.match(lines[0], /score\s+own\s+audits ok\/failed\s+settled\/refunded\s+ratings\s+rated sat\s+peers\s+trust ppm/);
    t.match(lines.join('\n'), /\s666 \(1\/2\)\s/);
  });
});
