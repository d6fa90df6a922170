/*!
 * renterput.ts - the renter's put: at once, negotiate (reusing open
 * contracts and offers), the delta plan and addfile, and as soon as the
 * file's revision is known the first replicas' keys and first passes
 * (encrypt to learn the root) -> per host, at once (putParallel):
 * proposestorage or proposerevision (the node records the replica and its
 * salt before any byte moves), encrypt again while uploading over HTTP
 * (transfer.ts), getstoragereceipt -> commitfile (the node funds one
 * commitment, and answers the replicas' states; from here the node owns
 * the outcome) -> the sealed manifest to every host -> wait for depth.
 * From addfile until commitfile the client renews the put's lease
 * (renterlease.ts): killed outright, it stops, and the node gives the put
 * up as its Ctrl-C would, freeing the open contracts it held.
 *
 * A new version of a name stored as whole replicas uploads, to each host
 * holding the newest earlier version, only its changed chunks
 * (renterdelta.ts; docs/REDUNDANCY.md "Delta uploads").
 *
 * A file stored as Reed-Solomon shards (--data-shards K --parity-shards M,
 * docs/REDUNDANCY.md) is encrypted once and coded into K + M shard
 * objects, one per host (each an object of that host's contract, like a
 * replica).
 */

import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { cipherSize } from '../storage/common';
import { encryptFile, hashFile } from '../storage/fileops';
import { encryptedRoot } from '../storage/transfer';
import type { EncryptResult } from '../storage/fileops';
import { checkScheme, encodeShards, shardSize, type ShardScheme } from '../storage/erasure';
import { LeafHasherPool } from '../storage/hashpool';
import { fileChunks } from '../storage/delta';
import { type DeltaPlan, mapFor, planDelta, stageOwn } from './renterdelta';
import type { PruneVersionsResult, ReplicaState } from './rpctypes';
import type { RenterCore } from './rentercore';
import { LeaseKeeper } from './renterlease';
import {
  RenterClientError, WAIT_ACTIVE_MS, message, type DeltaSummary, type Placed, type PutOptions, type PutResult, type Target
} from './rentertypes';

/**
 * Most replicas encrypted and uploaded at once. Each holds two 8 MiB
 * parts of ciphertext in flight (the next one is encrypted while the last
 * one travels), or its first pass's read batch and hashing queue, and
 * the collector frees spent buffers late: 3 at once put a 1 GiB put to 3
 * hosts over the CLI's 200 MB RSS bar, 2 keep it under with both cores
 * busy (docs/BENCHMARKS.md has the figures).
 */
export const PUT_PARALLEL = 2;

/**
 * More replicas go at once while their objects together stay within
 * this many bytes (a 1 MB file goes to every host at once): a small
 * replica's time is its RPCs and host round trips, not its bytes, and it
 * holds at most its own size in flight.
 */
export const PUT_SMALL_BYTES = 32 * 1024 * 1024;

/** Replicas of `objectSize` bytes encrypted and uploaded at once (PUT_PARALLEL, PUT_SMALL_BYTES). */
export function putParallel(objectSize: number): number {
  return Math.max(PUT_PARALLEL, Math.floor(PUT_SMALL_BYTES / Math.max(1, objectSize)));
}

/**
 * Store a file: open contracts first (one object per file, a revision,
 * no transaction), new contracts for the hosts still missing (one
 * commitment for all); see the header for the flow.
 */
export async function putFile(c: RenterCore, opts: PutOptions): Promise<PutResult> {
  // Size and change time at the start: a file changed by the end of the upload is refused (fileChange).
  const start = fs.statSync(opts.file, { bigint: true });
  const size = Number(start.size);
  // [REJECT] nothing to store: a contract for 0 bytes would lock an escrow for nothing
  if (size === 0)
    throw new RenterClientError('empty-file', 'the file is empty: CloudCoin does not store 0-byte files (nothing to pay a host for)');
  const objectSize = cipherSize(size);
  const scheme = opts.shards ?? null;
  if (scheme) {
    checkScheme(scheme);
    opts = { ...opts, hosts: scheme.dataShards + scheme.parityShards };
    // [REJECT] fewer than K shards cannot rebuild the file
    if (opts.minHosts < scheme.dataShards || opts.minHosts > opts.hosts)
      throw new RenterClientError('too-few-hosts', `--min-hosts must be between ${scheme.dataShards} (K) and ${opts.hosts} (K + M)`);
  }
  // What each host stores: the whole object, or one shard of it.
  const stored = scheme ? shardSize(objectSize, scheme.dataShards) : objectSize;
  const fileId = randomBytes(32);
  const lease = new LeaseKeeper(c, fileId.toString('hex'));
  let done = false;
  try {
    const res = await storeFile(c, opts, { size, objectSize, stored, scheme, fileId, lease, start });
    done = true;
    return res;
  } finally {
    // A put that failed leaves what it left as before leases (its failure path said what): the lease ends, nothing lapses.
    if (!done)
      await lease.end();
  }
}

/** What putFile worked out before the put starts on the node. */
interface PutPlan {
  size: number;
  objectSize: number;
  /** Bytes each host stores: the object, or one shard of it. */
  stored: number;
  scheme: ShardScheme | null;
  fileId: Buffer;
  /** Renewed from addfile until commitfile (renterlease.ts). */
  lease: LeaseKeeper;
  /** The file as it was when the put started. */
  start: fs.BigIntStats;
}

/**
 * How the file changed since `start`, or null: its size, or its
 * modification time (as rclone's "source file changed" check). A file
 * written to during the upload fails every host it reached late (the
 * bytes no longer match the root its first pass found), and those that
 * got it first hold a version the user no longer has: refused as a whole.
 */
function fileChange(file: string, start: fs.BigIntStats): string | null {
  let now: fs.BigIntStats;
  try {
    now = fs.statSync(file, { bigint: true });
  } catch (e) {
    return `it can no longer be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  if (now.size !== start.size)
    return `${start.size} bytes when the put started, ${now.size} now`;
  if (now.mtimeNs !== start.mtimeNs)
    return `modified at ${new Date(Number(now.mtimeNs / 1000000n)).toISOString()}, after the put started`;
  return null;
}

/** The put itself, from addfile on (see the header for the flow). */
async function storeFile(c: RenterCore, opts: PutOptions, { size, objectSize, stored, scheme, fileId, lease, start }: PutPlan)
  : Promise<PutResult> {
  const addArgs: unknown[] = [fileId.toString('hex'), opts.name.toString('hex'), size];
  if (scheme)
    addArgs.push(scheme.dataShards, scheme.parityShards);
  // Independent of each other, so asked at once: the hosts (open
  // contracts, offers), the delta plan (the file's fingerprints against
  // the newest earlier version's) and the file's record (its revision,
  // which its keys derive from). With the revision and the plan known,
  // the first replicas' first passes run while the hosts are still being
  // asked (startEarly). Fingerprints first: the next version compares with
  // them, and this one with the last.
  const adding = c.rpc('addfile', addArgs).then(({ revision }) => {
    // From here the node holds the put: a client killed outright stops renewing, and the node gives the put up.
    lease.start();
    c.events.added?.(fileId.toString('hex'));
    return revision;
  });
  const targeting = c.targets(stored, opts);
  // Awaited below; a rejection after another one failed the put is not unhandled.
  targeting.catch(() => {});
  const planning = scheme ? Promise.resolve(null) : planDelta(c, opts.name, opts.file, size, targeting);
  // Awaited below; a rejection after another one failed the put is not unhandled.
  planning.catch(() => {});
  // One hashing pool for the put, closed by placeAll or placeShards (or below, on a failure before them).
  const pool = new LeafHasherPool();
  const abort = new AbortController();
  const early = !scheme ? startEarly(c, opts.file, fileId, adding, planning, Math.min(opts.hosts, putParallel(objectSize)), pool, abort.signal) : [];
  let found: Awaited<ReturnType<RenterCore['targets']>>;
  let plan: DeltaPlan | null;
  let revision: number;
  try {
    [found, plan, revision] = await Promise.all([targeting, planning, adding]);
    await c.checkFunds(found.neg.offers, found.balance);
  } catch (e) {
    // Nothing was proposed to a host: end the early passes and forget the record.
    abort.abort();
    await Promise.allSettled([planning, ...early]);
    await pool.close();
    if (await adding.then(() => true, () => false))
      await c.rpc('forgetfile', [fileId.toString('hex')]).catch(() => {});
    throw e;
  }
  const { reuse, neg, note, skipped } = found;
  if (note)
    c.warn(note);
  const targets: Target[] = [...reuse.map((r) => ({ reuse: r })), ...neg.offers.map((o) => ({ offer: o }))];
  const results = scheme
    ? await placeShards(c, opts, fileId, revision, targets, scheme, objectSize, pool)
    : await placeAll(c, opts, fileId, revision, targets, objectSize, size, plan, pool, early);
  const changed = fileChange(opts.file, start);
  // Said once for the put, not per host: a changed file (not a root
  // mismatch), or lost cloudcoind (whether anything was committed to the
  // host is the node's to know).
  const { placed, failed } = c.settle(targets, results, (e) => changed !== null || c.lostNode(e));
  const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && c.lostNode(r.reason));
  lease.check();
  if (changed !== null) {
    // As an interrupted put: the node drops it, removing the copies hosts got (deletefile).
    const dropped = await c.rpc('deletefile', [fileId.toString('hex')]).then(() => null, (e: unknown) => e);
    if (lost || c.lostNode(dropped))
      throw c.lostPut(fileId, lost ? lost.reason : dropped);
    throw new RenterClientError('file-changed', `${JSON.stringify(opts.name.toString('utf8'))} changed while it was being uploaded `
      + `(${changed}): not stored; put it again once it no longer changes`);
  }
  if (placed.length < opts.minHosts) {
    const forgot = await c.rpc('forgetfile', [fileId.toString('hex')]).then(() => null, (e: unknown) => e);
    // Without the node's answer, "nothing was paid" is not known: a restarted node may finish the put.
    if (lost || c.lostNode(forgot))
      throw c.lostPut(fileId, lost ? lost.reason : forgot);
    // The node refuses to forget a copy a host countersigned or may have (a receipt whose answer was lost): then the file is kept.
    c.checkEnough(placed.length, opts.minHosts, 'stored the file', neg, failed, forgot === null ? null : message(forgot));
  }
  // The node owns the put once asked to commit (commitfile ends the lease).
  await lease.settle();
  lease.check();
  const commit = await c.commit(fileId, opts.minHosts, failed, plan ? plan.prints : null);
  const live = placed.filter((p) => commit.ids.includes(p.id));
  await c.putManifest(live, Buffer.from(commit.manifest, 'hex'));
  let states: ReplicaState[] = await c.states(commit.fileId, live.map((p) => p.id), commit.replicas);
  if (opts.wait && commit.formed.length)
    states = await c.waitActive(commit.fileId, live.map((p) => p.id), opts.waitMs ?? WAIT_ACTIVE_MS);
  const pruned = await pruneOlder(c, opts, revision, states);
  return {
    fileId: commit.fileId,
    name: opts.name.toString('utf8'),
    size,
    objectSize,
    revision,
    shards: scheme ? { ...scheme, shardSize: stored } : null,
    txids: commit.txids,
    contracts: live.map((p, i) => ({
      id: p.id,
      object: p.object,
      shard: p.shard,
      reused: 'reuse' in p.target,
      revision: p.number,
      host: p.host,
      addr: p.addr,
      prices: p.prices,
      cost: p.cost,
      escrowValue: p.escrowValue,
      formula: p.formula,
      score: 'offer' in p.target ? p.target.offer.score : null,
      state: states[i],
      uploaded: p.uploaded,
      delta: p.delta
    })),
    failed,
    // Open contracts left out (audits failed, --min-score) first, then the hosts the negotiation passed over.
    passed: [...skipped.map((k) => ({ host: k.host, reason: `open contract ${k.id.slice(0, 16)} not reused: ${k.reason}` })),
      ...neg.declined.map((d) => ({ host: d.host, reason: d.reason }))],
    pruned,
    delta: revision === 0 ? null : deltaSummary(live, plan, size, stored)
  };
}

/** What a later version's upload moved, against every replica uploaded whole. */
function deltaSummary(live: Placed[], plan: DeltaPlan | null, size: number, whole: number): DeltaSummary {
  const chunks = fileChunks(size);
  const deltas = live.filter((p) => p.delta).length;
  const notes: string[] = [];
  if (!plan)
    notes.push(whole === cipherSize(size) ? 'a file this large keeps no chunk fingerprints: uploaded whole'
      : 'a file stored as shards uploads whole (each shard is a slice of the whole object): no delta upload');
  else if (plan.note)
    notes.push(plan.note);
  else if (!plan.base)
    notes.push('no earlier version of this name is stored as whole replicas to compare with: uploaded whole');
  else if (deltas === 0 && plan.same.every((x) => x === -1))
    notes.push(`every chunk changed since version ${plan.base.revision}: uploaded whole`);
  else if (deltas < live.length)
    notes.push(`${live.length - deltas} host(s) hold no copy of version ${plan.base?.revision}: uploaded whole there`);
  return {
    base: plan?.base ? plan.base.revision : null,
    chunks,
    unchanged: deltas > 0 && plan ? chunks - plan.own.length : 0,
    uploaded: live.reduce((n, p) => n + p.uploaded, 0),
    whole: whole * live.length,
    deltaReplicas: deltas,
    wholeReplicas: live.length - deltas,
    notes
  };
}

/**
 * Versions of the name beyond the newest N (put's --keep-revisions, else
 * the node's) are deleted from their hosts once this version is in force
 * on every host: never before, so a commitment that does not confirm
 * leaves the older versions in place. A failure is only a warning.
 */
async function pruneOlder(c: RenterCore, opts: PutOptions, revision: number, states: ReplicaState[])
  : Promise<PruneVersionsResult['pruned']> {
  // Versions 0..revision exist: none beyond the newest N when revision < N
  // (with the node's default N unknown here, only a first version is sure).
  if (opts.keepRevisions === 0 || revision === 0 || (opts.keepRevisions !== undefined && revision < opts.keepRevisions))
    return [];
  if (!states.every((s) => s === 'committed' || s === 'active')) {
    c.warn('older versions not pruned yet: this version\'s commitment has not confirmed (the next put of the name prunes them)');
    return [];
  }
  const params: unknown[] = [opts.name.toString('hex')];
  if (opts.keepRevisions !== undefined)
    params.push(opts.keepRevisions);
  try {
    const res = await c.rpc('pruneversions', params);
    for (const p of res.pruned) {
      for (const k of p.kept)
        c.warn(`version ${p.revision} kept on ${k.host}: ${k.reason}`);
    }
    return res.pruned;
  } catch (e) {
    c.warn(`older versions not pruned: ${(e as Error).message}`);
    return [];
  }
}

/** A replica's first pass done ahead: its salt, key, and the object's root and size. */
interface EarlyPass {
  salt: Buffer;
  key: Buffer;
  enc: EncryptResult;
}

/**
 * The first passes of up to `slots` replicas, started before the hosts
 * are known: each waits for the file's revision and the delta plan, then
 * runs only when every replica of this put holds the whole file (no
 * earlier version to compare with), else resolves null (a delta put's
 * replicas depend on the hosts found: placeAll prepares them). A failed
 * one resolves null too (placeAll prepares that replica again, and
 * reports its error if it fails again).
 */
function startEarly(c: RenterCore, file: string, fileId: Buffer, revision: Promise<number>, planning: Promise<DeltaPlan | null>,
  slots: number, pool: LeafHasherPool, signal: AbortSignal): Promise<EarlyPass | null>[] {
  return Array.from({ length: slots }, async () => {
    try {
      const [rev, plan] = await Promise.all([revision, planning]);
      if (plan?.base)
        return null;
      const salt = randomBytes(32);
      const key = Buffer.from(await c.rpc('derivefilekey', [fileId.toString('hex'), rev, salt.toString('hex')]), 'hex');
      return { salt, key, enc: await encryptedRoot(key, file, { pool, signal }) };
    } catch {
      return null;
    }
  });
}

/**
 * Every host at once, up to putParallel: each replica is encrypted under
 * its own key twice, once to learn its root (the host records the object
 * before a byte moves; the first replicas' passes may be done already:
 * `early`) and again while it is uploaded (transfer.ts), nothing staged
 * on disk. A slow or dead host does not hold up the others. Closes `pool`;
 * resolves each target's outcome, in order (storeFile settles them).
 */
async function placeAll(c: RenterCore, opts: PutOptions, fileId: Buffer, revision: number, targets: Target[], objectSize: number,
  size: number, plan: DeltaPlan | null, pool: LeafHasherPool, early: Promise<EarlyPass | null>[])
  : Promise<PromiseSettledResult<Placed>[]> {
  // Hosts holding the earlier version get the changed chunks only, staged once (the same chunks for every such host).
  const maps = targets.map((t) => (plan && 'reuse' in t ? mapFor(plan, t.reuse.id) : null));
  const changed = path.join(opts.workDir, 'changed');
  let results: PromiseSettledResult<Placed>[];
  try {
    const staged = plan && maps.some((m) => m) ? cipherSize(await stageOwn(opts.file, size, plan.own, changed)) : 0;
    if (c.events.uploadStart)
      c.events.uploadStart(maps.reduce((n, m) => n + (m ? staged : objectSize), 0));
    const spare = [...early];
    results = await settleBounded(targets.map((t, i) => ({ t, map: maps[i] })), putParallel(objectSize), async ({ t: target, map }) => {
      const done = map ? null : await spare.shift();
      const salt = done ? done.salt : randomBytes(32);
      const key = done ? done.key : Buffer.from(await c.rpc('derivefilekey', [fileId.toString('hex'), revision, salt.toString('hex')]), 'hex');
      const src = map ? changed : opts.file;
      const enc = done ? done.enc : await encryptedRoot(key, src, { pool });
      return c.placeObject(opts.allowance, fileId, target, { path: src, key, root: enc.root, size: enc.size, salt, shard: null, chunks: map });
    });
  } finally {
    // Early passes no target took (fewer hosts than asked for) end with the pool.
    await Promise.allSettled(early);
    await pool.close();
    fs.rmSync(changed, { force: true });
  }
  return results;
}

/** `fn` over `items`, at most `limit` at once; settled results in the items' order. */
async function settleBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const out: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = { status: 'fulfilled', value: await fn(items[i]) };
      } catch (e) {
        out[i] = { status: 'rejected', reason: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Encrypt once, code K + M shards stripe by stripe, hash each, and place
 * shard i with target i (distinct hosts: targets come one per host).
 * Closes `pool`; resolves each target's outcome, in order.
 */
async function placeShards(c: RenterCore, opts: PutOptions, fileId: Buffer, revision: number, targets: Target[], scheme: ShardScheme,
  objectSize: number, pool: LeafHasherPool)
  : Promise<PromiseSettledResult<Placed>[]> {
  const n = scheme.dataShards + scheme.parityShards;
  const salt = randomBytes(32);
  let results: PromiseSettledResult<Placed>[];
  try {
    const key = Buffer.from(await c.rpc('derivefilekey', [fileId.toString('hex'), revision, salt.toString('hex')]), 'hex');
    const enc = path.join(opts.workDir, 'object');
    await encryptFile(key, opts.file, enc, { pool, sync: false });
    const files = Array.from({ length: n }, (_, i) => path.join(opts.workDir, `shard-${i}`));
    const { shardSize: size } = await encodeShards(enc, objectSize, scheme, files);
    fs.rmSync(enc, { force: true });
    const roots = await Promise.all(files.map((f) => hashFile(f, { pool })));
    if (c.events.uploadStart)
      c.events.uploadStart(size * targets.length);
    results = await Promise.allSettled(targets.slice(0, n).map((target, i) =>
      c.placeObject(opts.allowance, fileId, target, { path: files[i], root: roots[i].root, size, salt, shard: i })));
  } finally {
    await pool.close();
  }
  return results;
}
