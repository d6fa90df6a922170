/*!
 * auditview.ts - a contract's audits as getaudits and `cloudcoin-cli
 * audits` show them: one row per interval, with the schedule's next
 * height, the counts and the latest state the renter signed.
 */

import type { StorageContract } from '../contracts/storagecontract';
import { intervals } from './accrual';
import type { AuditJSON } from './audits';
import type { Deals } from './plugin';
import { accrualTerms } from './revisions';

/** getaudits: a contract's audits and schedule. */
export interface AuditsResult {
  contractId: string;
  host: string;
  startHeight: number;
  endHeight: number;
  /** Blocks per interval. */
  auditInterval: number;
  intervals: number;
  height: number;
  /** Height from which the next interval's audit is due, or null when none is left (or the host failed one). */
  nextAudit: number | null;
  passed: number;
  failed: number;
  missed: number;
  audits: AuditJSON[];
  /** The latest channel state the renter signed after a passed audit, or null before the first. */
  payment: { number: number; paid: number; intervals: number; acknowledged: boolean } | null;
}

export async function auditSummary(deals: Deals, c: StorageContract): Promise<AuditsResult> {
  const id = c.hash();
  const audits = (await deals.store.listAudits(id)).map((r) => r.getJSON());
  const ivs = intervals(accrualTerms(c));
  const last = audits.length ? audits[audits.length - 1].interval : -1;
  const failed = audits.some((a) => a.outcome === 'failed');
  const next = ivs.find((iv) => iv.index > last);
  const pay = await deals.store.getPayment(id);
  return {
    contractId: c.id(),
    host: deals.negotiator.addressOf(c.hostKey),
    startHeight: c.startHeight,
    endHeight: c.endHeight,
    auditInterval: c.auditInterval,
    intervals: ivs.length,
    height: deals.api.chain.height,
    nextAudit: failed || !next ? null : next.to,
    passed: audits.filter((a) => a.outcome === 'passed').length,
    failed: audits.filter((a) => a.outcome === 'failed').length,
    missed: audits.filter((a) => a.outcome === 'missed').length,
    audits,
    payment: pay ? { number: pay.state.number, paid: pay.state.paid, intervals: pay.through, acknowledged: pay.acked } : null
  };
}
