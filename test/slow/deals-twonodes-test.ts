// Two nodes, one identity: a renter's seed restored into a second node
// while the original still runs. The restored node takes the contract over
// from its host and pays a get with a channel state of its own; the
// original's next get is then behind what the host stored, and instead of
// a bare `state-underpays` it says in one line that another node with this
// wallet's identity revised the contract and what to do. Once the copy is
// stopped, `recover` on the original adopts the host's newer state and its
// gets work again. Real cloudcoind processes on loopback.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { DaemonProcess, tempDir } from '../util/nodes-context';
import { height, identity, json, mine, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import type { PutResult } from '../../lib/deals/renterclient';
import type { AuditsResult } from '../../lib/deals/auditview';
import type { RecoverResult } from '../../lib/deals/recovery';

const WAIT_MS = 120000;
const DOWNLOAD_PRICE = 1_000_000;

interface HostContract {
  channel: { number: number; paid: number; prepaid: number } | null;
}

t.test('a restored copy running beside the original: the original says why its gets fail, and recover adopts', async (t) => {
  // Downloads cost something: every get carries a channel state.
  const { renter, hosts: [host] } = await startNetwork(t, [['--host-download-price', `${DOWNLOAD_PRICE}sat`]],
    ['--renew', 'off', '--rate', 'off']);
  const copy = await DaemonProcess.create();
  const work = tempDir();
  t.teardown(async () => {
    await copy.stop('SIGKILL');
    copy.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });
  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(100_000));
  const putting = renter.cli(['put', file, '--duration', '100', '--max-price', `${2 * DOWNLOAD_PRICE}sat`, '--json']);
  await forValue(async () => (await json<string[]>(renter.cli(['getrawmempool']))).length, (n) => n > 0, WAIT_MS, 'the commitment');
  await mine(renter);
  const res = await putting;
  t.equal(res.code, 0, res.stderr);
  const put = JSON.parse(res.stdout) as PutResult;
  const id = put.contracts[0].id;
  const hostView = () => json<HostContract>(host.cli(['getcontract', id]));
  const get = (d: DaemonProcess, name: string) => d.cli(['get', put.fileId, path.join(work, name)]);
  const same = (name: string) => fs.readFileSync(path.join(work, name)).equals(fs.readFileSync(file));

  const first = await get(renter, 'first.out');
  t.equal(first.code, 0, first.stderr);
  const mine1 = (await json<AuditsResult>(renter.cli(['getaudits', id]))).payment;
  t.ok(mine1 !== null, 'the original paid the get with a channel state');

  // The seed restored into a second node while the original keeps running.
  const seed = path.join(work, 'seed.txt');
  await json(renter.cli(['dumpmnemonic', seed]));
  await copy.start(['--restore-mnemonic-file', seed, '--renew', 'off', '--rate', 'off', '--connect', host.addr]);
  t.equal(await identity(copy), await identity(renter), 'one identity on two nodes');
  const tip = await height(host);
  await forValue(() => height(copy), (h) => h >= tip, WAIT_MS, 'the copy synced');
  await forValue(async () => (await json<Array<{ id: string; state: string }>>(copy.cli(['listcontracts'])))
    .some((c) => c.id === id && c.state === 'active'), true, WAIT_MS, 'the copy found the contract');
  await mine(host);
  // Until the copy takes the contract over (at a block after it found it), getaudits says it has none.
  await forValue(() => json<AuditsResult>(copy.cli(['getaudits', id])).catch(() => null), (a) => a !== null && a.payment !== null,
    WAIT_MS, 'the copy took the contract over');
  const second = await get(copy, 'copy.out');
  t.equal(second.code, 0, second.stderr);
  t.ok(same('copy.out'), 'the copy reads the file');
  const ahead = (await hostView()).channel!;
  t.ok(ahead.number > mine1!.number, `the host holds the copy's state ${ahead.number} (the original signed ${mine1!.number})`);

  // The original is behind the host now: its get fails, saying why and what to do.
  const behind = await get(renter, 'behind.out');
  t.equal(behind.code, 1, 'the original cannot read');
  t.match(behind.stderr, new RegExp(`contract ${id.slice(0, 12)}: host \\S+ holds channel state ${ahead.number} paying \\d+ sat `
    + `\\(this node's: ${mine1!.number} paying ${mine1!.paid} sat\\), signed with this wallet's keys: another node with this `
    + 'wallet\'s identity \\(a copy restored from the seed\\?\\) revised it\\. Run one node per seed: stop the other one, then '
    + '`cloudcoin-cli recover` here adopts the host\'s state'), behind.stderr);
  t.notMatch(behind.stderr, /\(state-underpays\)/, 'not the bare decline code');
  t.equal((await hostView()).channel!.number, ahead.number, 'nothing stored on the host from the original');

  // As the line says: stop the copy, recover on the original.
  await copy.stop();
  const rec = await json<RecoverResult>(renter.cli(['recover', '--json']));
  t.same(rec.contracts.map((c) => [c.id, c.error, c.takenOver, c.takeoverError]), [[id, null, true, null]], 'adopted');
  const adopted = (await json<AuditsResult>(renter.cli(['getaudits', id]))).payment!;
  t.same([adopted.number, adopted.paid], [ahead.number, ahead.paid], 'the original holds the host\'s state now');
  const again = await get(renter, 'again.out');
  t.equal(again.code, 0, again.stderr);
  t.ok(same('again.out'), 'the original reads the file again');
  t.ok((await hostView()).channel!.number > ahead.number, 'with a state after the copy\'s');
  // Its own contract, nothing refused: the recover table has no failure notes.
  const table = await renter.cli(['recover']);
  t.match(table.stdout, new RegExp(`${id.slice(0, 12)}…\\s+\\S+\\s+1\\s+\\S+\\s+yes\\n`));
  t.notMatch(table.stdout, /failed \[/);
});
