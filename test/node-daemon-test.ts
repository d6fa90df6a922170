// cloudcoind + cloudcoin-cli as a user runs them: real processes, on disk.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { execFile } from 'child_process';
import { CLOUDCOIND, DaemonProcess, runCLI, tempDir } from './util/nodes-context';

t.test('cloudcoind', async (t) => {
  const d = await DaemonProcess.create();
  t.teardown(async () => {
    await d.stop('SIGKILL');
    d.cleanup();
  });

  await t.test('should start on regtest and print where it is', async (t) => {
    await d.start();
    t.match(d.stdout, /network:\s+regtest/);
    t.match(d.stdout, new RegExp(`p2p:\\s+127\\.0\\.0\\.1:${d.port}`));
    t.match(d.stdout, new RegExp(`rpc:\\s+127\\.0\\.0\\.1:${d.rpcPort}`));
    t.ok(fs.existsSync(path.join(d.datadir, '.cookie')), 'cookie written');
    const r = await d.cli(['getblockcount']);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, '0\n');
  });

  let address = '';
  await t.test('should mine 101 blocks to a wallet address through cloudcoin-cli', async (t) => {
    const a = await d.cli(['getnewaddress']);
    t.equal(a.code, 0, a.stderr);
    address = a.stdout.trim();
    t.match(address, /^rb1q/, 'a witness address, printed raw');
    const g = await d.cli(['generatetoaddress', '101', address]);
    t.equal(g.code, 0, g.stderr);
    t.equal((JSON.parse(g.stdout) as string[]).length, 101);
    t.equal((await d.cli(['getblockcount'])).stdout, '101\n');
  });

  let hash50 = '';
  await t.test('should survive SIGTERM and restart with chain and wallet intact', async (t) => {
    hash50 = (await d.cli(['getblockhash', '50'])).stdout.trim();
    const balance = Number((await d.cli(['getbalance'])).stdout);
    t.ok(balance > 0, 'wallet has a balance');
    t.equal(await d.stop('SIGTERM'), 0, 'clean exit');
    t.notOk(fs.existsSync(path.join(d.datadir, '.cookie')), 'cookie removed at stop');
    await d.start();
    t.equal((await d.cli(['getblockcount'])).stdout, '101\n');
    // Range scans on disk (the leveldown trap): hashes and tips must be there.
    t.equal((await d.cli(['getblockhash', '50'])).stdout.trim(), hash50);
    const tips = JSON.parse((await d.cli(['getchaintips'])).stdout) as Array<{ height: number; status: string }>;
    t.same(tips.map((x) => [x.height, x.status]), [[101, 'active']]);
    t.equal(Number((await d.cli(['getbalance'])).stdout), balance, 'wallet balance after restart');
    const again = await d.cli(['getnewaddress']);
    t.equal(again.code, 0, 'wallet accounts readable after restart');
  });

  await t.test('should close cleanly on two SIGTERMs at once, as bitcoind (coreutils timeout sends two)', async (t) => {
    const proc = d.proc!;
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    proc.kill('SIGTERM');
    t.equal(await exited, 0, 'a clean exit');
    t.match(d.stdout, /cloudcoind: stopped/, 'after closing');
    t.notMatch(d.stderr, /forced exit/);
    await d.start();
    t.equal((await d.cli(['getblockcount'])).stdout, '101\n', 'and starts again');
  });

  await t.test('should answer help grouped as bitcoin-cli does', async (t) => {
    const r = await d.cli(['help']);
    t.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const groups = lines.filter((l) => /^== .+ ==$/.test(l));
    for (const g of ['Blockchain', 'Control', 'Generating', 'Network', 'Wallet', 'Storage', 'Contracts', 'Negotiator', 'Hosting'])
      t.ok(groups.includes(`== ${g} ==`), `has == ${g} ==`);
    t.same(groups, [...groups].sort(), 'groups in name order');
    const under = (g: string): string[] => {
      const at = lines.indexOf(`== ${g} ==`);
      const end = lines.findIndex((l, i) => i > at && l === '');
      return lines.slice(at + 1, end < 0 ? undefined : end);
    };
    const names = (g: string) => under(g).map((l) => l.split(' ')[0]);
    t.ok(names('Blockchain').includes('getblockcount'));
    t.ok(under('Blockchain').includes('getblockhash index'), 'usage lines, not bare names');
    t.ok(names('Wallet').includes('sendtoaddress'));
    t.ok(names('Generating').includes('generatetoaddress'));
    t.ok(names('Control').includes('stop'));
    for (const cmd of ['put', 'get', 'ls', 'negotiate-storage', 'getstorageinfo'])
      t.ok(names('Storage').includes(cmd), `Storage lists ${cmd}`);
    t.ok(names('Contracts').includes('getcontract'));
    t.match(r.stdout, /cloudcoin-cli commands \(not RPC methods\)/);
    const one = await d.cli(['help', 'getblockhash']);
    t.match(one.stdout, /^getblockhash/, 'help METHOD');
  });

  await t.test('should send to an address (wallet method via the one endpoint)', async (t) => {
    const to = (await d.cli(['getnewaddress'])).stdout.trim();
    const r = await d.cli(['sendtoaddress', to, '1.5']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout.trim(), /^[0-9a-f]{64}$/);
  });

  await t.test('should print one line and exit non-zero on each user error', async (t) => {
    const wrongKey = path.join(d.base, 'wrong.key');
    fs.writeFileSync(wrongKey, 'wrong\n');
    const cases: Array<[string, string[], string[], RegExp]> = [
      ['unknown method', ['nosuchmethod'], [], /Method not found/],
      ['bad params', ['getblockhash', '-1'], [], /^error: Position 1 \(index\) must be a uint\. \(code -3\)\n$/],
      ['not a number', ['getblockhash', 'abc'], [], /Position 1 of getblockhash must be JSON/],
      ['wrong key', ['getblockcount'], ['--api-key-file', wrongKey], /authorization failed/],
      ['node not running', ['getblockcount'], ['--rpcport', '1'], /cannot connect|cookie/]
    ];
    for (const [name, args, extra, re] of cases) {
      const r = await d.cli(args, extra);
      t.not(r.code, 0, `${name}: non-zero exit`);
      t.equal(r.stdout, '', `${name}: nothing on stdout`);
      t.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line`);
      t.match(r.stderr, re, name);
    }
    const none = await runCLI(['--regtest', '--datadir', '/nonexistent-cc', 'getblockcount']);
    t.not(none.code, 0);
    t.equal(none.stderr.trim().split('\n').length, 1);
  });

  await t.test('should stop on the stop RPC', async (t) => {
    const r = await d.cli(['stop']);
    t.equal(r.code, 0);
    const code = await new Promise<number | null>((resolve) => {
      if (d.proc && d.proc.exitCode === null)
        d.proc.on('exit', (c) => resolve(c));
      else
        resolve(d.proc ? d.proc.exitCode : 0);
    });
    t.equal(code, 0);
  });
});

t.test('cloudcoind flags', async (t) => {
  await t.test('should reject bad flags with one line and exit 1', async (t) => {
    const base = tempDir();
    t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
    const bad = [['--rpcport', 'x'], ['--network', 'nope'], ['--connect', 'nohostport'], ['--bogus'],
      ['--regtest', '--testnet'], ['--host-storage-price', 'cheap'], ['--host-storage-price', '-1'], ['--fileserver', 'http://x']];
    for (const args of bad) {
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLOUDCOIND, '--regtest', '--datadir', base, ...args], { timeout: 30000 },
          (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
      });
      t.equal(r.code, 1, `${args.join(' ')}: exit 1`);
      t.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line (${r.stderr.trim()})`);
      // A bad value is echoed, so the user sees what was read.
      if (['--rpcport', '--connect', '--host-storage-price'].includes(args[0]))
        t.match(r.stderr, `"${args[1]}"`, `${args.join(' ')}: names the value`);
    }
  });

  await t.test('should read cloudcoin.conf with per-network sections', async (t) => {
    const d = await DaemonProcess.create();
    t.teardown(async () => {
      await d.stop('SIGKILL');
      d.cleanup();
    });
    fs.writeFileSync(path.join(d.base, 'cloudcoin.conf'), '# test\n[regtest]\napi-key=fromconf\n[main]\napi-key=nope\n');
    await d.start();
    t.match(d.stdout, /\(api key\)/);
    // cloudcoin-cli reads the same conf, as bitcoin-cli does.
    const r = await d.cli(['getblockcount']);
    t.equal(r.stdout, '0\n', r.stderr);
    t.equal(r.stderr, '', 'no warning: the key was not on the command line');
  });
});
