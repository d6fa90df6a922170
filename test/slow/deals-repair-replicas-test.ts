// Repair of a file stored as whole replicas (put --hosts N): a renter and
// hosts as cloudcoind processes on loopback. By hand (cloudcoin-cli repair)
// after a host is killed, from a surviving replica or the local file; and
// on its own (--repair-budget) after a replica's audit fails. Each new
// replica goes to a host that held none, under a fresh key, and is logged.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { forCloudPeer, identity, json, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import { scratch } from '../util/blocks';

import type { PutResult, RepairResult } from '../../lib/deals/renterclient';
import type { FileInfo } from '../../lib/deals/rpctypes';

// Cloudcoind networks on a loaded machine.
t.setTimeout(15 * 60 * 1000);

t.test('cloudcoin-cli repair re-uploads the replica of a killed host onto another', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], [], [], []]);
  const ids = await Promise.all(hosts.map(identity));
  const work = scratch(t);
  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(1024 * 1024 + 5));
  // The fourth host joins later: the repairs' hosts are then known.
  await hosts[3].stop();
  await forCloudPeer(renter, ids[3], false, 60000, 'the fourth host gone');
  const put = await json<PutResult>(renter.cli(['put', file, '--hosts', '2', '--no-wait', '--json']));
  await mine(renter);
  const [dead, alive] = put.contracts;
  const spare = ids.find((id, i) => i < 3 && !put.contracts.some((c) => c.host === id)) as string;
  await hosts[ids.indexOf(dead.host)].stop('SIGKILL');
  await forValue(async () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
    (f) => f.health.alive === 1, 60000, 'the renter to see the host gone');

  const plain = await renter.cli(['repair', put.fileId.slice(0, 16), '--no-wait']);
  t.equal(plain.code, 0, plain.stderr);
  t.match(plain.stdout, new RegExp(`replicas ${alive.id.slice(0, 12)}\\S* verified, ${dead.id.slice(0, 12)}\\S* lost \\(host unreachable\\)`),
    `the lost replica (${plain.stdout})`);
  t.match(plain.stdout, /uploaded from the replica in/, 'uploaded from the surviving replica');
  const info = await json<FileInfo>(renter.cli(['getfile', put.fileId]));
  t.equal(info.repairs.length, 1, 'one repair logged');
  const rep = info.repairs[0];
  t.equal(rep.shard, null, 'a whole replica');
  t.same(rep.replaced, [dead.id], 'it replaces the killed host\'s replica');
  t.equal(rep.host, spare, 'onto the host that held none');
  const fresh = info.replicas.find((r) => r.contractId === rep.contractId) as FileInfo['replicas'][number];
  t.notOk(info.replicas.some((r) => r !== fresh && (r.salt === fresh.salt || r.root === fresh.root)), 'its own salt and ciphertext');
  t.same(info.health, { alive: 2, needed: 1, total: 2 }, 'health back to 2/2');
  const ls = await renter.cli(['ls']);
  t.match(ls.stdout, /2\/2 \(1 needed\), 1 repair\(s\)/);

  // Nothing lost any more: a second repair does nothing.
  await mine(renter);
  const again = await json<RepairResult>(renter.cli(['repair', put.fileId, '--json']));
  t.same(again.lost, [], 'nothing to repair');
  t.equal(again.verifiedContracts.length, 2);

  // The surviving first host gone too: the new replica serves the file.
  await hosts[ids.indexOf(alive.host)].stop('SIGKILL');
  await hosts[3].start(['--connect', renter.addr]);
  await forCloudPeer(renter, alive.host, false, 60000, 'the first host gone');
  await forCloudPeer(renter, ids[3], true, 60000, 'the fourth host back');
  const out = path.join(work, 'out.bin');
  await json(renter.cli(['get', put.fileId, out, '--json']));
  t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'bytes identical from the new replica');

  // The first host's replica is lost too: the local file is the source (it encrypts to a recorded root).
  await mine(renter);
  const local = await json<RepairResult>(renter.cli(['repair', put.fileId, '--file', file, '--no-wait', '--json']));
  t.equal(local.source, 'local file', 'uploaded from the local file');
  t.same(local.lost.map((l) => l.contract), [alive.id]);
  t.equal(local.repaired.length, 1);
  t.equal(local.repaired[0].host, ids[3], 'onto the fourth host');
  await mine(renter);
  const out2 = path.join(work, 'out2.bin');
  await hosts[ids.indexOf(spare)].stop('SIGKILL');
  await json(renter.cli(['get', put.fileId, out2, '--json']));
  t.ok(fs.readFileSync(out2).equals(fs.readFileSync(file)), 'bytes identical from the replica made from the local file');
});

t.test('repair exits 1 when a lost replica is left unrepaired (one spare host for two lost)', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], [], [], []]);
  const ids = await Promise.all(hosts.map(identity));
  const work = scratch(t);
  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(256 * 1024 + 3));
  const put = await json<PutResult>(renter.cli(['put', file, '--hosts', '3', '--no-wait', '--json']));
  await mine(renter);
  const [lostA, lostB, kept] = put.contracts;
  for (const c of [lostA, lostB])
    await hosts[ids.indexOf(c.host)].stop('SIGKILL');
  await forValue(async () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
    (f) => f.health.alive === 1, 60000, 'the renter to see two hosts gone');

  const r = await renter.cli(['repair', put.fileId, '--no-wait']);
  t.equal(r.code, 1, 'exit 1');
  t.match(r.stdout, new RegExp(`replicas ${kept.id.slice(0, 12)}\\S* verified, .* lost \\(host unreachable\\), .* lost \\(host unreachable\\)`),
    `both lost replicas named (${r.stdout})`);
  t.match(r.stdout, /replica of \S+ uploaded into contract/, 'the one spare host took one');
  t.match(r.stderr, /\nerror: 1 of 2 lost replica\(s\) not repaired; run repair again\n$/, 'an error line last, saying what is left');
  t.equal(r.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1, 'one error line');
  const info = await json<FileInfo>(renter.cli(['getfile', put.fileId]));
  t.equal(info.repairs.length, 1, 'one repair logged');
  t.equal(info.health.alive, 2, 'two live replicas');

  // Every connected host holds a copy now: the reason says so, not "no peers".
  const again = await renter.cli(['repair', put.fileId, '--no-wait']);
  t.equal(again.code, 1, 'exit 1');
  t.match(again.stderr, /no CloudStorage peer is connected but the 4 host\(s\) left out \(they hold a copy of this file/,
    `the hosts left out named as the reason (${again.stderr.trim().split('\n').pop()})`);
});
