// The storage commands check the ids a user types before any call, each
// with one line in the command's own words (no RPC position, no code), so
// they say the same with or without a node; cloudcoind's flag errors carry
// its name as its other errors do.
import t from 'tap';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CLOUDCOIND, runCLI, tempDir } from './util/nodes-context';

const dir = tempDir();
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const keyFile = path.join(dir, 'rpc.key');
fs.writeFileSync(keyFile, 'x\n');
// Port 1: nothing listens, so any call would fail with "cannot connect".
const NO_NODE = ['--regtest', '--datadir', dir, '--rpcport', '1', '--api-key-file', keyFile];

t.test('id arguments are checked before any call', async (t) => {
  const table: Array<[string[], string]> = [
    [['get', 'zz', '/tmp/x'], 'file id must be 64 hex characters or a unique prefix of at least 4, got "zz"'],
    [['rm', 'abc'], 'file id must be 64 hex characters or a unique prefix of at least 4, got "abc"'],
    [['repair', 'xyz1'], 'file id must be 64 hex characters or a unique prefix of at least 4, got "xyz1"'],
    [['audits', 'zzzz'], 'contract or file id must be 64 hex characters or a unique prefix of at least 4, got "zzzz"'],
    [['renew', 'f'.repeat(65)], `contract or file id must be 64 hex characters or a unique prefix of at least 4, got "${'f'.repeat(65)}"`],
    [['earnings', 'zzz'], 'contract id must be 64 hex characters or a unique prefix of at least 4, got "zzz"']
  ];
  for (const [args, want] of table) {
    const r = await runCLI([...NO_NODE, ...args]);
    t.equal(r.code, 1, `${args[0]}: exit 1`);
    t.equal(r.stderr, `error: ${want}\n`, `${args.join(' ')}: one line in the command's words`);
    t.equal(r.stdout, '');
  }
  // A well-formed id goes on to the node (here: none).
  const r = await runCLI([...NO_NODE, 'rm', 'abcd']);
  t.match(r.stderr, /^error: cannot connect to cloudcoind at 127\.0\.0\.1:1/);
});

t.test('cloudcoind names itself on a flag error', async (t) => {
  const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, [CLOUDCOIND, '--regtest', '--bogus'], (err, _out, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, stderr: stderr.toString() }));
  });
  t.equal(r.code, 1);
  t.equal(r.stderr, 'cloudcoind: unknown option \'--bogus\'\n');
});
