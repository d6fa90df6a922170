/*!
 * scratch.ts - temporary directories a command removes however it ends:
 * on return, on a throw, and on SIGINT/SIGTERM/SIGHUP (Ctrl-C during a put
 * would otherwise leave its staged replicas, during a get the partial
 * download; a closed terminal sends SIGHUP).
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Exit codes after a signal, as shells report them (128 + signal number). */
const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM' | 'SIGHUP', number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/**
 * Longest an interrupt waits for its hook (ms). The user pressed Ctrl-C
 * and wants out, but the hook settles money on the node (a put's
 * revisions with its hosts), so it is told what is happening and a second
 * Ctrl-C leaves at once.
 */
export const INTERRUPT_HOOK_MS = 20000;

/** What an interrupt hook is, and what it says while it runs and when it runs out of time. */
export interface InterruptHook {
  /** Undoes what the command started on the node; resolves to what it did (after `interrupted: `). */
  run(): Promise<string>;
  /** Said at once, before `run` (after `interrupted: removed temporary files; ` if there were any); '' for a `run` that only says something. */
  start: string;
  /** Said when `run` has not answered within INTERRUPT_HOOK_MS. */
  late: string;
}

export class Scratch {
  private readonly dirs: string[] = [];
  private readonly handlers = new Map<NodeJS.Signals, () => void>();
  /** Run on an interrupt, after the directories went. */
  private hook: InterruptHook | null = null;
  private interrupted = false;

  constructor() {
    for (const sig of Object.keys(SIGNAL_EXIT) as Array<keyof typeof SIGNAL_EXIT>) {
      const handler = () => {
        // A second Ctrl-C while the hook runs leaves at once.
        if (this.interrupted)
          process.exit(SIGNAL_EXIT[sig]);
        this.interrupted = true;
        // A command that made no directory (rm) says nothing of temporary files.
        const removed = this.remove() > 0 ? 'removed temporary files' : '';
        const hook = this.hook;
        if (!hook) {
          process.stderr.write(`\ninterrupted${removed ? `: ${removed}` : ''}\n`);
          process.exit(SIGNAL_EXIT[sig]);
        }
        const first = [removed, hook.start].filter((s) => s).join('; ');
        if (first)
          process.stderr.write(`\ninterrupted: ${first}${hook.start ? ' (press Ctrl-C again to leave at once)' : ''}\n`);
        void this.runHook(hook).then((said) => {
          process.stderr.write(`${first ? '' : '\n'}interrupted: ${said}\n`);
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

  /** Whether an interrupt came: the command's own work must stop (its outcome is the hook's to say). */
  get stopped(): boolean {
    return this.interrupted;
  }

  /** What an interrupt must also undo (null: nothing). */
  onInterrupt(hook: InterruptHook | null): void {
    this.hook = hook;
  }

  private async runHook(hook: InterruptHook): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(hook.late), INTERRUPT_HOOK_MS);
    });
    try {
      return await Promise.race([hook.run().catch((e: unknown) => (e instanceof Error ? e.message : String(e))), late]);
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

  /** Remove every directory made so far; returns how many. */
  private remove(): number {
    const dirs = this.dirs.splice(0);
    for (const dir of dirs)
      fs.rmSync(dir, { recursive: true, force: true });
    return dirs.length;
  }
}

/** Run `fn` with a Scratch that is cleaned up however `fn` ends. */
export async function withScratch<T>(fn: (scratch: Scratch) => Promise<T>): Promise<T> {
  const scratch = new Scratch();
  let out: T;
  try {
    out = await fn(scratch);
  } catch (e) {
    // Interrupted: the hook says what became of the command and exits; its own failure or result is not for the user.
    if (scratch.stopped)
      return new Promise<T>(() => {});
    scratch.close();
    throw e;
  }
  if (scratch.stopped)
    return new Promise<T>(() => {});
  scratch.close();
  return out;
}
