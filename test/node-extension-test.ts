// The extension interface, exercised with examples/hello-extension.js across two daemons.
import t from 'tap';
import * as path from 'path';
import { DaemonProcess, ROOT } from './util/nodes-context';
import { forValue } from './util/wait';
import { loadExtension, asExtension, type ExtensionCode } from '../lib/cli/extensions';

const HELLO = path.join(ROOT, 'examples', 'hello-extension.js');

t.test('extension loading', async (t) => {
  t.test('should reject modules that are not extensions', async (t) => {
    const cases: Array<[ExtensionCode, () => unknown]> = [
      ['no-exports', () => asExtension(null, 'x')],
      ['bad-id', () => asExtension({}, 'x')],
      ['bad-id', () => asExtension({ id: 'Bad Id', init() {} }, 'x')],
      ['no-init', () => asExtension({ id: 'a' }, 'x')],
      ['bad-options', () => asExtension({ id: 'a', init() {}, options: 1 }, 'x')],
      ['load-failed', () => loadExtension('/nonexistent/ext.js')]
    ];
    for (const [code, fn] of cases)
      t.throws(fn, { name: 'ExtensionError', code }, code);
    t.equal(loadExtension(HELLO).id, 'hello');
  });
});

t.test('hello extension in two cloudcoind processes', async (t) => {
  const a = await DaemonProcess.create(['--extension', HELLO, '--hello-greeting', 'hi']);
  const b = await DaemonProcess.create(['--extension', HELLO]);
  t.teardown(async () => {
    await a.stop('SIGKILL');
    await b.stop('SIGKILL');
    a.cleanup();
    b.cleanup();
  });
  await a.start();
  await b.start(['--connect', a.addr]);
  t.match(a.stdout, /extensions:.*hello/);

  await t.test('should advertise the service bit to the peer', async (t) => {
    // The services a's version packet gave (listed before it as 0): a by address, its version in.
    type PeerInfo = { addr: string; version: number; services: string };
    const peerA = (ps: PeerInfo[]) => ps.find((p) => p.addr === a.addr && p.version !== -1);
    const peers = await forValue(async () => JSON.parse((await b.cli(['getpeerinfo'])).stdout) as PeerInfo[],
      (ps) => peerA(ps) !== undefined, 20000, 'a\'s version at b');
    const services = peerA(peers)!.services;
    t.ok((parseInt(services, 16) & (1 << 25)) !== 0, `services ${services}`);
  });

  await t.test('should exchange custom packets and answer its RPC', async (t) => {
    const r = await b.cli(['hellosend', a.addr, 'bob']);
    t.equal(r.code, 0, r.stderr);
    await forValue(async () => JSON.parse((await b.cli(['hellocount'])).stdout).hellos, 1, 20000, 'ack at b');
    t.equal(JSON.parse((await a.cli(['hellocount'])).stdout).hellos, 1, 'hello at a');
  });

  await t.test('should run chain hooks for connected blocks', async (t) => {
    const addr = (await a.cli(['getnewaddress'])).stdout.trim();
    await a.cli(['generatetoaddress', '3', addr]);
    await forValue(async () => JSON.parse((await a.cli(['hellocount'])).stdout).blocks, 3, 20000, 'blocks at a');
    await forValue(async () => JSON.parse((await b.cli(['hellocount'])).stdout).blocks, 3, 20000, 'blocks at b');
  });

  await t.test('should show help and reject bad params with one line', async (t) => {
    t.match((await a.cli(['help', 'hellocount'])).stdout, /Count blocks/);
    const bad = await a.cli(['hellosend', '1']);
    t.not(bad.code, 0);
    t.match(bad.stderr, /usage: hellosend/);
  });
});
