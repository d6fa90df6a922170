/*!
 * marketcmds.ts - cloudcoin-cli's `market` table: the storage prices this
 * node knows (host announcements, quotes it received, its own offer), or
 * with PEER a peer's signed statement of the prices it knows
 * (`getmarketprices`, PROTOCOL 2.7 `market.prices`); `--json` prints the
 * RPC's answer as it is (free capacity in bytes; the table in KiB/MiB/GiB).
 */

import { Command } from 'commander';
import { formatSize, parseAmount } from '../base/units';
import { CommandError, type CommandContext } from './cmdutil';
import { renderTable, type Column } from './table';

/** One entry as getmarketprices returns it. */
interface MarketEntryJSON {
  host: string;
  source: string;
  height: number;
  storageprice: number;
  uploadprice: number;
  downloadprice: number;
  capacity: number;
  maxduration: number;
}

interface MarketJSON {
  signer: string;
  height: number;
  paid: number;
  entries: MarketEntryJSON[];
}

const COLUMNS: Column<MarketEntryJSON>[] = [
  { title: 'host', value: (e) => e.host },
  { title: 'source', value: (e) => e.source },
  { title: 'height', align: 'right', value: (e) => String(e.height) },
  { title: 'storage sat/GiB/1000blk', align: 'right', value: (e) => String(e.storageprice) },
  { title: 'upload sat/GiB', align: 'right', value: (e) => String(e.uploadprice) },
  { title: 'download sat/GiB', align: 'right', value: (e) => String(e.downloadprice) },
  // People read sizes (`1.00 GiB`); --json keeps the exact bytes.
  { title: 'free', align: 'right', value: (e) => formatSize(e.capacity) },
  { title: 'max blocks', align: 'right', value: (e) => String(e.maxduration) }
];

const SORTS = ['height', 'storage', 'host'] as const;

/** market [PEER] [--max-payment SAT] [--sort KEY] [--json] */
export async function market(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = new Command('market')
    .description('Storage prices this node knows (host announcements, quotes it received, its own offer), newest first; '
      + 'with PEER, the prices that peer knows, as it signed them (paid up to --max-payment).')
    .argument('[peer]', 'a connected CloudStorage peer: identity address, pubkey hex or host:port')
    .option('--max-payment <sat>', 'most to pay the peer for its answer (sat)', '0')
    .option('--sort <key>', `order: ${SORTS.join(', ')}`, 'height')
    .option('--json', 'print JSON')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  cmd.parse(argv, { from: 'user' });
  const opts = cmd.opts<{ maxPayment: string; sort: string; json?: boolean }>();
  if (!(SORTS as readonly string[]).includes(opts.sort))
    throw new CommandError('bad-arg', `--sort must be one of ${SORTS.join(', ')}`);
  const max = parseAmount(opts.maxPayment);
  if (max === null)
    throw new CommandError('bad-arg', `--max-payment must be an amount such as 100sat, got "${opts.maxPayment}"`);
  const peer = cmd.args[0];
  const got = await ctx.client.call('getmarketprices', peer === undefined ? [] : [peer, max]) as MarketJSON;
  if (opts.json) {
    ctx.out(JSON.stringify(got, null, 2));
    return;
  }
  const list = [...got.entries];
  if (opts.sort === 'storage')
    list.sort((a, b) => a.storageprice - b.storageprice || b.height - a.height);
  else if (opts.sort === 'host')
    list.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  const who = peer === undefined ? 'this node' : `${got.signer} (signed at height ${got.height}, paid ${got.paid} sat)`;
  if (list.length === 0) {
    ctx.out(`no prices known to ${who}`);
    return;
  }
  ctx.out(`prices known to ${who}:`);
  ctx.out(renderTable(COLUMNS, list));
}

export const marketCommands: Record<string, (ctx: CommandContext, argv: string[]) => Promise<void>> = { market };
