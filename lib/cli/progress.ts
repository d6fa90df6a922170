/*!
 * progress.ts - a progress bar on a TTY, nothing when piped.
 *
 * Long operations (upload, download, hashing) report bytes done; on a TTY
 * the bar redraws at most every RENDER_INTERVAL_MS, and when stderr is not
 * a TTY (CI, pipes, tests) it prints nothing so output stays comparable.
 */

import { formatSize } from '../base/units';

/** Redraw at most this often: enough to look live, cheap on CPU. */
const RENDER_INTERVAL_MS = 100;
const BAR_WIDTH = 20;

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): boolean;
}

export class ProgressBar {
  private readonly out: ProgressStream;
  private readonly label: string;
  private readonly total: number;
  private readonly enabled: boolean;
  private readonly started = Date.now();
  private done = 0;
  private lastRender = 0;
  private finished = false;

  constructor(label: string, total: number, out: ProgressStream = process.stderr) {
    this.label = label;
    this.total = Math.max(0, total);
    this.out = out;
    this.enabled = out.isTTY === true;
  }

  /** Add `n` bytes done. */
  tick(n: number): void {
    this.update(this.done + n);
  }

  /** Set the bytes done so far. */
  update(done: number): void {
    this.done = Math.min(this.total, Math.max(0, done));
    const now = Date.now();
    if (this.enabled && now - this.lastRender >= RENDER_INTERVAL_MS) {
      this.lastRender = now;
      this.render();
    }
  }

  /** The line a TTY shows, also used by tests. */
  line(): string {
    const frac = this.total ? this.done / this.total : 1;
    const full = Math.round(frac * BAR_WIDTH);
    const secs = Math.max((Date.now() - this.started) / 1000, 1e-3);
    const rate = this.done / secs;
    return `${this.label} [${'#'.repeat(full)}${'-'.repeat(BAR_WIDTH - full)}] `
      + `${(frac * 100).toFixed(0).padStart(3)}% ${formatSize(this.done)}/${formatSize(this.total)} `
      + `${formatSize(Math.round(rate))}/s`;
  }

  private render(): void {
    const width = this.out.columns || 80;
    this.out.write(`\r${this.line().slice(0, width - 1)}`);
  }

  /** Draw the final state and end the line (TTY only). */
  finish(): void {
    if (this.finished)
      return;
    this.finished = true;
    if (this.enabled) {
      this.render();
      this.out.write('\n');
    }
  }
}
