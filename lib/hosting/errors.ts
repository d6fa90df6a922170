/*!
 * errors.ts - the errors of the hosting extension.
 */

import { CodedError } from '../base/errors';

/** Every code a HostingConfigError may carry. */
export type HostingCode = 'bad-config';

/** A hosting configuration problem: printed as one line by cloudcoind. */
export class HostingConfigError extends CodedError<HostingCode> {
  constructor(message: string) {
    super('bad-config', message);
  }
}
