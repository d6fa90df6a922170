/*!
 * auditview.ts - a contract's audits as getaudits and `cloudcoin-cli
 * audits` show them: one row per interval, with the schedule's next
 * height, the counts and the latest state the renter signed; and the
 * counts with the next height alone (auditStatus), as getcontract and
 * listcontracts show them.
 */

import type { StorageContract } from '../contracts/storagecontract';
import { intervals } from './accrual';
import type { AuditJSON, AuditRecord } from './audits';
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
  /**
   * The latest channel state the renter signed (after a passed audit, or
   * prepaying a token: `prepaid` sat of `paid`), or null before the first.
   */
  payment: { number: number; paid: number; prepaid: number; intervals: number; acknowledged: boolean } | null;
}

/** A contract's audits in brief: getcontract / listcontracts field `audits`. */
export interface AuditStatus {
  passed: number;
  /** Wrong data: proven loss, no audit after it. */
  failed: number;
  /** No answer within the interval's window. */
  missed: number;
  /** Height from which the next interval's audit is due, or null when none is left (or the host failed one). */
  nextAudit: number | null;
}

/** Counts of a contract's audit records by outcome and its next audit height (records by interval ascending). */
export function auditStatus(c: StorageContract, records: readonly Pick<AuditRecord, 'interval' | 'outcome'>[]): AuditStatus {
  const count = (o: string) => records.filter((r) => r.outcome === o).length;
  const last = records.length ? records[records.length - 1].interval : -1;
  const failed = count('failed');
  const next = intervals(accrualTerms(c)).find((iv) => iv.index > last);
  return { passed: count('passed'), failed, missed: count('missed'), nextAudit: failed > 0 || !next ? null : next.to };
}

export async function auditSummary(deals: Deals, c: StorageContract): Promise<AuditsResult> {
  const id = c.hash();
  const records = await deals.store.listAudits(id);
  const status = auditStatus(c, records);
  const pay = await deals.store.getPayment(id);
  return {
    contractId: c.id(),
    host: deals.negotiator.addressOf(c.hostKey),
    startHeight: c.startHeight,
    endHeight: c.endHeight,
    auditInterval: c.auditInterval,
    intervals: intervals(accrualTerms(c)).length,
    height: deals.api.chain.height,
    nextAudit: status.nextAudit,
    passed: status.passed,
    failed: status.failed,
    missed: status.missed,
    audits: records.map((r) => r.getJSON()),
    payment: pay ? { number: pay.state.number, paid: pay.state.paid, prepaid: pay.prepaid, intervals: pay.through, acknowledged: pay.acked }
      : null
  };
}
