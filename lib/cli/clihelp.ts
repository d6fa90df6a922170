/*!
 * clihelp.ts - cloudcoin-cli's own commands in `help` and `--help`.
 *
 * The storage commands (put, get, ls, negotiate-storage...) run in the
 * CLI, not in the node, so the node's `help` does not know them. Each
 * command builds its commander definition when it runs and parses its
 * arguments first thing; to read a definition without running the
 * command, the CLI runs it with commander's parse stopped (the one place
 * that patches commander, for the length of one synchronous call). Usage
 * lines are therefore made from the same definitions that parse the
 * flags, so help never advertises a flag that does not exist.
 */

import { Command } from 'commander';
import type { CommandContext } from './cmdutil';

/** A storage command as storagecmds.ts exports it. */
export type StorageCommand = (ctx: CommandContext, argv: string[]) => Promise<void>;

/** Thrown from the stopped parse; never escapes definitionOf(). */
class DefinitionRead extends Error {}

const NO_CONTEXT: CommandContext = {
  client: null as unknown as CommandContext['client'],
  out: () => {},
  err: process.stderr
};

/** The commander definition `run` builds, or null if it builds none. */
export function definitionOf(run: StorageCommand): Command | null {
  const parse = Command.prototype.parse;
  let found: Command | null = null;
  Command.prototype.parse = function stopAtParse(this: Command): Command {
    found = this;
    throw new DefinitionRead();
  };
  try {
    // The command parses before its first await: the definition is read
    // synchronously, and the command itself never runs.
    run(NO_CONTEXT, []).catch(() => {});
  } catch {
    // a command that throws synchronously before parsing has no definition
  } finally {
    Command.prototype.parse = parse;
  }
  return found;
}

/** One usage line: `put <file> [--hosts <n>] ... [--json]`, required options without brackets. */
export function usageLine(name: string, cmd: Command): string {
  const words = [name];
  for (const arg of cmd.registeredArguments) {
    const label = `${arg.name()}${arg.variadic ? '...' : ''}`;
    words.push(arg.required ? `<${label}>` : `[${label}]`);
  }
  for (const opt of cmd.options) {
    if (opt.long === '--help')
      continue;
    words.push(opt.mandatory ? opt.flags : `[${opt.flags}]`);
  }
  return words.join(' ');
}

/** Usage lines of every storage command, by name. */
export function storageUsages(commands: Readonly<Record<string, StorageCommand>>): Array<{ name: string; usage: string }> {
  const out: Array<{ name: string; usage: string }> = [];
  for (const [name, run] of Object.entries(commands)) {
    const cmd = definitionOf(run);
    out.push({ name, usage: cmd ? usageLine(name, cmd) : name });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The heading the CLI's commands join in `help` (the deals RPCs' group). */
export const STORAGE_GROUP = 'Storage';

/**
 * The node's grouped `help` with the CLI's commands added to `== Storage ==`
 * (a new group at the end if the node has none), and a note saying where they run.
 */
export function mergeHelp(nodeHelp: string, usages: ReadonlyArray<{ name: string; usage: string }>): string {
  if (usages.length === 0)
    return nodeHelp;
  const lines = nodeHelp.split('\n');
  const at = lines.indexOf(`== ${STORAGE_GROUP} ==`);
  const ours = usages.map((u) => u.usage);
  if (at >= 0)
    lines.splice(at + 1, 0, ...ours);
  else
    lines.push('', `== ${STORAGE_GROUP} ==`, ...ours);
  lines.push('', `${usages.map((u) => u.name).join(', ')}: cloudcoin-cli commands (not RPC methods); `
    + '`cloudcoin-cli help COMMAND` shows one.');
  return lines.join('\n');
}
