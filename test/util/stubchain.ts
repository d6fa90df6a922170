// A chain stub for ContractIndex unit tests (not a test file): blocks are
// plain tx lists, connected and disconnected by hand, so a test can build
// shapes a miner would not (commit and spend in one block) and interrupt
// the index between its steps.
import { randomBytes } from 'crypto';
import bcoin = require('../../lib/bcoin');
import { cooperativeWitness, refundWitness } from '../../lib/contracts/escrow';
import { ContractIndex } from '../../lib/contracts/contractindex';
import type { StorageContract } from '../../lib/contracts/storagecontract';

const ZERO = '00'.repeat(32);

interface StubEntry {
  height: number;
  hash: string;
  prevBlock: string;
}

/** Just what ContractIndex reads from bcoin's Chain. */
export class StubChain {
  height = 0;
  readonly hashes: string[] = [ZERO];
  readonly blocks = new Map<string, bcoin.TX[]>();
  readonly db = { getTX: async (): Promise<bcoin.TX | null> => null };

  entry(height: number): StubEntry {
    return { height, hash: this.hashes[height], prevBlock: height > 0 ? this.hashes[height - 1] : ZERO };
  }

  async getEntryByHeight(height: number): Promise<StubEntry | null> {
    return height <= this.height ? this.entry(height) : null;
  }

  async getBlock(hash: string): Promise<{ txs: bcoin.TX[] } | null> {
    const txs = this.blocks.get(hash);
    return txs ? { txs } : null;
  }

  async getBlockView(): Promise<bcoin.CoinView> {
    return new bcoin.CoinView();
  }

  /** Extend the chain by one block without telling anyone. */
  add(txs: bcoin.TX[]): StubEntry {
    const hash = randomBytes(32).toString('hex');
    this.height += 1;
    this.hashes[this.height] = hash;
    this.hashes.length = this.height + 1;
    this.blocks.set(hash, txs);
    return this.entry(this.height);
  }

  /** Extend the chain and run the index's connect hook. */
  async connect(index: ContractIndex, txs: bcoin.TX[] = []): Promise<void> {
    const entry = this.add(txs);
    await index.handleConnect(entry as unknown as bcoin.ChainEntry,
      { txs } as unknown as bcoin.Block);
  }

  /** Drop the tip and run the index's disconnect hook. */
  async disconnect(index: ContractIndex): Promise<void> {
    const entry = this.entry(this.height);
    this.height -= 1;
    this.hashes.length = this.height + 1;
    await index.handleDisconnect(entry as unknown as bcoin.ChainEntry);
  }

  /** A memory index over this chain, opened. */
  async index(): Promise<ContractIndex> {
    const index = new ContractIndex({
      network: bcoin.Network.get('regtest'),
      chain: this as unknown as bcoin.Chain,
      memory: true
    });
    await index.open();
    return index;
  }
}

/** A tx paying `outputs` from a made-up outpoint. */
export function fundTX(outputs: bcoin.Output[]): bcoin.TX {
  const mtx = new bcoin.MTX();
  mtx.version = 2;
  mtx.addOutpoint(new bcoin.Outpoint(randomBytes(32).toString('hex'), 0));
  for (const output of outputs)
    mtx.outputs.push(output);
  return mtx.toTX();
}

/**
 * A tx spending output `index` of `prev` (the escrow of `contract`) with a
 * two-party or a refund witness; dummy signatures (the index does not run
 * scripts: consensus did).
 */
export function spendTX(prev: bcoin.TX, index: number, contract: StorageContract,
  kind: 'cooperative' | 'refund'): bcoin.TX {
  const mtx = new bcoin.MTX();
  mtx.version = 2;
  mtx.addOutpoint(new bcoin.Outpoint(prev.hash('hex'), index));
  const sig = Buffer.alloc(71, 1);
  const script = contract.escrowScript();
  mtx.inputs[0].witness.fromItems(kind === 'cooperative'
    ? cooperativeWitness(sig, sig, script)
    : refundWitness(sig, script));
  mtx.addOutput(bcoin.Script.fromProgram(0, Buffer.alloc(20)), contract.escrowValue - 1000);
  return mtx.toTX();
}
