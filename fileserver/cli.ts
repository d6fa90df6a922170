/*!
 * cli.ts - `cloudcoin-fileserver --data-dir D --port P [--host H]
 * [--admin-key-file F] [--capacity SIZE] [--base-path /PREFIX] [--hash-threads N]`.
 *
 * Without an admin key (--admin-key-file FILE, CLOUDCOIN_ADMIN_KEY or,
 * with a warning, --admin-key) the key is read from D/admin.key, or created
 * there (mode 0600) and printed once on first start: the operator hands it
 * to the host's cloudcoind as its fileserver key.
 */

import * as fs from 'fs';
import * as path from 'path';
import { parseArgs } from 'util';
import { CodedError } from '../lib/base/errors';
import { flagWarning, resolveSecret } from '../lib/base/secrets';
import { mkdirDurable, parseAdminKey, readOrCreateAdminKey } from '../lib/storage';
import { DEFAULT_CAPACITY } from './common';
import { FileServer, parseBasePath } from './server';
import { parseSize } from '../lib/base/units';

const USAGE = `Usage: cloudcoin-fileserver --data-dir DIR [--port PORT] [--host HOST]
                            [--admin-key-file FILE] [--capacity SIZE] [--base-path /PREFIX]
                            [--hash-threads N]
  --data-dir   where contracts and objects are stored (created if missing)
  --port       TCP port (default 8480; 0 picks a free one)
  --host       address to bind (default 127.0.0.1; 0.0.0.0 for all)
  --admin-key-file  file holding the 64 hex admin key (or CLOUDCOIN_ADMIN_KEY;
               --admin-key works but shows the key to other users in ps);
               default: read or create DATA_DIR/admin.key
  --capacity   bytes of contract data to accept, e.g. 50GB (default 10GiB)
  --base-path  path prefix a reverse proxy forwards unchanged, e.g. /cc for
               https://host/cc (default none: the proxy strips it)
  --hash-threads  worker threads hashing uploads (default: one per core;
               0 hashes on the server's own thread, least CPU on a busy machine)`;

/** Thrown for user errors: printed as one line, exit code 1. */
class UsageError extends CodedError<'usage'> {
  constructor(message: string) {
    super('usage', message);
  }
}

/** [REJECT] a --data-dir that exists but is not a directory (or sits under a file). */
function checkDataDir(dataDir: string): void {
  let d = path.resolve(dataDir);
  for (;;) {
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(d);
    } catch {
      // missing: created once the port is bound
    }
    if (st) {
      if (!st.isDirectory())
        throw new UsageError(d === path.resolve(dataDir) ? `--data-dir ${dataDir} is a file, not a directory`
          : `--data-dir ${dataDir}: ${d} is a file, not a directory`);
      return;
    }
    const up = path.dirname(d);
    if (up === d)
      return;
    d = up;
  }
}

/** Reads, or creates and announces, the admin key. */
export function loadAdminKey(dataDir: string, given: string | undefined, print: (s: string) => void): Buffer {
  if (given !== undefined) {
    const key = parseAdminKey(given);
    if (!key)
      throw new UsageError('--admin-key must be 64 hex characters');
    return key;
  }
  let res: { key: Buffer; created: boolean; file: string };
  try {
    res = readOrCreateAdminKey(dataDir);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  if (res.created) {
    print(`admin key (stored in ${res.file}; give it to the host's cloudcoind as fileserver-key-file=FILE or CLOUDCOIN_FILESERVER_KEY):`);
    print(`  ${res.key.toString('hex')}`);
  }
  return res.key;
}

/** Parses flags, starts the server; resolves with it (tests) once listening. */
export async function main(argv: string[]): Promise<FileServer | null> {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'admin-key': { type: 'string' },
        'admin-key-file': { type: 'string' },
        capacity: { type: 'string' },
        'base-path': { type: 'string' },
        'hash-threads': { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      },
      strict: true
    });
    if (values.help) {
      out(USAGE);
      return null;
    }
    const dataDir = values['data-dir'];
    if (!dataDir)
      throw new UsageError('--data-dir is required');
    const portText = values.port ?? '8480';
    if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535)
      throw new UsageError('--port must be 0..65535');
    let capacity = DEFAULT_CAPACITY;
    if (values.capacity !== undefined) {
      const n = parseSize(values.capacity);
      if (n === null || n < 1)
        throw new UsageError('--capacity must be a size such as 50GB');
      capacity = n;
    }
    const basePath = parseBasePath(values['base-path'] ?? '');
    if (basePath === null)
      throw new UsageError('--base-path must be a path such as /cc');
    const threadsText = values['hash-threads'];
    if (threadsText !== undefined && (!/^[0-9]{1,2}$/.test(threadsText) || Number(threadsText) > 64))
      throw new UsageError('--hash-threads must be 0..64');
    checkDataDir(dataDir);
    const secret = resolveSecret('admin-key', { flag: values['admin-key'] ?? null, flagFile: values['admin-key-file'] ?? null });
    const given = secret?.value;
    if (given !== undefined && !parseAdminKey(given))
      throw new UsageError('--admin-key must be 64 hex characters');
    if (secret?.source === 'flag')
      process.stderr.write(`cloudcoin-fileserver: warning: ${flagWarning('admin-key', false)}\n`);
    const host = values.host ?? '127.0.0.1';
    // The key (and the data directory) only once the port is ours: a
    // server that cannot listen leaves nothing behind and prints no key.
    const adminKey = () => {
      // Not mkdirSync's recursive: in Node 20 it spins for ever under /proc.
      try {
        mkdirDurable(dataDir);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new UsageError(`cannot create --data-dir ${dataDir}: ${err.code ?? err.message} making ${err.path ?? dataDir}`);
      }
      return loadAdminKey(dataDir, given, out);
    };
    const server = new FileServer({
      dataDir, adminKey, capacity, host, port: Number(portText), basePath,
      hashThreads: threadsText === undefined ? undefined : Number(threadsText)
    });
    let addr: { host: string; port: number };
    try {
      addr = await server.open();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE')
        throw new UsageError(`port ${portText} on ${host} is already in use (another cloudcoin-fileserver?)`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
        throw new UsageError(`--host ${host} is not an address of this machine`);
      if (code === 'EACCES' && (e as NodeJS.ErrnoException).syscall === 'listen')
        throw new UsageError(`port ${portText} needs privileges; use a port above 1023`);
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
        throw new UsageError(`cannot write --data-dir ${dataDir} (${code})`);
      throw e;
    }
    out(`cloudcoin-fileserver listening on http://${addr.host}:${addr.port}${basePath} (data ${path.resolve(dataDir)})`);
    const stop = () => {
      server.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // The server must outlive any single bad request; log and carry on.
    process.on('uncaughtException', (e) => {
      process.stderr.write(`cloudcoin-fileserver: uncaught: ${e instanceof Error ? e.stack : String(e)}\n`);
    });
    return server;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`cloudcoin-fileserver: ${msg}\n`);
    // Unknown or malformed flags (parseArgs throws TypeError): show usage.
    if (e instanceof TypeError)
      process.stderr.write(`${USAGE}\n`);
    process.exitCode = 1;
    return null;
  }
}

if (require.main === module)
  void main(process.argv.slice(2));
