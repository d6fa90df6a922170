/*!
 * renterrepair.ts - the renter's repair of a file stored as shards:
 * download and verify every shard, rebuild the lost ones from K good
 * ones, place each with a host holding no shard of the file, commit, and
 * log each repair with the node.
 */

import * as path from 'path';
import { cipherSize } from '../storage/common';
import { hashFile } from '../storage/fileops';
import { rebuildShards, shardSize } from '../storage/erasure';
import { LeafHasherPool } from '../storage/hashpool';
import { HELD_STATES } from './rpctypes';
import type { RenterCore } from './rentercore';
import {
  RenterClientError, WAIT_ACTIVE_MS, message, type RepairOptions, type RepairResult, type Target, type TargetOptions
} from './rentertypes';

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
    throw new RenterClientError('not-coded', `file ${f.fileId.slice(0, 12)} is stored as whole replicas; repair rebuilds shards`
      + ' (put --data-shards K --parity-shards M)');
  const scheme = { dataShards: f.dataShards, parityShards: f.parityShards };
  const n = scheme.dataShards + scheme.parityShards;
  const paths: Array<string | null> = Array.from({ length: n }, () => null);
  const why = new Map<number, string>();
  const pool = new LeafHasherPool();
  try {
    // Every shard is checked (not just K): a repair must know which copies are bad.
    await Promise.all(Array.from({ length: n }, async (_, shard) => {
      const copies = f.replicas.filter((r) => r.shard === shard);
      if (copies.length === 0)
        why.set(shard, 'never placed');
      for (const r of copies) {
        if (!HELD_STATES.has(r.state) || !r.reachable || opts.distrust?.includes(r.contractId)) {
          why.set(shard, opts.distrust?.includes(r.contractId) ? 'its contract failed an audit'
            : r.reachable ? `contract ${r.state}` : 'host unreachable');
          continue;
        }
        const dest = path.join(opts.workDir, `shard-${shard}`);
        try {
          await c.download(r, dest, pool);
          paths[shard] = dest;
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
  const result: RepairResult = { fileId: f.fileId, verified, lost, repaired: [], failed: [], txids: [], escrow: 0, health: f.health };
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
  // Another host for each: never one that holds (or held) a shard of this file.
  const avoid = [...new Set(f.replicas.map((r) => r.hostKey))];
  const want: TargetOptions = { hosts: lost.length, minHosts: 1, duration: opts.duration, maxPrice: opts.maxPrice,
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
  const salt = Buffer.from(f.replicas[0].salt, 'hex');
  const id = Buffer.from(f.fileId, 'hex');
  const todo = lost.slice(0, targets.length);
  if (c.events.uploadStart)
    c.events.uploadStart(size * todo.length);
  const settled = c.settle(targets, await Promise.allSettled(todo.map((l, i) =>
    c.placeObject(opts.allowance, id, targets[i], { path: outs[i], root: roots[i].root, size, salt, shard: l.shard }))));
  result.failed = settled.failed;
  if (settled.placed.length === 0)
    throw new RenterClientError('repair-failed', `no host took a rebuilt shard, nothing was paid: `
      + `${settled.failed.map((x) => `${x.host}: ${x.reason}`).join('; ') || 'no host available'}`);
  const commit = await c.commit(id, 1, result.failed);
  result.txids = commit.txids;
  result.escrow = settled.placed.filter((p) => 'offer' in p.target && commit.formed.includes(p.id))
    .reduce((sum, p) => sum + p.escrowValue, 0);
  const live = settled.placed.filter((p) => commit.ids.includes(p.id));
  for (const p of live) {
    const rec = await c.rpc('logrepair', [f.fileId, p.shard, p.id]);
    result.repaired.push({ shard: p.shard as number, contract: p.id, host: p.host, reused: 'reuse' in p.target,
      replaced: rec.replaced });
  }
  await c.putManifest(live, Buffer.from(commit.manifest, 'hex'));
  if (opts.wait && commit.formed.length)
    await c.waitActive(f.fileId, commit.formed, opts.waitMs ?? WAIT_ACTIVE_MS);
  result.health = (await c.rpc('getfile', [f.fileId])).health;
  return result;
}
