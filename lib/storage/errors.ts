/*!
 * errors.ts - typed errors of the data path.
 *
 * Callers and tests branch on `code` (kebab-case, stable), never on the
 * message, as STYLE.md asks.
 */

import { CodedError } from '../base/errors';

/** Stable reasons a data-path operation fails. */
export type StorageErrorCode =
  | 'bad-key'
  | 'bad-tag'
  | 'truncated'
  | 'trailing-data'
  | 'bad-size'
  | 'bad-proof'
  | 'bad-root'
  | 'bad-tree'
  | 'bad-manifest'
  | 'bad-scheme'
  | 'too-few-shards'
  | 'bad-token'
  | 'io-error';

/** A data-path failure: tampered ciphertext, malformed proof or manifest. */
export class StorageError extends CodedError<StorageErrorCode> {
  constructor(code: StorageErrorCode, message: string) {
    super(code, message);
  }
}
