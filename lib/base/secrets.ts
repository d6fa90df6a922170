/*!
 * secrets.ts - keys and passwords from a file, the environment or a conf
 * file, never from the command line.
 *
 * Any local user can read another's command line (`ps`, /proc/PID/cmdline),
 * so every secret a CloudCoin program takes (cloudcoind's --api-key,
 * --wallet-passphrase and --fileserver-key, cloudcoin-cli's --api-key, the
 * file server's --admin-key) has three other sources, in this order after
 * the flag:
 *
 *   --NAME-file FILE      the first line of FILE (a trailing newline is dropped)
 *   CLOUDCOIN_NAME        an environment variable (dashes as underscores)
 *   NAME= / NAME-file=    cloudcoin.conf (the daemon and the CLI read it)
 *
 * The flag itself still works, with a warning. Imports nothing of ours but
 * errors.ts, so the file server can use it.
 */

import * as fs from 'fs';
import { CodedError } from './errors';

/** Why a secret could not be read. */
export type SecretCode = 'secret-conflict' | 'secret-empty' | 'secret-unreadable';

/** A secret source that cannot be used: one line for the user. */
export class SecretError extends CodedError<SecretCode> {}

/** Largest secret file read (a key or passphrase is far smaller). */
export const MAX_SECRET_FILE = 64 * 1024;

/** Environment variable of a secret: `api-key` -> `CLOUDCOIN_API_KEY`. */
export function secretEnvName(name: string): string {
  return `CLOUDCOIN_${name.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * A secret file's first line (without its line ending).
 * @param what how the user gave the file, for the error (`--api-key-file`)
 * @throws SecretError unreadable, too big or empty
 */
export function readSecretFile(file: string, what: string): string {
  let data: Buffer;
  try {
    const st = fs.statSync(file);
    if (!st.isFile() && !st.isFIFO() && !st.isCharacterDevice())
      throw new SecretError('secret-unreadable', `${what} ${file} is not a file`);
    if (st.isFile() && st.size > MAX_SECRET_FILE)
      throw new SecretError('secret-unreadable', `${what} ${file} is larger than ${MAX_SECRET_FILE} bytes: not a key file`);
    data = fs.readFileSync(file);
  } catch (e) {
    if (e instanceof SecretError)
      throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? 'unreadable';
    throw new SecretError('secret-unreadable', `cannot read ${what} ${file}: ${why}`);
  }
  const line = data.toString('utf8').split(/\r?\n/)[0];
  if (line.length === 0)
    throw new SecretError('secret-empty', `${what} ${file} is empty`);
  return line;
}

/** Where a secret came from. */
export type SecretSource = 'flag' | 'file' | 'env' | 'conf';

/** What a program found for one secret, each possibly missing. */
export interface SecretInputs {
  /** `--NAME VALUE` on the command line. */
  flag?: string | null;
  /** `--NAME-file FILE` on the command line. */
  flagFile?: string | null;
  env?: NodeJS.ProcessEnv;
  /** `NAME=VALUE` in the conf file. */
  conf?: string | null;
  /** `NAME-file=FILE` in the conf file (already resolved against the datadir). */
  confFile?: string | null;
}

/**
 * Resolve one secret from its sources: the command line (the value, or
 * its file), then the environment, then the conf file (value or file).
 * @returns the value and its source, or null when no source has it
 * @throws SecretError when the command line gives both the value and a file, or a file is unusable
 */
export function resolveSecret(name: string, inputs: SecretInputs): { value: string; source: SecretSource } | null {
  const { flag, flagFile, conf, confFile } = inputs;
  if (flag != null && flagFile != null)
    throw new SecretError('secret-conflict', `give --${name} or --${name}-file, not both`);
  if (flag != null) {
    if (flag.length === 0)
      throw new SecretError('secret-empty', `--${name} is empty`);
    return { value: flag, source: 'flag' };
  }
  if (flagFile != null)
    return { value: readSecretFile(flagFile, `--${name}-file`), source: 'file' };
  const envName = secretEnvName(name);
  const env = (inputs.env ?? process.env)[envName];
  if (env !== undefined && env !== '')
    return { value: env, source: 'env' };
  if (conf != null && conf !== '')
    return { value: conf, source: 'conf' };
  if (confFile != null)
    return { value: readSecretFile(confFile, `${name}-file=`), source: 'file' };
  return null;
}

/** The one-line warning for a secret given as a flag. */
export function flagWarning(name: string, conf = true): string {
  return `--${name} on the command line is visible to every user of this machine (ps, /proc/PID/cmdline); `
    + `use --${name}-file FILE, ${secretEnvName(name)}${conf ? ` or ${name}= in cloudcoin.conf` : ''} instead`;
}
