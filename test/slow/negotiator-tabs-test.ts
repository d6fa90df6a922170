// Deferred tabs survive a restart (PROTOCOL 2.5), on real cloudcoind
// processes: a host prices market.prices at 400 sat with a 1000 sat credit
// limit; the renter defers two calls (800 sat owed), then both processes
// are killed (SIGKILL: no orderly close) and started again. The third call
// is answered please-pay 800 by the host and paid with the price, 1200 sat,
// by the renter: the host remembered the tab, and the renter remembered it
// owed 800 (with only 400 as its maximum it pays a claim only as far as its
// own record covers it). A tabs file that does not read is moved aside.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { json, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import { logLines } from '../util/blocks';

interface CallJSON {
  status: string;
  paid: number;
}

t.test('deferred tabs survive a restart (real nodes)', async (t) => {
  const { renter, hosts } = await startNetwork(t, [['--defer-limit', '1000sat', '--policy', 'min-payment market.prices 400sat']]);
  const host = hosts[0];
  const hostKey = (await json<{ pubkey: string }>(host.cli(['getidentity']))).pubkey;
  const call = () => json<CallJSON>(renter.cli(['cloudrequest', hostKey, 'market', 'prices', 'null', '400sat']));
  const connected = () => forValue(async () => (await json<Array<{ pubkey: string | null }>>(renter.cli(['getcloudpeers'])))
    .some((p) => p.pubkey === hostKey), true, 60000, 'the host connected with its identity');

  await t.test('should keep both sides\' tabs across a crash of both', async (t) => {
    for (const n of [1, 2]) {
      const res = await call();
      t.equal(res.status, 'ok', `call ${n} deferred`);
      t.equal(res.paid, 400);
    }
    for (const d of [host, renter])
      t.ok(fs.existsSync(path.join(d.datadir, 'cstabs.dat')), 'a tabs file in the datadir');
    await host.stop('SIGKILL');
    await renter.stop('SIGKILL');
    await renter.start();
    await host.start(['--connect', renter.addr]);
    await connected();
    t.match(logLines(host, 'deferred tabs read back'), /1 clients owe us, we owe 0 servers/);
    t.match(logLines(renter, 'deferred tabs read back'), /0 clients owe us, we owe 1 servers/);
    const third = await call();
    t.equal(third.status, 'ok', 'please-pay 800, paid with the price');
    t.equal(third.paid, 1200, 'the 800 owed before the restart and the price');
    const again = await call();
    t.equal(again.paid, 400, 'the tab is clear: deferred again');
  });

  await t.test('should move a tabs file that does not read aside and start empty', async (t) => {
    await host.stop();
    const file = path.join(host.datadir, 'cstabs.dat');
    fs.writeFileSync(file, Buffer.from('not a tabs file'));
    await host.start(['--connect', renter.addr]);
    await connected();
    t.ok(fs.existsSync(`${file}.bad`), 'moved aside');
    t.match(logLines(host, 'does not read'), /deferred tabs start empty/);
  });
});
