// npm run test:stress: the reliability suites, one after another, each
// printing its figure on one line when it ends and all of them again at the
// end. Exit status 1 if any suite failed.
//
//   npx tsx test/stress/run.ts [--quick] [--seed N] [SUITE...]
//
// --quick runs the sizes CI uses (.ci/run); without it, the full sizes of
// docs/STRESS.md. SUITE names pick suites (default: all, in order). The
// `slow` suite is the tap tests too long for `npm test` (test/slow/, also
// `npm run test:slow`, which .ci/run runs); it is the same at both sizes.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { runCrash } from './crash';
import { runFsCrash } from './fscrash';
import { fuzzFailures, runFuzz } from './fuzz';
import { runLoad } from './load';
import { runReorgStorm } from './reorg';
import { runSoak } from './soak';
import { missing } from '../util/fileserver-targets';
import { type HostileResult, type TargetName, hostileFailures, hostileLine, runHostileHTTP } from './hostilehttp';

interface SuiteResult {
  line: string;
  failures: string[];
}

interface Suite {
  name: string;
  run(quick: boolean, seed: number | undefined, log: (line: string) => void): Promise<SuiteResult>;
}

/** Sizes: full (documented in docs/STRESS.md) and the CI one. */
const SIZES = {
  fuzz: { full: 100_000, quick: 10_000 },
  /** Kills per operation. */
  crash: { full: 20, quick: 2 },
  /** File server kills during uploads. */
  fscrash: { full: 20, quick: 5 },
  /** Reorgs (the full size checks against a freshly synced node after each). */
  reorg: { full: 50, quick: 10 },
  load: {
    full: { uploads: 50, uploadSize: 4 << 20, targets: ['node', 'php', 'apache'] as Array<'node' | 'php' | 'apache'>, negotiations: 200 },
    quick: { uploads: 50, uploadSize: 256 << 10, targets: ['node'] as Array<'node' | 'php' | 'apache'>, negotiations: 200 }
  },
  /** Soak time (ms). */
  soak: { full: 10 * 60_000, quick: 2 * 60_000 }
};

/** Root of the checkout (test/stress/..). */
const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Run the tap files under test/slow/ as `npm run test:slow` does and read
 * tap's own verdicts: one line per file as it ends, failures by file name.
 */
function runSlowTap(log: (line: string) => void): Promise<SuiteResult> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    // tap's processinfo (from an outer tap) must not leak into this one.
    delete env.NODE_OPTIONS;
    // The files by name: tap given the directory finds none (its include
    // pattern is npm test's test/*-test.ts).
    const files = fs.readdirSync(path.join(ROOT, 'test', 'slow')).filter((f) => f.endsWith('-test.ts')).sort()
      .map((f) => path.join('test', 'slow', f));
    const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'tap'), ['--timeout=900', ...files], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let passed = 0;
    const failed: string[] = [];
    let rest = '';
    const onData = (chunk: Buffer) => {
      const text = rest + chunk.toString('utf8');
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^(ok|not ok) \d+ - (test\/\S+)/.exec(line);
        if (!m) continue;
        log(line);
        if (m[1] === 'ok') passed += 1;
        else failed.push(m[2]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    child.on('close', (code) => {
      const failures = failed.map((f) => `${f} failed`);
      if (code !== 0 && failures.length === 0) failures.push(`tap exited with status ${code}`);
      resolve({ line: `slow tap tests: ${passed + failed.length} files, ${passed} passed, ${failed.length} failed`, failures });
    });
  });
}

const suites: Suite[] = [
  {
    name: 'slow',
    run(_quick, _seed, log) {
      return runSlowTap(log);
    }
  },
  {
    name: 'fuzz',
    async run(quick, seed, log) {
      const perType = quick ? SIZES.fuzz.quick : SIZES.fuzz.full;
      const r = await runFuzz({ perType, seed, log });
      return { line: r.line, failures: fuzzFailures(r, perType) };
    }
  },
  {
    name: 'http',
    async run(_quick, _seed, log) {
      // Every target, the slow clients included at both sizes (they are
      // the point, and bounded by the servers' deadlines); a target whose
      // binaries are missing is skipped outside CI, as in the conformance
      // suite.
      const results: HostileResult[] = [];
      const failures: string[] = [];
      for (const name of ['node', 'php', 'apache'] as TargetName[]) {
        const why = missing(name);
        if (why) {
          log(`${name}: skipped: ${why}`);
          continue;
        }
        const r = await runHostileHTTP(name, { log });
        log(r.line);
        results.push(r);
        failures.push(...hostileFailures(r));
      }
      return { line: hostileLine(results), failures };
    }
  },
  {
    name: 'crash',
    async run(quick, seed, log) {
      const r = await runCrash({ rounds: quick ? SIZES.crash.quick : SIZES.crash.full, seed, log });
      return { line: r.line, failures: r.failures };
    }
  },
  {
    name: 'fscrash',
    async run(quick, seed, log) {
      const kills = quick ? SIZES.fscrash.quick : SIZES.fscrash.full;
      const lines: string[] = [];
      const failures: string[] = [];
      for (const target of ['node', 'php'] as const) {
        const why = missing(target);
        if (why) {
          log(`${target}: skipped: ${why}`);
          continue;
        }
        const r = await runFsCrash({ kills, target, seed, log });
        log(r.line);
        lines.push(r.line.replace(/^file server kill -9: /, ''));
        failures.push(...r.failures.map((f) => `${target}: ${f}`));
      }
      return { line: `file server kill -9: ${lines.join('; ')}`, failures };
    }
  },
  {
    name: 'reorg',
    async run(quick, seed, log) {
      const r = await runReorgStorm({ reorgs: quick ? SIZES.reorg.quick : SIZES.reorg.full, freshEvery: !quick, seed, log });
      return { line: r.line, failures: r.failures };
    }
  },
  {
    name: 'load',
    async run(quick, _seed, log) {
      const r = await runLoad({ ...(quick ? SIZES.load.quick : SIZES.load.full), log });
      return { line: r.line, failures: r.failures };
    }
  },
  {
    name: 'soak',
    async run(quick, seed, log) {
      const r = await runSoak({ durationMs: quick ? SIZES.soak.quick : SIZES.soak.full, seed, log });
      return { line: r.line, failures: r.failures };
    }
  }
];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const seedAt = args.indexOf('--seed');
  const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : undefined;
  const names = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--seed');
  const unknown = names.filter((n) => !suites.some((s) => s.name === n));
  if (unknown.length) {
    console.error(`Unknown suite: ${unknown.join(', ')} (suites: ${suites.map((s) => s.name).join(', ')})`);
    process.exit(2);
  }
  const chosen = names.length ? suites.filter((s) => names.includes(s.name)) : suites;
  const lines: string[] = [];
  let failed = 0;
  for (const suite of chosen) {
    const t0 = Date.now();
    const log = (line: string) => console.log(`[${suite.name} ${Math.round((Date.now() - t0) / 1000)}s] ${line}`);
    let result: SuiteResult;
    try {
      result = await suite.run(quick, seed, log);
    } catch (e) {
      const err = e as Error & { result?: { line: string } };
      result = { line: err.result?.line ?? `${suite.name}: did not finish`, failures: [err.stack ?? err.message] };
    }
    const verdict = result.failures.length ? 'FAIL' : 'ok';
    if (result.failures.length) {
      failed += 1;
      for (const f of result.failures)
        console.log(`[${suite.name}] failure: ${f}`);
    }
    console.log(result.line);
    lines.push(`${verdict.padEnd(4)} ${result.line}`);
  }
  console.log(`\nreliability suites (${quick ? 'quick' : 'full'} sizes):`);
  for (const line of lines)
    console.log(line);
  // tap's summary line, so CI scripts that total tap runs count these too.
  console.log(`# { total: ${chosen.length}, pass: ${chosen.length - failed}, fail: ${failed} }`);
  process.exit(failed ? 1 : 0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
