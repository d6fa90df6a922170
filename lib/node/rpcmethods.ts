/*!
 * rpcmethods.ts - the one RPC endpoint's method table and its `help`.
 *
 * Node, wallet and extension methods answer on one endpoint, as bitcoind's
 * do: bcoin's node RPC with the wallet's mounted on it. Extensions add
 * methods with a help text whose first line is the usage; `help` lists
 * every method by bitcoind's groups (rpchelp.ts) and `help METHOD` prints
 * one method's text (bcoin's own methods give theirs when called with the
 * help flag).
 */

import bcoin = require('../bcoin');
import { RPCError, rpcCodes } from '../base/errors';
import type { RPCMethod } from '../base/extension';
import { CORE_GROUPS, FIXED_USAGE, renderHelp, type HelpEntry } from './rpchelp';

/** The method table of the node's endpoint (`rpc`, with the wallet's `walletRPC` mounted on it). */
export class RPCMethods {
  private readonly rpc: bcoin.RPCBase;
  private readonly walletRPC: bcoin.RPCBase;
  /** Help text of each method an extension (or the node) added. */
  private readonly helps = new Map<string, string>();
  /** `help` group of each method an extension added. */
  private readonly groups = new Map<string, string>();
  /** The group of the extension being initialised, while its init() runs. */
  private group: string | null = null;

  constructor(rpc: bcoin.RPCBase, walletRPC: bcoin.RPCBase) {
    this.rpc = rpc;
    this.walletRPC = walletRPC;
    rpc.calls.help = (args: unknown[]) => this.help(args);
  }

  /**
   * Add a method: `help`'s first line is its usage.
   * @throws Error for a name that is not lowercase letters and digits
   */
  add(name: string, help: string, method: RPCMethod): void {
    if (!/^[a-z][a-z0-9]*$/.test(name))
      throw new Error(`Bad RPC name "${name}": lowercase, run together.`);
    this.helps.set(name, help);
    if (this.group)
      this.groups.set(name, this.group);
    this.rpc.add(name, async (args: unknown[], isHelp: boolean) => {
      if (isHelp)
        throw new RPCError(rpcCodes.MISC_ERROR, help);
      if (!Array.isArray(args))
        throw new RPCError(rpcCodes.INVALID_PARAMS, 'Params must be an array.');
      return method(args);
    });
  }

  /** Run `init` with the methods it adds listed under `group` in `help`. */
  inGroup<T>(group: string, init: () => T): T {
    this.group = group;
    try {
      return init();
    } finally {
      this.group = null;
    }
  }

  /** `help`: the grouped listing, or one method's full help. */
  async help(args: unknown[]): Promise<string> {
    if (args.length > 0)
      return this.methodHelp(String(args[0]));
    const entries: HelpEntry[] = [];
    for (const name of this.list()) {
      const usage = (await this.methodHelp(name)).split('\n')[0];
      entries.push({ name, group: this.methodGroup(name), usage });
    }
    return renderHelp(entries);
  }

  /** A method's help text (usage on the first line); throws METHOD_NOT_FOUND. */
  async methodHelp(method: string): Promise<string> {
    const own = this.helps.get(method);
    if (own)
      return own;
    if (Object.hasOwn(FIXED_USAGE, method))
      return FIXED_USAGE[method];
    try {
      // bcoin's methods throw their usage when called with the help flag.
      await this.rpc.execute({ method, params: [] }, true);
    } catch (err) {
      if (err instanceof Error && (err as RPCError).code === rpcCodes.METHOD_NOT_FOUND)
        throw err;
      return err instanceof Error ? err.message : String(err);
    }
    return method;
  }

  /** Every method name the endpoint answers, sorted. */
  list(): string[] {
    const names = new Set<string>(Object.keys(this.rpc.calls));
    for (const mount of this.rpc.mounts) {
      for (const name of Object.keys(mount.calls))
        names.add(name);
    }
    return [...names].sort();
  }

  /** The `== Group ==` a method is listed under. */
  private methodGroup(method: string): string {
    const own = this.groups.get(method);
    if (own)
      return own;
    if (Object.hasOwn(CORE_GROUPS, method) && !this.helps.has(method))
      return CORE_GROUPS[method];
    if (Object.hasOwn(this.walletRPC.calls, method))
      return 'Wallet';
    return 'Control';
  }
}
