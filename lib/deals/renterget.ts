/*!
 * renterget.ts - the renter's get: getfile -> per replica until one
 * works: getstoragetoken and derivefilekey (at once), HEAD, then ranges streamed through hashing and
 * decryption (transfer.ts: no staged ciphertext), root checked at the end.
 * A file stored as shards downloads K shards at once (reachable hosts and
 * data shards first, the next candidate for each one that fails), checks
 * each root, rebuilds the object (a concatenation when the K data shards
 * came) and decrypts it.
 */

import * as fs from 'fs';
import * as path from 'path';
import { cipherSize } from '../storage/common';
import { decryptFile } from '../storage/fileops';
import { FileServerClient } from '../storage/fileserverclient';
import { StorageError } from '../storage/errors';
import { downloadDecrypted } from '../storage/transfer';
import { decodeShards } from '../storage/erasure';
import { LeafHasherPool } from '../storage/hashpool';
import type { FileInfo } from './rpctypes';
import type { RenterCore } from './rentercore';
import { RenterClientError, message, type GetResult } from './rentertypes';
import { fetchDelta } from './renterdelta';

/** Fetch and decrypt a file (id or unique prefix) into `workDir`. */
export async function getFile(c: RenterCore, fileId: string, workDir: string): Promise<GetResult> {
  const f = await c.rpc('getfile', [fileId]);
  // [REJECT] a put that never completed (interrupted, or still running): no host holds a copy to ask for
  // (A copy with a cost is held under a final revision: its hosts have it, see below.)
  if (f.replicas.length > 0 && f.replicas.every((r) => r.state === 'uploading' && r.cost === null)) {
    const id = f.fileId.slice(0, 12);
    const at = f.replicas.map((r) => r.givenUpAt).filter((h): h is number => h != null);
    throw new RenterClientError('incomplete-put', `${f.name} (file ${id}, version ${f.revision}) was never fully stored: its put did not `
      + 'complete (interrupted, or still running), so no host holds a copy; the node drops it '
      + `${at.length ? `at block ${Math.max(...at)} ` : ''}unless it finishes, and \`cloudcoin-cli rm ${id}\` drops it now`);
  }
  // [REJECT] uploaded but no commitment known (the put died before committing, or is committing now):
  // no escrow prepays a download, and its hosts delete the bytes once the offer ends
  if (f.replicas.length > 0 && f.replicas.every((r) => r.state === 'uploading' || r.state === 'uploaded')) {
    const id = f.fileId.slice(0, 12);
    const end = Math.max(...f.replicas.map((r) => r.expiryHeight));
    throw new RenterClientError('incomplete-put', `${f.name} (file ${id}, version ${f.revision}) was never fully stored: its hosts `
      + `received it but no commitment funds them (its put died before committing, or is committing now); unless one confirms by block ${end} `
      + `the hosts delete it, and \`cloudcoin-cli rm ${id}\` drops it now`);
  }
  if (f.dataShards > 0)
    return getShards(c, f, workDir);
  const errors: string[] = [];
  // Reachable hosts first: an unreachable one is tried last, not skipped; among
  // them, copies a repair replaced (found bad or unreachable) after the others.
  const replaced = new Set(f.repairs.flatMap((x) => x.replaced));
  const order = [...f.replicas].sort((a, b) => Number(b.reachable) - Number(a.reachable)
    || Number(replaced.has(a.contractId)) - Number(replaced.has(b.contractId)));
  for (const r of order) {
    try {
      // A delta version's replica reads its unchanged chunks from earlier objects of the contract.
      const out = r.chunks ? await fetchDelta(c, f, r, workDir) : await fetchReplica(c, f, r, workDir);
      return { fileId: f.fileId, path: out, size: f.size, contract: r.contractId, host: r.host };
    } catch (e) {
      const why = r.reachable ? message(e) : `host unreachable: ${message(e)}`;
      errors.push(`${r.contractId.slice(0, 12)}: ${why}`);
      c.warn(`replica ${r.contractId.slice(0, 12)} on ${r.host} failed (${why}); trying the next`);
    }
  }
  throw new RenterClientError('get-failed', `no replica could be fetched: ${errors.join('; ') || 'the file has no replicas'}`);
}

/**
 * K shards at once, reachable hosts and data shards first; each one
 * that fails (unreachable, wrong size, wrong root) is replaced by the
 * next candidate. Then rebuild and decrypt.
 */
async function getShards(c: RenterCore, f: FileInfo, workDir: string): Promise<GetResult> {
  const scheme = { dataShards: f.dataShards, parityShards: f.parityShards };
  const k = scheme.dataShards;
  // Copies a repair replaced (found bad or unreachable) go last.
  const replaced = new Set(f.repairs.flatMap((x) => x.replaced));
  const order = f.replicas.filter((r) => r.shard !== null).sort((a, b) =>
    Number(b.reachable) - Number(a.reachable) || Number(replaced.has(a.contractId)) - Number(replaced.has(b.contractId))
    || Number((a.shard as number) >= k) - Number((b.shard as number) >= k) || (a.shard as number) - (b.shard as number));
  const paths: Array<string | null> = Array.from({ length: k + scheme.parityShards }, () => null);
  const busy = new Set<number>();
  const failed: Array<{ shard: number; host: string; reason: string }> = [];
  let next = 0;
  let good = 0;
  let inflight = 0;
  if (c.events.downloadStart)
    c.events.downloadStart((order[0]?.objectSize ?? 0) * k);
  const pool = new LeafHasherPool();
  const worker = async (): Promise<void> => {
    // Never more downloads at once than shards still needed: a spare one is fetched only after a failure.
    while (good + inflight < k && next < order.length) {
      const r = order[next++];
      const shard = r.shard as number;
      if (busy.has(shard))
        continue;
      busy.add(shard);
      const dest = path.join(workDir, `shard-${shard}`);
      inflight++;
      try {
        await c.download(r, dest, pool);
        paths[shard] = dest;
        good++;
      } catch (e) {
        busy.delete(shard);
        const why = r.reachable ? message(e) : `host unreachable: ${message(e)}`;
        failed.push({ shard, host: r.host, reason: why });
        c.warn(`shard ${shard} on ${r.host} failed (${why}); trying another shard`);
      } finally {
        inflight--;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: k }, worker));
  } finally {
    await pool.close();
  }
  if (good < k)
    throw new RenterClientError('get-failed', `only ${good} of the ${k} shards needed could be fetched: `
      + `${failed.map((x) => `shard ${x.shard} on ${x.host}: ${x.reason}`).join('; ') || 'too few shards are stored'}`);
  const enc = path.join(workDir, 'object');
  await decodeShards(paths, scheme, cipherSize(f.size), enc);
  for (const p of paths)
    if (p)
      fs.rmSync(p, { force: true });
  const first = f.replicas.find((r) => r.shard === paths.findIndex((p) => p !== null)) ?? f.replicas[0];
  const key = Buffer.from(await c.rpc('derivefilekey', [f.fileId, f.revision, first.salt]), 'hex');
  const plain = path.join(workDir, 'plain');
  await decryptFile(key, enc, plain);
  fs.rmSync(enc, { force: true });
  return {
    fileId: f.fileId, path: plain, size: f.size, contract: first.contractId, host: first.host,
    shardsUsed: paths.flatMap((p, i) => (p ? [i] : [])), shardsFailed: failed
  };
}

/**
 * One replica, streamed: ranges are hashed and decrypted as they arrive
 * (transfer.ts) into `workDir`/plain, which appears only once every
 * chunk's tag and the contract's root verified.
 */
async function fetchReplica(c: RenterCore, f: FileInfo, r: FileInfo['replicas'][number], workDir: string): Promise<string> {
  // Independent: asked at once.
  const [t, hex] = await Promise.all([c.rpc('getstoragetoken', [r.hostKey, r.contractId, r.object]),
    c.rpc('derivefilekey', [f.fileId, f.revision, r.salt])]);
  const key = Buffer.from(hex, 'hex');
  const plain = path.join(workDir, 'plain');
  if (c.events.downloadStart)
    c.events.downloadStart(r.objectSize);
  let got = 0;
  const from = { client: new FileServerClient(t.dataURL), token: t.token, contract: r.contractId, object: r.object };
  try {
    await downloadDecrypted(from, key, r.objectSize, Buffer.from(r.root, 'hex'), plain, {
      progress: (done) => {
        if (c.events.downloaded)
          c.events.downloaded(done - got);
        got = done;
      }
    });
  } catch (e) {
    // Bytes that are not the contract's, whichever check saw it first: the
    // root covers the exact ciphertext we sealed under our own key, so a
    // chunk failing its tag (seen before the root is known) differs from it too.
    if (e instanceof StorageError && e.code === 'bad-root')
      throw new Error('downloaded bytes do not match the contract root');
    if (e instanceof StorageError && e.code === 'bad-tag')
      throw new Error(`downloaded bytes do not match the contract root: ${e.message}`);
    throw e;
  }
  return plain;
}
