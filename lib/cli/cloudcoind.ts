/*!
 * cloudcoind.ts - command line of the daemon: flags, config, signals.
 *
 * Flags and cloudcoin.conf keys share names (flags win). Options may be
 * written bitcoind style (`-regtest`, `-datadir=D`). Secrets (the RPC api
 * key, an extension's keys such as --fileserver-key) are better given by
 * file, environment or conf file than as flags (lib/base/secrets.ts): each
 * has a `--NAME-file` twin, and a flag draws a warning.
 */

import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import { CloudNode } from '../node/cloudnode';
import { Config, ConfigError, pickNetwork, readConfigFile, type ConfigValue } from '../node/config';
import {
  DatadirError, defaultDatadir, networkDir, RPC_PORTS, secureDir, type NetworkName
} from '../node/datadir';
import type { ExtensionModule, OptionSpec, OptionType } from '../base/extension';
import { flagWarning, resolveSecret, secretEnvName } from '../base/secrets';
import { defaultExtensions, loadExtension } from './extensions';
import { doubleDash, optionNames } from './argv';
import { readMnemonicFile } from '../node/walletseed';

const VERSION = '0.1.0';

/** What `--help` shows after an extension's flag, by its type (a bool takes none). */
const PLACEHOLDERS: Readonly<Record<Exclude<OptionType, 'bool'>, string>> = { uint: '<n>', size: '<size>', string: '<value>', list: '<value>' };

/** An extension flag's placeholder: its own (`<sat>`), else its type's; one word in angle brackets, as commander parses it. */
function placeholder(spec: OptionSpec): string {
  const text = spec.placeholder ?? PLACEHOLDERS[spec.type as Exclude<OptionType, 'bool'>];
  // A programmer's error in an extension's option list, caught on the first --help or start.
  if (!/^<[^<>\s|,]+>$/.test(text))
    throw new Error(`option --${spec.name}: placeholder must be one <word>, got "${text}"`);
  return text;
}

/** Core flags: [flags, description]. Names double as conf keys. */
const CORE_OPTIONS: Array<[string, string]> = [
  ['--regtest', 'use the regression test network'],
  ['--testnet', 'use the test network'],
  ['--network <name>', 'network: main, testnet, regtest or simnet'],
  ['--datadir <dir>', 'data directory (default ~/.cloudcoin, per-network subfolder)'],
  ['--conf <file>', 'config file (default <datadir>/cloudcoin.conf)'],
  ['--port <port>', 'P2P port'],
  ['--bind <host>', 'P2P bind address (default 0.0.0.0)'],
  ['--externalip <host>', 'address peers should dial'],
  ['--listen', 'accept inbound P2P connections (default)'],
  ['--nolisten', 'do not accept inbound P2P connections'],
  ['--connect <host:port>', 'connect only to this peer (repeatable)'],
  ['--addnode <host:port>', 'also connect to this peer (repeatable)'],
  ['--rpcport <port>', 'RPC port'],
  ['--rpcbind <host>', 'RPC bind address (default 127.0.0.1)'],
  ['--rpcuser <user>', 'RPC user name for --api-key (default cloudcoin)'],
  ['--api-key <key>', 'RPC password (default: a cookie file in the datadir)'],
  ['--wallet-passphrase <passphrase>', 'passphrase of an encrypted wallet: the node takes its own keys at start'],
  ['--memory', 'keep chain and wallet in memory only'],
  ['--log-level <level>', 'none, error, warning, info, debug or spam (default info)'],
  ['--printtoconsole', 'log to the console as well as debug.log'],
  ['--extension <path>', 'load an extension module (repeatable)'],
  ['--restore-mnemonic-file <file>', 'create the wallet from the seed phrase in FILE (a new datadir only; see dumpmnemonic)']
];

const REPEATABLE = new Set(['connect', 'addnode', 'extension']);

/** Core options that are secrets (a `--NAME-file` twin, CLOUDCOIN_NAME, a warning as a flag). */
const CORE_SECRETS = ['api-key', 'wallet-passphrase'];

/** Names of every secret option: the core's and the extensions' (`OptionSpec.secret`). */
function secretNames(extensions: ExtensionModule[]): string[] {
  const names = [...CORE_SECRETS];
  for (const ext of extensions) {
    for (const spec of ext.options || []) {
      if (spec.secret)
        names.push(spec.name);
    }
  }
  return names;
}

function collect(value: string, prev: string[] | undefined): string[] {
  return prev ? [...prev, value] : [value];
}

/** Pre-scan argv for --extension so their options can be declared. */
function scanExtensions(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if ((arg === '--extension' || arg === '-extension') && i + 1 < argv.length)
      out.push(argv[++i]);
    else if (/^--?extension=/.test(arg))
      out.push(arg.slice(arg.indexOf('=') + 1));
  }
  return out;
}

function buildProgram(extensions: ExtensionModule[]): Command {
  const program = new Command('cloudcoind')
    .description('CloudCoin full node: Bitcoin plus a storage market.')
    .version(VERSION)
    .allowExcessArguments(false)
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'cloudcoind: ')) });
  for (const [flags, desc] of CORE_OPTIONS) {
    const opt = new Option(flags, desc);
    const name = opt.long!.slice(2);
    if (REPEATABLE.has(name))
      opt.argParser(collect);
    program.addOption(opt);
  }
  for (const ext of extensions) {
    for (const spec of ext.options || []) {
      const flags = spec.type === 'bool' ? `--${spec.name}` : `--${spec.name} ${placeholder(spec)}`;
      const desc = `[${ext.id}] ${spec.description}${spec.defaultText ? ` (default ${spec.defaultText})` : ''}`;
      const opt = new Option(flags, desc);
      if (spec.type === 'list')
        opt.argParser(collect);
      program.addOption(opt);
    }
  }
  for (const name of secretNames(extensions))
    program.addOption(new Option(`--${name}-file <file>`, `read --${name} from the first line of FILE (also ${secretEnvName(name)})`));
  return program;
}

/** Values given on the command line, keyed by long flag name. */
function cliValues(program: Command): Map<string, ConfigValue> {
  const out = new Map<string, ConfigValue>();
  for (const opt of program.options) {
    const key = opt.attributeName();
    if (program.getOptionValueSource(key) !== 'cli')
      continue;
    const value = program.getOptionValue(key) as string | boolean | string[];
    out.set(opt.long!.slice(2), value);
  }
  return out;
}

function hostPort(value: string, flag: string): string {
  if (!/^[a-zA-Z0-9.\-:[\]]+:\d{1,5}$/.test(value))
    throw new ConfigError(`--${flag} must be host:port, got "${value}".`);
  return value;
}

/** A --datadir that is a file, or under one, said as such (not as cloudcoin.conf's ENOTDIR). */
function datadirIsFolder(base: string): void {
  try {
    if (!fs.statSync(base).isDirectory())
      throw new ConfigError(`--datadir ${base} is not a directory.`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR')
      throw new ConfigError(`--datadir ${base}: a parent folder is not a directory.`);
    if (e instanceof ConfigError)
      throw e;
    // Missing (made at start) or unreadable: open() says why, in one line.
  }
}

/** blgr's levels (Logger.levels), least to most verbose. */
const LOG_LEVELS = ['none', 'error', 'warning', 'info', 'debug', 'spam'];

/** A second Ctrl-C forces the exit only this long after the first signal (ms): signals a group gets twice at once do not. */
const FORCE_AFTER_MS = 2000;

/** `--log-level` checked against blgr's levels, which says only "Invalid log level." */
function logLevel(value: string): string {
  if (!LOG_LEVELS.includes(value.toLowerCase()))
    throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${value}".`);
  return value.toLowerCase();
}

/** The phrase of --restore-mnemonic-file, as a ConfigError when unusable. */
function restoreMnemonic(file: string): string {
  try {
    return readMnemonicFile(path.resolve(file));
  } catch (e) {
    throw new ConfigError(`--restore-mnemonic-file: ${(e as Error).message}`);
  }
}

/**
 * Host-only options set (flag or conf) on a node that does not host: the
 * `host-*` options and the file server's. bitcoind too warns about an
 * option that has no effect rather than refusing to start.
 */
function hostOnlyGiven(cfg: Config, extensions: ExtensionModule[]): string[] {
  if (cfg.bool('host'))
    return [];
  const names = extensions.flatMap((ext) => (ext.options || []).map((o) => o.name))
    .filter((n) => n.startsWith('host-') || n.startsWith('fileserver'));
  return names.filter((n) => cfg.has(n) || cfg.has(`${n}-file`));
}

/** Parse argv into node options. Throws ConfigError on bad input. */
export function parseDaemonArgs(argv: string[]): {
  node: CloudNode; network: NetworkName; base: string; conf: string; warnings: string[];
} {
  const extensions = [...defaultExtensions(), ...scanExtensions(argv).map(loadExtension)];
  const program = buildProgram(extensions);
  program.exitOverride();
  program.parse(doubleDash(argv, optionNames(program.options), false), { from: 'user' });

  const flags = new Config(cliValues(program));
  const base = path.resolve(flags.str('datadir') || defaultDatadir());
  // The network may come from the file, so read it for every section once.
  datadirIsFolder(base);
  const confFile = path.resolve(flags.str('conf') || path.join(base, 'cloudcoin.conf'));
  // A missing default cloudcoin.conf is fine; a --conf that names no file
  // is a typo that would run the node without its settings (bitcoind refuses too).
  if (flags.str('conf') && !fs.existsSync(confFile))
    throw new ConfigError(`--conf ${confFile}: the specified config file does not exist.`);
  const probe = new Config(cliValues(program)).fallback(readConfigFile(confFile, ''));
  const network = pickNetwork(probe);
  const conf = readConfigFile(confFile, network);
  const cfg = new Config(cliValues(program)).fallback(conf);
  const warnings: string[] = [];
  const confCfg = new Config(conf);
  for (const name of secretNames(extensions)) {
    const file = confCfg.str(`${name}-file`);
    const found = resolveSecret(name, {
      flag: flags.str(name),
      flagFile: flags.str(`${name}-file`),
      conf: confCfg.str(name),
      // Relative paths in cloudcoin.conf are relative to the datadir, as bitcoind's.
      confFile: file === null ? null : path.resolve(base, file)
    });
    if (!found)
      continue;
    cfg.set(name, found.value);
    if (found.source === 'flag')
      warnings.push(flagWarning(name));
  }

  const idle = hostOnlyGiven(cfg, extensions);
  if (idle.length > 0)
    warnings.push(`${idle.map((n) => `--${n}`).join(', ')} ha${idle.length === 1 ? 's' : 've'} no effect without --host`);

  const datadir = networkDir(base, network);
  const listen = cfg.has('nolisten') ? !cfg.bool('nolisten') : cfg.bool('listen', true);
  const node = new CloudNode({
    network,
    datadir,
    memory: cfg.bool('memory'),
    host: cfg.str('bind') || undefined,
    port: cfg.port('port') ?? undefined,
    publicHost: cfg.str('externalip') || undefined,
    listen,
    connect: cfg.list('connect').map((v) => hostPort(v, 'connect')),
    addnode: cfg.list('addnode').map((v) => hostPort(v, 'addnode')),
    rpcHost: cfg.str('rpcbind') || undefined,
    rpcPort: cfg.port('rpcport') ?? RPC_PORTS[network],
    apiKey: cfg.str('api-key') || undefined,
    rpcUser: cfg.str('rpcuser') || undefined,
    walletPassphrase: cfg.str('wallet-passphrase') || undefined,
    logLevel: logLevel(cfg.str('log-level') || 'info'),
    logConsole: cfg.bool('printtoconsole'),
    logFile: true,
    extensions,
    config: cfg,
    restoreMnemonic: cfg.str('restore-mnemonic-file') !== null ? restoreMnemonic(cfg.str('restore-mnemonic-file') as string) : undefined
  });
  return { node, network, base, conf: confFile, warnings };
}

/** Run the daemon until SIGINT/SIGTERM or the `stop` RPC. */
export async function main(argv: string[]): Promise<void> {
  // Everything cloudcoind writes (wallet, chain, cookie, logs, hosted
  // data) is the owner's alone, whatever the shell's umask (bitcoind too).
  process.umask(0o077);
  let parsed;
  try {
    parsed = parseDaemonArgs(argv);
  } catch (e) {
    const err = e as Error & { code?: string; exitCode?: number };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
      process.exit(0);
    if (err.code && err.code.startsWith('commander.'))
      process.exit(1); // commander already printed one line
    process.stderr.write(`cloudcoind: ${err.message}\n`);
    process.exit(1);
  }

  const { node, network } = parsed;
  for (const warning of parsed.warnings)
    process.stderr.write(`cloudcoind: warning: ${warning}\n`);
  // Repeated SIGTERMs (coreutils `timeout` signals the child and its
  // group; service managers repeat them) are ignored while closing, as
  // bitcoind does: an exit halfway through would leave the databases
  // unclosed. Only a deliberate second Ctrl-C, FORCE_AFTER_MS after the
  // first signal, forces the exit.
  let stoppingSince = 0;
  const shutdown = async (why: string) => {
    if (stoppingSince > 0) {
      if (why === 'SIGINT' && Date.now() - stoppingSince >= FORCE_AFTER_MS) {
        process.stderr.write('cloudcoind: forced exit\n');
        process.exit(1);
      }
      process.stdout.write(`cloudcoind: ${why} while shutting down: still closing (Ctrl-C again to force)\n`);
      return;
    }
    stoppingSince = Date.now();
    process.stdout.write(`cloudcoind: ${why}, shutting down\n`);
    try {
      await node.close();
    } catch (e) {
      process.stderr.write(`cloudcoind: error while closing: ${(e as Error).message}\n`);
      process.exit(1);
    }
    process.stdout.write('cloudcoind: stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  node.on('stop requested', () => void shutdown('stop requested'));

  try {
    await node.open();
    await node.connect();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (e instanceof DatadirError) {
      // Nothing of the running node's was touched: exit without closing.
      process.stderr.write(`cloudcoind: ${err.message}\n`);
      process.exit(1);
    }
    const hint = err.code === 'EADDRINUSE' ? ' (port in use: is another cloudcoind running? try --port/--rpcport)' : '';
    process.stderr.write(`cloudcoind: cannot start: ${err.message}${hint}\n`);
    try {
      await node.close();
    } catch {
      // nothing more to do
    }
    process.exit(1);
  }

  // The base datadir holds cloudcoin.conf (secrets may be in it) and the
  // network folders; the network folder itself was secured by open().
  if (parsed.base !== node.datadir) {
    const conf = path.dirname(parsed.conf) === parsed.base ? [path.basename(parsed.conf)] : [];
    if (secureDir(parsed.base, { files: conf }) > 0)
      process.stderr.write(`cloudcoind: warning: ${parsed.base} was open to other users: made it owner-only\n`);
  }

  const addr = node.addresses();
  const lines = [
    `cloudcoind ${VERSION} started`,
    `network:    ${network}`,
    `datadir:    ${node.datadir}${node.memory ? ' (chain and wallet in memory)' : ''}`,
    `p2p:        ${addr.p2p || 'not listening'}`,
    `rpc:        ${addr.rpc}${node.cookieFile ? ` (cookie ${node.cookieFile})` : ' (api key)'}`,
    `height:     ${node.chain.height}`,
    `extensions: ${node.extensionIds().join(', ') || 'none'}`
  ];
  process.stdout.write(lines.join('\n') + '\n');
  // Then the hosting extension's backends (minimal hook: any extension may
  // offer a banner()); after the lines above, so a slow file server (its
  // check waits up to 10 s) never delays the node's "started".
  if (node.extensionIds().includes('hosting')) {
    const ext = node.require<{ banner?: () => Promise<{ lines: string[]; warnings: string[] }> }>('hosting');
    if (ext && typeof ext.banner === 'function') {
      const b = await ext.banner();
      if (b.lines.length > 0)
        process.stdout.write(b.lines.join('\n') + '\n');
      for (const w of b.warnings)
        process.stderr.write(`${w}\n`);
    }
  }
  for (const warning of node.warnings)
    process.stderr.write(`cloudcoind: warning: ${warning}\n`);
}
