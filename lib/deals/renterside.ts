/*!
 * renterside.ts - the renter side's parts built from the node: the payer
 * (channel states), the auditor, automatic repair, the in-process renter
 * client automatic repair and renewal use, the audit records fed to
 * reputation, and taking over a contract found again from the seed.
 */

import { auditCounts } from '../reputation/rater';
import { ALL_OBJECTS } from '../storage/token';
import { Auditor } from './auditor';
import { Payer } from './payments';
import { AutoRepair, auditsLost, type AutoRepairOptions } from './autorepair';
import { RenterClient } from './renterclient';
import { localCall } from './rpc';
import type { StorageContract } from '../contracts/storagecontract';
import { takeOver, type TakeoverResult } from './takeover';
import { hostAhead } from './othernode';
import type { Deals } from './plugin';

/**
 * The renter's audit records feed reputation: per contract for the
 * ratings it publishes on its own, per host as own records.
 */
export function feedReputation(deals: Deals): void {
  const rep = deals.reputation;
  if (!rep)
    return;
  const outcomes = async (id: Buffer): Promise<string[]> => (await deals.store.listAudits(id)).map((r) => r.outcome);
  rep.setAuditSource(async (id) => {
    const list = await outcomes(id);
    return list.length ? auditCounts(list) : null;
  });
  rep.addRecordSource(async () => {
    const byHost = new Map<string, { passed: number; failed: number }>();
    for (const rc of await deals.store.listRenterContracts()) {
      const list = await outcomes(rc.contract.hash());
      if (!list.length)
        continue;
      const c = auditCounts(list);
      const key = rc.contract.hostKey.toString('hex');
      const sum = byHost.get(key) ?? { passed: 0, failed: 0 };
      sum.passed += c.passed;
      sum.failed += c.failed + c.missed;
      byHost.set(key, sum);
    }
    return byHost;
  });
}

export function makePayer(deals: Deals): Payer {
  const logger = deals.api.logger;
  return new Payer({
    store: deals.store,
    escrow: async (c) => {
      const e = await deals.contracts.escrowOf(c.hash());
      return e && !e.spent ? e.coin : null;
    },
    escrowKey: async (c) => {
      try {
        return (await deals.contracts.getEscrowRing(c.renterEscrowKey))?.privateKey ?? null;
      } catch {
        return null; // a locked wallet
      }
    },
    host: (pk) => deals.renter.hostByKey(pk),
    send: async (host, args) => {
      try {
        await deals.renter.pay(host, args);
      } catch (e) {
        const rc = await deals.store.getRenterContract(args.state.contractId);
        throw rc ? await deals.explainDecline(host, rc.contract, e) : e;
      }
    },
    log: (level, msg) => (level === 'info' ? logger.info(msg) : logger.warning(msg))
  });
}

/** A renter client over this node's own RPC, in-process (automatic repair and renewal). */
export function localClient(deals: Deals, tag: string): RenterClient {
  const logger = deals.api.logger;
  const wallet = () => deals.api.wallet().wdb.primary;
  const call = localCall(deals, {
    // The node's own getbalance, as a CLI renter asks it: bitcoind's trusted
    // balance, no immature coinbase and less unconfirmed spends (lib/node/wallettxrpc.ts).
    balance: async () => {
      const rpc = deals.api.wallet().rpc;
      return Math.round(Number(await rpc.calls.getbalance.call(rpc, [], false)) * 1e8);
    },
    // As getwalletinfo: unlocked_until only for an encrypted wallet, 0 while it is locked.
    info: () => {
      const w = wallet();
      const until = (w.master as { until?: number }).until ?? 1;
      return w.master.encrypted ? { walletid: w.id, unlocked_until: w.master.key ? until : 0 } : { walletid: w.id };
    }
  });
  return new RenterClient(call, { warn: (m) => logger.warning(`${tag}: ${m}`) });
}

export function makeAutoRepair(deals: Deals, opts: AutoRepairOptions): AutoRepair {
  const logger = deals.api.logger;
  const client = localClient(deals, 'repair');
  return new AutoRepair({
    client: () => client,
    auditFailed: async (id) => auditsLost((await deals.store.listAudits(Buffer.from(id, 'hex'))).map((r) => r.outcome)),
    spent: () => deals.store.repairSpent(),
    addSpent: (sat) => deals.store.addRepairSpent(sat),
    exclusive: (keys, fn) => deals.workLocks.run(keys, fn),
    log: (level, msg) => (level === 'info' ? logger.info(msg) : logger.warning(msg))
  }, opts);
}

export function makeAuditor(deals: Deals): Auditor {
  const logger = deals.api.logger;
  return new Auditor({
    store: deals.store,
    height: () => deals.api.chain.height,
    hostHeight: (pk) => {
      // By the connection's own address (a HostRef's addr is the announced one).
      const cp = deals.negotiator.peers.byKey(pk);
      const peer = cp ? deals.api.node.pool.peers.get(cp.peer.hostname()) : null;
      return peer ? Math.max(peer.height, peer.bestHeight) : -1;
    },
    state: (id) => deals.contractBook.ctx.state(id),
    withContract: (id, fn) => deals.contractBook.withContract(id, fn),
    host: (pk) => deals.hostRef(pk).catch(() => null),
    access: (host, id) => deals.paidToken(host, id, ALL_OBJECTS),
    onPassed: async (rc, rec) => {
      await deals.payer.afterAudit(rc, rec);
    },
    afterRun: async () => {
      await deals.payer.resend();
      // New audit records move scores, and may call for a rating (--rate-fail-threshold).
      const rep = deals.reputation;
      rep?.invalidate();
      void rep?.rater?.kick();
    },
    log: (level, msg) => (level === 'info' ? logger.info(msg) : logger.warning(msg))
  });
}

/**
 * Take over a contract this node found again from its seed (takeover.ts),
 * under the contract's lock; null when it already holds it as its own,
 * unless its host holds a revision or channel state of it, signed with this
 * wallet's keys, that this node did not sign (another node with this
 * identity drove it: othernode.ts): then it adopts that, as after a restore.
 * Its objects are named after the files the recovered manifests list.
 */
export async function takeOverContract(deals: Deals, c: StorageContract): Promise<TakeoverResult | null> {
  const id = c.hash();
  if (await deals.store.getRenterContract(id)) {
    const ahead = await deals.hostRef(c.hostKey).then((h) => hostAhead(deals.otherNodeContext(h), c)).catch(() => null);
    if (!ahead)
      return null; // our own, and nobody else's newer (or the host cannot say now: still our own)
    deals.api.logger.info(`takeover: contract ${c.id()}: its host holds ${ahead}, signed with this wallet's keys: adopting it`);
  }
  const host = await deals.hostRef(c.hostKey);
  const fileOf = new Map<number, Buffer>();
  for (const f of await deals.store.listFiles()) {
    for (const r of f.replicas) {
      if (r.contractId.equals(id))
        fileOf.set(r.object, f.fileId);
    }
  }
  const res = await deals.contractBook.withContract(id, () => takeOver({
    store: deals.store,
    latest: (k, fromRevision, fromObject) => deals.renter.latest(host, k, fromRevision, fromObject),
    escrow: async (k) => {
      const e = await deals.contracts.escrowOf(k.hash());
      return e && !e.spent ? e.coin : null;
    }
  }, c, (object) => fileOf.get(object) ?? null));
  deals.api.logger.info(`takeover: contract ${c.id()} on ${deals.negotiator.addressOf(c.hostKey)} taken over at revision `
    + `${res.revision} (${res.objects} objects), channel state ${res.state} paying ${res.paid} sat`);
  return res;
}
