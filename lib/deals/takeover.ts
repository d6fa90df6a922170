/*!
 * takeover.ts - a renter restored from its seed takes over the contracts
 * it found again: it adopts what their hosts hold, checked, and from then
 * on treats them as contracts it formed (prepaid gets, audits, payments,
 * rm, renewal).
 *
 * A restored node has the contract (the chain) and its keys (the seed)
 * but none of what its old datadir kept: the revisions both parties
 * signed (accrual reads every one), the objects of the latest, and the
 * latest channel state (a prepaid token or a payment signs the next one
 * after it). The host keeps all three, so the node asks it
 * (`storage.latest`, PROTOCOL 5 "Taking over a contract"; the request is
 * signed by the renter identity key, which the host checks against the
 * contract's renterKey) and adopts the answer only if it holds:
 *
 *   - revisions 0..n consecutive, each of this contract, each signed by
 *     both identity keys (ours from the seed: a host cannot make one up),
 *     heights, nextObject and accrued never going backwards, revision 0
 *     at the contract's start;
 *   - the objects are exactly what revision n commits to (tree root, size,
 *     count, ids below nextObject);
 *   - the channel state is this contract's, signed by our escrow key over
 *     the escrow on chain, pays at most the escrow (`state-bad-amount`),
 *     of it at most `paid` prepaid, missed intervals within the contract;
 *   - nothing goes back from what this node can prove: a revision or a
 *     state it already holds for the contract (signed by its own keys)
 *     that is newer than the host's is refused as `host-behind`.
 *
 * The contract record, the revisions, the objects (with the files the
 * recovered manifest names for them) and the state go to disk in one
 * fsynced batch before the contract is used.
 */

import type bcoin = require('../bcoin');
import type { StorageContract } from '../contracts/storagecontract';
import type { Revision } from '../contracts/revision';
import { verifyRevisionSigs } from '../contracts/revision';
import { verifyState } from '../contracts/channel';
import { ContractError } from '../contracts/errors';
import { type ObjectEntry, objectTreeRoot, objectsSize, MAX_OBJECTS } from '../contracts/objecttree';
import { MAX_MONEY } from '../contracts/common';
import { ZERO_HASH } from '../base/consts';
import { DealError } from './errors';
import { type ContractObject, RenterContract } from './dealrecords';
import { type DealStore } from './dealstore';
import type { LatestResult, LatestState } from './latestwire';
import { SignedPayment, dueFor } from './payments';
import { intervals } from './accrual';
import { accrualTerms } from './revisions';

/** Pages one takeover may ask for (MAX_OBJECTS objects at 4096 a page, plus revisions). */
const MAX_PAGES = 64;

/** What a host answered, gathered over its pages. */
export interface HostHolding {
  latest: Revision;
  revisions: Revision[];
  objects: ObjectEntry[];
  state: LatestState | null;
}

/** What taking a contract over needs from the node. */
export interface TakeoverContext {
  store: DealStore;
  /** One `storage.latest` page from the contract's host (throws DealError when it declines or is away). */
  latest(c: StorageContract, fromRevision: number, fromObject: number): Promise<LatestResult>;
  /** The contract's escrow coin on chain (unspent), or null while none is indexed. */
  escrow(c: StorageContract): Promise<bcoin.Coin | null>;
}

/** takeOver's answer (recoverfiles JSON per contract). */
export interface TakeoverResult {
  revision: number;
  objects: number;
  /** Number and sat of the adopted channel state (0 when the host holds none). */
  state: number;
  paid: number;
}

function refuse(why: string): DealError {
  return new DealError('bad-host-answer', `host's state refused: ${why}`);
}

/** Gather every page of the host's answer; the latest revision must stay the same across pages. */
export async function fetchHolding(ctx: TakeoverContext, c: StorageContract): Promise<HostHolding> {
  let fromRevision = 0;
  let fromObject = 0;
  let out: HostHolding | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await ctx.latest(c, fromRevision, fromObject);
    if (out && !out.latest.hash().equals(res.latest.hash()))
      throw new DealError('contract-busy', `contract ${c.id().slice(0, 12)} changed on its host while it was read: try again`);
    out ??= { latest: res.latest, revisions: [], objects: [], state: res.state };
    out.state = res.state;
    out.revisions.push(...res.revisions.filter((r) => r.number >= fromRevision));
    out.objects.push(...res.objects.filter((o) => o.id >= fromObject));
    if (!res.moreRevisions && !res.moreObjects)
      return out;
    if (res.moreRevisions && res.revisions.length)
      fromRevision = res.revisions[res.revisions.length - 1].number + 1;
    else if (res.moreRevisions)
      throw refuse('more revisions flagged but none sent');
    if (res.moreObjects && res.objects.length)
      fromObject = res.objects[res.objects.length - 1].id + 1;
    else if (res.moreObjects)
      throw refuse('more objects flagged but none sent');
  }
  throw refuse(`more than ${MAX_PAGES} pages`);
}

/**
 * Check a host's holding against the contract, the escrow and what this
 * node already holds (module header). Throws DealError `bad-host-answer`
 * (the host's answer does not hold) or `host-behind` (older than what we
 * can prove).
 */
export function verifyHolding(c: StorageContract, h: HostHolding, escrow: bcoin.Coin,
  mine: { revision: Revision | null; payment: SignedPayment | null }): void {
  const id = c.hash();
  const revs = h.revisions;
  // [REJECT] revisions 0..n, consecutive, ending with the latest
  if (revs.length === 0 || revs[revs.length - 1].number !== h.latest.number
    || !revs[revs.length - 1].hash().equals(h.latest.hash()) || !revs[revs.length - 1].hostSig.equals(h.latest.hostSig))
    throw refuse('the revisions do not run from 0 to the latest');
  let prev: Revision | null = null;
  for (const r of revs) {
    // [REJECT] a revision of another contract, out of order, or not signed by both of us
    if (!r.contractId.equals(id) || r.number !== (prev ? prev.number + 1 : 0))
      throw refuse(`revision ${r.number} is out of order or of another contract`);
    if (!verifyRevisionSigs(c, r, true))
      throw refuse(`revision ${r.number} has a bad signature`);
    // [REJECT] heights, object ids and accrued cost never go backwards
    if (prev ? (r.height < prev.height || r.nextObject < prev.nextObject || r.accrued < prev.accrued) : r.height !== c.startHeight)
      throw refuse(`revision ${r.number} goes backwards`);
    if (r.height >= c.endHeight && r.number > 0)
      throw refuse(`revision ${r.number} is dated after the contract's end`);
    if (r.accrued > MAX_MONEY)
      throw refuse(`revision ${r.number} accrues more than MAX_MONEY`);
    prev = r;
  }
  const latest = h.latest;
  const objs = h.objects;
  // [REJECT] the objects must be what the latest revision commits to
  const ascending = objs.every((o, i) => i === 0 || o.id > objs[i - 1].id);
  if (objs.length > MAX_OBJECTS || !ascending || latest.count !== objs.length || latest.size !== objectsSize(objs)
    || !latest.root.equals(objectTreeRoot(objs)) || (objs.length > 0 && latest.nextObject <= objs[objs.length - 1].id))
    throw refuse(`the objects do not match revision ${latest.number}`);
  // [REJECT] older than a revision this node holds (signed by its own key)
  if (mine.revision && mine.revision.number > latest.number)
    throw new DealError('host-behind', `host's state refused: it holds revision ${latest.number}, `
      + `this node can prove revision ${mine.revision.number}`);
  const s = h.state;
  if (s) {
    try {
      verifyState(c, escrow, s.state);
    } catch (e) {
      if (e instanceof ContractError)
        throw refuse(`channel state ${s.state.number}: ${e.code}${e.code === 'state-bad-amount' ? ' (pays more than the escrow)' : ''}`);
      throw e;
    }
    const all = intervals(accrualTerms(c)).length;
    // [REJECT] prepaid within what the state pays, missed intervals within the contract
    if (s.state.number < 1 || s.prepaid > s.state.paid || s.missed.some((k) => k >= all))
      throw refuse(`channel state ${s.state.number}: bad number, prepaid or missed intervals`);
  }
  const had = mine.payment;
  // [REJECT] older than a state this node signed (number and amount never go back)
  if (had && (!s || s.state.number < had.state.number || s.state.paid < had.state.paid))
    throw new DealError('host-behind', `host's state refused: it holds channel state ${s ? `${s.state.number} paying ${s.state.paid} sat` : 'none'}, `
      + `this node signed state ${had.state.number} paying ${had.state.paid} sat`);
}

/**
 * The intervals a state pays for, 0..through-1: the most whose due
 * (payments.ts dueFor, the missed ones unpaid, with its prepaid) the state
 * covers. The host keeps no `through`; this never claims more than paid.
 */
export function paidThrough(c: StorageContract, revisions: readonly Revision[], s: LatestState): number {
  const all = intervals(accrualTerms(c)).length;
  let through = 0;
  for (let t = 1; t <= all; t++) {
    if (dueFor(c, revisions, t, s.missed.filter((k) => k < t), s.prepaid).paid > s.state.paid)
      break;
    through = t;
  }
  return through;
}

/**
 * Take contract `c` over from its host: fetch, verify, and store in one
 * synced batch (module header). `fileOf` names the file each object is
 * (from the recovered manifest; zeros when none lists it).
 */
export async function takeOver(ctx: TakeoverContext, c: StorageContract,
  fileOf: (object: number) => Buffer | null): Promise<TakeoverResult> {
  const id = c.hash();
  const escrow = await ctx.escrow(c);
  if (!escrow)
    throw new DealError('unknown-contract', `contract ${c.id().slice(0, 12)}: its escrow is not indexed (or spent): cannot check a state against it`);
  const holding = await fetchHolding(ctx, c);
  const mine = { revision: await ctx.store.latestRevision(id), payment: await ctx.store.getPayment(id) };
  verifyHolding(c, holding, escrow, mine);
  const rc = new RenterContract();
  rc.contract = c;
  rc.nextObject = Math.max(1, holding.latest.nextObject);
  const objects: ContractObject[] = holding.objects.map((o) => ({ ...o, fileId: fileOf(o.id) ?? ZERO_HASH }));
  let payment: SignedPayment | null = null;
  const s = holding.state;
  // A state equal to ours keeps what we knew of it (through, conceded intervals).
  if (s && !(mine.payment && mine.payment.state.number === s.state.number && mine.payment.state.paid === s.state.paid)) {
    payment = new SignedPayment();
    payment.state = s.state;
    payment.prepaid = s.prepaid;
    // The intervals the host took as missed stay missed (payments.ts keeps them unpaid).
    payment.missed = s.missed;
    payment.ackedMissed = s.missed;
    payment.acked = true;
    payment.through = paidThrough(c, holding.revisions, s);
  }
  await ctx.store.adoptContract(rc, holding.revisions, objects, payment);
  return { revision: holding.latest.number, objects: objects.length, state: s ? s.state.number : 0, paid: s ? s.state.paid : 0 };
}
