// Automatic renewal (cloudcoind --renew auto, --renew-window, --renew-budget):
// a renter and hosts as cloudcoind processes on loopback; blocks are mined
// toward a contract's end and the renter's node renews it on its own (a new
// contract with the same host carrying the objects), or, with the host gone,
// moves the file to another host; the file still comes back identical.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { DaemonProcess } from '../util/nodes-context';
import { height, json, mine, startNetwork } from '../util/network';
import { logLines, mineUntil, scratch, type ContractJSON } from '../util/blocks';

// Three cloudcoind networks one after another on a loaded machine.
import type { PutResult } from '../../lib/deals/renterclient';
import type { FileInfo } from '../../lib/deals/rpctypes';
import type { RecoverResult } from '../../lib/deals/recovery';
import { renewFrom } from '../../lib/deals/autorenew';
import { auditsLost } from '../../lib/deals/autorepair';

// Cloudcoind networks on a loaded machine.
t.setTimeout(15 * 60 * 1000);

t.test('the renew window and when a host counts as gone', async (t) => {
  t.equal(renewFrom({ startHeight: 1000, endHeight: 6000 }, 432), 5568, 'the window before the end');
  t.equal(renewFrom({ startHeight: 440, endHeight: 470 }, 432), 460, 'at most the last third of a short contract');
  t.equal(renewFrom({ startHeight: 440, endHeight: 470 }, 6), 464);
  t.equal(auditsLost(['passed', 'failed', 'passed']), true, 'a failed audit');
  t.equal(auditsLost(['passed', 'missed', 'missed']), false, 'two misses are a restart');
  t.equal(auditsLost(['passed', 'missed', 'missed', 'missed']), true, 'three in a row: vanished');
  t.equal(auditsLost(['missed', 'missed', 'missed', 'passed']), false, 'back since');
});

t.test('bad renewal flags are refused with one line', async (t) => {
  for (const [args, want] of [[['--renew', 'sometimes'], /--renew must be auto or off/], [['--renew-window', '0'], /--renew-window must be at least 1/],
    [['--renew-budget', 'lots'], /renew-budget/], [['--renew-min-score', '1001'], /--renew-min-score must be a score from 0 to 1000/],
    [['--renew-max-rise', 'half'], /renew-max-rise/]] as Array<[string[], RegExp]>) {
    const d = await DaemonProcess.create(args);
    t.teardown(() => d.cleanup());
    await t.rejects(d.start(), want, args.join(' '));
  }
});

t.test('a contract holding a live file is renewed in its window with no user action', async (t) => {
  const { renter } = await startNetwork(t, [[]], ['--renew-window', '6', '--renew-budget', '500000sat']);
  t.teardown(() => t.comment(logLines(renter, 'renew')));
  const work = scratch(t);
  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(300 * 1024 + 7));
  const put = await json<PutResult>(renter.cli(['put', file, '--hosts', '1', '--duration', '30', '--no-wait', '--json']));
  await mine(renter);
  const old = put.contracts[0].id;
  const before = await json<ContractJSON>(renter.cli(['getcontract', old]));
  t.equal(before.renewFrom, before.contract.endHeight - 6, 'getcontract shows where the renew window opens');
  t.equal(before.renewedBy, null);
  const now = await height(renter);
  t.ok(now < before.contract.endHeight - 6, 'mined before the window');
  // Straight to the block before the window (one CLI call), then a block at a time.
  await mine(renter, before.contract.endHeight - 6 - 1 - now);
  t.equal((await json<ContractJSON>(renter.cli(['getcontract', old]))).renewedBy, null, 'not renewed before the window');

  const info = await mineUntil(renter, () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
    (f) => f.replicas.every((r) => r.contractId !== old), 'the file to follow the renewal');
  const renewed = info.replicas[0].contractId;
  const after = await json<ContractJSON>(renter.cli(['getcontract', old]));
  t.equal(after.renewedBy, renewed, 'getcontract names the renewal');
  const next = await json<ContractJSON>(renter.cli(['getcontract', renewed]));
  t.equal(next.contract.prevId, old, 'the renewal names the old contract');
  t.equal(next.objects, before.objects, 'every object carried over');
  t.ok(next.contract.endHeight > before.contract.endHeight, 'it ends later');
  const at = next.contract.startHeight;
  t.ok(at >= before.contract.endHeight - 6 && at < before.contract.endHeight, `renewed inside the window (at ${at})`);
  t.match(logLines(renter, 'renew'), new RegExp(`renew: contract ${old.slice(0, 12)} .* renewed as ${renewed.slice(0, 12)}: ends at ${next.contract.endHeight}`));
  // The renewal carries the sealed manifest, as a put's contract does: recover reads it (a restore from the seed would).
  await mineUntil(renter, () => json<FileInfo>(renter.cli(['getfile', put.fileId])), (f) => f.replicas.every((r) => r.state === 'active'),
    'the renewal active');
  const rec = await json<RecoverResult>(renter.cli(['recover', '--json']));
  t.same(rec.contracts.filter((c) => c.error !== null).map((c) => [c.id, c.error]), [], 'recover reads a manifest from every contract');
  t.equal(rec.contracts.find((c) => c.id === renewed)?.files, 1, 'the renewal\'s manifest lists the file');

  // Past the old contract's end: the file lives on in the renewal.
  await mineUntil(renter, () => height(renter), (h) => h > before.contract.endHeight + 1, 'past the old end');
  const out = path.join(work, 'out.bin');
  await json(renter.cli(['get', put.fileId, out, '--json']));
  t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'the file still gets, bytes identical');
  const again = await json<ContractJSON>(renter.cli(['getcontract', renewed]));
  t.equal(again.renewedBy, null, 'the renewal is not renewed again before its own window');
});
