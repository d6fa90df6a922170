// Helpers for file server tests: raw HTTP calls (to send bad input on
// purpose), signed admin calls, an in-process server on a free port, and a
// file server child process.
import * as http from 'http';
import * as net from 'net';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { signAdmin } from '../../lib/storage';
import { FileServer } from '../../fileserver/server';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json: { error?: { code: string; [k: string]: unknown }; [k: string]: unknown };
}

export interface RawOptions {
  headers?: Record<string, string | number>;
  body?: Buffer;
  /** Send only this many body bytes, then destroy the socket. */
  cutAfter?: number;
}

/** One raw HTTP request to 127.0.0.1:port. */
export function raw(port: number, method: string, p: string, opts: RawOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers: opts.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const body = Buffer.concat(parts);
        let json = {};
        if ((res.headers['content-type'] || '').includes('json')) {
          try {
            json = JSON.parse(body.toString());
          } catch {
            json = {};
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.cutAfter !== undefined && opts.body) {
      req.write(opts.body.subarray(0, opts.cutAfter), () => {
        setImmediate(() => {
          req.destroy();
          resolve({ status: 0, headers: {}, body: Buffer.alloc(0), json: {} });
        });
      });
      return;
    }
    if (opts.body)
      req.end(opts.body);
    else
      req.end();
  });
}

/**
 * Writes `data` on a raw socket to 127.0.0.1:port and collects the answer
 * (latin1) until the server closes, `until` matches (then the socket is
 * ended), or `limitMs` passes. `end` half-closes after writing.
 */
export function exchange(port: number, data: Buffer | string,
  opts: { end?: boolean; until?: (text: string) => boolean; limitMs?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (b: Buffer) => {
      got += b.toString('latin1');
      if (opts.until?.(got))
        s.end();
    });
    s.on('error', () => resolve(got));
    s.on('close', () => resolve(got));
    setTimeout(() => s.destroy(), opts.limitMs ?? 15000).unref();
    if (opts.end)
      s.end(data);
    else
      s.write(data);
  });
}

/** A signed admin call. */
export function admin(port: number, key: Buffer, method: string, p: string, json?: unknown,
  opts: { time?: number; nonce?: string } = {}): Promise<Reply> {
  const body = json === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(json));
  const headers = signAdmin(key, method, p, body, opts.time ?? Math.floor(Date.now() / 1000),
    opts.nonce ?? randomBytes(16).toString('hex'));
  return raw(port, method, p, { headers: { ...headers, 'content-length': body.length }, body });
}

/** A temp dir removed at teardown. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** An in-process file server on a free loopback port. */
export async function startServer(dataDir: string, adminKey: Buffer, opts: { capacity?: number; now?: () => number; hashThreads?: number } = {}):
  Promise<{ server: FileServer; port: number }> {
  const server = new FileServer({ dataDir, adminKey, capacity: opts.capacity, now: opts.now, hashThreads: opts.hashThreads, port: 0, log: () => {} });
  const { port } = await server.open();
  return { server, port };
}

/** A file server child process (run from source with tsx). */
export class ServerProcess {
  proc!: ChildProcess;
  port = 0;
  stdout = '';

  /** @param dist run the built dist/fileserver/cli.js (what bin/ runs) instead of the source under tsx */
  constructor(readonly dataDir: string, readonly args: string[] = [], readonly dist = false) {}

  start(timeoutMs = 20000): Promise<number> {
    this.stdout = '';
    this.port = 0;
    const entry = this.dist ? [path.join(ROOT, 'dist', 'fileserver', 'cli.js')]
      : ['--import', 'tsx', path.join(ROOT, 'fileserver', 'cli.ts')];
    this.proc = spawn(process.execPath, [...entry,
      '--data-dir', this.dataDir, '--port', '0', ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT,
      // tap's NODE_OPTIONS loaders are for the test process, not the server.
      env: { ...process.env, NODE_OPTIONS: '' }
    });
    let stderr = '';
    this.proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`file server did not start in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
      this.proc.stdout!.on('data', (d: Buffer) => {
        this.stdout += d.toString();
        const m = /listening on http:\/\/[^:]+:(\d+)/.exec(this.stdout);
        if (m && !this.port) {
          clearTimeout(timer);
          this.port = Number(m[1]);
          resolve(this.port);
        }
      });
      this.proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`file server exited with ${code}: ${stderr}`));
      });
    });
  }

  /** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM). */
  memory(field: 'VmRSS' | 'VmHWM'): number {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${this.proc.pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  }

  /** Kills with SIGKILL and waits for the exit. */
  kill9(): Promise<void> {
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null)
        return resolve();
      this.proc.once('exit', () => resolve());
      this.proc.kill('SIGKILL');
    });
  }

  async restart(): Promise<number> {
    await this.kill9();
    this.port = 0;
    return this.start();
  }
}
