/*!
 * datadir.ts - where cloudcoind keeps its data, bitcoind style.
 *
 * `--datadir D` (default ~/.cloudcoin) holds cloudcoin.conf; each network
 * but main gets a subfolder (`D/regtest`) for chain, wallet, indexes,
 * debug.log and the RPC cookie.
 *
 * The network folder holds keys (wallet, cookie, hosted data's admin key),
 * so it is the owner's alone: cloudcoind runs with umask 077 (as bitcoind
 * does), and opening a node tightens folders that an older version or a
 * looser umask left readable by others. One process at a time may use it:
 * DatadirLock holds a leveldb LOCK (an fcntl lock the kernel drops when the
 * process dies, so a crash leaves no stale lock). A refused attempt changes
 * nothing but the lock folder's own leveldb LOG, which leveldb rotates
 * before it tries the lock.
 */

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type leveldown = require('leveldown');
import { CodedError } from '../base/errors';
import { mkdirDurable } from '../storage/fsutil';

export const NETWORKS = ['main', 'testnet', 'regtest', 'simnet'] as const;
export type NetworkName = typeof NETWORKS[number];

/** Default rpc ports per network (bcoin's defaults). */
export const RPC_PORTS: Record<NetworkName, number> = {
  main: 8332,
  testnet: 18332,
  regtest: 48332,
  simnet: 18556
};

export function defaultDatadir(): string {
  return path.join(os.homedir(), '.cloudcoin');
}

/** Network-specific data directory under a base datadir. */
export function networkDir(base: string, network: NetworkName): string {
  return network === 'main' ? base : path.join(base, network);
}

export function isNetwork(name: string): name is NetworkName {
  return (NETWORKS as readonly string[]).includes(name);
}

/** Why a datadir cannot be used. */
export type DatadirCode = 'datadir-in-use' | 'datadir-unusable';

/** The datadir is locked by another process, or cannot be created. */
export class DatadirError extends CodedError<DatadirCode> {}

/** What an errno from mkdir means for the folder that could not be made. */
function mkdirReason(code: string | undefined, parent: string): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied in ${parent}`;
    case 'EROFS':
      return `${parent} is read-only`;
    case 'ENOTDIR':
      return `${parent} is not a directory`;
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      // ENOENT with an existing parent: a pseudo filesystem such as /proc.
      return `${parent} does not accept new folders (${code ?? 'unknown error'})`;
  }
}

/**
 * Create `dir` and its missing parents (0700) without Node 20's recursive
 * mkdir, which spins for ever under /proc (storage/fsutil.ts mkdirDurable).
 * @throws DatadirError 'datadir-unusable', one line naming the folder and why
 */
export function makeDatadir(dir: string): void {
  try {
    mkdirDurable(dir, 0o700);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new DatadirError('datadir-unusable',
      `cannot create ${dir}: ${mkdirReason(err.code, path.dirname(err.path ?? dir))}`);
  }
  if (!fs.statSync(dir).isDirectory())
    throw new DatadirError('datadir-unusable', `${dir} is not a directory`);
}

/** Permission bits for group and others: none of them in a datadir. */
const GROUP_OTHER = 0o077;

/**
 * Make `dir` (created 0700 if missing) and the listed files owner-only.
 * With `recursive`, every folder and file below is tightened too, but
 * only when `dir` itself was open to others: a 0700 folder already hides
 * what it holds, and hosted data can be millions of files.
 * @returns how many entries lost group/other bits
 */
export function secureDir(dir: string, options: { files?: string[]; recursive?: boolean } = {}): number {
  makeDatadir(dir);
  let count = 0;
  const tighten = (file: string, st: fs.Stats): void => {
    if ((st.mode & GROUP_OTHER) === 0)
      return;
    fs.chmodSync(file, st.mode & 0o7700);
    count += 1;
  };
  const top = fs.statSync(dir);
  if (!top.isDirectory())
    throw new DatadirError('datadir-unusable', `${dir} is not a directory`);
  const walk = options.recursive === true && (top.mode & GROUP_OTHER) !== 0;
  tighten(dir, top);
  for (const name of options.files ?? []) {
    const file = path.join(dir, name);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(file);
    } catch {
      continue;
    }
    if (st.isFile())
      tighten(file, st);
  }
  if (walk) {
    const stack = [dir];
    while (stack.length > 0) {
      const d = stack.pop()!;
      for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
        // Symlinks are not followed: what they point at is not ours to change.
        if (!ent.isDirectory() && !ent.isFile())
          continue;
        const file = path.join(d, ent.name);
        tighten(file, fs.lstatSync(file));
        if (ent.isDirectory())
          stack.push(file);
      }
    }
  }
  return count;
}

/** Folder under a network datadir whose leveldb LOCK is the datadir lock. */
export const LOCK_DIR = '.lock';

/**
 * Exclusive use of a network datadir by one node, taken before anything
 * in it is written (a second cloudcoind must not touch the first one's
 * cookie or databases).
 */
export class DatadirLock {
  readonly dir: string;
  private db: leveldown.LevelDOWN | null;

  private constructor(dir: string, db: leveldown.LevelDOWN) {
    this.dir = dir;
    this.db = db;
  }

  /**
   * Lock `dir` (which must exist).
   * @throws DatadirError `datadir-in-use` when another node holds it
   */
  static async acquire(dir: string): Promise<DatadirLock> {
    // Required here, not at load: cloudcoin-cli reads this module for its
    // network paths and never locks, and leveldown's native binding is a
    // large part of a CLI start.
    const open = require('leveldown') as typeof leveldown;
    const db = open(path.join(dir, LOCK_DIR));
    await new Promise<void>((resolve, reject) => {
      db.open({ createIfMissing: true }, (err) => {
        if (!err) {
          resolve();
          return;
        }
        // leveldb: "lock .../LOCK: Resource temporarily unavailable" from
        // another process, "already held by process" from this one.
        if (/\bLOCK\b/.test(err.message) && /unavailable|already held|locked/i.test(err.message))
          reject(new DatadirError('datadir-in-use', `another cloudcoind is using ${dir}`));
        else
          reject(new DatadirError('datadir-unusable', `cannot lock ${dir}: ${err.message}`));
      });
    });
    return new DatadirLock(dir, db);
  }

  /** Let another node use the datadir. */
  async release(): Promise<void> {
    const db = this.db;
    if (!db)
      return;
    this.db = null;
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}
