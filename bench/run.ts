/*!
 * run.ts - `npm run bench`: every benchmark in bench/ (but fileserver-php.ts,
 * which needs PHP and Apache: docs/HOSTING.md, and cryptocost.ts and
 * putcpu.ts, which print CPU costs, not ratios), each in its own process
 * (so memory figures are its own), one table each, then a summary
 * of every ratio against the baseline its bench measured in the same run.
 * Machines here are noisy: ratios decide, not absolute times.
 *
 *   npm run bench [-- --only put,proof] [--quick | --full] [--json]
 *
 * --quick runs the small sizes only; --full the issue's full counts and
 * every size x hosts pair (docs/BENCHMARKS.md has the times of each).
 * Exit code 1 when a bench fails or a ratio misses its bar.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { CHAIN_ENV, PREMINED, makeChain } from './chain';
import { BenchRatio, BenchReport, formatTable, ratioTable, stringFlag } from './util';

interface Entry {
  /** bench/NAME.ts */
  name: string;
  args: string[];
  quick: string[];
  /** Arguments under --full (the issue's full sizes and counts), when not `args`. */
  full?: string[];
  /** Prints its own text, not a BenchReport: shown as it is, its ratios are not in the summary. */
  text?: boolean;
}

/**
 * Every bench and the arguments `npm run bench` gives it: the sizes the
 * storage issue asks for, with repetitions, counts and size pairs cut to
 * what keeps each ratio stable, so the whole run stays under 10 minutes
 * on this loaded 2-core machine (docs/BENCHMARKS.md says what was cut,
 * why, and each bench's time); `--full` runs the uncut counts.
 */
const BENCHES: Entry[] = [
  { name: 'transfer', args: ['--size', '64MiB', '--rounds', '1'], quick: ['--size', '64MiB', '--rounds', '1'], full: ['--size', '64MiB', '--rounds', '3'] },
  // One 1 GiB round: the upload and download ratios and the 150 MB bar in
  // one run (the 200 MB rounds, which add --hash-threads 0, under --full).
  { name: 'fileserver', args: ['--size', '1GiB', '--rounds', '1', '--threads', 'default'], quick: ['--size', '100MB', '--rounds', '1'] },
  // 1 and 3 hosts at 64 MiB, 1 GiB to 1 host (the CLI's RSS during a
  // 1 GiB put); every pair under --full (1 GiB to 3 hosts alone took
  // 3 minutes at load 25).
  { name: 'put', args: ['--cells', '64MiB:1,64MiB:3,1GiB:1'], quick: ['--sizes', '64MiB', '--hosts', '1'], full: ['--sizes', '64MiB,1GiB', '--hosts', '1,3'] },
  { name: 'merkle', args: ['--size', '256MB'], quick: ['--size', '128MB'] },
  { name: 'proof', args: ['--sizes', '1MB,1GB,10GB'], quick: ['--sizes', '1MB,10GB', '--proofs', '100'] },
  { name: 'negotiate', args: ['--deals', '100'], quick: ['--deals', '20'] },
  { name: 'contracts-cost', args: ['--counts', '1,10,100,1000'], quick: ['--counts', '1,10,100,1000'] },
  { name: 'contracts-index', args: ['--blocks', '100', '--commits', '10'], quick: ['--blocks', '50', '--commits', '10'], full: ['--blocks', '1000', '--commits', '10'] },
  { name: 'node-index', args: ['--contracts', '160', '--per-block', '160'], quick: ['--contracts', '64', '--per-block', '32'], full: ['--contracts', '10000', '--per-block', '320'] },
  { name: 'erasure', args: ['--size', '16MiB'], quick: ['--size', '16MiB'], full: ['--size', '64MiB'], text: true },
  { name: 'redundancy', args: ['--size', '16MiB'], quick: ['--size', '16MiB'] },
  { name: 'delta', args: ['--size', '16MiB'], quick: ['--size', '16MiB'], text: true },
  { name: 'delta-e2e', args: ['--size', '16MiB'], quick: ['--size', '16MiB'], full: ['--size', '50MiB'], text: true },
  { name: 'revisions', args: ['--files', '10', '--baseline', '2'], quick: [], full: ['--files', '30', '--baseline', '5'], text: true }
];

/** The benches that run cloudcoind on the pre-mined chain (bench/chain.ts). */
const NODE_BENCHES = ['put', 'negotiate', 'node-index', 'delta-e2e', 'revisions'];

/** The 200 MB file server rounds with and without hash workers, under --full only. */
const FULL_ONLY: Entry[] = [
  { name: 'fileserver', args: ['--size', '200MB', '--rounds', '3'], quick: [] }
];

/** Runs one bench with --json; resolves with its report, or the reason it failed. */
function runOne(e: Entry, args: string[], env: NodeJS.ProcessEnv): Promise<{ report: BenchReport | null; secs: number; error: string }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, `${e.name}.ts`), ...args, ...(e.text ? [] : ['--json'])],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: path.join(__dirname, '..'), env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('close', (code) => {
      const secs = (Date.now() - t0) / 1000;
      const line = out.split('\n').reverse().find((l) => l.startsWith('{'));
      let report: BenchReport | null = null;
      try {
        report = e.text ? { bench: e.name, notes: [out.trimEnd()], tables: [], ratios: [] }
          : line ? JSON.parse(line) as BenchReport : null;
      } catch {
        report = null;
      }
      const error = code === 0 && report ? '' : `exit ${code}: ${(err.trim().split('\n').pop() ?? '').slice(0, 300)}`;
      resolve({ report, secs, error });
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv;
  const quick = argv.includes('--quick');
  const full = argv.includes('--full');
  if (quick && full)
    throw new Error('--quick and --full exclude each other');
  const only = stringFlag(argv, 'only', '');
  const wanted = only ? only.split(',') : null;
  const entries = [...BENCHES, ...(full ? FULL_ONLY : [])]
    .filter((e) => (!wanted || wanted.includes(e.name)) && (!quick || e.quick.length > 0));
  const tty = process.stderr.isTTY;
  const t0 = Date.now();
  const ratios: BenchRatio[] = [];
  const reports: BenchReport[] = [];
  const failures: string[] = [];
  const say = (s: string) => { if (!argv.includes('--json')) process.stdout.write(`${s}\n`); };
  say(`npm run bench${quick ? ' --quick' : full ? ' --full' : ''}: ${entries.length} runs on ${os.availableParallelism()} cores, `
    + `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os.loadavg()[0].toFixed(1)}`);
  // One pre-mined regtest chain for every bench that runs cloudcoind (bench/chain.ts).
  let env: NodeJS.ProcessEnv = process.env;
  const chainDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudcoin-bench-template-'));
  try {
    if (entries.some((e) => NODE_BENCHES.includes(e.name))) {
      const t1 = Date.now();
      await makeChain(chainDir);
      env = { ...process.env, [CHAIN_ENV]: chainDir };
      say(`\n== regtest chain of ${PREMINED} blocks for the node benches, mined once (${((Date.now() - t1) / 1000).toFixed(0)} s)`);
    }
    for (const [i, e] of entries.entries()) {
      const args = quick ? e.quick : full ? e.full ?? e.args : e.args;
      if (tty)
        process.stderr.write(`[${i + 1}/${entries.length}] bench/${e.name}.ts ${args.join(' ')} ...\n`);
      const { report, secs, error } = await runOne(e, args, env);
      if (!report || error) {
        failures.push(`${e.name}: ${error}`);
        say(`\n== bench/${e.name}.ts ${args.join(' ')}: FAILED (${error})`);
        if (report === null)
          continue;
      }
      reports.push(report);
      ratios.push(...report.ratios.map((r) => ({ ...r, name: `${e.name}: ${r.name}` })));
      say(`\n== bench/${e.name}.ts ${args.join(' ')} (${secs.toFixed(0)} s)`);
      for (const n of report.notes)
        say(n);
      for (const t of report.tables)
        say(`\n${formatTable(t)}`);
    }
  } finally {
    fs.rmSync(chainDir, { recursive: true, force: true });
  }
  const missed = ratios.filter((r) => r.target !== undefined && (r.lowerIsBetter ? r.value > r.target : r.value < r.target));
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ reports, ratios, failures, seconds: (Date.now() - t0) / 1000 })}\n`);
  } else {
    say(`\n${formatTable(ratioTable(ratios, `summary: every ratio against its baseline in the same run (${((Date.now() - t0) / 60000).toFixed(1)} min)`))}`);
    if (failures.length > 0)
      say(`\nfailed: ${failures.join('; ')}`);
  }
  if (failures.length > 0 || missed.length > 0)
    process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
