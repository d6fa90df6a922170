/*!
 * layout.ts - keys of the deals database (`<datadir>/deals`).
 *
 *   V          -> u32 version
 *   h[id]      -> StorageContract a host countersigned (raw)
 *   s[id]      -> u32 height at which the host saw its escrow funded
 *   f[fileId]  -> ManifestFile (raw), the renter's files
 *   r[id]      -> RenterDeal (raw): a contract this renter proposed for a
 *                 file, kept until committed or its offer expired
 */

import bdb = require('../bdb');

export const layout = {
  V: bdb.key('V'),
  h: bdb.key('h', ['hash256']),
  s: bdb.key('s', ['hash256']),
  f: bdb.key('f', ['hash256']),
  r: bdb.key('r', ['hash256'])
};

export const DB_VERSION = 0;
