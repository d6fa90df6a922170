/*!
 * deletion.ts - removing files from their hosts: `rm` (a revision per
 * contract dropping the file's objects, so the host frees the space and
 * stops charging), pruning old versions of a name (--keep-revisions), and
 * re-sealing the manifest on the hosts a removal revised (renewal.ts uses
 * that for a renewal's new contract too).
 */

import type { ManifestFile } from '../storage/manifest';
import { FileServerClient } from '../storage/fileserverclient';
import type { DeleteFileResult, PruneVersionsResult } from './rpctypes';
import type { Deals } from './plugin';
import { removals } from './deltarefs';
import { IN_FORCE_STATES } from './common';

/**
 * Delete a file from its hosts: per contract a revision that drops the
 * file's object (the host frees the space; cost stops accruing from
 * that height); replicas on contracts no longer in force just go. The
 * file is forgotten once no replica is left. An object another stored
 * version still reads chunks from stays (`referenced`), and objects of
 * versions removed earlier that only this file read go with it
 * (deltarefs.ts removals). A file whose put never finished is settled
 * with its hosts first (settleUnfinished): a copy a host countersigned is
 * removed as any other, one it declined is given up, and one whose host
 * does not answer is kept, named, until it does.
 */
export async function deleteFile(deals: Deals, given: ManifestFile): Promise<DeleteFileResult> {
  const removed: DeleteFileResult['removed'] = [];
  const kept: DeleteFileResult['kept'] = [];
  const referenced: DeleteFileResult['referenced'] = [];
  const gone = new Set<string>();
  const manifests: Array<{ id: Buffer; dataURL: string; token: string }> = [];
  // A put still running loses its file now: its lease goes with it.
  deals.putLeases.end(given.fileId);
  // Hosts we are not connected to are dialled (a renter restarted is connected to none).
  await deals.negotiator.reach(given.replicas.map((r) => r.hostPk));
  // An unfinished put's copies are settled first: what its hosts hold is removed below, the rest given up.
  const unsettled = await settleUnfinished(deals, given);
  const file = await deals.store.getFile(given.fileId);
  if (!file)
    return { fileId: given.fileId.toString('hex'), removed, kept, referenced, forgotten: true };
  const plan = removals(file, await deals.store.listFiles());
  for (const r of file.replicas) {
    const key = `${r.contractId.toString('hex')}/${r.object}`;
    const host = deals.negotiator.addressOf(r.hostPk);
    const state = await deals.contractBook.ctx.state(r.contractId);
    const held = await deals.store.getObject(r.contractId, r.object);
    const inForce = state !== null && IN_FORCE_STATES.has(state);
    const waiting = unsettled.find((u) => u.id.equals(r.contractId));
    if (waiting && !held) {
      // Its host may hold the copy and countersign it: forgetting it now could leave an object paid for that no file names.
      kept.push({ id: r.contractId.toString('hex'), host, reason: `revision ${waiting.revision} adding this copy (an unfinished put) `
        + 'is pending and its host did not answer: the node settles it with the host at a later block; run rm again then' });
      continue;
    }
    if (inForce && !held && !await deals.store.getRenterContract(r.contractId)) {
      // Found again from the seed and not taken over yet (takeover.ts): its revisions are the host's, unknown here.
      kept.push({ id: r.contractId.toString('hex'), host, reason: 'contract recovered from the seed and not taken over yet '
        + '(its host\'s state was not adopted: see recover): this node cannot revise it' });
      continue;
    }
    if (!held || !inForce) {
      gone.add(key);
      continue;
    }
    const { remove, referenced: still } = plan.get(r) ?? { remove: [r.object], referenced: [] };
    const drop: number[] = [];
    for (const o of remove) {
      if (await deals.store.getObject(r.contractId, o))
        drop.push(o);
    }
    if (still.length)
      referenced.push({ id: r.contractId.toString('hex'), host, objects: still });
    if (drop.length === 0) {
      gone.add(key);
      continue;
    }
    try {
      const res = await deals.contractBook.propose(r.contractId, [], drop);
      removed.push({ id: r.contractId.toString('hex'), host, revision: res.number, objects: drop });
      gone.add(key);
      if (res.manifestToken)
        manifests.push({ id: r.contractId, dataURL: res.dataURL, token: res.manifestToken });
    } catch (e) {
      kept.push({ id: r.contractId.toString('hex'), host, reason: (e as Error).message });
    }
  }
  const left = await deals.files.dropReplicas(file.fileId, (r) => gone.has(`${r.contractId.toString('hex')}/${r.object}`));
  await putManifests(deals, manifests);
  return { fileId: file.fileId.toString('hex'), removed, kept, referenced, forgotten: left === null };
}

/**
 * Settle now, with their hosts, the pending revisions that add copies of
 * `file` to contracts in force: the file's put is given up (interrupted,
 * killed, or removed by rm), so these revisions are not left to it for
 * the offer window, where they would keep the contracts from the next
 * put. Each is asked of its host as after a restart (rentercontracts.ts
 * settle): countersigned -> final (the host holds the copy: the caller
 * removes it by a revision, never leaving an object no file names),
 * declined -> given up (the host holds nothing of it). A new contract's
 * revision 0 is left alone: nothing of it was paid, and it lapses with
 * its offer. Returns the revisions whose host did not answer; those are
 * released to the node, which settles them at a later block.
 */
export async function settleUnfinished(deals: Deals, file: ManifestFile): Promise<Array<{ id: Buffer; revision: number }>> {
  const unsettled: Array<{ id: Buffer; revision: number }> = [];
  const todo: Array<{ id: Buffer; hostPk: Buffer; number: number }> = [];
  for (const r of file.replicas) {
    const p = await deals.store.getPending(r.contractId);
    if (!p || !p.add.some((o) => o.fileId.equals(file.fileId)) || todo.some((x) => x.id.equals(r.contractId)))
      continue;
    const state = await deals.contractBook.ctx.state(r.contractId);
    if (state !== null && IN_FORCE_STATES.has(state))
      todo.push({ id: r.contractId, hostPk: r.hostPk, number: p.revision.number });
  }
  if (todo.length)
    await deals.negotiator.reach(todo.map((x) => x.hostPk));
  for (const { id, number } of todo) {
    let settled = false;
    try {
      settled = await deals.contractBook.settle(id, true);
    } catch (e) {
      deals.api.logger.debug('deals: settling revision %d of %s failed: %s', number, id.toString('hex'), (e as Error).message);
    }
    if (!settled) {
      unsettled.push({ id, revision: number });
      deals.contractBook.release([id]);
    }
  }
  return unsettled;
}

/**
 * Give up the put of `fileId` whose lease lapsed (putleases.ts: its
 * client was killed outright), exactly as its Ctrl-C does through
 * `deletefile`: a draft is forgotten; a stored file is deleted as `rm`
 * does, which settles its pending revisions with their hosts at once
 * (countersigned -> applied, then removed by a revision; declined ->
 * given up; no answer -> the file stays listed and the node settles it
 * at a later block). Never throws: a timer calls it.
 */
export async function giveUpPut(deals: Deals, fileId: Buffer): Promise<void> {
  const id = fileId.toString('hex');
  try {
    const file = await deals.store.getFile(fileId);
    if (!file) {
      await deals.files.forgetFile(fileId);
      return;
    }
    const res = await deleteFile(deals, file);
    deals.api.logger.info('deals: the put of file %s lapsed (its client stopped renewing its lease): %s', id,
      res.forgotten ? `given up, ${res.removed.length} copy(ies) removed from their hosts by a revision`
        : `kept until its hosts answer (${res.kept.map((k) => `${k.host}: ${k.reason}`).join('; ')})`);
  } catch (e) {
    deals.api.logger.warning('deals: giving up the lapsed put of file %s failed: %s', id, (e as Error).message);
  }
}

/**
 * Keep the newest `keep` versions of a name (0: all) and delete the
 * older ones from their hosts as `rm` does (a revision per contract: the
 * hosts free the space and stop charging), oldest first. A version with
 * a replica on a host that cannot be reached stays, listed in `kept`.
 */
export async function pruneVersions(deals: Deals, name: Buffer, keep: number): Promise<PruneVersionsResult> {
  const versions = (await deals.store.listFiles()).filter((f) => f.name.equals(name)).sort((a, b) => a.revision - b.revision);
  const old = keep === 0 ? [] : versions.slice(0, Math.max(0, versions.length - keep));
  const pruned: PruneVersionsResult['pruned'] = [];
  for (const f of old)
    pruned.push({ ...await deleteFile(deals, f), revision: f.revision });
  const gone = new Set(pruned.filter((p) => p.forgotten).map((p) => p.revision));
  return { nameHex: name.toString('hex'), keep, kept: versions.map((f) => f.revision).filter((r) => !gone.has(r)), pruned };
}

/**
 * The sealed manifest as it stands now to hosts whose contract a
 * removal just revised, so a renter recovering from its seed does not
 * bring a deleted file back (recovery.ts trusts the newest manifest), or
 * a renewal just formed (renewal.ts). A failure is only logged: the
 * removal or renewal stands either way.
 */
export async function putManifests(deals: Deals, targets: Array<{ id: Buffer; dataURL: string; token: string }>): Promise<void> {
  if (targets.length === 0)
    return;
  const sealed = (await deals.files.manifest()).seal(deals.storageMaster());
  for (const t of targets) {
    try {
      await new FileServerClient(t.dataURL).putManifest(t.token, t.id.toString('hex'), sealed);
    } catch (e) {
      deals.api.logger.warning('deals: manifest copy for contract %s failed: %s', t.id.toString('hex'), (e as Error).message);
    }
  }
}
