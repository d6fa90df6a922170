/*!
 * objecttree.ts - the Merkle tree over a contract's objects.
 *
 * A contract holds many objects (files or shards), each with its own data
 * Merkle root (PROTOCOL 4.2). A revision commits to all of them at once:
 *
 *   leaf = TH("cc/object/0", u32 id || root || u64 size), ids ascending
 *   node = TH("cc/node", L || R); an odd node is promoted unchanged
 *   empty tree = 32 zero bytes
 *
 * The same shape as the data tree and the batch tree. Ids are allocated by
 * the renter, strictly increasing and never reused within a contract, so a
 * token or proof for a removed object can never be taken for a new one.
 */

import { ZERO_HASH } from '../base/consts';
import { taggedHash, tags } from '../base/hash';
import { ContractError, enforce } from './errors';

/** One object as a revision commits to it. */
export interface ObjectEntry {
  /** u32 object id, 1..2^32-2 (0 is the manifest, 2^32-1 means "every object" in tokens). */
  id: number;
  /** Data Merkle root of the object's bytes (32). */
  root: Buffer;
  /** Object size in bytes (the ciphertext the host stores). */
  size: number;
}

/** Lowest data object id (0 is the renter's sealed manifest, outside the tree). */
export const MIN_OBJECT_ID = 1;
/** Highest data object id (0xffffffff names every object in a token). */
export const MAX_OBJECT_ID = 0xfffffffe;
/** Most objects one contract may hold (bounds every list a peer can send). */
export const MAX_OBJECTS = 1 << 16;


/** Leaf hash of one object. */
export function objectLeaf(entry: ObjectEntry): Buffer {
  const buf = Buffer.allocUnsafe(4 + 32 + 8);
  buf.writeUInt32LE(entry.id, 0);
  entry.root.copy(buf, 4);
  buf.writeBigUInt64LE(BigInt(entry.size), 36);
  return taggedHash(tags.OBJECT, buf);
}

/**
 * Throws ContractError `bad-object-list` unless `entries` are sorted by id,
 * distinct, within range, with 32-byte roots and sizes that are safe
 * integers above zero.
 */
export function checkObjectList(entries: readonly ObjectEntry[]): void {
  enforce(entries.length <= MAX_OBJECTS, 'bad-object-list', `more than ${MAX_OBJECTS} objects`);
  let last = 0;
  for (const e of entries) {
    // [REJECT] ids out of range, repeated or out of order
    enforce(Number.isInteger(e.id) && e.id >= MIN_OBJECT_ID && e.id <= MAX_OBJECT_ID && e.id > last,
      'bad-object-list', `object ids must ascend within ${MIN_OBJECT_ID}..${MAX_OBJECT_ID}`);
    // [REJECT] bad root or size
    enforce(e.root.length === 32 && Number.isSafeInteger(e.size) && e.size > 0,
      'bad-object-list', `object ${e.id}: bad root or size`);
    last = e.id;
  }
}

/** Root over `entries` (checked with checkObjectList first). */
export function objectTreeRoot(entries: readonly ObjectEntry[]): Buffer {
  checkObjectList(entries);
  if (entries.length === 0)
    return ZERO_HASH;
  let level = entries.map(objectLeaf);
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 < level.length ? taggedHash(tags.NODE, level[i], level[i + 1]) : level[i]);
    level = next;
  }
  return level[0];
}

/** Total bytes of the objects. */
export function objectsSize(entries: readonly ObjectEntry[]): number {
  return entries.reduce((sum, e) => sum + e.size, 0);
}

/** Changes one revision makes to a contract's objects. */
export interface ObjectChanges {
  add: ObjectEntry[];
  remove: number[];
}

/**
 * Apply `changes` to `entries` (neither is modified) and return the new
 * list, sorted. Throws ContractError `bad-object-changes` if an added id is
 * below `nextObject` or repeated, or a removed id is not held.
 */
export function applyObjectChanges(entries: readonly ObjectEntry[], changes: ObjectChanges,
  nextObject: number): ObjectEntry[] {
  const byId = new Map(entries.map(e => [e.id, e]));
  for (const id of changes.remove) {
    // [REJECT] removing an object the contract does not hold
    if (!byId.delete(id))
      throw new ContractError('bad-object-changes', `object ${id} is not in the contract`);
  }
  let last = nextObject - 1;
  for (const e of changes.add) {
    // [REJECT] ids are never reused and ascend within one revision
    enforce(e.id > last, 'bad-object-changes', `object id ${e.id} was used before or is out of order`);
    byId.set(e.id, e);
    last = e.id;
  }
  const list = [...byId.values()].sort((a, b) => a.id - b.id);
  checkObjectList(list);
  return list;
}
