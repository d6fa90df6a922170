// The storage commands check the ids a user types before any call, each
// with one line in the command's own words (no RPC position, no code), so
// they say the same with or without a node; cloudcoind's flag errors carry
// its name as its other errors do; and what a new user meets first on a
// node with nothing stored: an empty ls, an unknown id, another datadir's
// cookie, the help listing.
import t from 'tap';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CLOUDCOIND, DaemonProcess, runCLI, tempDir } from './util/nodes-context';

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

t.test('get refuses an existing file before any call, unless --force', async (t) => {
  const out = path.join(dir, 'mine.txt');
  fs.writeFileSync(out, 'mine');
  const link = path.join(dir, 'mine-link');
  fs.symlinkSync(out, link);
  for (const target of [out, link]) {
    const r = await runCLI([...NO_NODE, 'get', 'abcd', target]);
    t.equal(r.code, 1);
    t.equal(r.stderr, `error: ${target} already exists: give --force to replace it\n`, 'one line naming the file');
  }
  // --force goes on to the node (none here): the file is replaced only by a whole download.
  const forced = await runCLI([...NO_NODE, 'get', 'abcd', out, '--force']);
  t.match(forced.stderr, /^error: cannot connect to cloudcoind at 127\.0\.0\.1:1/);
  // So does a new name, and a dangling link (the file it names is created).
  const dangling = path.join(dir, 'dangling');
  fs.symlinkSync(path.join(dir, 'nothing-yet'), dangling);
  for (const target of [path.join(dir, 'new.txt'), dangling])
    t.match((await runCLI([...NO_NODE, 'get', 'abcd', target])).stderr, /^error: cannot connect/, `${target} is free`);
  t.equal(fs.readFileSync(out, 'utf8'), 'mine', 'untouched');
  t.same(fs.readdirSync(dir).filter((f) => f.startsWith('.cloudcoin-get-')), [], 'no temp file left');
  const help = await runCLI([...NO_NODE, 'help', 'get']);
  t.match(help.stdout, /--force\s+replace OUT if it is an existing file/, '--help documents --force');
});

t.test('put --min-hosts out of range says what it needs and what was given', async (t) => {
  const file = path.join(dir, 'photo.jpg');
  fs.writeFileSync(file, 'x');
  const table: Array<[string[], string]> = [
    [['--min-hosts', '5'], '--min-hosts 5 needs at least 5 hosts, but put stores on --hosts 1 (the default): give --hosts 5 or more'],
    [['--hosts', '2', '--min-hosts', '3'], '--min-hosts 3 needs at least 3 hosts, but put stores on --hosts 2: give --hosts 3 or more'],
    [['--min-hosts', '0'], '--min-hosts must be at least 1'],
    [['--min-hosts', 'x'], '--min-hosts must be a whole number, got "x"'],
    [['--data-shards', '2', '--parity-shards', '1', '--min-hosts', '1'], '--min-hosts 1 is outside 2..3: with --data-shards 2 '
      + '--parity-shards 1 at least K = 2 shards rebuild the file and put stores K + M = 3'],
    [['--data-shards', '2', '--parity-shards', '1', '--min-hosts', '4'], '--min-hosts 4 is outside 2..3: with --data-shards 2 '
      + '--parity-shards 1 at least K = 2 shards rebuild the file and put stores K + M = 3']
  ];
  for (const [args, want] of table) {
    const r = await runCLI([...NO_NODE, 'put', file, ...args]);
    t.equal(r.code, 1, `${args.join(' ')}: exit 1`);
    t.equal(r.stderr, `error: ${want}\n`, `${args.join(' ')}: one line`);
  }
  // In range, put goes on to the node (none here).
  t.match((await runCLI([...NO_NODE, 'put', file, '--hosts', '5', '--min-hosts', '5'])).stderr, /^error: cannot connect/);
  const neg = await runCLI([...NO_NODE, 'negotiate-storage', '--size', '1MB', '--min-hosts', '2']);
  t.equal(neg.stderr, 'error: --min-hosts 2 needs at least 2 hosts, but negotiate-storage asks --hosts 1 (the default): '
    + 'give --hosts 2 or more\n', 'negotiate-storage checks its --min-hosts alike');
});

t.test('negotiate-storage takes put\'s --max-price default', async (t) => {
  // With the default there is nothing to refuse: the command goes on to the node (here: none).
  const r = await runCLI([...NO_NODE, 'negotiate-storage', '--size', '1MB']);
  t.equal(r.code, 1);
  t.match(r.stderr, /^error: cannot connect to cloudcoind at 127\.0\.0\.1:1/);
});

t.test('negotiate-storage --size says whether it is not a size or not above 0', async (t) => {
  const table: Array<[string, string]> = [
    ['0', '--size must be more than 0 bytes, got "0"'],
    ['0B', '--size must be more than 0 bytes, got "0B"'],
    ['0.0MB', '--size must be more than 0 bytes, got "0.0MB"'],
    ['-1', '--size must be a size such as 10MB, got "-1"'],
    ['ten', '--size must be a size such as 10MB, got "ten"']
  ];
  for (const [size, want] of table) {
    const r = await runCLI([...NO_NODE, 'negotiate-storage', '--size', size]);
    t.equal(r.code, 1, `--size ${size}: exit 1`);
    t.equal(r.stderr, `error: ${want}\n`, `--size ${size}: one line`);
  }
});

t.test('what a new user meets on a node with nothing stored', async (t) => {
  // A host-only flag on a node that does not host: started, with a warning naming it.
  const node = await DaemonProcess.create(['--host-capacity', '10GB']);
  t.teardown(async () => {
    await node.stop();
    node.cleanup();
  });
  await node.start();
  const oneLine = (r: { code: number; stdout: string; stderr: string }, want: string | RegExp, what: string) => {
    t.equal(r.code, 1, `${what}: exit 1`);
    if (typeof want === 'string')
      t.equal(r.stderr, `error: ${want}\n`, `${what}: one line`);
    else
      t.match(r.stderr, new RegExp(`^error: ${want.source.replace(/^\^/, '')}[^\n]*\n$`), `${what}: one line`);
    t.equal(r.stdout, '', `${what}: nothing on stdout`);
  };

  const ls = await node.cli(['ls']);
  t.equal(ls.code, 0);
  t.equal(ls.stdout, 'no files stored (cloudcoin-cli put FILE stores one)\n', 'ls says so instead of an empty table');
  t.equal((await node.cli(['ls', '--json'])).stdout.trim(), '[]', 'and --json is an empty list');

  oneLine(await node.cli(['earnings', 'abcd1234']), 'No such contract: abcd1234. (code -5)', 'earnings of an unknown id names it');
  oneLine(await node.cli(['reputation', 'nosuch']),
    'identity must be an identity address this node knows or a 33-byte public key in hex, got "nosuch"',
    'reputation of a malformed identity in the command\'s words');

  // The cookie of one datadir sent to another node's port: the error says which cookie, and what to give.
  const other = tempDir();
  t.teardown(() => fs.rmSync(other, { recursive: true, force: true }));
  fs.mkdirSync(path.join(other, 'regtest'), { recursive: true });
  fs.writeFileSync(path.join(other, 'regtest', '.cookie'), `__cookie__:${'0'.repeat(64)}`);
  oneLine(await runCLI(['--regtest', '--datadir', other, '--rpcport', String(node.rpcPort), 'getblockcount']),
    `authorization failed at 127.0.0.1:${node.rpcPort}: the cookie ${path.join(other, 'regtest', '.cookie')} is another node's `
    + '(give the --rpcport of that datadir\'s node)', 'a cookie of another datadir');

  t.match(node.stderr, /^cloudcoind: warning: --host-capacity has no effect without --host$/m, 'an idle host flag is named');

  // dumpmnemonic, dumpwallet, backupwallet: cloudcoind writes the file, so a
  // relative name (its own cwd) is refused, an existing path is never
  // overwritten (bitcoind's words, -8) and the reply names the path.
  const seedDir = tempDir();
  t.teardown(() => fs.rmSync(seedDir, { recursive: true, force: true }));
  const exists = (p: string) => `${p} already exists. If you are sure this is what you want, move it out of the way first (code -8)`;
  const cases: Array<[string, string, string]> = [['dumpmnemonic', 'seed.txt', 'filename'], ['dumpwallet', 'keys.txt', 'filename'],
    ['backupwallet', 'wallet.bak', 'destination']];
  for (const [method, name, param] of cases) {
    const rel = await node.cli([method, 'somedir']);
    t.equal(rel.code, 1);
    t.match(rel.stderr, new RegExp(`^error: Position 1 \\(${param}\\) must be an absolute path \\(cloudcoind writes it, `
      + 'in its own working directory /.*\\), got "somedir" \\(code -8\\)\n$'), `${method}: a relative path in one line`);
    const target = path.join(seedDir, name);
    const done = await node.cli([method, `${seedDir}/./${name}`]);
    t.equal(done.code, 0, done.stderr);
    // backupwallet answers null as bitcoind's (the CLI prints nothing, as bitcoin-cli).
    t.same(method === 'backupwallet' ? done.stdout : JSON.parse(done.stdout), method === 'backupwallet' ? '' : { filename: target },
      `${method}: the reply names the path written`);
    const st = fs.statSync(target);
    t.equal(st.mode & 0o077, 0, `${method}: the owner's alone`);
    const before = method === 'backupwallet' ? fs.readdirSync(target).sort() : fs.readFileSync(target, 'utf8');
    oneLine(await node.cli([method, target]), exists(target), `${method}: an existing path`);
    oneLine(await node.cli([method, seedDir]), exists(seedDir), `${method}: an existing folder`);
    t.same(method === 'backupwallet' ? fs.readdirSync(target).sort() : fs.readFileSync(target, 'utf8'), before,
      `${method}: what was there is untouched`);
    oneLine(await node.cli([method, path.join(seedDir, 'no', name)]), `directory ${path.join(seedDir, 'no')} does not exist (code -8)`,
      `${method}: a missing directory`);
    oneLine(await node.cli([method, '/proc/nope']), '/proc does not accept new files (ENOENT) (code -8)', `${method}: a pseudo filesystem`);
  }
  t.match(fs.readFileSync(path.join(seedDir, 'keys.txt'), 'utf8'), /^# Wallet Dump created by Bcoin/, 'dumpwallet wrote the keys');
  t.ok(fs.existsSync(path.join(seedDir, 'wallet.bak', 'CURRENT')), 'backupwallet wrote a leveldb copy');
  t.same(fs.readdirSync(seedDir).sort(), ['keys.txt', 'seed.txt', 'wallet.bak'], 'nothing else written');

  // A wrong parameter count says so, with the usage line.
  oneLine(await node.cli(['getblockcount', 'extra']), 'wrong number of parameters (1 given); usage: getblockcount (code -1)',
    'getblockcount extra');
  // A zero, sub-sat or dust amount is the caller's parameter: bitcoind's -3 "Invalid amount",
  // not an internal error with a stack in debug.log.
  const addr = (await node.cli(['getnewaddress'])).stdout.trim();
  const dust = 'below the dust limit (294 sat for this address: 3 x the fee of spending it at the minimum relay fee) (code -3)';
  const amounts: Array<[string, string]> = [
    ['0', 'Invalid amount for send (code -3)'],
    ['0.00000000', 'Invalid amount for send (code -3)'],
    ['0.000000001', 'Invalid amount (at most 8 decimals: 1 sat is 0.00000001) (code -3)'],
    ['1.000000001', 'Invalid amount (at most 8 decimals: 1 sat is 0.00000001) (code -3)'],
    ['0.000001', `Invalid amount: 100 sat is ${dust}`],
    ['0.00000293', `Invalid amount: 293 sat is ${dust}`]
  ];
  for (const [amount, want] of amounts)
    oneLine(await node.cli(['sendtoaddress', addr, amount]), want, `sendtoaddress ${amount}`);
  // At the limit the amount is fine: what is missing is coins.
  oneLine(await node.cli(['sendtoaddress', addr, '0.00000294']), /^Not enough funds/, 'sendtoaddress at the dust limit');
  oneLine(await node.cli(['sendmany', '', JSON.stringify({ [addr]: 0.000001 })]),
    'Invalid amount: an output is below the dust limit (policy: 3 x the fee of spending it at the minimum relay fee) (code -3)',
    'sendmany with a dust output');
  t.notMatch(fs.readFileSync(path.join(node.datadir, 'debug.log'), 'utf8'), /Output is dust/, 'no stack in debug.log');

  // bcoin's unimplemented methods (move, setaccount...) answered only "Not
  // implemented.": they are not served (nodeguards.ts), so help does not list them.
  const help = await node.cli(['help']);
  t.equal(help.code, 0);
  t.notMatch(help.stdout, /^Not implemented\.$/m, 'help has no bare error line');
  t.notMatch(help.stdout, /^move /m, 'move, which bcoin never implemented, is not listed');
  oneLine(await node.cli(['move', 'a', 'b', '1']), /Method not found/, 'nor served');
});

t.test('cloudcoind --help says what each extension flag takes', async (t) => {
  const out = await new Promise<string>((resolve) => {
    execFile(process.execPath, [CLOUDCOIND, '--help'], (_err, stdout) => resolve(stdout.toString()));
  });
  // Each value's unit: an amount, a size, a count of blocks, a choice.
  t.match(out, /--host-storage-price <sat> /, 'an amount in sat');
  t.match(out, /--rate-fee-cap <sat> /, 'a fee cap in sat');
  t.match(out, /--host-capacity <bytes> /, 'a size');
  t.match(out, /--renew-window <blocks> /, 'a number of blocks');
  t.match(out, /--renew <auto\/off> /, 'a choice');
  t.match(out, /--keep-revisions <n> /, 'a plain count: its type\'s placeholder');
  t.notMatch(out, /<value>/, 'no flag without its unit or shape');
  t.match(out, /--host\s+\[hosting\]/, 'a switch takes nothing');
});

t.test('cloudcoind names itself on a flag error', async (t) => {
  const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, [CLOUDCOIND, '--regtest', '--bogus'], (err, _out, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, stderr: stderr.toString() }));
  });
  t.equal(r.code, 1);
  t.equal(r.stderr, 'cloudcoind: unknown option \'--bogus\'\n');
});

t.test('cloudcoind refuses a bad datadir, conf, log level or extension in one line', async (t) => {
  const run = (args: string[]) => new Promise<{ code: number; stderr: string; stdout: string }>((resolve) => {
    // The timeout guards the hang this checks for (Node 20's recursive mkdir under /proc).
    execFile(process.execPath, [CLOUDCOIND, '--regtest', ...args], { timeout: 120000, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? err.signal) : 0, stdout: stdout.toString(), stderr: stderr.toString() }));
  });
  const notDir = path.join(dir, 'photo.jpg');
  fs.writeFileSync(notDir, 'jpeg');
  const missingConf = path.join(dir, 'nonexistent.conf');
  const table: Array<[string[], string]> = [
    [['--datadir', '/proc/nope'], 'cannot create /proc/nope/regtest: /proc does not accept new folders (ENOENT)'],
    [['--datadir', notDir], `--datadir ${notDir} is not a directory.`],
    [['--datadir', path.join(notDir, 'x')], `--datadir ${path.join(notDir, 'x')}: a parent folder is not a directory.`],
    [['--datadir', dir, '--conf', missingConf], `--conf ${missingConf}: the specified config file does not exist.`],
    [['--datadir', dir, '--conf', dir], `Cannot read ${dir}: it is a directory, not a config file`],
    [['--datadir', dir, '--log-level', 'chatty'], '--log-level must be one of none, error, warning, info, debug, spam, got "chatty".'],
    [['--datadir', dir, '--extension', '/nonexistent.js'], 'Cannot load extension /nonexistent.js: no such file']
  ];
  for (const [args, want] of table) {
    const r = await run(args);
    t.equal(r.code, 1, `${args.join(' ')}: exit 1`);
    t.equal(r.stderr, `cloudcoind: ${want}\n`, `${args.join(' ')}: one line`);
  }
  // Warnings come first, then the error; several idle host flags are named together.
  // (--host-url and the file server's flags are refused without --host: they would leave data unserved.)
  const r = await run(['--datadir', '/proc/nope', '--host-capacity', '1GB', '--host-storage-price', '200']);
  t.equal(r.stderr, 'cloudcoind: warning: --host-capacity, --host-storage-price have no effect without --host\n'
    + 'cloudcoind: cannot create /proc/nope/regtest: /proc does not accept new folders (ENOENT)\n');
  t.notOk(fs.existsSync(path.join(dir, 'regtest')), 'nothing made for a refused start');
});

t.test('a plain RPC command loads no storage data path, leveldb or wasm', async (t) => {
  // Every cloudcoin-cli run pays its start: the renter's data path, the
  // datadir lock's native leveldown and the Reed-Solomon wasm load only
  // when a command uses them.
  const src = path.join(__dirname, '..', 'lib', 'cli', 'cloudcoincli.ts');
  const code = `require(${JSON.stringify(src)}).main(${JSON.stringify([...NO_NODE, 'getblockcount'])})`
    + `.then(() => console.log(JSON.stringify(Object.keys(require.cache))))`;
  const out = await new Promise<string>((resolve, reject) => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    execFile(process.execPath, ['--import', 'tsx', '-e', code], { env }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
  const loaded: string[] = JSON.parse(out.trim().split('\n').pop()!);
  t.ok(loaded.some((f) => f.endsWith('cloudcoincli.ts')), 'the CLI ran');
  for (const m of ['leveldown', 'wasm-reed-solomon-erasure', 'renterclient', 'fileserverclient', 'bcoin', 'bcrypto'])
    t.notOk(loaded.some((f) => f.includes(`${path.sep}${m}`)), `${m} not loaded`);
});
