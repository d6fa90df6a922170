/*!
 * storagecmds.ts - cloudcoin-cli's storage commands: negotiate-storage,
 * put, get and ls. They drive the local cloudcoind over RPC; file bytes
 * are encrypted and decrypted here, on the renter's machine, and go
 * straight to the hosts' file servers.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { Command } from 'commander';
import { FileServerClient } from '../storage/client';
import { cipherSize } from '../storage/common';
import { decryptFile, encryptFile, hashFile } from '../storage/fileops';
import { LeafHasherPool } from '../storage/hashpool';
import { ManifestFile, Replica } from '../storage/manifest';
import { CodedError } from '../base/errors';
import { formatSize, parseAmount, parseSize } from '../base/units';
import { ProgressBar } from './progress';
import { RPCClientError, type RPCClient } from './rpcclient';
import { renderTable } from './table';

/** Defaults a renter would pick for a first try on regtest. */
const DEFAULT_DURATION = 200;
const DEFAULT_MAX_PRICE = 5000;
/** How long `put --wait` waits for the commitment to reach depth. */
const WAIT_ACTIVE_MS = 10 * 60 * 1000;
const POLL_MS = 500;
/** Blocks of slack an offer must have left for its commitment to confirm in. */
const COMMIT_MARGIN = 2;
/** Fee headroom checked before a put: a 16-contract commitment is ~850 vB. */
const FEE_MARGIN = 10000;

/** Why a storage command failed. */
export type CommandCode =
  | 'bad-arg'
  | 'bad-file-id'
  | 'bad-price'
  | 'bad-size'
  | 'commit-failed'
  | 'commit-unclear'
  | 'contract-void'
  | 'get-failed'
  | 'insufficient-funds'
  | 'no-file'
  | 'no-hosts'
  | 'put-failed';

/** A user-facing failure: printed as one line, exit 1. */
export class CommandError extends CodedError<CommandCode> {
  constructor(code: CommandCode, message: string) {
    super(code, message);
  }
}

export interface CommandContext {
  client: RPCClient;
  out: (line: string) => void;
  err: NodeJS.WritableStream & { isTTY?: boolean };
}

interface OfferRow {
  host: string;
  hostKey: string;
  addr: string;
  prices: { storage: number; upload: number; download: number };
  bids: number[];
  cost: number;
  escrow: number;
  formula: string;
  reservedUntil: number;
  dataURL: string;
  offer: string;
}

interface NegotiateResult {
  size: number;
  duration: number;
  maxPrice: number;
  offers: OfferRow[];
  declined: Array<{ host: string; addr: string; reason: string }>;
  quoted: number;
  peers: number;
}

interface ProposeResult {
  id: string;
  contract: string;
  host: string;
  hostKey: string;
  dataURL: string;
  dataToken: string;
  manifestToken: string;
  escrowValue: number;
  cost: number;
}

function sizeOpt(text: string): number {
  const n = parseSize(text);
  if (n === null || n <= 0)
    throw new CommandError('bad-size', `--size must be a size such as 10MB, got "${text}"`);
  return n;
}

function uintOpt(text: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw new CommandError('bad-arg', `${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  return Number(text);
}

function priceOpt(text: string): number {
  const n = parseAmount(text);
  if (n === null)
    throw new CommandError('bad-price', `--max-price must be an amount such as 5000sat, got "${text}"`);
  return n;
}

function short(hex: string): string {
  return `${hex.slice(0, 12)}…`;
}

async function negotiate(ctx: CommandContext, size: number, duration: number, maxPrice: number,
  hosts: number): Promise<NegotiateResult> {
  const res = await ctx.client.call('negotiatestorage', [size, duration, maxPrice, hosts]) as NegotiateResult;
  if (res.offers.length === 0) {
    const why = res.peers === 0
      ? 'no CloudStorage peers are connected (start hosts with cloudcoind --host and connect to them)'
      : res.quoted === 0
        ? `none of ${res.peers} CloudStorage peers is hosting`
        : `no host accepted: ${res.declined.map((d) => `${d.host} ${d.reason}`).join('; ') || 'all too expensive'}`;
    throw new CommandError('no-hosts', `no storage offers: ${why}`);
  }
  return res;
}

function offerTable(offers: OfferRow[]): string {
  return renderTable([
    { title: 'host', value: (o: OfferRow) => o.host },
    { title: 'addr', value: (o) => o.addr },
    { title: 'storage', value: (o) => String(o.prices.storage), align: 'right' },
    { title: 'upload', value: (o) => String(o.prices.upload), align: 'right' },
    { title: 'download', value: (o) => String(o.prices.download), align: 'right' },
    { title: 'bids', value: (o) => o.bids.join('>') },
    { title: 'cost(sat)', value: (o) => String(o.cost), align: 'right' },
    { title: 'reserved until', value: (o) => `block ${o.reservedUntil}`, align: 'right' }
  ], offers);
}

/** negotiate-storage --size S --duration B --max-price P [--hosts N] [--json] */
export async function negotiateStorage(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = new Command('negotiate-storage')
    .description('Get signed storage offers from the cheapest hosts; nothing is paid or committed.')
    .requiredOption('--size <size>', 'bytes to store, e.g. 10MB')
    .option('--duration <blocks>', 'contract length in blocks', String(DEFAULT_DURATION))
    .requiredOption('--max-price <price>', 'highest price a host may ask: storage in sat per GiB per 1000 blocks, upload and download in sat per GiB')
    .option('--hosts <n>', 'how many hosts', '1')
    .option('--json', 'print JSON')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts();
  const res = await negotiate(ctx, sizeOpt(o.size), uintOpt(o.duration, '--duration', 1, 1e6),
    priceOpt(o.maxPrice), uintOpt(o.hosts, '--hosts', 1, 16));
  if (o.json) {
    ctx.out(JSON.stringify(res, null, 2));
    return;
  }
  ctx.out(`${res.offers.length} offer(s) for ${formatSize(res.size)} over ${res.duration} blocks `
    + `(max ${res.maxPrice} sat/GiB/1000 blocks; ${res.quoted} of ${res.peers} peers quoted):`);
  ctx.out(offerTable(res.offers));
  for (const o2 of res.offers)
    ctx.out(`  ${o2.host}: ${o2.formula}`);
  for (const d of res.declined)
    ctx.out(`  declined ${d.host}: ${d.reason}`);
}

interface Placed {
  offer: OfferRow;
  proposal: ProposeResult;
  replica: Replica;
}

/** put FILE [--hosts N] [--duration B] [--max-price P] [--wait] [--json] */
export async function put(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = new Command('put')
    .description('Encrypt FILE locally, store it on hosts, then commit one transaction for all contracts.')
    .argument('<file>', 'file to store')
    .option('--hosts <n>', 'how many hosts (replicas)', '1')
    .option('--duration <blocks>', 'contract length in blocks', String(DEFAULT_DURATION))
    .option('--max-price <price>', 'highest price a host may ask: storage in sat per GiB per 1000 blocks, upload and download in sat per GiB', String(DEFAULT_MAX_PRICE))
    .option('--no-wait', 'return once the commitment is broadcast, without waiting for it to confirm')
    .option('--json', 'print JSON')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts();
  const file = cmd.args[0];
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new CommandError('no-file', `cannot read ${file}`);
  }
  if (!stat.isFile())
    throw new CommandError('no-file', `${file} is not a regular file`);
  const hosts = uintOpt(o.hosts, '--hosts', 1, 16);
  const duration = uintOpt(o.duration, '--duration', 1, 1e6);
  const maxPrice = priceOpt(o.maxPrice);
  const objectSize = cipherSize(stat.size);

  const neg = await negotiate(ctx, objectSize, duration, maxPrice, hosts);
  // Check funds before any byte moves: escrows plus a fee margin.
  const needed = neg.offers.reduce((sum, x) => sum + x.escrow, 0) + FEE_MARGIN;
  const balance = Math.round(Number(await ctx.client.call('getbalance', [])) * 1e8);
  if (balance < needed)
    throw new CommandError('insufficient-funds', `insufficient funds: the escrows need ${needed} sat with fees, the wallet has ${balance} sat`);
  const fileId = randomBytes(32);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudcoin-put-'));
  const placed: Placed[] = [];
  const failed: string[] = [];
  try {
    // Every host at once: encryption keeps both cores busy, and a slow or
    // dead host does not hold up the others. One bar for all bytes.
    const bar = new ProgressBar(`upload x${neg.offers.length}`, objectSize * neg.offers.length, ctx.err);
    const pool = new LeafHasherPool();
    let results: PromiseSettledResult<Placed>[];
    try {
      results = await Promise.allSettled(neg.offers.map((offer, i) =>
        placeReplica(ctx, file, fileId, offer, path.join(work, `replica-${i}`), bar, pool)));
    } finally {
      await pool.close();
    }
    bar.finish();
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') {
        placed.push(r.value);
        return;
      }
      const host = neg.offers[i].host;
      const msg = r.reason instanceof Error ? r.reason.message : String(r.reason);
      failed.push(`${host}: ${msg}`);
      ctx.err.write(`warning: host ${host} failed, nothing committed to it: ${msg}\n`);
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  // An offer's contract must confirm by its expiry: drop any that ran out
  // while other hosts were uploading, rather than fail the whole batch.
  // Keep COMMIT_MARGIN blocks of slack so the commitment need not make the
  // very next block.
  const height = Number(await ctx.client.call('getblockcount', []));
  const inTime = (p: Placed) => p.offer.reservedUntil >= height + COMMIT_MARGIN;
  for (const p of placed.filter((p) => !inTime(p))) {
    failed.push(`${p.offer.host}: offer expires at block ${p.offer.reservedUntil}, too soon to commit at ${height}`);
    ctx.err.write(`warning: host ${p.offer.host}'s offer expires too soon to commit, nothing committed to it\n`);
  }
  const live = placed.filter(inTime);
  if (live.length === 0)
    throw new CommandError('put-failed', `no host stored the file; nothing was paid (${failed.join('; ')})`);

  // Save the keys' salts before any money moves, so a crash after the
  // commitment never leaves paid-for data nobody can decrypt.
  const entry = new ManifestFile();
  entry.fileId = fileId;
  entry.revision = 0;
  entry.name = path.basename(file);
  entry.size = stat.size;
  entry.replicas = live.map((p) => p.replica);
  const added = await ctx.client.call('addfile', [entry.encode().toString('hex')]) as { fileId: string; manifest: string };

  // Every receipt is in: only now is money locked.
  let commit: { txids: string[]; ids: string[] };
  try {
    commit = await ctx.client.call('commitcontracts', live.map((p) => p.proposal.contract)) as { txids: string[]; ids: string[] };
  } catch (e) {
    // Forget the file only if no contract of it reached the node's index
    // or mempool: an RPC error after the broadcast must not lose the keys.
    const known = await Promise.all(live.map((p) => ctx.client.call('getcontract', [p.proposal.id]).then(() => true, () => false)));
    if (known.some(Boolean))
      throw new CommandError('commit-unclear', `the commitment call failed (${(e as Error).message}) but the node knows some of its contracts: check \`cloudcoin-cli ls\` before retrying; file ${added.fileId}`);
    await ctx.client.call('removefile', [added.fileId]);
    throw new CommandError('commit-failed', `the commitment failed, nothing was paid: ${(e as Error).message}`);
  }
  const manifest = Buffer.from(added.manifest, 'hex');
  for (const p of live) {
    try {
      await new FileServerClient(p.proposal.dataURL).putManifest(p.proposal.manifestToken, p.proposal.id, manifest);
    } catch (e) {
      ctx.err.write(`warning: manifest copy on ${p.offer.host} failed: ${(e as Error).message}\n`);
    }
  }

  let states: string[] = [];
  if (o.wait) {
    ctx.err.write(`waiting for commitment ${commit.txids.join(', ')} to confirm (use --no-wait to return now)\n`);
    states = await waitActive(ctx, commit.ids);
  }

  const summary = {
    fileId: added.fileId,
    name: entry.name,
    size: stat.size,
    objectSize,
    txids: commit.txids,
    contracts: live.map((p, i) => ({
      id: p.proposal.id,
      host: p.offer.host,
      addr: p.offer.addr,
      prices: p.offer.prices,
      cost: p.proposal.cost,
      escrowValue: p.proposal.escrowValue,
      formula: p.offer.formula,
      state: states[i] ?? 'committed'
    })),
    failed
  };
  if (o.json) {
    ctx.out(JSON.stringify(summary, null, 2));
    return;
  }
  ctx.out(`file ${summary.fileId}`);
  ctx.out(`commitment ${summary.txids.join(', ')}`);
  ctx.out(renderTable([
    { title: 'contract', value: (c: typeof summary.contracts[number]) => short(c.id) },
    { title: 'host', value: (c) => c.host },
    { title: 'storage', value: (c) => String(c.prices.storage), align: 'right' },
    { title: 'cost(sat)', value: (c) => String(c.cost), align: 'right' },
    { title: 'escrow(sat)', value: (c) => String(c.escrowValue), align: 'right' },
    { title: 'state', value: (c) => c.state }
  ], summary.contracts));
  for (const c of summary.contracts)
    ctx.out(`  ${c.host}: ${c.formula}; escrow = max(cost, minimum escrow)`);
}

/** Encrypt, propose, upload and get a receipt for one host. */
async function placeReplica(ctx: CommandContext, file: string, fileId: Buffer, offer: OfferRow, work: string,
  bar: ProgressBar, pool: LeafHasherPool): Promise<Placed> {
  const salt = randomBytes(32);
  const key = Buffer.from(await ctx.client.call('derivefilekey', [fileId.toString('hex'), 0, salt.toString('hex')]) as string, 'hex');
  // A scratch copy deleted after the upload: no fsync needed.
  const enc = await encryptFile(key, file, work, { pool, sync: false });
  const proposal = await ctx.client.call('proposestorage', [offer.offer, enc.root.toString('hex'), enc.size]) as ProposeResult;
  let sent = 0;
  await new FileServerClient(proposal.dataURL).uploadFile(proposal.dataToken, proposal.id, 1, work, undefined,
    (done) => {
      bar.tick(done - sent);
      sent = done;
    });
  await ctx.client.call('getstoragereceipt', [proposal.contract]);
  const replica = new Replica();
  replica.contractId = Buffer.from(proposal.id, 'hex');
  replica.hostPk = Buffer.from(proposal.hostKey, 'hex');
  replica.salt = salt;
  replica.root = enc.root;
  replica.objectSize = enc.size;
  return { offer, proposal, replica };
}

async function waitActive(ctx: CommandContext, ids: string[]): Promise<string[]> {
  const deadline = Date.now() + WAIT_ACTIVE_MS;
  for (;;) {
    const states: string[] = [];
    for (const id of ids) {
      try {
        const info = await ctx.client.call('getcontract', [id]) as { state: string };
        states.push(info.state);
      } catch {
        states.push('unconfirmed');
      }
    }
    if (states.every((s) => s === 'active'))
      return states;
    // A commitment that confirmed after its offer expired voids the
    // contracts: say so now (the escrow comes back with refundcontract).
    const voided = ids.filter((_, i) => states[i] === 'void');
    if (voided.length)
      throw new CommandError('contract-void', `contract ${voided.map(short).join(', ')} is void (its commitment confirmed after the offer expired); recover the escrow with refundcontract after its refund height`);
    // Committed is committed: report it (exit 0) rather than fail and
    // tempt a retry that would pay twice.
    if (Date.now() > deadline) {
      ctx.err.write(`warning: not active after ${WAIT_ACTIVE_MS / 60000} min (${states.join(', ')}); \`cloudcoin-cli ls\` shows when they are\n`);
      return states;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

interface FileJSON {
  fileId: string;
  revision: number;
  name: string;
  size: number;
  replicas: Array<{ contractId: string; hostPk: string; salt: string; root: string; objectSize: number }>;
}

/** get FILE_ID OUT: download from any live host, verify, decrypt. */
export async function get(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = new Command('get')
    .description('Download a stored file from any live host, verify it against its Merkle root and decrypt it.')
    .argument('<fileid>', 'file id printed by put')
    .argument('<out>', 'where to write the file')
    .option('--json', 'print JSON')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  cmd.parse(argv, { from: 'user' });
  const [fileId, out] = cmd.args;
  if (!/^[0-9a-f]{64}$/.test(fileId))
    throw new CommandError('bad-file-id', `file id must be 64 hex characters, got "${fileId}"`);
  const f = await ctx.client.call('getfile', [fileId]) as FileJSON;
  const work = fs.mkdtempSync(path.join(path.dirname(path.resolve(out)), '.cloudcoin-get-'));
  const errors: string[] = [];
  try {
    for (const r of f.replicas) {
      try {
        const t = await ctx.client.call('getstoragetoken', [r.hostPk, r.contractId]) as { dataURL: string; token: string };
        const enc = path.join(work, 'object');
        const client = new FileServerClient(t.dataURL);
        // Never let a host make us fetch more than the contract's object.
        const head = await client.head(t.token, r.contractId, 1);
        if (head.size !== r.objectSize)
          throw new Error(`host reports ${head.size} bytes, the contract holds ${r.objectSize}`);
        const bar = new ProgressBar('download', r.objectSize, ctx.err);
        const size = await client.downloadFile(t.token, r.contractId, 1, enc, { size: r.objectSize });
        bar.tick(size);
        bar.finish();
        const digest = await hashFile(enc);
        if (size !== r.objectSize || digest.root.toString('hex') !== r.root)
          throw new Error('downloaded bytes do not match the contract root');
        const key = Buffer.from(await ctx.client.call('derivefilekey', [fileId, f.revision, r.salt]) as string, 'hex');
        const plain = path.join(work, 'plain');
        await decryptFile(key, enc, plain);
        fs.renameSync(plain, out);
        const res = { fileId, out, size: f.size, contract: r.contractId, host: r.hostPk };
        ctx.out(cmd.opts().json ? JSON.stringify(res, null, 2)
          : `wrote ${out} (${formatSize(f.size)}) from contract ${short(r.contractId)}, root verified`);
        return;
      } catch (e) {
        const msg = e instanceof RPCClientError ? e.message : (e as Error).message;
        errors.push(`${short(r.contractId)}: ${msg}`);
        ctx.err.write(`warning: replica ${short(r.contractId)} failed (${msg}); trying the next\n`);
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  throw new CommandError('get-failed', `no replica could be fetched: ${errors.join('; ')}`);
}

/** ls: stored files and their contracts' states. */
export async function ls(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = new Command('ls')
    .description('List stored files with their contracts and states.')
    .option('--json', 'print JSON')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  cmd.parse(argv, { from: 'user' });
  const files = await ctx.client.call('listfiles', []) as Array<{
    fileId: string; name: string; size: number; replicas: Array<{ contractId: string; host: string; state: string }>
  }>;
  if (cmd.opts().json) {
    ctx.out(JSON.stringify(files, null, 2));
    return;
  }
  const rows = files.flatMap((f) => f.replicas.map((r) => ({ f, r })));
  ctx.out(renderTable([
    { title: 'file', value: (x: typeof rows[number]) => short(x.f.fileId) },
    { title: 'name', value: (x) => x.f.name },
    { title: 'size', value: (x) => formatSize(x.f.size), align: 'right' },
    { title: 'contract', value: (x) => short(x.r.contractId) },
    { title: 'host', value: (x) => x.r.host },
    { title: 'state', value: (x) => x.r.state }
  ], rows));
}

export const storageCommands: Record<string, (ctx: CommandContext, argv: string[]) => Promise<void>> = {
  'negotiate-storage': negotiateStorage,
  put,
  get,
  ls
};
