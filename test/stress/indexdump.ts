// The contract index of a stopped cloudcoind, read from its datadir
// (`<datadir>/contracts`, lib/contracts/layout.ts) and decoded entry by
// entry, and the entries two indexes disagree on: what the reorg storm
// prints when a node's index differs from a freshly synced one's.
//
// Keys print as `table part part...`; txids and block hashes in RPC (display)
// byte order, contract ids as listcontracts shows them. Values print as
// JSON of the decoded records (buffers as hex, a contract as its id).
import * as fs from 'fs';
import * as path from 'path';
import bdb = require('../../lib/bdb');
import { StorageContract } from '../../lib/contracts/storagecontract';
import { BlockUndo, CommitEntry, ContractRecord, RatingEntry, VoidRecord } from '../../lib/contracts/records';

/** Tables a fresh sync must reproduce (layout.ts, indexer.ts): the rest are this node's own records. */
export const CHAIN_TABLES = ['R', 'h', 'u', 't', 'c', 'i', 'r'];

const rev = (b: Buffer): string => Buffer.from(b).reverse().toString('hex');

/** JSON of a decoded record: buffers as hex, contracts as their id. */
function show(value: unknown): string {
  return JSON.stringify(value, function replacer(this: unknown, key: string, v: unknown) {
    const raw = (this as Record<string, unknown>)[key];
    if (raw instanceof StorageContract)
      return `contract ${raw.id()}`;
    if (Buffer.isBuffer(raw))
      return /txid|block$/i.test(key) ? rev(raw) : raw.toString('hex');
    return v;
  });
}

/** One entry decoded: its key and value as text. */
export function decodeEntry(key: Buffer, value: Buffer): { key: string; value: string } {
  const table = String.fromCharCode(key[0]);
  const k = key.subarray(1);
  const u32 = (at: number) => k.readUInt32BE(at);
  switch (table) {
    case 'V':
      return { key: 'V', value: value.toString('hex') };
    case 'R':
      return { key: 'R', value: `height ${value.readUInt32LE(0)} ${rev(value.subarray(4, 36))}` };
    case 'h':
      return { key: `h ${u32(0)}`, value: rev(value) };
    case 'u': {
      const u = new BlockUndo().decode(value);
      return {
        key: `u ${u32(0)}`,
        value: show({
          block: u.hash,
          commits: u.commits.map(rev),
          spends: u.spends.map((s) => `${rev(s.txid)}:${s.leaf}`),
          ratings: u.ratings.map((r) => `${r.id.toString('hex')} role ${r.role} tx ${r.txIndex}`)
        })
      };
    }
    case 't':
      return { key: `t ${rev(k)}`, value: show(new CommitEntry().decode(value)) };
    case 'c':
      return { key: `c ${k.toString('hex')}`, value: show(new ContractRecord().decode(value)) };
    case 'i':
      return { key: `i ${k.subarray(0, 33).toString('hex')} ${k.subarray(33).toString('hex')}`, value: `role ${value[0]}` };
    case 'r':
      return {
        key: `r ${k.subarray(0, 32).toString('hex')} role ${k[32]} height ${k.readUInt32BE(33)} tx ${k.readUInt16BE(37)}`,
        value: show(new RatingEntry().decode(value))
      };
    case 'q':
      return { key: `q ${rev(k.subarray(0, 32))} leaf ${k[32]}`, value: show(new ContractRecord().decode(value)) };
    case 'o':
      return { key: `o ${k.toString('hex')}`, value: `${rev(value.subarray(0, 32))} leaf ${value[32]}` };
    case 'v':
      return {
        key: `v ${k.subarray(0, 32).toString('hex')} ${rev(k.subarray(32, 64))} leaf ${k[64]}`,
        value: show(new VoidRecord().decode(value))
      };
    default:
      return { key: key.toString('hex'), value: value.toString('hex') };
  }
}

/** Every entry of a stopped node's contract index (`datadir`: the network folder), decoded key -> value. */
export async function readIndex(datadir: string): Promise<Map<string, string>> {
  const location = path.join(datadir, 'contracts');
  if (!fs.existsSync(location))
    throw new Error(`no contract index at ${location}`);
  const db = bdb.create({ location, compression: true });
  await db.open();
  try {
    const rows = await db.range({ parse: (key: Buffer, value: Buffer) => decodeEntry(key, value) });
    return new Map(rows.map((r: { key: string; value: string }) => [r.key, r.value]));
  } finally {
    await db.close();
  }
}

/**
 * The entries of `tables` on which two indexes differ: how many, and one
 * block of lines each (the key, then each side's value, `-` when it has
 * none) for at most `limit` of them.
 */
export function diffIndexes(a: Map<string, string>, b: Map<string, string>, names: [string, string],
  tables = CHAIN_TABLES, limit = 30): { count: number; lines: string[] } {
  const keys = [...new Set([...a.keys(), ...b.keys()])]
    .filter((k) => tables.includes(k[0]) && a.get(k) !== b.get(k))
    .sort();
  const width = Math.max(...names.map((n) => n.length));
  const lines: string[] = [];
  for (const k of keys.slice(0, limit)) {
    lines.push(k);
    for (const [i, side] of [a, b].entries())
      lines.push(`  ${names[i].padEnd(width)} ${side.get(k) ?? '-'}`);
  }
  if (keys.length > limit)
    lines.push(`... and ${keys.length - limit} more`);
  return { count: keys.length, lines };
}
