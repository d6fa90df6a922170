/*!
 * config.ts - merged configuration for cloudcoind: flags over cloudcoin.conf.
 *
 * cloudcoin.conf uses bitcoind's format: `key=value` lines, `#` comments,
 * bare `key` meaning true, repeated keys for lists, and `[regtest]` style
 * sections that apply to one network only. Flags given on the command line
 * always win over the file.
 */

import * as fs from 'fs';
import { CodedError } from '../base/errors';
import type { ConfigReader } from '../base/extension';
import { parseSize } from '../base/units';
import { isNetwork, type NetworkName } from './datadir';

export type ConfigValue = string | boolean | string[];

/** An invalid flag or config value: the daemon prints it and exits 1. */
export class ConfigError extends CodedError<'bad-config'> {
  constructor(message: string) {
    super('bad-config', message);
  }
}

/** Parse cloudcoin.conf text for one network. */
export function parseConfigFile(text: string, network: string): Map<string, ConfigValue> {
  const out = new Map<string, ConfigValue>();
  let section = '';
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*$/, '').trim();
    if (!line)
      continue;
    const sec = /^\[([a-z0-9_-]+)\]$/i.exec(line);
    if (sec) {
      section = sec[1].toLowerCase();
      continue;
    }
    if (section && section !== network)
      continue;
    const kv = /^([a-z0-9][a-z0-9_.-]*)\s*(?:=\s*(.*))?$/i.exec(line);
    if (!kv)
      throw new ConfigError(`cloudcoin.conf line ${i + 1}: cannot parse "${line}".`);
    const key = kv[1].toLowerCase();
    const value: string | boolean = kv[2] === undefined ? true : kv[2].trim();
    const prev = out.get(key);
    if (prev === undefined)
      out.set(key, value);
    else if (Array.isArray(prev))
      prev.push(String(value));
    else
      out.set(key, [String(prev), String(value)]);
  }
  return out;
}

/** Read `<datadir>/cloudcoin.conf` if present. */
export function readConfigFile(file: string, network: string): Map<string, ConfigValue> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return new Map();
    // The reason in words, not Node's "EISDIR: illegal operation on a directory, read".
    const why = code === 'EISDIR' ? 'it is a directory, not a config file'
      : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
        : code === 'ENOTDIR' ? 'a parent folder is not a directory' : (e as Error).message;
    throw new ConfigError(`Cannot read ${file}: ${why}`);
  }
  return parseConfigFile(text, network);
}

/** Typed, validated view over merged values. */
export class Config implements ConfigReader {
  private readonly values: Map<string, ConfigValue>;

  constructor(values?: Map<string, ConfigValue> | Record<string, ConfigValue | number | undefined>) {
    this.values = new Map();
    if (values instanceof Map) {
      for (const [k, v] of values)
        this.values.set(k, v);
    } else if (values) {
      for (const [k, v] of Object.entries(values)) {
        if (v === undefined)
          continue;
        this.values.set(k, typeof v === 'number' ? String(v) : v);
      }
    }
  }

  /** Lower layer values fill in keys this config lacks. */
  fallback(lower: Map<string, ConfigValue>): this {
    for (const [k, v] of lower) {
      if (!this.values.has(k))
        this.values.set(k, v);
    }
    return this;
  }

  set(name: string, value: ConfigValue): void {
    this.values.set(name, value);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  private one(name: string): string | boolean | null {
    const v = this.values.get(name);
    if (v === undefined)
      return null;
    if (Array.isArray(v))
      return v[v.length - 1];
    return v;
  }

  str(name: string): string | null {
    const v = this.one(name);
    if (v === null)
      return null;
    if (typeof v === 'boolean')
      throw new ConfigError(`--${name} needs a value.`);
    return v;
  }

  bool(name: string, fallback = false): boolean {
    const v = this.one(name);
    if (v === null)
      return fallback;
    if (typeof v === 'boolean')
      return v;
    switch (v.toLowerCase()) {
      case '1': case 'true': case 'yes': case 'on':
        return true;
      case '0': case 'false': case 'no': case 'off':
        return false;
    }
    throw new ConfigError(`--${name} must be true or false, got "${v}".`);
  }

  uint(name: string): number | null {
    const v = this.str(name);
    if (v === null)
      return null;
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
      throw new ConfigError(`--${name} must be a whole number, got "${v}".`);
    return Number(v);
  }

  size(name: string): number | null {
    const v = this.str(name);
    if (v === null)
      return null;
    const n = parseSize(v);
    if (n === null)
      throw new ConfigError(`--${name} must be a size such as 10GB or 512MiB, got "${v}".`);
    return n;
  }

  list(name: string): string[] {
    const v = this.values.get(name);
    if (v === undefined || typeof v === 'boolean')
      return [];
    if (Array.isArray(v))
      return [...v];
    return [v];
  }

  /** A port number (1-65535), or null when unset. */
  port(name: string): number | null {
    const n = this.uint(name);
    if (n === null)
      return null;
    if (n < 1 || n > 65535)
      throw new ConfigError(`--${name} must be a port from 1 to 65535, got ${n}.`);
    return n;
  }
}

/**
 * The network from `--network NAME` or `--regtest`/`--testnet` (flags or
 * conf keys, bitcoind's `regtest=1`); main when none is given.
 * @throws ConfigError on a conflict or an unknown name
 */
export function pickNetwork(cfg: Config): NetworkName {
  const named = cfg.str('network');
  const flags = [cfg.bool('regtest') && 'regtest', cfg.bool('testnet') && 'testnet'].filter(Boolean);
  if (named && flags.length)
    throw new ConfigError('Give either --network or --regtest/--testnet, not both.');
  if (flags.length > 1)
    throw new ConfigError('--regtest and --testnet are mutually exclusive.');
  const name = named || (flags[0] as string | undefined) || 'main';
  if (!isNetwork(name))
    throw new ConfigError(`Unknown network "${name}": use main, testnet, regtest or simnet.`);
  return name;
}
