// Automatic repair (cloudcoind --repair-budget): a renter and four hosts as
// cloudcoind processes on loopback; a 2+1 put on three of them, one
// host's shard overwritten, the renter's audit of that contract fails and
// its node rebuilds the shard onto the fourth host with nobody running a
// command.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { tempDir } from './util/nodes-context';
import { identity, json, mine, startNetwork } from './util/network';
import { forValue } from './util/wait';
import type { PutResult } from '../lib/deals/renterclient';
import type { FileInfo } from '../lib/deals/rpctypes';

t.test('a lost shard is repaired by the node on its own', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], [], [], []], ['--repair-budget', '100000sat']);
  const ids = await Promise.all(hosts.map(identity));
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(2 * 1024 * 1024 + 99));
  const put = await json<PutResult>(renter.cli(['put', file, '--data-shards', '2', '--parity-shards', '1', '--no-wait', '--json']));
  await mine(renter);
  await forValue(async () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
    (f) => f.replicas.every((r) => r.state === 'active'), 30000, 'every shard active');

  // The whole shard replaced by other bytes: any audited leaf fails.
  const c0 = put.contracts.find((c) => c.shard === 0) as PutResult['contracts'][number];
  const data = path.join(hosts[ids.indexOf(c0.host)].datadir, 'hostdata', 'objects', c0.id, String(c0.object), 'data');
  fs.writeFileSync(data, randomBytes(fs.statSync(data).size));

  // A block at a time until the audit of that contract fails (the first interval ends).
  await forValue(async () => {
    const audits = await json<{ audits: Array<{ outcome: string }> }>(renter.cli(['getaudits', c0.id]));
    const failed = audits.audits.some((a) => a.outcome === 'failed');
    if (!failed)
      await mine(renter);
    return failed;
  }, true, 240000, 'the audit of the corrupted contract to fail');
  // The next blocks start the repair (a block every few seconds, as a chain brings them; an attempt that
  // fails is retried 6 blocks later).
  const logFile = path.join(renter.datadir, 'debug.log');
  t.teardown(() => {
    if (fs.existsSync(logFile))
      t.comment(fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('repair')).join('\n'));
  });
  let last = 0;
  const info = await forValue(async () => {
    if (Date.now() - last > 3000) {
      last = Date.now();
      await mine(renter);
    }
    return json<FileInfo>(renter.cli(['getfile', put.fileId]));
  }, (f) => f.repairs.length > 0, 180000, 'the node to repair shard 0 on its own');
  t.equal(info.repairs[0].shard, 0);
  t.same(info.repairs[0].replaced, [c0.id]);
  t.notOk(put.contracts.some((c) => c.host === info.repairs[0].host), 'onto the host that held no shard');
  // debug.log is written asynchronously (bcoin's logger is an fs write stream): wait for the line.
  t.ok(await forValue(() => /repair: file [0-9a-f]{12} lost shard\(s\) 0; repairing/.test(fs.readFileSync(logFile, 'utf8')), true,
    10000, 'the repair in debug.log'), 'debug.log says the node repairs shard 0');

  await mine(renter);
  const out = path.join(work, 'out.bin');
  const r = await json<{ shardsUsed: number[] }>(renter.cli(['get', put.fileId, out, '--json']));
  t.same(r.shardsUsed, [0, 1], 'the rebuilt shard 0 is used, the bad copy skipped');
  t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'bytes identical');
});
