/*!
 * cloudcoincli.ts - cloudcoin-cli: bitcoin-cli for cloudcoind.
 *
 * `cloudcoin-cli [options] METHOD [PARAMS...]` calls any RPC method, node
 * and wallet alike, or runs one of the CLI's storage commands (put, get,
 * ls...). Params are strings unless the method declares a number, boolean,
 * array or object (rpcparams.ts, as bitcoin-cli). Options may be written
 * bitcoin-cli style (`-regtest`, `-rpcport=P`). Like bitcoin-cli it reads
 * the network, rpcport, rpcconnect, rpcuser and the api key from
 * cloudcoin.conf; the key may also come from --api-key-file or
 * CLOUDCOIN_API_KEY (lib/base/secrets.ts) or standard input, else the
 * node's cookie. Secret params (a wallet passphrase, a private key) may come
 * from standard input as with bitcoin-cli (-stdin..., stdinargs.ts). Results
 * print as JSON, strings raw. Any failure prints one line on stderr and
 * exits non-zero.
 */

import * as path from 'path';
import { Command } from 'commander';
import { Config, pickNetwork, readConfigFile, type ConfigValue } from '../node/config';
import { defaultDatadir, networkDir, RPC_PORTS } from '../node/datadir';
import { flagWarning, resolveSecret } from '../base/secrets';
import { doubleDash, optionNames } from './argv';
import { mergeHelp, storageUsages } from './clihelp';
import { convertParams } from './rpcparams';
import { RPCClientError, cookiePath, RPCClient } from './rpcclient';
import { readStdinArgs, withStdinArgs } from './stdinargs';
import { storageCommands } from './storagecmds';
import { reputationCommands } from './reputationcmds';
import { hostCommands } from './hostcmds';
import { marketCommands } from './marketcmds';

/** cloudcoin-cli's own commands (not RPC methods), each parsing its own flags. */
export const cliCommands = { ...storageCommands, ...reputationCommands, ...hostCommands, ...marketCommands };

const VERSION = '0.1.0';

/** bitcoin-cli output: strings raw, null as nothing, the rest as JSON. */
export function formatResult(result: unknown): string | null {
  if (result === null || result === undefined)
    return null;
  if (typeof result === 'string')
    return result;
  return JSON.stringify(result, null, 2);
}

/** Width `--help` wraps the commands' usage lines at, as commander wraps the options above them. */
const HELP_WIDTH = 80;

/** One usage line wrapped between its words at HELP_WIDTH: `  put <file> [...]`, then 4-space continuation lines. */
function wrapUsage(usage: string, width = HELP_WIDTH): string[] {
  const out: string[] = [];
  let line = ' ';
  // Words: a bracketed optional flag with its value, or a word with the <value> after it, never split.
  for (const word of usage.match(/\[[^\]]*\]|\S+(?: <[^>]*>)?/g) ?? []) {
    if (line.trim() !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = '   ';
    }
    line += ` ${word}`;
  }
  out.push(line);
  return out;
}

function storageHelp(): string {
  const lines = storageUsages(cliCommands).flatMap((u) => wrapUsage(u.usage));
  return `\nCommands run by cloudcoin-cli itself (\`cloudcoin-cli help COMMAND\` for one):\n${lines.join('\n')}\n`
    + '\nThe api key: --api-key-file FILE, CLOUDCOIN_API_KEY or api-key= in\n'
    + 'cloudcoin.conf; without one, the cookie cloudcoind writes to its datadir.\n';
}

function buildProgram(): Command {
  return new Command('cloudcoin-cli')
    .usage('[options] METHOD [PARAMS...]')
    .description('Call cloudcoind over RPC, or run a storage command. `cloudcoin-cli help` lists the methods.\n'
      + 'Options may also be written bitcoin-cli style: -regtest, -rpcport=48332.')
    .version(VERSION)
    .option('--regtest', 'use the regression test network')
    .option('--testnet', 'use the test network')
    .option('--network <name>', 'main, testnet, regtest or simnet')
    .option('--datadir <dir>', 'data directory holding cloudcoin.conf and the RPC cookie (default ~/.cloudcoin)')
    .option('--conf <file>', 'config file (default <datadir>/cloudcoin.conf)')
    .option('--rpcconnect <host>', 'cloudcoind RPC host (default 127.0.0.1)')
    .option('--rpcport <port>', 'cloudcoind RPC port (default per network)')
    .option('--rpcuser <user>', 'RPC user name for the api key (default cloudcoin)')
    .option('--api-key <key>', 'RPC password (visible to other users in ps: prefer --api-key-file)')
    .option('--api-key-file <file>', 'read the RPC password from the first line of FILE')
    .option('--stdinrpcpass', 'read the RPC password from the first line of standard input')
    .option('--stdinwalletpassphrase', 'read the wallet passphrase from standard input (the next line), '
      + 'as the method\'s first param: walletpassphrase, encryptwallet')
    .option('--stdin', 'read more params from standard input, one per line until EOF')
    .argument('<method>', 'RPC method or storage command')
    .argument('[params...]', 'parameters')
    .addHelpText('after', storageHelp)
    .enablePositionalOptions()
    .passThroughOptions()
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
}

/** Values given on the command line, keyed by long flag name. */
function flagValues(program: Command): Map<string, ConfigValue> {
  const out = new Map<string, ConfigValue>();
  for (const opt of program.options) {
    const key = opt.attributeName();
    if (program.getOptionValueSource(key) === 'cli')
      out.set(opt.long!.slice(2), program.getOptionValue(key) as string | boolean);
  }
  return out;
}

/** Where to connect and with what, from flags over the environment over cloudcoin.conf. */
function clientFor(program: Command, warn: (line: string) => void, stdinKey?: string): RPCClient {
  const flags = flagValues(program);
  const flagCfg = new Config(flags);
  const base = path.resolve(flagCfg.str('datadir') || defaultDatadir());
  const confFile = path.resolve(flagCfg.str('conf') || path.join(base, 'cloudcoin.conf'));
  const network = pickNetwork(new Config(flags).fallback(readConfigFile(confFile, '')));
  const conf = readConfigFile(confFile, network);
  const cfg = new Config(flags).fallback(conf);
  const confCfg = new Config(conf);
  const keyFile = confCfg.str('api-key-file');
  const key = stdinKey !== undefined ? { value: stdinKey, source: 'stdin' } : resolveSecret('api-key', {
    flag: flagCfg.str('api-key'),
    flagFile: flagCfg.str('api-key-file'),
    conf: confCfg.str('api-key'),
    confFile: keyFile === null ? null : path.resolve(base, keyFile)
  });
  if (key?.source === 'flag')
    warn(`warning: ${flagWarning('api-key')}`);
  return new RPCClient({
    host: cfg.str('rpcconnect') || '127.0.0.1',
    port: cfg.port('rpcport') ?? RPC_PORTS[network],
    apiKey: key?.value,
    user: cfg.str('rpcuser') || undefined,
    cookieFile: cookiePath(networkDir(base, network))
  });
}

/** `help`, `help METHOD` and `help COMMAND`. */
async function help(client: RPCClient, params: string[], out: (s: string) => void): Promise<void> {
  const name = params[0];
  if (name !== undefined && Object.hasOwn(cliCommands, name)) {
    // commander prints the command's full help and stops.
    await cliCommands[name]({ client, out, err: process.stderr, stdout: process.stdout }, ['--help']);
    return;
  }
  const text = await client.call('help', convertParams('help', params)) as string;
  out(name === undefined ? mergeHelp(text, storageUsages(cliCommands)) : text);
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  let method: string;
  let params: string[];
  try {
    program.parse(doubleDash(argv, optionNames(program.options), true), { from: 'user' });
    method = program.args[0];
    params = program.args.slice(1);
  } catch (e) {
    const err = e as { code?: string };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
      return 0;
    return 1; // commander printed the reason
  }

  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const opts = program.opts<{ stdin?: boolean; stdinrpcpass?: boolean; stdinwalletpassphrase?: boolean }>();
    const got = await readStdinArgs({ rpcPass: !!opts.stdinrpcpass, walletPassphrase: !!opts.stdinwalletpassphrase,
      rest: !!opts.stdin });
    params = withStdinArgs(params, got);
    const client = clientFor(program, (line) => process.stderr.write(`${line}\n`), got.rpcPass);
    if (method === 'help') {
      await help(client, params, out);
      return 0;
    }
    if (Object.hasOwn(cliCommands, method)) {
      await cliCommands[method]({ client, out, err: process.stderr, stdout: process.stdout }, params);
      return 0;
    }
    const result = await client.call(method, convertParams(method, params));
    const text = formatResult(result);
    if (text !== null)
      out(text);
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'commander.helpDisplayed')
      return 0;
    if (err.code && err.code.startsWith('commander.'))
      return 1; // commander printed the reason
    // RPC errors keep their first line and code; every other failure
    // (CommandError, ConfigError, SecretError, ParamError...) is one line.
    // bitcoind's own messages may start with "Error: " (the wallet's -13..-15).
    const line = err.message.split('\n')[0].replace(/^Error: /, '');
    if (err instanceof RPCClientError && err.code === 'rpc')
      process.stderr.write(`error: ${line} (code ${err.rpcCode})\n`);
    else
      process.stderr.write(`error: ${line}\n`);
    return 1;
  }
}
