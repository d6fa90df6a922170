/*!
 * renterlease.ts - the client's side of a put's lease (the node's is
 * putleases.ts): renewed from addfile until the put asks the node to
 * commit, so a client killed outright lets it lapse and the node frees
 * the open contracts the put held, while a live put, however slow, keeps
 * them. A put that fails with an error ends its lease instead: the node
 * then treats what it left as it always did (settled at the offer
 * window), the put's own failure path having said what became of it.
 */

import { rpcCodes } from '../base/errors';
import { PUT_LEASE_RENEW_MS } from './common';
import type { RenterCore } from './rentercore';
import { RenterClientError, message, nodeCode } from './rentertypes';

/**
 * Longest a put waits for its last renewal's answer, or for the node to
 * end the lease (ms): a node gone or stalled must not hold a failing put
 * up; a lease left behind only lapses.
 */
const LEASE_END_MS = 5000;

/** `p` settled, or `ms` passed (never rejects). */
async function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.then(() => {}, () => {}), new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
  clearTimeout(timer);
}

export class LeaseKeeper {
  private readonly c: RenterCore;
  private readonly fileId: string;
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  /** The renewal in flight: one at a time (more would only queue behind a busy node). */
  private inflight: Promise<void> | null = null;
  /** Why the node refused a renewal (it gave the put up), or null. */
  private lost: unknown = null;

  constructor(c: RenterCore, fileId: string) {
    this.c = c;
    this.fileId = fileId;
  }

  /** Take the lease now and renew it every PUT_LEASE_RENEW_MS until stop(). */
  start(): void {
    if (this.started)
      return;
    this.started = true;
    this.timer = setInterval(() => this.renew(), PUT_LEASE_RENEW_MS);
    // The put's own work keeps the process alive, not its lease.
    this.timer.unref();
    this.renew();
  }

  /** No more renewals. */
  stop(): void {
    if (this.timer)
      clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Stop renewing and let the renewal in flight land first, so none
   * reaches the node after the call that follows (commitfile, or ending
   * the lease) and takes the lease again.
   */
  async settle(): Promise<void> {
    this.stop();
    if (this.inflight !== null)
      await bounded(this.inflight, LEASE_END_MS);
  }

  /** The put failed: end the lease without giving the put up (best effort, bounded). */
  async end(): Promise<void> {
    await this.settle();
    if (this.started && !this.lost)
      await bounded(this.c.rpc('renewputlease', [this.fileId, true]), LEASE_END_MS);
  }

  /** Throws when the node refused the lease: it gave the put up (its lease lapsed), so nothing of it can be committed. */
  check(): void {
    if (this.lost)
      throw new RenterClientError('put-given-up', `the node gave this put up: ${message(this.lost)}`);
  }

  private renew(): void {
    if (this.inflight !== null || !this.timer)
      return;
    this.inflight = this.c.rpc('renewputlease', [this.fileId]).then(() => {}, (e: unknown) => {
      const code = nodeCode(e);
      // A lost connection may come back (the put's next call says if not); an older node has no leases: the put runs without.
      if (code === null)
        return;
      this.stop();
      if (code !== rpcCodes.METHOD_NOT_FOUND)
        this.lost = e;
    }).finally(() => {
      this.inflight = null;
    });
  }
}
