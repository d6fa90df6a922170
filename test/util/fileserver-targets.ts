// The three file server targets of the conformance suite, each on a free
// loopback port with its own data folder: the Node server (in process),
// PHP's built-in server (`php -S`, 4 workers) and Apache 2.4 + mod_php
// serving the shipped fileserver/php/ folder with its .htaccess from a
// subdirectory (/cc), under shared-hosting php.ini limits. A target whose
// binaries are missing is skipped with a reason (CI installs them).
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { FileServer } from '../../fileserver/server';
import { ROOT, tempDir } from './fileserver';

/** A running file server under test. */
export interface Target {
  name: string;
  /** Base URL, with the base path (http://127.0.0.1:PORT/cc). */
  url: string;
  port: number;
  /** Path prefix requests carry ('' or '/cc'); admin calls sign the path without it. */
  base: string;
  /**
   * The server reads a whole request body before the handler runs (php -S):
   * a part can never be seen "being written", and a short body is never answered.
   */
  buffersBodies: boolean;
  close(): Promise<void>;
  /** php -S only: SIGKILL the server and its workers (kill -9), then remove what close removes. */
  kill9?(): Promise<void>;
}

/** Shared-hosting php.ini limits the Apache target runs under (docs/HOSTING.md). */
export const HOSTING_LIMITS = {
  upload_max_filesize: '8M',
  post_max_size: '9M',
  max_execution_time: '30',
  memory_limit: '128M'
};

/** A free loopback port (bound and released; the caller binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function which(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, bin);
    if (fs.existsSync(p))
      return p;
  }
  return null;
}

/**
 * Why a target cannot run here, or null. Under CI (CI=true) nothing is
 * skipped: .ci/run installs the packages, so a missing binary fails the run.
 */
export function missing(name: 'node' | 'php' | 'apache'): string | null {
  const why = missingHere(name);
  return why && process.env.CI ? null : why;
}

function missingHere(name: 'node' | 'php' | 'apache'): string | null {
  if (name === 'node')
    return null;
  if (!which('php'))
    return 'php is not installed (apt-get install php-cli; .ci/run installs it)';
  if (name === 'apache') {
    if (!which('apache2'))
      return 'apache2 is not installed (apt-get install apache2 libapache2-mod-php; .ci/run installs them)';
    if (!phpModule())
      return 'mod_php is not installed (apt-get install libapache2-mod-php)';
    if (process.getuid?.() !== 0)
      return 'the Apache target runs its workers as www-data and needs root to hand them the folder';
  }
  return null;
}

function phpModule(): string | null {
  const dir = '/usr/lib/apache2/modules';
  if (!fs.existsSync(dir))
    return null;
  const m = fs.readdirSync(dir).find((n) => /^libphp[0-9.]*\.so$/.test(n));
  return m ? path.join(dir, m) : null;
}

/** Polls until something accepts connections on the port. */
async function listening(port: number, proc: ChildProcess, what: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 20000;
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`${what} exited with ${proc.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok)
      return;
    if (Date.now() > deadline)
      throw new Error(`${what} did not listen on ${port} in 20 s: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Spawns `cmd` in its own process group under a tiny sh guard that holds a
 * pipe from this process: when this process ends, however it ends (a tap
 * timeout kills it), the pipe closes and the guard stops the whole group,
 * so no server outlives its test. Apache signals its whole group on
 * shutdown, which therefore must not be ours.
 */
function spawnGuarded(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const proc = spawn('sh', ['-c', '"$@" & read _; kill -TERM 0', 'sh', cmd, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'], detached: true, cwd: opts.cwd, env: opts.env
  });
  proc.stdin!.on('error', () => {});
  return proc;
}

/** Stops a server started in its own process group: the group (its workers too), then its pipes. */
function stop(proc: ChildProcess, isGroup = true): Promise<void> {
  const group = (sig: NodeJS.Signals) => {
    try {
      if (isGroup)
        process.kill(-proc.pid!, sig);
      else
        proc.kill(sig);
    } catch {
      // already gone
    }
  };
  return new Promise<void>((resolve) => {
    const done = () => {
      group('SIGKILL');
      proc.stdin?.destroy();
      proc.stdout?.destroy();
      proc.stderr?.destroy();
      resolve();
    };
    if (proc.exitCode !== null || proc.signalCode !== null)
      return done();
    proc.once('exit', done);
    group('SIGTERM');
    setTimeout(() => group('SIGKILL'), 5000).unref();
  });
}

/**
 * Starts cloudcoin-fileserver as its own process on a free port (`dist`:
 * the built CLI, as bin/ runs it; else the source under tsx; `opts.entry`:
 * another build's cli.js, as bench/fileserver.ts --before runs; `opts.args`:
 * more flags); resolves once it prints its address.
 */
export async function fileserverProcess(dataDir: string, key: Buffer, capacity: number, dist: boolean,
  opts: { entry?: string; args?: string[] } = {}): Promise<{ proc: ChildProcess; port: number }> {
  const entry = opts.entry ? [opts.entry] : dist ? [path.join(ROOT, 'dist', 'fileserver', 'cli.js')]
    : ['--import', 'tsx', path.join(ROOT, 'fileserver', 'cli.ts')];
  // The key through the environment, as documented (a flag would show in ps);
  // also in D/admin.key, which every build reads (bench --before runs older ones).
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(dataDir, 'admin.key'), `${key.toString('hex')}\n`, { mode: 0o600 });
  const proc = spawn(process.execPath, [...entry, '--data-dir', dataDir, '--port', '0', '--capacity', String(capacity),
    ...(opts.args ?? [])], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '', CLOUDCOIN_ADMIN_KEY: key.toString('hex') } });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m)
        resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`cloudcoin-fileserver exited with ${code}`)));
  });
  return { proc, port };
}

/** Copies the shipped PHP folder (no data) and writes its config.php. */
function installPHP(dest: string, cfg: { key: Buffer | string; dataDir: string; basePath: string; capacity: number | string }): void {
  fs.cpSync(path.join(ROOT, 'fileserver', 'php'), dest, {
    recursive: true, filter: (src) => !src.includes(`${path.sep}data${path.sep}`) || src.endsWith('.htaccess')
  });
  fs.writeFileSync(path.join(dest, 'config.php'), `<?php
return [
    'admin_key' => '${typeof cfg.key === 'string' ? cfg.key : cfg.key.toString('hex')}',
    'data_dir' => '${cfg.dataDir}',
    'base_path' => '${cfg.basePath}',
    'capacity' => ${cfg.capacity},
    'test_hooks' => true,
];
`);
}

/** Options of a target: where its data goes, and (PHP) the admin key text written to config.php. */
export interface TargetOptions {
  dataDir?: string;
  /** config.php's admin_key as written (tests of a misconfigured server). */
  keyText?: string;
  /** config.php's capacity as written, PHP source (e.g. `'10GB'`), instead of the number given. */
  capacityText?: string;
  /** Apache: hand `dataDir` to the web server's user (default); false leaves it root's, unwritable for PHP. */
  ownData?: boolean;
  /** Node: run the built CLI (dist/) as its own process, as a host would (benchmarks); no test hooks. */
  separateProcess?: boolean;
}

export async function startTarget(name: 'node' | 'php' | 'apache', key: Buffer, capacity: number, opts: TargetOptions = {}): Promise<Target> {
  const dir = tempDir(`cc-conf-${name}-`);
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  if (name === 'node' && opts.separateProcess) {
    const { proc, port } = await fileserverProcess(path.join(dir, 'data'), key, capacity, true);
    return { name, url: `http://127.0.0.1:${port}`, port, base: '', buffersBodies: false, close: async () => { await stop(proc, false); cleanup(); } };
  }
  if (name === 'node') {
    const server = new FileServer({ dataDir: dir, adminKey: key, capacity, port: 0, log: () => {}, testHooks: true });
    const { port } = await server.open();
    return { name, url: `http://127.0.0.1:${port}`, port, base: '', buffersBodies: false, close: async () => { await server.close(); cleanup(); } };
  }
  if (name === 'php') {
    const www = path.join(dir, 'www');
    installPHP(www, { key: opts.keyText ?? key, dataDir: opts.dataDir ?? path.join(dir, 'data'), basePath: '', capacity: opts.capacityText ?? capacity });
    const port = await freePort();
    let log = '';
    const proc = spawnGuarded('php', ['-d', 'display_errors=0', '-S', `127.0.0.1:${port}`, 'index.php'],
      { cwd: www, env: { ...process.env, PHP_CLI_SERVER_WORKERS: '4' } });
    proc.stdout!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
    proc.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
    await listening(port, proc, 'php -S', () => log);
    return {
      name, url: `http://127.0.0.1:${port}`, port, base: '', buffersBodies: true,
      close: async () => {
        await stop(proc);
        cleanup();
      },
      kill9: async () => {
        try {
          process.kill(-proc.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
        await stop(proc);
        cleanup();
      }
    };
  }
  // Apache 2.4, prefork + mod_php, its own config in the temp dir; the
  // shipped folder in /cc with its .htaccess, data outside the web root.
  const www = path.join(dir, 'www');
  const data = opts.dataDir ?? path.join(dir, 'data');
  installPHP(path.join(www, 'cc'), { key: opts.keyText ?? key, dataDir: data, basePath: '/cc', capacity: opts.capacityText ?? capacity });
  fs.mkdirSync(data, { recursive: true });
  const port = await freePort();
  const mods = '/usr/lib/apache2/modules';
  const conf = path.join(dir, 'httpd.conf');
  const limits = Object.entries(HOSTING_LIMITS).map(([k, v]) => `php_admin_value ${k} ${v}`).join('\n');
  fs.writeFileSync(conf, `ServerRoot ${dir}
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile ${dir}/httpd.pid
DefaultRuntimeDir ${dir}
Mutex file:${dir} default
ErrorLog ${dir}/error.log
LogLevel warn
User www-data
Group www-data
Timeout 30
KeepAlive On
LoadModule mpm_prefork_module ${mods}/mod_mpm_prefork.so
LoadModule authz_core_module ${mods}/mod_authz_core.so
LoadModule dir_module ${mods}/mod_dir.so
LoadModule mime_module ${mods}/mod_mime.so
LoadModule reqtimeout_module ${mods}/mod_reqtimeout.so
LoadModule rewrite_module ${mods}/mod_rewrite.so
LoadModule env_module ${mods}/mod_env.so
LoadModule php_module ${phpModule()}
StartServers 4
MinSpareServers 2
MaxSpareServers 8
MaxRequestWorkers 16
TypesConfig /etc/mime.types
AddHandler application/x-httpd-php .php
DocumentRoot ${www}
<Directory />
  AllowOverride None
  Require all denied
</Directory>
<Directory ${www}>
  AllowOverride All
  Require all granted
</Directory>
${limits}
php_admin_value display_errors 0
`);
  execFileSync('chown', ['-R', 'www-data:www-data', dir]);
  if (opts.dataDir && opts.ownData !== false)
    execFileSync('chown', ['-R', 'www-data:www-data', opts.dataDir]);
  let log = '';
  const proc = spawnGuarded(which('apache2')!, ['-f', conf, '-DFOREGROUND']);
  proc.stdout!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
  proc.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
  const errorLog = () => {
    try {
      return log + fs.readFileSync(path.join(dir, 'error.log'), 'utf8').slice(-4000);
    } catch {
      return log;
    }
  };
  await listening(port, proc, 'apache2', errorLog);
  return {
    name, url: `http://127.0.0.1:${port}/cc`, port, base: '/cc', buffersBodies: false,
    close: async () => {
      await stop(proc);
      cleanup();
    }
  };
}
