// cloudcoin-cli and cloudcoind as a user types them: help for every
// command, bitcoin-cli style single-dash flags, and secrets from a file,
// the environment or cloudcoin.conf instead of the command line.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { parseDaemonArgs } from '../lib/cli/cloudcoind';
import { definitionOf } from '../lib/cli/clihelp';
import { cliCommands as storageCommands } from '../lib/cli/cloudcoincli';
import { ROOT, DaemonProcess, runCLI, tempDir } from './util/nodes-context';
import { forValue } from './util/wait';

/** Run `fn` with environment variables set, restoring them after. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T> | T): Promise<T> {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(old)) {
      if (v === undefined)
        delete process.env[k];
      else
        process.env[k] = v;
    }
  }
}

t.test('cloudcoin-cli help', async (t) => {
  const commands = Object.keys(storageCommands);
  t.ok(commands.includes('put') && commands.includes('get') && commands.includes('ls'), 'the CLI commands exist');

  await t.test('should advertise in --help only flags that exist', async (t) => {
    const r = await runCLI(['--help']);
    t.equal(r.code, 0);
    const top = new Set((/Options:\n([\s\S]*?)\n\n/.exec(r.stdout)?.[1] ?? '').match(/--[a-z][a-z-]*/g));
    t.ok(top.has('--regtest') && top.has('--api-key-file'), 'its own options are listed');
    // Usage lines wrap at 80 columns: a command's usage is its line and the deeper-indented lines after it.
    const usages = r.stdout.replace(/\n {4,}/g, ' ').split('\n');
    t.ok(r.stdout.split('\n').every((l) => l.length <= 80), 'no line wider than 80 columns');
    for (const name of commands) {
      const line = usages.find((l) => l.trim().startsWith(`${name} `) || l.trim() === name);
      t.ok(line, `--help lists ${name}`);
      const cmd = definitionOf(storageCommands[name]);
      const real = new Set(cmd!.options.map((o) => o.long));
      for (const flag of line!.match(/--[a-z][a-z-]*/g) ?? [])
        t.ok(real.has(flag), `${name} ${flag} exists`);
    }
    // No flag anywhere in the text that neither the CLI nor a command has.
    const all = new Set([...top, ...commands.flatMap((n) => definitionOf(storageCommands[n])!.options.map((o) => o.long!))]);
    for (const flag of new Set(r.stdout.match(/--[a-z][a-z-]*/g)))
      t.ok(all.has(flag), `${flag} exists`);
  });

  await t.test('should show each storage command\'s help without a node', async (t) => {
    for (const name of commands) {
      for (const args of [['help', name], [name, '--help']]) {
        const r = await runCLI(['--regtest', '--datadir', '/nonexistent-cc', ...args]);
        t.equal(r.code, 0, `${args.join(' ')}: exit 0 (${r.stderr.trim()})`);
        t.match(r.stdout, new RegExp(`^Usage: ${name} `), `${args.join(' ')}: its usage`);
      }
    }
  });
});

t.test('cloudcoind secrets and flags (parsed, not started)', async (t) => {
  const base = tempDir();
  t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
  const keyFile = path.join(base, 'key.txt');
  fs.writeFileSync(keyFile, 'fromfile\n');
  fs.mkdirSync(path.join(base, 'keys'));
  fs.writeFileSync(path.join(base, 'keys', 'conf.key'), 'fromconffile\r\n');
  const parse = (args: string[], conf = '', env: Record<string, string> = {}) => {
    fs.writeFileSync(path.join(base, 'cloudcoin.conf'), conf);
    return withEnv(env, () => parseDaemonArgs(['-regtest', `-datadir=${base}`, ...args]));
  };
  const FS = ['--host', '--fileserver', 'http://127.0.0.1:1'];
  const hex = randomBytes(32).toString('hex');
  const hexFile = path.join(base, 'fs.key');
  fs.writeFileSync(hexFile, `${hex}\n`);

  // [what, args, conf, env, the api key the node gets (null: a cookie), warns]
  const table: Array<[string, string[], string, Record<string, string>, string | null, boolean]> = [
    ['none: the cookie', [], '', {}, null, false],
    ['a flag, with a warning', ['--api-key', 'fromflag'], '', {}, 'fromflag', true],
    ['a single-dash flag', ['-api-key=fromflag'], '', {}, 'fromflag', true],
    ['a file', ['--api-key-file', keyFile], '', {}, 'fromfile', false],
    ['the environment', [], '', { CLOUDCOIN_API_KEY: 'fromenv' }, 'fromenv', false],
    ['the conf', [], 'api-key=fromconf\n', {}, 'fromconf', false],
    ['a conf file path, relative to the datadir', [], '[regtest]\napi-key-file=keys/conf.key\n', {}, 'fromconffile', false],
    ['the flag over the environment', ['--api-key', 'fromflag'], '', { CLOUDCOIN_API_KEY: 'fromenv' }, 'fromflag', true],
    ['the environment over the conf', [], 'api-key=fromconf\n', { CLOUDCOIN_API_KEY: 'fromenv' }, 'fromenv', false]
  ];
  for (const [what, args, conf, env, want, warns] of table) {
    const parsed = await parse(args, conf, env);
    t.equal(parsed.node.cookieFile === null ? parsed.node.apiKey : null, want, what);
    t.equal(parsed.warnings.length > 0, warns, `${what}: ${warns ? 'warns' : 'no warning'}`);
    if (warns)
      t.match(parsed.warnings[0], /--api-key on the command line is visible .*--api-key-file FILE, CLOUDCOIN_API_KEY or api-key= in cloudcoin\.conf/);
  }

  // An extension's secret (hosting's --fileserver-key) gets the same sources.
  const fsTable: Array<[string, string[], string, Record<string, string>, boolean]> = [
    ['flag', [...FS, '--fileserver-key', hex], '', {}, true],
    ['file', [...FS, '--fileserver-key-file', hexFile], '', {}, false],
    ['environment', FS, '', { CLOUDCOIN_FILESERVER_KEY: hex }, false],
    ['conf', FS, `fileserver-key-file=${hexFile}\n`, {}, false]
  ];
  for (const [what, args, conf, env, warns] of fsTable) {
    const parsed = await parse(args, conf, env);
    t.equal(parsed.node.config.str('fileserver-key'), hex, `fileserver key from the ${what}`);
    t.equal(parsed.warnings.some((w) => w.startsWith('--fileserver-key on the command line')), warns, `${what}: warning`);
  }

  const bad: Array<[string, string[], RegExp]> = [
    ['a missing file', ['--api-key-file', path.join(base, 'nope')], /cannot read --api-key-file .*: no such file/],
    ['an empty file', ['--api-key-file', '/dev/null'], /--api-key-file \/dev\/null is empty/],
    ['both', ['--api-key', 'a', '--api-key-file', keyFile], /give --api-key or --api-key-file, not both/],
    ['a misspelt single-dash flag', ['-regtset'], /unknown option '-regtset'/]
  ];
  for (const [what, args, re] of bad)
    await t.rejects(parse(args), re, what);
});

t.test('secrets and single-dash flags as a user runs them', async (t) => {
  const d = await DaemonProcess.create();
  t.teardown(async () => {
    await d.stop('SIGKILL');
    d.cleanup();
  });
  const key = randomBytes(16).toString('hex');
  // The key reaches the daemon through its environment: nothing in ps.
  await withEnv({ CLOUDCOIN_API_KEY: key }, () => d.start());
  t.equal(d.stderr, '', 'no warning');
  const cmdline = fs.readFileSync(`/proc/${d.proc!.pid}/cmdline`, 'utf8');
  t.notOk(cmdline.includes(key), 'the key is not in /proc/PID/cmdline');

  const keyFile = path.join(d.base, 'rpc.key');
  fs.writeFileSync(keyFile, `${key}\n`);
  const dash = ['-regtest', `-datadir=${d.base}`, `-rpcport=${d.rpcPort}`];
  // [how, args, env, warns]
  const table: Array<[string, string[], Record<string, string>, boolean]> = [
    ['--api-key-file', ['--api-key-file', keyFile], {}, false],
    ['-api-key-file=', [`-api-key-file=${keyFile}`], {}, false],
    ['CLOUDCOIN_API_KEY', [], { CLOUDCOIN_API_KEY: key }, false],
    ['--api-key (warns)', ['--api-key', key], {}, true]
  ];
  for (const [how, args, env, warns] of table) {
    const r = await withEnv(env, () => runCLI([...dash, ...args, 'getblockcount']));
    t.equal(r.stdout, '0\n', `${how}: answered (${r.stderr.trim()})`);
    if (warns)
      t.match(r.stderr, /^warning: --api-key on the command line is visible to every user/, `${how}: one warning line`);
    else
      t.equal(r.stderr, '', `${how}: nothing on stderr`);
  }
  // cloudcoin.conf, read by the CLI as by the daemon.
  fs.writeFileSync(path.join(d.base, 'cloudcoin.conf'), `[regtest]\napi-key-file=rpc.key\nrpcport=${d.rpcPort}\n`);
  const conf = await runCLI(['-regtest', `-datadir=${d.base}`, 'getblockcount']);
  t.equal(conf.stdout, '0\n', `conf: port and key from cloudcoin.conf (${conf.stderr.trim()})`);
  fs.rmSync(path.join(d.base, 'cloudcoin.conf'));
  const none = await runCLI([...dash, 'getblockcount']);
  t.equal(none.code, 1, 'no key anywhere: the CLI looks for a cookie, and there is none');
  t.match(none.stderr, /cannot read the RPC cookie/);
});

t.test('cloudcoin-fileserver admin key', async (t) => {
  const dir = tempDir('cc-fs-key-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const key = randomBytes(32).toString('hex');
  const keyFile = path.join(dir, 'admin.hex');
  fs.writeFileSync(keyFile, `${key}\n`);
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'cloudcoin-fileserver'), '--data-dir', path.join(dir, 'data'),
      '--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    proc.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    await forValue(() => out, (o) => /listening on/.test(o), 60000, 'the file server listening');
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('close', r));
    return { out, err };
  };
  const table: Array<[string, string[], Record<string, string>, boolean]> = [
    ['--admin-key-file', ['--admin-key-file', keyFile], {}, false],
    ['CLOUDCOIN_ADMIN_KEY', [], { CLOUDCOIN_ADMIN_KEY: key }, false],
    ['--admin-key (warns)', ['--admin-key', key], {}, true]
  ];
  for (const [how, args, env, warns] of table) {
    const r = await run(args, env);
    t.notMatch(r.out, /admin key \(stored/, `${how}: the given key is used, none created`);
    t.equal(/warning: --admin-key on the command line/.test(r.err), warns, `${how}: ${warns ? 'warns' : 'quiet'}`);
  }
  t.notOk(fs.existsSync(path.join(dir, 'data', 'admin.key')), 'no key file was made');
});
