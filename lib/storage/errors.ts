/*!
 * errors.ts - typed errors of the data path and of the object store.
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

/** Stable reasons a store call fails. */
export type StoreErrorCode =
  | 'bad-contract'
  | 'bad-object'
  | 'contract-exists'
  | 'object-exists'
  | 'too-many-objects'
  | 'unknown-contract'
  | 'contract-expired'
  | 'no-capacity'
  | 'unknown-object'
  | 'object-not-found'
  | 'bad-offset'
  | 'unaligned-part'
  | 'too-large'
  | 'empty-body'
  | 'truncated-body'
  | 'root-mismatch'
  | 'already-complete'
  | 'upload-incomplete'
  | 'bad-leaf'
  | 'busy'
  | 'disk-full'
  | 'not-writable'
  | 'io-error';

/** A store failure; `detail` carries machine-readable extras (e.g. `received`). */
export class StoreError extends CodedError<StoreErrorCode> {
  constructor(code: StoreErrorCode, message: string, detail: Record<string, unknown> = {}) {
    super(code, message, detail);
  }
}

/**
 * Maps a file-system error to the store's documented code (docs/FILESERVER.md):
 * ENOSPC/EDQUOT `disk-full`, EACCES/EPERM/EROFS `not-writable`, EIO `io-error`.
 * Anything else is returned unchanged.
 */
export function ioError(e: unknown): unknown {
  switch ((e as NodeJS.ErrnoException | null)?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new StoreError('disk-full', 'the server\'s disk is full');
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new StoreError('not-writable', 'the server cannot write its data folder');
    case 'EIO':
      return new StoreError('io-error', 'the server\'s disk failed to read or write');
    default:
      return e;
  }
}
