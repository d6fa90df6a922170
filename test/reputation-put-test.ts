// Host choice on real nodes: a renter whose own records show a host failing
// (its on-chain rating of a contract with that host: audits failed, data
// not retrieved) puts to the other host, and says why in put's table;
// negotiatestorage shows each offer's score and honours minscore; the host
// directory (`hosts`) shows each host's score, best first; a host asks the
// renter's `reputation` service for its signed view of the failed host.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import type { CommandContext } from '../lib/cli/cmdutil';
import type { RPCClient } from '../lib/cli/rpcclient';
import { storageCommands } from '../lib/cli/storagecmds';
import { hostCommands, type HostRow } from '../lib/cli/hostcmds';
import * as contracts from '../lib/contracts';
import type { NegotiateStorageResult } from '../lib/deals/rpctypes';
import type { ReputationJSON } from '../lib/reputation';
import type { Negotiator } from '../lib/negotiator';
import type { LedgerRecord } from '../lib/negotiator/server';
import { NodesContext, tempDir } from './util/nodes-context';
import { forCloudPeers } from './util/network';
import { forValue } from './util/wait';
import { fundAll, makeDeal, mineSync, plugin, stateOf } from './util/contracts';

t.test('put chooses hosts by price and reputation', async (t) => {
  const ctx = await NodesContext.create([{}, { config: { host: true } }, { config: { host: true } }]);
  const work = tempDir();
  t.teardown(async () => {
    await ctx.close();
    fs.rmSync(work, { recursive: true, force: true });
  });
  await ctx.open();
  await ctx.connectAll();
  const [renter, good, bad] = ctx.nodes;
  await fundAll(ctx);
  await forCloudPeers(renter, [good, bad], 30000, 'both hosts');
  const goodId = (await plugin(good).identity()).address;
  const badKey = (await plugin(bad).identity()).publicKey.toString('hex');
  const badId = (await plugin(bad).identity()).address;

  // The renter's own record of the bad host: a contract it rated after two failed audits and a failed retrieval.
  const c = await makeDeal(renter, bad);
  await renter.rpc('commitcontracts', [c.encode().toString('hex')]);
  await mineSync(ctx, renter);
  await forValue(() => stateOf(renter, c.id()), 'active', 30000, 'active');
  const flags = contracts.common.ratingFlags;
  await renter.rpc('sendrating', [c.id(), -100, 1, 2, flags.FINAL | flags.RETRIEVAL_FAILED]);
  await mineSync(ctx, renter);
  const badRep = await forValue(() => renter.rpc('getreputation', [badKey]) as Promise<ReputationJSON>,
    (r) => r.own !== null && r.own.failed === 2, 30000, 'own record of the failed host');
  t.ok(badRep.score < 400, `failed host scores ${badRep.score}, below an unknown host`);

  t.test('should rank the failed host last and show each offer\'s score', async (t) => {
    // What the failed host is asked (its server's promise records): a quote may be paid.
    const asked: string[] = [];
    const badNeg = bad.node.require<Negotiator>('negotiator');
    const onPromise = (r: LedgerRecord): void => {
      asked.push(`${r.service}.${r.method}`);
    };
    badNeg.on('promise', onPromise);
    t.teardown(() => badNeg.removeListener('promise', onPromise));
    const neg = await renter.rpc('negotiatestorage', [300000, 100, 5000, 1]) as NegotiateStorageResult;
    t.ok(asked.includes('storage.quote'), 'without --min-score the failed host is asked for a quote');
    asked.length = 0;
    t.same(neg.offers.map((o) => [o.host, o.score]), [[goodId, 400]]);
    const why = neg.declined.find((d) => d.host === badId);
    t.match(why?.reason, new RegExp(`ranked below the chosen .*reputation score ${badRep.score}`));
    const min = badRep.score + 1;
    const strict = await renter.rpc('negotiatestorage', [300000, 100, 5000, 2, null, null, min]) as NegotiateStorageResult;
    t.same(strict.offers.map((o) => o.host), [goodId], 'the failed host is not asked at all');
    t.match(strict.declined.find((d) => d.host === badId)?.reason,
      `reputation score ${badRep.score} below --min-score ${min}: not asked for a quote`);
    t.same(asked, [], 'connected, but not asked for a (possibly paid) quote');
    await t.rejects(renter.rpc('negotiatestorage', [300000, 100, 5000, 1, null, null, 1001]), { code: -8 });
  });

  t.test('should put to the other host and say why in put\'s table', async (t) => {
    const file = path.join(work, 'in.bin');
    fs.writeFileSync(file, randomBytes(200000));
    const lines: string[] = [];
    const cli: CommandContext = {
      client: { call: (method: string, params: unknown[]) => renter.rpc(method, params) } as unknown as RPCClient,
      out: (line) => lines.push(line),
      err: fs.createWriteStream('/dev/null')
    };
    await storageCommands.put(cli, [file, '--hosts', '1', '--duration', '100', '--max-price', '5000', '--no-wait']);
    const out = lines.join('\n');
    t.match(out, /contract\s+object\s+revision\s+host\s+storage sat\/GiB\/1000blk\s+cost\(sat\)\s+score\s+escrow\(sat\)\s+state/);
    t.match(out, new RegExp(`${goodId}\\s+\\d+\\s+\\d+\\s+400\\s`), 'the good host, with its score');
    t.match(out, new RegExp(`not chosen ${badId}: not needed: ranked below the chosen .*reputation score ${badRep.score}`));
    t.notMatch(out, new RegExp(`${badId}\\s+\\d+\\s+\\d+\\s+\\d+\\s`), 'no replica on the failed host');
  });

  t.test('should not reuse an open contract with a host below --min-score, and say why', async (t) => {
    type Found = { contracts: Array<{ host: string }>; skipped: Array<{ id: string; host: string; reason: string }> };
    const strict = await renter.rpc('findcontracts', [1000, 5, 5000, 401, true]) as Found;
    t.same(strict.contracts, []);
    t.ok(strict.skipped.length > 0 && strict.skipped.every((k) => k.host === goodId), JSON.stringify(strict.skipped));
    t.match(strict.skipped[0].reason, 'reputation score 400 (unknown host) below --min-score 401');
    const open = await renter.rpc('findcontracts', [1000, 5, 5000, 0, true]) as Found;
    t.same(open.skipped, [], 'nothing left out at --min-score 0');
    t.ok(Array.isArray(await renter.rpc('findcontracts', [1000, 5])), 'the plain list without verbose');
  });

  t.test('should answer a peer with the renter\'s signed view (the reputation service)', async (t) => {
    const me = await plugin(renter).identity();
    const res = await good.rpc('cloudrequest', [me.address, 'reputation', 'get', JSON.stringify(badKey)]) as { status: string; body: unknown };
    t.equal(res.status, 'ok');
    t.match(res.body, {
      signer: me.publicKey.toString('hex'), subject: badKey, score: badRep.score, known: true,
      own: { passed: 1, failed: 2, retrievalsfailed: 1 }, valid: true
    });
    await t.rejects(good.rpc('cloudrequest', [me.address, 'reputation', 'get', '"nope"']), { code: -8 });
  });

  t.test('should show each host\'s score in the host directory, best first', async (t) => {
    const lines: string[] = [];
    const cli: CommandContext = {
      client: { call: (method: string, params: unknown[]) => renter.rpc(method, params) } as unknown as RPCClient,
      out: (line) => lines.push(line),
      err: fs.createWriteStream('/dev/null')
    };
    await forValue(async () => (await renter.rpc('listhosts') as Array<{ identity: string }>).map((h) => h.identity),
      (ids) => ids.includes(goodId) && ids.includes(badId), 30000, 'both hosts\' announcements');
    await hostCommands.hosts(cli, []);
    const table = lines.join('\n').split('\n');
    t.match(table[0], /identity\s+.*\s+free\s+score\s+audits ok\/failed\s+height$/);
    t.notMatch(table[0], /\b(connected|own|ratings|peers|trust|rated sat)\b/,
      'whether connected shows in `reached`; the score\'s other parts in `reputation`');
    t.match(table[2], new RegExp(`^${goodId}\\s.*\\s400\\??\\s`), 'the good host first');
    t.match(table[3], new RegExp(`^${badId}\\s.*\\s${badRep.score}\\s+1/2\\s`), 'the failed host last, audits 1/2');
    lines.length = 0;
    await hostCommands.hosts(cli, ['--json']);
    const rows = JSON.parse(lines.join('\n')) as HostRow[];
    t.same(rows.map((r) => [r.identity, r.reputation?.score]), [[goodId, 400], [badId, badRep.score]]);
    await t.rejects(hostCommands.hosts(cli, ['--sort', 'nope']), { code: 'bad-arg' });
  });
});
