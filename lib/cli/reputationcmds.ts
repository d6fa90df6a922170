/*!
 * reputationcmds.ts - cloudcoin-cli's `reputation` table: this node's view
 * of every identity (or one), each source apart and the combined score,
 * from `getreputation`; `--json` prints the RPC's entries as they are.
 *
 * REPUTATION_COLUMNS is one list, so a table that shows hosts (the host
 * directory) adds the same score columns by looking rows up by key.
 */

import { Command } from 'commander';
import type { ReputationJSON } from '../reputation/rpc';
import { CommandError, type CommandContext } from './cmdutil';
import { RPCClientError } from './rpcclient';
import { renderTable, type Column } from './table';

/** `a/b`, or `-` when both are 0. */
function pair(a: number, b: number): string {
  return a === 0 && b === 0 ? '-' : `${a}/${b}`;
}

/** The score and its parts, as columns over a ReputationJSON (null: nothing known, `-`). */
export function scoreColumns<T>(get: (row: T) => ReputationJSON | null): Column<T>[] {
  const col = (title: string, f: (r: ReputationJSON) => string): Column<T> => ({
    title, align: 'right', value: (row) => { const r = get(row); return r ? f(r) : '-'; }
  });
  return [
    col('score', (r) => String(r.score) + (r.known ? '' : '?')),
    col('own', (r) => (r.own ? String(r.own.score) : '-')),
    col('audits ok/failed', (r) => (r.own ? pair(r.own.passed, r.own.failed) : '-')),
    col('settled/refunded', (r) => (r.own ? pair(r.own.settled, r.own.refunded) : '-')),
    col('ratings', (r) => (r.ratings.counted ? String(r.ratings.score) : '-')),
    col('rated sat', (r) => String(r.ratings.settled)),
    // Older nodes answer without `peers`.
    col('peers', (r) => (r.peers?.counted ? `${r.peers.score} (${r.peers.counted}/${r.peers.statements})` : r.peers?.statements ? `- (0/${r.peers.statements})` : '-')),
    col('trust ppm', (r) => (r.trust ? String(Math.floor(r.trust.value / 1000)) + (r.trust.pretrusted ? '*' : '') : '-'))
  ];
}

/** Columns of the `reputation` table, in order. */
export const REPUTATION_COLUMNS: Column<ReputationJSON>[] = [
  { title: 'identity', value: (r) => r.identity },
  ...scoreColumns<ReputationJSON>((r) => r)
];

/** Orders the table can be sorted by. */
const SORTS = ['score', 'identity', 'rated'] as const;

/** reputation [IDENTITY]: the view as a table (`?` marks a prior score, `*` a pre-trusted counterparty). */
export async function reputation(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = new Command('reputation')
    .description('This node\'s view of every identity its contract index names (or of one): the combined score '
      + '(permille; `?` = nothing known, the prior), own records (audits passed/failed, contracts settled/refunded), '
      + 'on-chain ratings weighted by the sats settled to the host, what peers said (score, statements counted/kept; '
      + 'weighted by this node\'s trust in each signer), and EigenTrust (ppm; `*` = pre-trusted). '
      + 'See docs/REPUTATION.md.')
    .argument('[identity]', 'identity address or 33-byte pubkey hex')
    .option('--sort <key>', `order: ${SORTS.join(', ')}`, 'score')
    .option('--json', 'print JSON')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  cmd.parse(argv, { from: 'user' });
  const opts = cmd.opts<{ sort: string; json?: boolean }>();
  if (!(SORTS as readonly string[]).includes(opts.sort))
    throw new CommandError('bad-arg', `--sort must be one of ${SORTS.join(', ')}`);
  const one = cmd.args[0];
  const got = await ctx.client.call('getreputation', one === undefined ? [] : [one]).catch((e: unknown) => {
    // -8 is the RPC's "Position 1 (identity) must be...": said in the command's words.
    throw e instanceof RPCClientError && e.rpcCode === -8
      ? new CommandError('bad-arg', `identity must be an identity address this node knows or a 33-byte public key in hex, got "${one}"`) : e;
  }) as ReputationJSON | ReputationJSON[];
  const list = Array.isArray(got) ? got : [got];
  if (opts.sort === 'identity')
    list.sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0));
  else if (opts.sort === 'rated')
    list.sort((a, b) => b.ratings.settled - a.ratings.settled || b.score - a.score);
  if (opts.json) {
    ctx.out(JSON.stringify(got, null, 2));
    return;
  }
  if (list.length === 0) {
    ctx.out('no identities known yet (the contract index names none)');
    return;
  }
  ctx.out(renderTable(REPUTATION_COLUMNS, list));
}

export const reputationCommands: Record<string, (ctx: CommandContext, argv: string[]) => Promise<void>> = { reputation };
