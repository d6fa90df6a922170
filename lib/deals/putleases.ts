/*!
 * putleases.ts - the leases of running puts. The client that runs a put
 * renews its lease (renewputlease) from addfile until it asks the node to
 * commit; a client killed outright (kill -9, a crash, the machine gone)
 * runs no Ctrl-C hook and stops renewing, and once its lease lapses the
 * node gives the put up as that hook would (deletion.ts giveUpPut): its
 * pending revisions are settled with their hosts at once, so the open
 * contracts it held take the next put of any file instead of waiting out
 * the offer window. A put whose lease is alive is never touched here.
 *
 * Leases live in memory only: after a restart every pending revision is
 * settled with its host at the next block anyway (rentercontracts.ts).
 */

/** What the leases need from the node. */
export interface PutLeasesOptions {
  /** Milliseconds a lease lives without a renewal (PUT_LEASE_SECONDS). */
  lapseMs: number;
  /** Extra wait (ms) when the lapse timer fired this late: the node itself stalled (PUT_LEASE_STALL_MS). */
  stallMs: number;
  /** Give up the put of `fileId`: its lease lapsed. */
  giveUp(fileId: Buffer): Promise<void>;
}

/** Most lapsed puts remembered, so a late renewal hears why (bounded memory). */
const MAX_LAPSED = 1024;

interface Lease {
  /** Unix time (ms) the lease lapses unless renewed. */
  expires: number;
  timer: NodeJS.Timeout;
  /** The timer already waited once for renewals queued behind a stall. */
  waited: boolean;
}

export class PutLeases {
  private readonly options: PutLeasesOptions;
  private readonly leases = new Map<string, Lease>();
  /** Puts given up because their lease lapsed, oldest first (a Map keeps insertion order). */
  private readonly lapsed = new Map<string, true>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(options: PutLeasesOptions) {
    this.options = options;
  }

  /** Whether the put of `fileId` holds a live lease. */
  has(fileId: Buffer): boolean {
    return this.leases.has(fileId.toString('hex'));
  }

  /** Whether the put of `fileId` was given up because its lease lapsed. */
  gaveUp(fileId: Buffer): boolean {
    return this.lapsed.has(fileId.toString('hex'));
  }

  /** Unix time (ms) the lease of `fileId` lapses unless renewed, or null (none). */
  expires(fileId: Buffer): number | null {
    return this.leases.get(fileId.toString('hex'))?.expires ?? null;
  }

  /** Take or extend the lease of the put of `fileId`; returns when it lapses (unix ms). */
  renew(fileId: Buffer): number {
    const key = fileId.toString('hex');
    const old = this.leases.get(key);
    if (old)
      clearTimeout(old.timer);
    const expires = Date.now() + this.options.lapseMs;
    this.leases.set(key, { expires, timer: this.arm(key, this.options.lapseMs), waited: false });
    return expires;
  }

  /** The put ended otherwise (committed, deleted, forgotten): no lease any more. */
  end(fileId: Buffer): void {
    const key = fileId.toString('hex');
    const lease = this.leases.get(key);
    if (!lease)
      return;
    clearTimeout(lease.timer);
    this.leases.delete(key);
  }

  /** Stop every timer and wait for the puts being given up. */
  async close(): Promise<void> {
    this.closed = true;
    for (const lease of this.leases.values())
      clearTimeout(lease.timer);
    this.leases.clear();
    await Promise.allSettled([...this.running]);
  }

  private arm(key: string, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => this.check(key), Math.max(0, ms));
    // A lease must not keep a stopping node alive.
    timer.unref();
    return timer;
  }

  private check(key: string): void {
    const lease = this.leases.get(key);
    if (!lease || this.closed)
      return;
    const now = Date.now();
    if (now < lease.expires) {
      lease.timer = this.arm(key, lease.expires - now);
      return;
    }
    // Fired late: the node's event loop stalled, and the client's renewals may be queued behind it.
    if (!lease.waited && now - lease.expires > this.options.stallMs) {
      lease.waited = true;
      lease.timer = this.arm(key, this.options.stallMs);
      return;
    }
    this.leases.delete(key);
    this.lapsed.set(key, true);
    if (this.lapsed.size > MAX_LAPSED)
      this.lapsed.delete(this.lapsed.keys().next().value as string);
    // giveUp logs its own failures: a timer has no caller to throw to.
    const run = this.options.giveUp(Buffer.from(key, 'hex')).catch(() => {}).finally(() => this.running.delete(run));
    this.running.add(run);
  }
}
