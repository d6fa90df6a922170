/*!
 * audits.ts - one audit of a contract, and the record the renter keeps of it.
 *
 * An audit reads AUDIT_LEAVES leaves of the contract's latest revision,
 * picked with crypto.randomInt (a CSPRNG: never derived from chain data the
 * host sees first), over the host's ordinary data API: one `get` token for
 * every object of the contract with a budget of AUDIT_LEAVES x 4096 bytes,
 * and one single-leaf Range read per leaf, which carries the leaf's Merkle
 * proof in X-CC-Proof (an audit looks like any small read). Each leaf is
 * verified against its object's data root, and the object list against
 * the revision's object-tree root (PROTOCOL 3.7), so a proof runs from the
 * leaf to the root both parties signed.
 *
 * Outcomes (docs/MARKET.md; accrual.ts pays by them):
 *   passed  every leaf verified
 *   failed  the host answered with wrong data, a bad proof, or said it
 *           does not hold an object of the revision: proven loss
 *   missed  no complete answer (unreachable, timeout, server error) after
 *           the retries of the interval: that interval is unpaid
 *
 * AuditRecord (deals db `a[id][interval]`, written before it is acted on):
 *   u32 from (first interval it covers: a catch-up audit covers the
 *   intervals the renter was away for) || u32 height || u32 revision ||
 *   u8 outcome (1 passed, 2 failed, 3 missed) || u32 latency (ms) ||
 *   u32 bytes || u8 n || n x (u32 object || u32 leaf) || varbytes reason
 */

import bio = require('bufio');
import { randomInt } from 'crypto';
import type { ObjectEntry } from '../contracts/objecttree';
import { objectTreeRoot } from '../contracts/objecttree';
import type { Revision } from '../contracts/revision';
import { LEAF_SIZE, leafCount } from '../storage/common';
import { FileServerClient, FileServerError } from '../storage/fileserverclient';
import { verifyLeaf } from '../storage/merkle';
import { sizeVarint } from '../base/wire';
import type { AuditOutcome } from './accrual';

/** Leaves read per audit (DESIGN 5). */
export const AUDIT_LEAVES = 16;
/** Budget of an audit token: every leaf read whole (bytes). */
export const AUDIT_BUDGET = AUDIT_LEAVES * LEAF_SIZE;
/** Deadline of one leaf read, start to last byte (ms): a host slower than this misses. */
export const LEAF_DEADLINE_MS = 10000;
/** Longest reason kept in a record (bytes). */
const MAX_REASON = 200;

const OUTCOMES: ReadonlyArray<Exclude<AuditOutcome, null>> = ['passed', 'failed', 'missed'];

/** One leaf an audit reads. */
export interface AuditLeaf {
  object: number;
  leaf: number;
}

/** What the renter keeps of one audit. */
export class AuditRecord extends bio.Struct {
  /** The interval it decides (in the key). */
  interval = 0;
  /** First interval it covers (== interval unless the renter caught up after being away). */
  from = 0;
  /** Chain height when it ran. */
  height = 0;
  /** Revision whose objects it read. */
  revision = 0;
  outcome: Exclude<AuditOutcome, null> = 'missed';
  /** Milliseconds from the token request to the last leaf verified. */
  latency = 0;
  /** Data bytes read. */
  bytes = 0;
  leaves: AuditLeaf[] = [];
  /** Why it failed or was missed, for people ('' when passed). */
  reason = '';

  getSize(): number {
    const reason = Buffer.byteLength(this.reason.slice(0, MAX_REASON));
    return 4 * 5 + 1 + 1 + 8 * this.leaves.length + sizeVarint(reason) + reason;
  }

  write(bw: bio.Writer): bio.Writer {
    bw.writeU32(this.from);
    bw.writeU32(this.height);
    bw.writeU32(this.revision);
    bw.writeU8(OUTCOMES.indexOf(this.outcome) + 1);
    bw.writeU32(Math.min(this.latency, 0xffffffff));
    bw.writeU32(Math.min(this.bytes, 0xffffffff));
    bw.writeU8(this.leaves.length);
    for (const l of this.leaves) {
      bw.writeU32(l.object);
      bw.writeU32(l.leaf);
    }
    bw.writeVarString(this.reason.slice(0, MAX_REASON), 'utf8');
    return bw;
  }

  read(br: bio.BufferReader): this {
    this.from = br.readU32();
    this.height = br.readU32();
    this.revision = br.readU32();
    this.outcome = OUTCOMES[br.readU8() - 1] ?? 'missed';
    this.latency = br.readU32();
    this.bytes = br.readU32();
    this.leaves = [];
    for (let n = br.readU8(); n > 0; n--)
      this.leaves.push({ object: br.readU32(), leaf: br.readU32() });
    this.reason = br.readVarString('utf8');
    return this;
  }

  getJSON(): AuditJSON {
    return {
      interval: this.interval,
      from: this.from,
      height: this.height,
      revision: this.revision,
      outcome: this.outcome,
      latencyMs: this.latency,
      bytes: this.bytes,
      leaves: this.leaves.map((l) => ({ ...l })),
      reason: this.reason
    };
  }
}

/** An audit as getaudits shows it. */
export interface AuditJSON {
  interval: number;
  from: number;
  height: number;
  revision: number;
  outcome: Exclude<AuditOutcome, null>;
  latencyMs: number;
  bytes: number;
  leaves: AuditLeaf[];
  reason: string;
}

/**
 * AUDIT_LEAVES leaves drawn uniformly (with replacement) over every leaf
 * of `objects`, with crypto.randomInt; none for an empty list.
 */
export function chooseLeaves(objects: readonly ObjectEntry[]): AuditLeaf[] {
  const counts = objects.map((o) => leafCount(o.size));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0)
    return [];
  const out: AuditLeaf[] = [];
  for (let i = 0; i < AUDIT_LEAVES; i++) {
    // randomInt takes ranges below 2^48; a contract holds at most
    // MAX_OBJECTS x MAX_OBJECT_SIZE / 4096 = 2^44 leaves.
    let r = randomInt(0, total);
    let k = 0;
    while (r >= counts[k]) {
      r -= counts[k];
      k++;
    }
    out.push({ object: objects[k].id, leaf: r });
  }
  return out.sort((a, b) => a.object - b.object || a.leaf - b.leaf);
}

/** Where and how to read: the host's data URL and an audit token for the contract. */
export interface AuditAccess {
  dataURL: string;
  token: string;
}

/** What one attempt found. */
export interface AttemptResult {
  outcome: Exclude<AuditOutcome, null>;
  latency: number;
  bytes: number;
  reason: string;
}

/**
 * A host answer that proves it does not hold what it countersigned: the
 * object is unknown or not stored (404), or the answer's shape is wrong.
 * Anything else (no answer, a timeout, a 5xx, a budget refusal) is not proof.
 */
function provesLoss(e: unknown): boolean {
  if (!(e instanceof FileServerError))
    return false;
  if (['unknown-object', 'object-not-found', 'bad-proof', 'bad-size', 'bad-range'].includes(e.code))
    return true;
  // a range answer other than the leaf asked for, or a truncated one, is wrong data
  return e.code === 'bad-response' && e.status >= 200 && e.status < 300;
}

/**
 * Read and verify `leaves` of `objects` (the revision `rev`'s object list)
 * through `access`. Never throws: every failure is an outcome.
 */
export async function auditOnce(contractId: string, rev: Revision, objects: readonly ObjectEntry[],
  leaves: readonly AuditLeaf[], access: AuditAccess, started: number): Promise<AttemptResult> {
  // The list must be the one the revision commits to, or the audit would prove nothing.
  if (!objectTreeRoot(objects).equals(rev.root))
    return { outcome: 'missed', latency: 0, bytes: 0, reason: 'local object list does not match the revision root' };
  const byId = new Map(objects.map((o) => [o.id, o]));
  const client = new FileServerClient(access.dataURL, { timeoutMs: LEAF_DEADLINE_MS });
  let bytes = 0;
  for (const l of leaves) {
    const o = byId.get(l.object);
    if (!o)
      return { outcome: 'missed', latency: Date.now() - started, bytes, reason: `object ${l.object} is not in the revision` };
    try {
      const { data, proof } = await client.readLeaf(access.token, contractId, o.id, l.leaf, o.size);
      bytes += data.length;
      // [FAIL] a proof of another leaf, or one that does not reach the object's root
      if (proof.index !== l.leaf || !verifyLeaf(o.root, o.size, proof, data)) {
        return { outcome: 'failed', latency: Date.now() - started, bytes,
          reason: `leaf ${l.leaf} of object ${o.id} does not verify against its root` };
      }
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0];
      if (provesLoss(e))
        return { outcome: 'failed', latency: Date.now() - started, bytes, reason: `object ${o.id} leaf ${l.leaf}: ${msg}` };
      return { outcome: 'missed', latency: Date.now() - started, bytes, reason: `object ${o.id} leaf ${l.leaf}: ${msg}` };
    }
  }
  return { outcome: 'passed', latency: Date.now() - started, bytes, reason: '' };
}
