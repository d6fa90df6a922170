// cloudcoin-fileserver flags: user errors print one clear line and exit 1.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import * as net from 'net';
import { spawn } from 'child_process';
import { ROOT, tempDir } from './util/fileserver';

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'fileserver', 'cli.ts'), ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('cloudcoin-fileserver flags', async (t) => {
  const dir = tempDir('cc-fs-cli-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cases: [string[], RegExp][] = [
    [['--port', '1'], /^cloudcoin-fileserver: --data-dir is required\n$/],
    [['--data-dir', dir, '--admin-key', 'abc'], /^cloudcoin-fileserver: --admin-key must be 64 hex characters\n$/],
    [['--data-dir', dir, '--port', '99999'], /^cloudcoin-fileserver: --port must be 0\.\.65535\n$/],
    [['--data-dir', dir, '--capacity', 'lots'], /^cloudcoin-fileserver: --capacity must be a size such as 50GB\n$/],
    [['--data-dir', dir, '--base-path', 'cc'], /^cloudcoin-fileserver: --base-path must be a path such as \/cc\n$/],
    [['--data-dir', dir, '--base-path', '/a b'], /^cloudcoin-fileserver: --base-path must be a path such as \/cc\n$/],
    [['--data-dir', dir, '--hash-threads', 'x'], /^cloudcoin-fileserver: --hash-threads must be 0\.\.64\n$/],
    [['--data-dir', dir, '--hash-threads', '65'], /^cloudcoin-fileserver: --hash-threads must be 0\.\.64\n$/],
    [['--data-dir', dir, '--bogus'], /^cloudcoin-fileserver: Unknown option '--bogus'/]
  ];
  const results = await Promise.all(cases.map(([args]) => run(args)));
  cases.forEach(([args, want], i) => {
    t.equal(results[i].code, 1, args.join(' '));
    t.match(results[i].stderr, want, args.join(' '));
  });
  const help = await run(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: cloudcoin-fileserver --data-dir DIR/);
  t.match(help.stdout, /--base-path/);
  t.match(help.stdout, /--hash-threads/);
  fs.writeFileSync(path.join(dir, 'admin.key'), 'not hex\n');
  const badKey = await run(['--data-dir', dir]);
  t.equal(badKey.code, 1);
  t.match(badKey.stderr, /admin\.key does not hold a 64 hex admin key/);
});

t.test('cloudcoin-fileserver start-up failures leave nothing behind', async (t) => {
  const dir = tempDir('cc-fs-cli2-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'plain-file');
  fs.writeFileSync(file, 'x');
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => blocker.close());
  const busyPort = String((blocker.address() as net.AddressInfo).port);
  const fresh = path.join(dir, 'fresh');
  const cases: [string, string[], RegExp][] = [
    ['data dir is a file', ['--data-dir', file], /^cloudcoin-fileserver: --data-dir \S+plain-file is a file, not a directory\n$/],
    ['data dir under a file', ['--data-dir', path.join(file, 'sub')], /^cloudcoin-fileserver: --data-dir \S+: \S+plain-file is a file, not a directory\n$/],
    // A parent that exists but answers ENOENT: Node 20's recursive mkdir spun there for ever.
    ['data dir under /proc', ['--data-dir', '/proc/nope'], /^cloudcoin-fileserver: cannot create --data-dir \/proc\/nope: ENOENT making \/proc\/nope\n$/],
    ['port in use', ['--data-dir', fresh, '--port', busyPort], new RegExp(`^cloudcoin-fileserver: port ${busyPort} on 127\\.0\\.0\\.1 is already in use`)],
    ['host not ours', ['--data-dir', fresh, '--host', '192.0.2.1'], /^cloudcoin-fileserver: --host 192\.0\.2\.1 is not an address of this machine\n$/]
  ];
  for (const [what, args, want] of cases) {
    const r = await run(args);
    t.equal(r.code, 1, what);
    t.match(r.stderr, want, what);
    t.equal(r.stdout, '', `${what}: no admin key printed`);
  }
  t.notOk(fs.existsSync(fresh), 'no data dir created when the server could not listen');
});
