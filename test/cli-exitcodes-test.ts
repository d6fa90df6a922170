// cloudcoin-cli's exit codes where a command did less than it was asked,
// against a real renter and host: a script reads the exit code, so a
// command that did nothing (or less) must not exit 0 in silence, and
// --json must fail as the table does.
import t from 'tap';
import { mine, putMined, startNetwork } from './util/network';

/** The lines of a CLI stream, without the empty last one. */
function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

t.test('cloudcoin-cli exit codes against a renter and a host', async (t) => {
  // The hosts serve at most 300 blocks: a renewal asking for more is declined.
  const host = ['--host-storage-price', '500sat', '--host-max-duration', '300'];
  const { renter } = await startNetwork(t, [host, host]);
  const put = await putMined(t, renter, 5000, ['--hosts', '2', '--max-price', '2000sat', '--duration', '200']);
  const contracts = put.contracts.map((c) => c.id).sort();
  await mine(renter);

  // A file's contracts (renewing one contract alone fails with the host's error, as any RPC error).
  await t.test('renew that renews none of a file\'s contracts should exit 1 with one error line saying why', async (t) => {
    const r = await renter.cli(['renew', put.fileId, '--duration', '400']);
    t.equal(r.code, 1, `exit 1 (${r.stdout}${r.stderr})`);
    for (const id of contracts)
      t.match(r.stdout, `not renewed ${id.slice(0, 12)}`, 'each contract\'s line is printed');
    t.notMatch(r.stdout, /commitment/, 'no "commitment (none)"');
    const err = lines(r.stderr);
    t.equal(err.length, 1, `one line on stderr: ${r.stderr}`);
    t.match(err[0], /^error: nothing was renewed: [0-9a-f]{12}…: .*bad-duration.*; [0-9a-f]{12}…: .*bad-duration/,
      'says nothing was renewed and why, per contract');

    const j = await renter.cli(['renew', put.fileId, '--duration', '400', '--json']);
    t.equal(j.code, 1, '--json: exit 1 too');
    const res = JSON.parse(j.stdout) as { renewed: unknown[]; failed: Array<{ old: string }> };
    t.same([res.renewed, res.failed.map((f) => f.old).sort()], [[], contracts], '--json: the result is still printed');
    t.match(lines(j.stderr), [/^error: nothing was renewed: /], '--json: the same one error line');
  });

  await t.test('log of an unknown name should fail alike with and without --json', async (t) => {
    for (const args of [['log', 'nosuch'], ['log', 'nosuch', '--json']]) {
      const r = await renter.cli(args);
      t.equal(r.code, 1, `${args.join(' ')}: exit 1`);
      t.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout (no [])`);
      t.same(lines(r.stderr), ['error: no file named nosuch is stored'], `${args.join(' ')}: the same error line`);
    }
    const r = await renter.cli(['log', 'data.bin', '--json']);
    t.equal(r.code, 0, r.stderr);
    t.same((JSON.parse(r.stdout) as Array<{ fileId: string }>).map((f) => f.fileId), [put.fileId], 'a stored name still lists');
  });

  await t.test('negotiate-storage with fewer hosts than asked for should warn, and fail below --min-hosts', async (t) => {
    const neg = ['negotiate-storage', '--size', '1MB', '--max-price', '2000sat'];
    const all = await renter.cli([...neg, '--hosts', '2']);
    t.equal(all.code, 0, all.stderr);
    t.equal(all.stderr, '', 'as many offers as asked: no warning');

    const fewer = 'only 2 of the 9 hosts asked for made an offer (2 of 2 CloudStorage peers quoted)';
    for (const args of [['--hosts', '9'], ['--hosts', '9', '--min-hosts', '2', '--json']]) {
      const r = await renter.cli([...neg, ...args]);
      t.equal(r.code, 0, `${args.join(' ')}: exit 0 (${r.stderr})`);
      t.same(lines(r.stderr), [`warning: ${fewer}`], `${args.join(' ')}: one warning line`);
    }
    const r = await renter.cli([...neg, '--hosts', '9', '--min-hosts', '3', '--json']);
    t.equal(r.code, 1, 'below --min-hosts: exit 1, as put');
    t.equal((JSON.parse(r.stdout) as { offers: unknown[] }).offers.length, 2, 'the offers are still printed');
    t.same(lines(r.stderr), [`error: ${fewer}, 3 needed (--min-hosts)`], 'one error line, no warning besides');
  });
});
