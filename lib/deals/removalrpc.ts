/*!
 * removalrpc.ts - the deals RPC methods that take files away: forgetfile
 * (locally), deletefile (from the hosts too) and pruneversions, and
 * renewputlease, the lease whose lapse gives a killed put up as deletefile
 * does (putleases.ts). Each settles an unfinished put of the file with its
 * hosts first (deletion.ts settleUnfinished), so nothing a host may hold
 * is forgotten.
 */

import type { Params } from '../base/rpc';
import { MAX_NAME_BYTES } from '../storage/common';
import { settleUnfinished } from './deletion';
import { DealError } from './errors';
import type { Deals } from './plugin';
import { type DealsMethod, fileIdParam } from './rpcparams';
import type { DeleteFileResult, PruneVersionsResult, PutLeaseResult } from './rpctypes';
import { PUT_LEASE_SECONDS } from './common';

/**
 * A put interrupted before it proposed a copy left only a draft (in
 * memory, not listed): forgotten by its whole id, so the put's Ctrl-C
 * hears that it is gone, not "No such file".
 */
async function forgetDraft(text: string, deals: Deals): Promise<boolean> {
  if (!/^[0-9a-f]{64}$/i.test(text))
    return false;
  const id = Buffer.from(text, 'hex');
  if (await deals.store.getFile(id) || await deals.files.peek(id) === null)
    return false;
  deals.putLeases.end(id);
  return deals.files.forgetFile(id);
}

async function forgetFile(p: Params, deals: Deals): Promise<boolean> {
  p.count(1);
  const text = fileIdParam(p);
  if (await forgetDraft(text, deals))
    return true;
  const file = await deals.files.resolve(text);
  // [REJECT] a copy a host may hold and countersign: forgetting its keys would leave an object paid for that no file names
  const unsettled = await settleUnfinished(deals, file);
  if (unsettled.length)
    throw new DealError('file-in-use', `contract ${unsettled[0].id.toString('hex')} has revision ${unsettled[0].revision} of this file's put `
      + 'pending and its host did not answer: its keys are kept until the node settles it with the host (`cloudcoin-cli rm` then)');
  // Settling may have given its last copy up, and the file with it.
  if (!await deals.store.getFile(file.fileId))
    return true;
  const forgotten = await deals.files.forgetFile(file.fileId);
  deals.putLeases.end(file.fileId);
  return forgotten;
}

async function deleteFile(p: Params, deals: Deals): Promise<DeleteFileResult> {
  p.count(1);
  const text = fileIdParam(p);
  if (await forgetDraft(text, deals))
    return { fileId: text.toLowerCase(), removed: [], kept: [], referenced: [], forgotten: true };
  const file = await deals.files.resolve(text);
  return deals.deleteFile(file);
}

async function pruneVersions(p: Params, deals: Deals): Promise<PruneVersionsResult> {
  p.count(1, 2);
  const name = p.get(0) === '' ? Buffer.alloc(0) : p.hex(0, 'namehex');
  if (name.length > MAX_NAME_BYTES)
    throw p.error(0, 'namehex', `must be at most ${MAX_NAME_BYTES} bytes.`);
  const keep = p.has(1) ? p.uint(1, 'keep', 0, 0xffffffff) : deals.keepRevisions;
  return deals.pruneVersions(name, keep);
}

/** Whether `fileId` is a put still running: a draft, or a stored file with a copy still uploading. */
async function unfinishedPut(deals: Deals, fileId: Buffer): Promise<boolean> {
  const file = await deals.files.peek(fileId);
  if (!file)
    return false;
  if (!await deals.store.getFile(fileId))
    return true;
  for (const r of file.replicas) {
    if (await deals.files.replicaState(r, fileId) === 'uploading')
      return true;
  }
  return false;
}

async function renewPutLease(p: Params, deals: Deals): Promise<PutLeaseResult> {
  p.count(1, 2);
  const fileId = p.hex(0, 'fileid', 32);
  const hex = fileId.toString('hex');
  // A put that failed with an error ends its lease: what it left is settled as without one.
  if (p.has(1) && p.bool(1, 'end')) {
    deals.putLeases.end(fileId);
    return { fileId: hex, lapse: PUT_LEASE_SECONDS, expires: null };
  }
  // [REJECT] a put given up when its lease lapsed: its client hears so, and the put does not start over
  if (deals.putLeases.gaveUp(fileId))
    throw new DealError('put-given-up', `the put of file ${hex.slice(0, 12)} was given up: its lease lapsed (no renewputlease `
      + `for ${PUT_LEASE_SECONDS} s), and its copies were settled with their hosts as rm does`);
  // [REJECT] only a running put holds a lease: taken while it is a draft or has a copy uploading, kept until it commits
  if (deals.putLeases.has(fileId) ? await deals.files.peek(fileId) === null : !await unfinishedPut(deals, fileId))
    throw new DealError('unknown-put', `No unfinished put of file ${hex} (unknown, committed or removed).`);
  const expires = deals.putLeases.renew(fileId);
  return { fileId: hex, lapse: PUT_LEASE_SECONDS, expires: Math.ceil(expires / 1000) };
}

/** The removal methods, in the order rpc.ts lists them. */
export const removalMethods: DealsMethod[] = [
  ['forgetfile', 'forgetfile fileid\nForget a file locally, removing nothing from hosts: only when none of its objects is held\n'
    + 'under a contract pending or in force (use deletefile, or cloudcoin-cli rm, to delete it from its hosts). An\n'
    + 'unfinished put\'s revisions are settled with their hosts first (a copy a host countersigned is in force).', forgetFile],
  ['deletefile', 'deletefile fileid\nDelete a file from its hosts (a revision per contract dropping its object: the hosts free\n'
    + 'the space and stop charging for it), then forget it. Replicas on unreachable hosts are kept and listed. An\n'
    + 'unfinished put\'s revisions are settled with their hosts first, which frees its open contracts at once.', deleteFile],
  ['pruneversions', 'pruneversions namehex ( keep )\nKeep the newest `keep` versions of a name (default: the node\'s --keep-revisions; 0 keeps\n'
    + 'all) and delete the older ones from their hosts as deletefile does (their space freed, cost stopped).\n'
    + 'put --keep-revisions calls it after a put.', pruneVersions],
  ['renewputlease', 'renewputlease fileid ( end )\nKeep a running put alive: its client (cloudcoin-cli put) calls it every few seconds from\n'
    + `addfile until commitfile. A put whose lease lapses (no call for ${PUT_LEASE_SECONDS} s: its client was killed outright) is given\n`
    + 'up as its Ctrl-C gives it up (deletefile): its pending revisions are settled with their hosts at once, which\n'
    + 'frees the open contracts it held. commitfile, deletefile and forgetfile end the lease; so does end=true (a put\n'
    + 'that failed: what it left is settled at the offer window, as without a lease). Returns the lapse (s) and\n'
    + 'when the lease lapses unless renewed (unix time; null once ended).', renewPutLease]
];
