// Wallet encryption as a bitcoind operator uses it, on a renter and a host
// that keep working: encryptwallet / walletpassphrase / walletlock /
// walletpassphrasechange through cloudcoin-cli, spending refused while
// locked, the node's own keys (identity, escrows, file keys) working
// locked, and an encrypted node starting only with its passphrase.
import t, { type Test } from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import bcoin = require('../lib/bcoin');
import { runCLI, tempDir, type CLIResult } from './util/nodes-context';
import { forCloudPeer, identity, json, mine, startNetwork } from './util/network';
import { forValue } from './util/wait';

const UNLOCK = /^error: Please enter the wallet passphrase with walletpassphrase first\. \(code -13\)\n$/;

/** Every file under `dir`, read whole. */
function filesUnder(dir: string): Buffer[] {
  const out: Buffer[] = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (ent.isFile())
      out.push(fs.readFileSync(path.join(ent.parentPath, ent.name)));
  }
  return out;
}

function oneLine(t: Test, r: CLIResult, re: RegExp, what: string): void {
  t.equal(r.code, 1, `${what}: exit 1`);
  t.match(r.stderr, re, what);
  t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
}

t.test('wallet encryption', async (t) => {
  const { renter, hosts: [host] } = await startNetwork(t, [[]]);
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const file = path.join(work, 'notes.txt');
  fs.writeFileSync(file, 'encrypted wallets still store files\n'.repeat(1000));

  await t.test('should encrypt the wallet and leave no clear key in its files', async (t) => {
    const words = path.join(work, 'renter.words');
    await json(renter.cli(['dumpmnemonic', words]));
    const mnemonic = new bcoin.Mnemonic(fs.readFileSync(words, 'utf8').trim()) as bcoin.Mnemonic & { entropy: Buffer };
    const master = (bcoin as unknown as { HDPrivateKey: { fromMnemonic(m: bcoin.Mnemonic): bcoin.HDPrivateKey } })
      .HDPrivateKey.fromMnemonic(mnemonic);
    const secrets = [master.privateKey, mnemonic.entropy];
    const holds = () => filesUnder(path.join(renter.datadir, 'wallet')).some((f) => secrets.some((s) => f.includes(s)));
    t.ok(holds(), 'before: the master key is in the wallet files in the clear');
    const clear = await json<Record<string, unknown>>(renter.cli(['getwalletinfo']));
    t.notOk('unlocked_until' in clear, 'a clear wallet has no unlocked_until, as bitcoind');

    const r = await renter.cli(['encryptwallet', 'renter pass']);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /^wallet encrypted; cloudcoind needs the passphrase at its next start/);
    t.notOk(holds(), 'after: neither the master key nor the seed is left in the files');
    t.equal((await json<{ unlocked_until: number }>(renter.cli(['getwalletinfo']))).unlocked_until, 0, 'locked');
    oneLine(t, await renter.cli(['encryptwallet', 'again']), /code -15/, 'encrypting twice');
    oneLine(t, await renter.cli(['dumpmnemonic', path.join(work, 'x')]), UNLOCK, 'no mnemonic dump while locked');
  });

  await t.test('should need walletpassphrase to spend, as bitcoind', async (t) => {
    const addr = (await renter.cli(['getnewaddress'])).stdout.trim();
    t.match(addr, /^rb1q/, 'new addresses while locked');
    const spend: Array<[string, string[]]> = [
      ['sendtoaddress', ['sendtoaddress', addr, '1']],
      ['dumpprivkey', ['dumpprivkey', addr]],
      ['signmessage', ['signmessage', addr, 'hello']]
    ];
    for (const [what, args] of spend)
      oneLine(t, await renter.cli(args), UNLOCK, `${what} while locked`);
    oneLine(t, await renter.cli(['walletpassphrase', 'wrong', '60']),
      /^error: The wallet passphrase entered was incorrect\. \(code -14\)\n$/, 'a wrong passphrase');
    t.equal((await renter.cli(['walletpassphrase', 'renter pass', '60'])).code, 0, 'unlocked');
    // As bitcoind's dumpwallet: the seed of an encrypted wallet, once unlocked.
    const unlockedWords = path.join(work, 'unlocked.words');
    t.equal((await renter.cli(['dumpmnemonic', unlockedWords])).code, 0, 'dumpmnemonic once unlocked');
    t.equal(fs.readFileSync(unlockedWords, 'utf8'), fs.readFileSync(path.join(work, 'renter.words'), 'utf8'), 'the same seed');
    const until = (await json<{ unlocked_until: number }>(renter.cli(['getwalletinfo']))).unlocked_until;
    t.ok(until > Date.now() / 1000 && until <= Date.now() / 1000 + 61, 'unlocked_until is the unlock\'s end');
    const sent = await renter.cli(['sendtoaddress', addr, '1']);
    t.match(sent.stdout, /^[0-9a-f]{64}\n$/, `spends once unlocked (${sent.stderr.trim()})`);
    t.equal((await renter.cli(['walletlock'])).code, 0);
    oneLine(t, await renter.cli(['sendtoaddress', addr, '1']), UNLOCK, 'locked again');

    // bitcoin-cli's -stdin* flags: secrets never on the command line.
    const viaStdin = (args: string[], input: string) => runCLI(renter.cliArgs(args), 120000, input);
    oneLine(t, await viaStdin(['-stdinwalletpassphrase', 'walletpassphrase', '60'], 'wrong\n'), /code -14/,
      'a wrong passphrase from stdin');
    oneLine(t, await viaStdin(['-stdinwalletpassphrase', 'walletpassphrase', '60'], ''),
      /^error: standard input ended before the wallet passphrase\n$/, 'stdin ended early');
    const unlocked = await viaStdin(['-stdinwalletpassphrase', 'walletpassphrase', '60'], 'renter pass\n');
    t.equal(unlocked.code, 0, `unlocked with the passphrase from stdin ${unlocked.stderr}`);
    const signed = await viaStdin(['-stdin', 'signmessage'], `${addr}\nnull\n`);
    t.equal(signed.code, 0, signed.stderr);
    t.equal((await renter.cli(['verifymessage', addr, signed.stdout.trim(), 'null'])).stdout.trim(), 'true',
      'params from stdin, each line as typed');
    const cookie = fs.readFileSync(path.join(renter.datadir, '.cookie'), 'utf8').split(':')[1];
    const count = await viaStdin(['-rpcuser=__cookie__', '-stdinrpcpass', 'getblockcount'], `${cookie}\n`);
    t.match(count.stdout, /^\d+\n$/, `the RPC password from stdin ${count.stderr}`);
    oneLine(t, await viaStdin(['-rpcuser=__cookie__', '-stdinrpcpass', 'getblockcount'], 'nope\n'), /^error: authorization failed/,
      'a wrong RPC password from stdin');
    t.equal((await renter.cli(['walletlock'])).code, 0);

    t.equal((await renter.cli(['walletpassphrasechange', 'renter pass', 'renter pass 2'])).code, 0, 'passphrase changed');
    oneLine(t, await renter.cli(['walletpassphrase', 'renter pass', '60']), /code -14/, 'the old passphrase is refused');
    // While unlocked, bcoin took any passphrase: bitcoind checks it every time.
    t.equal((await renter.cli(['walletpassphrase', 'renter pass 2', '60'])).code, 0, 'unlocked with the new passphrase');
    oneLine(t, await renter.cli(['walletpassphrase', 'renter pass', '60']), /code -14/, 'the old passphrase is refused while unlocked');
    oneLine(t, await renter.cli(['walletpassphrase', 'nope', '60']), /code -14/, 'a wrong one is refused while unlocked');
    t.equal((await renter.cli(['walletlock'])).code, 0);
    oneLine(t, await renter.cli(['walletpassphrasechange', 'nope', 'x']), /code -14/, 'change with a wrong one');
    oneLine(t, await host.cli(['walletlock']), /not encrypted.*code -15/, 'walletlock on a clear wallet');
  });

  await t.test('should refuse a put up front while the renter cannot pay', async (t) => {
    const r = await renter.cli(['put', file, '--hosts', '1']);
    oneLine(t, r, /-stdinwalletpassphrase walletpassphrase SECONDS/, 'put while locked: the unlock without the passphrase on the command line');
    const [backend] = await json<Array<{ used: number }>>(host.cli(['getfileservers']));
    t.equal(backend.used, 0, 'the host stored nothing');
  });

  let fileId = '';
  const hostId = await identity(host);
  await t.test('should store and serve with both wallets locked but for the payment', async (t) => {
    const enc = await host.cli(['encryptwallet', 'host pass']);
    t.equal(enc.code, 0, enc.stderr);
    t.equal(await identity(host), hostId, 'the host keeps its identity');
    t.equal((await renter.cli(['walletpassphrase', 'renter pass 2', '600'])).code, 0);
    const put = await json<{ fileId: string }>(renter.cli(['put', file, '--hosts', '1', '--no-wait', '--json']));
    fileId = put.fileId;
    t.equal((await renter.cli(['walletlock'])).code, 0, 'the renter locks once it has paid');
    await mine(renter);
    // A revision of the open contract pays nothing new: the node signs it with the escrow key it holds.
    const more = path.join(work, 'more.txt');
    fs.writeFileSync(more, 'a second file, by revision\n'.repeat(100));
    const rev = await json<{ contracts: Array<{ reused: boolean }> }>(renter.cli(['put', more, '--hosts', '1', '--no-wait', '--json']));
    t.same(rev.contracts.map((c) => c.reused), [true], 'a put by revision while locked');
    const out = path.join(work, 'back.txt');
    // File keys and the host's signatures come from keys the nodes hold.
    await forValue(async () => (await renter.cli(['get', fileId, out])).code, 0, 60000, 'get with both wallets locked');
    t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'the file comes back');
  });

  await t.test('should start an encrypted node only with its passphrase', async (t) => {
    t.equal(await host.stop(), 0);
    await forCloudPeer(renter, hostId, false, 60000, 'the host gone');
    const refused: Array<[string, string[], Record<string, string>, RegExp]> = [
      ['no passphrase', [], {}, /^cloudcoind: cannot start: the wallet is encrypted: .*wallet-passphrase-file=FILE in cloudcoin\.conf/],
      ['a wrong one', [], { CLOUDCOIN_WALLET_PASSPHRASE: 'wrong' }, /^cloudcoind: cannot start: the wallet passphrase given at start is wrong\n$/]
    ];
    const log = path.join(host.datadir, 'debug.log');
    for (const [what, args, env, re] of refused) {
      const from = fs.statSync(log).size;
      Object.assign(process.env, env);
      try {
        await t.rejects(host.start(['--connect', renter.addr, ...args]), /exited with 1/, `${what}: exit 1`);
      } finally {
        for (const k of Object.keys(env))
          delete process.env[k];
      }
      t.match(host.stderr, re, what);
      t.equal(host.stderr.trim().split('\n').length, 1, `${what}: one line`);
      // Refused as soon as the wallet's database is open: no RPC port, no wallet scan or rebroadcast, nothing in flight at the exit.
      const said = fs.readFileSync(log).subarray(from).toString();
      t.match(said, /Chain is loading/, `${what}: debug.log has this start`);
      t.notMatch(said, /HTTP server listening|WalletDB is scanning|Resending from|Database is closed|\n\s+at /,
        `${what}: refused before the RPC port opens and the wallet syncs`);
    }
    const pass = path.join(work, 'host.pass');
    fs.writeFileSync(pass, 'host pass\n', { mode: 0o600 });
    await host.start(['--connect', renter.addr, '--wallet-passphrase-file', pass]);
    t.equal(host.stderr, '', 'no warning: the passphrase came from a file');
    t.equal(await identity(host), hostId, 'the same identity');
    oneLine(t, await host.cli(['sendtoaddress', (await host.cli(['getnewaddress'])).stdout.trim(), '1']), UNLOCK,
      'the wallet itself is locked');
    await forCloudPeer(renter, hostId, true, 60000, 'the host back');
    const out = path.join(work, 'again.txt');
    await forValue(async () => (await renter.cli(['get', fileId, out])).code, 0, 60000, 'get from the restarted host');
    t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)));
  });
});
