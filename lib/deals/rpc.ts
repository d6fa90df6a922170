/*!
 * rpc.ts - the deals RPC methods, as one flat list (bcoin's RPC#init).
 *
 * Params are checked by lib/base/rpc's Params; errors are translated once, here, into
 * bitcoind codes: a bad parameter -> -8, an unknown file or put -> -5, a host not
 * connected -> -29, deals not open -> -28, contracts' own failures as
 * contracts/rpc.ts maps them (-6 not enough funds, -25, -26), any other
 * deal failure -> -1 (its message says why). Result shapes are in
 * rpctypes.ts.
 */

import { minEscrowValue } from '../contracts/common';
import { ContractError } from '../contracts/errors';
import type { NodeAPI } from '../base/extension';
import { WalletLockedError, rpcCodes } from '../base/errors';
import { Params, addRPCMethods, errorRule, rpcErrors } from '../base/rpc';
import { deriveChunkPrintKey, deriveFileKey } from '../storage/keys';
import { ChunkMap, MAX_PRINTED_CHUNKS, PRINT_SIZE, checkChunkMap, fileChunks } from '../storage/delta';
import { StorageError } from '../storage/errors';
import { checkSources } from './deltarefs';
import { MAX_FILE_REPLICAS, MAX_NAME_BYTES } from '../storage/common';
import { Replica } from '../storage/manifest';
import { MAX_DATA_SHARDS, MAX_SHARDS, type ShardScheme } from '../storage/erasure';
import { MAX_HOSTS, MAX_OBJECT_SIZE } from './common';
import { DealError } from './errors';
import { NO_SHARD } from './repairlog';
import { contractCost, costFormula, defaultAllowance, escrowValue } from './pricing';
import type { Deals } from './plugin';
import type { RPCCall } from './renterclient';
import { firstRevision } from './revisions';
import type { RevisionCache } from './fileview';
import { type DealsMethod, fileIdParam } from './rpcparams';
import { removalMethods } from './removalrpc';
import type { ReusableContract } from './rentercontracts';
import type { FindContractsVerbose } from './rpctypes';
import type {
  AddFileResult, ChunkPrintsResult, CommitFileResult, FileInfo, NegotiateStorageResult, ProposeRevisionResult, RepairInfo,
  ProposeStorageResult, RenewContractResult, StorageReceiptResult, StorageTokenResult
} from './rpctypes';
import { Offer } from './wire';
import { auditSummary, type AuditsResult } from './auditview';
import { recoverFiles, type RecoverResult, type RecoveryContext } from './recovery';
import { takeOverContract } from './renterside';
import { FileServerClient } from '../storage/fileserverclient';

/**
 * The one translator from deals failures to bitcoind RPC errors. Failures
 * of a host or the network are not the caller's: MISC_ERROR.
 */
export const toRPCError = rpcErrors([
  errorRule(DealError, {
    'bad-file-id': rpcCodes.INVALID_PARAMETER,
    'ambiguous-id': rpcCodes.INVALID_PARAMETER,
    'unknown-file': rpcCodes.INVALID_ADDRESS_OR_KEY,
    'unknown-put': rpcCodes.INVALID_ADDRESS_OR_KEY,
    'bad-chunk-map': rpcCodes.INVALID_PARAMETER,
    'host-unreachable': rpcCodes.CLIENT_NODE_NOT_CONNECTED,
    'unknown-contract': rpcCodes.INVALID_ADDRESS_OR_KEY,
    'not-open': rpcCodes.IN_WARMUP
  }),
  // commitfile funds through the contracts extension
  errorRule(ContractError, { 'unknown-contract': [rpcCodes.INVALID_ADDRESS_OR_KEY, 'Contract not found.'] },
    rpcCodes.VERIFY_ERROR)
], { other: rpcCodes.MISC_ERROR });

async function getStorageInfo(p: Params, deals: Deals): Promise<unknown> {
  p.count(0);
  const backend = deals.backend();
  if (!backend || !deals.host)
    return { hosting: false };
  const info = await backend.check();
  return {
    hosting: true,
    backend: info.kind,
    dataURL: deals.dataURL(),
    capacity: info.capacity,
    used: info.used,
    reserved: (info.reserved ?? 0) + deals.host.reservedByOffers(),
    openOffers: deals.host.openOffers(),
    contracts: await deals.store.countHosted(),
    prices: { ...deals.terms.prices, units: 'storage: sat per GiB per 1000 blocks; upload, download: sat per GiB' },
    maxDuration: deals.terms.maxDuration,
    minContract: deals.terms.minContract,
    newRenterShare: deals.terms.newRenterShare,
    newRenterCap: deals.terms.newRenterCap,
    healthy: info.healthy,
    error: info.error,
    // Renters this host closed on and whose data it deleted for not paying after an audit (ratings publish it).
    nonPayingRenters: (await deals.store.nonPayers()).map((r) => ({
      renter: deals.negotiator.addressOf(r.renterKey), renterKey: r.renterKey.toString('hex'), count: r.count, height: r.height
    }))
  };
}

async function negotiateStorage(p: Params, deals: Deals): Promise<NegotiateStorageResult> {
  p.count(3, 7);
  const size = p.size(0, 'size', MAX_OBJECT_SIZE);
  const duration = p.uint(1, 'duration', 1, 0xffffffff);
  const maxPrice = p.amount(2, 'maxprice');
  const count = p.has(3) ? p.uint(3, 'hosts', 1, MAX_HOSTS) : 1;
  const exclude = p.has(4) ? hostKeys(p, 4) : [];
  const allowance = p.has(5) ? p.amount(5, 'allowance') : null;
  const minScore = p.has(6) ? p.uint(6, 'minscore', 0, 1000) : undefined;
  deals.requireActivation();
  const result = await deals.renter.negotiate(size, duration, maxPrice, count, exclude, minScore);
  const minEscrow = minEscrowValue(deals.api.network);
  return {
    size,
    duration,
    maxPrice,
    height: deals.api.chain.height,
    offers: result.offers.map((o) => ({
      host: o.host.identity,
      hostKey: o.host.pubkey.toString('hex'),
      addr: o.host.addr,
      prices: o.offer.prices,
      bids: o.bids,
      cost: o.cost,
      // What buildContract locks: never under the minimum escrow.
      escrow: allowance === null ? defaultAllowance(size, duration, o.offer.prices, minEscrow) : escrowValue(allowance, minEscrow),
      formula: costFormula(size, duration, o.offer.prices),
      reservedUntil: o.offer.expiryHeight,
      dataURL: o.offer.dataURL,
      reused: o.reused,
      score: o.score ? o.score.score : null,
      offer: o.offer.encode().toString('hex')
    })),
    declined: result.declined.map((d) => ({ host: d.host.identity, addr: d.host.addr, reason: d.reason })),
    quoted: result.quotes.filter((q) => q.quote).length,
    peers: result.quotes.length,
    minEscrow
  };
}

/** Param `i`: a JSON list of host identity keys (hex). */
function hostKeys(p: Params, i: number): Buffer[] {
  const v = p.get(i);
  const list = typeof v === 'string' ? (() => { try { return JSON.parse(v) as unknown; } catch { return null; } })() : v;
  if (!Array.isArray(list) || list.length > 256 || !list.every((k) => typeof k === 'string' && /^[0-9a-f]{66}$/.test(k)))
    throw p.error(i, 'exclude', 'must be a list of host keys (33-byte hex).');
  return list.map((k) => Buffer.from(k as string, 'hex'));
}

function replicaOf(contractId: Buffer, hostPk: Buffer, salt: Buffer, root: Buffer, size: number, object: number,
  shard = 0): Replica {
  const replica = new Replica();
  replica.shard = shard;
  replica.contractId = contractId;
  replica.object = object;
  replica.hostPk = hostPk;
  replica.salt = salt;
  replica.root = root;
  replica.objectSize = size;
  return replica;
}

/** The optional shard index at param `i`: required, and within the scheme, for a coded file; absent otherwise. */
async function shardParam(p: Params, i: number, deals: Deals, fileId: Buffer): Promise<number> {
  const file = await deals.files.peek(fileId);
  if (!file || !file.coded) {
    if (p.has(i))
      throw p.error(i, 'shard', 'is only for a file stored as shards (addfile with datashards and parityshards).');
    return 0;
  }
  if (!p.has(i))
    throw p.error(i, 'shard', 'is required: the file is stored as shards.');
  return p.uint(i, 'shard', 0, file.dataShards + file.parityShards - 1);
}

async function proposeStorage(p: Params, deals: Deals): Promise<ProposeStorageResult> {
  p.count(5, 7);
  const offer = p.decoded(0, 'offer', 'offer', (raw) => Offer.decode(raw));
  if (!offer.verify())
    throw p.error(0, 'offer', 'has a signature that does not verify.');
  const root = p.hex(1, 'root', 32);
  const size = p.size(2, 'objectsize', MAX_OBJECT_SIZE);
  const fileId = p.hex(3, 'fileid', 32);
  const salt = p.hex(4, 'salt', 32);
  const minEscrow = minEscrowValue(deals.api.network);
  const allowance = p.has(5) ? p.amount(5, 'allowance') : defaultAllowance(size, offer.duration, offer.prices, minEscrow);
  const shard = await shardParam(p, 6, deals, fileId);
  deals.requireActivation();
  // The renter's wallet pays the commitment: while it is locked, say so
  // before the host stores anything (bitcoind's -13).
  if (!deals.api.wallet().wdb.primary.master.key)
    throw new WalletLockedError();
  const host = await deals.hostRef(offer.hostKey);
  // A new contract holds the file as object 1.
  const objects = [{ id: 1, root, size }];
  const contract = await deals.renter.buildContract(offer, objects, allowance);
  const rev0 = firstRevision(contract, objects);
  rev0.sign(deals.negotiator.identity, contract);
  const got = await deals.renter.propose(host, contract, rev0, objects);
  const replica = replicaOf(contract.hash(), offer.hostKey, salt, root, size, 1, shard);
  await deals.contractBook.recordFormation(got.contract, rev0, [{ id: 1, root, size, fileId }], replica, fileId);
  return {
    id: contract.id(),
    object: 1,
    number: 0,
    contract: got.contract.encode().toString('hex'),
    host: host.identity,
    hostKey: host.pubkey.toString('hex'),
    dataURL: got.dataURL,
    dataToken: got.dataTokens[0],
    manifestToken: got.manifestToken,
    escrowValue: contract.escrowValue,
    cost: contractCost(size, offer.duration, offer.prices)
  };
}

async function proposeRevision(p: Params, deals: Deals): Promise<ProposeRevisionResult> {
  p.count(5, 8);
  const id = p.hex(0, 'contractid', 32);
  const root = p.hex(1, 'root', 32);
  const size = p.size(2, 'objectsize', MAX_OBJECT_SIZE);
  const fileId = p.hex(3, 'fileid', 32);
  const salt = p.hex(4, 'salt', 32);
  const remove = p.has(5) ? [p.uint(5, 'replaceobject', 1, 0xfffffffe)] : [];
  const shard = await shardParam(p, 6, deals, fileId);
  const rc = await deals.contractBook.mustContract(id);
  const host = await deals.hostRef(rc.contract.hostKey);
  const replica = replicaOf(id, rc.contract.hostKey, salt, root, size, 0, shard);
  if (p.has(7))
    replica.chunks = await chunkMapParam(p, 7, deals, id, fileId, size);
  const res = await deals.contractBook.propose(id, [{ root, size, fileId, replica }], remove);
  return {
    id: id.toString('hex'),
    object: res.objects[0],
    number: res.number,
    host: host.identity,
    hostKey: host.pubkey.toString('hex'),
    dataURL: res.dataURL,
    dataToken: res.dataTokens[0],
    manifestToken: res.manifestToken
  };
}

/**
 * Param `i`: the chunk map (hex, storage/delta.ts) of a delta version's
 * replica in contract `id`, checked against the file's size, the object's
 * size and what the contract holds (deltarefs.ts checkSources).
 */
async function chunkMapParam(p: Params, i: number, deals: Deals, id: Buffer, fileId: Buffer, size: number): Promise<ChunkMap> {
  const file = await deals.files.peek(fileId);
  if (!file)
    throw new DealError('unknown-file', `No such file: ${fileId.toString('hex')}.`);
  if (file.coded)
    throw p.error(i, 'chunkmap', 'is only for a file of whole replicas: shards are slices of the whole object.');
  const map = p.decoded(i, 'chunkmap', 'chunk map', (raw) => ChunkMap.decode(raw));
  try {
    // The own object's id is allocated later, above every id the contract held: 0 stands for it here.
    checkChunkMap(map, file.size, 0, size);
  } catch (e) {
    if (e instanceof StorageError)
      throw new DealError('bad-chunk-map', e.message);
    throw e;
  }
  checkSources(map, id, await deals.store.listObjects(id), await deals.store.listFiles());
  return map;
}

async function findContracts(p: Params, deals: Deals): Promise<ReusableContract[] | FindContractsVerbose> {
  p.count(2, 5);
  const size = p.size(0, 'objectsize', MAX_OBJECT_SIZE);
  const minLeft = p.uint(1, 'minblocksleft', 1, 0xffffffff);
  const maxPrice = p.has(2) ? p.amount(2, 'maxprice') : Number.MAX_SAFE_INTEGER;
  const minScore = p.has(3) ? p.uint(3, 'minscore', 0, 1000) : undefined;
  const verbose = p.has(4) ? p.bool(4, 'verbose') : false;
  const found = await deals.contractBook.reusable(size, minLeft, maxPrice, minScore);
  return verbose ? found : found.contracts;
}

async function getStorageReceipt(p: Params, deals: Deals): Promise<StorageReceiptResult> {
  p.count(1, 2);
  const id = p.hex(0, 'contractid', 32);
  const number = p.has(1) ? p.uint(1, 'number', 0, 0xffffffff) : undefined;
  const r = await deals.contractBook.receipt(id, number);
  return {
    id: id.toString('hex'), number: r.number, root: r.root.toString('hex'), size: r.size, count: r.count,
    accrued: r.accrued, hostSig: r.hostSig.toString('hex')
  };
}

async function getStorageToken(p: Params, deals: Deals): Promise<StorageTokenResult> {
  p.count(3);
  const pk = p.hex(0, 'hostkey', 33);
  const id = p.hex(1, 'contractid', 32);
  const object = p.uint(2, 'object', 0, 0xfffffffe);
  return deals.paidToken(await deals.hostRef(pk), id, object);
}

async function recoverFilesRPC(p: Params, deals: Deals): Promise<RecoverResult> {
  p.count(0);
  return recoverFiles(recoveryContext(deals));
}

/** What recovery (recovery.ts) needs, from the node's extensions. */
export function recoveryContext(deals: Deals): RecoveryContext {
  return {
    identityKey: async () => deals.negotiator.identity.publicKey,
    contracts: () => deals.contracts.listContracts(),
    reach: async (keys) => { await deals.negotiator.reach(keys); },
    fetchManifest: async (hostKey, id) => {
      const t = await deals.renter.token(await deals.hostRef(hostKey), id, 0);
      return new FileServerClient(t.dataURL).download(t.token, id.toString('hex'), 0);
    },
    master: () => deals.storageMaster(),
    adopt: (file, updated) => deals.files.adopt(file, updated),
    takeOver: (c) => takeOverContract(deals, c),
    dropUnheld: (id) => deals.files.dropUnheld(id),
    addressOf: (pk) => deals.negotiator.addressOf(pk)
  };
}

async function deriveFileKeyRPC(p: Params, deals: Deals): Promise<string> {
  p.count(3);
  const fileId = p.hex(0, 'fileid', 32);
  const revision = p.uint(1, 'revision', 0, 0xffffffff);
  const salt = p.hex(2, 'salt', 32);
  return deriveFileKey(deals.storageMaster(), fileId, revision, salt).toString('hex');
}

/** getchunkprints ( fileid ): the chunk fingerprint key, and a stored file's prints (null when none were kept). */
async function getChunkPrints(p: Params, deals: Deals): Promise<ChunkPrintsResult> {
  p.count(0, 1);
  const key = deriveChunkPrintKey(deals.storageMaster()).toString('hex');
  if (!p.has(0))
    return { key, fileId: null, prints: null };
  const file = await deals.files.resolve(fileIdParam(p));
  const prints = await deals.store.getPrints(file.fileId);
  return { key, fileId: file.fileId.toString('hex'), prints: prints ? prints.toString('hex') : null };
}

async function addFile(p: Params, deals: Deals): Promise<AddFileResult> {
  p.count(3, 5);
  const fileId = p.hex(0, 'fileid', 32);
  const name = p.get(1) === '' ? Buffer.alloc(0) : p.hex(1, 'namehex');
  if (name.length > MAX_NAME_BYTES)
    throw p.error(1, 'namehex', `must be at most ${MAX_NAME_BYTES} bytes.`);
  const size = p.uint(2, 'size', 1);
  let scheme: ShardScheme | null = null;
  if (p.has(3) || p.has(4)) {
    scheme = { dataShards: p.uint(3, 'datashards', 1, MAX_DATA_SHARDS), parityShards: p.uint(4, 'parityshards', 1, MAX_SHARDS - 1) };
    // [REJECT] more shards than a manifest entry holds
    if (scheme.dataShards + scheme.parityShards > MAX_SHARDS)
      throw p.error(3, 'datashards', `+ position 5 (parityshards) must be at most ${MAX_SHARDS}.`);
  }
  const revision = await deals.files.addFile(fileId, name, size, scheme);
  return { fileId: fileId.toString('hex'), revision };
}

async function commitFile(p: Params, deals: Deals): Promise<CommitFileResult> {
  p.count(1, 3);
  const file = await deals.files.resolve(fileIdParam(p));
  // From here the node owns the put (DESIGN 5): its lease, if any, ends.
  deals.putLeases.end(file.fileId);
  const min = p.has(1) ? p.uint(1, 'minreplicas', 1, MAX_HOSTS) : 1;
  let prints: Buffer | null = null;
  if (p.has(2)) {
    prints = p.hex(2, 'chunkprints');
    const chunks = fileChunks(file.size);
    if (chunks > MAX_PRINTED_CHUNKS || prints.length !== chunks * PRINT_SIZE)
      throw p.error(2, 'chunkprints', `must be ${PRINT_SIZE} bytes per chunk of the file (${chunks} chunks, at most ${MAX_PRINTED_CHUNKS}).`);
  }
  const done = await deals.files.commitFile(file.fileId, min);
  if (prints)
    await deals.store.putPrints(file.fileId, prints);
  const manifest = await deals.files.manifest();
  // The states a put reports, so it need not ask getfile next.
  const info = await deals.files.info(await deals.files.resolve(file.fileId.toString('hex')));
  return {
    fileId: file.fileId.toString('hex'),
    ...done,
    replicas: info.replicas.map((r) => ({ contractId: r.contractId, state: r.state })),
    manifest: manifest.seal(deals.storageMaster()).toString('hex')
  };
}

async function renewContract(p: Params, deals: Deals): Promise<RenewContractResult> {
  p.count(1, 3);
  const duration = p.has(1) ? p.uint(1, 'duration', 1, 0xffffffff) : null;
  const allowance = p.has(2) ? p.amount(2, 'allowance') : null;
  const text = fileIdParam(p, 0, 'contractid|fileid').toLowerCase();
  let ids: Buffer[];
  if (/^[0-9a-f]{64}$/.test(text) && await deals.store.getRenterContract(Buffer.from(text, 'hex')))
    ids = [Buffer.from(text, 'hex')];
  else
    ids = [...new Set((await deals.files.resolve(text)).replicas.map((r) => r.contractId.toString('hex')))].map((h) => Buffer.from(h, 'hex'));
  deals.requireActivation();
  const out: RenewContractResult = { renewed: [], failed: [], txids: [] };
  for (const id of ids) {
    const rc = await deals.contractBook.mustContract(id);
    try {
      const r = await deals.renew(id, duration, allowance);
      out.renewed.push({ old: id.toString('hex'), id: r.id, host: r.host, objects: r.objects, endHeight: r.endHeight, allowance: r.allowance });
      out.txids.push(...r.txids);
    } catch (e) {
      if (ids.length === 1)
        throw e;
      out.failed.push({ old: id.toString('hex'), host: deals.negotiator.addressOf(rc.contract.hostKey), reason: (e as Error).message });
    }
  }
  return out;
}

async function logRepair(p: Params, deals: Deals): Promise<RepairInfo> {
  p.count(3, 4);
  const file = await deals.files.resolve(fileIdParam(p));
  const shard = p.has(1) ? p.uint(1, 'shard', 0, NO_SHARD - 1) : null;
  const id = p.hex(2, 'contractid', 32);
  const list = p.has(3) ? p.get(3) : [];
  // [REJECT] replaced: an array of contract ids, at most a file's replicas
  if (!Array.isArray(list) || list.length > MAX_FILE_REPLICAS || !list.every((x) => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x)))
    throw p.error(3, 'replaced', `must be an array of at most ${MAX_FILE_REPLICAS} contract ids (32-byte hex).`);
  const replaced = list.map((x) => Buffer.from(x as string, 'hex'));
  await deals.files.logRepair(file.fileId, shard, id, replaced);
  const info = await deals.files.info(await deals.files.resolve(file.fileId.toString('hex')));
  return info.repairs[info.repairs.length - 1];
}

async function getFile(p: Params, deals: Deals): Promise<FileInfo> {
  p.count(1);
  return deals.files.info(await deals.files.resolve(fileIdParam(p)));
}

async function listFiles(p: Params, deals: Deals): Promise<FileInfo[]> {
  p.count(0);
  const out: FileInfo[] = [];
  const revisions: RevisionCache = new Map();
  const files = await deals.store.listFiles();
  for (const f of files)
    out.push(await deals.files.info(f, revisions, files));
  return out;
}

async function getAudits(p: Params, deals: Deals): Promise<AuditsResult> {
  p.count(1);
  const id = p.hex(0, 'contractid', 32);
  const rc = await deals.contractBook.mustContract(id);
  return auditSummary(deals, rc.contract);
}

/** name, help (usage first), body: every deals RPC method. */
const methods: DealsMethod[] = [
  ['getstorageinfo', 'getstorageinfo\nThis node\'s hosting: capacity, use, prices, limits for new renters, backend,\n'
    + 'renters dropped for not paying after an audit.',
    getStorageInfo],
  ['negotiatestorage', 'negotiatestorage size duration maxprice ( hosts exclude allowance minscore )\n'
    + 'Quote every CloudStorage host and get signed offers (capacity reserved until offer expiry) from\n'
    + 'the best `hosts` (default 1) by price and reputation (docs/REPUTATION.md) whose prices are within\n'
    + 'maxprice (sat per GiB per 1000 blocks), none of the host keys in `exclude` (a JSON list, or null),\n'
    + 'none scoring below `minscore` (permille). `escrow` is `allowance` (or null) or the default allowance.\n'
    + 'An open offer from an earlier call with the same terms is reused. Nothing is paid or committed.',
  negotiateStorage],
  ['proposestorage', 'proposestorage offer root objectsize fileid salt ( allowance shard )\n'
    + 'Form a new contract for an offer (hex from negotiatestorage) holding a prepared object (Merkle root,\n'
    + 'size) as object 1, with `allowance` sat in escrow (default: room for 1 GiB over the duration at\n'
    + 'the offer\'s prices, at least the minimum escrow); the host countersigns. The replica is recorded\n'
    + 'in the file (see addfile) before anything is uploaded; `shard` (0..K+M-1) is which shard the object\n'
    + 'is, for a file stored as shards. Returns the contract and upload tokens.', proposeStorage],
  ['proposerevision', 'proposerevision contractid root objectsize fileid salt ( replaceobject shard chunkmap )\n'
    + 'Add a prepared object to an open contract of ours by a revision (no transaction), optionally\n'
    + 'removing object `replaceobject` in the same revision. The replica is recorded before anything is\n'
    + 'uploaded; `shard` as for proposestorage. `chunkmap` (hex, PROTOCOL 4.5 scheme 3) makes the object a\n'
    + 'delta version\'s changed chunks only, the rest read from earlier objects of the contract it names.\n'
    + 'Returns the object id, the revision number and an upload token.', proposeRevision],
  ['findcontracts', 'findcontracts objectsize minblocksleft ( maxprice minscore verbose )\n'
    + 'Open contracts of ours (one per connected host) whose allowance pays one more object of that\n'
    + 'size to the end and that have at least minblocksleft blocks left: what put reuses. Contracts with\n'
    + 'hosts whose audits failed (wrong data) or that score below minscore (permille) are left out and\n'
    + 'their hosts not dialled; verbose=true returns {contracts, skipped: [{id, host, hostkey, reason}]}.', findContracts],
  ['getstoragereceipt', 'getstoragereceipt contractid ( number )\nAfter an upload, ask the host to countersign the contract\'s '
    + 'pending revision (0 for a new\ncontract); returns it once both signed and it is stored. An answer that never came (a timeout,\n'
    + 'a dropped connection) is asked for once more: a host that countersigned answers the stored revision.',
  getStorageReceipt],
  ['getstoragetoken', 'getstoragetoken hostkey contractid object\nA download token for one object of a contract from its host '
    + '(0: the sealed manifest).', getStorageToken],
  ['recoverfiles', 'recoverfiles\nAfter a restore from the wallet seed: read the sealed manifest (object 0) from the host of every\n'
    + 'committed or active contract of ours and store the files it lists that this node does not know (from the\n'
    + 'newest manifest that names them; a file the newest no longer lists was deleted), then take each contract\n'
    + 'this node did not form over (the host\'s revisions and channel state, checked: storage.latest). Returns per\n'
    + 'contract the files its manifest lists or why it could not be read, whether it was taken over or why not,\n'
    + 'and the files recovered.', recoverFilesRPC],
  ['derivefilekey', 'derivefilekey fileid revision salt\nThe AES key of one replica of one file revision (HKDF of the wallet).',
    deriveFileKeyRPC],
  ['getchunkprints', 'getchunkprints ( fileid )\nThe key of the renter\'s chunk fingerprints (HMAC-SHA256 of each plaintext chunk, HKDF of\n'
    + 'the wallet) and, for a file, the fingerprints its put kept (null: none kept, e.g. recovered from\n'
    + 'the seed). A put compares them to upload only the chunks that changed (docs/REDUNDANCY.md).', getChunkPrints],
  ['addfile', 'addfile fileid namehex size ( datashards parityshards )\nStart a file (random 32-byte id, name as hex bytes, size in bytes); its\n'
    + 'replicas join it through proposestorage, and it is kept once the first one does. A name already stored\n'
    + 'makes it that name\'s next version (revision, returned; its keys derive from it). With datashards K and\n'
    + 'parityshards M the file is stored as K+M Reed-Solomon shards, one per replica (docs/REDUNDANCY.md).', addFile],
  ['commitfile', 'commitfile fileid ( minreplicas chunkprints )\nFund and broadcast one commitment for every uploaded replica of a\n'
    + 'file (those without a receipt, or whose offer expires within 2 blocks, are dropped). If fewer than\n'
    + 'minreplicas (default 1) can be committed, the file is forgotten and nothing is paid. `chunkprints`\n'
    + '(hex, 32 bytes per chunk) are kept for the next version\'s delta upload. Returns txids,\n'
    + 'contract ids, the replicas kept with their states (as getfile) and the sealed manifest.',
  commitFile],
  ...removalMethods,
  ['renewcontract', 'renewcontract contractid|fileid ( duration allowance )\nRenew a contract before it ends: a new contract '
    + 'with the same host whose revision 0\ncarries every object of the old one (no re-upload); one commitment. A file id renews each of\n'
    + 'its contracts.', renewContract],
  ['getaudits', 'getaudits contractid\nThe audits of a contract of ours, one per interval: height, leaves read, outcome\n'
    + '(passed, failed = wrong data, missed = no answer), latency and bytes; the next audit height.', getAudits],
  ['logrepair', 'logrepair fileid shard|null contractid ( ["replaced",...] )\nRecord that shard `shard` of a file stored as shards was rebuilt '
    + 'into contract `contractid`\n(which must hold a countersigned copy of it); for a file of whole replicas, shard is null and\n'
    + '`replaced` names the contracts of the replicas the copy in `contractid` replaces. Shown by getfile and ls.\n'
    + 'cloudcoin-cli repair calls it.', logRepair],
  ['getfile', 'getfile fileid\nA stored file (id or unique prefix): name, size, replicas with state, end height, blocks left.',
    getFile],
  ['listfiles', 'listfiles\nFiles this renter stored, with each replica\'s state, end height, blocks left and reachability.',
    listFiles]
];

/** The wallet calls a renter client makes, answered in-process: balance in sat; getwalletinfo as bitcoind's. */
export interface LocalWallet {
  balance(): Promise<number>;
  info(): { walletid: string; unlocked_until?: number };
}

/**
 * The deals methods called in-process, for the node's own RenterClient
 * (automatic repair): the same handlers and translator as over HTTP;
 * the wallet calls a renter client makes (`getbalance` in BTC,
 * `getwalletinfo`) answer as bitcoind's do.
 */
export function localCall(deals: Deals, wallet: LocalWallet): RPCCall {
  const byName = new Map(methods.map(([name, help, run]) => [name, { usage: help.split('\n')[0], run }]));
  return async (method: string, params: unknown[]): Promise<unknown> => {
    if (method === 'getbalance')
      return (await wallet.balance()) / 1e8;
    if (method === 'getwalletinfo')
      return wallet.info();
    const m = byName.get(method);
    if (!m)
      throw new Error(`no in-process method ${method}`);
    try {
      return await m.run(new Params(params, m.usage), deals);
    } catch (e) {
      throw toRPCError(e);
    }
  };
}

/** Register every deals RPC method, each behind the one translator. */
export function addRPCs(api: Pick<NodeAPI, 'addRPC'>, deals: Deals): void {
  addRPCMethods(api, methods.map(([name, help, run]) => ({ name, help, run: (p: Params) => run(p, deals) })), toRPCError);
}
