/*!
 * stdinargs.ts - bitcoin-cli's -stdin, -stdinrpcpass and
 * -stdinwalletpassphrase for cloudcoin-cli.
 *
 * A secret typed as a parameter (`walletpassphrase "PASS" 600`,
 * `encryptwallet "PASS"`, `importprivkey KEY`) is visible to every user of
 * the machine in /proc/PID/cmdline. As bitcoin-cli does (src/bitcoin-cli.cpp),
 * cloudcoin-cli can read it from standard input instead, in this order:
 * - `-stdinrpcpass`: the first line is the RPC password (the api key);
 * - `-stdinwalletpassphrase`: the next line is the wallet passphrase,
 *   inserted as the method's first parameter;
 * - `-stdin`: every remaining line is one more parameter, until EOF.
 * On a terminal the secret lines are read without echo after a prompt on
 * stderr; from a pipe they are read as they come.
 */

import * as readline from 'readline';
import { Writable } from 'stream';

/** Which parts cloudcoin-cli reads from standard input. */
export interface StdinWants {
  rpcPass: boolean;
  walletPassphrase: boolean;
  rest: boolean;
}

/** What was read: each field present only if asked for. */
export interface StdinArgs {
  rpcPass?: string;
  walletPassphrase?: string;
  rest: string[];
}

/** The input ended before a line that was asked for. */
export class StdinError extends Error {}

/** A stream that shows nothing: the terminal's echo of a secret goes here. */
function silent(): Writable {
  return new Writable({ write(_chunk, _enc, done) { done(); } });
}

/**
 * Read what `wants` asks for from `input` (process.stdin). Nothing is read
 * when nothing is asked for, so a plain call never waits on stdin.
 * @throws StdinError when the input ends before a secret line
 */
export async function readStdinArgs(wants: StdinWants, input: NodeJS.ReadStream = process.stdin,
  prompt: NodeJS.WritableStream = process.stderr): Promise<StdinArgs> {
  const out: StdinArgs = { rest: [] };
  if (!wants.rpcPass && !wants.walletPassphrase && !wants.rest)
    return out;
  const tty = input.isTTY === true;
  // On a terminal, typed characters echo through `output`: a silent one hides them.
  const rl = readline.createInterface({ input, output: tty ? silent() : undefined, terminal: tty, crlfDelay: Infinity });
  const lines = rl[Symbol.asyncIterator]();
  const secret = async (what: string): Promise<string> => {
    if (tty)
      prompt.write(`${what}> `);
    const next = await lines.next();
    if (tty)
      prompt.write('\n');
    if (next.done)
      throw new StdinError(`standard input ended before the ${what.toLowerCase()}`);
    return next.value;
  };
  try {
    if (wants.rpcPass)
      out.rpcPass = await secret('RPC password');
    if (wants.walletPassphrase)
      out.walletPassphrase = await secret('Wallet passphrase');
    if (wants.rest) {
      for (;;) {
        const next = await lines.next();
        if (next.done)
          break;
        out.rest.push(next.value);
      }
    }
  } finally {
    rl.close();
  }
  return out;
}

/** bitcoin-cli's order: the wallet passphrase is the method's first parameter, stdin's lines come last. */
export function withStdinArgs(params: readonly string[], got: StdinArgs): string[] {
  const head = got.walletPassphrase === undefined ? [] : [got.walletPassphrase];
  return [...head, ...params, ...got.rest];
}
