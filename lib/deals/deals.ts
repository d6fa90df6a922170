/*!
 * deals.ts - the deals extension: host side (the `storage` service, and a
 * data API for a local backend) and renter side (RPCs the CLI's
 * negotiate-storage, put, get and ls commands drive).
 */

import type { ContractsPlugin } from '../contracts/plugin';
import { StorageContract } from '../contracts/storagecontract';
import type { Hosting } from '../hosting/hosting';
import type { StorageBackend } from '../hosting/backend';
import type { Extension, NodeAPI } from '../base/extension';
import { RPCError, rpcCodes, invalidParam } from '../base/errors';
import { ConfigError } from '../node/config';
import type { Negotiator } from '../negotiator/negotiator';
import { taggedHash, tags } from '../base/hash';
import { deriveFileKey } from '../storage/keys';
import { ManifestFile } from '../storage/manifest';
import { DEFAULT_DOWNLOAD_PRICE, DEFAULT_STORAGE_PRICE, DEFAULT_UPLOAD_PRICE, MAX_HOSTS, MAX_OBJECT_SIZE, getDealParams } from './common';
import { getParams, minEscrowValue } from '../contracts/common';
import { DealStore } from './dealstore';
import { HostService } from './hostservice';
import { amountParam, decodedParam, errorRule, hexParam, rpcErrors, sizeParam, uintParam } from '../base/rpc';
import { contractCost, costFormula, escrowValue, type Prices } from './pricing';
import { DealError, Renter, type HostRef } from './renter';
import { Offer } from './wire';


export class Deals implements Extension {
  readonly api: NodeAPI;
  readonly store: DealStore;
  readonly prices: Prices;
  readonly maxDuration: number;
  private host: HostService | null = null;
  private renter: Renter | null = null;

  constructor(api: NodeAPI) {
    this.api = api;
    this.store = new DealStore({ datadir: api.datadir, memory: api.memory });
    const amount = (name: string, fallback: number) => {
      const text = api.config.str(name);
      if (text === null)
        return fallback;
      try {
        return amountParam(text, `--${name}`);
      } catch (e) {
        throw new ConfigError((e as Error).message);
      }
    };
    this.prices = {
      storage: amount('host-storage-price', DEFAULT_STORAGE_PRICE),
      upload: amount('host-upload-price', DEFAULT_UPLOAD_PRICE),
      download: amount('host-download-price', DEFAULT_DOWNLOAD_PRICE)
    };
    const cp = getParams(api.network);
    const longest = cp.maxSpan - cp.window;
    this.maxDuration = api.config.uint('host-max-duration') ?? longest;
    if (this.maxDuration < 1 || this.maxDuration > longest)
      throw new ConfigError(`--host-max-duration must be from 1 to ${longest} blocks on ${api.network.type}.`);
    this.registerRPC();
  }

  private get negotiator(): Negotiator {
    return this.api.require<Negotiator>('negotiator');
  }

  private get contracts(): ContractsPlugin {
    return this.api.require<ContractsPlugin>('contracts');
  }

  private get hosting(): Hosting {
    return this.api.require<Hosting>('hosting');
  }

  private backend(): StorageBackend | null {
    return this.hosting.backend;
  }

  private dataURL(): string {
    const backend = this.backend();
    return (backend && backend.dataURL()) || '';
  }

  async open(): Promise<void> {
    await this.store.open();
    const backend = this.backend();
    if (backend) {
      this.host = new HostService({
        network: this.api.network,
        identity: () => this.negotiator.identity,
        height: () => this.api.chain.height,
        backend: () => this.backend(),
        dataURL: () => this.dataURL(),
        createEscrowKey: () => this.contracts.createEscrowKey(),
        contractState: (id) => this.contracts.getState(id),
        store: this.store
      }, { prices: this.prices, maxDuration: this.maxDuration });
      this.negotiator.registerService(this.host.service());
      await this.announce();
      const host = this.host;
      this.api.onConnect(async (entry, block) => {
        const params = getDealParams(this.api.network);
        for (const id of await host.scanBlock(block, entry.height)) {
          if (await this.contracts.getState(id) === null)
            this.contracts.requestRecord(id);
        }
        if (entry.height % params.offerWindow === 0) {
          const dropped = await host.maintain(entry.height);
          if (dropped.length)
            this.api.logger.info('deals: dropped %d contracts never committed', dropped.length);
        }
        if (entry.height % params.announceInterval === 0)
          await this.announce();
      });
      this.api.onDisconnect(async (entry) => {
        await host.unscanBlock(entry.height);
      });
    }
    this.renter = new Renter({
      network: this.api.network,
      negotiator: this.negotiator,
      identity: () => this.negotiator.identity,
      height: () => this.api.chain.height,
      createEscrowKey: () => this.contracts.createEscrowKey()
    });
  }

  /** Gossip our terms (csannounce); a failure is logged, never fatal. */
  private async announce(): Promise<void> {
    if (!this.host)
      return;
    const interval = getDealParams(this.api.network).announceInterval;
    try {
      this.negotiator.announce({
        url: this.dataURL(),
        storagePrice: this.prices.storage,
        uploadPrice: this.prices.upload,
        downloadPrice: this.prices.download,
        capacity: await this.host.freeCapacity(),
        maxDuration: this.maxDuration,
        expiry: this.api.chain.height + 10 * interval
      });
    } catch (e) {
      this.api.logger.warning('deals: announcement failed: %s', (e as Error).message);
    }
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private mustRenter(): Renter {
    if (!this.renter)
      throw new RPCError(rpcCodes.IN_WARMUP, 'Deals are not open yet.');
    return this.renter;
  }

  /** Secret behind every file key: never leaves the node except as file keys. */
  private storageMaster(): Buffer {
    const wallet = this.api.wallet().wdb.primary;
    const key = wallet.master.key;
    if (!key)
      throw new RPCError(rpcCodes.MISC_ERROR, 'The wallet is locked or watch-only: cannot derive file keys.');
    return taggedHash(tags.STORAGE_MASTER, key.privateKey, key.chainCode);
  }

  private hostRef(pubkeyHex: unknown): HostRef {
    const pk = hexParam(pubkeyHex, 'host', 33);
    const host = this.mustRenter().hostByKey(pk);
    if (!host)
      throw new RPCError(rpcCodes.CLIENT_NODE_NOT_CONNECTED, `Host ${pk.toString('hex')} is not a connected CloudStorage peer.`);
    return host;
  }

  private registerRPC(): void {
    const api = this.api;

    api.addRPC('getstorageinfo', 'getstorageinfo\nThis node\'s hosting: capacity, use, prices, backend.', async () => {
      const backend = this.backend();
      if (!backend)
        return { hosting: false };
      const info = await backend.check();
      const hosted = await this.store.countHosted();
      return {
        hosting: true,
        backend: info.kind,
        dataURL: this.dataURL(),
        capacity: info.capacity,
        used: info.used,
        reserved: (info.reserved ?? 0) + (this.host ? this.host.reservedByOffers() : 0),
        openOffers: this.host ? this.host.openOffers() : 0,
        contracts: hosted,
        prices: {
          storage: this.prices.storage,
          upload: this.prices.upload,
          download: this.prices.download,
          units: 'storage: sat per GiB per 1000 blocks; upload, download: sat per GiB'
        },
        maxDuration: this.maxDuration,
        healthy: info.healthy,
        error: info.error
      };
    });

    api.addRPC('negotiatestorage',
      'negotiatestorage size duration maxprice ( hosts )\n'
      + 'Quote every CloudStorage host and get signed offers (capacity reserved until offer expiry) from\n'
      + 'the cheapest `hosts` (default 1) whose storage price is within maxprice (sat per GiB per 1000 blocks).\n'
      + 'Nothing is paid or committed.',
      async (params) => {
        if (params.length < 3 || params.length > 4)
          throw invalidParam('usage: negotiatestorage size duration maxprice ( hosts )');
        const size = sizeParam(params[0], 'size', MAX_OBJECT_SIZE);
        const duration = uintParam(params[1], 'duration', 1, 0xffffffff);
        const maxPrice = amountParam(params[2], 'maxprice');
        const count = params.length > 3 ? uintParam(params[3], 'hosts', 1, MAX_HOSTS) : 1;
        const result = await this.mustRenter().negotiate(size, duration, maxPrice, count);
        return {
          size,
          duration,
          maxPrice,
          offers: result.offers.map((o) => ({
            host: o.host.identity,
            hostKey: o.host.pubkey.toString('hex'),
            addr: o.host.addr,
            prices: o.offer.prices,
            bids: o.bids,
            cost: o.cost,
            escrow: escrowValue(o.cost, minEscrowValue(this.api.network)),
            formula: costFormula(size, duration, o.offer.prices),
            reservedUntil: o.offer.expiryHeight,
            dataURL: o.offer.dataURL,
            offer: o.offer.encode().toString('hex')
          })),
          declined: result.declined.map((d) => ({ host: d.host.identity, addr: d.host.addr, reason: d.reason })),
          quoted: result.quotes.filter((q) => q.quote).length,
          peers: result.quotes.length
        };
      });

    api.addRPC('proposestorage',
      'proposestorage offer root objectsize\nSign a contract for an offer (hex from negotiatestorage) and a prepared\n'
      + 'object (Merkle root, size); the host countersigns. Returns the contract and upload tokens.',
      async (params) => {
        if (params.length !== 3)
          throw invalidParam('usage: proposestorage offer root objectsize');
        const offer = decodedParam(params[0], 'offer', 'offer', (raw) => Offer.decode(raw));
        if (!offer.verify())
          throw invalidParam('offer signature does not verify.');
        const root = hexParam(params[1], 'root', 32);
        const size = uintParam(params[2], 'objectsize', 1);
        const renter = this.mustRenter();
        const host = this.hostRef(offer.hostKey.toString('hex'));
        try {
          const contract = await renter.buildContract(offer, root, size);
          const got = await renter.propose(host, contract);
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
        } catch (e) {
          throw dealRPCError(e);
        }
      });

    api.addRPC('getstoragereceipt',
      'getstoragereceipt contract\nAsk the contract\'s host (contract hex) for its signed receipt of the upload.',
      async (params) => {
        if (params.length !== 1)
          throw invalidParam('usage: getstoragereceipt contract');
        const contract = decodedParam(params[0], 'contract', 'contract', (raw) => StorageContract.decode(raw));
        const host = this.hostRef(contract.hostKey.toString('hex'));
        try {
          const r = await this.mustRenter().receipt(host, contract);
          return { id: r.id.toString('hex'), root: r.root.toString('hex'), size: r.size, sig: r.sig.toString('hex') };
        } catch (e) {
          throw dealRPCError(e);
        }
      });

    api.addRPC('getstoragetoken',
      'getstoragetoken hostkey contractid\nA download token for a contract\'s object from its host.',
      async (params) => {
        if (params.length !== 2)
          throw invalidParam('usage: getstoragetoken hostkey contractid');
        const id = hexParam(params[1], 'contractid', 32);
        const host = this.hostRef(params[0]);
        try {
          return await this.mustRenter().token(host, id);
        } catch (e) {
          throw dealRPCError(e);
        }
      });

    api.addRPC('derivefilekey',
      'derivefilekey fileid revision salt\nThe AES key of one replica of one file revision (HKDF of the wallet).',
      async (params) => {
        if (params.length !== 3)
          throw invalidParam('usage: derivefilekey fileid revision salt');
        const fileId = hexParam(params[0], 'fileid', 32);
        const revision = uintParam(params[1], 'revision', 0, 0xffffffff);
        const salt = hexParam(params[2], 'salt', 32);
        return deriveFileKey(this.storageMaster(), fileId, revision, salt).toString('hex');
      });

    api.addRPC('addfile',
      'addfile file\nRecord a stored file (ManifestFile hex) in the renter\'s manifest; returns the sealed manifest.',
      async (params) => {
        if (params.length !== 1)
          throw invalidParam('usage: addfile file');
        const file = decodedParam(params[0], 'file', 'ManifestFile', (raw) => ManifestFile.decode(raw));
        await this.store.putFile(file);
        const manifest = await this.store.manifest();
        return { fileId: file.fileId.toString('hex'), manifest: manifest.seal(this.storageMaster()).toString('hex') };
      });

    api.addRPC('removefile', 'removefile fileid\nForget a file (e.g. a put whose commitment failed).', async (params) => {
      if (params.length !== 1)
        throw invalidParam('usage: removefile fileid');
      return this.store.deleteFile(hexParam(params[0], 'fileid', 32));
    });

    api.addRPC('getfile', 'getfile fileid\nA stored file: name, size and replicas.', async (params) => {
      if (params.length !== 1)
        throw invalidParam('usage: getfile fileid');
      const file = await this.store.getFile(hexParam(params[0], 'fileid', 32));
      if (!file)
        throw new RPCError(rpcCodes.INVALID_ADDRESS_OR_KEY, `No such file: ${String(params[0])}.`);
      return file.getJSON();
    });

    api.addRPC('listfiles', 'listfiles\nFiles this renter stored, with each replica\'s contract state.', async (params) => {
      if (params.length !== 0)
        throw invalidParam('usage: listfiles');
      const out = [];
      for (const f of await this.store.listFiles()) {
        const replicas = [];
        for (const r of f.replicas) {
          const state = await this.contracts.getState(r.contractId);
          replicas.push({
            contractId: r.contractId.toString('hex'),
            host: this.negotiator.addressOf(r.hostPk),
            objectSize: r.objectSize,
            state: state ?? 'unconfirmed'
          });
        }
        out.push({ fileId: f.fileId.toString('hex'), name: f.name, size: f.size, revision: f.revision, replicas });
      }
      return out;
    });
  }
}


/** Deal failures are the host's or the network's, not the caller's: MISC_ERROR. */
const dealRPCError = rpcErrors([errorRule(DealError, {}, rpcCodes.MISC_ERROR)], { other: rpcCodes.MISC_ERROR });

