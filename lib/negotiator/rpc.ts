/*!
 * rpc.ts - the negotiator's RPC methods, listed once as bcoin/hsd's
 * RPC#init lists them, with one translator from its errors to bitcoind
 * codes:
 *
 *   RequestError unknown-peer, peer-closed -> -29 CLIENT_NODE_NOT_CONNECTED
 *   RequestError bad-options               -> -8  INVALID_PARAMETER
 *   RequestError (others)                  -> -1  "cloudrequest failed: CODE"
 *   bad parameters (lib/base/rpc Params)   -> -8
 */

import { rpcCodes, invalidParam } from '../base/errors';
import type { NodeAPI } from '../base/extension';
import { Params, addRPCMethods, positionLabel, errorRule, rpcErrors, type RPCMapping, type RPCMethodSpec } from '../base/rpc';
import { RequestError, requestCodes, type RequestCode } from './errors';
import type { HostReach, Negotiator } from './negotiator';
import type { AnnouncePacket } from './announcepacket';
import type { CloudPeerInfo } from './peers';
import { statuses, readAmountBody } from './status';
import { readCoinNeed } from './coins';
import { isName } from './wire';
import type { MethodSpec, Service } from './services';
import { STANDARD_METHODS, standardMethods } from './standard';
import { entryJSON } from './market';
import { MAX_ANNOUNCE_FETCH } from './common';

/** One entry of `listhosts` (and the `hosts` table's rows). */
export interface HostJSON {
  identity: string;
  pubkey: string;
  /** The first direct address, `via RELAY` for a host behind NAT, or null. */
  address: string | null;
  addresses: Array<{ kind: string | number; addr: string }>;
  url: string;
  /** Sat per GiB per 1000 blocks. */
  storageprice: number;
  /** Sat per GiB. */
  uploadprice: number;
  downloadprice: number;
  /** Free bytes offered. */
  capacity: number;
  /** Blocks. */
  maxduration: number;
  /** Chain height when the current announcement was accepted. */
  height: number;
  expiry: number;
  seq: number;
  version: number;
  connected: boolean;
  /** How this node reaches it now (a connection, a direct address, a relay), or null. */
  reach: HostReach | null;
  /** Proved its identity to us, or we hold a contract with it. */
  verified: boolean;
}

/** Where methods are registered (NodeAPI#addRPC; tests collect them in a map). */
export type RPCHost = Pick<NodeAPI, 'addRPC'>;

/** One method: its help (usage on the first line) and its body. */
type RPCSpec = RPCMethodSpec;

function requestFailed(): Partial<Record<RequestCode, RPCMapping>> {
  const out: Partial<Record<RequestCode, RPCMapping>> = {};
  for (const code of Object.values(requestCodes))
    out[code] = [rpcCodes.MISC_ERROR, `cloudrequest failed: ${code}`];
  return out;
}

/** Translate a negotiator error into the RPCError the caller sees. */
export const toRPCError = rpcErrors([
  errorRule(RequestError, {
    ...requestFailed(),
    [requestCodes.UNKNOWN_PEER]: rpcCodes.CLIENT_NODE_NOT_CONNECTED,
    [requestCodes.PEER_CLOSED]: rpcCodes.CLIENT_NODE_NOT_CONNECTED,
    [requestCodes.BAD_OPTIONS]: rpcCodes.INVALID_PARAMETER,
    // The message says what the peer lacks or answered.
    [requestCodes.UNSUPPORTED]: rpcCodes.MISC_ERROR,
    [requestCodes.DECLINED]: rpcCodes.MISC_ERROR
  })
]);

/**
 * The local codecs of `service.method`: the registered method's, else for a
 * standard method (standard.ts) of a service this node does not offer,
 * the standard ones (every peer's service answers them alike).
 */
function codecOf(neg: Negotiator, service: string, method: string): MethodSpec | null {
  const spec = neg.registry.method(service, method);
  if (spec)
    return spec;
  if (!(STANDARD_METHODS as readonly string[]).includes(method))
    return null;
  const generic: Service = { name: service, version: 0, methods: {} };
  return standardMethods(generic, async () => 0)[method] ?? null;
}

/** Args for a call: the local codec for JSON, else a hex string. */
function encodeArgs(neg: Negotiator, service: string, method: string, raw: unknown): Buffer {
  let json: unknown = raw;
  if (typeof raw === 'string') {
    try {
      json = JSON.parse(raw);
    } catch {
      throw invalidParam(`${positionLabel(3, 'ARGS_JSON')} is not valid JSON.`);
    }
  }
  const spec = codecOf(neg, service, method);
  if (spec?.encodeArgs) {
    try {
      return spec.encodeArgs(json);
    } catch (e) {
      throw invalidParam(`${positionLabel(3, 'ARGS_JSON')} is not args for ${service}.${method}: ${(e as Error).message}`);
    }
  }
  if (json === undefined || json === null)
    return Buffer.alloc(0);
  if (typeof json === 'string' && /^([0-9a-f]{2})*$/i.test(json))
    return Buffer.from(json, 'hex');
  throw invalidParam(`${positionLabel(3, 'ARGS_JSON')}: no local codec for ${service}.${method}, pass args as a hex string.`);
}

/** A response body as JSON: the local codec, an amount, else hex. */
function bodyJSON(neg: Negotiator, service: string, method: string, status: string, body: Buffer): unknown {
  try {
    if (status === statuses.OK) {
      const spec = codecOf(neg, service, method);
      if (spec?.decodeBody)
        return spec.decodeBody(body);
    } else if (status === statuses.TOO_LOW || status === statuses.PLEASE_PAY) {
      return { amount: readAmountBody(body) };
    } else if (status === statuses.COINS_REQUIRED) {
      return readCoinNeed(body);
    }
  } catch {
    // Fall through to hex: the peer's body does not match our codec.
  }
  return body.toString('hex');
}

function getIdentity(neg: Negotiator, p: Params): { identity: string; pubkey: string } {
  p.count(0);
  return { identity: neg.identity.address, pubkey: neg.identity.publicKey.toString('hex') };
}

function getCloudPeers(neg: Negotiator, p: Params): CloudPeerInfo[] {
  p.count(0);
  return neg.cloudPeers();
}

/** One announcement as JSON (gethostannouncements, listhosts). */
function announcementJSON(neg: Negotiator, a: AnnouncePacket): Record<string, unknown> {
  return {
    identity: neg.addressOf(a.publicKey),
    pubkey: a.publicKey.toString('hex'),
    url: a.url,
    storageprice: a.storagePrice,
    uploadprice: a.uploadPrice,
    downloadprice: a.downloadPrice,
    capacity: a.capacity,
    maxduration: a.maxDuration,
    addresses: a.addrs.map((x) => x.getJSON()),
    expiry: a.expiry,
    seq: a.seq,
    version: a.version
  };
}

/**
 * `gethostannouncements ( PEER HOSTS MAXPAYMENT )`: the valid announcements
 * this node knows; with PEER, fetched from that peer on request
 * (`peers.announce`, paid up to MAXPAYMENT sat): HOSTS is `*` (the newest
 * it knows) or up to 16 pubkeys, comma-separated. Each fetched one goes
 * through the announcement store and shows its verdict (`accepted`,
 * `stale-seq`, ...).
 */
async function getHostAnnouncements(neg: Negotiator, p: Params): Promise<unknown> {
  p.count(0, 3);
  if (!p.has(0))
    return neg.hosts().map((a) => announcementJSON(neg, a));
  const raw = p.has(1) ? p.get(1) : '*';
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' && raw !== '*' && raw !== '' ? raw.split(',') : [];
  if (list.length > MAX_ANNOUNCE_FETCH || !list.every((k) => typeof k === 'string' && /^0[23][0-9a-f]{64}$/i.test(k)))
    throw p.error(1, 'HOSTS', `must be * or at most ${MAX_ANNOUNCE_FETCH} compressed public keys in hex, comma-separated`);
  const maxPayment = p.has(2) ? p.amount(2, 'MAXPAYMENT') : 0;
  const got = await neg.fetchAnnouncements(p.str(0, 'PEER'), list.map((k: string) => Buffer.from(k, 'hex')), { maxPayment });
  return {
    paid: got.paid,
    announcements: got.announcements.map((a) => ({ ...announcementJSON(neg, a.packet), result: a.result }))
  };
}

/** The host directory: every known host, how to reach it, and whether we are connected. */
function listHosts(neg: Negotiator, p: Params): HostJSON[] {
  p.count(0);
  return neg.hostRecords().map((r) => ({
    ...announcementJSON(neg, r.packet),
    address: neg.announcedAddress(r.packet.publicKey),
    height: r.height,
    connected: r.connected,
    reach: neg.reachedBy(r.packet.publicKey),
    verified: r.verified
  }) as HostJSON);
}

async function cloudRequest(neg: Negotiator, p: Params): Promise<Record<string, unknown>> {
  p.count(3, 5);
  const peer = p.str(0, 'PEER');
  const service = p.str(1, 'SERVICE');
  const method = p.str(2, 'METHOD');
  if (!isName(service) || !isName(method))
    throw p.error(isName(service) ? 2 : 1, isName(service) ? 'METHOD' : 'SERVICE', 'must be a lowercase name.');
  const args = encodeArgs(neg, service, method, p.has(3) ? p.get(3) : null);
  const maxPayment = p.has(4) ? p.amount(4, 'MAXPAYMENT') : 0;
  const res = await neg.request(peer, service, method, args, { maxPayment });
  return {
    status: res.status,
    body: bodyJSON(neg, service, method, res.status, res.body),
    paid: res.paid,
    rounds: res.rounds
  };
}

/**
 * `getmarketprices ( PEER MAXPAYMENT )`: the prices this node knows
 * (announcements, quotes it received, its own offer), or a peer's signed
 * statement of the prices it knows, paying it at most MAXPAYMENT sat.
 */
async function getMarketPrices(neg: Negotiator, p: Params): Promise<Record<string, unknown>> {
  p.count(0, 2);
  const addressOf = (pk: Buffer): string => neg.addressOf(pk);
  if (!p.has(0)) {
    return {
      signer: neg.identity.address, height: neg.tipHeight, paid: 0,
      entries: neg.marketEntries().map((e) => entryJSON(e, addressOf))
    };
  }
  const maxPayment = p.has(1) ? p.amount(1, 'MAXPAYMENT') : 0;
  const { statement, paid } = await neg.marketPrices(p.str(0, 'PEER'), { maxPayment });
  return {
    signer: addressOf(statement.signer), height: statement.height, paid,
    entries: statement.entries.map((e) => entryJSON(e, addressOf)),
    statement: statement.encode().toString('hex')
  };
}

/** Every negotiator RPC method. */
export function rpcMethods(neg: Negotiator): RPCSpec[] {
  return [
    { name: 'getidentity', help: 'getidentity\nThis node\'s identity: its P2WPKH address and public key.',
      run: (p) => getIdentity(neg, p) },
    { name: 'getcloudpeers', help: 'getcloudpeers\nConnected CloudStorage peers, with identities once proven.',
      run: (p) => getCloudPeers(neg, p) },
    { name: 'gethostannouncements',
      help: 'gethostannouncements ( PEER HOSTS MAXPAYMENT )\nValid host announcements known, newest first; with PEER, '
        + 'fetched from that peer on request (peers.announce: HOSTS * for the newest it knows, or up to 16 pubkeys\n'
        + 'comma-separated; paid up to MAXPAYMENT sat), each taken into this node\'s store as gossip would be, with the verdict.',
      run: (p) => getHostAnnouncements(neg, p) },
    { name: 'listhosts',
      help: 'listhosts\nEvery host known from announcements, newest first: identity, address, data URL, prices, '
        + 'free capacity, the height its announcement was accepted at, and whether we are connected.',
      run: (p) => listHosts(neg, p) },
    { name: 'cloudrequest',
      help: 'cloudrequest PEER SERVICE METHOD [ARGS_JSON] [MAXPAYMENT]\nCall SERVICE.METHOD on a connected CloudStorage peer '
        + '(identity address, pubkey hex or host:port) and print its signed answer. A priced call is paid up to\n'
        + 'MAXPAYMENT (sat, default 0: free calls only), deferred where the peer allows it (PROTOCOL 2.5).',
      run: (p) => cloudRequest(neg, p) },
    { name: 'getmarketprices',
      help: 'getmarketprices ( PEER MAXPAYMENT )\nThe storage prices this node knows (host announcements, quotes it '
        + 'received, its own offer), newest first;\nwith PEER, that peer\'s signed statement of the prices it knows '
        + '(market.prices, paid up to MAXPAYMENT sat).',
      run: (p) => getMarketPrices(neg, p) }
  ];
}

/** Register every method; each translates its errors with toRPCError. */
export function addRPCs(host: RPCHost, neg: Negotiator): void {
  addRPCMethods(host, rpcMethods(neg), toRPCError);
}
