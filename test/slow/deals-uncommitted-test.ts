// A renter killed (kill -9) in the middle of a put to new contracts leaves
// its hosts holding uploads nobody will ever commit: each host deletes
// them, and frees their space, at the first block past the offer's end,
// also one that was down then and comes back later, while the data of a
// committed contract stays; the restarted renter lists the put
// `uploading` until then, never as a stored copy. A renter and two hosts as cloudcoind
// processes, driven by cloudcoin-cli as a user runs it.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import type { DaemonProcess } from '../util/nodes-context';
import { spawnCLI, tempDir } from '../util/nodes-context';
import { files, forCloudPeers, height, json, mine, putMined, startNetwork, textFile } from '../util/network';
import { rpcProxy } from '../util/rpcproxy';
import { forValue } from '../util/wait';

/** What these tests read of getstorageinfo. */
interface StorageInfo {
  used: number;
  reserved: number;
  contracts: number;
}

/** The offer window on regtest (lib/deals/common.ts): an offer made at height h expires at h + 20. */
const OFFER_WINDOW = 20;

t.setTimeout(15 * 60 * 1000);

t.test('data of a contract never committed', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], []]);
  const [h1, h2] = hosts;
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const info = async (h: DaemonProcess) => {
    const i = await json<StorageInfo>(h.cli(['getstorageinfo']));
    return { used: i.used, reserved: i.reserved, contracts: i.contracts };
  };
  /** Contract directories in a host's store (objects/ or uploads/). */
  const dirs = (h: DaemonProcess, where: 'objects' | 'uploads') => {
    const dir = path.join(h.datadir, 'hostdata', where);
    return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
  };
  const blocks = async (h: DaemonProcess) => Number((await h.cli(['getblockcount'])).stdout.trim());

  // A committed contract on each host: its data must never be touched.
  const kept = await putMined(t, renter, 3 * 1024 * 1024, ['--hosts', '2', '--duration', '300', '--new-contracts']);
  const keptIds = kept.contracts.map((c) => c.id).sort();
  t.equal(keptIds.length, 2);
  const before = [await info(h1), await info(h2)];
  for (const h of hosts)
    t.same(dirs(h, 'objects').filter((id) => keptIds.includes(id)).length, 1, 'each host holds its committed contract');

  // A put to new contracts whose renter dies with every byte uploaded, before the commitment.
  const file = path.join(work, 'k9.bin');
  textFile(file, 6 * 1024 * 1024);
  const offered = await height(renter);
  const proxy = await rpcProxy(renter.rpcPort, 'commitfile', 'hold');
  t.teardown(() => proxy.close());
  const cli = spawnCLI(renter.cliArgs(['put', file, '--hosts', '2', '--new-contracts', '--duration', '300'], proxy.port));
  await forValue(() => proxy.seen.includes('commitfile'), true, 120000, 'uploads done, about to commit');
  await renter.stop('SIGKILL');
  cli.proc.kill('SIGKILL');
  await cli.done;
  await proxy.close();
  const orphans = (h: DaemonProcess) => dirs(h, 'objects').filter((id) => !keptIds.includes(id));
  t.equal(orphans(h1).length, 1, 'the first host holds the new contract\'s data');
  t.equal(orphans(h2).length, 1, 'so does the second');
  const during = await info(h1);
  t.ok(during.used > before[0].used + 6 * 1024 * 1024, `its space is used (${during.used} > ${before[0].used})`);

  await renter.start();
  await forCloudPeers(renter, hosts, 60000, 'hosts back with the restarted renter');
  await t.test('the renter\'s ls lists it uploading, with the block it is dropped at', async (t) => {
    const k9 = (await files(renter)).find((f) => f.name === 'k9.bin');
    t.ok(k9, 'the put is still listed');
    const replicas = k9!.replicas as unknown as Array<{ state: string; givenUpAt: number | null }>;
    t.same(replicas.map((r) => r.state), ['uploading', 'uploading'], 'uploading: its put never committed');
    const at = replicas.map((r) => r.givenUpAt);
    t.ok(at.every((h) => h !== null && h > offered), `dropped at the offer's end: ${at.join()}`);
    const ls = await renter.cli(['ls']);
    t.match(ls.stdout, `uploading (dropped at block ${Math.max(...at.map(Number))} unless finished)`);
  });

  await t.test('the renter\'s get says in one line that it was never fully stored', async (t) => {
    const k9 = (await files(renter)).find((f) => f.name === 'k9.bin');
    t.ok(k9, 'the put is still listed');
    const r = await renter.cli(['get', k9!.fileId, path.join(work, 'k9-back.bin')]);
    t.not(r.code, 0);
    t.match(r.stderr, /^error: k9\.bin \(file [0-9a-f]{12}, version 0\) was never fully stored: .*cloudcoin-cli rm [0-9a-f]{12}` drops it now\n$/,
      r.stderr);
    t.match(r.stderr, /its hosts received it but no commitment funds them/, 'the hosts hold it (not "no host holds a copy")');
  });

  // The second host is down when the offer ends and comes back after.
  await h2.stop('SIGKILL');

  // Until the offer expires the commitment may still come: the data stays.
  const expiry = offered + OFFER_WINDOW;
  await mine(renter, expiry - await height(renter));
  await forValue(() => blocks(h1), expiry, 30000, 'the first host at the offer expiry');
  t.equal(orphans(h1).length, 1, 'kept until the offer expires');

  await t.test('a host deletes it at the first block past the offer and frees its space', async (t) => {
    await mine(renter);
    await forValue(() => orphans(h1).length, 0, 30000, 'the object directory gone');
    t.same(dirs(h1, 'uploads').filter((id) => !keptIds.includes(id)), [], 'no upload left');
    t.same(await info(h1), before[0], 'getstorageinfo as before the put');
    // Logged after the deletion, and debug.log is written asynchronously.
    t.ok(await forValue(() => /deals: contract [0-9a-f]{64} never committed by its offer expiry \(height \d+\): data deleted/
      .test(fs.readFileSync(path.join(h1.datadir, 'debug.log'), 'utf8')), true, 30000, 'the deletion logged'), 'the deletion logged');
  });

  await t.test('a host down at the offer\'s end deletes it once back', async (t) => {
    await h2.start(['--connect', renter.addr]);
    await forValue(() => orphans(h2).length, 0, 60000, 'the object directory gone on the restarted host');
    t.same(await info(h2), before[1], 'getstorageinfo as before the put');
  });

  await t.test('a committed contract keeps its data', async (t) => {
    await forCloudPeers(renter, hosts, 60000, 'both hosts connected');
    for (const h of hosts)
      t.ok(keptIds.some((id) => dirs(h, 'objects').includes(id)), 'its object directory is there');
    for (const h of hosts) {
      const id = keptIds.find((x) => dirs(h, 'objects').includes(x))!;
      t.ok((await json<{ objects: number }>(h.cli(['getcontract', id]))).objects > 0, 'the host still lists its objects');
    }
    const out = path.join(work, 'back.bin');
    const r = await renter.cli(['get', kept.fileId, out]);
    t.equal(r.code, 0, r.stderr);
  });
});
