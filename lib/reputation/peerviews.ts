/*!
 * peerviews.ts - the signed statements peers answered to this node's
 * `reputation.get` (statement.ts), kept apart from this node's own
 * sources: the newest per signer and subject, bounded, each checked before
 * it is kept. The view (view.ts) weighs them by this node's trust in each
 * signer (score.ts peersScore).
 */

import { BoundedMap } from '../negotiator/boundedmap';
import { MAX_PEER_STATEMENTS, STATEMENT_MAX_AGE } from './common';
import type { PeerOpinion } from './score';
import type { ReputationStatement } from './statement';

/** Why a statement was not kept (`Asker` logs them at debug level). */
export type RejectReason = 'bad-signature' | 'wrong-signer' | 'wrong-subject' | 'about-itself' | 'older';

/** The statements this node keeps, by subject then signer. */
export class PeerViews {
  private readonly kept = new BoundedMap<string, ReputationStatement>(MAX_PEER_STATEMENTS);

  /**
   * Keep `s`, an answer from the peer whose proven identity is `signer` to
   * a question about `subject`, or say why not: the signature must verify
   * on this network, name the peer and the subject asked about, not be
   * about the signer itself, and not be older than the one kept.
   */
  add(s: ReputationStatement, signer: Buffer, subject: Buffer, magic: number): RejectReason | null {
    if (!s.signer.equals(signer))
      return 'wrong-signer';
    if (!s.subject.equals(subject))
      return 'wrong-subject';
    if (s.subject.equals(s.signer))
      return 'about-itself';
    if (!s.verify(magic))
      return 'bad-signature';
    const key = `${s.subject.toString('hex')}|${s.signer.toString('hex')}`;
    const old = this.kept.get(key);
    if (old && old.height > s.height)
      return 'older';
    this.kept.set(key, s);
    return null;
  }

  get size(): number {
    return this.kept.size;
  }

  /** Every statement kept (for the RPC), oldest kept first. */
  all(): ReputationStatement[] {
    return [...this.kept.values()];
  }

  /**
   * The statements as the view takes them, per subject (hex): those signed
   * at most STATEMENT_MAX_AGE blocks below `tip`.
   */
  opinions(tip: number): Map<string, PeerOpinion[]> {
    const out = new Map<string, PeerOpinion[]>();
    for (const s of this.kept.values()) {
      // [IGNORE] a statement signed too long ago says little of the host now
      if (s.height + STATEMENT_MAX_AGE < tip)
        continue;
      const subject = s.subject.toString('hex');
      const list = out.get(subject) ?? [];
      list.push({
        signer: s.signer.toString('hex'),
        height: s.height,
        record: {
          passed: s.passed, failed: s.failed, settled: s.settled, refunded: s.refunded, paid: s.paid,
          retrievals: s.retrievals, retrievalsFailed: s.retrievalsFailed
        }
      });
      out.set(subject, list);
    }
    return out;
  }
}
