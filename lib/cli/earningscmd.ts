/*!
 * earningscmd.ts - `cloudcoin-cli earnings`: a host's earnings per
 * contract and in total (sat), itemised so expected and received
 * reconcile line by line: storage, uploads, downloads, holdback, what the
 * renter's latest state pays, the close fee and what reached the wallet.
 * The figures come from RPC getearnings (lib/contracts/earnings.ts); this
 * file only formats them: a table, `--json` or `--csv`.
 */

import type { ContractEarnings, EarningsTotals } from '../contracts/earnings';
import { CommandError, command, hexIdArg, short, type CommandContext } from './cmdutil';
import { RPCClientError } from './rpcclient';
import { renderTable } from './table';

/** What RPC getearnings returns. */
export interface EarningsResult {
  height: number;
  contracts: ContractEarnings[];
  totals: EarningsTotals;
}

/** One table/CSV row: a contract, or the totals (id 'total'). */
interface Row {
  id: string;
  state: string;
  storage: number;
  uploads: number;
  downloads: number;
  missed: number;
  heldBack: number;
  released: number;
  due: number;
  signed: number;
  paid: number;
  closeFee: number;
  payout: number;
  closeTxid: string;
}

function rowOf(e: ContractEarnings): Row {
  return {
    id: e.id,
    state: e.state,
    storage: e.expected.storage,
    uploads: e.expected.uploads,
    downloads: e.expected.downloads,
    missed: e.expected.missed,
    heldBack: e.expected.heldBack,
    released: e.expected.holdbackReleased,
    due: e.expected.due,
    signed: e.received.signed,
    paid: e.received.paid,
    closeFee: e.received.closeFee,
    payout: e.received.payout,
    closeTxid: e.received.closeTxid ?? ''
  };
}

function totalRow(t: EarningsTotals): Row {
  return {
    id: 'total', state: '', storage: t.storage, uploads: t.uploads, downloads: t.downloads, missed: t.missed, heldBack: t.heldBack,
    released: t.holdbackReleased, due: t.due, signed: t.signed, paid: t.paid, closeFee: t.closeFee, payout: t.payout,
    closeTxid: ''
  };
}

/** Columns shared by the table and the CSV: title, key. */
const AMOUNTS: Array<[string, keyof Row]> = [
  ['storage', 'storage'], ['uploads', 'uploads'], ['downloads', 'downloads'], ['missed', 'missed'], ['held back', 'heldBack'],
  ['holdback released', 'released'], ['expected', 'due'], ['signed', 'signed'], ['closed', 'paid'],
  ['close fee', 'closeFee'], ['received', 'payout']
];

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The rows as CSV (sat, full ids and txids), a header first and the totals last. */
export function earningsCSV(res: EarningsResult): string {
  const header = ['contract', 'state', ...AMOUNTS.map(([title]) => title.replace(/ /g, '_')), 'close_txid'];
  const rows = [...res.contracts.map(rowOf), totalRow(res.totals)];
  const lines = [header.join(',')];
  for (const r of rows)
    lines.push([r.id, r.state, ...AMOUNTS.map(([, k]) => r[k]), r.closeTxid].map(csvField).join(','));
  return lines.join('\r\n');
}

/** The table people read: one line per contract, the totals, then each contract's formula. */
export function earningsTable(res: EarningsResult): string {
  const rows = [...res.contracts.map(rowOf), totalRow(res.totals)];
  const table = renderTable([
    { title: 'contract', value: (r: Row) => (r.id === 'total' ? 'total' : short(r.id)) },
    { title: 'state', value: (r) => r.state },
    ...AMOUNTS.map(([title, key]) => ({ title, value: (r: Row) => String(r[key]), align: 'right' as const })),
    { title: 'close tx', value: (r) => (r.closeTxid ? short(r.closeTxid) : '') }
  ], rows);
  const lines = [`earnings at height ${res.height} (sat; expected = what ended audit intervals accrued, less those the `
    + 'renter\'s payments called missed, less held back, plus downloads, as the renter pays; received = closed - close fee)', table];
  for (const e of res.contracts)
    lines.push(`  ${short(e.id)}: ${e.formula}`);
  return lines.join('\n');
}

/** earnings [CONTRACT_ID] [--json | --csv] */
export async function earnings(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = command('earnings', 'A host\'s earnings per contract and in total (sat): storage, uploads, downloads, holdback '
    + 'and close fees, expected against what the renter\'s states and the closes paid.')
    .argument('[contract]', 'one contract id or unique prefix (default: every contract we host)')
    .option('--json', 'print JSON')
    .option('--csv', 'print CSV for bookkeeping (full ids, sat)');
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts();
  if (o.json && o.csv)
    throw new CommandError('bad-arg', 'give one of --json and --csv');
  const id = cmd.args.length ? hexIdArg(cmd.args[0], 'contract id') : null;
  const res = await ctx.client.call('getearnings', id === null ? [] : [id]).catch((e: unknown) => {
    // The RPC's "Contract not found." names no id: say which, in audits' words.
    throw e instanceof RPCClientError && e.rpcCode === -5 ? new RPCClientError('rpc', `No such contract: ${id}.`, -5) : e;
  }) as EarningsResult;
  if (o.json)
    ctx.out(JSON.stringify(res, null, 2));
  else if (o.csv)
    ctx.out(earningsCSV(res));
  else
    ctx.out(earningsTable(res));
}
