// Repair of a version stored as a delta (docs/REDUNDANCY.md "Delta
// uploads"): a renter and three hosts as cloudcoind processes on
// loopback. Version 1 of a file changes one chunk, so each of its two
// replicas reads the other chunks from version 0's object in the same
// contract. 4 KiB of version 0's object is corrupted on one host: the
// replica of version 1 there cannot be read any more although its own
// object is intact, so repair must count it lost, take the other replica
// as the source, and place a new copy on the third host. The node's own
// repair (--repair-budget), set off by another replica's failed audit,
// does the same: it replaces the broken delta replica too, from the good
// one, instead of taking it as its source and giving up (the renter
// restarts with --repair-budget once the other replica's audit failed).
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { forCloudPeer, forCloudPeers, identity, json, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import { mineUntil, scratch } from '../util/blocks';
import { CHUNK_SIZE, PLAIN_CHUNK_SIZE } from '../../lib/storage/common';
import type { PutResult, RepairResult } from '../../lib/deals/renterclient';
import type { FileInfo } from '../../lib/deals/rpctypes';
import type { CLIResult, DaemonProcess } from '../util/nodes-context';

// Cloudcoind networks on a loaded machine.
t.setTimeout(15 * 60 * 1000);

/** Overwrite `bytes` (default all) of `contract`'s object `object` on its host from `at` with random bytes. */
function corrupt(host: DaemonProcess, contract: string, object: number, at = 0, bytes?: number): void {
  const data = path.join(host.datadir, 'hostdata', 'objects', contract, String(object), 'data');
  const n = bytes ?? fs.statSync(data).size - at;
  const fd = fs.openSync(data, 'r+');
  fs.writeSync(fd, randomBytes(n), 0, n, at);
  fs.closeSync(fd);
}

/** Versions 0 and 1 of a four-chunk file, version 1 changing chunk 0 only (so it reads chunks 1-3 from version 0's object). */
/** A block, then `host` (identity `id`) killed: `get` of the file into the work dir reads from the others. */
async function getWithout(renter: DaemonProcess, host: DaemonProcess, id: string, fileId: string, work: string)
  : Promise<{ got: CLIResult; out: string }> {
  await mine(renter);
  await host.stop('SIGKILL');
  await forCloudPeer(renter, id, false, 60000, 'the good host gone');
  const out = path.join(work, 'out.bin');
  return { got: await renter.cli(['get', fileId, out]), out };
}

async function putVersions(renter: DaemonProcess, file: string, hosts: number): Promise<{ p0: PutResult; p1: PutResult; v1: Buffer }> {
  const v0 = randomBytes(3 * PLAIN_CHUNK_SIZE + 1000);
  const v1 = Buffer.from(v0);
  randomBytes(100).copy(v1, 10);
  fs.writeFileSync(file, v0);
  const p0 = await json<PutResult>(renter.cli(['put', file, '--hosts', String(hosts), '--no-wait', '--json']));
  await mine(renter);
  fs.writeFileSync(file, v1);
  const p1 = await json<PutResult>(renter.cli(['put', file, '--hosts', String(hosts), '--no-wait', '--json']));
  await mine(renter);
  await forValue(async () => json<FileInfo>(renter.cli(['getfile', p1.fileId])),
    (f) => f.replicas.every((r) => r.state === 'active'), 60000, 'every replica of version 1 active');
  return { p0, p1, v1 };
}

t.test('repair of a delta version checks the chunks it reads from the earlier version', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], [], []]);
  const ids = await Promise.all(hosts.map(identity));
  const work = scratch(t);
  const file = path.join(work, 'disk.img');
  const { p0, p1, v1 } = await putVersions(renter, file, 2);
  t.same(p1.contracts.map((c) => c.delta), [true, true], 'version 1 is a delta on both hosts');

  // 4 KiB inside chunk 1 of version 0's object on the first host; version 1's own object there is untouched.
  const [broken, good] = p0.contracts;
  corrupt(hosts[ids.indexOf(broken.host)], broken.id, broken.object, CHUNK_SIZE + 10 * 4096, 4096);
  const spare = ids.find((id) => !p0.contracts.some((c) => c.host === id)) as string;

  const rep = await json<RepairResult>(renter.cli(['repair', p1.fileId, '--no-wait', '--json']));
  t.same(rep.verifiedContracts, [good.id], 'only the replica whose every chunk reads back counts as verified');
  t.same(rep.lost.map((l) => l.contract), [broken.id], 'the replica reading the corrupted chunk is lost');
  t.match(rep.lost[0].reason, /chunk 1 of object \d+ does not match what we stored/, `says which chunk (${rep.lost[0].reason})`);
  t.equal(rep.source, good.id, 'the new copy is made from the good replica, not the broken one');
  t.same(rep.repaired.map((r) => [r.host, r.replaced]), [[spare, [broken.id]]], 'onto the third host, replacing the broken replica');
  const info = await json<FileInfo>(renter.cli(['getfile', p1.fileId]));
  t.same(info.health, { alive: 2, needed: 1, total: 2 }, 'health counts the good replica and the new one');

  // The good host gone: version 1 comes back from the new copy, tried before the replaced one.
  const { got, out } = await getWithout(renter, hosts[ids.indexOf(good.host)], good.host, p1.fileId, work);
  t.equal(got.code, 0, got.stderr);
  t.notOk(got.stderr.includes(broken.id.slice(0, 12)), `the replaced copy is not tried first (${got.stderr.trim()})`);
  t.ok(fs.readFileSync(out).equals(v1), 'version 1 identical from the repaired copy');
});

t.test('automatic repair replaces a delta replica whose base chunks are corrupt, from a good one', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], [], [], [], []], ['--renew', 'off']);
  const ids = await Promise.all(hosts.map(identity));
  const work = scratch(t);
  const file = path.join(work, 'disk.img');
  const { p0, p1, v1 } = await putVersions(renter, file, 3);
  t.same(p1.contracts.map((c) => c.delta), [true, true, true], 'version 1 is a delta on all three hosts');
  const [broken, good, failing] = p0.contracts;
  // All of version 0 overwritten on one host: its next audit fails.
  corrupt(hosts[ids.indexOf(failing.host)], failing.id, failing.object);
  await mineUntil(renter, () => json<{ audits: Array<{ outcome: string }> }>(renter.cli(['getaudits', failing.id])),
    (a) => a.audits.some((x) => x.outcome === 'failed'), 'the audit of the overwritten copy to fail');
  // Only then 4 KiB of version 0 on another host, and the node's own repair turned on: that host's
  // audits (16 random leaves, which might hit the bad one) get no time to find it first.
  corrupt(hosts[ids.indexOf(broken.host)], broken.id, broken.object, CHUNK_SIZE + 10 * 4096, 4096);
  await renter.stop();
  await renter.start(['--repair-budget', '100000sat', ...hosts.flatMap((h) => ['--connect', h.addr])]);
  await forCloudPeers(renter, hosts, 60000, 'hosts connected to the restarted renter');
  const logFile = path.join(renter.datadir, 'debug.log');
  t.teardown(() => {
    if (fs.existsSync(logFile))
      t.comment(fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('repair')).join('\n'));
  });
  const replacedOf = (f: FileInfo) => f.repairs.flatMap((r) => r.replaced).sort();
  const info = await mineUntil(renter, () => json<FileInfo>(renter.cli(['getfile', p1.fileId])),
    (f) => replacedOf(f).length >= 2, 'the node to replace both broken replicas of version 1');
  t.same(replacedOf(info), [broken.id, failing.id].sort(), 'the audited-bad replica and the one reading corrupt chunks are replaced');
  const spares = ids.filter((id) => !p0.contracts.some((c) => c.host === id)).sort();
  t.same(info.repairs.map((r) => r.host).sort(), spares, 'onto the two hosts that held none');
  t.notOk(fs.readFileSync(logFile, 'utf8').includes(`file ${p1.fileId.slice(0, 12)} not repaired: chunk`),
    'no attempt took the broken replica as its source');

  // Only the new copies and the good one left to read from: version 1 comes back whole.
  const { got, out } = await getWithout(renter, hosts[ids.indexOf(good.host)], good.host, p1.fileId, work);
  t.equal(got.code, 0, got.stderr);
  t.ok(fs.readFileSync(out).equals(v1), 'version 1 identical from a repaired copy');
});
