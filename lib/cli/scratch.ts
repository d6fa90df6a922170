/*!
 * scratch.ts - temporary directories a command removes however it ends:
 * on return, on a throw, and on SIGINT/SIGTERM (Ctrl-C during a put would
 * otherwise leave its staged replicas, during a get the partial download).
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Exit codes after a signal, as shells report them (128 + signal number). */
const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

export class Scratch {
  private readonly dirs: string[] = [];
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  constructor() {
    for (const sig of Object.keys(SIGNAL_EXIT) as Array<'SIGINT' | 'SIGTERM'>) {
      const handler = () => {
        this.remove();
        process.stderr.write(`\ninterrupted: removed temporary files\n`);
        process.exit(SIGNAL_EXIT[sig]);
      };
      this.handlers.set(sig, handler);
      process.on(sig, handler);
    }
  }

  /** A new directory under `parent` (default the system temp dir), removed with the rest. */
  dir(prefix: string, parent = os.tmpdir()): string {
    const dir = fs.mkdtempSync(path.join(parent, prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** Remove every directory and stop listening for signals. */
  close(): void {
    this.remove();
    for (const [sig, handler] of this.handlers)
      process.removeListener(sig, handler);
    this.handlers.clear();
  }

  private remove(): void {
    for (const dir of this.dirs.splice(0))
      fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Run `fn` with a Scratch that is cleaned up however `fn` ends. */
export async function withScratch<T>(fn: (scratch: Scratch) => Promise<T>): Promise<T> {
  const scratch = new Scratch();
  try {
    return await fn(scratch);
  } finally {
    scratch.close();
  }
}
