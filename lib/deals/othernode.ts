/*!
 * othernode.ts - saying so when another node with this wallet's identity
 * drives one of our contracts.
 *
 * A node restored from the seed while the original still runs derives the
 * same identity and escrow keys, takes the contracts over from their hosts
 * (takeover.ts) and from then on signs revisions and channel states of its
 * own. The original's next state or revision is then behind what the host
 * stored, and the host declines it (`state-underpays`, `state-out-of-order`,
 * `state-pays-less`, `revision-out-of-order`): true, but no hint of why.
 * On such a decline the renter asks the host what it holds of the contract
 * (`storage.latest`, one small page: the latest revision and the channel
 * state) and, when that is newer than what this node signed and carries
 * this wallet's signatures (a host cannot make those up), says in one line
 * that another node with this identity revised the contract and what to do.
 */

import type bcoin = require('../bcoin');
import type { StorageContract } from '../contracts/storagecontract';
import { type Revision, verifyRevisionSigs } from '../contracts/revision';
import { verifyState } from '../contracts/channel';
import { DealError } from './errors';
import type { LatestResult } from './latestwire';
import type { SignedPayment } from './payments';

/** Host decline codes that mean "behind what I stored": the ones worth asking the host about. */
export const BEHIND_DECLINES: ReadonlySet<string> = new Set([
  'state-underpays', 'state-out-of-order', 'state-pays-less', 'revision-out-of-order'
]);

/** `storage.latest` args that ask for no revision page and no object page: the latest revision and state only. */
export const LATEST_ONLY = { fromRevision: 0xffffffff, fromObject: 0xffffffff } as const;

/**
 * What the host holds beyond what this node signed, checked: the latest
 * revision when it is not ours and its number is at least ours and both
 * identity keys signed it, the channel state when it is not ours and its
 * number is at least ours and our escrow key signed it over the escrow on
 * chain (the same number signed twice is another signer's too). Returns
 * e.g. `revision 5 (this node's: 3)`, or null when the host is not ahead
 * (or its answer does not verify).
 */
export function aheadOfUs(c: StorageContract, held: Pick<LatestResult, 'latest' | 'state'>,
  mine: { revision: Revision | null; payment: SignedPayment | null }, escrow: bcoin.Coin | null): string | null {
  const parts: string[] = [];
  const ourRev = mine.revision ? mine.revision.number : -1;
  const otherRev = !mine.revision || !mine.revision.hash().equals(held.latest.hash());
  if (otherRev && held.latest.number >= ourRev && held.latest.contractId.equals(c.hash()) && verifyRevisionSigs(c, held.latest, true))
    parts.push(`revision ${held.latest.number} (this node's: ${ourRev < 0 ? 'none' : ourRev})`);
  const s = held.state?.state;
  const ourState = mine.payment ? mine.payment.state.number : 0;
  const otherState = s !== undefined && (!mine.payment || !mine.payment.state.encode().equals(s.encode()));
  if (s && otherState && escrow && s.number >= ourState && signedState(c, escrow, s))
    parts.push(`channel state ${s.number} paying ${s.paid} sat (this node's: ${ourState === 0 ? 'none' : `${ourState} paying ${mine.payment?.state.paid} sat`})`);
  return parts.length ? parts.join(' and ') : null;
}

function signedState(c: StorageContract, escrow: bcoin.Coin, s: Parameters<typeof verifyState>[2]): boolean {
  try {
    verifyState(c, escrow, s);
    return true;
  } catch {
    return false;
  }
}

/** The one line for the user: what the host holds, who made it, and what to do. */
export function otherNodeError(c: StorageContract, host: string, ahead: string, reason: string): DealError {
  const e = new DealError('other-node', `contract ${c.id().slice(0, 12)}: host ${host} holds ${ahead}, signed with this `
    + 'wallet\'s keys: another node with this wallet\'s identity (a copy restored from the seed?) revised it. '
    + 'Run one node per seed: stop the other one, then `cloudcoin-cli recover` here adopts the host\'s state');
  e.reason = reason;
  return e;
}

/** What explainDecline needs of the node. */
export interface OtherNodeContext {
  /** One `storage.latest` page from the contract's host. */
  latest(c: StorageContract, fromRevision: number, fromObject: number): Promise<LatestResult>;
  revision(c: StorageContract): Promise<Revision | null>;
  payment(c: StorageContract): Promise<SignedPayment | null>;
  /** The contract's escrow coin on chain (unspent), or null. */
  escrow(c: StorageContract): Promise<bcoin.Coin | null>;
}

/**
 * The error to throw for a host's decline `e` of a state or revision of
 * contract `c`: otherNodeError when the decline says we are behind and the
 * host shows, checked, that this wallet signed something newer; else `e`
 * itself (also when the host cannot be asked).
 */
export async function explainDecline(ctx: OtherNodeContext, c: StorageContract, host: string, e: unknown): Promise<unknown> {
  if (!(e instanceof DealError) || !BEHIND_DECLINES.has(e.reason))
    return e;
  const ahead = await hostAhead(ctx, c).catch(() => null);
  return ahead ? otherNodeError(c, host, ahead, e.reason) : e;
}

/** What the host of our contract `c` holds that this wallet signed and this node did not (aheadOfUs), or null. */
export async function hostAhead(ctx: OtherNodeContext, c: StorageContract): Promise<string | null> {
  const held = await ctx.latest(c, LATEST_ONLY.fromRevision, LATEST_ONLY.fromObject);
  return aheadOfUs(c, held, { revision: await ctx.revision(c), payment: await ctx.payment(c) }, await ctx.escrow(c));
}
