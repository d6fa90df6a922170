// Structure-aware mutation of wire payloads for the cs* fuzz suite.
//
// A valid seed is decoded once with the project's own decoder while every
// integer bufio reads is traced (offset, width, value): those are the
// payload's length and count fields, found without a hand-written schema,
// so a packet added later is covered the day it gets a seed. Mutations:
// bit flips, byte stores, truncations, extensions, chunk deletes and
// duplicates, splices of two seeds, pure random bytes, and integer fields
// set to 0, 1, their value +-1, the width's maximum and every limit the
// code declares (each L-1, L, L+1), with the body behind a length field
// either kept (lengths disagree) or resized to the new length.
import bio = require('bufio');
import * as baseConsts from '../../lib/base/consts';
import * as negCommon from '../../lib/negotiator/common';
import * as contractsCommon from '../../lib/contracts/common';
import * as dealsCommon from '../../lib/deals/common';
import * as storageCommon from '../../lib/storage/common';

/** One integer the decoder read. */
export interface IntField {
  offset: number;
  /** Bytes it took (a varint's encoded size). */
  size: number;
  kind: 'u8' | 'u16' | 'u32' | 'u64' | 'varint';
  value: number;
}

/** Payloads larger than this are never built (bcoin's own cap is 4 MB; the limits we probe are far below). */
const MAX_BUILT = 1 << 20;

type ReaderMethod = 'readU8' | 'readU16' | 'readU32' | 'readU64' | 'readVarint';
const KINDS: Record<ReaderMethod, IntField['kind']> = {
  readU8: 'u8', readU16: 'u16', readU32: 'u32', readU64: 'u64', readVarint: 'varint'
};

/**
 * Decode `payload` with `decode` and return every integer field read.
 * Throws whatever the decoder throws (a seed must be valid).
 */
export function traceFields(decode: (payload: Buffer) => unknown, payload: Buffer): IntField[] {
  const proto = bio.BufferReader.prototype as unknown as Record<ReaderMethod, (this: { offset: number }) => number>;
  const saved = new Map<ReaderMethod, (this: { offset: number }) => number>();
  const fields: IntField[] = [];
  let depth = 0;
  for (const name of Object.keys(KINDS) as ReaderMethod[]) {
    const orig = proto[name];
    saved.set(name, orig);
    proto[name] = function traced(this: { offset: number }): number {
      const at = this.offset;
      depth += 1;
      try {
        const value = orig.call(this);
        // Only the reader of the payload itself: nested struct reads share it.
        if (depth === 1)
          fields.push({ offset: at, size: this.offset - at, kind: KINDS[name], value });
        return value;
      } finally {
        depth -= 1;
      }
    };
  }
  try {
    decode(payload);
  } finally {
    for (const [name, orig] of saved)
      proto[name] = orig;
  }
  // Two u32 read back to back are also one u64 (wire.ts reads amounts so).
  const pairs: IntField[] = [];
  for (let i = 0; i + 1 < fields.length; i++) {
    const a = fields[i];
    const b = fields[i + 1];
    if (a.kind === 'u32' && b.kind === 'u32' && b.offset === a.offset + 4)
      pairs.push({ offset: a.offset, size: 8, kind: 'u64', value: b.value * 0x100000000 + a.value });
  }
  return fields.concat(pairs);
}

/** Every numeric limit the code declares, from the modules that hold them. */
function declaredLimits(): number[] {
  const out = new Set<number>();
  for (const mod of [baseConsts, negCommon, contractsCommon, dealsCommon, storageCommon] as Array<Record<string, unknown>>) {
    for (const v of Object.values(mod)) {
      if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)
        out.add(v);
    }
  }
  return [...out];
}

const LIMITS = declaredLimits();

/** Values worth trying in an integer field of `kind` holding `value`. */
export function interestingValues(kind: IntField['kind'], value: number): number[] {
  const max = kind === 'u8' ? 0xff : kind === 'u16' ? 0xffff : kind === 'u32' ? 0xffffffff : Number.MAX_SAFE_INTEGER;
  const set = new Set<number>([0, 1, value - 1, value + 1, value * 2, max, max - 1, 0x7f, 0x80, 0xfc, 0xfd, 0xfe,
    0xffff, 0x10000, 0xffffffff, 0x100000000, 2 ** 53]);
  for (const l of LIMITS) {
    set.add(l - 1);
    set.add(l);
    set.add(l + 1);
  }
  return [...set].filter((v) => v >= 0 && v <= max && Number.isSafeInteger(v));
}

function encodeVarint(n: number): Buffer {
  if (n < 0xfd)
    return Buffer.from([n]);
  if (n <= 0xffff) {
    const b = Buffer.alloc(3);
    b[0] = 0xfd;
    b.writeUInt16LE(n, 1);
    return b;
  }
  if (n <= 0xffffffff) {
    const b = Buffer.alloc(5);
    b[0] = 0xfe;
    b.writeUInt32LE(n, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0xff;
  b.writeUInt32LE(n % 0x100000000, 1);
  b.writeUInt32LE(Math.floor(n / 0x100000000), 5);
  return b;
}

/** A varint of `n` in a wider encoding than needed (bitcoin's decoders must refuse it). */
function nonCanonicalVarint(n: number): Buffer {
  if (n <= 0xffff) {
    const b = Buffer.alloc(5);
    b[0] = 0xfe;
    b.writeUInt32LE(n, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0xff;
  b.writeUInt32LE(n % 0x100000000, 1);
  return b;
}

function writeFixed(buf: Buffer, f: IntField, v: number): void {
  if (f.size === 1)
    buf[f.offset] = v & 0xff;
  else if (f.size === 2)
    buf.writeUInt16LE(v & 0xffff, f.offset);
  else if (f.size === 4)
    buf.writeUInt32LE(v >>> 0, f.offset);
  else {
    buf.writeUInt32LE(v % 0x100000000, f.offset);
    buf.writeUInt32LE(Math.floor(v / 0x100000000) >>> 0, f.offset + 4);
  }
}

/** A small fast PRNG (xorshift32), seeded so a failing run can be replayed. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = (seed >>> 0) || 0x9e3779b9;
  }

  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }

  /** 0 <= n < max. */
  int(max: number): number {
    return max <= 1 ? 0 : this.u32() % max;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++)
      b[i] = this.u32() & 0xff;
    return b;
  }
}

/** A valid payload with the fields its decoder read. */
export interface Seed {
  payload: Buffer;
  fields: IntField[];
}

/** Names of the mutation operators (counted per run). */
export const operators = [
  'random', 'bitflip', 'byte', 'truncate', 'extend', 'delete', 'duplicate', 'splice', 'int-field', 'length-field',
  'noncanonical-varint'
] as const;
export type Operator = typeof operators[number];

/** One mutation of one of `seeds` (or random bytes), with the operator used. */
export function mutate(rng: Rng, seeds: readonly Seed[], maxRandom = 512): { payload: Buffer; op: Operator } {
  const seed = rng.pick(seeds);
  const src = seed.payload;
  const varints = seed.fields.filter((f) => f.kind === 'varint');
  let op: Operator = operators[rng.int(operators.length)];
  if ((op === 'length-field' || op === 'noncanonical-varint') && varints.length === 0)
    op = 'int-field';
  if (op === 'int-field' && seed.fields.length === 0)
    op = 'bitflip';
  if (src.length === 0 && op !== 'random' && op !== 'extend')
    op = 'random';
  switch (op) {
    case 'random': {
      // Lengths near the seed's matter most (fixed-size packets); some anywhere.
      const len = rng.int(3) === 0 ? src.length : rng.int(3) === 0 ? rng.int(maxRandom + 1) : rng.int(src.length + 65);
      return { payload: rng.bytes(len), op };
    }
    case 'bitflip': {
      const out = Buffer.from(src);
      const flips = 1 + rng.int(rng.int(4) === 0 ? 32 : 4);
      for (let i = 0; i < flips; i++)
        out[rng.int(out.length)] ^= 1 << rng.int(8);
      return { payload: out, op };
    }
    case 'byte': {
      const out = Buffer.from(src);
      out[rng.int(out.length)] = rng.pick([0x00, 0x01, 0x7f, 0x80, 0xfd, 0xfe, 0xff, rng.u32() & 0xff]);
      return { payload: out, op };
    }
    case 'truncate': {
      const cut = rng.int(2) === 0 ? src.length - 1 - rng.int(Math.min(8, src.length)) : rng.int(src.length);
      return { payload: src.subarray(0, Math.max(0, cut)), op };
    }
    case 'extend':
      return { payload: Buffer.concat([src, rng.bytes(rng.int(2) === 0 ? 1 : 1 + rng.int(64))]), op };
    case 'delete': {
      const at = rng.int(src.length);
      const n = 1 + rng.int(Math.min(32, src.length - at));
      return { payload: Buffer.concat([src.subarray(0, at), src.subarray(at + n)]), op };
    }
    case 'duplicate': {
      const at = rng.int(src.length);
      const n = 1 + rng.int(Math.min(64, src.length - at));
      const chunk = src.subarray(at, at + n);
      return { payload: Buffer.concat([src.subarray(0, at), chunk, chunk, src.subarray(at + n)]), op };
    }
    case 'splice': {
      const other = rng.pick(seeds).payload;
      const a = rng.int(src.length + 1);
      const b = rng.int(other.length + 1);
      return { payload: Buffer.concat([src.subarray(0, a), other.subarray(b)]), op };
    }
    case 'int-field': {
      const f = rng.pick(seed.fields);
      const v = rng.pick(interestingValues(f.kind, f.value));
      if (f.kind === 'varint') {
        const enc = encodeVarint(v);
        return { payload: Buffer.concat([src.subarray(0, f.offset), enc, src.subarray(f.offset + f.size)]), op };
      }
      const out = Buffer.from(src);
      writeFixed(out, f, v);
      return { payload: out, op };
    }
    case 'length-field': {
      // A varint followed by its body: set it to a boundary and resize the
      // body to match (a well-formed packet with a field at its limit) or
      // keep the body (the length lies).
      const f = rng.pick(varints);
      const v = rng.pick(interestingValues('varint', f.value).filter((n) => n <= MAX_BUILT));
      const bodyStart = f.offset + f.size;
      const rest = src.subarray(Math.min(src.length, bodyStart + f.value));
      if (rng.int(2) === 0 && v <= MAX_BUILT) {
        const old = src.subarray(bodyStart, bodyStart + f.value);
        const body = Buffer.alloc(v);
        for (let i = 0; i < v; i++)
          body[i] = old.length ? old[i % old.length] : 0x61;
        return { payload: Buffer.concat([src.subarray(0, f.offset), encodeVarint(v), body, rest]), op };
      }
      return { payload: Buffer.concat([src.subarray(0, f.offset), encodeVarint(v), src.subarray(bodyStart)]), op };
    }
    case 'noncanonical-varint': {
      const f = rng.pick(varints);
      return {
        payload: Buffer.concat([src.subarray(0, f.offset), nonCanonicalVarint(f.value), src.subarray(f.offset + f.size)]),
        op
      };
    }
  }
}
