// Storage deals end to end, as a user runs them: a renter and hosts as
// cloudcoind processes on loopback, driven by cloudcoin-cli.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { tempDir } from './util/nodes-context';
import { identity, json, mine, startNetwork } from './util/network';
import { forValue } from './util/wait';
import type { PutResult } from '../lib/deals/renterclient';


t.test('put and get across hosts', async (t) => {
  const { renter, hosts } = await startNetwork(t, [
    ['--host-storage-price', '500sat'],
    ['--host-storage-price', '900sat'],
    ['--host-storage-price', '3000sat'],
    ['--host-storage-price', '100sat', '--host-capacity', '1MB']
  ]);
  const ids = await Promise.all(hosts.map(identity));
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(3 * 1024 * 1024 + 12345));

  await t.test('should hear every host\'s announcement', async (t) => {
    const anns = await forValue(async () => json<Array<{ identity: string; storageprice: number }>>(
      renter.cli(['gethostannouncements'])), (a) => a.length === 4, 30000, 'announcements');
    const price = new Map(anns.map((a) => [a.identity, a.storageprice]));
    t.same(ids.map((id) => price.get(id)), [500, 900, 3000, 100]);
  });

  await t.test('should show offers from the cheapest hosts, raising a bid a host declined', async (t) => {
    const res = await json<{
      offers: Array<{ host: string; addr: string; prices: { storage: number }; bids: number[] }>;
      declined: Array<{ host: string; reason: string }>;
    }>(renter.cli(['negotiate-storage', '--size', '4MB', '--max-price', '2000sat', '--hosts', '2', '--json']));
    t.same(res.offers.map((o) => o.host), [ids[0], ids[1]], 'the two cheapest that fit, cheapest first');
    t.same(res.offers.map((o) => o.addr), [hosts[0].addr, hosts[1].addr],
      'hosts by the address they announced, not the ports of their connections to us');
    t.same(res.offers[1].bids, [500, 900], 'opened at the best quote, raised to the asking price');
    const why = new Map(res.declined.map((d) => [d.host, d.reason]));
    t.match(why.get(ids[2]), /above the maximum/, 'too expensive');
    t.match(why.get(ids[3]), /free/, 'no capacity');
    const table = await renter.cli(['negotiate-storage', '--size', '4MB', '--max-price', '2000sat', '--hosts', '2']);
    t.equal(table.code, 0);
    t.match(table.stdout, /host\s+addr\s+storage/, 'a table for people');
  });

  let put: PutResult;
  await t.test('should put a file on two hosts with one commitment', async (t) => {
    const r = await renter.cli(['put', file, '--hosts', '2', '--max-price', '2000sat', '--no-wait', '--json']);
    t.equal(r.code, 0, r.stderr);
    put = JSON.parse(r.stdout) as PutResult;
    // Both escrows are the 10000 sat minimum: said once, with the sum locked.
    t.match(r.stderr, /forming 2 new contracts \(no open contract yet\) with an allowance of 10000 sat each \(20000 sat in all\) \(default/);
    t.notMatch(r.stderr, /sat, \d+ sat/, 'the allowance not repeated per contract');
    t.equal(put.contracts.length, 2);
    t.same(put.contracts.map((c) => c.host).sort(), [ids[0], ids[1]].sort());
    t.equal(put.txids.length, 1, 'one commitment tx for both hosts');
    t.same(put.failed, []);
    // The OP_RETURN binds both contracts (count 2, vout0 0) to escrows at vout 0 and 1.
    const tx = await json<{ vout: Array<{ value: number; scriptPubKey: { type: string; hex: string } }> }>(
      renter.cli(['getrawtransaction', put.txids[0], 'true']));
    t.same(tx.vout.slice(0, 3).map((o) => o.scriptPubKey.type), ['WITNESSSCRIPTHASH', 'WITNESSSCRIPTHASH', 'NULLDATA']);
    t.match(tx.vout[2].scriptPubKey.hex, /^6a26434300010200[0-9a-f]{64}$/, 'commit payload: CC v0 type 1, n=2, vout0=0');
    await mine(renter);
    for (const [i, c] of put.contracts.entries()) {
      const host = hosts[ids.indexOf(c.host)];
      await forValue(async () => {
        const r = await host.cli(['getcontract', c.id]);
        return r.code === 0 ? (JSON.parse(r.stdout) as { state: string }).state : r.stderr.trim();
      }, 'active', 30000, `contract ${i} active on its host`);
    }
    const files = await json<Array<{ fileId: string; replicas: Array<{ state: string }> }>>(renter.cli(['ls', '--json']));
    t.equal(files.length, 1);
    t.same(files[0].replicas.map((r) => r.state), ['active', 'active']);
  });

  await t.test('should get identical bytes back', async (t) => {
    const out = path.join(work, 'out.bin');
    const r = await renter.cli(['get', put.fileId, out]);
    t.equal(r.code, 0, r.stderr);
    t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'bytes identical');
  });

  await t.test('should wait for activation by default', async (t) => {
    const small = path.join(work, 'small.txt');
    fs.writeFileSync(small, 'hello, storage\n');
    // Longer than the open contract has left: a new contract, so a commitment to wait for.
    const putting = renter.cli(['put', small, '--json', '--max-price', '2000sat', '--duration', '600']);
    await forValue(async () => (await json<string[]>(renter.cli(['getrawmempool']))).length, (n) => n > 0,
      30000, 'the commitment in the mempool');
    await mine(renter);
    const r = await putting;
    t.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as PutResult;
    t.same(res.contracts.map((c) => c.state), ['active']);
  });

  await t.test('should refuse a replica a host corrupted and use the other', async (t) => {
    const info = await json<{ replicas: Array<{ contractId: string; hostKey: string }> }>(renter.cli(['getfile', put.fileId]));
    const r0 = info.replicas[0];
    const keys = await Promise.all(hosts.map(async (h) => (await json<{ pubkey: string }>(h.cli(['getidentity']))).pubkey));
    const host = hosts[keys.indexOf(r0.hostKey)];
    const data = path.join(host.datadir, 'hostdata', 'objects', r0.contractId, '1', 'data');
    const fd = fs.openSync(data, 'r+');
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, 5000);
    byte[0] ^= 0xff;
    fs.writeSync(fd, byte, 0, 1, 5000);
    fs.closeSync(fd);
    const out = path.join(work, 'out-corrupt.bin');
    const r = await renter.cli(['get', put.fileId, out]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /do not match the contract root/);
    t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'bytes identical from the honest host');
    byte[0] ^= 0xff;
    const fd2 = fs.openSync(data, 'r+');
    fs.writeSync(fd2, byte, 0, 1, 5000);
    fs.closeSync(fd2);
  });

  await t.test('should get from the other host when one is gone', async (t) => {
    const info = await json<{ replicas: Array<{ hostKey: string }> }>(renter.cli(['getfile', put.fileId]));
    const first = await json<{ pubkey: string }>(hosts[0].cli(['getidentity']));
    const victim = info.replicas[0].hostKey === first.pubkey ? 0 : 1;
    await hosts[victim].stop('SIGKILL');
    // The renter orders replicas by what it knows now: until its node has handled the closed
    // connection, the dead host still counts as reachable and is tried first (a warning).
    await forValue(async () => (await json<Array<{ fileId: string; replicas: Array<{ reachable: boolean }> }>>(
      renter.cli(['ls', '--json']))).find((f) => f.fileId === put.fileId)!.replicas.filter((r) => !r.reachable).length,
    1, 30000, 'the renter to see the host gone');
    const out = path.join(work, 'out2.bin');
    const r = await renter.cli(['get', put.fileId, out]);
    t.equal(r.code, 0, r.stderr);
    // The renter knows the host is gone: it tries the reachable one first.
    t.notMatch(r.stderr, /warning/);
    t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'bytes identical from the surviving host');
  });

  await t.test('should fail clearly on bad input', async (t) => {
    const cases: Array<[string[], RegExp]> = [
      [['put', path.join(work, 'missing')], /cannot read/],
      [['get', 'xyz', path.join(work, 'o')], /64 hex/],
      [['put', file, '--hosts', '3', '--max-price', '2000sat'], /only \d host\(s\) made an offer or had an open contract, 3 needed \(--min-hosts\); nothing was paid/],
      [['get', '00'.repeat(32), path.join(work, 'o')], /No such file/],
      [['negotiate-storage', '--size', 'lots', '--max-price', '1'], /--size/],
      [['put', file, '--max-price', '1sat'], /no storage offers/],
      [['constructor'], /Method not found/]
    ];
    for (const [args, re] of cases) {
      const r = await renter.cli(args);
      t.not(r.code, 0, args.join(' '));
      t.match(r.stderr, re, args.join(' '));
      t.equal(r.stderr.trim().split('\n').length, 1, `${args[0]}: one line`);
    }
  });
});
