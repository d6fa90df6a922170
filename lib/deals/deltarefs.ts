/*!
 * deltarefs.ts - the renter's bookkeeping of chunk references between
 * versions (docs/REDUNDANCY.md "Delta uploads"): which earlier object of
 * a contract a new version's chunk map may read from, which objects a
 * removal must keep because a kept version still reads chunks of them,
 * and which file an object left behind by a removed version is charged to.
 *
 * An object is needed while a stored file holds it as its own object or
 * names it as a source of a chunk map in that contract. Objects are freed
 * whole: one chunk still read keeps the whole object (and its cost).
 */

import { type ChunkMap, type ChunkSource } from '../storage/delta';
import type { ManifestFile, Replica } from '../storage/manifest';
import type { ContractObject } from './dealrecords';
import { DealError } from './errors';

/** `contract/object`: one object of one contract. */
export function objectKey(contractId: Buffer, object: number): string {
  return `${contractId.toString('hex')}/${object}`;
}

/** A replica's own object as a chunk source (what a later version names to read from it). */
export function asSource(file: ManifestFile, r: Replica): ChunkSource {
  return { object: r.object, fileId: file.fileId, revision: file.revision, salt: r.salt, objectSize: r.objectSize };
}

function sameSource(a: ChunkSource, b: ChunkSource): boolean {
  return a.object === b.object && a.fileId.equals(b.fileId) && a.revision === b.revision && a.salt.equals(b.salt)
    && a.objectSize === b.objectSize;
}

/** Every object the files need kept, `contract/object`, with what derives its key. */
export function neededObjects(files: readonly ManifestFile[]): Map<string, ChunkSource> {
  const out = new Map<string, ChunkSource>();
  for (const f of files) {
    for (const r of f.replicas) {
      out.set(objectKey(r.contractId, r.object), asSource(f, r));
      for (const s of r.chunks?.sources ?? [])
        out.set(objectKey(r.contractId, s.object), s);
    }
  }
  return out;
}

/**
 * Reject a chunk map a put proposes for contract `contractId` unless every
 * source is an object the contract holds now (`held`: its latest
 * countersigned revision's objects), of the size named, and a stored file
 * of ours knows it with the same file id, revision and salt (so its key is
 * the one the map will derive). Throws DealError `bad-chunk-map`.
 */
export function checkSources(map: ChunkMap, contractId: Buffer, held: readonly ContractObject[], files: readonly ManifestFile[]): void {
  const known = neededObjects(files);
  for (const s of map.sources) {
    const o = held.find((x) => x.id === s.object);
    // [REJECT] unknown object: the contract does not hold it
    if (!o)
      throw new DealError('bad-chunk-map', `chunk map names object ${s.object}, which contract ${contractId.toString('hex').slice(0, 12)} `
        + 'does not hold');
    const k = known.get(objectKey(contractId, s.object));
    // [REJECT] a source whose size or key material is not the one our files record for it
    if (o.size !== s.objectSize || !k || !sameSource(k, s))
      throw new DealError('bad-chunk-map', `chunk map names object ${s.object} of contract ${contractId.toString('hex').slice(0, 12)} `
        + 'with a size, file, version or salt no stored file of ours gives it');
  }
}

/**
 * What removing `file` does to each of its replicas' contracts, given the
 * `others` files that stay: `remove` the objects nobody else needs (its
 * own object, and sources of its chunk maps no longer needed: left behind
 * by versions removed earlier), `referenced` the ones kept because another
 * file reads chunks of them.
 */
export function removals(file: ManifestFile, others: readonly ManifestFile[])
  : Map<Replica, { remove: number[]; referenced: number[] }> {
  const needed = neededObjects(others.filter((f) => !f.fileId.equals(file.fileId)));
  const out = new Map<Replica, { remove: number[]; referenced: number[] }>();
  for (const r of file.replicas) {
    const remove: number[] = [];
    const referenced: number[] = [];
    for (const object of [r.object, ...(r.chunks?.sources ?? []).map((s) => s.object)]) {
      if (needed.has(objectKey(r.contractId, object)))
        referenced.push(object);
      else
        remove.push(object);
    }
    out.set(r, { remove, referenced });
  }
  return out;
}

/**
 * Objects no stored file holds as its own (their version was removed)
 * that chunk maps still read, each charged to one file: the oldest version
 * reading it (lowest revision, then file id). Keys `contract/object`.
 */
export function inherited(files: readonly ManifestFile[]): Map<string, { fileId: string; source: ChunkSource }> {
  const owned = new Set<string>();
  for (const f of files) {
    for (const r of f.replicas)
      owned.add(objectKey(r.contractId, r.object));
  }
  const order = [...files].sort((a, b) => a.revision - b.revision || Buffer.compare(a.fileId, b.fileId));
  const out = new Map<string, { fileId: string; source: ChunkSource }>();
  for (const f of order) {
    for (const r of f.replicas) {
      for (const s of r.chunks?.sources ?? []) {
        const key = objectKey(r.contractId, s.object);
        if (!owned.has(key) && !out.has(key))
          out.set(key, { fileId: f.fileId.toString('hex'), source: s });
      }
    }
  }
  return out;
}
