/*!
 * rpc.ts - the contracts RPC methods, as one flat list (bcoin's RPC#init),
 * with the shared param validator (lib/base/rpc Params).
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
import { ChannelState, CHANNEL_STATE_SIZE } from './channel';
import { ContractError } from './errors';
import type { ContractsPlugin } from './plugin';
import { StorageContract, checkSaneContract, verifyContract } from './storagecontract';
import { addRPCMethods, errorRule, positionLabel, rpcErrors, type Params, type RPCMethodSpec } from '../base/rpc';

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
async function contractIdArg(plugin: ContractsPlugin, p: Params, i: number): Promise<Buffer> {
  const value = p.get(i);
  // cloudcoin-cli passes an all-digit prefix as a JSON number
  const text = typeof value === 'string' ? value.toLowerCase()
    : typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : '';
  if (!/^[0-9a-f]+$/.test(text) || text.length < MIN_ID_PREFIX || text.length > 64)
    throw p.error(i, 'id', `must be 32 bytes of hex, or a unique prefix of at least ${MIN_ID_PREFIX} hex digits.`);
  if (text.length === 64)
    return Buffer.from(text, 'hex');
  const q = plugin.index.queries;
  const known = [...await q.getIds(), ...await q.getVoidIds(), ...(await q.getPending()).map(r => r.contract.hash())];
  const hits = [...new Set(known.map(id => id.toString('hex')).filter(id => id.startsWith(text)))];
  if (hits.length === 0)
    throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, 'Contract not found.');
  if (hits.length > 1)
    throw p.error(i, 'id', `prefix ${text} is ambiguous: ${hits.map(id => id.slice(0, 12)).join(', ')}.`);
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
 * `details` is what extensions keep off chain (a party's revisions:
 * allowance, used, objects, size, revision), null for others' contracts.
 */
export function contractInfoJSON(info: ContractInfo, role: string | null,
  details: Record<string, unknown> | null = null): Record<string, unknown> {
  return {
    id: info.id,
    state: info.state,
    role,
    ...(details ?? {}),
    contract: info.contract.getJSON(),
    commit: info.pending ? { txid: info.pending.txid, height: null, leaf: info.pending.leaf } : info.commit,
    spend: info.spend,
    closeDeadline: info.closeDeadline,
    channel: info.channel ?? null,
    money: info.money ?? null,
    ratings: info.ratings,
    void: info.void
  };
}

function decodeContractRPC(p: Params, api: NodeAPI): Record<string, unknown> {
  p.count(1);
  const c = decodeContract(p.get(0));
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
}

async function getContract(p: Params, plugin: ContractsPlugin): Promise<Record<string, unknown>> {
  p.count(1);
  const info = await plugin.getContract(await contractIdArg(plugin, p, 0));
  if (!info)
    throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, 'Contract not found.');
  return contractInfoJSON(info, await plugin.roleOf(info.contract), await plugin.details(info.contract));
}

async function listContracts(p: Params, plugin: ContractsPlugin): Promise<Array<Record<string, unknown>>> {
  p.count(0, 1);
  const state = p.has(0) ? p.oneOf(0, 'state', common.stateNames) : undefined;
  const out = [];
  for (const info of await plugin.listContracts(state))
    out.push(contractInfoJSON(info, await plugin.roleOf(info.contract), await plugin.details(info.contract)));
  return out;
}

/**
 * bitcoind's getindexinfo for the storage contract index: `{ contractindex:
 * { synced, best_block_height } }`, synced once the index holds the
 * chain's tip; a name given that is not an index answers {} (as bitcoind).
 */
function getIndexInfo(p: Params, api: NodeAPI, plugin: ContractsPlugin): Record<string, { synced: boolean; best_block_height: number }> {
  p.count(0, 1);
  const name = p.has(0) ? p.str(0, 'index_name') : null;
  if (name !== null && name !== 'contractindex')
    return {};
  const tip = plugin.index.tip;
  return { contractindex: { synced: !plugin.index.dirty && tip.height === api.chain.height, best_block_height: tip.height } };
}

async function commitContracts(p: Params, plugin: ContractsPlugin): Promise<{ txids: string[]; ids: string[] }> {
  // One array param, or the contracts as positional params.
  const args = p.params.length === 1 && Array.isArray(p.get(0)) ? p.get(0) as unknown[] : p.params;
  if (args.length < 1)
    throw invalidParam(`Usage: ${p.usage}`);
  const contracts = args.map(decodeContract);
  const txs = await plugin.commit(contracts);
  return { txids: txs.map(tx => tx.txid()), ids: contracts.map(c => c.id()) };
}

async function closeContract(p: Params, plugin: ContractsPlugin): Promise<Record<string, unknown>> {
  p.count(1);
  const res = await plugin.closeContract(await contractIdArg(plugin, p, 0));
  return {
    txid: res.tx.txid(),
    number: res.state.state.number,
    paid: res.state.state.paid,
    returned: res.amounts.renter,
    payout: res.amounts.host,
    fee: res.amounts.fee,
    feeRate: res.rate / 1000,
    vsize: res.tx.getVirtualSize()
  };
}

async function acceptChannelState(p: Params, plugin: ContractsPlugin): Promise<Record<string, unknown>> {
  p.count(1, 3);
  const raw = p.hex(0, 'statehex', CHANNEL_STATE_SIZE);
  const final = p.has(1) ? p.bool(1, 'final') : false;
  const prepaid = p.has(2) ? p.amount(2, 'prepaid') : undefined;
  let state: ChannelState;
  try {
    state = new ChannelState().decode(raw);
  } catch (e) {
    const code = e instanceof ContractError ? e.code : 'bad-state-encoding';
    throw new RPCError(rpcCodes.DESERIALIZATION_ERROR, `Channel state decode failed: ${code}.`);
  }
  const record = await plugin.index.getRecord(state.contractId);
  if (!record)
    throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, 'Contract not found.');
  const { stored, added } = await plugin.acceptState(record.contract, state, { final, prepaid });
  return { id: record.contract.id(), ...stored.getJSON(), added };
}

async function getEarnings(p: Params, plugin: ContractsPlugin): Promise<Record<string, unknown>> {
  p.count(0, 1);
  const report = await plugin.earnings(p.has(0) ? await contractIdArg(plugin, p, 0) : undefined);
  return { ...report };
}

async function refundContract(p: Params, plugin: ContractsPlugin): Promise<string> {
  p.count(1);
  return (await plugin.refund(await contractIdArg(plugin, p, 0))).txid();
}

/** A signed whole number in [min, max]; digit strings (with a sign) count. */
function intParam(v: unknown, name: string, min: number, max: number): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max)
    throw invalidParam(`${name} must be a whole number from ${min} to ${max}.`);
  return n;
}

async function sendRating(p: Params, plugin: ContractsPlugin): Promise<string> {
  p.count(2, 5);
  const id = await contractIdArg(plugin, p, 0);
  const score = intParam(p.get(1), positionLabel(1, 'score'), common.MIN_SCORE, common.MAX_SCORE);
  const passed = p.has(2) ? p.uint(2, 'passed', 0, 0xffff) : 0;
  const failed = p.has(3) ? p.uint(3, 'failed', 0, 0xffff) : 0;
  const flags = p.has(4) ? p.uint(4, 'flags', 0, common.RATING_FLAGS_MASK) : 0;
  return (await plugin.rate(id, score, { passed, failed, flags })).txid();
}

async function getRatings(p: Params, plugin: ContractsPlugin): Promise<Record<string, unknown>> {
  p.count(1);
  const pk = p.hex(0, 'identity', 33);
  if (!secp256k1.publicKeyVerify(pk))
    throw p.error(0, 'identity', 'must be a compressed public key.');
  return { identity: pk.toString('hex'), ...await plugin.getRatings(pk) };
}

/** Every contracts RPC method. */
function rpcMethods(api: NodeAPI, plugin: ContractsPlugin): RPCMethodSpec[] {
  return [
    { name: 'decodecontract', help: 'decodecontract "hex"\nDecode a storage contract and check it at the next height.',
      run: (p) => decodeContractRPC(p, api) },
    { name: 'getcontract', help: 'getcontract "id"\nA committed, pending (its commitment not yet in a block) or our own\n'
      + 'void contract: state, commit, spend, ratings. The id may be a unique prefix (at least 4 hex digits).',
    run: (p) => getContract(p, plugin) },
    { name: 'listcontracts', help: `listcontracts ( "state" )\nIndexed contracts, optionally in one state (${common.stateNames.join(', ')}).`,
      run: (p) => listContracts(p, plugin) },
    { name: 'commitcontracts', help: 'commitcontracts "hex" ...\nFund and broadcast commitments (16 per tx) for fully signed contracts.',
      run: (p) => commitContracts(p, plugin) },
    { name: 'refundcontract', help: 'refundcontract "id"\nAfter the refund height, recover the escrow to the wallet (renter; the node\n'
      + 'also does it on its own). Too early, the error names the height from which it works.',
    run: (p) => refundContract(p, plugin) },
    { name: 'closecontract', help: 'closecontract "id"\nClose a contract we host now with the latest channel state: the renter\'s\n'
      + 'remainder, our payout less the fee (estimatesmartfee, at least 1 sat/vB). The node also closes on its own\n'
      + 'at end height (final state) and always below the close deadline.',
    run: (p) => closeContract(p, plugin) },
    { name: 'acceptchannelstate', help: 'acceptchannelstate "statehex" ( final prepaid )\nStore a channel state the renter of a contract we host\n'
      + 'signed (113 bytes hex) once it verifies; fsynced before the answer. The payment flow does this on its own.',
    run: (p) => acceptChannelState(p, plugin) },
    { name: 'getearnings', help: 'getearnings ( "id" )\nA host\'s earnings per contract and in total (sat): storage, uploads, downloads,\n'
      + 'holdback, what the renter\'s latest state pays, the close, its fee and the payout (cloudcoin-cli earnings).',
    run: (p) => getEarnings(p, plugin) },
    { name: 'sendrating', help: 'sendrating "id" score ( passed failed flags )\nRate the other party of a contract on chain.',
      run: (p) => sendRating(p, plugin) },
    { name: 'getindexinfo', help: 'getindexinfo ( "index_name" )\nThe node\'s indexes, as bitcoind\'s: contractindex (storage contracts, commitments,\n'
      + 'ratings): synced (it holds the chain\'s tip) and best_block_height. A script that mined a block waits for it.',
    run: (p) => getIndexInfo(p, api, plugin) },
    { name: 'getratings', help: 'getratings "identity"\nEffective on-chain ratings an identity (33-byte pubkey hex) received and gave.',
      run: (p) => getRatings(p, plugin) }
  ];
}

/** Register every contracts RPC method, each behind the one translator. */
export function addRPCs(api: NodeAPI, plugin: ContractsPlugin): void {
  addRPCMethods(api, rpcMethods(api, plugin), toRPCError);
}
