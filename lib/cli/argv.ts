/*!
 * argv.ts - bitcoind-style single-dash flags for cloudcoind and cloudcoin-cli.
 *
 * bitcoind and bitcoin-cli take `-regtest`, `-datadir=D` and `-rpcport=P`;
 * commander wants `--regtest`. Before commander sees them, options spelled
 * with one dash are given a second one, but only for names the program
 * knows (a typo stays an unknown-option error), and only among the
 * options: a value (`--api-key-file -secret`) and everything from the
 * first non-option word on (cloudcoin-cli's METHOD and its params, such as
 * `getblockhash -1`) are left as typed.
 */

/** A program's long options: which exist, and which take a value. */
export interface OptionNames {
  /** Every long name, without dashes (`datadir`, `regtest`). */
  all: ReadonlySet<string>;
  /** Names that take a value (`datadir`), so the next word is that value. */
  withValue: ReadonlySet<string>;
}

/** Long option names of a commander program. */
export function optionNames(options: ReadonlyArray<{ long?: string; required: boolean; optional: boolean }>): OptionNames {
  const all = new Set<string>();
  const withValue = new Set<string>();
  for (const o of options) {
    if (!o.long)
      continue;
    const name = o.long.replace(/^--/, '');
    all.add(name);
    if (o.required || o.optional)
      withValue.add(name);
  }
  return { all, withValue };
}

/**
 * `argv` with `-name` / `-name=value` written `--name` / `--name=value`
 * for known names, up to the first word that is not an option (when
 * `stopAtArgument`).
 */
export function doubleDash(argv: readonly string[], names: OptionNames, stopAtArgument: boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const single = /^-([a-z][a-z0-9-]+)(=.*)?$/.exec(word);
    const name = single ? single[1] : /^--([a-z][a-z0-9-]*)(=.*)?$/.exec(word)?.[1];
    if (name === undefined) {
      if (stopAtArgument && !word.startsWith('-')) {
        out.push(...argv.slice(i));
        break;
      }
      out.push(word);
      continue;
    }
    const known = names.all.has(name);
    out.push(single && known ? `-${word}` : word);
    // The option's value is the next word unless given with `=`.
    const inline = single ? single[2] !== undefined : word.includes('=');
    if (known && names.withValue.has(name) && !inline && i + 1 < argv.length)
      out.push(argv[++i]);
  }
  return out;
}
