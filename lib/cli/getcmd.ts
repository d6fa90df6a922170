/*!
 * getcmd.ts - `cloudcoin-cli get FILE_ID OUT`: where the file goes.
 *
 * The destination is checked before anything is downloaded: `-` is
 * standard output; a symlink is written through (its target replaced,
 * the link kept); a FIFO, a device or a /dev or /proc path (/dev/stdout)
 * is written to as a stream; an
 * existing directory, a missing directory or one we cannot write to is
 * one clear line. An existing regular file is refused unless `--force`
 * (rclone's and curl's no-clobber default: a typo must not cost a file).
 * The file is decrypted next to its destination and only then moved
 * there (linked without --force, so a file that appeared meanwhile is
 * still refused; renamed over the old one with it), so an interrupted get
 * leaves the old file intact and no partial download behind.
 */

import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { formatSize } from '../base/units';
import { CommandError, command, hexIdArg, renterClient, short, uintOpt, type CommandContext } from './cmdutil';
import { ProgressBar } from './progress';
import { nameArg } from './rawargs';
import { withScratch } from './scratch';

/** Where get writes: a regular file (placed whole, replacing one only when `replace`) or a stream. */
export type Destination =
  | { kind: 'file'; path: string; replace: boolean }
  | { kind: 'stream'; path: string | null };

/** Names of this process's standard output. */
const STDOUT_PATH = /^\/(dev\/stdout|dev\/fd\/1|proc\/self\/fd\/1)$/;

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? 'error';
}

/** A new file's directory must exist and be writable. */
function checkParent(out: string, file: string): void {
  const dir = path.dirname(file);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw new CommandError('bad-destination', `cannot write ${out}: ${errno(e) === 'ENOENT' ? `directory ${dir} does not exist` : `${dir}: ${errno(e)}`}`);
  }
  if (!st.isDirectory())
    throw new CommandError('bad-destination', `cannot write ${out}: ${dir} is not a directory`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new CommandError('bad-destination', `cannot write ${out}: no permission to write in ${dir}`);
  }
}

/** The one line for a destination that is already a file. */
function exists(out: string): CommandError {
  return new CommandError('destination-exists', `${out} already exists: give --force to replace it`);
}

/**
 * Decide where `out` goes, or fail with one line, before any download.
 * @param force replace an existing regular file (else refused: `destination-exists`)
 */
export function resolveDestination(out: string, force = false): Destination {
  if (out === '-')
    return { kind: 'stream', path: null };
  const abs = path.resolve(out);
  // /dev/stdout, /proc/self/fd/N and the like name an open file: write
  // through them in place (a rename would detach the caller's descriptor).
  if (/^\/(dev|proc)\//.test(abs))
    return { kind: 'stream', path: abs };
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    if (errno(e) === 'ENOTDIR')
      throw new CommandError('bad-destination', `cannot write ${out}: a parent of it is not a directory`);
    if (errno(e) !== 'ENOENT')
      throw new CommandError('bad-destination', `cannot write ${out}: ${errno(e)}`);
  }
  if (st && st.isDirectory())
    throw new CommandError('bad-destination', `${out} is a directory: give the file name to write`);
  if (st && !st.isFile())
    return { kind: 'stream', path: abs };
  if (st && !force)
    throw exists(out);
  // A regular file (through any links), or a new one: replaced atomically where the links lead.
  const target = st ? fs.realpathSync(abs) : linkTarget(out, abs);
  checkParent(out, target);
  if (st) {
    try {
      fs.accessSync(target, fs.constants.W_OK);
    } catch {
      throw new CommandError('bad-destination', `cannot write ${out}: permission denied`);
    }
  }
  return { kind: 'file', path: target, replace: force };
}

/** Where a path that does not exist yet leads: through dangling symlinks to the file to create. */
function linkTarget(out: string, abs: string): string {
  let target = abs;
  for (let hops = 0; hops < 40; hops++) {
    let lst: fs.Stats;
    try {
      lst = fs.lstatSync(target);
    } catch {
      return target;
    }
    if (!lst.isSymbolicLink())
      return target;
    target = path.resolve(path.dirname(target), fs.readlinkSync(target));
  }
  throw new CommandError('bad-destination', `cannot write ${out}: too many levels of symbolic links`);
}

/** get FILE_ID OUT | get NAME OUT --rev N: download from any live host, verify, decrypt. */
export async function getCommand(ctx: CommandContext, argv: string[]): Promise<void> {
  const cmd = command('get', 'Download a stored file from any live host, verify it against its Merkle root and decrypt it.')
    .argument('<fileid>', 'file id printed by put (or a unique prefix of at least 4 hex digits); with --rev, the file\'s name')
    .argument('<out>', 'where to write the file (refused if it exists, unless --force); - for standard output')
    .option('--force', 'replace OUT if it is an existing file (atomically: the old file stays until the new one is whole)')
    .option('--rev <n>', 'version N of the name given instead of a file id (cloudcoin-cli log NAME lists them)')
    .option('--json', 'print JSON');
  cmd.parse(argv, { from: 'user' });
  let [fileId, out] = cmd.args;
  if (cmd.opts().rev !== undefined) {
    const rev = uintOpt(cmd.opts().rev, '--rev', 0, 0xffffffff);
    fileId = (await renterClient(ctx).version(nameArg(fileId), rev)).fileId;
  }
  hexIdArg(fileId, 'file id');
  const dest = resolveDestination(out, !!cmd.opts().force);
  // With the file on standard output, the report goes to standard error.
  const toStdout = dest.kind === 'stream' && (dest.path === null || STDOUT_PATH.test(dest.path));
  const report = toStdout ? (line: string) => ctx.err.write(line + '\n') : ctx.out;
  const res = await withScratch(async (scratch) => {
    let bar: ProgressBar | null = null;
    const client = renterClient(ctx);
    Object.assign(client.events, {
      downloadStart: (total: number) => { bar = new ProgressBar('download', total, ctx.err); },
      downloaded: (n: number) => bar?.tick(n)
    });
    const work = scratch.dir('.cloudcoin-get-', dest.kind === 'file' ? path.dirname(dest.path) : undefined);
    const got = await client.get(fileId, work);
    (bar as ProgressBar | null)?.finish();
    await place(ctx, got.path, dest, out);
    return got;
  });
  const json = { fileId: res.fileId, out, size: res.size, contract: res.contract, host: res.host,
    ...(res.shardsUsed ? { shardsUsed: res.shardsUsed, shardsFailed: res.shardsFailed } : {}) };
  const from = res.shardsUsed
    ? `rebuilt from shards ${res.shardsUsed.join(', ')}${res.shardsFailed?.length ? ` (${res.shardsFailed.length} shard fetch(es) failed)` : ''}, every shard's root verified`
    : `from contract ${short(res.contract)} on ${res.host}, root verified`;
  report(cmd.opts().json ? JSON.stringify(json, null, 2) : `wrote ${out} (${formatSize(res.size)}) ${from}`);
}

/** Move or copy the decrypted file to its destination (`out` as typed, for the error). */
async function place(ctx: CommandContext, plain: string, dest: Destination, out: string): Promise<void> {
  if (dest.kind === 'file') {
    if (dest.replace) {
      fs.renameSync(plain, dest.path);
      return;
    }
    // A hard link fails with EEXIST if a file took the name during the
    // download, where a rename would replace it without a word.
    try {
      fs.linkSync(plain, dest.path);
    } catch (e) {
      if (errno(e) === 'EEXIST')
        throw exists(out);
      // A file system without hard links (FAT, some FUSE mounts): check, then rename.
      if (fs.existsSync(dest.path))
        throw exists(out);
      fs.renameSync(plain, dest.path);
    }
    return;
  }
  // Our own standard output may be a socket, which cannot be opened by name.
  const own = dest.path === null || STDOUT_PATH.test(dest.path);
  const sink = own ? (ctx.stdout ?? process.stdout) : fs.createWriteStream(dest.path as string, { flags: 'w' });
  await pipeline(fs.createReadStream(plain), sink, { end: !own });
}
