// Automatic renewal leaves a host that got pricier: a renter and two
// hosts as cloudcoind processes, a file on one of them; that host restarts
// asking 2.5 times the contract's storage price (under the 4x a renewal
// would still bid up to, above --renew-max-rise's default 50%). In the
// renew window the renter's node does not renew with it: the file's copy
// moves to the other host (the repair flow) and gets identical bytes.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { forCloudPeer, height, json, mine, startNetwork } from '../util/network';
import { logLines, mineUntil, scratch, type ContractJSON } from '../util/blocks';
import { forValue } from '../util/wait';
import type { PutResult } from '../../lib/deals/renterclient';
import type { FileInfo } from '../../lib/deals/rpctypes';

// Cloudcoind networks on a loaded machine.
t.setTimeout(15 * 60 * 1000);

t.test('a host that raised its price is left at renewal: its copy moves to another host', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], []], ['--renew-window', '12']);
  t.teardown(() => t.comment(logLines(renter, 'renew')));
  const ids = await Promise.all(hosts.map((h) => json<{ identity: string }>(h.cli(['getidentity'])).then((x) => x.identity)));
  const work = scratch(t);
  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(100 * 1024 + 3));
  const put = await json<PutResult>(renter.cli(['put', file, '--hosts', '1', '--duration', '40', '--no-wait', '--json']));
  await mine(renter);
  const [old] = put.contracts;
  const pricier = hosts[ids.indexOf(old.host)];
  const other = ids.find((id) => id !== old.host) as string;
  await forValue(async () => (await json<FileInfo>(renter.cli(['getfile', put.fileId]))).replicas[0].state, 'active', 120000,
    'the contract active');

  // The default storage price is 1000 sat: the host comes back asking 2500.
  // Gone first: until the renter drops the old connection, the host's identity is still listed.
  await pricier.stop();
  await forCloudPeer(renter, old.host, false, 60000, 'the pricier host gone');
  await pricier.start(['--connect', renter.addr, '--host-storage-price', '2500sat']);
  await forCloudPeer(renter, old.host, true, 60000, 'the pricier host back');
  const end = (await json<ContractJSON>(renter.cli(['getcontract', old.id]))).contract.endHeight;
  await mine(renter, end - 12 - 1 - await height(renter));

  const info = await mineUntil(renter, () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
    (f) => f.repairs.length > 0, 'the move');
  const moved = info.repairs[0];
  t.same(moved.replaced, [old.id], 'the pricier host\'s copy replaced');
  t.equal(moved.host, other, 'by a copy on the other host');
  const log = logLines(renter, 'renew');
  t.match(log, new RegExp(`renew: contract ${old.id.slice(0, 12)} .* not renewed \\(renewal of contract ${old.id.slice(0, 12)}: host .* asks 2500 sat for storage, `
    + 'more than 50% over the contract\'s 1000 sat \\(--renew-max-rise\\)\\): moving its 1 file\\(s\\) to other hosts'));
  t.equal((await json<ContractJSON>(renter.cli(['getcontract', old.id]))).renewedBy, null, 'no renewal with the pricier host');

  await mineUntil(renter, () => height(renter), (h) => h > end + 1, 'past the old end');
  const out = path.join(work, 'out.bin');
  await json(renter.cli(['get', put.fileId, out, '--json']));
  t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'the file still gets, bytes identical');
});
