/*!
 * rpc.ts - the reputation RPC methods, as one flat list (bcoin's RPC#init),
 * with the shared param validator and one translator: a malformed
 * identity is -8; anything else thrown is the node's own failure.
 */

import { rpcCodes } from '../base/errors';
import type { NodeAPI } from '../base/extension';
import { identityAddress } from '../base/identity';
import { addRPCMethods, errorRule, positionLabel, rpcErrors, type Params, type RPCMethodSpec } from '../base/rpc';
import { MAX_LIST } from './common';
import { ReputationError } from './errors';
import type { ReputationPlugin } from './plugin';
import type { Reputation } from './view';

/** The one translator from reputation failures to bitcoind RPC errors. */
export const toRPCError = rpcErrors([errorRule(ReputationError, {}, rpcCodes.INVALID_PARAMETER)],
  { other: rpcCodes.MISC_ERROR });

/** One identity's reputation as JSON (getreputation; the `reputation` and `hosts` tables read it). */
export interface ReputationJSON {
  /** Identity address (P2WPKH). */
  identity: string;
  /** Identity key, 33-byte hex. */
  pubkey: string;
  /** Combined score, permille (0..1000). */
  score: number;
  /** Whether any source knows anything of it (else `score` is the prior). */
  known: boolean;
  own: {
    passed: number; failed: number; settled: number; refunded: number; paid: number;
    retrievals: number; retrievalsfailed: number; score: number; confidence: number;
  } | null;
  ratings: { counted: number; unpaid: number; settled: number; weight: number; score: number; confidence: number };
  /**
   * What peers said in signed statements (asked with reputation.get), apart:
   * statements kept, those counted, their score and confidence (permille,
   * confidence at most PEERS_MAX_CONFIDENCE), and each signer's own records
   * with its weight (its confidence x this node's trust in it).
   */
  peers: {
    statements: number; counted: number; score: number; confidence: number;
    opinions: Array<{
      signer: string; pubkey: string; height: number; passed: number; failed: number; settled: number; refunded: number;
      paid: number; retrievals: number; retrievalsfailed: number; score: number; confidence: number; weight: number;
    }>;
  };
  trust: { value: number; pretrusted: boolean } | null;
}

/** A Reputation as JSON; `addressOf` names signers by identity address. */
export function reputationJSON(r: Reputation, address: string, addressOf: (pk: Buffer) => string): ReputationJSON {
  const o = r.own;
  const p = r.peers;
  return {
    identity: address,
    pubkey: r.identity,
    score: r.score,
    known: r.known,
    own: o ? {
      passed: o.passed, failed: o.failed, settled: o.settled, refunded: o.refunded, paid: o.paid,
      retrievals: o.retrievals, retrievalsfailed: o.retrievalsFailed, score: o.score, confidence: o.confidence
    } : null,
    ratings: { ...r.ratings },
    peers: {
      statements: p.statements, counted: p.counted, score: p.score, confidence: p.confidence,
      opinions: p.opinions.map((x) => ({
        signer: addressOf(Buffer.from(x.signer, 'hex')), pubkey: x.signer, height: x.height,
        passed: x.record.passed, failed: x.record.failed, settled: x.record.settled, refunded: x.record.refunded,
        paid: x.record.paid, retrievals: x.record.retrievals, retrievalsfailed: x.record.retrievalsFailed,
        score: x.score, confidence: x.confidence, weight: x.weight
      }))
    },
    trust: r.trust ? { ...r.trust } : null
  };
}

/**
 * An identity: its 33-byte key in hex, or its identity address (looked up
 * among the identities the view knows).
 */
export async function identityArg(plugin: ReputationPlugin, value: unknown): Promise<Buffer> {
  if (typeof value === 'string' && /^0[23][0-9a-fA-F]{64}$/.test(value))
    return Buffer.from(value, 'hex');
  if (typeof value === 'string' && value.length > 0 && value.length <= 100) {
    for (const r of await plugin.listReputation()) {
      if (identityAddress(Buffer.from(r.identity, 'hex'), plugin.api.network) === value)
        return Buffer.from(r.identity, 'hex');
    }
  }
  throw new ReputationError('bad-identity',
    `${positionLabel(0, 'identity')} must be a 33-byte compressed public key in hex, or the identity address of a known identity.`);
}

async function getReputation(p: Params, plugin: ReputationPlugin): Promise<ReputationJSON | ReputationJSON[]> {
  p.count(0, 1);
  const network = plugin.api.network;
  const addressOf = (pk: Buffer): string => identityAddress(pk, network);
  const json = (r: Reputation): ReputationJSON => reputationJSON(r, addressOf(Buffer.from(r.identity, 'hex')), addressOf);
  if (p.has(0))
    return json(await plugin.getReputation(await identityArg(plugin, p.get(0))));
  // The node's own identity is no counterparty: left out, as `hosts` leaves out its own announcement.
  const me = (await plugin.api.identity()).publicKey.toString('hex');
  const all = (await plugin.listReputation())
    .filter((r) => r.identity !== me)
    .sort((a, b) => b.score - a.score || (a.identity < b.identity ? -1 : 1))
    .slice(0, MAX_LIST);
  return all.map(json);
}

/** Every reputation RPC method. */
function rpcMethods(plugin: ReputationPlugin): RPCMethodSpec[] {
  return [
    { name: 'getreputation', help: 'getreputation ( "identity" )\n'
      + 'This node\'s view of an identity (33-byte pubkey hex or identity address), or of every identity\n'
      + 'the contract index names but its own (highest score first): score (permille, the prior for an unknown\n'
      + 'identity), own records (audits, settled and refunded contracts, retrievals), on-chain ratings\n'
      + 'weighted by the sats settled to the host, EigenTrust (ppb) over the rating graph, and what peers\n'
      + 'said in signed statements (weighted by this node\'s trust in each signer). See\n'
      + 'docs/REPUTATION.md.',
    run: (p) => getReputation(p, plugin) }
  ];
}

/** Register every reputation RPC method, each behind the one translator. */
export function addRPCs(api: Pick<NodeAPI, 'addRPC'>, plugin: ReputationPlugin): void {
  addRPCMethods(api, rpcMethods(plugin), toRPCError);
}
