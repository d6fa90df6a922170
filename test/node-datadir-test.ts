// The datadir as a local attacker and a careless second start see it:
// owner-only files whatever the umask, and one cloudcoind per datadir.
// Real cloudcoind processes storing a real file, checked on disk.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { DaemonProcess, tempDir } from './util/nodes-context';
import { forCloudPeers, json, mine } from './util/network';
import { forValue } from './util/wait';

/** Every entry under `dir` whose mode lets group or others in, as `mode path`. */
function openToOthers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const file = path.join(d, ent.name);
      const st = fs.lstatSync(file);
      if ((st.mode & 0o077) !== 0)
        out.push(`${(st.mode & 0o777).toString(8)} ${path.relative(dir, file)}`);
      if (ent.isDirectory())
        walk(file);
    }
  };
  if ((fs.statSync(dir).mode & 0o077) !== 0)
    out.push(`${(fs.statSync(dir).mode & 0o777).toString(8)} .`);
  walk(dir);
  return out;
}

/** Relative paths of every file under `dir`. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const file = path.join(d, ent.name);
      if (ent.isDirectory())
        walk(file);
      else
        out.push(path.relative(dir, file));
    }
  };
  walk(dir);
  return out;
}

t.test('datadir permissions', async (t) => {
  // The loosest umask there is: nothing cloudcoind writes may inherit it.
  const umask = process.umask(0o000);
  t.teardown(() => { process.umask(umask); });

  const renter = await DaemonProcess.create();
  const host = await DaemonProcess.create(['--host']);
  const work = tempDir();
  t.teardown(async () => {
    for (const d of [renter, host]) {
      await d.stop('SIGKILL');
      d.cleanup();
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  // The host's datadir as an older version under umask 022 left it.
  fs.chmodSync(host.base, 0o755);
  fs.mkdirSync(path.join(host.datadir, 'old'), { recursive: true, mode: 0o755 });
  fs.chmodSync(host.datadir, 0o755);
  fs.writeFileSync(path.join(host.datadir, 'old', 'notes'), 'x', { mode: 0o644 });
  fs.writeFileSync(path.join(host.base, 'cloudcoin.conf'), '[regtest]\nhost-capacity=1GB\n', { mode: 0o644 });

  await renter.start();
  await host.start(['--connect', renter.addr]);
  // Warnings follow the banner on stderr.
  await forValue(() => /regtest was open to other users: made \d+ entries owner-only/.test(host.stderr), true,
    30000, 'the host saying it tightened its datadir');
  t.match(host.stderr, /cc-test-\w+ was open to other users: made it owner-only/, 'and the base datadir');
  await forCloudPeers(renter, [host], 60000, 'host connected');
  await mine(renter, 440);

  // A real file on the host, so hosted data, contracts and wallet txs exist.
  const file = path.join(work, 'photo.jpg');
  fs.writeFileSync(file, Buffer.alloc(100000, 7));
  const put = await json<{ fileId: string }>(renter.cli(['put', file, '--hosts', '1', '--no-wait', '--json']));
  await mine(renter);
  const out = path.join(work, 'back.jpg');
  await forValue(async () => (await renter.cli(['get', put.fileId, out])).code, 0, 60000, 'get succeeds');
  t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'the file comes back');

  await t.test('should leave every file 0600 and every folder 0700', async (t) => {
    for (const [who, d] of [['renter', renter], ['host', host]] as const) {
      const files = filesUnder(d.base);
      // What must be there for the check to mean something.
      const want = ['regtest/.cookie', 'regtest/debug.log', /^regtest\/chain\//, /^regtest\/wallet\//, /^regtest\/contracts/];
      if (who === 'host')
        want.push('cloudcoin.conf', /^regtest\/hostdata\/.+/);
      for (const w of want)
        t.ok(files.some((f) => (typeof w === 'string' ? f === w : w.test(f))), `${who} has ${String(w)}`);
      t.same(openToOthers(d.base), [], `${who}: nothing open to group or others`);
    }
  });
});

t.test('a second cloudcoind on the same datadir', async (t) => {
  const first = await DaemonProcess.create();
  t.teardown(async () => {
    await first.stop('SIGKILL');
    first.cleanup();
  });
  await first.start();
  const cookieFile = path.join(first.datadir, '.cookie');
  const cookie = fs.readFileSync(cookieFile, 'utf8');
  const before = new Map(filesUnder(first.base).map((f) => [f, fs.statSync(path.join(first.base, f)).mtimeMs]));

  // Same datadir, other ports or the same ones: refused before any port or file.
  const spare = await DaemonProcess.create();
  spare.cleanup();
  const cases: Array<[string, number, number]> = [
    ['other ports', spare.port, spare.rpcPort], ['the same ports', first.port, first.rpcPort]];
  for (const [name, port, rpcPort] of cases) {
    const d = new DaemonProcess(first.base, port, rpcPort);
    await t.rejects(d.start(), /exited with 1/, `${name}: exit 1`);
    t.equal(d.stderr, `cloudcoind: another cloudcoind is using ${first.datadir}\n`, `${name}: one line naming the datadir`);
    t.equal(d.stdout, '', `${name}: nothing else printed`);
  }
  t.equal(fs.readFileSync(cookieFile, 'utf8'), cookie, 'the running node\'s cookie is untouched');
  const after = new Map(filesUnder(first.base).map((f) => [f, fs.statSync(path.join(first.base, f)).mtimeMs]));
  // The running node writes its logs and databases; leveldb rotates the
  // lock folder's own LOG on every attempt, before it tries the lock.
  const live = /^regtest\/(debug\.log|chain\/|wallet\/|contracts|\.lock\/LOG)/;
  for (const [f, mtime] of before) {
    if (!live.test(f))
      t.equal(after.get(f), mtime, `${f} untouched`);
  }
  const r = await first.cli(['getblockcount']);
  t.equal(r.stdout, '0\n', 'the first node still answers the CLI');
  t.equal(await first.stop(), 0);
  t.notOk(fs.existsSync(cookieFile), 'its own stop removes the cookie');
  // Once it is gone the datadir is free again.
  const again = new DaemonProcess(first.base, first.port, first.rpcPort);
  await again.start();
  t.equal((await again.cli(['getblockcount'])).stdout, '0\n');
  t.equal(await again.stop(), 0);
});
