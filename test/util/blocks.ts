// What the renewal and repair tests share: blocks mined as a chain brings
// them until the renter's node has acted, its log lines of one kind, a
// scratch directory, getcontract's shape for a renter's contract, and
// regtest's block subsidy.
import * as fs from 'fs';
import * as path from 'path';
import type { DaemonProcess } from './nodes-context';
import { tempDir } from './nodes-context';
import { mine } from './network';
import { forValue } from './wait';

/** getcontract: the contract's fields, and what the renter's deals add at the top level. */
export interface ContractJSON {
  id: string;
  contract: { startHeight: number; endHeight: number; prevId: string };
  objects: number;
  renewedBy: string | null;
  renewFrom: number | null;
}

/**
 * Mine a block every `everyMs` (as a chain brings them: the node acts
 * after each block, in the background) until `done` holds for `get()`.
 */
export async function mineUntil<T>(d: DaemonProcess, get: () => Promise<T>, done: (v: T) => boolean, what: string,
  timeoutMs = 300000, everyMs = 3000): Promise<T> {
  let last = 0;
  return forValue(async () => {
    if (Date.now() - last > everyMs) {
      last = Date.now();
      await mine(d);
    }
    return get();
  }, done, timeoutMs, what);
}

/** The node's debug.log lines that contain `word`. */
export function logLines(d: DaemonProcess, word: string): string {
  const file = path.join(d.datadir, 'debug.log');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.includes(word)).join('\n') : '';
}

/** A temp directory removed at teardown. */
export function scratch(t: { teardown(fn: () => unknown): void }): string {
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  return work;
}

/** Regtest's block subsidy in sat at `height` (halving every 150 blocks), as bcoin's consensus.getReward. */
export function regtestReward(height: number): number {
  return Math.floor(50e8 / 2 ** Math.floor(height / 150));
}
