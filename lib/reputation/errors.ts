/*!
 * errors.ts - the errors of the reputation extension.
 */

import { CodedError } from '../base/errors';

/** Every code a ReputationError may carry. */
export type ReputationCode = 'bad-identity' | 'bad-config';

/** A reputation query or setting that cannot be served. */
export class ReputationError extends CodedError<ReputationCode> {}
