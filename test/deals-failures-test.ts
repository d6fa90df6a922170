// Storage deals when the renter or a host is not ready: a renter before
// segwit, then without coins; a host killed mid-upload. cloudcoind
// processes on loopback, driven by cloudcoin-cli (split from
// deals-e2e-test.ts so each file stays well inside tap's time limit on a
// loaded machine).
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { DaemonProcess, tempDir } from './util/nodes-context';
import { forCloudPeers, json, mine, startNetwork } from './util/network';
import { forValue } from './util/wait';
import type { PutResult } from '../lib/deals/renterclient';

t.test('a renter before segwit, then unfunded', async (t) => {
  const renter = await DaemonProcess.create();
  const host = await DaemonProcess.create(['--host']);
  t.teardown(async () => {
    for (const d of [renter, host]) {
      await d.stop('SIGKILL');
      d.cleanup();
    }
  });
  await renter.start();
  await host.start(['--connect', renter.addr]);
  await forCloudPeers(renter, [host], 60000, 'host');
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const file = path.join(work, 'f.bin');
  fs.writeFileSync(file, randomBytes(10000));
  const early = await renter.cli(['put', file]);
  t.not(early.code, 0);
  t.match(early.stderr, /^error: segwit and CSV are not active yet at height 0: commitments cannot confirm \(on regtest, mine to height 432\)( \(code -1\))?\n$/);
  t.equal((await json<{ openOffers: number }>(host.cli(['getstorageinfo']))).openOffers, 0, 'refused before negotiating');
  // Activate segwit with coins that are not the renter's.
  const addr = (await host.cli(['getnewaddress'])).stdout.trim();
  await json(host.cli(['generatetoaddress', '440', addr]));
  await forValue(async () => Number((await renter.cli(['getblockcount'])).stdout), 440, 30000, 'renter synced');
  const r = await renter.cli(['put', file]);
  t.not(r.code, 0);
  t.match(r.stderr, /^error: insufficient funds: the escrows need \d+ sat with fees, the wallet has 0 sat\n$/);
  const info = await json<{ contracts: number }>(host.cli(['getstorageinfo']));
  t.equal(info.contracts, 0, 'nothing uploaded or signed');
});

t.test('a host killed mid-upload', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], []]);
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const file = path.join(work, 'big.bin');
  fs.writeFileSync(file, randomBytes(40 * 1024 * 1024));

  const putting = renter.cli(['put', file, '--hosts', '2', '--min-hosts', '1', '--no-wait', '--json']);
  // Kill whichever host first shows bytes of an upload in progress.
  const victim = await forValue(() => hosts.findIndex((h) => {
    const dir = path.join(h.datadir, 'hostdata', 'uploads');
    return fs.existsSync(dir) && fs.readdirSync(dir).length > 0;
  }), (i) => i >= 0, 60000, 'an upload to start');
  await hosts[victim].stop('SIGKILL');
  const r = await putting;
  t.equal(r.code, 0, `put completes with the other host: ${r.stderr}`);
  const put = JSON.parse(r.stdout) as PutResult;
  t.equal(put.contracts.length, 1, 'one contract committed');
  t.equal(put.failed.length, 1, 'the dead host is reported');
  t.match(r.stderr, /warning: host .* failed, nothing committed to it/);
  await mine(renter);
  const contracts = await forValue(async () => json<Array<{ id: string }>>(renter.cli(['listcontracts'])),
    (c) => c.length > 0, 30000, 'the commitment indexed');
  t.same(contracts.map((c) => c.id), [put.contracts[0].id], 'nothing locked for the dead host');
});
