/*!
 * renterrepair.ts - the renter's repair of a file stored as shards:
 * download and verify every shard, rebuild the lost ones from K good
 * ones, place each with a host holding no shard of the file, commit, and
 * log each repair with the node.
 *
 * A file of whole replicas (put --hosts N) is repaired the same way, a
 * replica for a shard: every replica is downloaded and verified (a delta
 * version's with every chunk it reads from earlier objects), and each
 * one with no good copy is re-uploaded from the plaintext (the local file
 * when it encrypts to a recorded root, else a surviving replica
 * decrypted) under a fresh salt, so a new key: no two hosts hold the same
 * ciphertext, and no key/nonce pair repeats.
 */

import * as fs from 'fs';
import { randomBytes } from 'crypto';
import * as path from 'path';
import { cipherSize } from '../storage/common';
import { decryptFile, encryptFile, hashFile } from '../storage/fileops';
import { rebuildShards, shardSize } from '../storage/erasure';
import { LeafHasherPool } from '../storage/hashpool';
import { HELD_STATES, type FileInfo } from './rpctypes';
import type { RenterCore } from './rentercore';
import { fetchDelta } from './renterdelta';
import {
  RenterClientError, WAIT_ACTIVE_MS, message, type Placed, type Prepared, type RepairOptions, type RepairResult, type Target, type TargetOptions
} from './rentertypes';

type Copy = FileInfo['replicas'][number];

/** Why a copy cannot count as good without a download, or null when it is worth downloading. */
function unusable(r: Copy, opts: RepairOptions): string | null {
  if (opts.distrust?.includes(r.contractId))
    return 'its contract failed an audit or is given up';
  if (!HELD_STATES.has(r.state))
    return `contract ${r.state}`;
  return r.reachable ? null : 'host unreachable';
}

/**
 * Repair a file stored as shards: download and verify every shard a
 * connected host holds under a contract, rebuild each shard with no good
 * copy from K good ones, place it with a host that holds no shard of
 * this file (an open contract first, else a new one, committed), and log
 * each repair with the node. A file with every shard good is left as is.
 */
export async function repairFile(c: RenterCore, fileId: string, opts: RepairOptions): Promise<RepairResult> {
  const f = await c.rpc('getfile', [fileId]);
  if (f.dataShards === 0)
    return repairReplicas(c, f, opts);
  // A shard on a host being left is rebuilt from the others, as a lost one.
  opts = { ...opts, distrust: [...(opts.distrust ?? []), ...(opts.leave ?? [])] };
  const scheme = { dataShards: f.dataShards, parityShards: f.parityShards };
  const n = scheme.dataShards + scheme.parityShards;
  const paths: Array<string | null> = Array.from({ length: n }, () => null);
  const why = new Map<number, string>();
  const good: string[] = [];
  const pool = new LeafHasherPool();
  try {
    // Every shard is checked (not just K): a repair must know which copies are bad.
    await Promise.all(Array.from({ length: n }, async (_, shard) => {
      const copies = f.replicas.filter((r) => r.shard === shard);
      if (copies.length === 0)
        why.set(shard, 'never placed');
      for (const r of copies) {
        const bad = unusable(r, opts);
        if (bad) {
          why.set(shard, bad);
          continue;
        }
        const dest = path.join(opts.workDir, `shard-${shard}`);
        try {
          await c.download(r, dest, pool);
          paths[shard] = dest;
          good.push(r.contractId);
          return;
        } catch (e) {
          why.set(shard, message(e));
        }
      }
    }));
  } finally {
    await pool.close();
  }
  const verified = paths.flatMap((p, i) => (p ? [i] : []));
  const lost = paths.flatMap((p, i) => (p ? [] : [{ shard: i, reason: why.get(i) ?? 'no copy' }]));
  const result: RepairResult = { fileId: f.fileId, replicas: false, verified, verifiedContracts: good, lost, repaired: [], failed: [], txids: [],
    escrow: 0, health: f.health };
  if (lost.length === 0)
    return result;
  for (const l of lost)
    c.warn(`shard ${l.shard} has no good copy (${l.reason}); rebuilding it`);
  if (verified.length < scheme.dataShards)
    throw new RenterClientError('repair-failed', `only ${verified.length} good shards, ${scheme.dataShards} needed to rebuild `
      + `the others: ${lost.map((l) => `shard ${l.shard}: ${l.reason}`).join('; ')}`);
  const objectSize = cipherSize(f.size);
  const size = shardSize(objectSize, scheme.dataShards);
  const outs = lost.map((l) => path.join(opts.workDir, `rebuilt-${l.shard}`));
  await rebuildShards(paths, scheme, objectSize, lost.map((l) => l.shard), outs);
  const roots = await Promise.all(outs.map((o) => hashFile(o)));
  const salt = Buffer.from(f.replicas[0].salt, 'hex');
  await place(c, f, opts, result, size, lost.map((l, i) => async () => ({ path: outs[i], root: roots[i].root, size, salt,
    shard: l.shard })), lost.map(() => []));
  return result;
}

/**
 * Place the new copies (`make[i]` prepares copy i once its host is
 * chosen) with hosts that hold (or held) no copy of the file: open
 * contracts first, else new ones within `opts.maxEscrow`, committed
 * together; each placed copy is logged as a repair replacing
 * `replaces[i]` (shards: the node finds the copies it replaces).
 */
async function place(c: RenterCore, f: FileInfo, opts: RepairOptions, result: RepairResult, size: number,
  make: Array<() => Promise<Prepared>>, replaces: string[][]): Promise<void> {
  const avoid = [...new Set(f.replicas.map((r) => r.hostKey))];
  const want: TargetOptions = { hosts: make.length, minHosts: 1, duration: opts.duration, maxPrice: opts.maxPrice,
    allowance: opts.allowance };
  const { reuse, neg, note } = await c.targets(size, want, avoid);
  const escrow = neg.offers.reduce((sum, o) => sum + o.escrow, 0);
  if (opts.maxEscrow !== undefined && escrow > opts.maxEscrow)
    throw new RenterClientError('repair-failed', `the new contracts need ${escrow} sat of escrow, the repair budget has `
      + `${opts.maxEscrow} sat left; nothing was paid (the offers lapse at block ${Math.max(...neg.offers.map((o) => o.reservedUntil))})`);
  await c.checkFunds(neg.offers);
  if (note)
    c.warn(note);
  const targets: Target[] = [...reuse.map((r) => ({ reuse: r })), ...neg.offers.map((o) => ({ offer: o }))];
  const id = Buffer.from(f.fileId, 'hex');
  const todo = make.slice(0, targets.length);
  if (c.events.uploadStart)
    c.events.uploadStart(size * todo.length);
  const settled = c.settle(targets, await Promise.allSettled(todo.map(async (prepare, i) =>
    c.placeObject(opts.allowance, id, targets[i], await prepare()))));
  result.failed = settled.failed;
  if (settled.placed.length === 0)
    throw new RenterClientError('repair-failed', `no host took a new copy, nothing was paid: `
      + `${settled.failed.map((x) => `${x.host}: ${x.reason}`).join('; ') || 'no host available'}`);
  const commit = await c.commit(id, 1, result.failed);
  result.txids = commit.txids;
  result.escrow = settled.placed.filter((p) => 'offer' in p.target && commit.formed.includes(p.id))
    .reduce((sum, p) => sum + p.escrowValue, 0);
  const live: Placed[] = [];
  for (const [i, p] of settled.placed.entries()) {
    if (!commit.ids.includes(p.id))
      continue;
    live.push(p);
    const which = targets.indexOf(p.target);
    const args: unknown[] = [f.fileId, p.shard, p.id];
    if (p.shard === null)
      args.push(replaces[which >= 0 ? which : i]);
    const rec = await c.rpc('logrepair', args);
    result.repaired.push({ shard: p.shard, contract: p.id, host: p.host, reused: 'reuse' in p.target, replaced: rec.replaced });
  }
  await c.putManifest(live, Buffer.from(commit.manifest, 'hex'));
  if (opts.wait && commit.formed.length)
    await c.waitActive(f.fileId, commit.formed, opts.waitMs ?? WAIT_ACTIVE_MS);
  result.health = (await c.rpc('getfile', [f.fileId])).health;
}

/** A verified replica kept on disk: its object (`plain` false) or, for a delta version, the plaintext it reads (`plain` true). */
interface Kept {
  r: Copy;
  path: string;
  plain: boolean;
}

/**
 * Verify replica `r` into `dest`: its object against the root its
 * contract holds, and for a delta version every chunk it reads, also
 * those in earlier versions' objects of the contract (each opened under
 * its object's key, so a corrupt or missing one fails its tag). A delta
 * replica whose own object is fine but whose base chunks are not is lost
 * like any corrupt copy: it cannot serve the file, nor be a repair's
 * source. Throws (and leaves nothing) when the replica is not good.
 */
async function verifyReplica(c: RenterCore, f: FileInfo, r: Copy, dest: string, pool: LeafHasherPool): Promise<Kept> {
  if (!r.chunks) {
    await c.download(r, dest, pool);
    return { r, path: dest, plain: false };
  }
  fs.mkdirSync(dest, { recursive: true });
  try {
    const own = path.join(dest, 'object');
    await c.download(r, own, pool);
    fs.rmSync(own, { force: true });
    return { r, path: await fetchDelta(c, f, r, dest), plain: true };
  } catch (e) {
    fs.rmSync(dest, { recursive: true, force: true });
    throw e;
  }
}

/**
 * A file of whole replicas: the replicas the file counts now (not yet
 * replaced by a repair) are checked; each with no good copy gets a new
 * replica on another host, encrypted afresh from the plaintext.
 */
async function repairReplicas(c: RenterCore, f: FileInfo, opts: RepairOptions): Promise<RepairResult> {
  const replaced = new Set(f.repairs.flatMap((x) => x.replaced));
  const current = f.replicas.filter((r) => !replaced.has(r.contractId));
  const good: Copy[] = [];
  const lost: RepairResult['lost'] = [];
  // The first replica verified stays on disk as the source; the others only had to be checked.
  let kept: Kept | null = null;
  const pool = new LeafHasherPool();
  try {
    await Promise.all(current.map(async (r, i) => {
      const bad = unusable(r, opts);
      if (bad) {
        lost.push({ shard: null, contract: r.contractId, reason: bad });
        return;
      }
      const dest = path.join(opts.workDir, `replica-${i}`);
      let got: Kept | null = null;
      try {
        got = await verifyReplica(c, f, r, dest, pool);
        good.push(r);
        if (kept === null)
          kept = got;
        // Good, but on a host being left: the source of its own replacement.
        if (opts.leave?.includes(r.contractId))
          lost.push({ shard: null, contract: r.contractId, reason: 'its host is being left (worse or pricier)' });
      } catch (e) {
        lost.push({ shard: null, contract: r.contractId, reason: message(e) });
      }
      if (got === null || kept !== got)
        fs.rmSync(dest, { recursive: true, force: true });
    }));
  } finally {
    await pool.close();
  }
  const result: RepairResult = { fileId: f.fileId, replicas: true, verified: [], verifiedContracts: good.map((r) => r.contractId), lost,
    repaired: [], failed: [], txids: [], escrow: 0, health: f.health };
  if (lost.length === 0)
    return result;
  for (const l of lost)
    c.warn(`replica ${l.contract?.slice(0, 12)} to replace (${l.reason}); uploading a new one`);
  const plain = await plaintext(c, f, opts, kept, result);
  const objectSize = cipherSize(f.size);
  const make = lost.map((_, i) => async (): Promise<Prepared> => {
    // A fresh salt, so a fresh key: the new host's ciphertext is its own.
    const salt = randomBytes(32);
    const key = Buffer.from(await c.rpc('derivefilekey', [f.fileId, f.revision, salt.toString('hex')]), 'hex');
    const out = path.join(opts.workDir, `new-${i}`);
    const enc = await encryptFile(key, plain, out, { sync: false });
    return { path: out, root: enc.root, size: enc.size, salt, shard: null };
  });
  await place(c, f, opts, result, objectSize, make, lost.map((l) => [l.contract as string]));
  return result;
}

/**
 * The file's plaintext in the work dir, or the local file: the local file
 * (opts.source) when it encrypts under a replica's key to that replica's
 * recorded root (no download needed), else the first good replica
 * decrypted. Fails when neither is there.
 */
async function plaintext(c: RenterCore, f: FileInfo, opts: RepairOptions, kept: Kept | null, result: RepairResult): Promise<string> {
  // A whole replica's root decides for the local file (a delta version's objects hold only its changed chunks).
  const whole = f.replicas.find((x) => !x.chunks);
  if (whole && opts.source !== undefined && fs.existsSync(opts.source) && fs.statSync(opts.source).size === f.size) {
    // One replica's root decides: the others hold the same plaintext under other keys.
    const r = whole;
    const key = Buffer.from(await c.rpc('derivefilekey', [f.fileId, f.revision, r.salt]), 'hex');
    if ((await encryptFile(key, opts.source, null)).root.toString('hex') === r.root) {
      result.source = 'local file';
      return opts.source;
    }
    c.warn(`${opts.source} is not this file's content (its encryption does not match the recorded root); using a replica`);
  }
  if (kept === null)
    throw new RenterClientError('repair-failed', `no good replica is left to copy from${opts.source === undefined ? ''
      : ' and the local file does not match'}: ${result.lost.map((l) => `${l.contract?.slice(0, 12)}: ${l.reason}`).join('; ')}`);
  result.source = kept.r.contractId;
  // A delta version's replica was verified by reading its plaintext through its chunk map.
  if (kept.plain)
    return kept.path;
  const plain = path.join(opts.workDir, 'plain');
  const key = Buffer.from(await c.rpc('derivefilekey', [f.fileId, f.revision, kept.r.salt]), 'hex');
  await decryptFile(key, kept.path, plain);
  fs.rmSync(kept.path, { force: true });
  return plain;
}
