// Automatic repair of a file stored as whole replicas (cloudcoind
// --repair-budget): a renter and three hosts as cloudcoind processes on
// loopback, a file put as two replicas, one replica overwritten on its
// host; the renter's audit of it fails and its node uploads a new replica
// to the third host from the other one, with nobody running a command.
// The renter runs with --renew off: mined past the renew window, nothing
// is renewed.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { height, identity, json, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import { mineUntil, scratch } from '../util/blocks';
import type { PutResult } from '../../lib/deals/renterclient';
import type { FileInfo } from '../../lib/deals/rpctypes';

// Cloudcoind networks on a loaded machine.
t.setTimeout(15 * 60 * 1000);

t.test('a replica whose audit fails is repaired by the node on its own', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], [], []], ['--repair-budget', '100000sat', '--renew', 'off']);
  const ids = await Promise.all(hosts.map(identity));
  const work = scratch(t);
  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(600 * 1024 + 3));
  const put = await json<PutResult>(renter.cli(['put', file, '--hosts', '2', '--duration', '60', '--no-wait', '--json']));
  await mine(renter);
  await forValue(async () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
    (f) => f.replicas.every((r) => r.state === 'active'), 30000, 'every replica active');
  const c0 = put.contracts[0];
  const data = path.join(hosts[ids.indexOf(c0.host)].datadir, 'hostdata', 'objects', c0.id, String(c0.object), 'data');
  fs.writeFileSync(data, randomBytes(fs.statSync(data).size));
  const logFile = path.join(renter.datadir, 'debug.log');
  t.teardown(() => {
    if (fs.existsSync(logFile))
      t.comment(fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('repair')).join('\n'));
  });
  const info = await mineUntil(renter, () => json<FileInfo>(renter.cli(['getfile', put.fileId])), (f) => f.repairs.length > 0,
    'the node to repair the corrupted replica on its own');
  t.equal(info.repairs[0].shard, null);
  t.same(info.repairs[0].replaced, [c0.id]);
  t.notOk(put.contracts.some((c) => c.host === info.repairs[0].host), 'onto the host that held none');
  t.match(fs.readFileSync(logFile, 'utf8'), new RegExp(`repair: file [0-9a-f]{12} lost replica ${c0.id.slice(0, 12)}; repairing`));
  // The repair is in getfile once the upload is recorded; the node logs it
  // after that (and after counting its escrow against the budget).
  t.ok(await forValue(() => /replica of [0-9a-f]{12} uploaded into contract/.test(fs.readFileSync(logFile, 'utf8')), true,
    30000, 'the repair logged'), 'the repair is logged');

  await mine(renter);
  const out = path.join(work, 'out.bin');
  await json(renter.cli(['get', put.fileId, out, '--json']));
  t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'bytes identical');

  // --renew off: past the renew window of the surviving replica's contract, nothing renews it.
  const c1 = put.contracts[1];
  const c = await json<{ contract: { endHeight: number }; renewFrom: number | null; renewedBy: string | null }>(
    renter.cli(['getcontract', c1.id]));
  t.equal(c.renewFrom, null, 'getcontract shows no renew window');
  await mine(renter, c.contract.endHeight - 2 - await height(renter));
  await mine(renter);
  t.equal((await json<{ renewedBy: string | null }>(renter.cli(['getcontract', c1.id]))).renewedBy, null, 'not renewed');
  t.notOk(fs.readFileSync(logFile, 'utf8').includes('renew:'), 'no renewal attempted');
});
