/*!
 * schedule.ts - when a contract's escrow is spent on its own.
 *
 * Derived from the contract, the host's latest channel state and the chain
 * height only, at every block, so a restart or a crash changes nothing:
 *
 * - The host closes with its latest state at end height when that state is
 *   the final one (it releases the holdback), else CLOSE_GRACE_INTERVALS
 *   audit intervals after the end (a renter that never sent the final
 *   state), and in any case while the tip is still below the close
 *   deadline, refundHeight - W/2: the close is then in the mempool with W/2
 *   blocks to confirm before the renter's refund can be mined (from block
 *   refundHeight + 1; notes/bcoin-1.0.2.md section 3).
 * - The renter refunds every escrow still unspent once the tip reaches the
 *   refund height (its refund is then valid in the next block).
 */

import type { ContractParams } from './common';
import type { StorageContract } from './storagecontract';

/** Audit intervals a host waits past the end for the final state (docs/MARKET.md). */
export const CLOSE_GRACE_INTERVALS = 2;

/**
 * The close deadline: the host's close must be broadcast while the tip is
 * below this height (refundHeight - floor(W / 2)).
 */
export function closeDeadline(contract: StorageContract, params: ContractParams): number {
  return contract.refundHeight - Math.floor(params.window / 2);
}

/**
 * Tip height from which the host's node closes on its own with a state:
 * end height for a final state, else the end plus the grace; never later
 * than closeDeadline - 1.
 */
export function autoCloseHeight(contract: StorageContract, final: boolean, params: ContractParams): number {
  const due = final ? contract.endHeight : contract.endHeight + CLOSE_GRACE_INTERVALS * contract.auditInterval;
  return Math.min(due, closeDeadline(contract, params) - 1);
}

/** Tip height from which the renter's refund is valid (its nLockTime is the refund height). */
export function refundFrom(contract: StorageContract): number {
  return contract.refundHeight;
}
