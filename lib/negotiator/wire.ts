/*!
 * wire.ts - checked readers for cs* packets: the negotiator's names, and
 * the shared readers of lib/base/wire.ts, re-exported for its callers.
 */

import bio = require('bufio');
import { decodeCodes, malformed, readVarBytes } from '../base/wire';
import { NAME_RE, MAX_NAME_SIZE } from './common';

export * from '../base/wire';

/** A service or method name. */
export function readName(br: bio.BufferReader): string {
  const raw = readVarBytes(br, MAX_NAME_SIZE);
  const name = raw.toString('latin1');
  // [REJECT] names are lowercase ASCII identifiers
  if (!NAME_RE.test(name))
    throw malformed(decodeCodes.BAD_NAME);
  return name;
}

export function isName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_SIZE && NAME_RE.test(name);
}
