// One contract per renter-host pair holding many files: 100 files put one
// at a time to the same 2 hosts make exactly one commitment (2 contracts);
// every file comes back identical; ls shows all of them in the same 2
// contracts; rm and put again keep the contracts with higher revision
// numbers while the hosts' used space goes down and up. A renter and two
// hosts as cloudcoind processes, driven over RPC and cloudcoin-cli.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { RenterClient } from '../../lib/deals/renterclient';
import { tempDir, type DaemonProcess } from '../util/nodes-context';
import { json, mine, startNetwork } from '../util/network';

interface ReplicaJSON {
  contractId: string;
  object: number;
  revision: number;
  state: string;
  cost: { accrued: number; toEnd: number } | null;
}
interface FileJSON {
  fileId: string;
  name: string;
  replicas: ReplicaJSON[];
}

const FILES = 100;
// A hundred puts take about 100 s on an idle 2-core machine.
t.setTimeout(15 * 60 * 1000);

async function used(host: DaemonProcess): Promise<number> {
  return (await json<{ used: number }>(host.cli(['getstorageinfo']))).used;
}

t.test('many files in one contract per host', { timeout: 1200000 }, async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], []]);
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const rpc = renter.client();
  const client = new RenterClient((method, params) => rpc.call(method, params));
  const put = (file: string) => client.put({
    file, name: Buffer.from(path.basename(file)), hosts: 2, minHosts: 2, duration: 200, maxPrice: 5000,
    workDir: fs.mkdtempSync(path.join(work, 'put-')), wait: false
  });
  const data = new Map<string, Buffer>();

  await t.test(`should put ${FILES} files one at a time with exactly one commitment`, async (t) => {
    const txids = new Set<string>();
    const contracts = new Set<string>();
    const started = Date.now();
    for (let i = 0; i < FILES; i++) {
      const file = path.join(work, `f${i}.bin`);
      const bytes = randomBytes(1000 + i);
      fs.writeFileSync(file, bytes);
      const res = await put(file);
      res.txids.forEach((x) => txids.add(x));
      res.contracts.forEach((c) => contracts.add(c.id));
      data.set(res.fileId, bytes);
      if (i % 10 === 0)
        t.comment(`put ${i}: ${Date.now() - started} ms so far`);
      if (i === 0)
        t.same(res.contracts.map((c) => c.reused), [false, false], 'the first put forms two contracts');
      else if (!res.contracts.every((c) => c.reused && c.revision === i))
        t.fail(`put ${i} did not reuse both contracts at revision ${i}: ${JSON.stringify(res.contracts)}`);
    }
    t.equal(txids.size, 1, 'one commitment transaction in all');
    t.equal(contracts.size, 2, 'two contracts');
    await mine(renter);
  });

  await t.test('should list every file in the same 2 contracts', async (t) => {
    const files = await json<FileJSON[]>(renter.cli(['ls', '--json']));
    t.equal(files.length, FILES);
    const ids = new Set(files.flatMap((f) => f.replicas.map((r) => r.contractId)));
    t.equal(ids.size, 2, 'all in the same 2 contracts');
    t.ok(files.every((f) => f.replicas.length === 2), 'two replicas each');
    const objects = new Set(files.map((f) => f.replicas[0].object));
    t.equal(objects.size, FILES, 'one object per file');
    const table = await renter.cli(['ls']);
    t.equal(table.code, 0);
    const lines = table.stdout.trim().split('\n');
    const rows = lines.slice(2, -1);
    t.equal(rows.length, 2 * FILES, 'a row per replica under the header');
    t.match(lines[lines.length - 1], /^spent so far \d+ sat, \d+ sat by the contracts' ends/, 'then the total cost');
    t.ok(rows.every((r) => [...ids].some((id) => r.includes(id.slice(0, 12)))), 'each naming one of the same 2 contracts');
    for (const id of ids) {
      const info = await json<{ revision: number; objects: number; committed: number }>(renter.cli(['getcontract', id]));
      t.same([info.revision, info.objects], [FILES - 1, FILES], `contract ${id.slice(0, 8)} at revision ${FILES - 1}`);
      // Each file's cost is its object's upload and storage; the contract
      // rounds per revision, the files per object: at most 1 sat apart each.
      const costs = files.flatMap((f) => f.replicas.filter((r) => r.contractId === id).map((r) => r.cost));
      t.ok(costs.every((c) => c !== null && c.accrued > 0 && c.accrued <= c.toEnd), 'every replica has a cost');
      const toEnd = costs.reduce((n, c) => n + (c ? c.toEnd : 0), 0);
      t.ok(Math.abs(toEnd - info.committed) <= 2 * FILES,
        `the files' costs to the end (${toEnd} sat) add up to the contract's committed cost (${info.committed} sat)`);
    }
  });

  await t.test('should get every file back identical', async (t) => {
    let same = 0;
    for (const [fileId, bytes] of data) {
      const got = await client.get(fileId, fs.mkdtempSync(path.join(work, 'get-')));
      if (fs.readFileSync(got.path).equals(bytes))
        same++;
    }
    t.equal(same, FILES, 'all identical');
  });

  await t.test('should remove a file and put another in the same contracts at higher revisions', async (t) => {
    const before = await Promise.all(hosts.map(used));
    const victim = [...data.keys()][7];
    const rm = await renter.cli(['rm', victim.slice(0, 10)]);
    t.equal(rm.code, 0, rm.stderr);
    t.match(rm.stdout, /removed from .* revision 100/);
    const after = await Promise.all(hosts.map(used));
    t.ok(after.every((u, i) => u < before[i]), `hosts' used space went down (${before} -> ${after})`);
    const files = await json<FileJSON[]>(renter.cli(['ls', '--json']));
    t.equal(files.length, FILES - 1);
    const file = path.join(work, 'another.bin');
    fs.writeFileSync(file, randomBytes(5000));
    const res = await put(file);
    t.same(res.txids, [], 'no transaction');
    t.same(res.contracts.map((c) => c.revision), [101, 101], 'same contracts, higher revision');
    t.ok((await Promise.all(hosts.map(used))).every((u, i) => u > after[i]), 'and up again');
    const back = await client.get(res.fileId, fs.mkdtempSync(path.join(work, 'get-')));
    t.ok(fs.readFileSync(back.path).equals(fs.readFileSync(file)));
  });
});
