// Automatic renewal when a contract's host is gone: a renter and three
// hosts as cloudcoind processes on loopback, a file put as two replicas,
// one host killed; blocks are mined into the renew window and the renter's
// node renews the reachable host's contract and moves the gone host's
// replica to the third host (copied from the other replica, a fresh key).
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { height, json, mine, startNetwork } from '../util/network';
import { logLines, mineUntil, scratch, type ContractJSON } from '../util/blocks';
import type { PutResult } from '../../lib/deals/renterclient';
import type { FileInfo } from '../../lib/deals/rpctypes';

// Cloudcoind networks on a loaded machine.
t.setTimeout(15 * 60 * 1000);

t.test('with its host gone, a contract\'s replica moves to another host, the other renews', async (t) => {
  const { renter, hosts } = await startNetwork(t, [[], [], []], ['--renew-window', '12']);
  t.teardown(() => t.comment(logLines(renter, 'renew')));
  const ids = await Promise.all(hosts.map((h) => json<{ identity: string }>(h.cli(['getidentity'])).then((x) => x.identity)));
  const work = scratch(t);
  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(200 * 1024 + 1));
  const put = await json<PutResult>(renter.cli(['put', file, '--hosts', '2', '--duration', '40', '--no-wait', '--json']));
  await mine(renter);
  const [gone, kept] = put.contracts;
  const spare = ids.find((id) => !put.contracts.some((c) => c.host === id)) as string;
  await hosts[ids.indexOf(gone.host)].stop('SIGKILL');
  const end = (await json<ContractJSON>(renter.cli(['getcontract', gone.id]))).contract.endHeight;
  await mine(renter, end - 12 - 1 - await height(renter));

  const info = await mineUntil(renter, () => json<FileInfo>(renter.cli(['getfile', put.fileId])),
    (f) => f.repairs.length > 0 && !f.replicas.some((r) => r.contractId === kept.id), 'the move and the renewal');
  const moved = info.repairs[0];
  t.equal(moved.shard, null, 'a whole replica moved');
  t.same(moved.replaced, [gone.id], 'in place of the gone host\'s');
  t.equal(moved.host, spare, 'to the host the usual choice found');
  const renewed = await json<ContractJSON>(renter.cli(['getcontract', kept.id]));
  t.ok(renewed.renewedBy, 'the reachable host\'s contract renewed');
  const log = logLines(renter, 'renew');
  t.match(log, new RegExp(`renew: contract ${gone.id.slice(0, 12)} .* not renewed \\(.*\\): moving its 1 file\\(s\\) to other hosts`));
  t.match(log, new RegExp(`renew: file ${put.fileId.slice(0, 12)} replica moved from contract ${gone.id.slice(0, 12)}`));

  await mineUntil(renter, () => height(renter), (h) => h > renewed.contract.endHeight + 1, 'past the old end');
  const out = path.join(work, 'out.bin');
  await json(renter.cli(['get', put.fileId, out, '--json']));
  t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'the file still gets, bytes identical');
});
