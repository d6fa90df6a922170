/*!
 * hostcmds.ts - cloudcoin-cli's host directory: `hosts` lists every host
 * the node knows from announcements (listhosts), connected or not.
 *
 * The table's columns are one list, HOST_COLUMNS, so a column is added in
 * one place; each host's reputation (getreputation: the score and its
 * parts, docs/REPUTATION.md) joins its row, and `--json` prints the RPC's
 * entries with a `reputation` member (null on a node without the
 * reputation extension).
 */

import { Command } from 'commander';
import { formatSize } from '../base/units';
import type { HostJSON } from '../negotiator/rpc';
import type { ReputationJSON } from '../reputation/rpc';
import { CommandError } from './cmdutil';
import { scoreColumns } from './reputationcmds';
import type { CommandContext } from './storagecmds';
import { renderTable, type Column } from './table';

/** One host of the directory with this node's view of it. */
export type HostRow = HostJSON & { reputation: ReputationJSON | null };

/**
 * How this node reaches a host, in words: `outbound ADDR` (a connection we
 * dialled), `inbound ADDR` (the host dialled us; ADDR: its announced
 * address, else its IP), `direct ADDR`
 * (not connected: dialled at the address it announced when needed), `via
 * RELAY` (not connected, no direct address: through a relay's dial-back),
 * `-` (no way).
 */
export function reachText(h: Pick<HostJSON, 'reach'>): string {
  if (!h.reach)
    return '-';
  return h.reach.how === 'relay' ? `via ${h.reach.address}` : `${h.reach.how} ${h.reach.address}`;
}

/**
 * Reputation columns the `hosts` table shows: the score and this node's
 * own audits of the host. The other parts (own score, settled/refunded,
 * ratings, peers, trust) are left to `cloudcoin-cli reputation` and to
 * `--json`, to keep one row per host readable on a terminal.
 */
const SHOWN_SCORES = new Set(['score', 'audits ok/failed']);

/**
 * Columns of the `hosts` table, in order; append to extend it. Prices
 * carry the units the offer states them in (lib/deals/pricing.ts): storage
 * in sat per GiB per 1000 blocks, as the put and market tables say it,
 * and upload/download in sat per GiB, in one column to keep rows short.
 */
export const HOST_COLUMNS: Column<HostRow>[] = [
  { title: 'identity', value: (h) => h.identity },
  { title: 'reached', value: reachText },
  { title: 'data URL', value: (h) => h.url },
  { title: 'storage sat/GiB/1000blk', value: (h) => String(h.storageprice), align: 'right' },
  { title: 'up/down sat/GiB', value: (h) => `${h.uploadprice}/${h.downloadprice}`, align: 'right' },
  { title: 'free', value: (h) => formatSize(h.capacity), align: 'right' },
  ...scoreColumns<HostRow>((h) => h.reputation).filter((c) => SHOWN_SCORES.has(c.title)),
  // Whether the node is connected shows in `reached` (outbound/inbound).
  { title: 'height', value: (h) => String(h.height), align: 'right' }
];

/** Orders of the table: best score, cheapest storage, identity, latest announcement. */
const SORTS: Record<string, (a: HostRow, b: HostRow) => number> = {
  score: (a, b) => (b.reputation?.score ?? -1) - (a.reputation?.score ?? -1) || a.storageprice - b.storageprice,
  price: (a, b) => a.storageprice - b.storageprice || (b.reputation?.score ?? -1) - (a.reputation?.score ?? -1),
  identity: () => 0,
  seen: (a, b) => b.height - a.height
};

/** Each host's reputation on this node, null when the node runs without the reputation extension. */
async function withReputation(ctx: CommandContext, list: HostJSON[]): Promise<HostRow[]> {
  let known: ReputationJSON[];
  try {
    known = await ctx.client.call('getreputation', []) as ReputationJSON[];
  } catch {
    return list.map((h) => ({ ...h, reputation: null }));
  }
  const byKey = new Map(known.map((r) => [r.pubkey, r]));
  const out: HostRow[] = [];
  for (const h of list) {
    // A host no contract names scores the prior: ask for it by key.
    const r = byKey.get(h.pubkey) ?? await ctx.client.call('getreputation', [h.pubkey]) as ReputationJSON;
    out.push({ ...h, reputation: r });
  }
  return out;
}

/** hosts: the host directory as a table (prices in sat: storage per GiB per 1000 blocks, upload/download per GiB). */
export async function hosts(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = new Command('hosts')
    .description('List every host known from announcements: how this node reaches it (`outbound ADDR`: a '
      + 'connection we dialled; `inbound ADDR`: the host dialled us; `direct ADDR`: not connected, dialled at the '
      + 'address it announced when needed; `via RELAY`: not connected, reached through a relay), data URL, prices (storage in '
      + 'sat per GiB per 1000 blocks; upload/download in sat per GiB), free capacity, this node\'s reputation score of it '
      + '(docs/REPUTATION.md; `?` = nothing known, the prior) and its own audits of it (the other parts of the score: '
      + '`cloudcoin-cli reputation`), and the height its announcement was accepted at.')
    .option('--sort <key>', `order: ${Object.keys(SORTS).join(', ')}`, 'score')
    .option('--json', 'print JSON')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  cmd.parse(argv, { from: 'user' });
  const opts = cmd.opts<{ sort: string; json?: boolean }>();
  if (!Object.hasOwn(SORTS, opts.sort))
    throw new CommandError('bad-arg', `--sort must be one of ${Object.keys(SORTS).join(', ')}`);
  const list = (await withReputation(ctx, await ctx.client.call('listhosts', []) as HostJSON[]))
    .sort((a, b) => SORTS[opts.sort](a, b) || (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0));
  if (opts.json) {
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
