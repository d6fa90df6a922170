/*!
 * rpcfiles.ts - the one rule for RPCs that write a file the caller names
 * (dumpmnemonic, dumpwallet, backupwallet): keys and seeds.
 *
 * cloudcoind writes the file, not the caller, so a path means what it
 * means to the daemon. The rule, after bitcoind's dumpwallet (Bitcoin Core
 * RPC docs, dumpwallet: "a server-side file. This does not allow
 * overwriting existing files", "absolute path recommended", result "the
 * filename with full absolute path"; src/wallet/rpcdump.cpp answers an
 * existing path RPC_INVALID_PARAMETER "... already exists. If you are sure
 * this is what you want, move it out of the way first"):
 * - the path must be absolute. bitcoind resolves a relative one against
 *   its own working directory, which the caller cannot see (its reviewers
 *   called that a poor API when the absolute path was added to the reply,
 *   bitcoin/bitcoin#9740); a seed written into a git checkout next to the
 *   daemon is easily committed, so cloudcoind refuses and says its cwd;
 * - an existing path (file, folder or link) is never overwritten or
 *   written into: -8 with bitcoind's words;
 * - any other failure is one line naming the path and the reason, -8
 *   as bitcoind's "Cannot open wallet dump file", never a raw errno
 *   answered as an internal error (-32603).
 */

import * as fs from 'fs';
import * as path from 'path';
import { RPCError, invalidParam } from '../base/errors';
import { strParam } from '../base/rpc';
import { fsyncDir, fsyncFile } from '../storage/fsutil';

/**
 * The normalised absolute path of param `value` (named `label` in errors)
 * for a new file or folder, its parent checked to be a folder.
 * @throws RPCError -8: not a non-empty string, relative, existing, or no parent folder
 */
export function newServerPath(value: unknown, label: string): string {
  const given = strParam(value, label);
  if (!path.isAbsolute(given)) {
    throw invalidParam(`${label} must be an absolute path (cloudcoind writes it, in its own working directory `
      + `${process.cwd()}), got "${given}"`);
  }
  const target = path.normalize(given);
  refuseExisting(target);
  let parent: fs.Stats;
  try {
    parent = fs.statSync(path.dirname(target));
  } catch (e) {
    throw writeError(e, target);
  }
  if (!parent.isDirectory())
    throw invalidParam(`${path.dirname(target)} is not a directory`);
  return target;
}

/** bitcoind's refusal of an existing dump target (lstat: a dangling link counts too). */
function refuseExisting(target: string): void {
  let exists = true;
  try {
    fs.lstatSync(target);
  } catch {
    exists = false;
  }
  if (exists)
    throw alreadyExists(target);
}

function alreadyExists(target: string): RPCError {
  return invalidParam(`${target} already exists. If you are sure this is what you want, move it out of the way first`);
}

/** One line for an errno met creating `target` (its folder missing, no permission...). */
export function writeError(e: unknown, target: string): RPCError {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EEXIST':
      return alreadyExists(target);
    case 'ENOENT':
      // An existing folder that answers ENOENT is a pseudo filesystem (/proc).
      return invalidParam(fs.existsSync(path.dirname(target)) ? `${path.dirname(target)} does not accept new files (ENOENT)`
        : `directory ${path.dirname(target)} does not exist`);
    case 'ENOTDIR':
      return invalidParam(`a parent of ${target} is not a directory`);
    case 'EACCES':
    case 'EPERM':
      return invalidParam(`permission denied writing ${target}`);
    case 'EROFS':
      return invalidParam(`${path.dirname(target)} is read-only`);
    case 'ENOSPC':
      return invalidParam(`no space left on the device writing ${target}`);
    default:
      return invalidParam(`cannot write ${target}: ${code ?? (e as Error).message}`);
  }
}

/**
 * Claim `target` as a new empty file readable by its owner only (0600):
 * O_EXCL, so a file that appeared since the check is not overwritten
 * either. The caller fills it and calls `finishNewFile`, or `dropNewFile`
 * when filling it failed.
 * @throws RPCError -8 (writeError)
 */
export function claimNewFile(target: string): void {
  try {
    fs.closeSync(fs.openSync(target, 'wx', 0o600));
  } catch (e) {
    throw writeError(e, target);
  }
}

/**
 * Claim `target` as a new empty folder (0700): a folder that appeared
 * since the check is not written into. Filled by the caller.
 * @throws RPCError -8 (writeError)
 */
export function claimNewFolder(target: string): void {
  try {
    fs.mkdirSync(target, 0o700);
  } catch (e) {
    throw writeError(e, target);
  }
}

/** fsync the folder holding a filled new folder (its own files are the filler's to sync). */
export function finishNewFolder(target: string): void {
  fsyncDir(path.dirname(target));
}

/** fsync the filled file and its folder: a dump reported written survives a crash. */
export function finishNewFile(target: string): void {
  fsyncFile(target);
  fsyncDir(path.dirname(target));
}

/** Remove a claimed file that could not be filled (best effort: the error that led here is the one to report). */
export function dropNewFile(target: string): void {
  fs.rmSync(target, { force: true });
}

/** Write `data` to the new file `target` (0600, never over an existing one), durably. */
export function writeNewFile(target: string, data: string): void {
  claimNewFile(target);
  try {
    fs.writeFileSync(target, data);
  } catch (e) {
    dropNewFile(target);
    throw writeError(e, target);
  }
  finishNewFile(target);
}
