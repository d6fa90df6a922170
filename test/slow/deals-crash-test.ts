// Revisions survive kill -9 of either side at each step, and a host that
// lost revisions is caught. A renter and a host as cloudcoind processes;
// the renter client runs here, so each step can be interrupted exactly:
// the renter node or the host is killed (SIGKILL) between two calls, then
// restarted on the same datadir.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { RenterClient, type PutResult } from '../../lib/deals/renterclient';
import { tempDir, type DaemonProcess } from '../util/nodes-context';
import { forCloudPeer, identity, json, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';

interface ContractJSON {
  revision: number;
  objects: number;
  pendingRevision: number | null;
  hostBehind: boolean;
  contract: { root: string };
}
interface FileJSON {
  fileId: string;
  replicas: Array<{ contractId: string; object: number; state: string }>;
}

t.setTimeout(15 * 60 * 1000);

t.test('revisions under kill -9', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[]]);
  const host = hosts[0];
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  /** Run before (or after, with `after`) an RPC method of the client: the crash point. */
  let hook: { method: string; after: boolean; run: () => Promise<void> } | null = null;
  const client = new RenterClient(async (method, params) => {
    const h = hook;
    if (h && h.method === method && !h.after) {
      hook = null;
      await h.run();
      throw new Error(`crashed before ${method}`);
    }
    const res = await renter.client().call(method, params);
    if (h && h.method === method && h.after) {
      hook = null;
      await h.run();
      throw new Error(`crashed after ${method}`);
    }
    return res;
  });
  const put = (name: string, bytes = randomBytes(20000)): Promise<PutResult> => {
    const file = path.join(work, name);
    fs.writeFileSync(file, bytes);
    return client.put({
      file, name: Buffer.from(name), hosts: 1, minHosts: 1, duration: 300, maxPrice: 5000,
      workDir: fs.mkdtempSync(path.join(work, 'put-')), wait: false
    });
  };
  const hostId = await identity(host);
  const restart = async (d: DaemonProcess) => {
    await d.stop('SIGKILL');
    // The renter saw the host's connection drop: the host found below is back.
    if (d === host)
      await forCloudPeer(renter, hostId, false, 60000, 'the host gone');
    await d.start(d === host ? ['--connect', renter.addr] : []);
    await forCloudPeer(renter, hostId, true, 60000, 'host connected again');
  };
  const contract = async (d: DaemonProcess, id: string) => json<ContractJSON>(d.cli(['getcontract', id]));
  const files = async () => json<FileJSON[]>(renter.cli(['ls', '--json']));
  const getBack = async (fileId: string, bytes: Buffer) => {
    const got = await client.get(fileId, fs.mkdtempSync(path.join(work, 'get-')));
    return fs.readFileSync(got.path).equals(bytes);
  };

  const first = await put('first');
  const id = first.contracts[0].id;
  await mine(renter);
  t.equal((await contract(renter, id)).revision, 0);

  await t.test('renter killed after the upload, before asking for the receipt: settled at the next block', async (t) => {
    const bytes = randomBytes(30000);
    hook = { method: 'getstoragereceipt', after: false, run: () => renter.stop('SIGKILL').then(() => undefined) };
    await t.rejects(put('a', bytes));
    await restart(renter);
    t.equal((await contract(renter, id)).pendingRevision, 1, 'the signed revision survived the crash');
    await mine(renter);
    await forValue(async () => (await contract(renter, id)).revision, 1, 30000, 'revision 1 settled with the host');
    t.same((await contract(host, id)).revision, 1, 'the host holds revision 1 too');
    const f = (await files()).find((x) => x.replicas.some((r) => r.object === 2));
    t.ok(f, 'the file is kept');
    t.ok(await getBack(f!.fileId, bytes), 'and comes back identical');
  });

  await t.test('renter killed after the host accepted, before the upload: given up, the number is used again', async (t) => {
    hook = { method: 'proposerevision', after: true, run: () => renter.stop('SIGKILL').then(() => undefined) };
    await t.rejects(put('b'));
    await restart(renter);
    t.equal((await contract(renter, id)).pendingRevision, 2);
    await mine(renter);
    await forValue(async () => (await contract(renter, id)).pendingRevision, null, 30000, 'the pending revision given up');
    t.equal((await contract(renter, id)).revision, 1, 'revision 1 stays the latest');
    const before = (await files()).length;
    const res = await put('c');
    t.same(res.contracts.map((c) => [c.id, c.revision, c.object]), [[id, 2, 4]], 'revision 2 again, with a fresh object id');
    t.equal((await files()).length, before + 1);
  });

  await t.test('host killed after accepting, before the upload: the put fails, nothing half-done stays', async (t) => {
    hook = { method: 'proposerevision', after: true, run: () => host.stop('SIGKILL').then(() => undefined) };
    await t.rejects(put('d'));
    await restart(host);
    await mine(renter);
    await forValue(async () => (await contract(renter, id)).pendingRevision, null, 30000, 'settled with the restarted host');
    t.same([(await contract(renter, id)).revision, (await contract(host, id)).revision], [2, 2]);
    const bytes = randomBytes(1234);
    const res = await put('e', bytes);
    t.equal(res.contracts[0].revision, 3, 'the next revision replaces what the host still had pending');
    t.ok(await getBack(res.fileId, bytes));
  });

  await t.test('host killed right after countersigning: it still holds the revision after a restart', async (t) => {
    const bytes = randomBytes(4321);
    hook = { method: 'getstoragereceipt', after: true, run: () => host.stop('SIGKILL').then(() => undefined) };
    await t.rejects(put('f', bytes));
    await restart(host);
    t.same([(await contract(renter, id)).revision, (await contract(host, id)).revision], [4, 4], 'both at revision 4');
    const f = (await files()).find((x) => x.replicas.some((r) => r.contractId === id && r.object === 7));
    t.ok(f && await getBack(f.fileId, bytes), 'the file comes back');
  });

  await t.test('a host that lost its latest revision is caught and never revised again', async (t) => {
    // Keep the host's state at revision 4, move on to 5, then put the old state back.
    await host.stop('SIGTERM');
    await forCloudPeer(renter, hostId, false, 60000, 'the host gone');
    const saved = path.join(work, 'host-saved');
    fs.cpSync(host.datadir, saved, { recursive: true });
    await host.start(['--connect', renter.addr]);
    await forCloudPeer(renter, hostId, true, 60000, 'host back');
    await put('g');
    t.equal((await contract(renter, id)).revision, 5);
    await host.stop('SIGKILL');
    await forCloudPeer(renter, hostId, false, 60000, 'the host gone');
    fs.rmSync(host.datadir, { recursive: true, force: true });
    fs.cpSync(saved, host.datadir, { recursive: true });
    await host.start(['--connect', renter.addr]);
    await forCloudPeer(renter, hostId, true, 60000, 'host restored');
    t.equal((await contract(host, id)).revision, 4, 'the host answers with revision 4, an older root');
    const err = await put('h').catch((e: Error) => e);
    t.ok(err instanceof Error);
    t.match((err as Error).message, /holds revision 4 .* we hold revision 5 signed by it: it lost data/);
    const mine5 = await contract(renter, id);
    t.same([mine5.revision, mine5.hostBehind], [5, true], 'ours stays at 5, the host is marked');
    const res = await put('i');
    t.not(res.contracts[0].id, id, 'the next put forms a new contract instead');
    t.equal(res.txids.length, 1);
  });
});
