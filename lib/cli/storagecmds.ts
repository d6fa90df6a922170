/*!
 * storagecmds.ts - cloudcoin-cli's storage commands: negotiate-storage,
 * put, ls, log, repair, rm, renew and audits (get is in getcmd.ts,
 * recover in recovercmd.ts). Flags, progress and tables only: the flows
 * live in lib/deals (RenterClient), driven over RPC here.
 */

import * as fs from 'fs';
import type { PutResult } from '../deals/renterclient';
import type { DeleteFileResult, FileInfo, OfferInfo, RenewContractResult } from '../deals/rpctypes';
import type { AuditsResult } from '../deals/auditview';
import { RPCClientError } from './rpcclient';
import { formatSize } from '../base/units';
import {
  CommandError, DEFAULT_DURATION, DEFAULT_MAX_PRICE, command, hexIdArg, priceOpt, renterClient, short, sizeOpt, uintOpt,
  type CommandContext
} from './cmdutil';
import { earnings } from './earningscmd';
import { getCommand } from './getcmd';
import { recover } from './recovercmd';
import { ProgressBar } from './progress';
import { fileArg, nameArg } from './rawargs';
import { withScratch } from './scratch';
import { escapeName, renderTable } from './table';

function offerTable(offers: OfferInfo[]): string {
  return renderTable([
    { title: 'host', value: (o: OfferInfo) => o.host },
    { title: 'addr', value: (o) => o.addr },
    { title: 'storage sat/GiB/1000blk', value: (o) => String(o.prices.storage), align: 'right' },
    { title: 'upload sat/GiB', value: (o) => String(o.prices.upload), align: 'right' },
    { title: 'download sat/GiB', value: (o) => String(o.prices.download), align: 'right' },
    // The storage prices this node bid, in order: the first quote it opened at, then each raise (900>1000).
    { title: 'storage bids', value: (o) => (o.reused ? 'reused' : o.bids.join('>')) },
    { title: 'cost(sat)', value: (o) => String(o.cost), align: 'right' },
    { title: 'score', value: (o) => (o.score === null ? '-' : String(o.score)), align: 'right' },
    { title: 'reserved until', value: (o) => `block ${o.reservedUntil}`, align: 'right' }
  ], offers);
}

/** negotiate-storage --size S [--duration B] [--max-price P] [--hosts N] [--min-hosts M] [--min-score S] [--json] */
export async function negotiateStorage(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = command('negotiate-storage', 'Get signed storage offers from the best hosts by price and reputation; '
    + 'nothing is paid or committed.')
    .requiredOption('--size <size>', 'bytes to store, e.g. 10MB')
    .option('--duration <blocks>', 'contract length in blocks', String(DEFAULT_DURATION))
    .option('--max-price <price>', 'highest price a host may ask: storage in sat per GiB per 1000 blocks, upload and download in sat per GiB', String(DEFAULT_MAX_PRICE))
    .option('--hosts <n>', 'how many hosts', '1')
    .option('--min-hosts <n>', 'fewest offers that count as success, as for put: with fewer, exit 1 (default: fewer only warn)')
    .option('--min-score <permille>', 'lowest reputation score (0..1000) a host may have; an unknown host scores 400 (docs/REPUTATION.md)')
    .option('--json', 'print JSON');
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts();
  const hosts = uintOpt(o.hosts, '--hosts', 1, 16);
  const minHosts = o.minHosts === undefined ? undefined : minHostsOpt(o.minHosts, hosts, undefined,
    cmd.getOptionValueSource('hosts') === 'cli', 'negotiate-storage asks');
  const res = await renterClient(ctx).negotiate(sizeOpt(o.size), uintOpt(o.duration, '--duration', 1, 1e6),
    priceOpt(o.maxPrice), hosts, o.minScore === undefined ? undefined : uintOpt(o.minScore, '--min-score', 0, 1000));
  // Fewer offers than asked: said on stderr (stdout stays the table or JSON); below --min-hosts a failure, after the result.
  const fewer = res.offers.length < hosts ? `only ${res.offers.length} of the ${hosts} hosts asked for made an offer (${res.quoted} of `
    + `${res.peers} CloudStorage peers quoted${res.declined.length ? `, ${res.declined.length} declined` : ''})` : null;
  const tooFew = fewer !== null && minHosts !== undefined && res.offers.length < minHosts;
  if (fewer !== null && !tooFew)
    ctx.err.write(`warning: ${fewer}\n`);
  const fail = () => new CommandError('too-few-hosts', `${fewer}, ${minHosts} needed (--min-hosts)`);
  if (o.json) {
    ctx.out(JSON.stringify(res, null, 2));
    if (tooFew)
      throw fail();
    return;
  }
  ctx.out(`${res.offers.length} offer(s) for ${formatSize(res.size)} over ${res.duration} blocks `
    + `(max ${res.maxPrice} sat/GiB/1000 blocks; ${res.quoted} of ${res.peers} peers quoted; height ${res.height}):`);
  ctx.out(offerTable(res.offers));
  for (const o2 of res.offers)
    ctx.out(`  ${o2.host}: ${o2.formula}`);
  for (const d of res.declined)
    ctx.out(`  declined ${d.host}: ${d.reason}`);
  ctx.out('Offers are released when they expire; a put with the same terms reuses them until then.');
  if (tooFew)
    throw fail();
}

/**
 * --min-hosts against what put stores (or negotiate-storage asks for): at
 * least 1 (K with shards), at most --hosts (K + M). Out of range, one line says what it needs and what was
 * given, since `from 1 to 1` reads like a bug when --hosts is the default.
 */
function minHostsOpt(text: string, hosts: number, shards: { dataShards: number; parityShards: number } | undefined,
  hostsGiven: boolean, uses = 'put stores on'): number {
  if (!/^\d+$/.test(text))
    throw new CommandError('bad-arg', `--min-hosts must be a whole number, got "${text}"`);
  const n = Number(text);
  if (shards) {
    const k = shards.dataShards;
    if (n < k || n > hosts)
      throw new CommandError('bad-arg', `--min-hosts ${text} is outside ${k}..${hosts}: with --data-shards ${k} --parity-shards `
        + `${shards.parityShards} at least K = ${k} shards rebuild the file and put stores K + M = ${hosts}`);
    return n;
  }
  if (n < 1)
    throw new CommandError('bad-arg', '--min-hosts must be at least 1');
  if (n > hosts)
    throw new CommandError('bad-arg', `--min-hosts ${text} needs at least ${text} hosts, but ${uses} --hosts ${hosts}`
      + `${hostsGiven ? '' : ' (the default)'}: give --hosts ${text} or more`);
  return n;
}

/** put FILE [--hosts N | --data-shards K --parity-shards M] [--min-hosts M] [--duration B] [--max-price P] [--no-wait] [--keep-revisions N] [--json] */
export async function put(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = command('put', 'Encrypt FILE locally and store it on hosts: in open contracts by a revision (no transaction), '
    + 'else in new contracts committed by one transaction for all of them.')
    .argument('<file>', 'file to store')
    .option('--hosts <n>', 'how many hosts (replicas)', '1')
    .option('--data-shards <k>', 'store K + M Reed-Solomon shards, one per host, instead of whole replicas: any K rebuild the file')
    .option('--parity-shards <m>', 'with --data-shards: M parity shards (the file survives M lost hosts)')
    .option('--min-hosts <n>', 'fewest replicas (or shards) that count as success (default: --hosts, or K + M); with fewer, nothing is paid and put fails')
    .option('--duration <blocks>', 'contract length in blocks', String(DEFAULT_DURATION))
    .option('--max-price <price>', 'highest price a host may ask: storage in sat per GiB per 1000 blocks, upload and download in sat per GiB', String(DEFAULT_MAX_PRICE))
    .option('--allowance <sat>', 'escrow of each new contract, which pays this and later files on the host (default: room for 1 GiB for --duration at the host\'s prices, at least the 10000 sat minimum escrow)')
    .option('--new-contracts', 'form new contracts even where open ones have room (one contract per file per host, as before revisions)')
    .option('--no-wait', 'return once the commitment is broadcast, without waiting for it to confirm')
    .option('--keep-revisions <n>', 'keep only the newest N versions of this name: once this one is in force, older ones are deleted from their hosts (default: the node\'s --keep-revisions; 0 keeps all)')
    .option('--min-score <permille>', 'lowest reputation score (0..1000) a new host may have; an unknown host scores 400 (docs/REPUTATION.md)')
    .option('--json', 'print JSON');
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts();
  let hosts = uintOpt(o.hosts, '--hosts', 1, 16);
  let shards: { dataShards: number; parityShards: number } | undefined;
  if (o.dataShards !== undefined || o.parityShards !== undefined) {
    if (o.dataShards === undefined || o.parityShards === undefined)
      throw new CommandError('bad-arg', '--data-shards and --parity-shards go together');
    shards = { dataShards: uintOpt(o.dataShards, '--data-shards', 1, 15), parityShards: uintOpt(o.parityShards, '--parity-shards', 1, 15) };
    if (shards.dataShards + shards.parityShards > 16)
      throw new CommandError('bad-arg', '--data-shards + --parity-shards must be at most 16 (one host each)');
    if (cmd.getOptionValueSource('hosts') === 'cli' && hosts !== shards.dataShards + shards.parityShards)
      throw new CommandError('bad-arg', '--hosts is K + M with shards: give --data-shards and --parity-shards only');
    hosts = shards.dataShards + shards.parityShards;
  }
  const minHosts = o.minHosts === undefined ? hosts : minHostsOpt(o.minHosts, hosts, shards, cmd.getOptionValueSource('hosts') === 'cli');
  const input = fileArg(cmd.args[0]);
  try {
    const stat = fs.fstatSync(input.fd);
    if (!stat.isFile())
      throw new CommandError('no-file', `${cmd.args[0]} is not a regular file`);
    const summary = await withScratch(async (scratch) => {
      let bar: ProgressBar | null = null;
      const client = renterClient(ctx, () => scratch.stopped);
      Object.assign(client.events, {
        // Ctrl-C before the commitment: the node drops the unfinished put as rm does (and frees its contracts for the next one).
        added: (fileId: string) => scratch.onInterrupt({
          run: () => abandonPut(ctx, fileId), start: `abandoning the put: the node drops file ${fileId.slice(0, 12)}`, late: abandonLate(fileId)
        }),
        uploadStart: (total: number) => { bar = new ProgressBar(`upload x${Math.max(1, Math.round(total / (stat.size || 1)))}`, total, ctx.err); },
        uploaded: (n: number) => bar?.tick(n),
        committed: (txids: string[]) => {
          // From here the node owns the put: an interrupt only stops the waiting.
          scratch.onInterrupt({ run: async () => `the put is committed${txids.length ? ` (${txids.join(', ')})` : ' (in open contracts)'}: `
            + 'the node keeps the file (ls shows it)', start: '', late: '' });
          bar?.finish();
          if (o.wait && txids.length)
            ctx.err.write(`waiting for commitment ${txids.join(', ')} to confirm (use --no-wait to return now)\n`);
        }
      });
      return client.put({
        file: input.path, name: input.name, hosts, minHosts, shards, duration: uintOpt(o.duration, '--duration', 1, 1e6),
        maxPrice: priceOpt(o.maxPrice), workDir: scratch.dir('cloudcoin-put-'), wait: o.wait,
        allowance: o.allowance === undefined ? undefined : priceOpt(o.allowance, '--allowance'),
        reuse: o.newContracts !== true,
        minScore: o.minScore === undefined ? undefined : uintOpt(o.minScore, '--min-score', 0, 1000),
        keepRevisions: o.keepRevisions === undefined ? undefined : uintOpt(o.keepRevisions, '--keep-revisions', 0, 1e6)
      });
    });
    printPut(ctx, summary, o.json === true, input.name);
  } finally {
    fs.closeSync(input.fd);
  }
}

/**
 * What an interrupted put tells the user (after `interrupted: `): the
 * node drops it as rm does (deletefile settles its pending revisions with
 * the hosts at once), so the line says what became of it, from the
 * node's answer.
 */
async function abandonPut(ctx: CommandContext, fileId: string): Promise<string> {
  const id = fileId.slice(0, 12);
  let res: DeleteFileResult;
  try {
    res = await ctx.client.call('deletefile', [fileId]) as DeleteFileResult;
  } catch (e) {
    return `the put was abandoned, but the node could not drop file ${id} (${(e as Error).message}): it gives the put up when `
      + `its offer window ends (ls shows the block), or run \`cloudcoin-cli rm ${id}\``;
  }
  if (!res.forgotten)
    return `the put was abandoned; file ${id} stays listed until its hosts answer (${res.kept.map((k) => `${k.host}: ${k.reason}`).join('; ')})`;
  return `the put was abandoned and the node dropped file ${id} before any commitment`
    + (res.removed.length ? ` (the copies ${res.removed.length} host(s) had received were deleted from them by a revision; `
      + 'their upload stays charged)' : '')
    + '; its open contracts are free for the next put';
}

/** The interrupt's line when the node did not answer abandonPut's call in time (it goes on with it). */
function abandonLate(fileId: string): string {
  const id = fileId.slice(0, 12);
  return `the put was abandoned; the node had not confirmed dropping file ${id} yet: it goes on with it (see ls), and `
    + `\`cloudcoin-cli rm ${id}\` does it again if it is still listed`;
}

function printPut(ctx: CommandContext, summary: PutResult, json: boolean, name: Buffer): void {
  if (json) {
    ctx.out(JSON.stringify(summary, null, 2));
    return;
  }
  const sh = summary.shards;
  ctx.out(`file ${summary.fileId} (${escapeName(name)}${summary.revision ? ` version ${summary.revision}` : ''}, ${formatSize(summary.size)})`
    + (sh ? `: ${sh.dataShards}+${sh.parityShards} Reed-Solomon shards of ${formatSize(sh.shardSize)}, any ${sh.dataShards} rebuild it` : ''));
  ctx.out(`commitment ${summary.txids.join(', ') || '(none: every contract was reused)'}`);
  ctx.out(renderTable([
    { title: 'contract', value: (c: PutResult['contracts'][number]) => short(c.id) },
    { title: 'object', value: (c) => String(c.object), align: 'right' },
    ...(sh ? [{ title: 'shard', value: (c: PutResult['contracts'][number]) => String(c.shard), align: 'right' as const }] : []),
    { title: 'revision', value: (c) => (c.reused ? `${c.revision} (reused)` : `${c.revision} (new)`) },
    { title: 'host', value: (c) => c.host },
    { title: 'storage sat/GiB/1000blk', value: (c) => String(c.prices.storage), align: 'right' },
    { title: 'cost(sat)', value: (c) => String(c.cost), align: 'right' },
    { title: 'score', value: (c) => (c.score === null ? '-' : String(c.score)), align: 'right' },
    { title: 'escrow(sat)', value: (c) => String(c.escrowValue), align: 'right' },
    { title: 'state', value: (c) => c.state }
  ], summary.contracts));
  for (const c of summary.contracts)
    ctx.out(c.reused ? `  ${c.host}: ${c.formula}` : `  ${c.host}: ${c.formula}; allowance ${c.escrowValue} sat (escrow)`);
  for (const f of summary.failed)
    ctx.out(`  no replica on ${f.host}: ${f.reason}`);
  for (const f of summary.passed)
    ctx.out(`  not chosen ${f.host}: ${f.reason}`);
  for (const p of summary.pruned) {
    ctx.out(`  pruned version ${p.revision} (${short(p.fileId)}): removed from ${p.removed.length} contract(s)`
      + (p.forgotten ? '' : `, kept on ${p.kept.length} (run put or pruneversions again)`)
      + (p.referenced.length ? `; objects still read by kept versions stay on ${p.referenced.length} contract(s)` : ''));
  }
  const d = summary.delta;
  if (d) {
    const n = d.deltaReplicas + d.wholeReplicas;
    const num = (x: number) => x.toLocaleString('en-US');
    if (d.deltaReplicas === 0)
      ctx.out(`uploaded ${num(d.uploaded)} bytes (every copy whole) for ${num(summary.size)} bytes of file`);
    else if (d.wholeReplicas === 0)
      ctx.out(`uploaded ${num(d.uploaded / n)} of ${num(summary.size)} bytes (${(100 * d.uploaded / n / summary.size).toFixed(1)}%)`
        + `${n > 1 ? ` to each of ${n} hosts` : ''}: ${d.unchanged} of ${d.chunks} chunks unchanged since version ${d.base}`);
    else
      ctx.out(`uploaded ${num(d.uploaded)} of ${num(d.whole)} bytes (${(100 * d.uploaded / d.whole).toFixed(1)}%) over ${n} hosts: `
        + `${d.unchanged} of ${d.chunks} chunks unchanged since version ${d.base} on ${d.deltaReplicas}, whole on ${d.wholeReplicas}`);
    for (const n of d.notes)
      ctx.out(`  ${n}`);
  }
}

/** ls: stored files, their health, the contracts (and object, shard, revision) they live in, states, end heights and hosts' reachability. */
export async function ls(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = command('ls', 'List stored files with their health (shards or replicas held by connected hosts / stored, and how many are needed), '
    + 'the contracts they live in (object id, shard, revision), states, audits (passed/failed/missed) and the next audit height, '
    + 'end heights, blocks left, and what each replica has cost so far and will cost by its contract\'s end (sat).')
    .option('--json', 'print JSON');
  cmd.parse(argv, { from: 'user' });
  const files = await renterClient(ctx).listFiles();
  if (cmd.opts().json) {
    ctx.out(JSON.stringify(files, null, 2));
    return;
  }
  if (files.length === 0) {
    ctx.out('no files stored (cloudcoin-cli put FILE stores one)');
    return;
  }
  const rows = files.flatMap((f) => f.replicas.map((r) => ({ f, r })));
  ctx.out(renderTable([
    { title: 'file', value: (x: typeof rows[number]) => short(x.f.fileId) },
    { title: 'name', value: (x) => escapeName(Buffer.from(x.f.nameHex, 'hex')) },
    { title: 'ver', value: (x) => String(x.f.revision), align: 'right' },
    { title: 'size', value: (x) => formatSize(x.f.size), align: 'right' },
    { title: 'health', value: (x) => `${x.f.health.alive}/${x.f.health.total} (${x.f.health.needed} needed)`
      + (x.f.repairs.length ? `, ${x.f.repairs.length} repair(s)` : '') },
    { title: 'contract', value: (x) => short(x.r.contractId) },
    { title: 'object', value: (x) => String(x.r.object), align: 'right' },
    { title: 'shard', value: (x) => (x.r.shard === null ? '-' : String(x.r.shard)), align: 'right' },
    { title: 'rev', value: (x) => (x.r.revision === null ? '-' : String(x.r.revision)), align: 'right' },
    { title: 'host', value: (x) => x.r.host },
    { title: 'state', value: (x) => replicaState(x.r) },
    // passed/failed/missed, and the height the next one is due at.
    { title: 'audits', value: (x) => (x.r.audits ? `${x.r.audits.passed}/${x.r.audits.failed}/${x.r.audits.missed}` : '-'), align: 'right' },
    { title: 'next audit', value: (x) => (x.r.audits?.nextAudit == null ? '-' : String(x.r.audits.nextAudit)), align: 'right' },
    { title: 'end', value: (x) => String(x.r.endHeight), align: 'right' },
    { title: 'left', value: (x) => `${x.r.blocksLeft} blocks`, align: 'right' },
    { title: 'spent/to end sat', value: (x) => (x.r.cost ? `${x.r.cost.accrued}/${x.r.cost.toEnd}` : '-'), align: 'right' }
  ], rows));
  const accrued = files.reduce((n, f) => n + f.cost.accrued, 0);
  const toEnd = files.reduce((n, f) => n + f.cost.toEnd, 0);
  ctx.out(`spent so far ${accrued} sat, ${toEnd} sat by the contracts' ends (upload + storage per object; getcontract has what is paid)`);
}

/**
 * A replica's state as ls prints it: an `uploading` one says when the
 * node gives its put up if nobody finishes it (a put killed mid-upload
 * is not uploading any more, and the node cannot tell).
 */
function replicaState(r: FileInfo['replicas'][number]): string {
  const state = r.state === 'uploading' && r.givenUpAt != null ? `uploading (dropped at block ${r.givenUpAt} unless finished)` : r.state;
  return r.reachable ? state : `${state} (host unreachable)`;
}

/** `, put unfinished: ...` for a version none of whose copies finished uploading (log's health column), else ''. */
function unfinished(f: FileInfo): string {
  if (f.replicas.length === 0 || !f.replicas.every((r) => r.state === 'uploading'))
    return '';
  const at = f.replicas.map((r) => r.givenUpAt).filter((h): h is number => h != null);
  return `, put unfinished${at.length ? `: dropped at block ${Math.max(...at)} unless finished` : ''}`;
}

/** log NAME: every stored version of a name (a put of a name already stored makes its next version). */
export async function log(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = command('log', 'List the stored versions of a file name, oldest first: a put of a name already stored makes its next '
    + 'version, and `get NAME OUT --rev N` fetches one.')
    .argument('<name>', 'the file name as put recorded it (a path\'s last component)')
    .option('--json', 'print JSON');
  cmd.parse(argv, { from: 'user' });
  const name = nameArg(cmd.args[0]);
  const versions = await renterClient(ctx).versions(name);
  // The same error in both modes: `[]` with exit 0 read as a name stored with no version.
  if (versions.length === 0)
    throw new CommandError('no-file', `no file named ${escapeName(name)} is stored`);
  if (cmd.opts().json) {
    ctx.out(JSON.stringify(versions, null, 2));
    return;
  }
  ctx.out(renderTable([
    { title: 'rev', value: (f: FileInfo) => String(f.revision), align: 'right' },
    { title: 'file', value: (f) => short(f.fileId) },
    { title: 'size', value: (f) => formatSize(f.size), align: 'right' },
    { title: 'stored as', value: (f) => (f.dataShards ? `${f.dataShards}+${f.parityShards} shards` : `${f.replicas.length} replica(s)`) },
    { title: 'health', value: (f) => `${f.health.alive}/${f.health.total} (${f.health.needed} needed)${unfinished(f)}` },
    { title: 'contracts', value: (f) => [...new Set(f.replicas.map((r) => short(r.contractId)))].join(' ') },
    { title: 'ends', value: (f) => String(Math.max(0, ...f.replicas.map((r) => r.endHeight))), align: 'right' }
  ], versions));
}

/** repair FILE_ID [--file PATH]: rebuild the shards (or replicas) of a file that have no good copy and place them with other hosts. */
export async function repair(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = command('repair', 'Check every shard of a file stored as shards (download, verify its root), rebuild each one without a good '
    + 'copy from K good ones and store it with a host that holds no shard of the file: an open contract by a revision, else a new contract. '
    + 'A file of whole replicas: each replica without a good copy is uploaded anew (fresh key) from the local file (--file) or a '
    + 'surviving replica to a host that holds none. Each repair is logged (getfile, ls).')
    .argument('<fileid>', 'file id or unique prefix')
    .option('--file <path>', 'a file of whole replicas: the local copy to upload from (used only if it matches the stored content)')
    .option('--duration <blocks>', 'length of new contracts in blocks', String(DEFAULT_DURATION))
    .option('--max-price <price>', 'highest price a host may ask (as put)', String(DEFAULT_MAX_PRICE))
    .option('--allowance <sat>', 'escrow of each new contract (default as put)')
    .option('--no-wait', 'return once the commitment is broadcast')
    .option('--json', 'print JSON');
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts();
  const fileId = hexIdArg(cmd.args[0], 'file id');
  const res = await withScratch(async (scratch) => {
    let bar: ProgressBar | null = null;
    const client = renterClient(ctx);
    Object.assign(client.events, {
      uploadStart: (total: number) => { bar = new ProgressBar('upload', total, ctx.err); },
      uploaded: (n: number) => bar?.tick(n),
      committed: () => bar?.finish()
    });
    return client.repair(fileId, {
      duration: uintOpt(o.duration, '--duration', 1, 1e6), maxPrice: priceOpt(o.maxPrice), workDir: scratch.dir('cloudcoin-repair-'),
      allowance: o.allowance === undefined ? undefined : priceOpt(o.allowance, '--allowance'), wait: o.wait,
      ...(o.file === undefined ? {} : { source: String(o.file) })
    });
  });
  // As rclone: a copy left unrepaired is a failure (exit 1), after the result.
  const unrepaired = res.lost.length - res.repaired.length;
  const partial = () => new CommandError('partial', `${unrepaired} of ${res.lost.length} lost ${res.replicas ? 'replica(s)' : 'shard(s)'} `
    + `not repaired${res.failed.length ? ` (${res.failed.map((f) => `${f.host}: ${f.reason}`).join('; ')})` : ''}; run repair again`);
  if (o.json) {
    ctx.out(JSON.stringify(res, null, 2));
    if (unrepaired > 0)
      throw partial();
    return;
  }
  ctx.out(!res.replicas
    ? `file ${res.fileId}: shards ${res.verified.join(', ') || 'none'} verified`
      + (res.lost.length ? `, ${res.lost.map((l) => `${l.shard} lost (${l.reason})`).join(', ')}` : ', nothing to repair')
    : `file ${res.fileId}: replicas ${res.verifiedContracts.map(short).join(', ') || 'none'} verified`
      + (res.lost.length ? `, ${res.lost.map((l) => `${short(l.contract ?? '')} lost (${l.reason})`).join(', ')}` : ', nothing to repair'));
  if (res.source !== undefined)
    ctx.out(`  uploaded from ${res.source === 'local file' ? 'the local file' : `the replica in ${short(res.source)}`}, each copy under a fresh key`);
  for (const r of res.repaired)
    ctx.out(r.shard === null
      ? `  replica of ${r.replaced.map(short).join(', ')} uploaded into contract ${short(r.contract)} on ${r.host}${r.reused ? ' (open contract, revision)' : ' (new contract)'}`
      : `  shard ${r.shard} rebuilt into contract ${short(r.contract)} on ${r.host}${r.reused ? ' (open contract, revision)' : ' (new contract)'}`);
  for (const f of res.failed)
    ctx.out(`  nothing placed on ${f.host}: ${f.reason}`);
  if (res.txids.length)
    ctx.out(`commitment ${res.txids.join(', ')}`);
  ctx.out(`health ${res.health.alive}/${res.health.total} (${res.health.needed} needed)`);
  if (unrepaired > 0)
    throw partial();
}

/** rm FILE_ID: delete a file from its hosts (a revision per contract), then forget it. */
export async function rm(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = command('rm', 'Delete a file from its hosts (each host frees the space and stops charging for it), then forget it. '
    + 'The RPC forgetfile only forgets a file locally, and only when nothing of it is paid for.')
    .argument('<file>', 'file id or unique prefix (see ls)')
    .option('--json', 'print JSON');
  cmd.parse(argv, { from: 'user' });
  const id = hexIdArg(cmd.args[0], 'file id');
  const res = await withScratch(async (scratch) => {
    // Ctrl-C only stops the waiting: a removal the node was asked for goes on, host by host.
    scratch.onInterrupt({ run: async () => rmInterrupted(id), start: '', late: rmInterrupted(id) });
    return await ctx.client.call('deletefile', [id]) as DeleteFileResult;
  });
  if (cmd.opts().json) {
    ctx.out(JSON.stringify(res, null, 2));
    return;
  }
  for (const r of res.removed)
    ctx.out(`removed from ${r.host}: contract ${short(r.id)} revision ${r.revision}`
      + (r.objects && r.objects.length > 1 ? ` (objects ${r.objects.join(', ')}: earlier versions' chunks only this one still read)` : ''));
  for (const r of res.referenced ?? [])
    ctx.out(`kept on ${r.host} (contract ${short(r.id)}): object(s) ${r.objects.join(', ')} still read by a kept version`);
  for (const k of res.kept)
    ctx.out(`kept on ${k.host} (contract ${short(k.id)}): ${k.reason}`);
  ctx.out(res.forgotten ? `file ${res.fileId} deleted` : `file ${res.fileId} still has ${res.kept.length} replica(s); run rm again`);
  if (!res.forgotten)
    throw new CommandError('partial', `file ${short(res.fileId)} is still held by ${res.kept.length} host(s)`);
}

/** What an interrupted rm tells the user (after `interrupted: `): the outcome is the node's, and how to learn it. */
function rmInterrupted(id: string): string {
  return `rm stopped waiting, but the node may still remove file ${id} from its hosts (it forgets the file once all have `
    + `dropped it): if \`cloudcoin-cli ls\` still lists it, run \`cloudcoin-cli rm ${id}\` again`;
}

/**
 * A contract id (full, or a unique prefix as `getcontract` takes) made
 * full, or null when no contract matches and the argument is for a file
 * id instead. Other RPC errors (an ambiguous prefix...) pass through.
 */
async function contractId(ctx: CommandContext, arg: string): Promise<string | null> {
  try {
    return (await ctx.client.call('getcontract', [arg]) as { id: string }).id;
  } catch (e) {
    // -5: no such contract; -8: not hex or too short for a contract id.
    if (e instanceof RPCClientError && (e.rpcCode === -5 || e.rpcCode === -8))
      return null;
    throw e;
  }
}

/**
 * The `getfile`-style "No such file" answer (same words, same -5 code as
 * get, rm and repair print), said of both kinds of id the command takes.
 */
function noContractOrFile(e: unknown, arg: string): unknown {
  return e instanceof RPCClientError && e.rpcCode === -5
    ? new RPCClientError('rpc', `No such contract or file: ${arg}.`, -5) : e;
}

/** renew CONTRACT|FILE [--duration B] [--allowance SAT] */
export async function renew(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = command('renew', 'Renew a contract (or every contract of a file) before it ends: a new contract with the same host '
    + 'carries all its objects without a re-upload; one transaction.')
    .argument('<id>', 'contract id, or file id or unique prefix')
    .option('--duration <blocks>', 'length of the new contract (default: the old one\'s)')
    .option('--allowance <sat>', 'escrow of the new contract (default: the old one\'s, or more if the objects need it)')
    .option('--json', 'print JSON');
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts();
  hexIdArg(cmd.args[0], 'contract or file id');
  const params: unknown[] = [(await contractId(ctx, cmd.args[0])) ?? cmd.args[0]];
  if (o.duration !== undefined || o.allowance !== undefined)
    params.push(o.duration === undefined ? null : uintOpt(o.duration, '--duration', 1, 1e6));
  if (o.allowance !== undefined)
    params.push(priceOpt(o.allowance, '--allowance'));
  const res = await ctx.client.call('renewcontract', params).catch((e: unknown) => {
    throw noContractOrFile(e, cmd.args[0]);
  }) as RenewContractResult;
  // As repair: a contract left unrenewed is a failure (exit 1), after the result, so a script never takes it for a renewal.
  const notRenewed = () => new CommandError('partial', (res.renewed.length === 0 ? 'nothing was renewed'
    : `${res.failed.length} of ${res.failed.length + res.renewed.length} contract(s) not renewed`)
    + `: ${res.failed.map((f) => `${short(f.old)}: ${f.reason}`).join('; ')}`);
  if (o.json) {
    ctx.out(JSON.stringify(res, null, 2));
    if (res.failed.length > 0)
      throw notRenewed();
    return;
  }
  for (const r of res.renewed)
    ctx.out(`renewed ${short(r.old)} as ${short(r.id)} on ${r.host}: ${r.objects} object(s), ends at ${r.endHeight}, allowance ${r.allowance} sat`);
  for (const f of res.failed)
    ctx.out(`not renewed ${short(f.old)} on ${f.host}: ${f.reason}`);
  if (res.txids.length)
    ctx.out(`commitment ${res.txids.join(', ')}`);
  if (res.failed.length > 0)
    throw notRenewed();
}

/** audits FILE_ID|CONTRACT_ID [--json]: the audits of a contract, or of every contract holding a file. */
export async function audits(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = command('audits', 'Show the audits of a contract (or of every contract holding a file): one per interval, '
    + 'with height, outcome (passed, failed = wrong data, missed = no answer), latency and bytes read.')
    .argument('<id>', 'contract id, or file id or unique prefix')
    .option('--json', 'print JSON');
  cmd.parse(argv, { from: 'user' });
  const arg = hexIdArg(cmd.args[0], 'contract or file id');
  let results: AuditsResult[];
  let byFile = false;
  const id = await contractId(ctx, arg);
  if (id !== null) {
    results = [await ctx.client.call('getaudits', [id]) as AuditsResult];
  } else {
    const file = await ctx.client.call('getfile', [arg]).catch((e: unknown) => {
      throw noContractOrFile(e, arg);
    }) as { replicas: Array<{ contractId: string }> };
    byFile = true;
    results = [];
    for (const id of [...new Set(file.replicas.map((r) => r.contractId))])
      results.push(await ctx.client.call('getaudits', [id]) as AuditsResult);
  }
  if (cmd.opts().json) {
    // A contract's audits as one object; a file's as a list, one per contract.
    ctx.out(JSON.stringify(byFile ? results : results[0], null, 2));
    return;
  }
  for (const r of results) {
    ctx.out(`contract ${r.contractId} on ${r.host}: ${r.intervals} intervals of ${r.auditInterval} blocks from ${r.startHeight} `
      + `to ${r.endHeight}; ${r.passed} passed, ${r.failed} failed, ${r.missed} missed; `
      + (r.nextAudit === null ? 'no audit left' : `next audit at height ${r.nextAudit}`) + ` (height ${r.height})`);
    ctx.out(paidLine(r.payment));
    ctx.out(renderTable([
      { title: 'interval', value: (a: AuditsResult['audits'][number]) => (a.from === a.interval ? `${a.interval}` : `${a.from}-${a.interval}`), align: 'right' },
      { title: 'height', value: (a) => String(a.height), align: 'right' },
      { title: 'rev', value: (a) => String(a.revision), align: 'right' },
      { title: 'leaves', value: (a) => String(a.leaves.length), align: 'right' },
      { title: 'outcome', value: (a) => a.outcome },
      { title: 'latency', value: (a) => `${a.latencyMs} ms`, align: 'right' },
      { title: 'bytes', value: (a) => String(a.bytes), align: 'right' },
      { title: 'reason', value: (a) => a.reason || '-' }
    ], r.audits));
  }
}

/**
 * The `paid:` line of `audits`: the renter's latest channel state, the
 * audit intervals it pays for (none before the first interval ends, when
 * a state pays only reads prepaid for a get) and the part that is reads.
 */
export function paidLine(p: AuditsResult['payment']): string {
  if (!p)
    return 'paid: nothing yet';
  const what = p.intervals === 0 ? '' : p.intervals === 1 ? ' for interval 0' : ` for intervals 0..${p.intervals - 1}`;
  const ended = p.intervals === 0 ? '; no audit interval has ended yet' : '';
  return `paid: state ${p.number} pays ${p.paid} sat${what} (${p.prepaid} sat of it prepaid reads${ended})`
    + (p.acknowledged ? '' : ' (not acknowledged by the host yet)');
}

export const storageCommands: Record<string, (ctx: CommandContext, argv: string[]) => Promise<void>> = {
  'negotiate-storage': negotiateStorage,
  put,
  get: getCommand,
  ls,
  rm,
  renew,
  audits,
  repair,
  log,
  recover,
  earnings
};

export { CommandError, type CommandContext } from './cmdutil';
