/*!
 * cmdutil.ts - what every storage command of cloudcoin-cli shares: its
 * context, the one-line error, option parsers and a RenterClient over RPC.
 */

import { Command } from 'commander';
import { CodedError } from '../base/errors';
import type { RenterClient } from '../deals/renterclient';
import { parseAmount, parseSize } from '../base/units';
import type { RPCClient } from './rpcclient';

/** Defaults a renter would pick for a first try on regtest. */
export const DEFAULT_DURATION = 200;
export const DEFAULT_MAX_PRICE = 5000;

/** Why a storage command refused its arguments. */
export type CommandCode = 'bad-arg' | 'bad-destination' | 'destination-exists' | 'bad-file-id' | 'bad-price' | 'bad-size' | 'no-file' | 'partial'
  | 'too-few-hosts';

/** A user-facing failure: printed as one line, exit 1. */
export class CommandError extends CodedError<CommandCode> {
  constructor(code: CommandCode, message: string) {
    super(code, message);
  }
}

export interface CommandContext {
  client: RPCClient;
  out: (line: string) => void;
  err: NodeJS.WritableStream & { isTTY?: boolean };
  /** Raw bytes to write to standard output (get -). */
  stdout?: NodeJS.WritableStream;
}

/** A commander program for one storage command: errors as one line, no exit. */
export function command(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
}

/** `--size`: a byte size above 0 (no host stores nothing); one line saying which of the two is wrong. */
export function sizeOpt(text: string): number {
  const n = parseSize(text);
  if (n === null)
    throw new CommandError('bad-size', `--size must be a size such as 10MB, got "${text}"`);
  if (n <= 0)
    throw new CommandError('bad-size', `--size must be more than 0 bytes, got "${text}"`);
  return n;
}

export function uintOpt(text: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
    throw new CommandError('bad-arg', `${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  return Number(text);
}

export function priceOpt(text: string, name = '--max-price'): number {
  const n = parseAmount(text);
  if (n === null)
    throw new CommandError('bad-price', `${name} must be an amount such as 5000sat, got "${text}"`);
  return n;
}

/**
 * A hex id or unique prefix as typed (`what` names it in the error: "file
 * id", "contract id"...), checked before any call as the RPCs check it: 4
 * to 64 hex digits.
 */
export function hexIdArg(text: string, what: string): string {
  if (!/^[0-9a-fA-F]{4,64}$/.test(text))
    throw new CommandError('bad-file-id', `${what} must be 64 hex characters or a unique prefix of at least 4, got "${text}"`);
  return text;
}

export function short(hex: string): string {
  return `${hex.slice(0, 12)}…`;
}

/**
 * A RenterClient over this context's RPC, warnings on stderr; once
 * `stopped()` its calls never go out. Loaded here,
 * on first use, not at start: the renter's data path (file server client,
 * ciphers, hashing) is most of the CLI's code, and a plain RPC command
 * never needs it.
 */
export function renterClient(ctx: CommandContext, stopped: () => boolean = () => false): RenterClient {
  const { RenterClient: Client } = require('../deals/renterclient') as typeof import('../deals/renterclient');
  // After an interrupt the flow asks the node nothing more (never answered): the interrupt's hook alone speaks for it.
  return new Client((method, params) => (stopped() ? new Promise<unknown>(() => {}) : ctx.client.call(method, params)),
    { warn: (text) => ctx.err.write(`warning: ${text}\n`) });
}
