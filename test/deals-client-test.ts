// The renter client in-process: the same put and get the CLI runs, driven
// through the node's own RPC dispatcher (as audits, repair and renewal
// will drive it inside the node) instead of JSON-RPC over HTTP.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { RenterClient, RenterClientError } from '../lib/deals/renterclient';
import { contractCost } from '../lib/deals/pricing';
import { NodesContext, tempDir } from './util/nodes-context';
import { forCloudPeers } from './util/network';

t.test('RenterClient over an in-process call', async (t) => {
  const ctx = await NodesContext.create([{}, { config: { host: true } }]);
  const work = tempDir();
  t.teardown(async () => {
    await ctx.close();
    fs.rmSync(work, { recursive: true, force: true });
  });
  await ctx.open();
  await ctx.connect(1, 0);
  const [renter, host] = ctx.nodes;
  await forCloudPeers(renter, [host], 30000, 'the host');
  const warnings: string[] = [];
  // Every call the client makes, in order (a put's own RPCs are part of its cost).
  const calls: string[] = [];
  // The calls of a put's steps: without the lease renewals it makes every few seconds while it runs.
  const steps = () => calls.filter((m) => m !== 'renewputlease');
  const client = new RenterClient((method, params) => {
    calls.push(method);
    return renter.rpc(method, params);
  }, { warn: (m) => warnings.push(m) });
  const file = path.join(work, 'in.bin');
  fs.writeFileSync(file, randomBytes(300000));
  const opts = {
    file, name: Buffer.from('in.bin'), hosts: 1, minHosts: 1, duration: 100, maxPrice: 5000,
    workDir: fs.mkdtempSync(path.join(work, 'put-')), wait: false
  };

  await t.test('should refuse before segwit with the node\'s reason', async (t) => {
    calls.length = 0;
    await t.rejects(client.put(opts), { code: -1, message: /segwit and CSV are not active yet/ });
    // The file was recorded while the hosts were asked: the failed put forgets it.
    t.ok(calls.includes('addfile'), calls.join());
    t.equal(steps()[steps().length - 1], 'forgetfile', calls.join());
    t.equal(calls[calls.length - 1], 'renewputlease', 'and ends the lease it took');
  });

  await t.test('should put, confirm and get back', async (t) => {
    await renter.mine(440);
    await ctx.sync();
    calls.length = 0;
    const res = await client.put(opts);
    t.equal(res.contracts.length, 1);
    t.same(res.contracts.map((c) => c.state), ['pending']);
    // The states come with commitfile's answer: no getfile after it.
    t.equal(calls[calls.length - 1], 'commitfile', calls.join());
    t.same(new Set(steps()).size, steps().length, `no call made twice: ${calls.join()}`);
    t.ok(calls.indexOf('renewputlease') > calls.indexOf('addfile'), 'the lease taken once the file is recorded, ended by commitfile');
    t.equal(res.txids.length, 1);
    await renter.mine(1);
    await ctx.sync();
    t.same(await client.waitActive(res.fileId, res.contracts.map((c) => c.id), 20000), ['active']);
    const got = await client.get(res.fileId.slice(0, 6), fs.mkdtempSync(path.join(work, 'get-')));
    t.ok(fs.readFileSync(got.path).equals(fs.readFileSync(file)), 'identical bytes');
    t.equal(got.host, res.contracts[0].host);
    t.equal(warnings.length, 1, warnings.join('\n'));
    t.match(warnings[0], /forming 1 new contract \(no open contract yet\) with an allowance of 10000 sat \(default/);
    t.equal((await host.rpc('getstorageinfo') as { contracts: number }).contracts, 1);
  });

  let second = '';
  await t.test('should put the next file in the same contract by a revision, without a transaction', async (t) => {
    const first = (await renter.rpc('listfiles') as Array<{ replicas: Array<{ contractId: string }> }>)[0].replicas[0].contractId;
    const mempool = async () => (await renter.rpc('getrawmempool') as string[]).length;
    const res = await client.put(opts);
    t.same(res.txids, [], 'no commitment');
    t.equal(await mempool(), 0, 'nothing in the mempool');
    t.same(res.contracts.map((c) => [c.id, c.reused, c.revision, c.object, c.state]), [[first, true, 1, 2, 'active']]);
    // The object's own cost (upload, storage for the blocks the contract has left), as a new contract's would be: not 0.
    const left = Number(/; (\d+) blocks left\)/.exec(res.contracts[0].formula)?.[1]);
    t.ok(res.contracts[0].cost > 0, 'a reused contract reports the new object\'s cost');
    t.equal(res.contracts[0].cost, contractCost(res.objectSize, left, res.contracts[0].prices), 'at the contract\'s prices');
    second = res.fileId;
    const got = await client.get(res.fileId, fs.mkdtempSync(path.join(work, 'get-')));
    t.ok(fs.readFileSync(got.path).equals(fs.readFileSync(file)), 'identical bytes from object 2');
    const info = await renter.rpc('getcontract', [first]) as Record<string, number>;
    t.same([info.revision, info.objects, info.allowance], [1, 2, 10000]);
    t.ok(info.used > 0 && info.committed <= info.allowance, 'used and committed within the allowance');
    const hosted = await host.rpc('getcontract', [first]) as Record<string, number>;
    t.same([hosted.revision, hosted.objects, hosted.size], [1, 2, info.size], 'the host holds the same revision');
  });

  await t.test('should delete a file by a revision that frees the host\'s space, then reuse the contract', async (t) => {
    const used = async () => (await host.rpc('getstorageinfo') as { used: number }).used;
    const files = await renter.rpc('listfiles') as Array<{ fileId: string; replicas: Array<{ contractId: string }> }>;
    const id = files[0].replicas[0].contractId;
    const before = await used();
    const del = await renter.rpc('deletefile', [second]) as { removed: Array<{ revision: number }>; forgotten: boolean };
    t.same([del.removed.map((r) => r.revision), del.forgotten], [[2], true]);
    const after = await used();
    t.ok(after < before, `host used space went down (${before} -> ${after})`);
    t.equal((await renter.rpc('listfiles') as unknown[]).length, 1);
    const res = await client.put(opts);
    t.same(res.contracts.map((c) => [c.id, c.revision, c.object]), [[id, 3, 3]], 'same contract, higher revision, new id');
    t.ok(await used() > after, 'and up again');
    const info = await renter.rpc('getcontract', [id]) as Record<string, number>;
    t.same([info.revision, info.objects], [3, 2]);
  });

  await t.test('should renew a contract with its objects, without a re-upload', async (t) => {
    const files = await renter.rpc('listfiles') as Array<{ fileId: string; replicas: Array<{ contractId: string; object: number }> }>;
    const old = files[0].replicas[0].contractId;
    const objects = (await renter.rpc('getcontract', [old]) as { objects: number }).objects;
    const usedBefore = (await host.rpc('getstorageinfo') as { used: number }).used;
    const res = await renter.rpc('renewcontract', [old, 150]) as { renewed: Array<{ id: string; objects: number }>; txids: string[] };
    t.equal(res.renewed.length, 1);
    t.equal(res.renewed[0].objects, objects, 'every object carried over');
    t.equal(res.txids.length, 1, 'one commitment');
    const id = res.renewed[0].id;
    t.not(id, old);
    const info = await renter.rpc('getcontract', [id]) as { contract: { prevId: string; endHeight: number }; revision: number; objects: number };
    t.same([info.contract.prevId, info.revision, info.objects], [old, 0, objects], 'revision 0 of the renewal holds them');
    // New bytes: only the renewal's sealed manifest (object 0, a few hundred bytes for these files).
    const grown = (await host.rpc('getstorageinfo') as { used: number }).used - usedBefore;
    t.ok(grown > 0 && grown < 4096, `the host stores no second copy, only the renewal's manifest (${grown} bytes)`);
    await renter.mine(1);
    await ctx.sync();
    const after = await renter.rpc('listfiles') as Array<{ fileId: string; replicas: Array<{ contractId: string; object: number }> }>;
    t.ok(after.every((f) => f.replicas.every((r) => r.contractId === id)), 'the files follow the renewal');
    const got = await client.get(after[0].fileId, fs.mkdtempSync(path.join(work, 'get-')));
    t.ok(fs.readFileSync(got.path).equals(fs.readFileSync(file)), 'and come back from it');
    const again = await client.put(opts);
    t.same(again.contracts.map((c) => [c.id, c.reused, c.revision]), [[id, true, 1]], 'the next put uses the renewal');
  });

  await t.test('should fail a shortfall under minHosts without paying', async (t) => {
    const before = await renter.rpc('getbalance');
    const err = await client.put({ ...opts, hosts: 2, minHosts: 2 }).catch((e: unknown) => e);
    t.ok(err instanceof RenterClientError);
    t.match(err, { code: 'too-few-hosts', message: /only 1 host\(s\) made an offer or had an open contract, 2 needed/ });
    t.equal(await renter.rpc('getbalance'), before, 'nothing paid');
  });

  await t.test('should say that an allowance under the minimum escrow is raised to it', async (t) => {
    const seen = warnings.length;
    const res = await client.put({ ...opts, allowance: 1, reuse: false });
    t.equal(res.contracts.length, 1);
    const warning = warnings.slice(seen).join('\n');
    t.match(warning, /with an allowance of 10000 sat \(--allowance 1 sat raised to the network's minimum escrow of 10000 sat, /,
      'the amount locked, and why');
    t.equal(res.contracts[0].escrowValue, 10000, 'what the warning says is what the contract locks');
  });
});
