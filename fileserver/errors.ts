/*!
 * errors.ts - HTTP errors of the file server: one stable code per cause,
 * mapped to one status, always sent as JSON {error: {code, message, ...}}.
 */

import { CodedError } from '../lib/base/errors';

/** Every error code the file server sends, with its HTTP status. */
export const statusOf = {
  'bad-request': 400,
  'bad-contract': 400,
  'bad-object': 400,
  'empty-body': 400,
  'bad-leaf': 400,
  'bad-json': 400,
  'truncated-body': 400,
  'missing-token': 401,
  'bad-token': 401,
  'token-expired': 401,
  'over-budget': 402,
  'missing-auth': 401,
  'bad-signature': 401,
  'stale-request': 401,
  'replayed-nonce': 401,
  'token-scope': 403,
  'not-found': 404,
  'unknown-contract': 404,
  'unknown-object': 404,
  'object-not-found': 404,
  'method-not-allowed': 405,
  'bad-offset': 409,
  'busy': 409,
  'already-complete': 409,
  'contract-exists': 409,
  'object-exists': 409,
  'too-many-objects': 409,
  'upload-incomplete': 409,
  'request-timeout': 408,
  'contract-expired': 410,
  'length-required': 411,
  'too-large': 413,
  'range-required': 413,
  'bad-range': 416,
  'unaligned-part': 422,
  'root-mismatch': 422,
  'headers-too-large': 431,
  'server-error': 500,
  'not-writable': 500,
  'io-error': 500,
  'no-capacity': 507,
  'disk-full': 507
} as const satisfies Record<string, number>;

/** A code the file server sends. */
export type HTTPErrorCode = keyof typeof statusOf;

/** An error to send to the client. */
export class HTTPError extends CodedError<HTTPErrorCode> {
  readonly status: number;

  constructor(code: HTTPErrorCode, message: string, detail: Record<string, unknown> = {}) {
    super(code, message, detail);
    this.status = statusOf[code];
  }
}
