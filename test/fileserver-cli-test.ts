// cloudcoin-fileserver flags: user errors print one clear line and exit 1.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
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
  fs.writeFileSync(path.join(dir, 'admin.key'), 'not hex\n');
  const badKey = await run(['--data-dir', dir]);
  t.equal(badKey.code, 1);
  t.match(badKey.stderr, /admin\.key does not hold a 64 hex admin key/);
});
