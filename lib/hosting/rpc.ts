/*!
 * rpc.ts - the hosting RPC methods, as one flat list (bcoin's RPC#init),
 * with the shared param validator and one translator: a backend that
 * cannot be reached is reported in the result, never thrown, so anything
 * thrown is the node's own failure (MISC_ERROR).
 */

import { rpcCodes } from '../base/errors';
import type { NodeAPI } from '../base/extension';
import { addRPCMethods, rpcErrors, type Params, type RPCMethodSpec } from '../base/rpc';
import type { BackendInfo } from './backend';
import type { Hosting } from './plugin';

/** The one translator from hosting failures to bitcoind RPC errors. */
export const toRPCError = rpcErrors([], { other: rpcCodes.MISC_ERROR });

async function getFileServers(p: Params, hosting: Hosting): Promise<BackendInfo[]> {
  p.count(0);
  return hosting.info();
}

/** Every hosting RPC method. */
function rpcMethods(hosting: Hosting): RPCMethodSpec[] {
  return [
    { name: 'getfileservers', help: 'getfileservers\n'
      + 'List the storage backends of this host: kind (local or remote), url or dir, capacity, reserved,\n'
      + 'used and contracts (bytes/counts), healthy, lastOk (unix time of the last successful admin call)\n'
      + 'and error (why the last call failed). Each backend is checked when called.',
    run: (p) => getFileServers(p, hosting) }
  ];
}

/** Register every hosting RPC method, each behind the one translator. */
export function addRPCs(api: Pick<NodeAPI, 'addRPC'>, hosting: Hosting): void {
  addRPCMethods(api, rpcMethods(hosting), toRPCError);
}
