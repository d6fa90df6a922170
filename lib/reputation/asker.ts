/*!
 * asker.ts - this node asks its CloudStorage peers what they think of
 * hosts (`reputation.get`, PROTOCOL 2.7) and keeps their signed answers
 * (peerviews.ts): decloud's "ask others what they think of others".
 *
 * A round runs after every ASK_EVERY_BLOCKS blocks the contract index
 * connects, at most once per ASK_MIN_INTERVAL_MS (the first at once): up to ASK_PEERS connected peers with
 * proven identities, each asked about up to ASK_SUBJECTS hosts (those
 * announced and those this node holds contracts with, never the peer
 * itself nor this node). Free calls only: a peer that asks a price is
 * skipped. Answers that fail the checks of PeerViews#add are dropped.
 */

import { Rerunner } from '../base/rerun';
import type { Negotiator } from '../negotiator/negotiator';
import { statuses } from '../negotiator/status';
import { ASK_EVERY_BLOCKS, ASK_MIN_INTERVAL_MS, ASK_PEERS, ASK_SUBJECTS, ASK_TIMEOUT_MS } from './common';
import type { PeerViews } from './peerviews';
import { ReputationStatement } from './statement';

/** What the asker needs of the node. */
export interface AskerContext {
  negotiator: Pick<Negotiator, 'cloudPeers' | 'hosts' | 'request'>;
  views: PeerViews;
  magic: number;
  /** This node's identity key. */
  me(): Buffer;
  /** Milliseconds now (tests pass their own). */
  clock?(): number;
  /** Hosts of this node's own contracts (identity keys). */
  counterparties(): Promise<Buffer[]>;
  /** A statement was kept: the view is stale. */
  changed(): void;
  log(level: 'debug' | 'warning', msg: string): void;
}

/** One round's outcome (for logs and tests). */
export interface AskRound {
  peers: number;
  asked: number;
  kept: number;
  dropped: number;
}

/** Asks peers, one round at a time. */
export class Asker {
  private lastHeight = -Infinity;
  private lastTime = -Infinity;
  private closed = false;
  private readonly runner: Rerunner;
  /** The last round's outcome, null before the first. */
  last: AskRound | null = null;

  constructor(private readonly ctx: AskerContext) {
    this.runner = new Rerunner(async () => {
      this.last = await this.round();
    }, (e) => ctx.log('warning', `reputation: asking peers failed: ${e.message}`), () => this.closed);
  }

  /** The index connected a block at `height`: ask again if ASK_EVERY_BLOCKS passed since the last round. */
  onBlock(height: number): void {
    const now = this.ctx.clock ? this.ctx.clock() : Date.now();
    if (height - this.lastHeight < ASK_EVERY_BLOCKS || now - this.lastTime < ASK_MIN_INTERVAL_MS)
      return;
    this.lastHeight = height;
    this.lastTime = now;
    void this.runner.kick();
  }

  /** Ask now (also what `onBlock` runs). */
  kick(): Promise<void> {
    return this.runner.kick();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.runner.idle();
  }

  /** Who is asked about: counterparties first, then announced hosts, keys ascending within each. */
  private async subjects(): Promise<Buffer[]> {
    const me = this.ctx.me();
    const seen = new Map<string, Buffer>();
    const sorted = (l: Buffer[]): Buffer[] => [...l].sort(Buffer.compare);
    for (const k of [...sorted(await this.ctx.counterparties()), ...sorted(this.ctx.negotiator.hosts().map((a) => a.publicKey))]) {
      if (!k.equals(me))
        seen.set(k.toString('hex'), k);
    }
    return [...seen.values()];
  }

  private async round(): Promise<AskRound> {
    const out: AskRound = { peers: 0, asked: 0, kept: 0, dropped: 0 };
    if (this.closed)
      return out;
    const subjects = await this.subjects();
    const peers = this.ctx.negotiator.cloudPeers().filter((p) => p.pubkey !== null).slice(0, ASK_PEERS);
    await Promise.all(peers.map(async (p) => {
      const peerKey = Buffer.from(p.pubkey as string, 'hex');
      const about = subjects.filter((s) => !s.equals(peerKey)).slice(0, ASK_SUBJECTS);
      if (about.length === 0)
        return;
      out.peers++;
      for (const subject of about) {
        if (this.closed)
          return;
        out.asked++;
        let reason: string;
        try {
          const res = await this.ctx.negotiator.request(peerKey, 'reputation', 'get', subject, { timeout: ASK_TIMEOUT_MS });
          if (res.status !== statuses.OK) {
            // A peer without the service, or one that asks a price: ask it nothing more this round.
            this.ctx.log('debug', `reputation: ${p.identity} answered ${res.status} to reputation.get`);
            out.dropped++;
            return;
          }
          const s = ReputationStatement.decode(res.body);
          const why = this.ctx.views.add(s, peerKey, subject, this.ctx.magic);
          if (why === null) {
            out.kept++;
            this.ctx.changed();
            continue;
          }
          reason = why;
        } catch (e) {
          // A timeout or a lost connection: the peer is asked again next round.
          out.dropped++;
          this.ctx.log('debug', `reputation: asking ${p.identity} failed: ${(e as Error).message}`);
          return;
        }
        out.dropped++;
        this.ctx.log('debug', `reputation: statement from ${p.identity} about ${subject.toString('hex')} dropped: ${reason}`);
      }
    }));
    return out;
  }
}
