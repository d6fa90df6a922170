/*!
 * plugin.ts - the hosting extension: which backend holds renters' bytes
 * inside cloudcoind, built from explicit, validated options.
 *
 * `--host` alone keeps data in a local directory; with `--fileserver URL
 * --fileserver-key K` a standalone file server holds it instead. The deals
 * extension reaches the active backend through `Hosting#backend`.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { NodeAPI, OptionSpec } from '../base/extension';
import { formatSize } from '../base/units';
import { parseAdminKey } from '../storage';
import type { BackendInfo, StorageBackend } from './backend';
import { DEFAULT_HOST_CAPACITY, LOOPBACK_HOST } from './common';
import { HostingConfigError } from './errors';
import { LocalBackend } from './localbackend';
import { RemoteBackend } from './remotebackend';

/** Flags and cloudcoin.conf keys the hosting extension reads. */
export const options: OptionSpec[] = [
  { name: 'host', type: 'bool', description: 'Rent out disk space: keep renters\' data and answer audits' },
  { name: 'host-dir', type: 'string', placeholder: '<dir>', description: 'Directory for hosted data (relative to the datadir)', defaultText: '<datadir>/hostdata' },
  { name: 'host-capacity', type: 'size', placeholder: '<bytes>', description: 'Space offered to renters, e.g. 50GB', defaultText: '10GiB' },
  { name: 'host-http', type: 'string', placeholder: '<host:port>', description: 'Serve renters\' data API for --host-dir from this node on HOST:PORT (e.g. 0.0.0.0:8480)', defaultText: 'a free port on 127.0.0.1' },
  { name: 'host-url', type: 'string', placeholder: '<url>', description: 'URL renters use for --host-http (e.g. behind a reverse proxy)', defaultText: 'http://HOST:PORT' },
  { name: 'fileserver', type: 'string', placeholder: '<url>', description: 'Keep hosted data on this cloudcoin-fileserver (URL) instead of --host-dir' },
  { name: 'fileserver-key', type: 'string', placeholder: '<hex>', secret: true, description: 'Admin key of --fileserver (64 hex, printed by the file server on first start)' }
];

/** Validated hosting options. */
export class HostingOptions {
  host = false;
  hostDir = '';
  /** True if hostDir is a throwaway directory (--memory without --host-dir). */
  tempDir = false;
  capacity = DEFAULT_HOST_CAPACITY;
  fileserver: string | null = null;
  fileserverKey: Buffer | null = null;
  /** Where the local backend serves the data API, or null. */
  http: { host: string; port: number } | null = null;
  /** URL advertised to renters for the local data API. */
  publicURL: string | null = null;

  /**
   * @param raw values as read from flags / cloudcoin.conf
   * @param datadir the node's network datadir (default host-dir is under it)
   * @param memory true with --memory: a default host-dir goes to a temp dir
   */
  static from(raw: {
    host: boolean; hostDir: string | null; capacity: number | null; fileserver: string | null;
    fileserverKey: string | null; hostHTTP?: string | null; hostURL?: string | null;
  }, datadir: string, memory: boolean): HostingOptions {
    const o = new HostingOptions();
    o.host = raw.host;
    const hostHTTP = raw.hostHTTP ?? null;
    const hostURL = raw.hostURL ?? null;
    if (!o.host) {
      if (raw.fileserver !== null || raw.fileserverKey !== null || hostHTTP !== null || hostURL !== null)
        throw new HostingConfigError('--fileserver, --fileserver-key, --host-http and --host-url need --host.');
      return o;
    }
    if (hostHTTP !== null) {
      const m = /^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+):([0-9]{1,5})$/.exec(hostHTTP);
      if (!m || Number(m[2]) > 65535)
        throw new HostingConfigError(`--host-http must be host:port such as 0.0.0.0:8480, got "${hostHTTP}".`);
      o.http = { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
    }
    if (hostURL !== null) {
      if (hostHTTP === null)
        throw new HostingConfigError('--host-url needs --host-http.');
      if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(hostURL))
        throw new HostingConfigError('--host-url must be an http:// or https:// URL.');
      o.publicURL = hostURL.replace(/\/+$/, '');
    }
    if (raw.capacity !== null) {
      if (raw.capacity < 1)
        throw new HostingConfigError('--host-capacity must be a size such as 10GB.');
      o.capacity = raw.capacity;
    }
    if (raw.hostDir !== null) {
      o.hostDir = path.resolve(datadir, raw.hostDir);
    } else if (memory) {
      o.hostDir = path.join(os.tmpdir(), `cloudcoin-hostdata-${process.pid}-${Date.now()}`);
      o.tempDir = true;
    } else {
      o.hostDir = path.join(datadir, 'hostdata');
    }
    if (raw.fileserver !== null) {
      let url: URL;
      try {
        url = new URL(raw.fileserver);
      } catch {
        throw new HostingConfigError(`--fileserver must be a URL such as https://files.example.com, got "${raw.fileserver}".`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new HostingConfigError('--fileserver must be an http:// or https:// URL.');
      if (raw.fileserverKey === null)
        throw new HostingConfigError('--fileserver needs --fileserver-key (the file server prints it on first start).');
      const key = parseAdminKey(raw.fileserverKey);
      if (!key)
        throw new HostingConfigError('--fileserver-key must be 64 hex characters.');
      o.fileserver = url.toString().replace(/\/+$/, '');
      o.fileserverKey = key;
      if (hostHTTP !== null)
        throw new HostingConfigError('--host-http serves --host-dir; with --fileserver the file server serves renters.');
    } else if (raw.fileserverKey !== null) {
      throw new HostingConfigError('--fileserver-key needs --fileserver.');
    }
    // Renters need a data API: without --host-http a local host dir is
    // served on a free loopback port, so `cloudcoind --host` works as is.
    if (!o.fileserver && !o.http)
      o.http = { host: '127.0.0.1', port: 0 };
    return o;
  }
}

/** Minimal logger the hosting extension needs. */
export interface HostingLogger {
  info(fmt: string, ...args: unknown[]): void;
  warning(fmt: string, ...args: unknown[]): void;
}

/**
 * Why a local backend cannot keep its capacity, or null: what it still
 * offers (the capacity less the bytes already stored there) is more than
 * the free space of its folder's disk, so renters would be sold space
 * that fails with disk-full (hostd warns alike for a storage folder
 * larger than its disk). Only a warning: the disk may be grown later.
 */
export function diskWarning(info: BackendInfo): string | null {
  if (info.kind !== 'local' || !info.dir || info.capacity === null)
    return null;
  let free: number;
  try {
    const st = fs.statfsSync(info.dir);
    free = st.bavail * st.bsize;
  } catch {
    return null;
  }
  const used = info.used ?? 0;
  if (info.capacity - used <= free)
    return null;
  return `capacity ${formatSize(info.capacity)} (--host-capacity) is more than the disk of ${info.dir} can hold: ${formatSize(free)} free`
    + `${used > 0 ? ` besides the ${formatSize(used)} stored` : ''}; renters may be sold space this host cannot store `
    + '(lower --host-capacity or free space)';
}

/** Hosting options from the node's flags and cloudcoin.conf. */
export function hostingOptions(api: NodeAPI): HostingOptions {
  return HostingOptions.from({
    host: api.config.bool('host', false),
    hostDir: api.config.str('host-dir'),
    capacity: api.config.size('host-capacity'),
    fileserver: api.config.str('fileserver'),
    fileserverKey: api.config.str('fileserver-key'),
    hostHTTP: api.config.str('host-http'),
    hostURL: api.config.str('host-url')
  }, api.datadir, api.memory);
}

/** The running hosting extension. */
export class Hosting {
  readonly options: HostingOptions;
  readonly backends: StorageBackend[] = [];
  private readonly logger: HostingLogger;
  /** Warnings found at open (in debug.log then), repeated on the console by banner(). */
  private readonly openWarnings: string[] = [];

  constructor(options: HostingOptions, logger: HostingLogger) {
    this.options = options;
    this.logger = logger;
    if (!options.host)
      return;
    if (options.fileserver && options.fileserverKey)
      this.backends.push(new RemoteBackend({ url: options.fileserver, adminKey: options.fileserverKey }));
    else
      this.backends.push(new LocalBackend({ dir: options.hostDir, capacity: options.capacity, http: options.http, publicURL: options.publicURL }));
  }

  /** The backend new contracts go to, or null when not hosting. */
  get backend(): StorageBackend | null {
    return this.backends[0] ?? null;
  }

  async open(): Promise<void> {
    for (const b of this.backends)
      await b.open();
    for (const info of await this.info()) {
      const where = info.kind === 'local' ? `${info.dir}${info.url ? ` (data API ${info.url})` : ''}` : info.url;
      if (info.healthy)
        this.logger.info('hosting: %s backend %s ready (capacity %d bytes)', info.kind, where, info.capacity);
      else
        this.logger.warning('hosting: %s backend %s unhealthy: %s', info.kind, where, info.error);
      const disk = diskWarning(info);
      if (disk !== null) {
        this.logger.warning('hosting: %s', disk);
        this.openWarnings.push(`warning: hosting ${disk}`);
      }
    }
    if (this.options.fileserver && new URL(this.options.fileserver).protocol === 'http:'
      && !LOOPBACK_HOST.test(new URL(this.options.fileserver).hostname))
      this.logger.warning('hosting: %s is plain http: renters need https except on localhost', this.options.fileserver);
  }

  /**
   * Lines for cloudcoind's start-up banner: each backend with its health
   * and capacity, and a warning line for each unhealthy one (an unreachable
   * --fileserver must be seen on the console, not only in debug.log).
   */
  async banner(): Promise<{ lines: string[]; warnings: string[] }> {
    const lines: string[] = [];
    const warnings: string[] = [];
    const gib = (n: number | null) => (n === null ? '?' : `${(n / 2 ** 30).toFixed(2)} GiB`);
    for (const info of await this.info()) {
      const where = info.kind === 'local' ? `${info.dir}${info.url ? `, data API ${info.url}` : ', no data API'}` : info.url;
      if (info.healthy) {
        lines.push(`hosting:    ${info.kind} ${where} (capacity ${gib(info.capacity)}, reserved ${gib(info.reserved)}, `
          + `${info.contracts ?? 0} contracts)`);
      } else {
        lines.push(`hosting:    ${info.kind} ${where} (UNHEALTHY)`);
        warnings.push(`warning: hosting backend ${where} is unhealthy: ${info.error ?? 'unknown error'}; `
          + 'renters cannot store here until it answers (see getfileservers)');
      }
    }
    return { lines, warnings: [...warnings, ...this.openWarnings] };
  }

  async close(): Promise<void> {
    for (const b of this.backends)
      await b.close();
    if (this.options.tempDir)
      fs.rmSync(this.options.hostDir, { recursive: true, force: true });
  }

  /** Health and usage of every backend (each checked now). */
  info(): Promise<BackendInfo[]> {
    return Promise.all(this.backends.map(b => b.check()));
  }
}
