// Recovery of the file list from the seed, as a user would: a renter puts
// a replicated file (two versions), a 2+1 coded file and a file it then
// deletes, on three cloudcoind hosts; it backs up its mnemonic, loses its
// datadir and restores into a new one: as the node finds its contracts it
// reads the sealed manifests (object 0, which the hosts hand to the renter
// key the seed derives again) and takes the contracts over from their
// hosts, `ls` lists its files and `get` returns their bytes with reads
// prepaid (the hosts charge for downloads); the deleted file stays
// deleted; `cloudcoin-cli recover` reads them all again and finds nothing
// new; `rm` removes a recovered version from its hosts.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { DaemonProcess, tempDir } from '../util/nodes-context';
import { identity, json, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import type { PutResult } from '../../lib/deals/renterclient';
import type { DeleteFileResult, FileInfo } from '../../lib/deals/rpctypes';
import type { RecoverResult } from '../../lib/deals/recovery';

const WAIT_MS = 120000;

t.test('the file list comes back from the hosts after a restore from the seed', async (t) => {
  // The hosts charge for downloads (200 sat/GiB by default): the restored node prepays its
  // reads from the channel states it takes over from them.
  const { renter, hosts } = await startNetwork(t, [[], [], []]);
  const restored = await DaemonProcess.create();
  const work = tempDir();
  t.teardown(async () => {
    await restored.stop('SIGKILL');
    restored.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const write = (name: string, bytes: number) => {
    const dir = fs.mkdtempSync(path.join(work, 'f'));
    const file = path.join(dir, name);
    fs.writeFileSync(file, randomBytes(bytes));
    return file;
  };
  const putFile = async (file: string, args: string[]) => {
    const put = await json<PutResult>(renter.cli(['put', file, ...args, '--no-wait', '--json']));
    if (put.txids.length)
      await mine(renter);
    await forValue(async () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
      (f) => f.replicas.every((r) => r.state === 'active'), WAIT_MS, `${path.basename(file)} active`);
    return put;
  };

  const v0 = write('notes.bin', 3000000);
  // Version 1 keeps version 0's first two chunks: where both live on one
  // host it is a delta version, whose chunk map must resolve after recovery.
  const v1 = write('notes.bin', 300000);
  fs.writeFileSync(v1, Buffer.concat([fs.readFileSync(v0).subarray(0, 2500000), fs.readFileSync(v1)]));
  const coded = write('coded.bin', 2 * 1024 * 1024 + 777);
  const doomed = write('doomed.bin', 50000);
  const puts = new Map<string, { put: PutResult; file: string }>();
  puts.set('notes v0', { put: await putFile(v0, ['--hosts', '2']), file: v0 });
  puts.set('coded', { put: await putFile(coded, ['--data-shards', '2', '--parity-shards', '1']), file: coded });
  puts.set('notes v1', { put: await putFile(v1, ['--hosts', '2']), file: v1 });
  const shared = (puts.get('notes v0') as { put: PutResult }).put.contracts.map((c) => c.id);
  const v1put = (puts.get('notes v1') as { put: PutResult }).put;
  t.same(v1put.contracts.filter((c) => c.delta).map((c) => c.id), v1put.contracts.filter((c) => shared.includes(c.id)).map((c) => c.id),
    'version 1 is a delta upload wherever version 0 is');
  const gone = await putFile(doomed, ['--hosts', '3']);
  const rm = await renter.cli(['rm', gone.fileId]);
  t.equal(rm.code, 0, rm.stderr);
  const before = (await json<FileInfo[]>(renter.cli(['ls', '--json']))).map((f) => f.fileId).sort();
  t.same(before, [...puts.values()].map((p) => p.put.fileId).sort(), 'three files before the loss');
  const me = await identity(renter);

  const seed = path.join(work, 'seed.txt');
  await json(renter.cli(['dumpmnemonic', seed]));
  await renter.stop();
  renter.cleanup();

  await restored.start(['--restore-mnemonic-file', seed, ...hosts.flatMap((h) => ['--connect', h.addr])]);
  t.equal(await identity(restored), me, 'the same identity from the seed');
  const tip = (await json<{ blocks: number }>(hosts[0].cli(['getblockchaininfo']))).blocks;
  await forValue(async () => (await json<{ blocks: number }>(restored.cli(['getblockchaininfo']))).blocks, tip, WAIT_MS, 'synced');
  const ids = new Set([...puts.values(), { put: gone }].flatMap((p) => p.put.contracts.map((c) => c.id)));
  await forValue(async () => (await json<Array<{ id: string; state: string }>>(restored.cli(['listcontracts'])))
    .filter((c) => ids.has(c.id) && c.state === 'active').length, ids.size, WAIT_MS, 'contracts found again');
  // A node restored from the seed reads the manifests on its own, at the block after it found its contracts.
  await mine(hosts[0]);
  await forValue(async () => (await json<FileInfo[]>(restored.cli(['ls', '--json']))).length, 3, WAIT_MS, 'files found again on their own');

  const res = await json<RecoverResult>(restored.cli(['recover', '--json']));
  t.equal(res.contracts.length, ids.size, 'recover asks every contract');
  t.same(res.contracts.filter((c) => c.error !== null), [], 'every host gave its manifest');
  t.same([res.recovered.length, res.updated.length, res.known, res.deleted], [0, 0, 3, 0], 'nothing new: the node had found them');

  const ls = await json<FileInfo[]>(restored.cli(['ls', '--json']));
  t.same(ls.map((f) => f.fileId).sort(), before, 'ls lists them, not the deleted file');
  const coded2 = ls.find((f) => f.fileId === puts.get('coded')?.put.fileId) as FileInfo;
  t.same([coded2.dataShards, coded2.parityShards, coded2.health.alive], [2, 1, 3], 'the coded file as shards, healthy');
  const log = await json<FileInfo[]>(restored.cli(['log', 'notes.bin', '--json']));
  t.same(log.map((f) => f.revision), [0, 1], 'both versions');
  for (const [what, { put, file }] of puts) {
    const out = path.join(work, `${what.replace(' ', '-')}.out`);
    const r = await restored.cli(['get', put.fileId, out]);
    t.equal(r.code, 0, r.stderr);
    t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), `${what}: bytes identical`);
  }
  const out = path.join(work, 'rev0.out');
  t.equal((await restored.cli(['get', 'notes.bin', out, '--rev', '0'])).code, 0);
  t.ok(fs.readFileSync(out).equals(fs.readFileSync(v0)), 'get --rev 0 after recovery');

  const table = await restored.cli(['recover']);
  t.match(table.stdout, /contract\s+host\s+files\s+manifest/);
  t.match(table.stdout, /0 file\(s\) recovered, 0 updated from a newer manifest, 3 already known, 0 deleted/);

  t.same(res.contracts.filter((c) => !c.takenOver), [], 'every contract taken over');
  t.match(table.stdout, /takeover/);

  // The contracts taken over are this node's own: rm revises them, the
  // hosts drop the version, except where the recovered version 1 still
  // reads chunks of its object (a delta version there).
  const del = await json<DeleteFileResult>(restored.cli(['deletefile', (puts.get('notes v0') as { put: PutResult }).put.fileId]));
  const read = v1put.contracts.filter((c) => c.delta).map((c) => c.id).sort();
  t.same([del.removed.length, del.referenced.map((r) => r.id).sort(), del.kept, del.forgotten], [2 - read.length, read, [], true],
    'rm removes version 0 from both hosts but where version 1 reads it');
  t.same((await json<FileInfo[]>(restored.cli(['log', 'notes.bin', '--json']))).map((f) => f.revision), [1], 'version 1 left');
  const rev1 = path.join(work, 'rev1.out');
  t.equal((await restored.cli(['get', 'notes.bin', rev1, '--rev', '1'])).code, 0);
  t.ok(fs.readFileSync(rev1).equals(fs.readFileSync(v1)), 'version 1 still comes back after version 0 went');
});
