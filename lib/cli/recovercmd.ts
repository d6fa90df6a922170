/*!
 * recovercmd.ts - `cloudcoin-cli recover`: after a restore from the seed,
 * the files found again from the hosts' sealed manifests, one table row
 * per contract. The work is RPC recoverfiles (lib/deals/recovery.ts).
 */

import { formatSize } from '../base/units';
import type { RecoverResult } from '../deals/recovery';
import { command, short, type CommandContext } from './cmdutil';
import { escapeName, renderTable } from './table';

/**
 * The `recover` table: one row per contract, each failure a note number
 * (`failed [1]`) with its message once under the table, so a host that is
 * away (the manifest and the takeover fail alike) is said once and the
 * rows stay narrow. Contracts failing the same way share a note.
 */
export function recoverTable(contracts: RecoverResult['contracts']): string {
  const notes: string[] = [];
  const note = (msg: string): string => {
    const at = notes.indexOf(msg);
    return `failed [${(at < 0 ? notes.push(msg) : at + 1)}]`;
  };
  const rows = contracts.map((c) => ({
    c,
    manifest: c.error !== null ? note(c.error) : c.updated === null ? '-' : new Date(c.updated * 1000).toISOString(),
    takeover: c.takenOver ? 'yes' : c.takeoverError !== null ? note(c.takeoverError) : '-'
  }));
  const table = renderTable([
    { title: 'contract', value: (r: (typeof rows)[number]) => short(r.c.id) },
    { title: 'host', value: (r) => r.c.host },
    { title: 'files', value: (r) => (r.c.files === null ? '-' : String(r.c.files)), align: 'right' },
    { title: 'manifest', value: (r) => r.manifest },
    { title: 'takeover', value: (r) => r.takeover }
  ], rows);
  return [table, ...notes.map((m, i) => `  [${i + 1}] ${m}`)].join('\n');
}

/** recover [--json]: after a restore from the seed, the file list found again from the hosts' sealed manifests. */
export async function recover(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = command('recover', 'After a restore from the wallet seed: find the files again from the sealed manifest '
    + '(object 0) each host of a committed or active contract of ours holds, and take those contracts over (the host\'s '
    + 'revisions and channel state, checked); ls, get, audits, payments and rm work on them afterwards.')
    .option('--json', 'print JSON');
  cmd.parse(argv, { from: 'user' });
  const res = await ctx.client.call('recoverfiles', []) as RecoverResult;
  if (cmd.opts().json) {
    ctx.out(JSON.stringify(res, null, 2));
    return;
  }
  ctx.out(recoverTable(res.contracts));
  for (const u of res.updated)
    ctx.out(`  ${short(u.fileId)} ${escapeName(Buffer.from(u.nameHex, 'hex'))} rev ${u.revision}: updated from a newer manifest `
      + `(${u.replicas} replica(s))`);
  ctx.out(`${res.recovered.length} file(s) recovered, ${res.updated.length} updated from a newer manifest, ${res.known} already known, `
    + `${res.deleted} deleted since an older manifest`);
  for (const f of res.recovered)
    ctx.out(`  ${short(f.fileId)} ${escapeName(Buffer.from(f.nameHex, 'hex'))} rev ${f.revision} ${formatSize(f.size)}`);
}
