/*!
 * renterclient.ts - the renter's put, get and repair, over any
 * `call(method, params)`: cloudcoin-cli passes JSON-RPC over HTTP, the
 * node passes its own RPC in-process (audits, repair, renewal use the
 * same flow).
 *
 * The flows live apart: renterput.ts, renterget.ts, renterrepair.ts, on
 * the steps they share in rentercore.ts; the shapes, errors and constants
 * are in rentertypes.ts (re-exported here, so callers import this file).
 *
 * The client writes only inside the `workDir` its caller gives it, so the
 * caller can remove everything on an interrupt.
 */

import { RenterCore } from './rentercore';
import { getFile } from './renterget';
import { putFile } from './renterput';
import { repairFile } from './renterrepair';
import type { GetResult, PutOptions, PutResult, RepairOptions, RepairResult } from './rentertypes';

export * from './rentertypes';
export { RenterCore } from './rentercore';

/** The renter client: the shared steps (RenterCore) plus the three flows. */
export class RenterClient extends RenterCore {
  /** Store a file (renterput.ts). */
  put(opts: PutOptions): Promise<PutResult> {
    return putFile(this, opts);
  }

  /** Fetch and decrypt a file (id or unique prefix) into `workDir` (renterget.ts). */
  get(fileId: string, workDir: string): Promise<GetResult> {
    return getFile(this, fileId, workDir);
  }

  /** Repair a file stored as shards (renterrepair.ts). */
  repair(fileId: string, opts: RepairOptions): Promise<RepairResult> {
    return repairFile(this, fileId, opts);
  }
}
