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
 * are big-endian so range scans run in chain order. Keys are built with
 * bdb.key as every CloudCoin database's are (lib/deals/layout.ts); a
 * compressed identity key is its parity byte (uint8) and its 32-byte x, so
 * `i` keys are `i || pk || id` exactly.
 */

import bdb = require('../bdb');

const keys = {
  t: bdb.key('t', ['bhash256']),
  c: bdb.key('c', ['bhash256']),
  i: bdb.key('i', ['uint8', 'bhash256', 'bhash256']),
  r: bdb.key('r', ['bhash256', 'uint8', 'uint32', 'uint16']),
  q: bdb.key('q', ['bhash256', 'uint8']),
  o: bdb.key('o', ['bhash256']),
  v: bdb.key('v', ['bhash256', 'bhash256', 'uint8'])
};

/** Bounds of a range scan (bdb iterator options). */
export interface KeyRange {
  gte: Buffer;
  lte: Buffer;
}

/** Every key of `key` whose leading parts are `args`. */
function range(key: bdb.Key, ...args: unknown[]): KeyRange {
  return { gte: key.min(...args), lte: key.max(...args) };
}

/** A compressed public key as the `i` key's parts. */
function pkParts(pk: Buffer): [number, Buffer] {
  return [pk[0], pk.subarray(1)];
}

/**
 * Current database version. 1: every LeafEntry carries what its spend
 * moved (returned, paid, fee); a version 0 database is upgraded at open
 * (ContractIndex#migrate), its amounts read back from the spends' blocks.
 */
export const DB_VERSION = 1;

/** Typed builders of the keys in the header. */
export const layout = {
  t: (txid: Buffer): Buffer => keys.t.build(txid),
  c: (id: Buffer): Buffer => keys.c.build(id),
  i: (pk: Buffer, id: Buffer): Buffer => keys.i.build(...pkParts(pk), id),
  r: (id: Buffer, role: number, height: number, index: number): Buffer => keys.r.build(id, role, height, index),
  q: (txid: Buffer, leaf: number): Buffer => keys.q.build(txid, leaf),
  o: (id: Buffer): Buffer => keys.o.build(id),
  v: (id: Buffer, txid: Buffer, leaf: number): Buffer => keys.v.build(id, txid, leaf),
  /** Range scans. */
  range: {
    t: (): KeyRange => range(keys.t),
    c: (): KeyRange => range(keys.c),
    i: (pk: Buffer): KeyRange => range(keys.i, ...pkParts(pk)),
    r: (id: Buffer, role: number): KeyRange => range(keys.r, id, role),
    q: (txid: Buffer): KeyRange => range(keys.q, txid),
    qAll: (): KeyRange => range(keys.q),
    v: (id: Buffer): KeyRange => range(keys.v, id),
    vAll: (): KeyRange => range(keys.v)
  }
};
