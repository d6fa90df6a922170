// The README's commands as a new user types them after `npm ci`: every
// command in its shell blocks runs through npx (the package's bin/ is not
// on PATH), `npx` and `npm link` both reach the three programs, and their
// output piped into a reader that stops early (`| head`) ends quietly.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { execFile, spawn } from 'child_process';
import { ROOT, tempDir } from './util/nodes-context';

const BINS = Object.keys((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
}).bin);

interface Run { code: number; stdout: string; stderr: string }

function run(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, timeout: 180000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

/** Every line of the README's ```sh blocks, continuation lines joined. */
function readmeCommands(): string[] {
  const text = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/```sh\n([\s\S]*?)```/g))
    out.push(...m[1].replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.trim() !== ''));
  return out;
}

t.test('README commands', async (t) => {
  await t.test('should run every program of the package through npx', async (t) => {
    const lines = readmeCommands();
    t.ok(lines.some((l) => l.startsWith('npx cloudcoind ')), 'the README starts a node');
    for (const line of lines) {
      // Every word that names one of our programs, also inside $(...).
      for (const m of line.matchAll(/(^|\$\(|[;&|]\s*)(\S+) /g)) {
        if (BINS.includes(m[2]))
          t.fail(`\`${m[2]}\` without npx: ${line}`);
      }
    }
  });

  await t.test('should start the node with npx from the checkout', async (t) => {
    // npx resolves every program of the package the same way: one is enough (npm is slow to start).
    // As from a user's shell: tap's process tracker puts its loader in every
    // child's NODE_OPTIONS (it patches spawn, so a cleaned env is not enough),
    // and under it npx's `prepare` build of the checkout failed, leaving
    // npm's npx cache entry without a package.json for every later npx.
    // `env -u` drops it after the spawn. npx's first run from a checkout
    // installs it into npm's cache, which runs `prepare` (the build): tsc
    // then rewrote dist/ under the tests running beside this one, and a
    // CLI that loaded a half-written dist/lib/node/config.js failed with
    // "config_1.Config is not a constructor" (cli-hosts-test, twice).
    // `npm test` built dist/ already: --ignore-scripts.
    const r = await run('env', ['-u', 'NODE_OPTIONS', 'npx', '--no-install', '--ignore-scripts', 'cloudcoind', '--help']);
    t.equal(r.code, 0, `npx cloudcoind --help: ${r.stderr}`);
    t.match(r.stdout, /^Usage: cloudcoind /, 'npx cloudcoind prints its usage');
  });

  await t.test('should put the programs on PATH with npm link, as documented', async (t) => {
    const prefix = tempDir('cc-link-');
    // fs.rmSync unlinks the link to the checkout, never follows it.
    t.teardown(() => fs.rmSync(prefix, { recursive: true, force: true }));
    const env = { ...process.env, npm_config_prefix: prefix };
    const link = await run('npm', ['link', '--ignore-scripts', '--no-audit', '--no-fund'], { env });
    t.equal(link.code, 0, `npm link: ${link.stderr}`);
    const pathEnv = { ...process.env, PATH: `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH ?? ''}` };
    const away = tempDir('cc-away-');
    t.teardown(() => fs.rmSync(away, { recursive: true, force: true }));
    for (const bin of BINS) {
      const r = await run(bin, ['--help'], { cwd: away, env: pathEnv });
      t.equal(r.code, 0, `${bin} --help from another folder: ${r.stderr}`);
      t.match(r.stdout, new RegExp(`^Usage: ${bin} `));
    }
  });

  await t.test('should end quietly when the reader closes the pipe', async (t) => {
    for (const bin of BINS) {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', bin), '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
      // The reader is gone before the first byte: every write meets EPIPE.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      t.equal(code, 0, `${bin} --help | (closed): exit 0`);
      t.equal(stderr, '', `${bin}: no stack trace`);
    }
  });
});
