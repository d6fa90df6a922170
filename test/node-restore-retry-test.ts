// A restore whose first start fails after the wallet was written (here:
// its P2P port is taken) can be run again with the same command: the
// wallet made from the same seed is kept; any other seed is refused.
import t from 'tap';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import bcoin = require('../lib/bcoin');
import { DaemonProcess, tempDir } from './util/nodes-context';
import { freePorts } from '../lib/node/ports';

function seedFile(dir: string, name: string): { file: string; phrase: string } {
  const phrase = new bcoin.Mnemonic().getPhrase();
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${phrase}\n`, { mode: 0o600 });
  return { file, phrase };
}

t.test('a restore that failed to start is run again with the same seed', async (t) => {
  const work = tempDir();
  const [taken, rpcPort] = await freePorts(2);
  const blocker = net.createServer();
  await new Promise<void>(resolve => blocker.listen(taken, '127.0.0.1', resolve));
  const daemon = new DaemonProcess(tempDir(), taken, rpcPort);
  t.teardown(async () => {
    blocker.close();
    await daemon.stop('SIGKILL');
    daemon.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const seed = seedFile(work, 'seed.txt');
  const other = seedFile(work, 'other.txt');

  // The first attempt meets the taken port after the wallet is written;
  // start() then retries the same command on fresh ports.
  await daemon.start(['--restore-mnemonic-file', seed.file]);
  t.not(daemon.port, taken, 'the retry ran on another port');
  const dumped = path.join(work, 'dumped.txt');
  await daemon.client().call('dumpmnemonic', [dumped]);
  t.equal(fs.readFileSync(dumped, 'utf8').trim(), seed.phrase, 'the wallet holds the restored seed');
  await daemon.stop();

  await t.rejects(daemon.start(['--restore-mnemonic-file', other.file]), /already has a wallet/,
    'another seed never replaces the wallet');
  await daemon.start(['--restore-mnemonic-file', seed.file]);
  t.pass('the same seed starts again');
});

t.test('a blank seed file is refused, not taken as "make a new wallet"', async (t) => {
  const work = tempDir();
  const daemon = await DaemonProcess.create();
  t.teardown(async () => {
    await daemon.stop('SIGKILL');
    daemon.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const blank = path.join(work, 'blank.txt');
  fs.writeFileSync(blank, '  \n\n', { mode: 0o600 });
  await t.rejects(daemon.start(['--restore-mnemonic-file', blank]), /holds no words/, 'a blank file');
  await t.rejects(daemon.start(['--restore-mnemonic-file', '']), /--restore-mnemonic-file/, 'an empty flag value');
  const seed = seedFile(work, 'seed.txt');
  await daemon.start(['--restore-mnemonic-file', seed.file]);
  const dumped = path.join(work, 'dumped.txt');
  await daemon.client().call('dumpmnemonic', [dumped]);
  t.equal(fs.readFileSync(dumped, 'utf8').trim(), seed.phrase, 'no wallet was made before: the real restore goes through');
});
