/*!
 * cloudcoincli.ts - cloudcoin-cli: bitcoin-cli for cloudcoind.
 *
 * `cloudcoin-cli [options] METHOD [PARAMS...]` calls any RPC method, node
 * and wallet alike. Params parse as JSON where they can, else as strings.
 * Results print as JSON, strings raw. Any failure prints one line on stderr
 * and exits non-zero.
 */

import * as path from 'path';
import { Command } from 'commander';
import { Config, ConfigError } from '../node/config';
import { defaultDatadir, isNetwork, networkDir, RPC_PORTS, type NetworkName } from '../node/datadir';
import { RPCClientError, cookiePath, RPCClient } from './rpcclient';
import { CommandError, storageCommands } from './storagecmds';
import { reputationCommands } from './reputationcmds';
import { hostCommands } from './hostcmds';

/** Friendly commands that are not RPC methods. */
const commands = { ...storageCommands, ...reputationCommands, ...hostCommands };

const VERSION = '0.1.0';

/** bitcoin-cli semantics: JSON where it parses, else the raw string. */
export function parseParam(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** bitcoin-cli output: strings raw, null as nothing, the rest as JSON. */
export function formatResult(result: unknown): string | null {
  if (result === null || result === undefined)
    return null;
  if (typeof result === 'string')
    return result;
  return JSON.stringify(result, null, 2);
}

export interface CLIContext {
  network: NetworkName;
  client: RPCClient;
  json: boolean;
}

function buildProgram(): Command {
  return new Command('cloudcoin-cli')
    .description('Call cloudcoind over RPC: cloudcoin-cli [options] METHOD [PARAMS...]\n'
      + 'Run `cloudcoin-cli help` for the list of methods. Storage commands:\n'
      + '  negotiate-storage --size S --max-price P [--duration B] [--hosts N] [--json]\n'
      + '  put FILE [--hosts N | --data-shards K --parity-shards M] [--min-hosts M] [--duration B] [--max-price P] [--allowance SAT]\n'
      + '      [--new-contracts] [--no-wait] [--json]\n'
      + '  get FILE_ID OUT [--json]     (OUT - is standard output; ids may be unique prefixes)\n'
      + '  get NAME OUT --rev N [--json] (version N of a name)\n'
      + '  log NAME [--json]            (the stored versions of a name)\n'
      + '  ls [--json]\n'
      + '  rm FILE_ID [--json]          (delete from the hosts, then forget)\n'
      + '  renew CONTRACT|FILE_ID [--duration B] [--allowance SAT] [--json]\n'
      + '  earnings [CONTRACT_ID] [--json | --csv]   (a host\'s earnings, expected against received)\n'
      + '  reputation [IDENTITY] [--sort score|identity|rated] [--json]\n'
      + '  audits CONTRACT|FILE_ID [--json]   (one audit per interval: passed, failed, missed)\n'
      + '  hosts [--json]\n'
      + '  repair FILE_ID [--duration B] [--max-price P] [--allowance SAT] [--no-wait] [--json]   (rebuild lost shards)\n'
      + 'Run `cloudcoin-cli COMMAND --help` for one command.')
    .version(VERSION)
    .option('--regtest', 'use the regression test network')
    .option('--testnet', 'use the test network')
    .option('--network <name>', 'main, testnet, regtest or simnet')
    .option('--datadir <dir>', 'data directory holding the RPC cookie (default ~/.cloudcoin)')
    .option('--rpcconnect <host>', 'cloudcoind RPC host (default 127.0.0.1)')
    .option('--rpcport <port>', 'cloudcoind RPC port')
    .option('--rpcuser <user>', 'RPC user name for --api-key (default cloudcoin)')
    .option('--api-key <key>', 'RPC password (default: read the cookie)')
    .option('--json', 'print JSON for friendly commands')
    .argument('<method>', 'RPC method')
    .argument('[params...]', 'parameters (JSON or strings)')
    .enablePositionalOptions()
    .passThroughOptions()
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
}

function networkOf(opts: Record<string, unknown>): NetworkName {
  const flags = [opts.regtest && 'regtest', opts.testnet && 'testnet'].filter(Boolean) as string[];
  if (flags.length > 1 || (flags.length && opts.network))
    throw new ConfigError('give one of --regtest, --testnet or --network');
  const name = (opts.network as string | undefined) || flags[0] || 'main';
  if (!isNetwork(name))
    throw new ConfigError(`unknown network "${name}"`);
  return name;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  let method: string;
  let params: string[];
  try {
    program.parse(argv, { from: 'user' });
    method = program.args[0];
    params = program.args.slice(1);
  } catch (e) {
    const err = e as { code?: string };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
      return 0;
    return 1; // commander printed the reason
  }

  try {
    const opts = program.opts();
    const network = networkOf(opts);
    const portCfg = new Config({ rpcport: opts.rpcport as string | undefined });
    const port = portCfg.port('rpcport') ?? RPC_PORTS[network];
    const base = path.resolve((opts.datadir as string | undefined) || defaultDatadir());
    const client = new RPCClient({
      host: (opts.rpcconnect as string | undefined) || '127.0.0.1',
      port,
      apiKey: opts.apiKey as string | undefined,
      user: opts.rpcuser as string | undefined,
      cookieFile: cookiePath(networkDir(base, network))
    });
    const command = Object.hasOwn(commands, method) ? commands[method] : null;
    if (command) {
      await command({ client, out: (line) => process.stdout.write(line + '\n'), err: process.stderr, stdout: process.stdout },
        params);
      return 0;
    }
    const result = await client.call(method, params.map(parseParam));
    const out = formatResult(result);
    if (out !== null)
      process.stdout.write(out + '\n');
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'commander.helpDisplayed')
      return 0;
    if (err.code && err.code.startsWith('commander.'))
      return 1; // commander printed the reason
    if (err instanceof CommandError)
      process.stderr.write(`error: ${err.message}\n`);
    else if (err instanceof RPCClientError && err.code === 'rpc')
      process.stderr.write(`error: ${err.message.split('\n')[0]} (code ${err.rpcCode})\n`);
    else
      process.stderr.write(`error: ${err.message}\n`);
    return 1;
  }
}
