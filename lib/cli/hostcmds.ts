/*!
 * hostcmds.ts - cloudcoin-cli's host directory: `hosts` lists every host
 * the node knows from announcements (listhosts), connected or not.
 *
 * The table's columns are one list, HOST_COLUMNS, so a column (reputation,
 * say) is added in one place; `--json` prints the RPC's entries as they are.
 */

import { Command } from 'commander';
import { formatSize } from '../base/units';
import type { HostJSON } from '../negotiator/rpc';
import type { CommandContext } from './storagecmds';
import { renderTable, type Column } from './table';

/** Columns of the `hosts` table, in order; append to extend it. */
export const HOST_COLUMNS: Column<HostJSON>[] = [
  { title: 'identity', value: (h) => h.identity },
  { title: 'address', value: (h) => h.address ?? '-' },
  { title: 'data URL', value: (h) => h.url },
  { title: 'storage', value: (h) => String(h.storageprice), align: 'right' },
  { title: 'upload', value: (h) => String(h.uploadprice), align: 'right' },
  { title: 'download', value: (h) => String(h.downloadprice), align: 'right' },
  { title: 'free', value: (h) => formatSize(h.capacity), align: 'right' },
  { title: 'height', value: (h) => String(h.height), align: 'right' },
  { title: 'connected', value: (h) => (h.connected ? 'yes' : 'no') }
];

/** hosts: the host directory as a table (prices in sat: storage per GiB per 1000 blocks, transfer per GiB). */
export async function hosts(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = new Command('hosts')
    .description('List every host known from announcements: address, data URL, prices (sat; storage per GiB per '
      + '1000 blocks, upload and download per GiB), free capacity, the height its announcement was accepted at, '
      + 'and whether this node is connected to it.')
    .option('--json', 'print JSON')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  cmd.parse(argv, { from: 'user' });
  const list = await ctx.client.call('listhosts', []) as HostJSON[];
  if (cmd.opts().json) {
    ctx.out(JSON.stringify(list, null, 2));
    return;
  }
  if (list.length === 0) {
    ctx.out('no hosts known yet (announcements arrive from CloudStorage peers)');
    return;
  }
  ctx.out(renderTable(HOST_COLUMNS, list));
}

export const hostCommands: Record<string, (ctx: CommandContext, argv: string[]) => Promise<void>> = { hosts };
