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

/** Longest an interrupt waits for its hook (ms): the user pressed Ctrl-C, they want out. */
export const INTERRUPT_HOOK_MS = 5000;

export class Scratch {
  private readonly dirs: string[] = [];
  private readonly handlers = new Map<NodeJS.Signals, () => void>();
  /** Run on an interrupt, after the directories went: undoes what the command started on the node; says what it did. */
  private hook: (() => Promise<string>) | null = null;
  private interrupted = false;

  constructor() {
    for (const sig of Object.keys(SIGNAL_EXIT) as Array<'SIGINT' | 'SIGTERM'>) {
      const handler = () => {
        // A second Ctrl-C while the hook runs leaves at once.
        if (this.interrupted)
          process.exit(SIGNAL_EXIT[sig]);
        this.interrupted = true;
        this.remove();
        void this.runHook().then((said) => {
          process.stderr.write(`\ninterrupted: removed temporary files${said ? `; ${said}` : ''}\n`);
          process.exit(SIGNAL_EXIT[sig]);
        });
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

  /** What an interrupt must also undo (null: nothing); it gets INTERRUPT_HOOK_MS. */
  onInterrupt(hook: (() => Promise<string>) | null): void {
    this.hook = hook;
  }

  private async runHook(): Promise<string> {
    const hook = this.hook;
    if (!hook)
      return '';
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('the node did not answer in time'), INTERRUPT_HOOK_MS);
    });
    try {
      return await Promise.race([hook().catch((e: unknown) => (e instanceof Error ? e.message : String(e))), late]);
    } finally {
      clearTimeout(timer);
    }
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
