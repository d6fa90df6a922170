/*!
 * errors.ts - the typed error every contract check throws.
 *
 * `code` is a kebab-case reason (`bad-contract-sig`); tests and callers
 * branch on it, never on the message.
 */

import { CodedError } from '../base/errors';

/** Every rule a contract, payload, record or contract transaction can fail. */
export type ContractCode =
  | 'bad-batch-index'
  | 'bad-batch-size'
  | 'bad-commit-count'
  | 'bad-commit-entry'
  | 'bad-commit-escrow'
  | 'bad-commit-root'
  | 'bad-commit-size'
  | 'bad-commit-vout'
  | 'bad-contract-audit-interval'
  | 'bad-contract-encoding'
  | 'bad-contract-escrow-keys'
  | 'bad-contract-escrow-value'
  | 'bad-contract-expiry'
  | 'bad-contract-holdback'
  | 'bad-contract-host-sig'
  | 'bad-contract-json'
  | 'bad-contract-key'
  | 'bad-contract-network'
  | 'bad-contract-parties'
  | 'bad-contract-period'
  | 'bad-contract-prev'
  | 'bad-contract-price'
  | 'bad-contract-refund-height'
  | 'bad-contract-renter-sig'
  | 'bad-contract-size'
  | 'bad-contract-version'
  | 'bad-object-changes'
  | 'bad-object-list'
  | 'bad-rating-flags'
  | 'bad-rating-leaf'
  | 'bad-rating-role'
  | 'bad-rating-score'
  | 'bad-rating-size'
  | 'bad-record-branch'
  | 'bad-record-escrow'
  | 'bad-record-escrow-value'
  | 'bad-record-leaf'
  | 'bad-record-size'
  | 'bad-revision-encoding'
  | 'bad-state-encoding'
  | 'close-needs-funding'
  | 'close-uneconomic'
  | 'contract-already-committed'
  | 'contract-not-party'
  | 'contract-offer-expired'
  | 'contract-too-long'
  | 'contract-unsigned'
  | 'duplicate-contract'
  | 'escrow-spent'
  | 'inputs-spent'
  | 'insufficient-allowance'
  | 'no-channel-state'
  | 'no-escrow'
  | 'not-host'
  | 'not-renter'
  | 'rating-dust'
  | 'refund-dust'
  | 'refund-too-early'
  | 'revision-bad-accrued'
  | 'revision-bad-height'
  | 'revision-bad-next-object'
  | 'revision-bad-root'
  | 'revision-bad-sig'
  | 'revision-out-of-order'
  | 'revision-wrong-contract'
  | 'state-bad-amount'
  | 'state-bad-sig'
  | 'state-bad-sighash'
  | 'state-out-of-order'
  | 'state-pays-less'
  | 'state-wrong-contract'
  | 'state-wrong-escrow'
  | 'unknown-contract'
  | 'wallet-refused';

/** A contract, payload or transaction failed a CloudCoin rule. */
export class ContractError extends CodedError<ContractCode> {
  readonly type = 'ContractError';

  constructor(code: ContractCode, message?: string) {
    super(code, message ? `${code}: ${message}` : code);
  }
}

/** Throw a ContractError unless `ok`. */
export function enforce(ok: boolean, code: ContractCode, message?: string): asserts ok {
  if (!ok)
    throw new ContractError(code, message);
}
