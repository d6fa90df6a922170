/*!
 * layout.ts - keys of the deals database (`<datadir>/deals`).
 *
 *   V              -> u32 version
 *   h[id]          -> StorageContract a host countersigned (raw)
 *   s[id]          -> u32 height at which the host saw its escrow funded,
 *                     or 0xffffffff: seen in a block since disconnected
 *   f[fileId]      -> ManifestFile (raw), the renter's files
 *   r[id]          -> RenterContract: a contract this renter formed, kept for
 *                     the contract's life (its allowance, its id high-water)
 *   v[id][n]       -> Revision n of contract id, signed by both (either side)
 *   n[id]          -> u32 number of the latest of them (leveldown here
 *                     ignores `reverse`, so the latest is not a range scan)
 *   p[id]          -> PendingRevision: the revision the renter signed and
 *                     the host has not countersigned yet, with its changes
 *                     (either side; at most one per contract)
 *   o[id][object]  -> ContractObject: one object of the contract's latest
 *                     countersigned revision (either side; the renter also
 *                     records which file it is)
 *   a[id][k]       -> AuditRecord: the renter's audit of interval k of
 *                     contract id (audits.ts), written before it is acted on
 *   y[id]          -> SignedPayment: the latest channel state the renter
 *                     signed for contract id, and whether its host
 *                     acknowledged it (written before it is sent)
 *   u[id]          -> u32 height: the host served an audit of contract id
 *                     from this height on and no state has paid since
 *   w[id][h][n]    -> u32 served || token (ASCII): an audit token the host
 *                     served at height h (n: a random u32 telling apart
 *                     tokens of one block) and the bytes its reads were
 *                     seen to serve (the data API's budget left); a `pay`
 *                     calling the interval missed is checked against them
 *   x[id]          -> u32 height: the host dropped contract id for
 *                     non-payment at this height
 *   k[renterKey]   -> u32 count || u32 height: renters the host dropped for
 *                     non-payment (ratings publish it)
 *   R[fileId][seq] -> RepairRecord (repairlog.ts): the renter's shard
 *                     repairs of a file, in order; deleted with the file
 *   A[fileId]      -> u64 `updated` of the sealed manifest a file's entry
 *                     was found again in after a restore (recovery.ts): a
 *                     newer manifest's entry replaces it; gone once this
 *                     node writes the file itself, and with the file
 *   F[fileId]      -> the renter's keyed fingerprints of a file's plaintext
 *                     chunks (storage/delta.ts, 32 bytes each), what a
 *                     later version's put compares with; deleted with the
 *                     file
 *   B              -> u64 sat automatic repair locked in new escrows
 *                     (what --repair-budget caps)
 *   W              -> u64 sat automatic renewal locked in new escrows
 *                     (what --renew-budget caps)
 * A node is never both parties of one contract (renter and host identities
 * differ), so v, p and o serve whichever side it is.
 */

import bdb = require('../bdb');

export const layout = {
  V: bdb.key('V'),
  h: bdb.key('h', ['hash256']),
  s: bdb.key('s', ['hash256']),
  f: bdb.key('f', ['hash256']),
  r: bdb.key('r', ['hash256']),
  v: bdb.key('v', ['hash256', 'uint32']),
  n: bdb.key('n', ['hash256']),
  p: bdb.key('p', ['hash256']),
  o: bdb.key('o', ['hash256', 'uint32']),
  a: bdb.key('a', ['hash256', 'uint32']),
  y: bdb.key('y', ['hash256']),
  u: bdb.key('u', ['hash256']),
  w: bdb.key('w', ['hash256', 'uint32', 'uint32']),
  x: bdb.key('x', ['hash256']),
  k: bdb.key('k', ['bhash']),
  R: bdb.key('R', ['hash256', 'uint32']),
  F: bdb.key('F', ['hash256']),
  A: bdb.key('A', ['hash256']),
  B: bdb.key('B'),
  W: bdb.key('W')
};

/** 1: contracts hold many objects, changed by revisions (v0 stored one file per contract). */
export const DB_VERSION = 1;
