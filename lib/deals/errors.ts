/*!
 * errors.ts - the errors deals raise, each with a stable code that tests
 * and the RPC translator (rpc.ts) read; messages are for people.
 */

import { CodedError } from '../base/errors';

/** Every code a DealError may carry. */
export type DealErrorCode =
  // renter <-> host
  | 'proposal-declined' | 'revision-declined' | 'bad-host-answer' | 'bad-host-sig' | 'bad-data-url' | 'no-receipt'
  | 'bad-receipt' | 'no-token' | 'object-too-large' | 'host-unreachable' | 'host-behind' | 'host-pricier' | 'payment-declined'
  | 'other-node'
  // the renter's contracts
  | 'insufficient-allowance' | 'unknown-contract' | 'contract-busy' | 'revision-unsettled' | 'not-formed' | 'not-renewable' | 'over-budget'
  // the renter's files
  | 'bad-file-id' | 'unknown-file' | 'ambiguous-id' | 'file-exists' | 'file-in-use' | 'nothing-to-commit'
  | 'not-coded' | 'bad-repair' | 'bad-record' | 'bad-chunk-map' | 'unknown-put' | 'put-given-up'
  // the node
  | 'not-open' | 'not-activated' | 'wallet-locked';

/** A deal failure the user should read. */
export class DealError extends CodedError<DealErrorCode> {
  /** A host's decline code when a host declined (e.g. `insufficient-allowance`), else ''. */
  reason = '';

  constructor(code: DealErrorCode, message: string) {
    super(code, message);
  }
}
