/*!
 * rpc.ts - the deals RPC methods, as one flat list (bcoin's RPC#init).
 *
 * Params are checked by lib/base/rpc's Params; errors are translated once, here, into
 * bitcoind codes: a bad parameter -> -8, an unknown file -> -5, a host not
 * connected -> -29, deals not open -> -28, contracts' own failures as
 * contracts/rpc.ts maps them (-6 not enough funds, -25, -26), any other
 * deal failure -> -1 (its message says why). Result shapes are in
 * rpctypes.ts.
 */

import { StorageContract } from '../contracts/storagecontract';
import { minEscrowValue } from '../contracts/common';
import { ContractError } from '../contracts/errors';
import type { NodeAPI } from '../base/extension';
import { rpcCodes, invalidParam } from '../base/errors';
import { Params, addRPCMethods, errorRule, rpcErrors } from '../base/rpc';
import { deriveFileKey } from '../storage/keys';
import { MAX_NAME_BYTES } from '../storage/common';
import { Replica } from '../storage/manifest';
import { MAX_HOSTS, MAX_OBJECT_SIZE } from './common';
import { DealError } from './errors';
import { contractCost, costFormula, escrowValue } from './pricing';
import type { Deals } from './plugin';
import type {
  AddFileResult, CommitFileResult, FileInfo, NegotiateStorageResult, ProposeStorageResult,
  StorageReceiptResult, StorageTokenResult
} from './rpctypes';
import { Offer } from './wire';

/**
 * The one translator from deals failures to bitcoind RPC errors. Failures
 * of a host or the network are not the caller's: MISC_ERROR.
 */
export const toRPCError = rpcErrors([
  errorRule(DealError, {
    'bad-file-id': rpcCodes.INVALID_PARAMETER,
    'ambiguous-id': rpcCodes.INVALID_PARAMETER,
    'unknown-file': rpcCodes.INVALID_ADDRESS_OR_KEY,
    'host-unreachable': rpcCodes.CLIENT_NODE_NOT_CONNECTED,
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
    newRenterShare: deals.terms.newRenterShare,
    newRenterCap: deals.terms.newRenterCap,
    healthy: info.healthy,
    error: info.error
  };
}

async function negotiateStorage(p: Params, deals: Deals): Promise<NegotiateStorageResult> {
  p.count(3, 4);
  const size = p.size(0, 'size', MAX_OBJECT_SIZE);
  const duration = p.uint(1, 'duration', 1, 0xffffffff);
  const maxPrice = p.amount(2, 'maxprice');
  const count = p.has(3) ? p.uint(3, 'hosts', 1, MAX_HOSTS) : 1;
  deals.requireActivation();
  const result = await deals.renter.negotiate(size, duration, maxPrice, count);
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
      escrow: escrowValue(o.cost, minEscrow),
      formula: costFormula(size, duration, o.offer.prices),
      reservedUntil: o.offer.expiryHeight,
      dataURL: o.offer.dataURL,
      reused: o.reused,
      offer: o.offer.encode().toString('hex')
    })),
    declined: result.declined.map((d) => ({ host: d.host.identity, addr: d.host.addr, reason: d.reason })),
    quoted: result.quotes.filter((q) => q.quote).length,
    peers: result.quotes.length
  };
}

async function proposeStorage(p: Params, deals: Deals): Promise<ProposeStorageResult> {
  // fileid and salt come together: one names the file, the other keys the replica
  p.count(3, 5);
  if (p.params.length === 4)
    p.count(3);
  const offer = p.decoded(0, 'offer', 'offer', (raw) => Offer.decode(raw));
  if (!offer.verify())
    throw invalidParam('offer signature does not verify.');
  const root = p.hex(1, 'root', 32);
  const size = p.size(2, 'objectsize', MAX_OBJECT_SIZE);
  const fileId = p.has(3) ? p.hex(3, 'fileid', 32) : null;
  const salt = p.has(4) ? p.hex(4, 'salt', 32) : null;
  deals.requireActivation();
  const host = deals.hostRef(offer.hostKey);
  const contract = await deals.renter.buildContract(offer, root, size);
  const got = await deals.renter.propose(host, contract);
  if (fileId && salt) {
    const replica = new Replica();
    replica.contractId = contract.hash();
    replica.hostPk = offer.hostKey;
    replica.salt = salt;
    replica.root = root;
    replica.objectSize = size;
    await deals.files.addReplica(fileId, replica, got.contract);
  }
  return {
    id: contract.id(),
    contract: got.contract.encode().toString('hex'),
    host: host.identity,
    hostKey: host.pubkey.toString('hex'),
    dataURL: got.dataURL,
    dataToken: got.dataToken,
    manifestToken: got.manifestToken,
    escrowValue: contract.escrowValue,
    cost: contractCost(size, offer.duration, offer.prices)
  };
}

async function getStorageReceipt(p: Params, deals: Deals): Promise<StorageReceiptResult> {
  p.count(1);
  const contract = p.decoded(0, 'contract', 'contract', (raw) => StorageContract.decode(raw));
  const r = await deals.renter.receipt(deals.hostRef(contract.hostKey), contract);
  await deals.files.markReceived(r.id);
  return { id: r.id.toString('hex'), root: r.root.toString('hex'), size: r.size, sig: r.sig.toString('hex') };
}

async function getStorageToken(p: Params, deals: Deals): Promise<StorageTokenResult> {
  p.count(2);
  const pk = p.hex(0, 'hostkey', 33);
  const id = p.hex(1, 'contractid', 32);
  return deals.renter.token(deals.hostRef(pk), id);
}

async function deriveFileKeyRPC(p: Params, deals: Deals): Promise<string> {
  p.count(3);
  const fileId = p.hex(0, 'fileid', 32);
  const revision = p.uint(1, 'revision', 0, 0xffffffff);
  const salt = p.hex(2, 'salt', 32);
  return deriveFileKey(deals.storageMaster(), fileId, revision, salt).toString('hex');
}

async function addFile(p: Params, deals: Deals): Promise<AddFileResult> {
  p.count(3);
  const fileId = p.hex(0, 'fileid', 32);
  const name = p.get(1) === '' ? Buffer.alloc(0) : p.hex(1, 'namehex');
  if (name.length > MAX_NAME_BYTES)
    throw invalidParam(`namehex must be at most ${MAX_NAME_BYTES} bytes.`);
  const size = p.uint(2, 'size', 1);
  await deals.files.addFile(fileId, name, size);
  return { fileId: fileId.toString('hex') };
}

async function commitFile(p: Params, deals: Deals): Promise<CommitFileResult> {
  p.count(1, 2);
  const file = await deals.files.resolve(fileIdParam(p.get(0)));
  const min = p.has(1) ? p.uint(1, 'minreplicas', 1, MAX_HOSTS) : 1;
  const done = await deals.files.commitFile(file.fileId, min);
  const manifest = await deals.store.manifest();
  return {
    fileId: file.fileId.toString('hex'),
    ...done,
    manifest: manifest.seal(deals.storageMaster()).toString('hex')
  };
}

/** A file id or unique prefix; cloudcoin-cli passes an all-digit prefix as a number. */
function fileIdParam(v: unknown): string {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)
    return String(v);
  if (typeof v !== 'string')
    throw invalidParam('fileid must be hex: the whole id or a unique prefix.');
  return v;
}

async function removeFile(p: Params, deals: Deals): Promise<boolean> {
  p.count(1);
  const file = await deals.files.resolve(fileIdParam(p.get(0)));
  return deals.files.removeFile(file.fileId);
}

async function getFile(p: Params, deals: Deals): Promise<FileInfo> {
  p.count(1);
  return deals.files.info(await deals.files.resolve(fileIdParam(p.get(0))));
}

async function listFiles(p: Params, deals: Deals): Promise<FileInfo[]> {
  p.count(0);
  const out: FileInfo[] = [];
  for (const f of await deals.store.listFiles())
    out.push(await deals.files.info(f));
  return out;
}

/** name, help (usage first), body: every deals RPC method. */
const methods: Array<[string, string, (p: Params, deals: Deals) => Promise<unknown>]> = [
  ['getstorageinfo', 'getstorageinfo\nThis node\'s hosting: capacity, use, prices, limits for new renters, backend.',
    getStorageInfo],
  ['negotiatestorage', 'negotiatestorage size duration maxprice ( hosts )\n'
    + 'Quote every CloudStorage host and get signed offers (capacity reserved until offer expiry) from\n'
    + 'the cheapest `hosts` (default 1) whose storage price is within maxprice (sat per GiB per 1000 blocks).\n'
    + 'An open offer from an earlier call with the same terms is reused. Nothing is paid or committed.',
  negotiateStorage],
  ['proposestorage', 'proposestorage offer root objectsize ( fileid salt )\n'
    + 'Sign a contract for an offer (hex from negotiatestorage) and a prepared object (Merkle root,\n'
    + 'size); the host countersigns. With fileid and salt, the replica is recorded in that file (see\n'
    + 'addfile) before anything is uploaded. Returns the contract and upload tokens.', proposeStorage],
  ['getstoragereceipt', 'getstoragereceipt contract\nAsk the contract\'s host (contract hex) for its signed receipt of the upload.',
    getStorageReceipt],
  ['getstoragetoken', 'getstoragetoken hostkey contractid\nA download token for a contract\'s object from its host.',
    getStorageToken],
  ['derivefilekey', 'derivefilekey fileid revision salt\nThe AES key of one replica of one file revision (HKDF of the wallet).',
    deriveFileKeyRPC],
  ['addfile', 'addfile fileid namehex size\nStart a file (random 32-byte id, name as hex bytes, size in bytes); its\n'
    + 'replicas join it through proposestorage, and it is kept once the first one does.', addFile],
  ['commitfile', 'commitfile fileid ( minreplicas )\nFund and broadcast one commitment for every uploaded replica of a\n'
    + 'file (those without a receipt, or whose offer expires within 2 blocks, are dropped). If fewer than\n'
    + 'minreplicas (default 1) can be committed, the file is forgotten and nothing is paid. Returns txids,\n'
    + 'contract ids and the sealed manifest.',
  commitFile],
  ['removefile', 'removefile fileid\nForget a file whose contracts are all over, void or never committed.', removeFile],
  ['getfile', 'getfile fileid\nA stored file (id or unique prefix): name, size, replicas with state, end height, blocks left.',
    getFile],
  ['listfiles', 'listfiles\nFiles this renter stored, with each replica\'s state, end height, blocks left and reachability.',
    listFiles]
];

/** Register every deals RPC method, each behind the one translator. */
export function addRPCs(api: Pick<NodeAPI, 'addRPC'>, deals: Deals): void {
  addRPCMethods(api, methods.map(([name, help, run]) => ({ name, help, run: (p: Params) => run(p, deals) })), toRPCError);
}
