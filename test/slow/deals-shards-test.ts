// Reed-Solomon shards end to end: a renter and five hosts as cloudcoind
// processes on loopback, driven by cloudcoin-cli; a 2+1 put on three of
// them, a shard corrupted on its host and repaired onto a fourth, a host
// killed and its shard repaired onto the fifth, then too few shards left.
import t, { type Test } from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { tempDir } from '../util/nodes-context';
import { identity, json, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import type { PutResult, RepairResult } from '../../lib/deals/renterclient';
import type { FileInfo } from '../../lib/deals/rpctypes';
import { cipherSize } from '../../lib/storage/common';
import { shardSize } from '../../lib/storage/erasure';

t.test('a file as 2+1 shards on three of five hosts', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], [], [], [], []]);
  const ids = await Promise.all(hosts.map(identity));
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const file = path.join(work, 'data.bin');
  const size = 3 * 1024 * 1024 + 4321;
  fs.writeFileSync(file, randomBytes(size));
  const out = path.join(work, 'out.bin');
  const hostOf = (host: string) => hosts[ids.indexOf(host)];

  let put: PutResult;
  await t.test('should refuse bad shard flags with one line', async (t) => {
    for (const [args, re] of [
      [['--data-shards', '2'], /--data-shards and --parity-shards go together/],
      [['--data-shards', '2', '--parity-shards', '1', '--hosts', '2'], /--hosts is K \+ M/],
      [['--data-shards', '0', '--parity-shards', '1'], /--data-shards/],
      [['--data-shards', '2', '--parity-shards', '1', '--min-hosts', '1'], /--min-hosts/]
    ] as Array<[string[], RegExp]>) {
      const r = await renter.cli(['put', file, ...args]);
      t.equal(r.code, 1, args.join(' '));
      t.match(r.stderr, re);
      t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    }
  });

  await t.test('should put one shard per host, committed together', async (t) => {
    put = await json<PutResult>(renter.cli(['put', file, '--data-shards', '2', '--parity-shards', '1', '--no-wait', '--json']));
    const shard = shardSize(cipherSize(size), 2);
    t.same(put.shards, { dataShards: 2, parityShards: 1, shardSize: shard });
    t.equal(put.contracts.length, 3);
    t.same(put.contracts.map((c) => c.shard).sort(), [0, 1, 2], 'each shard once');
    t.same(new Set(put.contracts.map((c) => c.host)).size, 3, 'on distinct hosts');
    t.equal(put.txids.length, 1, 'one commitment');
    await mine(renter);
    const info = await forValue(async () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
      (f) => f.replicas.every((r) => r.state === 'active'), 30000, 'every shard active');
    t.same(info.health, { alive: 3, needed: 2, total: 3 });
    t.same([info.dataShards, info.parityShards], [2, 1]);
    t.ok(info.replicas.every((r) => r.objectSize === shard), 'each host holds one shard, not the file');
    const ls = await renter.cli(['ls']);
    t.match(ls.stdout, /health/);
    t.match(ls.stdout, /3\/3 \(2 needed\)/, 'ls shows the health');
  });

  await t.test('should get identical bytes from the data shards', async (t) => {
    const r = await json<{ shardsUsed: number[]; shardsFailed: unknown[] }>(renter.cli(['get', put.fileId, out, '--json']));
    t.same(r.shardsUsed, [0, 1]);
    t.same(r.shardsFailed, []);
    t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'bytes identical');
  });

  await t.test('should keep versions of a name: a second put is version 1, log lists both, get --rev fetches either', async (t) => {
    fs.mkdirSync(path.join(work, 'v1'));
    const file1 = path.join(work, 'v1', 'data.bin');
    fs.writeFileSync(file1, randomBytes(100000));
    const put1 = await json<PutResult>(renter.cli(['put', file1, '--no-wait', '--json']));
    t.equal(put1.revision, 1, 'the next version of data.bin');
    t.equal(put.revision, 0);
    const log = await json<FileInfo[]>(renter.cli(['log', 'data.bin', '--json']));
    t.same(log.map((f) => [f.revision, f.fileId]), [[0, put.fileId], [1, put1.fileId]]);
    const table = await renter.cli(['log', path.join(work, 'data.bin')]);
    t.match(table.stdout, /rev\s+file\s+size\s+stored as/);
    t.match(table.stdout, /2\+1 shards/);
    for (const [rev, want] of [[0, file], [1, file1]] as Array<[number, string]>) {
      fs.rmSync(out, { force: true });
      const r = await renter.cli(['get', 'data.bin', out, '--rev', String(rev)]);
      t.equal(r.code, 0, r.stderr);
      t.ok(fs.readFileSync(out).equals(fs.readFileSync(want)), `version ${rev} identical`);
    }
    // A name of its own: into `out` get would also refuse the existing file.
    const badOut = path.join(work, 'rev7.bin');
    const bad = await renter.cli(['get', 'data.bin', badOut, '--rev', '7']);
    t.equal(bad.code, 1);
    t.match(bad.stderr, /^error: no version 7 of "data.bin": stored versions are 0, 1\n$/);
    t.notOk(fs.existsSync(badOut), 'nothing written');
  });

  const shardOf = (i: number) => put.contracts.find((c) => c.shard === i) as PutResult['contracts'][number];
  await t.test('should rebuild from parity when a host serves a corrupted shard', async (t) => {
    const c0 = shardOf(0);
    const host = hostOf(c0.host);
    const data = path.join(host.datadir, 'hostdata', 'objects', c0.id, String(c0.object), 'data');
    t.ok(fs.existsSync(data), 'the shard is stored on its host');
    const bytes = fs.readFileSync(data);
    bytes[12345] ^= 0xff;
    fs.writeFileSync(data, bytes);
    fs.rmSync(out, { force: true });
    const r = await renter.cli(['get', put.fileId, out, '--json']);
    t.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { shardsUsed: number[]; shardsFailed: Array<{ shard: number; reason: string }> };
    t.same(res.shardsUsed, [1, 2], 'data shard 1 and the parity shard');
    t.same(res.shardsFailed.map((f) => f.shard), [0]);
    t.match(res.shardsFailed[0].reason, /do not match the contract root/);
    t.match(r.stderr, /warning: shard 0 on .* failed/);
    t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'bytes identical');
  });

  type Repair = RepairResult;
  const getBack = async (t: Test, used: number[]) => {
    fs.rmSync(out, { force: true });
    const r = await json<{ shardsUsed: number[] }>(renter.cli(['get', put.fileId, out, '--json']));
    t.same(r.shardsUsed, used);
    t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'bytes identical');
  };

  await t.test('should repair the corrupted shard onto a host that held none', async (t) => {
    const r = await json<Repair>(renter.cli(['repair', put.fileId, '--no-wait', '--json']));
    t.same(r.verified, [1, 2]);
    t.same(r.lost.map((l) => l.shard), [0]);
    t.match(r.lost[0].reason, /do not match the contract root/);
    t.equal(r.repaired.length, 1);
    t.equal(r.repaired[0].shard, 0);
    t.notOk(put.contracts.some((c) => c.host === r.repaired[0].host), 'a new host');
    t.same(r.repaired[0].replaced, [shardOf(0).id]);
    t.equal(r.txids.length, 1, 'the new contract committed');
    await mine(renter);
    const info = await forValue(async () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
      (f) => f.replicas.find((x) => x.contractId === r.repaired[0].contract)?.state === 'active', 30000, 'the new shard active');
    t.same(info.repairs.map((x) => [x.shard, x.contractId, x.host]), [[0, r.repaired[0].contract, r.repaired[0].host]], 'logged');
    const ls = await renter.cli(['ls']);
    t.match(ls.stdout, /1 repair\(s\)/, 'ls shows the repair');
    // The corrupted copy is tried first (same shard, data shards first) and skipped; the rebuilt one is used.
    await getBack(t, [0, 1]);
    const again = await json<Repair>(renter.cli(['repair', put.fileId, '--json']));
    t.same(again.lost, [], 'nothing left to repair');
    t.same(again.verified, [0, 1, 2]);
  });

  await t.test('should repair the shard of a killed host', async (t) => {
    const c1 = shardOf(1);
    await hostOf(c1.host).stop('SIGKILL');
    const info = await forValue(async () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
      (f) => f.health.alive === 2, 30000, 'the killed host counted out');
    t.same(info.health, { alive: 2, needed: 2, total: 3 });
    const r = await json<Repair>(renter.cli(['repair', put.fileId, '--no-wait', '--json']));
    t.same(r.lost, [{ shard: 1, reason: 'host unreachable' }]);
    t.equal(r.repaired.length, 1);
    t.same(r.health, { alive: 3, needed: 2, total: 3 }, 'health back to 3/3');
    await mine(renter);
    await getBack(t, [0, 1]);
  });

  await t.test('should fail clearly with fewer than K good shards', async (t) => {
    const info = await json<FileInfo>(renter.cli(['getfile', put.fileId]));
    const live = info.replicas.filter((x) => x.reachable && x.shard !== 2);
    for (const x of live)
      await hostOf(x.host).stop('SIGKILL');
    await forValue(async () => (await json<FileInfo>(renter.cli(['getfile', put.fileId]))).health.alive, 1, 30000,
      'two more hosts counted out');
    fs.rmSync(out, { force: true });
    const r = await renter.cli(['get', put.fileId, out]);
    t.equal(r.code, 1);
    t.match(r.stderr, /error: only 1 of the 2 shards needed could be fetched/);
    t.notOk(fs.existsSync(out), 'nothing written');
    const rep = await renter.cli(['repair', put.fileId]);
    t.equal(rep.code, 1);
    t.match(rep.stderr, /error: only 1 good shards, 2 needed/);
  });
});
