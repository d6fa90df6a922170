// Delta uploads between versions (docs/REDUNDANCY.md "Delta uploads"): a
// renter and two hosts as cloudcoind processes; three versions of an 8 MiB
// file put with --hosts 2, the second changing 1% of it in one place, the
// third appending 3 MiB. Each later version uploads only its changed
// chunks to each host (printed, and in --json), every version comes back
// byte for byte, pruning version 0 keeps its object while later versions
// read chunks of it, and removing the versions frees each object once no
// kept version reads it. The 50 MiB figure is bench/delta-e2e.ts.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { tempDir } from './util/nodes-context';
import { json, mine, startNetwork } from './util/network';
import { forValue } from './util/wait';
import type { PutResult } from '../lib/deals/renterclient';
import type { DeleteFileResult, FileInfo, PruneVersionsResult } from '../lib/deals/rpctypes';
import { CHUNK_SIZE, PLAIN_CHUNK_SIZE, cipherSize } from '../lib/storage/common';
import { fileChunks } from '../lib/storage/delta';

interface ContractJSON { objects: number; size: number }

const MiB = 1 << 20;
const SIZE = 8 * MiB;
// Chunks of version 0; its last (short) one changes when version 2 appends.
const LAST = fileChunks(SIZE) - 1;

t.setTimeout(10 * 60 * 1000);

t.test('three versions: changed chunks uploaded, all identical, pruning keeps what is read', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], []]);
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const file = path.join(work, 'disk.img');
  const v0 = randomBytes(SIZE);
  const v1 = Buffer.from(v0);
  // 1% of the file, contiguous, inside chunk 5.
  randomBytes(Math.floor(SIZE / 100)).copy(v1, 5 * PLAIN_CHUNK_SIZE + 1000);
  const v2 = Buffer.concat([v1, randomBytes(3 * MiB)]);
  const versions = [v0, v1, v2];

  fs.writeFileSync(file, v0);
  const putting = json<PutResult>(renter.cli(['put', file, '--hosts', '2', '--json']));
  await forValue(async () => (await json<string[]>(renter.cli(['getrawmempool']))).length, (n) => n > 0, 120000, 'commitment');
  await mine(renter);
  const p0 = await putting;
  t.equal(p0.delta, null, 'a first version has nothing to compare with');
  const ids = p0.contracts.map((c) => c.id).sort();

  fs.writeFileSync(file, v1);
  const started = Date.now();
  const text = await renter.cli(['put', file, '--hosts', '2']);
  t.equal(text.code, 0, text.stderr);
  t.comment(`version 1 put in ${Date.now() - started} ms`);
  const pct = (100 * CHUNK_SIZE / SIZE).toFixed(1);
  t.match(text.stdout, `uploaded 1,048,576 of ${SIZE.toLocaleString('en-US')} bytes (${pct}%) to each of 2 hosts: `
    + `${LAST} of ${LAST + 1} chunks unchanged since version 0`, 'version 1 uploads the one changed chunk to each host');

  fs.writeFileSync(file, v2);
  const p2 = await json<PutResult>(renter.cli(['put', file, '--hosts', '2', '--json']));
  const own2 = cipherSize(v2.length - LAST * PLAIN_CHUNK_SIZE);
  t.same(p2.contracts.map((c) => c.id).sort(), ids, 'the same two contracts, revised');
  t.same(p2.contracts.map((c) => [c.delta, c.uploaded]), [[true, own2], [true, own2]], 'each host got the changed chunks only');
  t.match(p2.delta, { base: 1, chunks: fileChunks(v2.length), unchanged: LAST, uploaded: 2 * own2, whole: 2 * cipherSize(v2.length), deltaReplicas: 2, wholeReplicas: 0 });
  t.comment(`uploaded per host: version 1 ${CHUNK_SIZE} of ${v1.length}, version 2 ${own2} of ${v2.length} bytes`);

  const contract = async (id: string) => json<ContractJSON>(renter.cli(['getcontract', id]));
  const stored = cipherSize(SIZE) + CHUNK_SIZE + own2;
  for (const id of ids)
    t.match(await contract(id), { objects: 3, size: stored }, 'each chunk is stored once per host');

  const getAll = async (revs: number[]) => {
    for (const rev of revs) {
      const out = path.join(work, `out-${rev}-${Date.now()}`);
      const r = await renter.cli(['get', 'disk.img', out, '--rev', String(rev)]);
      t.equal(r.code, 0, r.stderr);
      t.ok(fs.readFileSync(out).equals(versions[rev]), `version ${rev} comes back identical`);
      fs.rmSync(out);
    }
  };
  await getAll([0, 1, 2]);

  // Version 0 pruned: every chunk of it that versions 1 and 2 read stays on the hosts.
  const pruned = await json<PruneVersionsResult>(renter.cli(['pruneversions', Buffer.from('disk.img').toString('hex'), '2']));
  t.same(pruned.kept, [1, 2]);
  t.same(pruned.pruned.map((p) => [p.revision, p.forgotten, p.removed.length, p.referenced.length]), [[0, true, 0, 2]],
    'version 0 forgotten, its object kept on both hosts');
  for (const id of ids)
    t.match(await contract(id), { objects: 3, size: stored }, 'nothing freed: later versions read the object');
  const log = await json<FileInfo[]>(renter.cli(['log', 'disk.img', '--json']));
  t.same(log.map((f) => f.revision), [1, 2]);
  // Each stored object is charged to exactly one kept version: version 0's to the oldest reading it.
  for (const id of ids) {
    const charged = log.flatMap((f) => f.replicas.filter((r) => r.contractId === id)
      .map((r) => r.objectSize + r.inherited.reduce((n, x) => n + x.objectSize, 0)));
    t.equal(charged.reduce((a, b) => a + b, 0), stored, 'ls charges every stored byte once');
    t.same(log[0].replicas.find((r) => r.contractId === id)?.inherited.map((x) => x.objectSize), [cipherSize(SIZE)]);
  }
  await getAll([1, 2]);

  // Version 2 removed: only its own object goes (version 1 still reads the others).
  const rm2 = await json<DeleteFileResult>(renter.cli(['rm', log[1].fileId, '--json']));
  t.same(rm2.removed.map((r) => r.objects.length), [1, 1]);
  for (const id of ids)
    t.match(await contract(id), { objects: 2, size: cipherSize(SIZE) + CHUNK_SIZE });
  await getAll([1]);
  // Version 1 removed: its object and version 0's, which only it read, are freed.
  const rm1 = await json<DeleteFileResult>(renter.cli(['rm', log[0].fileId, '--json']));
  t.same(rm1.removed.map((r) => r.objects.length), [2, 2], 'two objects per host in one revision');
  for (const id of ids)
    t.match(await contract(id), { objects: 0, size: 0 }, 'everything freed');
  for (const h of hosts)
    await forValue(async () => (await json<{ used: number }>(h.cli(['getstorageinfo']))).used, (n) => n < CHUNK_SIZE, 30000, 'host space freed');

  // A one-chunk file changed: its one chunk goes whole, and put says why (both hosts hold version 0).
  const doc = path.join(work, 'doc.txt');
  fs.writeFileSync(doc, 'first version\n');
  await json<PutResult>(renter.cli(['put', doc, '--hosts', '2', '--json']));
  fs.writeFileSync(doc, 'a second, longer one\n');
  const d1 = await json<PutResult>(renter.cli(['put', doc, '--hosts', '2', '--json']));
  t.same(d1.contracts.map((c) => c.delta), [false, false], 'uploaded whole to both');
  t.same(d1.delta?.notes, ['every chunk changed since version 0: uploaded whole'], 'the reason is the change, not a missing copy');
});
