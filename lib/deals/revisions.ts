/*!
 * revisions.ts - the rules both sides apply to a contract's revisions:
 * the renter to build revision n+1, the host to check it, so both always
 * derive the same numbers from the same signed revisions (PROTOCOL 3.8,
 * 3.9; docs/MARKET.md).
 *
 *   revision 0: the contract's root and size, height = startHeight,
 *     accrued = uploadCost(size) (0 for a renewal: nothing is uploaded)
 *   revision n+1 made at height h: objects = apply(changes) to revision
 *     n's objects, accrued = accrued_n + storageCost(size_n, h - height_n)
 *     + uploadCost(bytes added), nextObject above every id ever handed out
 *   allowance: accrued + storageCost(size, end - height) <= escrowValue
 */

import type { StorageContract } from '../contracts/storagecontract';
import { Revision, checkRevisionStep, revisionZero } from '../contracts/revision';
import { ContractError } from '../contracts/errors';
import {
  type ObjectChanges, type ObjectEntry, applyObjectChanges, objectTreeRoot, objectsSize
} from '../contracts/objecttree';
import { type AccrualTerms, nextAccrued, projectedCost, transferCost } from './accrual';
import { ZERO_HASH } from '../base/consts';

/** Highest revision number a node stores (revisions are keyed by u32). */
export const MAX_REVISION = 0xffffffff;

/** What accrual reads of a contract. */
export function accrualTerms(c: StorageContract): AccrualTerms {
  return {
    startHeight: c.startHeight,
    endHeight: c.endHeight,
    auditInterval: c.auditInterval,
    holdback: c.holdback,
    prices: { storage: c.storagePrice, upload: c.uploadPrice, download: c.downloadPrice }
  };
}

/** True for a renewal (the contract names the one it renews). */
export function isRenewal(c: StorageContract): boolean {
  return !c.prevId.equals(ZERO_HASH);
}

/** Revision 0 of `c` holding `objects` (unsigned). */
export function firstRevision(c: StorageContract, objects: readonly ObjectEntry[]): Revision {
  const upload = isRenewal(c) ? 0 : transferCost(c.uploadPrice, objectsSize(objects));
  return revisionZero(c, objects, upload);
}

/** What the allowance must cover by the end for `rev` (sat). */
export function committedCost(c: StorageContract, rev: Revision): number {
  return projectedCost(accrualTerms(c), rev);
}

/** True if the contract's allowance pays `rev` to the end. */
export function allowanceCovers(c: StorageContract, rev: Revision): boolean {
  return committedCost(c, rev) <= c.escrowValue;
}

/** Revision n+1 and the object list it commits to. */
export interface NextRevision {
  revision: Revision;
  objects: ObjectEntry[];
}

/**
 * Build revision `latest.number + 1` (unsigned) applying `changes` at
 * `height`; added ids must be at least `floor` (the lowest id never handed
 * out). Throws ContractError `bad-object-changes`/`bad-object-list`.
 */
export function nextRevision(c: StorageContract, latest: Revision, objects: readonly ObjectEntry[],
  changes: ObjectChanges, height: number, floor: number): NextRevision {
  const list = applyObjectChanges(objects, changes, Math.max(floor, latest.nextObject));
  const added = changes.add.reduce((sum, o) => sum + o.size, 0);
  const top = changes.add.length ? changes.add[changes.add.length - 1].id + 1 : 0;
  const revision = new Revision({
    contractId: c.hash(),
    number: latest.number + 1,
    height,
    root: objectTreeRoot(list),
    size: objectsSize(list),
    count: list.length,
    nextObject: Math.max(floor, latest.nextObject, top),
    accrued: nextAccrued(accrualTerms(c), latest, height, added)
  });
  return { revision, objects: list };
}

/**
 * The host's check of revision n+1 against revision n, the changes it
 * claims and the chain tip. Returns the object list it commits to; throws
 * ContractError with the decline code (`revision-*`, `bad-object-*`,
 * `insufficient-allowance`).
 */
export function checkNextRevision(c: StorageContract, latest: Revision, objects: readonly ObjectEntry[],
  changes: ObjectChanges, next: Revision, floor: number, tip: number, slack: number): ObjectEntry[] {
  // [REJECT] another contract, or not the next number (replayed, reordered)
  if (!next.contractId.equals(c.hash()))
    throw new ContractError('revision-wrong-contract');
  if (next.number !== latest.number + 1 || next.number > MAX_REVISION)
    throw new ContractError('revision-out-of-order', `expected revision ${latest.number + 1}, got ${next.number}`);
  // [REJECT] a height the host's chain cannot vouch for
  if (next.height < tip - slack || next.height > tip + 1)
    throw new ContractError('revision-bad-height', `height ${next.height} is not within ${slack} blocks of ${tip}`);
  const list = applyObjectChanges(objects, changes, Math.max(floor, latest.nextObject));
  checkRevisionStep(c, latest, next, list);
  const added = changes.add.reduce((sum, o) => sum + o.size, 0);
  // [REJECT] accrued must be exactly what the rules give
  if (next.accrued !== nextAccrued(accrualTerms(c), latest, next.height, added))
    throw new ContractError('revision-bad-accrued', 'accrued is not the cost earned so far plus the upload');
  // [REJECT] the allowance cannot pay the revision's data to the end
  if (!allowanceCovers(c, next))
    throw new ContractError('insufficient-allowance', `the allowance ${c.escrowValue} sat does not cover ${committedCost(c, next)} sat`);
  return list;
}
