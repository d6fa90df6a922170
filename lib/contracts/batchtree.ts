/*!
 * batchtree.ts - the Merkle tree binding up to 16 contract ids to one
 * commitment OP_RETURN.
 *
 * leaf_i = TH("cc/leaf", u8 i || id_i); node = TH("cc/node", L || R); an
 * odd node at the end of a level is promoted unchanged. A single contract
 * commits its id directly (no tree). Branches are the sibling hashes from
 * the leaf up; the shape follows from (index, count), so no direction bits.
 */

import { taggedHash, tags } from '../base/hash';
import { MAX_BATCH } from './common';
import { enforce } from './errors';

/** Leaf hash of contract id `id` at position `index`. */
export function batchLeaf(index: number, id: Buffer): Buffer {
  return taggedHash(tags.LEAF, Buffer.from([index]), id);
}

function nextLevel(level: Buffer[]): Buffer[] {
  const next: Buffer[] = [];
  for (let i = 0; i < level.length; i += 2) {
    if (i + 1 < level.length)
      next.push(taggedHash(tags.NODE, level[i], level[i + 1]));
    else
      next.push(level[i]);
  }
  return next;
}

/** The committed hash for a batch: the id for n = 1, else the tree root. */
export function batchRoot(ids: Buffer[]): Buffer {
  enforce(ids.length >= 1 && ids.length <= MAX_BATCH, 'bad-batch-size');
  if (ids.length === 1)
    return ids[0];
  let level = ids.map((id, i) => batchLeaf(i, id));
  while (level.length > 1)
    level = nextLevel(level);
  return level[0];
}

/** Inclusion branch of leaf `index` (empty for n = 1). */
export function batchBranch(ids: Buffer[], index: number): Buffer[] {
  enforce(ids.length >= 1 && ids.length <= MAX_BATCH, 'bad-batch-size');
  enforce(index >= 0 && index < ids.length, 'bad-batch-index');
  if (ids.length === 1)
    return [];
  const branch: Buffer[] = [];
  let level = ids.map((id, i) => batchLeaf(i, id));
  let i = index;
  while (level.length > 1) {
    const sibling = i ^ 1;
    if (sibling < level.length)
      branch.push(level[sibling]);
    level = nextLevel(level);
    i >>>= 1;
  }
  return branch;
}

/** Root implied by `id` at `index` of a batch of `count` with `branch`. */
export function branchRoot(id: Buffer, index: number, count: number, branch: Buffer[]): Buffer | null {
  if (count < 1 || count > MAX_BATCH || index < 0 || index >= count)
    return null;
  if (count === 1)
    return branch.length === 0 ? id : null;
  let hash = batchLeaf(index, id);
  let i = index;
  let width = count;
  let used = 0;
  while (width > 1) {
    const sibling = i ^ 1;
    if (sibling < width) {
      if (used >= branch.length)
        return null;
      const other = branch[used++];
      hash = (i & 1) ? taggedHash(tags.NODE, other, hash) : taggedHash(tags.NODE, hash, other);
    }
    i >>>= 1;
    width = (width + 1) >>> 1;
  }
  return used === branch.length ? hash : null;
}

/** True if `branch` proves `id` at `index` of a `count`-batch with `root`. */
export function verifyBranch(root: Buffer, id: Buffer, index: number, count: number, branch: Buffer[]): boolean {
  const got = branchRoot(id, index, count, branch);
  return got !== null && got.equals(root);
}
