/*!
 * hostside.ts - the deals extension on a hosting node: the `storage`
 * service registered with the negotiator, and what every block does for
 * it (escrows seen funded, contracts dropped, announcements, renters that
 * stopped paying).
 */

import { getDealParams } from './common';
import { HostService } from './hostservice';
import type { Deals } from './plugin';

export async function openHost(deals: Deals): Promise<void> {
  const host = new HostService({
    network: deals.api.network,
    identity: () => deals.negotiator.identity,
    height: () => deals.api.chain.height,
    backend: () => deals.backend(),
    dataURL: () => deals.dataURL(),
    createEscrowKey: () => deals.contracts.createEscrowKey(),
    contractState: (id) => deals.contracts.getState(id),
    acceptState: async (c, state, options) => {
      await deals.contracts.acceptState(c, state, options);
    },
    latestState: async (id) => {
      const s = await deals.contracts.latestState(id);
      return s ? { paid: s.state.paid, prepaid: s.prepaid, final: s.final, missed: s.missed, state: s.state } : null;
    },
    store: deals.store
  }, deals.terms);
  deals.host = host;
  deals.negotiator.registerService(host.service());
  await announce(deals);
  const chain = deals.api.chain;
  const rescanned = await host.rescan(chain.height, (height) => chain.getBlock(height));
  if (rescanned.length)
    deals.api.logger.info('deals: %d escrows found funded by the rescan at start', rescanned.length);
  deals.api.onConnect(async (entry, block) => {
    const params = getDealParams(deals.api.network);
    for (const id of await host.scanBlock(block, entry.height)) {
      if (await deals.contracts.getState(id) === null)
        deals.contracts.requestRecord(id);
    }
    for (const { contract: c, ended } of await host.maintain(entry.height, () => mempoolEscrows(deals))) {
      if (ended)
        deals.api.logger.info('deals: contract %s ended at refund height %d: data deleted', c.id(), c.refundHeight);
      else
        deals.api.logger.info('deals: contract %s never committed by its offer expiry (height %d): data deleted', c.id(), c.expiryHeight);
    }
    if (entry.height % params.announceInterval === 0)
      await announce(deals);
    await host.observeAuditReads(entry.height);
    await dropNonPaying(deals, host, entry.height);
  });
  deals.api.onDisconnect(async (entry) => {
    await host.unscanBlock(entry.height);
  });
}

/** `script:value` of every escrow output of a commitment in the mempool (HostService#maintain). */
function mempoolEscrows(deals: Deals): Set<string> {
  const out = new Set<string>();
  const mempool = deals.api.mempool;
  for (const hash of mempool.map.keys()) {
    const tx = mempool.getTX(hash);
    for (const key of tx ? HostService.escrowKeys(tx) : [])
      out.add(key);
  }
  return out;
}

/**
 * A renter that stopped paying (an audit served, no state within two
 * intervals): close with the latest state we hold (if any), delete the
 * contract's data, and mark the renter, durably, before the next block.
 */
export async function dropNonPaying(deals: Deals, host: HostService, height: number): Promise<void> {
  for (const c of await host.nonPaying(height)) {
    const id = c.hash();
    let closed = 'no state to close with: the renter\'s refund takes the escrow back';
    if (await deals.contracts.latestState(id)) {
      try {
        // No state is stored for it from here on: the close pays the last one held.
        const res = await host.closeForNonPayment(id, () => deals.contracts.closeContract(id));
        closed = `closed in ${res.tx.txid()} (payout ${res.amounts.host} sat, fee ${res.amounts.fee} sat)`;
      } catch (e) {
        closed = `close failed: ${(e as Error).message}`;
      }
    }
    try {
      await deals.backend()?.unregister(c.id());
      await deals.backend()?.purge();
    } catch (e) {
      deals.api.logger.warning('deals: deleting the data of contract %s failed: %s', c.id(), (e as Error).message);
    }
    await deals.store.markNonPayment(id, c.renterKey, height);
    deals.api.logger.warning('deals: renter %s stopped paying for contract %s: %s; data deleted',
      deals.negotiator.addressOf(c.renterKey), c.id(), closed);
  }
}

/** Gossip our terms (csannounce); a failure is logged, never fatal. */
export async function announce(deals: Deals): Promise<void> {
  if (!deals.host)
    return;
  const interval = getDealParams(deals.api.network).announceInterval;
  try {
    deals.negotiator.announce({
      url: deals.dataURL(),
      storagePrice: deals.terms.prices.storage,
      uploadPrice: deals.terms.prices.upload,
      downloadPrice: deals.terms.prices.download,
      capacity: await deals.host.freeCapacity(),
      maxDuration: deals.terms.maxDuration,
      expiry: deals.api.chain.height + 10 * interval
    });
  } catch (e) {
    deals.api.logger.warning('deals: announcement failed: %s', (e as Error).message);
  }
}
