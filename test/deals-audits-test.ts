// Audits by the renter's node, as a user sees them: a renter and three
// hosts as cloudcoind processes; blocks are mined through the audit
// intervals; one host corrupts a leaf of its object, one deletes it.
import t from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { DaemonProcess } from './util/nodes-context';
import { height, json, mine, putMined, startNetwork } from './util/network';
import { forValue } from './util/wait';
import type { AuditsResult } from '../lib/deals/auditview';

const DURATION = 40;

async function audits(renter: DaemonProcess, id: string): Promise<AuditsResult> {
  return json<AuditsResult>(renter.cli(['audits', id, '--json']));
}

/** Mine until the renter recorded an audit of interval `k` for every contract in `ids`. */
async function auditThrough(renter: DaemonProcess, ids: string[], k: number): Promise<AuditsResult[]> {
  const first = await audits(renter, ids[0]);
  const due = first.startHeight + (k + 1) * first.auditInterval;
  const now = await height(renter);
  if (now < due)
    await mine(renter, due - now);
  const out: AuditsResult[] = [];
  for (const id of ids) {
    out.push(await forValue(() => audits(renter, id), (r) => r.audits.some((a) => a.interval >= k) || r.failed > 0,
      60000, `the audit of interval ${k} of ${id.slice(0, 12)}`));
  }
  return out;
}

t.test('the renter audits every contract once per interval', async (t) => {
  // Prices high enough that each interval earns a few hundred sat: payments are visible.
  const price = ['--host-storage-price', '100000000sat'];
  const { renter, hosts } = await startNetwork(t, [price, price, price]);
  const put = await putMined(t, renter, 300 * 1024 + 77, ['--hosts', '3', '--duration', String(DURATION), '--max-price', '100000000sat']);
  const ids = put.contracts.map((c) => c.id);
  const keys = await Promise.all(hosts.map(async (h) => (await json<{ pubkey: string }>(h.cli(['getidentity']))).pubkey));
  const info = await json<{ replicas: Array<{ contractId: string; hostKey: string }> }>(renter.cli(['getfile', put.fileId]));
  const hostOf = (id: string) => hosts[keys.indexOf(info.replicas.find((r) => r.contractId === id)!.hostKey)];
  const dataOf = (id: string) => path.join(hostOf(id).datadir, 'hostdata', 'objects', id, '1', 'data');

  await t.test('should pass the first interval on every host, 16 leaves each', async (t) => {
    const res = await auditThrough(renter, ids, 0);
    for (const r of res) {
      t.equal(r.auditInterval, 10);
      t.equal(r.intervals, DURATION / 10);
      const a = r.audits[0];
      t.equal(a.interval, 0);
      t.equal(a.outcome, 'passed', a.reason);
      t.equal(a.leaves.length, 16);
      t.ok(a.height >= r.startHeight + 10, 'run at or after the interval end');
      t.ok(a.bytes > 0 && a.bytes <= 16 * 4096, `read ${a.bytes} bytes`);
      t.equal(r.nextAudit, r.startHeight + 20);
      const paid = await forValue(() => audits(renter, r.contractId), (x) => x.payment?.acknowledged === true && x.payment.intervals === 1,
        60000, 'the first interval\'s state acknowledged');
      // State 1 prepaid the audit's reads (storage.token), the next one pays interval 0.
      t.equal(paid.payment!.intervals, 1, 'paid after the passed audit');
      t.ok(paid.payment!.number >= 2, `state ${paid.payment!.number}: after the audit's prepaid one`);
    }
  });

  await t.test('should fail a host that corrupted its object and one that deleted it', async (t) => {
    // Corrupt every leaf of one replica (any leaf the audit picks is wrong) and delete another.
    const corrupt = ids[0];
    const deleted = ids[1];
    const honest = ids[2];
    const size = fs.statSync(dataOf(corrupt)).size;
    const fd = fs.openSync(dataOf(corrupt), 'r+');
    for (let off = 0; off < size; off += 4096)
      fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, off);
    fs.closeSync(fd);
    fs.rmSync(dataOf(deleted));
    const res = await auditThrough(renter, ids, 1);
    const byId = new Map(res.map((r) => [r.contractId, r]));
    t.equal(byId.get(corrupt)!.audits[1].outcome, 'failed');
    t.match(byId.get(corrupt)!.audits[1].reason, /does not verify/);
    t.equal(byId.get(deleted)!.audits[1].outcome, 'failed');
    t.match(byId.get(deleted)!.audits[1].reason, /not .*uploaded|not registered/);
    t.equal(byId.get(honest)!.audits[1].outcome, 'passed');
    t.equal(byId.get(corrupt)!.nextAudit, null, 'no audit after a proven loss');
    t.equal(byId.get(corrupt)!.payment!.intervals, 1, 'the corrupting host is paid nothing for the failed interval');
    t.equal(byId.get(deleted)!.payment!.intervals, 1, 'nor the deleting one');
    const honestPay = await forValue(() => audits(renter, honest), (r) => r.payment?.intervals === 2, 60000, 'the honest host paid');
    t.ok(honestPay.payment!.paid > byId.get(corrupt)!.payment!.paid, 'the honest host earns on');
  });

  await t.test('should stop auditing a failed host and keep auditing the honest one', async (t) => {
    const res = await auditThrough(renter, [ids[2]], 2);
    t.same(res[0].audits.map((a) => a.outcome), ['passed', 'passed', 'passed']);
    const failed = await audits(renter, ids[0]);
    t.equal(failed.audits.length, 2, 'nothing after the failed audit');
    t.equal(failed.payment!.intervals, 1, 'and no state pays for anything after it');
    // The renter's node rated both failed hosts on chain on its own (lib/reputation/rater.ts).
    for (const id of ids.slice(0, 2)) {
      const c = await forValue(() => json<{ ratings: { renter: { score: number; passed: number; failed: number } | null } }>(
        renter.cli(['getcontract', id])), (v) => v.ratings.renter !== null, 60000, `the rating of ${id.slice(0, 12)}`);
      t.match(c.ratings.renter, { score: 0, passed: 1, failed: 1 }, 'one passed, one failed');
    }
  });

  await t.test('should show a table, and a file\'s contracts', async (t) => {
    // The node stores a passed audit, then signs the state paying for it (auditor.ts onPassed): the
    // audit of interval 2 seen above does not mean its payment is there yet.
    await forValue(() => audits(renter, ids[2]), (r) => r.payment?.intervals === 3, 60000, 'the state paying interval 2');
    const r = await renter.cli(['audits', ids[2]]);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /interval\s+height\s+rev\s+leaves\s+outcome\s+latency\s+bytes/);
    t.match(r.stdout, /3 passed, 0 failed, 0 missed/);
    t.match(r.stdout, /paid: state \d+ pays \d+ sat for intervals 0\.\.2/);
    const byFile = await json<AuditsResult[]>(renter.cli(['audits', put.fileId.slice(0, 8), '--json']));
    t.same(byFile.map((x) => x.contractId).sort(), [...ids].sort());
    const byPrefix = await json<AuditsResult>(renter.cli(['audits', ids[2].slice(0, 10), '--json']));
    t.equal(byPrefix.contractId, ids[2], 'a contract id prefix, as getcontract takes');
    const bad = await renter.cli(['audits', 'zz']);
    t.not(bad.code, 0);
    t.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    const none = await renter.cli(['audits', 'abcd0123']);
    t.equal(none.stderr.trim(), 'error: No such contract or file: abcd0123. (code -5)', 'neither a contract nor a file, in get\'s words');
  });

  await t.test('should show the audits in getcontract, listcontracts and ls', async (t) => {
    const listed = await json<Array<{ id: string; audits?: unknown }>>(renter.cli(['listcontracts']));
    for (const id of ids) {
      const a = await audits(renter, id);
      const want = { passed: a.passed, failed: a.failed, missed: a.missed, nextAudit: a.nextAudit };
      t.same((await json<{ audits: unknown }>(renter.cli(['getcontract', id]))).audits, want, `getcontract ${id.slice(0, 12)}`);
      t.same(listed.find((c) => c.id === id)?.audits, want, 'listcontracts keeps them');
    }
    const ls = await renter.cli(['ls']);
    t.equal(ls.code, 0, ls.stderr);
    t.match(ls.stdout, /audits\s+next audit/);
    t.match(ls.stdout, / 3\/0\/0 /, 'the honest host: 3 passed');
    t.match(ls.stdout, / 1\/1\/0 /, 'a failed host: 1 passed, 1 failed');
    const lsJson = await json<Array<{ replicas: Array<{ audits: { passed: number } | null }> }>>(renter.cli(['ls', '--json']));
    t.ok(lsJson[0].replicas.every((r) => r.audits !== null), '--json keeps them');
  });

  await t.test('should neither reuse nor ask the hosts whose audits failed, and say why', async (t) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cc-audits-')), 'again.bin');
    t.teardown(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));
    fs.writeFileSync(file, Buffer.alloc(5000, 7));
    const failedKeys = ids.slice(0, 2).map((id) => info.replicas.find((r) => r.contractId === id)!.hostKey);
    const found = await json<{ contracts: Array<{ id: string }>; skipped: Array<{ id: string; hostKey: string; reason: string }> }>(
      renter.cli(['findcontracts', '5000', '5', '100000000sat', '0', 'true']));
    t.same(found.contracts.map((c) => c.id), [ids[2]], 'only the honest host\'s contract is reusable');
    t.same(found.skipped.map((k) => k.id).sort(), ids.slice(0, 2).sort());
    for (const k of found.skipped)
      t.match(k.reason, 'audits failed (wrong data in 1 of its contracts)');
    const r = await renter.cli(['put', file, '--hosts', '3', '--min-hosts', '1', '--duration', '10', '--max-price', '100000000sat',
      '--no-wait', '--json']);
    t.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { contracts: Array<{ id: string; reused: boolean }>; passed: Array<{ host: string; reason: string }> };
    t.same(res.contracts.map((c) => [c.id, c.reused]), [[ids[2], true]], 'the honest host\'s contract, revised');
    t.equal(res.passed.filter((p) => /^open contract [0-9a-f]{16} not reused: audits failed/.test(p.reason)).length, 2, JSON.stringify(res.passed));
    t.equal(res.passed.filter((p) => /^audits failed/.test(p.reason)).length, 2, 'nor asked for new contracts');
    t.equal(failedKeys.length, 2);
  });
});
