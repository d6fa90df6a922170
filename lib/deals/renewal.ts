/*!
 * renewal.ts - renewing the renter's contracts: `renew` (a new contract
 * with the same host whose revision 0 carries the old one's objects, no
 * re-upload), the contracts automatic renewal looks at, and what
 * getcontract shows about renewal. The schedule and the moves off a host
 * live in autorenew.ts.
 */

import type { StorageContract } from '../contracts/storagecontract';
import { minEscrowValue } from '../contracts/common';
import { LEAF_SIZE } from '../storage/common';
import { DealError } from './errors';
import { PendingRevision, RenterContract } from './dealrecords';
import { defaultAllowance, type Prices } from './pricing';
import { firstRevision } from './revisions';
import { AutoRenew, renewFrom, type AutoRenewOptions, type RenewCandidate } from './autorenew';
import { localClient } from './renterside';
import type { Deals } from './plugin';
import { IN_FORCE_STATES } from './common';
import { putManifests } from './deletion';

export function makeAutoRenew(deals: Deals, opts: AutoRenewOptions): AutoRenew {
  const logger = deals.api.logger;
  const client = localClient(deals, 'renew');
  return new AutoRenew({
    candidates: () => renewCandidates(deals),
    renew: async (id, maxEscrow, maxRise) => {
      deals.requireActivation();
      return renewContract(deals, Buffer.from(id, 'hex'), null, null, maxEscrow, maxRise);
    },
    assess: async (id, minScore) => {
      const rc = await deals.store.getRenterContract(Buffer.from(id, 'hex'));
      if (!rc)
        return null;
      const pk = rc.contract.hostKey;
      return (await deals.avoidHosts([pk], minScore)).get(pk.toString('hex')) ?? null;
    },
    client: () => client,
    spent: () => deals.store.renewSpent(),
    addSpent: (sat) => deals.store.addRenewSpent(sat),
    exclusive: (keys, fn) => deals.workLocks.run(keys, fn),
    log: (level, msg) => (level === 'info' ? logger.info(msg) : logger.warning(msg))
  }, opts);
}

/**
 * Open contracts (committed or active) with a copy of a live file that
 * no repair has replaced (a moved copy stays listed until its contract
 * ends, but needs no renewal).
 */
export async function renewCandidates(deals: Deals): Promise<RenewCandidate[]> {
  const byContract = new Map<string, string[]>();
  for (const f of await deals.store.listFiles()) {
    const replaced = new Set((await deals.store.listRepairs(f.fileId)).flatMap((x) => x.replaced.map((id) => id.toString('hex'))));
    const fileId = f.fileId.toString('hex');
    for (const r of f.replicas) {
      const id = r.contractId.toString('hex');
      if (replaced.has(id))
        continue;
      const list = byContract.get(id) ?? [];
      if (!list.includes(fileId))
        list.push(fileId);
      byContract.set(id, list);
    }
  }
  const out: RenewCandidate[] = [];
  for (const [id, files] of byContract) {
    const rc = await deals.store.getRenterContract(Buffer.from(id, 'hex'));
    const state = rc ? await deals.contracts.getState(rc.contract.hash()) : null;
    if (!rc || (state !== 'committed' && state !== 'active'))
      continue;
    out.push({ id, host: deals.negotiator.addressOf(rc.contract.hostKey), startHeight: rc.contract.startHeight,
      endHeight: rc.contract.endHeight, files });
  }
  return out;
}

/**
 * What getcontract adds about renewal for a contract of ours: the
 * contract that renewed it, and the height from which automatic renewal
 * renews it (null when off).
 */
export async function renewDetails(deals: Deals, c: StorageContract): Promise<{ renewedBy: string | null; renewFrom: number | null }> {
  return { renewedBy: await deals.store.renewedBy(c.hash()), renewFrom: deals.renewOptions ? renewFrom(c, deals.renewOptions.window) : null };
}

/**
 * The first price (storage, upload, download) that `now` asks more than
 * `maxRise` percent over `then`, in words, or null. A price that was 0
 * rises by any amount above 0.
 */
export function priceRise(then: Prices, now: Prices, maxRise: number): string | null {
  for (const kind of ['storage', 'upload', 'download'] as const) {
    if (now[kind] * 100 > then[kind] * (100 + maxRise))
      return `${now[kind]} sat for ${kind}, more than ${maxRise}% over the contract's ${then[kind]} sat (--renew-max-rise)`;
  }
  return null;
}

/**
 * Renew a contract of ours before it ends: a new contract with the same
 * host (prevId = the old one) whose revision 0 carries every object of
 * the old one's latest revision, adopted by the host without a
 * re-upload; committed at once. The files' replicas follow once the
 * commitment is out, and the new contract gets the sealed manifest
 * (object 0) naming them. `maxEscrow` (sat; automatic renewal's budget left)
 * refuses a renewal whose allowance would lock more, before the host is
 * asked to adopt anything; `maxRise` (percent; automatic renewal's
 * --renew-max-rise) refuses with `host-pricier` a host whose offer asks
 * more than that over the contract's prices (priceRise).
 */
export async function renewContract(deals: Deals, oldId: Buffer, duration: number | null, allowance: number | null,
  maxEscrow = Number.MAX_SAFE_INTEGER, maxRise = Number.POSITIVE_INFINITY)
  : Promise<{ id: string; host: string; objects: number; endHeight: number; allowance: number; txids: string[] }> {
  const rc = await deals.contractBook.mustContract(oldId);
  const old = rc.contract;
  const height = deals.api.chain.height;
  const state = await deals.contractBook.ctx.state(oldId);
  // [REJECT] only an open contract, before its end, with nothing in flight
  if (state === null || !IN_FORCE_STATES.has(state) || height >= old.endHeight)
    throw new DealError('not-renewable', `contract ${old.id().slice(0, 12)} is ${state ?? 'not committed'} `
      + `(ends at ${old.endHeight}, height ${height}): only an open contract can be renewed before it ends`);
  const host = await deals.hostRef(old.hostKey);
  if (!await deals.contractBook.settle(oldId, true))
    throw new DealError('contract-busy', `contract ${old.id().slice(0, 12)} has a revision its host has not settled`);
  const objects = await deals.contractBook.objects(oldId);
  if (!objects || objects.length === 0)
    throw new DealError('not-renewable', `contract ${old.id().slice(0, 12)} holds no objects: nothing to renew`);
  const length = duration ?? (old.endHeight - old.startHeight);
  const prices = { storage: old.storagePrice, upload: old.uploadPrice, download: old.downloadPrice };
  // An offer for a token size: it reserves nothing real (the bytes are adopted) but fixes prices and the escrow key.
  const got = await deals.renter.bid(host, LEAF_SIZE, length, prices, Math.max(prices.storage, prices.upload, prices.download, 1)
    * 4);
  if (!('offer' in got))
    throw new DealError('proposal-declined', `host ${host.identity} made no renewal offer: ${got.reason}`);
  const offer = got.offer.offer;
  const risen = priceRise(prices, offer.prices, maxRise);
  // [REJECT] a host asking more than --renew-max-rise over the contract's price (the offer lapses on its own)
  if (risen)
    throw new DealError('host-pricier', `renewal of contract ${old.id().slice(0, 12)}: host ${host.identity} asks ${risen}`);
  const size = objects.reduce((sum, o) => sum + o.size, 0);
  const minEscrow = minEscrowValue(deals.api.network);
  const value = allowance ?? Math.max(old.escrowValue, defaultAllowance(size, length, offer.prices, minEscrow));
  // [REJECT] over the renewal budget (the offer lapses on its own)
  if (value > maxEscrow)
    throw new DealError('over-budget', `renewing contract ${old.id().slice(0, 12)} needs an allowance of ${value} sat, `
      + `the renewal budget has ${Math.max(0, maxEscrow)} sat left (--renew-budget)`);
  const entries = objects.map(({ id, root, size: n }) => ({ id, root, size: n }));
  const contract = await deals.renter.buildContract(offer, [], value, { prevId: oldId, carried: entries });
  const rev0 = firstRevision(contract, entries);
  rev0.sign(deals.negotiator.identity, contract);
  const res = await deals.renter.propose(host, contract, rev0, []);
  const newId = contract.hash();
  const nrc = new RenterContract();
  nrc.contract = res.contract;
  nrc.nextObject = Math.max(rc.nextObject, rev0.nextObject);
  const p = new PendingRevision();
  p.revision = rev0;
  p.add = objects;
  await deals.store.putPending(newId, p, nrc);
  await deals.contractBook.receipt(newId, 0);
  const txids = (await deals.contracts.commit([res.contract])).map((tx) => tx.txid());
  await deals.files.follow(oldId, newId);
  // The new contract's object 0, as a put leaves it: a node restored from
  // the seed reads the manifests of the contracts in force, and without
  // one here it would find the files only on the old contract, once
  // ended. Sealed after the replicas follow, so it names the renewal.
  if (res.manifestToken)
    await putManifests(deals, [{ id: newId, dataURL: res.dataURL, token: res.manifestToken }]);
  return { id: contract.id(), host: host.identity, objects: objects.length, endHeight: contract.endHeight,
    allowance: contract.escrowValue, txids };
}
