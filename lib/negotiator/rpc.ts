/*!
 * rpc.ts - RPC methods of the negotiator: getidentity, getcloudpeers,
 * cloudrequest. Client failures become bitcoind-style RPC errors here.
 */

import { RPCError, rpcCodes, invalidParam } from '../base/errors';
import type { RPCMethod } from '../base/extension';
import { RequestError, requestCodes } from './client';
import type { Negotiator } from './negotiator';
import { statuses, readAmountBody } from './status';
import { isName } from './wire';

export type AddRPC = (name: string, help: string, method: RPCMethod) => void;

function str(params: unknown[], i: number, name: string): string {
  const v = params[i];
  if (typeof v !== 'string' || v.length === 0)
    throw invalidParam(`${name} must be a non-empty string.`);
  return v;
}

/** Args for a call: the local codec for JSON, else a hex string. */
function encodeArgs(neg: Negotiator, service: string, method: string, raw: unknown): Buffer {
  let json: unknown = raw;
  if (typeof raw === 'string') {
    try {
      json = JSON.parse(raw);
    } catch {
      throw invalidParam('ARGS_JSON is not valid JSON.');
    }
  }
  const spec = neg.registry.method(service, method);
  if (spec?.encodeArgs) {
    try {
      return spec.encodeArgs(json);
    } catch (e) {
      throw invalidParam(`Bad args for ${service}.${method}: ${(e as Error).message}`);
    }
  }
  if (json === undefined || json === null)
    return Buffer.alloc(0);
  if (typeof json === 'string' && /^([0-9a-f]{2})*$/i.test(json))
    return Buffer.from(json, 'hex');
  throw invalidParam(`No local codec for ${service}.${method}: pass args as a hex string.`);
}

function bodyJSON(neg: Negotiator, service: string, method: string, status: string, body: Buffer): unknown {
  try {
    if (status === statuses.OK) {
      const spec = neg.registry.method(service, method);
      if (spec?.decodeBody)
        return spec.decodeBody(body);
    } else if (status === statuses.TOO_LOW || status === statuses.PLEASE_PAY) {
      return { amount: readAmountBody(body) };
    }
  } catch {
    // Fall through to hex: the peer's body does not match our codec.
  }
  return body.toString('hex');
}

function rpcError(e: unknown): unknown {
  if (!(e instanceof RequestError))
    return e;
  switch (e.code) {
    case requestCodes.UNKNOWN_PEER:
    case requestCodes.PEER_CLOSED:
      return new RPCError(rpcCodes.CLIENT_NODE_NOT_CONNECTED, e.message);
    case requestCodes.BAD_OPTIONS:
      return invalidParam(e.message);
    default:
      return new RPCError(rpcCodes.MISC_ERROR, `cloudrequest failed: ${e.code}`);
  }
}

export function addRPCMethods(addRPC: AddRPC, neg: Negotiator): void {
  addRPC('getidentity', 'getidentity', () => ({
    identity: neg.identity.address,
    pubkey: neg.identity.publicKey.toString('hex')
  }));

  addRPC('getcloudpeers', 'getcloudpeers', () => neg.cloudPeers());

  addRPC('gethostannouncements', 'gethostannouncements', () => neg.hosts().map((a) => ({
    identity: neg.addressOf(a.publicKey),
    url: a.url,
    storageprice: a.storagePrice,
    uploadprice: a.uploadPrice,
    downloadprice: a.downloadPrice,
    capacity: a.capacity,
    maxduration: a.maxDuration,
    expiry: a.expiry,
    seq: a.seq
  })));

  addRPC('cloudrequest', 'cloudrequest PEER SERVICE METHOD [ARGS_JSON]', async (params) => {
    if (params.length < 3 || params.length > 4)
      throw invalidParam('Usage: cloudrequest PEER SERVICE METHOD [ARGS_JSON]');
    const peer = str(params, 0, 'PEER');
    const service = str(params, 1, 'SERVICE');
    const method = str(params, 2, 'METHOD');
    if (!isName(service) || !isName(method))
      throw invalidParam('SERVICE and METHOD are lowercase names.');
    const args = encodeArgs(neg, service, method, params[3]);
    try {
      const res = await neg.request(peer, service, method, args);
      return {
        status: res.status,
        body: bodyJSON(neg, service, method, res.status, res.body),
        paid: res.paid,
        rounds: res.rounds
      };
    } catch (e) {
      throw rpcError(e);
    }
  });
}
