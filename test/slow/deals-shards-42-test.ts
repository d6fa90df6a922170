// 4+2 Reed-Solomon end to end, as the redundancy issue checks it: a renter
// and eight hosts as cloudcoind processes on loopback, driven by
// cloudcoin-cli; a 4+2 put lands on six of them, any two of those six are
// killed (chosen at random, printed), get still returns identical bytes
// from the four left, and repair rebuilds the two lost shards onto the two
// hosts that held none, bringing health back to 6/6.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes, randomInt } from 'crypto';
import { tempDir } from '../util/nodes-context';
import { identity, json, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import type { PutResult, RepairResult } from '../../lib/deals/renterclient';
import type { FileInfo } from '../../lib/deals/rpctypes';

t.test('a 4+2 file on six of eight hosts survives any two killed and is repaired to 6/6', async (t) => {
  const { renter, hosts } = await startNetwork(t, Array.from({ length: 8 }, () => []));
  const ids = await Promise.all(hosts.map(identity));
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const file = path.join(work, 'data.bin');
  // Not a multiple of 4 shards nor of a chunk: the last shard is padded.
  fs.writeFileSync(file, randomBytes(5 * 1024 * 1024 + 777));
  const hostOf = (host: string) => hosts[ids.indexOf(host)];
  const same = (out: string) => fs.readFileSync(out).equals(fs.readFileSync(file));

  const put = await json<PutResult>(renter.cli(['put', file, '--data-shards', '4', '--parity-shards', '2', '--no-wait', '--json']));
  t.equal(put.contracts.length, 6, 'six shards');
  t.same(put.contracts.map((c) => c.shard).sort(), [0, 1, 2, 3, 4, 5], 'each shard once');
  t.equal(new Set(put.contracts.map((c) => c.host)).size, 6, 'on six distinct hosts');
  await mine(renter);
  await forValue(async () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
    (f) => f.replicas.every((r) => r.state === 'active'), 60000, 'every shard active');

  // Any two: drawn at random, said in the output so a failure can be replayed.
  const first = randomInt(6);
  const second = (first + 1 + randomInt(5)) % 6;
  const killed = [put.contracts[first], put.contracts[second]];
  t.comment(`killing the hosts of shards ${killed.map((c) => c.shard).join(' and ')}`);
  for (const c of killed)
    await hostOf(c.host).stop('SIGKILL');
  const down = await forValue(async () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
    (f) => f.health.alive === 4, 60000, 'the killed hosts counted out');
  t.same(down.health, { alive: 4, needed: 4, total: 6 }, 'health 4/6');

  const out = path.join(work, 'out.bin');
  const got = await json<{ shardsUsed: number[] }>(renter.cli(['get', put.fileId, out, '--json']));
  t.equal(got.shardsUsed.length, 4, 'rebuilt from four shards');
  t.notOk(got.shardsUsed.some((s) => killed.some((c) => c.shard === s)), 'none of them from a killed host');
  t.ok(same(out), 'identical bytes with two hosts down');

  const r = await json<RepairResult>(renter.cli(['repair', put.fileId, '--no-wait', '--json']));
  t.same(r.lost.map((l) => l.shard).sort(), killed.map((c) => c.shard).sort(), 'both lost shards found');
  t.equal(r.repaired.length, 2, 'both rebuilt');
  const spares = ids.filter((id) => !put.contracts.some((c) => c.host === id));
  t.same(r.repaired.map((x) => x.host).sort(), [...spares].sort(), 'onto the two hosts that held none');
  t.same(r.health, { alive: 6, needed: 4, total: 6 }, 'health back to 6/6');
  await mine(renter);
  const healed = await forValue(async () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
    (f) => r.repaired.every((x) => f.replicas.find((y) => y.contractId === x.contract)?.state === 'active'), 60000,
    'the new shards active');
  t.same(healed.health, { alive: 6, needed: 4, total: 6 }, 'getfile says 6/6');
  t.equal(healed.repairs.length, 2, 'both repairs logged');
  const ls = await renter.cli(['ls']);
  t.match(ls.stdout, /6\/6 \(4 needed\)/, 'ls shows 6/6');

  // The repaired file reads back from the new shards too: stop two more of
  // the original hosts so at least one rebuilt shard must be used.
  const survivors = put.contracts.filter((c) => !killed.includes(c));
  for (const c of survivors.slice(0, 2))
    await hostOf(c.host).stop('SIGKILL');
  fs.rmSync(out, { force: true });
  const again = await json<{ shardsUsed: number[] }>(renter.cli(['get', put.fileId, out, '--json']));
  t.ok(again.shardsUsed.some((s) => killed.some((c) => c.shard === s)), 'a rebuilt shard used');
  t.ok(same(out), 'identical bytes from the repaired set');
});
