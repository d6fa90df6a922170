// The renter client in-process: the same put and get the CLI runs, driven
// through the node's own RPC dispatcher (as audits, repair and renewal
// will drive it inside the node) instead of JSON-RPC over HTTP.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { RenterClient, RenterClientError } from '../lib/deals/renterclient';
import { NodesContext, tempDir } from './util/nodes-context';
import { forValue } from './util/wait';

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
  await forValue(async () => (await renter.rpc('getcloudpeers') as unknown[]).length, 1, 20000, 'the host');
  const warnings: string[] = [];
  const client = new RenterClient((method, params) => renter.rpc(method, params), { warn: (m) => warnings.push(m) });
  const file = path.join(work, 'in.bin');
  fs.writeFileSync(file, randomBytes(300000));
  const opts = {
    file, name: Buffer.from('in.bin'), hosts: 1, minHosts: 1, duration: 100, maxPrice: 5000,
    workDir: fs.mkdtempSync(path.join(work, 'put-')), wait: false
  };

  await t.test('should refuse before segwit with the node\'s reason', async (t) => {
    await t.rejects(client.put(opts), { code: -1, message: /segwit and CSV are not active yet/ });
  });

  await t.test('should put, confirm and get back', async (t) => {
    await renter.mine(440);
    await ctx.sync();
    const res = await client.put(opts);
    t.equal(res.contracts.length, 1);
    t.same(res.contracts.map((c) => c.state), ['pending']);
    t.equal(res.txids.length, 1);
    await renter.mine(1);
    await ctx.sync();
    t.same(await client.waitActive(res.fileId, res.contracts.map((c) => c.id), 20000), ['active']);
    const got = await client.get(res.fileId.slice(0, 6), fs.mkdtempSync(path.join(work, 'get-')));
    t.ok(fs.readFileSync(got.path).equals(fs.readFileSync(file)), 'identical bytes');
    t.equal(got.host, res.contracts[0].host);
    t.same(warnings, []);
    t.equal((await host.rpc('getstorageinfo') as { contracts: number }).contracts, 1);
  });

  await t.test('should fail a shortfall under minHosts without paying', async (t) => {
    const before = await renter.rpc('getbalance');
    const err = await client.put({ ...opts, hosts: 2, minHosts: 2 }).catch((e: unknown) => e);
    t.ok(err instanceof RenterClientError);
    t.match(err, { code: 'too-few-hosts', message: /only 1 host\(s\) made an offer, 2 needed/ });
    t.equal(await renter.rpc('getbalance'), before, 'nothing paid');
  });
});
