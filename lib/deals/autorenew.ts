/*!
 * autorenew.ts - the renter's node renews its contracts on its own, as
 * Sia's renterd autopilot does: a contract that still holds objects of
 * live files is renewed once the chain enters its renew window
 * (`--renew-window` blocks before its end height), by the same flow as
 * `cloudcoin-cli renew` (a new contract with the same host, prevId = the
 * old one, whose revision 0 carries the objects: no re-upload). When the
 * old host is gone or refuses, the files' copies in that contract move to
 * another host chosen the usual way (RenterClient#repair with the
 * contract counted as lost: shards are rebuilt, replicas copied from a
 * surviving one). So do they when the host became worse or pricier, as
 * renterd's contract maintenance drops hosts that fail its checks instead
 * of renewing with them: its audits failed or its reputation score is
 * below `--renew-min-score` (checked before asking it), or the renewal
 * offer asks more than `--renew-max-rise` percent (default 50) over the
 * contract's price for storage, upload or download (`host-pricier`).
 * A contract is renewed or moved under the work locks (worklocks.ts) of
 * itself and its files, looked at again once held: automatic repair may
 * have moved a file off the same host meanwhile.
 *
 * `--renew-budget SAT` caps the escrows renewals and moves lock, over the
 * node's life (deals database key `W`, so a restart does not reset it);
 * `--renew off` turns it off. Every decision is logged (`renew: ...`), and
 * getcontract shows when a contract renews (`renewFrom`) and its renewal
 * (`renewedBy`).
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Rerunner } from '../base/rerun';
import type { RenterClient } from './renterclient';
import { contractKey, fileKey } from './worklocks';

/** What automatic renewal needs from the node. */
export interface AutoRenewContext {
  /**
   * The renter's open contracts (committed or active) holding a copy of a
   * live file that no repair has replaced.
   */
  candidates(): Promise<RenewCandidate[]>;
  /**
   * Renew contract `id` (hex) as `cloudcoin-cli renew` does, locking at
   * most `maxEscrow` sat; throws DealError `host-pricier` when the host
   * asks more than `maxRise` percent over the contract's prices.
   */
  renew(id: string, maxEscrow: number, maxRise: number): Promise<{ id: string; host: string; endHeight: number; allowance: number }>;
  /**
   * Why a contract's host is no longer one to renew with (its audits
   * failed, or it scores below `minScore`), or null.
   */
  assess(id: string, minScore: number | undefined): Promise<string | null>;
  /** A renter client over the node's own RPC (moves to another host). */
  client(): RenterClient;
  /** Sat of the budget used so far, and recording more. */
  spent(): Promise<number>;
  addSpent(sat: number): Promise<void>;
  /** Run `fn` holding these work locks (worklocks.ts), shared with automatic repair. */
  exclusive<T>(keys: string[], fn: () => Promise<T>): Promise<T>;
  log(level: 'info' | 'warning', msg: string): void;
}

/** A contract automatic renewal looks at. */
export interface RenewCandidate {
  /** Contract id, hex. */
  id: string;
  host: string;
  startHeight: number;
  endHeight: number;
  /** Files (hex ids) with a copy in this contract. */
  files: string[];
}

/** Options of automatic renewal (cloudcoind flags). */
export interface AutoRenewOptions {
  /** Blocks before a contract's end from which it is renewed (renterd's renewWindow). */
  window: number;
  /** Most sat renewals and moves may lock in new escrows in all. */
  budget: number;
  /** Length (blocks) and highest price of contracts formed when moving to another host, as put. */
  duration: number;
  maxPrice: number;
  /** Percent a host's price may rise over the contract's at renewal (--renew-max-rise); above it the files move. */
  maxRise: number;
  /** Score (permille) below which a host's files move instead of renewing (--renew-min-score), or undefined. */
  minScore?: number;
}

/** renterd's default renew window is a third of its period; ours in blocks (about 3 days at 10 minutes). */
export const DEFAULT_RENEW_WINDOW = 432;
/**
 * Default --renew-max-rise: a host may ask up to 50% more than the
 * contract's price (each of storage, upload, download) at renewal. Like
 * renterd's contract maintenance, which renews only with hosts still
 * within the autopilot's price limits and score, a host that got much
 * pricier is replaced rather than followed: its files move to the best
 * host the usual choice finds (which may be cheaper still).
 */
export const DEFAULT_RENEW_MAX_RISE = 50;
/** Default --renew-budget: 0.01 coin of escrows over the node's life. */
export const DEFAULT_RENEW_BUDGET = 1000000;
/** Blocks between two attempts at one contract whose renewal failed. */
export const RETRY_BLOCKS = 3;
/**
 * Blocks an unreachable host is waited for before its files move (hosts
 * restart), unless the contract ends sooner; a host that refuses the
 * renewal is given up at once.
 */
export const GIVE_UP_BLOCKS = 6;

/**
 * The height from which contract `c` is renewed: `window` blocks before
 * its end, but at most the last third of its length (renterd's default
 * window is a third of its period; a contract shorter than the window
 * would otherwise be renewed as soon as it forms, and its renewal at once
 * again).
 */
export function renewFrom(c: { startHeight: number; endHeight: number }, window: number): number {
  const length = c.endHeight - c.startHeight;
  return c.endHeight - Math.min(window, Math.floor(length / 3));
}

function message(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

export class AutoRenew {
  readonly ctx: AutoRenewContext;
  readonly opts: AutoRenewOptions;
  private readonly runner: Rerunner;
  private height = 0;
  /** Height of the last failed attempt per contract (hex id), and of the first since it last succeeded. */
  private readonly failedAt = new Map<string, number>();
  private readonly firstFailed = new Map<string, number>();

  constructor(ctx: AutoRenewContext, opts: AutoRenewOptions) {
    this.ctx = ctx;
    this.opts = opts;
    this.runner = new Rerunner(() => this.run(this.height), (e) => this.ctx.log('warning', `renew: ${e.message}`));
  }

  /** Run at `height` (one run at a time; a block during a run is covered by one more run). */
  kick(height: number): void {
    this.height = height;
    void this.runner.kick();
  }

  /** Wait for the run in progress, if any (close). */
  idle(): Promise<void> {
    return this.runner.idle();
  }

  private async run(height: number): Promise<void> {
    for (const listed of await this.ctx.candidates()) {
      const from = renewFrom(listed, this.opts.window);
      const last = this.failedAt.get(listed.id);
      if (height < from || height >= listed.endHeight || (last !== undefined && height < last + RETRY_BLOCKS))
        continue;
      // Repair may be moving one of its files right now: wait for it, then look again.
      await this.ctx.exclusive([contractKey(listed.id), ...listed.files.map(fileKey)], async () => {
        const now = (await this.ctx.candidates()).find((x) => x.id === listed.id);
        const held = new Set(listed.files);
        // Files put into it since the locks were taken wait for the next block.
        const files = now ? now.files.filter((f) => held.has(f)) : [];
        if (!now || files.length === 0) {
          this.ctx.log('info', `renew: contract ${listed.id.slice(0, 12)} on ${listed.host} needs no renewal any more `
            + '(its files moved meanwhile)');
          return;
        }
        await this.renewOne({ ...now, files }, height, from);
      });
    }
  }

  /** Renew one contract in its window, or move its files off its host (under its work locks). */
  private async renewOne(c: RenewCandidate, height: number, from: number): Promise<void> {
    // A host that became worse (failed audits, a score below --renew-min-score) is not renewed with.
    const worse = await this.ctx.assess(c.id, this.opts.minScore);
    if (worse) {
      this.ctx.log('warning', `renew: contract ${c.id.slice(0, 12)} on ${c.host} not renewed (${worse}): `
        + `moving its ${c.files.length} file(s) to other hosts`);
      await this.move(c, height);
      return;
    }
    const left = this.opts.budget - await this.ctx.spent();
    try {
      const r = await this.ctx.renew(c.id, left, this.opts.maxRise);
      await this.ctx.addSpent(r.allowance);
      this.failedAt.delete(c.id);
      this.firstFailed.delete(c.id);
      this.ctx.log('info', `renew: contract ${c.id.slice(0, 12)} on ${c.host} (ends at ${c.endHeight}, window from ${from}) `
        + `renewed as ${r.id.slice(0, 12)}: ends at ${r.endHeight}, allowance ${r.allowance} sat, `
        + `budget left ${left - r.allowance} sat`);
      return;
    } catch (e) {
      this.failedAt.set(c.id, height);
      const first = this.firstFailed.get(c.id) ?? height;
      this.firstFailed.set(c.id, first);
      // A refusal is final; an unreachable host gets a few blocks (hosts restart) unless the end is near.
      const code = (e as { code?: unknown }).code;
      const move = code === 'proposal-declined' || code === 'host-pricier' || (code === 'host-unreachable'
        && (height >= first + GIVE_UP_BLOCKS || c.endHeight - height <= GIVE_UP_BLOCKS));
      if (!move) {
        this.ctx.log('warning', `renew: contract ${c.id.slice(0, 12)} on ${c.host} not renewed: ${message(e)}; `
          + `trying again at block ${height + RETRY_BLOCKS}`);
        return;
      }
      this.ctx.log('warning', `renew: contract ${c.id.slice(0, 12)} on ${c.host} not renewed (${message(e)}): `
        + `moving its ${c.files.length} file(s) to other hosts`);
    }
    await this.move(c, height);
  }

  /**
   * Move the copies a contract holds to other hosts (the usual choice),
   * file by file, within the budget. A moved file logs a repair that
   * replaces this contract's copy, after which the contract is no longer
   * a candidate.
   */
  private async move(c: RenewCandidate, height: number): Promise<void> {
    const client = this.ctx.client();
    for (const fileId of c.files) {
      const left = this.opts.budget - await this.ctx.spent();
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudcoin-renew-'));
      try {
        const res = await client.repair(fileId, {
          duration: this.opts.duration, maxPrice: this.opts.maxPrice, workDir: work, wait: false, maxEscrow: left,
          // Read from the old host when it still answers (it may just be pricier), then replaced.
          leave: [c.id]
        });
        if (res.escrow > 0)
          await this.ctx.addSpent(res.escrow);
        for (const r of res.repaired)
          this.ctx.log('info', `renew: file ${fileId.slice(0, 12)} ${r.shard === null ? 'replica' : `shard ${r.shard}`} moved from `
            + `contract ${c.id.slice(0, 12)} to ${r.contract.slice(0, 12)} on ${r.host}`);
      } catch (e) {
        this.ctx.log('warning', `renew: file ${fileId.slice(0, 12)} not moved off contract ${c.id.slice(0, 12)}: ${message(e)}; `
          + `trying again at block ${height + RETRY_BLOCKS}`);
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    }
  }
}
