/*!
 * plugin.ts - the deals extension: host side (the `storage` service over a
 * hosting backend) and renter side (the renter's deals and files, which
 * the RPCs in rpc.ts expose to the CLI's negotiate-storage, put, get and
 * ls, and to the node's own renter client).
 */

import type { ContractsPlugin } from '../contracts/plugin';
import type { StorageContract } from '../contracts/storagecontract';
import type { Hosting } from '../hosting/plugin';
import type { StorageBackend } from '../hosting/backend';
import type { Extension, NodeAPI, OptionSpec } from '../base/extension';
import { ConfigError } from '../node/config';
import type { Negotiator } from '../negotiator/negotiator';
import { taggedHash, tags } from '../base/hash';
import {
  DEFAULT_DOWNLOAD_PRICE, DEFAULT_NEW_RENTER_CAP, DEFAULT_NEW_RENTER_SHARE, DEFAULT_STORAGE_PRICE,
  DEFAULT_UPLOAD_PRICE, getDealParams
} from './common';
import { getParams } from '../contracts/common';
import { DealStore } from './dealstore';
import { DealError } from './errors';
import { HostService, type HostTerms } from './hostservice';
import { amountParam } from '../base/rpc';
import { Renter, type HostRef } from './renter';
import { RenterFiles } from './renterfiles';

/** Flags and cloudcoin.conf keys deals reads (a host's terms). */
export const options: OptionSpec[] = [
  { name: 'host-storage-price', type: 'string', description: 'storage price, sat per GiB per 1000 blocks (e.g. 1000sat)', defaultText: '1000sat' },
  { name: 'host-upload-price', type: 'string', description: 'upload price, sat per GiB', defaultText: '100sat' },
  { name: 'host-download-price', type: 'string', description: 'download price, sat per GiB', defaultText: '200sat' },
  { name: 'host-max-duration', type: 'uint', description: 'longest contract served, in blocks', defaultText: 'the network maximum' },
  { name: 'host-new-renter-share', type: 'uint', description: 'percent of free capacity a renter with no committed contract here may hold in open offers', defaultText: '25' },
  { name: 'host-new-renter-cap', type: 'size', description: 'most bytes a renter with no committed contract here may hold in open offers', defaultText: '4GiB' }
];

/** Read the host's terms from flags / cloudcoin.conf; bad values throw ConfigError. */
function readTerms(api: NodeAPI): HostTerms {
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
  const cp = getParams(api.network);
  const longest = cp.maxSpan - cp.window;
  const maxDuration = api.config.uint('host-max-duration') ?? longest;
  if (maxDuration < 1 || maxDuration > longest)
    throw new ConfigError(`--host-max-duration must be from 1 to ${longest} blocks on ${api.network.type}.`);
  const share = api.config.uint('host-new-renter-share') ?? DEFAULT_NEW_RENTER_SHARE;
  if (share < 1 || share > 100)
    throw new ConfigError('--host-new-renter-share must be a percentage from 1 to 100.');
  const cap = api.config.size('host-new-renter-cap') ?? DEFAULT_NEW_RENTER_CAP;
  if (cap < 1)
    throw new ConfigError('--host-new-renter-cap must be a size such as 1GB.');
  return {
    prices: {
      storage: amount('host-storage-price', DEFAULT_STORAGE_PRICE),
      upload: amount('host-upload-price', DEFAULT_UPLOAD_PRICE),
      download: amount('host-download-price', DEFAULT_DOWNLOAD_PRICE)
    },
    maxDuration,
    newRenterShare: share,
    newRenterCap: cap
  };
}

export class Deals implements Extension {
  readonly api: NodeAPI;
  readonly store: DealStore;
  readonly terms: HostTerms;
  host: HostService | null = null;
  private renterSide: Renter | null = null;
  readonly files: RenterFiles;

  constructor(api: NodeAPI) {
    this.api = api;
    this.store = new DealStore({ datadir: api.datadir, memory: api.memory });
    this.terms = readTerms(api);
    this.files = new RenterFiles({
      store: this.store,
      height: () => this.api.chain.height,
      contractInfo: async (id) => {
        const info = await this.contracts.getContract(id);
        return info ? { state: info.state, endHeight: info.contract.endHeight } : null;
      },
      hasCommitment: (id) => this.contracts.index.hasCommitment(id),
      commit: async (contracts: StorageContract[]) => (await this.contracts.commit(contracts)).map((tx) => tx.txid()),
      addressOf: (pk) => this.negotiator.addressOf(pk),
      reachable: (pk) => this.renter.hostByKey(pk) !== null
    });
  }

  get negotiator(): Negotiator {
    return this.api.require<Negotiator>('negotiator');
  }

  get contracts(): ContractsPlugin {
    return this.api.require<ContractsPlugin>('contracts');
  }

  private get hosting(): Hosting {
    return this.api.require<Hosting>('hosting');
  }

  backend(): StorageBackend | null {
    return this.hosting.backend;
  }

  dataURL(): string {
    const backend = this.backend();
    return (backend && backend.dataURL()) || '';
  }

  async open(): Promise<void> {
    await this.store.open();
    if (this.backend())
      await this.openHost();
    this.renterSide = new Renter({
      network: this.api.network,
      negotiator: this.negotiator,
      identity: () => this.negotiator.identity,
      height: () => this.api.chain.height,
      createEscrowKey: () => this.contracts.createEscrowKey()
    });
    this.api.onConnect(async (entry) => {
      const removed = await this.files.maintain(entry.height);
      if (removed.length)
        this.api.logger.info('deals: forgot %d files whose put never committed', removed.length);
    });
  }

  private async openHost(): Promise<void> {
    const host = new HostService({
      network: this.api.network,
      identity: () => this.negotiator.identity,
      height: () => this.api.chain.height,
      backend: () => this.backend(),
      dataURL: () => this.dataURL(),
      createEscrowKey: () => this.contracts.createEscrowKey(),
      contractState: (id) => this.contracts.getState(id),
      store: this.store
    }, this.terms);
    this.host = host;
    this.negotiator.registerService(host.service());
    await this.announce();
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

  /** Gossip our terms (csannounce); a failure is logged, never fatal. */
  private async announce(): Promise<void> {
    if (!this.host)
      return;
    const interval = getDealParams(this.api.network).announceInterval;
    try {
      this.negotiator.announce({
        url: this.dataURL(),
        storagePrice: this.terms.prices.storage,
        uploadPrice: this.terms.prices.upload,
        downloadPrice: this.terms.prices.download,
        capacity: await this.host.freeCapacity(),
        maxDuration: this.terms.maxDuration,
        expiry: this.api.chain.height + 10 * interval
      });
    } catch (e) {
      this.api.logger.warning('deals: announcement failed: %s', (e as Error).message);
    }
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  /** The renter side (from open() on). */
  get renter(): Renter {
    if (!this.renterSide)
      throw new DealError('not-open', 'Deals are not open yet.');
    return this.renterSide;
  }

  /**
   * A commitment is a version-2 witness transaction: refuse to negotiate
   * before the chain enforces segwit and CSV, or the host would keep an
   * upload nobody can pay for (the mempool refuses the commitment with
   * premature-version2-tx).
   */
  requireActivation(): void {
    const state = this.api.chain.state;
    if (!state.hasWitness() || !state.hasCSV()) {
      const hint = this.api.network.type === 'regtest' ? ' (on regtest, mine to height 432)' : '';
      throw new DealError('not-activated',
        `segwit and CSV are not active yet at height ${this.api.chain.height}: commitments cannot confirm${hint}`);
    }
  }

  /** Secret behind every file key: never leaves the node except as file keys. */
  storageMaster(): Buffer {
    const wallet = this.api.wallet().wdb.primary;
    const key = wallet.master.key;
    if (!key)
      throw new DealError('wallet-locked', 'The wallet is locked or watch-only: cannot derive file keys.');
    return taggedHash(tags.STORAGE_MASTER, key.privateKey, key.chainCode);
  }

  /** A connected host by identity key. */
  hostRef(pk: Buffer): HostRef {
    const host = this.renter.hostByKey(pk);
    if (!host)
      throw new DealError('host-unreachable', `Host ${pk.toString('hex')} is not a connected CloudStorage peer.`);
    return host;
  }
}
