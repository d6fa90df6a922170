// --keep-revisions: a renter (cloudcoind --keep-revisions 1) and one host
// as cloudcoind processes; versions of one name put with and without the
// put flag; the versions beyond N are deleted from the host by a
// revision (its objects and bytes go), `log` lists what is kept, and the
// kept versions still come back byte for byte.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { tempDir } from './util/nodes-context';
import { json, mine, startNetwork } from './util/network';
import { forValue } from './util/wait';
import type { PutResult } from '../lib/deals/renterclient';
import type { FileInfo } from '../lib/deals/rpctypes';
import { cipherSize } from '../lib/storage/common';

interface ContractJSON { objects: number; size: number; revision: number }

t.test('put --keep-revisions and cloudcoind --keep-revisions prune older versions', async (t) => {
  const { renter } = await startNetwork(t, [[]], ['--keep-revisions', '1']);
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const versions: Buffer[] = [];
  const put = async (args: string[]) => {
    const dir = fs.mkdtempSync(path.join(work, 'v'));
    const file = path.join(dir, 'doc.bin');
    const data = randomBytes(100000 + versions.length);
    fs.writeFileSync(file, data);
    versions.push(data);
    const putting = json<PutResult>(renter.cli(['put', file, '--json', ...args]));
    if (versions.length === 1) {
      await forValue(async () => (await json<string[]>(renter.cli(['getrawmempool']))).length, (n) => n > 0, 60000, 'commitment');
      await mine(renter);
    }
    return putting;
  };
  const log = async () => (await json<FileInfo[]>(renter.cli(['log', 'doc.bin', '--json']))).map((f) => f.revision);

  const v0 = await put([]);
  t.same(v0.pruned, [], 'one version: nothing to prune');
  const contract = v0.contracts[0].id;
  const v1 = await put(['--keep-revisions', '2']);
  t.equal(v1.contracts[0].id, contract, 'the same contract, by a revision');
  t.same(v1.pruned, [], 'two versions kept');
  t.same(await log(), [0, 1]);
  const before = await json<ContractJSON>(renter.cli(['getcontract', contract]));
  t.equal(before.objects, 2);

  const v2 = await put(['--keep-revisions', '2']);
  t.same(v2.pruned.map((p) => [p.revision, p.fileId, p.removed.length, p.forgotten]), [[0, v0.fileId, 1, true]], 'version 0 pruned');
  t.same(await log(), [1, 2], 'log lists what is kept');
  const after = await json<ContractJSON>(renter.cli(['getcontract', contract]));
  t.equal(after.objects, 2, 'the object of version 0 left the contract');
  t.equal(after.size, cipherSize(100001) + cipherSize(100002), 'its bytes are no longer stored');

  // No flag: the node's --keep-revisions 1.
  const v3 = await put([]);
  t.same(v3.pruned.map((p) => p.revision), [1, 2], 'the node keeps one version');
  t.same(await log(), [3]);
  t.equal((await json<ContractJSON>(renter.cli(['getcontract', contract]))).objects, 1, 'one object left on the host');
  const out = path.join(work, 'out.bin');
  const r = await renter.cli(['get', 'doc.bin', out, '--rev', '3']);
  t.equal(r.code, 0, r.stderr);
  t.ok(fs.readFileSync(out).equals(versions[3]), 'the kept version comes back');
  // A name of its own: into `out` get would also refuse the existing file.
  const goneOut = path.join(work, 'gone.bin');
  const gone = await renter.cli(['get', 'doc.bin', goneOut, '--rev', '1']);
  t.match(gone.stderr, /no version 1 of "doc.bin": stored versions are 3/);
  t.notOk(fs.existsSync(goneOut), 'nothing written');

  // --keep-revisions 0 keeps every version, whatever the node says.
  const v4 = await put(['--keep-revisions', '0']);
  t.same(v4.pruned, []);
  t.same(await log(), [3, 4]);
  const bad = path.join(work, 'doc.bin');
  fs.writeFileSync(bad, 'x');
  const text = await renter.cli(['put', bad, '--keep-revisions', 'x']);
  t.equal(text.code, 1);
  t.match(text.stderr, /--keep-revisions/);
  t.same((await json<{ kept: number[]; pruned: unknown[] }>(renter.cli(['pruneversions', Buffer.from('doc.bin').toString('hex'), '1']))).kept, [4],
    'the RPC prunes by hand');
});
