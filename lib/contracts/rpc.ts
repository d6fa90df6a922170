/*!
 * rpc.ts - the contracts RPC methods, bitcoind style.
 *
 * Errors are translated here, once: bad arguments -> -8, undecodable hex
 * -> -22, unknown contract -> -5, a contract rule -> -25 (the code names
 * the rule), a mempool rejection -> -26, not enough funds -> -6.
 */

import secp256k1 = require('bcrypto/lib/secp256k1');
import { RPCError, rpcCodes, invalidParam } from '../base/errors';
import type { NodeAPI } from '../base/extension';
import * as common from './common';
import type { ContractInfo } from './contractqueries';
import { ContractError } from './errors';
import type { ContractsPlugin } from './plugin';
import { StorageContract, checkSaneContract, verifyContract } from './storagecontract';
import { errorRule, rpcErrors } from '../base/rpc';

function hexArg(value: unknown, name: string, size?: number): Buffer {
  if (typeof value !== 'string' || value.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(value))
    throw invalidParam(`${name} must be a hex string.`);
  if (size !== undefined && value.length !== size * 2)
    throw invalidParam(`${name} must be ${size} bytes of hex.`);
  return Buffer.from(value, 'hex');
}

function decodeContract(hex: unknown): StorageContract {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex))
    throw new RPCError(rpcCodes.DESERIALIZATION_ERROR, 'Contract decode failed: not hex.');
  try {
    return new StorageContract().decode(Buffer.from(hex, 'hex'));
  } catch (e) {
    const code = e instanceof ContractError ? e.code : 'bad-contract-encoding';
    throw new RPCError(rpcCodes.DESERIALIZATION_ERROR, `Contract decode failed: ${code}.`);
  }
}

/** Shortest contract id prefix accepted (as git's default abbreviation floor). */
const MIN_ID_PREFIX = 4;

/**
 * A contract id: 64 hex, or a unique prefix of at least MIN_ID_PREFIX
 * among the contracts this node knows (resolved, our void ones, pending),
 * as `ls` prints ids shortened.
 */
async function contractIdArg(plugin: ContractsPlugin, value: unknown): Promise<Buffer> {
  // cloudcoin-cli passes an all-digit prefix as a JSON number
  const text = typeof value === 'string' ? value.toLowerCase()
    : typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : '';
  if (!/^[0-9a-f]+$/.test(text) || text.length < MIN_ID_PREFIX || text.length > 64)
    throw invalidParam(`id must be 32 bytes of hex, or a unique prefix of at least ${MIN_ID_PREFIX} hex digits.`);
  if (text.length === 64)
    return Buffer.from(text, 'hex');
  const q = plugin.index.queries;
  const known = [...await q.getIds(), ...await q.getVoidIds(), ...(await q.getPending()).map(r => r.contract.hash())];
  const hits = [...new Set(known.map(id => id.toString('hex')).filter(id => id.startsWith(text)))];
  if (hits.length === 0)
    throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, 'Contract not found.');
  if (hits.length > 1)
    throw invalidParam(`id prefix ${text} is ambiguous: ${hits.map(id => id.slice(0, 12)).join(', ')}.`);
  return Buffer.from(hits[0], 'hex');
}

/** Map library errors to RPC errors; RPCErrors pass through. */
export const toRPCError = rpcErrors([
  errorRule(ContractError, { 'unknown-contract': [rpcCodes.INVALID_ADDRESS_OR_KEY, 'Contract not found.'] },
    rpcCodes.VERIFY_ERROR)
]);

/**
 * JSON for a contract as returned by getcontract and listcontracts; a
 * pending one's `commit` holds only the txid and leaf it waits for.
 */
export function contractInfoJSON(info: ContractInfo, role: string | null): Record<string, unknown> {
  return {
    id: info.id,
    state: info.state,
    role,
    contract: info.contract.getJSON(),
    commit: info.pending ? { txid: info.pending.txid, height: null, leaf: info.pending.leaf } : info.commit,
    spend: info.spend,
    ratings: info.ratings,
    void: info.void
  };
}

/** Register every contracts RPC method. */
export function addRPCs(api: NodeAPI, plugin: ContractsPlugin): void {
  const add = (name: string, help: string, fn: (params: unknown[]) => Promise<unknown>) => {
    api.addRPC(name, help, async (params) => {
      try {
        return await fn(params);
      } catch (e) {
        throw toRPCError(e);
      }
    });
  };

  add('decodecontract', 'decodecontract "hex"\nDecode a storage contract and check it at the next height.',
    async (params) => {
      if (params.length !== 1)
        throw invalidParam('Usage: decodecontract "hex"');
      const c = decodeContract(params[0]);
      let error: string | null = null;
      try {
        checkSaneContract(c);
        verifyContract(c, api.chain.height + 1, api.network, { requireSigs: false });
      } catch (e) {
        if (!(e instanceof ContractError))
          throw e;
        error = e.code;
      }
      return { ...c.getJSON(), signed: c.isSigned(), valid: error === null, error };
    });

  add('getcontract', 'getcontract "id"\nA committed, pending (our commitment not yet in a block) or our own void\n'
    + 'contract: state, commit, spend, ratings. The id may be a unique prefix (at least 4 hex digits).',
  async (params) => {
    if (params.length !== 1)
      throw invalidParam('Usage: getcontract "id"');
    const id = await contractIdArg(plugin, params[0]);
    const info = await plugin.getContract(id);
    if (!info)
      throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, 'Contract not found.');
    return contractInfoJSON(info, await plugin.roleOf(info.contract));
  });

  add('listcontracts', `listcontracts ( "state" )\nIndexed contracts, optionally in one state (${common.stateNames.join(', ')}).`,
    async (params) => {
      if (params.length > 1)
        throw invalidParam('Usage: listcontracts ( "state" )');
      let state: common.ContractStateName | undefined;
      if (params.length === 1 && params[0] !== null) {
        if (!common.stateNames.includes(params[0] as common.ContractStateName))
          throw invalidParam(`state must be one of ${common.stateNames.join(', ')}.`);
        state = params[0] as common.ContractStateName;
      }
      const out = [];
      for (const info of await plugin.listContracts(state))
        out.push(contractInfoJSON(info, await plugin.roleOf(info.contract)));
      return out;
    });

  add('commitcontracts', 'commitcontracts "hex" ...\nFund and broadcast commitments (16 per tx) for fully signed contracts.',
    async (params) => {
      const args = params.length === 1 && Array.isArray(params[0]) ? params[0] as unknown[] : params;
      if (args.length < 1)
        throw invalidParam('Usage: commitcontracts "hex" ...');
      const contracts = args.map(decodeContract);
      const txs = await plugin.commit(contracts);
      return {
        txids: txs.map(tx => tx.txid()),
        ids: contracts.map(c => c.id())
      };
    });

  add('refundcontract', 'refundcontract "id"\nAfter the refund height, recover the escrow to the wallet (renter).',
    async (params) => {
      if (params.length !== 1)
        throw invalidParam('Usage: refundcontract "id"');
      const tx = await plugin.refund(await contractIdArg(plugin, params[0]));
      return tx.txid();
    });

  add('sendrating', 'sendrating "id" score ( passed failed flags )\nRate the other party of a contract on chain.',
    async (params) => {
      if (params.length < 2 || params.length > 5)
        throw invalidParam('Usage: sendrating "id" score ( passed failed flags )');
      const id = await contractIdArg(plugin, params[0]);
      const num = (v: unknown, name: string, min: number, max: number): number => {
        const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
          throw invalidParam(`${name} must be an integer in ${min}..${max}.`);
        return n;
      };
      const score = num(params[1], 'score', common.MIN_SCORE, common.MAX_SCORE);
      const passed = params.length > 2 ? num(params[2], 'passed', 0, 0xffff) : 0;
      const failed = params.length > 3 ? num(params[3], 'failed', 0, 0xffff) : 0;
      const flags = params.length > 4 ? num(params[4], 'flags', 0, common.RATING_FLAGS_MASK) : 0;
      const tx = await plugin.rate(id, score, { passed, failed, flags });
      return tx.txid();
    });

  add('getratings', 'getratings "identity"\nEffective on-chain ratings an identity (33-byte pubkey hex) received and gave.',
    async (params) => {
      if (params.length !== 1)
        throw invalidParam('Usage: getratings "identity"');
      const pk = hexArg(params[0], 'identity', 33);
      if (!secp256k1.publicKeyVerify(pk))
        throw invalidParam('identity must be a compressed public key.');
      const ratings = await plugin.getRatings(pk);
      return { identity: pk.toString('hex'), ...ratings };
    });
}
