/*!
 * layout.ts - contract index database keys (`<datadir>/contracts`).
 *
 * Owned by the indexer base (indexer.ts, `indexerLayout`):
 *   V                          -> db version (u32)
 *   R                          -> index tip: height u32 LE, block hash (32)
 *   h[height u32 BE]           -> block hash the index connected there
 *   u[height u32 BE]           -> BlockUndo of that block
 * Owned by ContractIndex:
 *   t[txid]                    -> CommitEntry (a confirmed commitment tx)
 *   c[id]                      -> ContractRecord (resolved, relayable)
 *   i[identity pk][id]         -> role u8 (0 renter, 1 host)
 *   r[id][role u8][height u32 BE][tx index u16 BE] -> RatingEntry
 *   q[txid][leaf u8]           -> ContractRecord waiting for its commit
 *                                 (our own commits, and records whose
 *                                 commit a reorg removed)
 *   o[id]                      -> txid (32) || leaf u8: we broadcast a
 *                                 commitment of this contract
 *   v[id][txid][leaf u8]       -> VoidRecord: one of our own records that
 *                                 can no longer resolve; its escrow, if
 *                                 it confirmed, is still the renter's
 *
 * txids and block hashes are in internal byte order. Heights and indexes
 * are big-endian so range scans run in chain order.
 */

const ch = (c: string): Buffer => Buffer.from(c, 'ascii');

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

/** Current database version. */
export const DB_VERSION = 0;

export const layout = {
  t: (txid: Buffer): Buffer => Buffer.concat([ch('t'), txid]),
  c: (id: Buffer): Buffer => Buffer.concat([ch('c'), id]),
  i: (pk: Buffer, id: Buffer): Buffer => Buffer.concat([ch('i'), pk, id]),
  r: (id: Buffer, role: number, height: number, index: number): Buffer =>
    Buffer.concat([ch('r'), id, Buffer.from([role]), u32(height), u16(index)]),
  q: (txid: Buffer, leaf: number): Buffer => Buffer.concat([ch('q'), txid, Buffer.from([leaf])]),
  o: (id: Buffer): Buffer => Buffer.concat([ch('o'), id]),
  v: (id: Buffer, txid: Buffer, leaf: number): Buffer => Buffer.concat([ch('v'), id, txid, Buffer.from([leaf])]),
  /** Prefixes for range scans. */
  prefix: {
    t: ch('t'),
    c: ch('c'),
    i: (pk: Buffer): Buffer => Buffer.concat([ch('i'), pk]),
    r: (id: Buffer, role: number): Buffer => Buffer.concat([ch('r'), id, Buffer.from([role])]),
    q: (txid: Buffer): Buffer => Buffer.concat([ch('q'), txid]),
    qAll: ch('q'),
    v: (id: Buffer): Buffer => Buffer.concat([ch('v'), id]),
    vAll: ch('v')
  }
};

/** gte/lt bounds covering every key that starts with `prefix`. */
export function prefixRange(prefix: Buffer): { gte: Buffer; lt: Buffer } {
  const lt = Buffer.from(prefix);
  for (let i = lt.length - 1; i >= 0; i--) {
    if (lt[i] !== 0xff) {
      lt[i] += 1;
      return { gte: prefix, lt: lt.subarray(0, i + 1) };
    }
  }
  throw new Error('Prefix has no upper bound.');
}
