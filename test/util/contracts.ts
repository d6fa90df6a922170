// Helpers shared by the multi-node contracts tests (not a test file).
import bcoin = require('../../lib/bcoin');
import * as contracts from '../../lib/contracts';
import { walletIdle } from '../../lib/contracts/builders';
import { cooperativeWitness } from '../../lib/contracts/escrow';
import type { ContractsPlugin } from '../../lib/contracts/plugin';
import type { StorageContract } from '../../lib/contracts/storagecontract';
import { NodesContext, TestNode, type NodeSpec } from './nodes-context';
import { forValue } from './wait';
import { testIdentity, testKey } from '../data/contracts-fixtures';

/**
 * A contract of `p`'s node with a throwaway host identity (only the
 * renter's wallet commits), signed by both, starting at `start`: `n` makes
 * its keys and root unique, its offer expires `expiryIn` blocks on.
 */
export async function throwawayDeal(p: ContractsPlugin, start: number, n: number, expiryIn = 10): Promise<StorageContract> {
  const c = p.buildContract({
    renterKey: (await p.identity()).publicKey,
    hostKey: testIdentity('host').publicKey,
    renterEscrowKey: await p.createEscrowKey(),
    hostEscrowKey: testKey(`host escrow ${n}`).publicKey,
    root: Buffer.alloc(32, n + 1),
    size: 4096,
    startHeight: start,
    endHeight: start + 30,
    auditInterval: 10,
    escrowValue: 12000,
    refundHeight: start + 42,
    expiryHeight: start + expiryIn
  });
  await p.signContract(c);
  return c.sign(testIdentity('host'));
}

/** Segwit activates at regtest height 432 (notes/bcoin-1.0.2.md). */
export const SEGWIT_HEIGHT = 432;

export function plugin(n: TestNode): ContractsPlugin {
  return n.node.require<ContractsPlugin>('contracts');
}

/** Start `count` nodes with the contracts extension, connected to node 0. */
export async function startNodes(count: number, spec: NodeSpec = { memory: true }): Promise<NodesContext> {
  const ctx = await NodesContext.create(Array.from({ length: count }, () => ({
    ...spec, extensions: [contracts.extension]
  })));
  await ctx.open();
  await ctx.connectAll();
  return ctx;
}

/**
 * Give every node mature coins and take the chain past segwit activation:
 * each node mines a few blocks, node 0 mines the rest.
 */
export async function fundAll(ctx: NodesContext): Promise<void> {
  for (const n of ctx.nodes.slice(1)) {
    await n.mine(3);
    await ctx.sync();
  }
  const n0 = ctx.nodes[0];
  await n0.mine(SEGWIT_HEIGHT + 8 - n0.height);
  await ctx.sync();
  await waitIndexed(ctx);
}

/** Wait until every node's contract index has reached its chain tip. */
export async function waitIndexed(ctx: NodesContext): Promise<void> {
  for (const n of ctx.nodes) {
    await n.node.hooksIdle();
    await forValue(() => plugin(n).index.tip.hash, h => h === n.node.chain.tip.hash, 20000,
      `contract index tip of ${n.addr}`);
  }
}

/** Mine on `n`, then wait for every node's chain, wallet and index. */
export async function mineSync(ctx: NodesContext, n: TestNode, blocks = 1): Promise<void> {
  await n.mine(blocks);
  await ctx.sync();
  await waitIndexed(ctx);
  // waitWalletSynced sees the wallet tip, which moves before its txs land.
  for (const node of ctx.nodes)
    await walletIdle(node.node.wallet().wdb);
}

/**
 * Negotiate a contract the way the deal flow will: the renter builds and
 * signs, the host checks and countersigns (hex between them, as on the wire).
 */
export async function makeDeal(renter: TestNode, host: TestNode,
  overrides: Partial<StorageContract> = {}): Promise<StorageContract> {
  const r = plugin(renter);
  const h = plugin(host);
  const start = renter.height;
  const c = r.buildContract({
    renterKey: (await r.identity()).publicKey,
    hostKey: (await h.identity()).publicKey,
    renterEscrowKey: await r.createEscrowKey(),
    hostEscrowKey: await h.createEscrowKey(),
    root: Buffer.alloc(32, 0x11),
    size: 1 << 20,
    startHeight: start,
    endHeight: start + 20,
    auditInterval: 5,
    escrowValue: 30000,
    holdback: 2500,
    refundHeight: start + 32,
    expiryHeight: start + 10,
    storagePrice: 1000,
    uploadPrice: 10,
    downloadPrice: 20
  });
  Object.assign(c, overrides);
  await r.signContract(c);
  const offer = contracts.StorageContract.decode(c.encode());
  h.verifyContract(offer, { requireSigs: false });
  await h.signContract(offer);
  const signed = contracts.StorageContract.decode(offer.encode());
  r.verifyContract(signed);
  return signed;
}

/** getcontract, or null when the node does not know the contract (-5). */
export async function getContract(n: TestNode, id: string): Promise<Record<string, unknown> | null> {
  try {
    return await n.rpc('getcontract', [id]) as Record<string, unknown>;
  } catch (e) {
    if ((e as { code?: number }).code === -5)
      return null;
    throw e;
  }
}

/** The state of a contract on a node ('unknown' when not indexed). */
export async function stateOf(n: TestNode, id: string): Promise<string> {
  const info = await getContract(n, id);
  return info ? info.state as string : 'unknown';
}

/**
 * Node-independent view of a node's index (no `role`, no pending records:
 * only the node that broadcast a commitment, or saw it confirm, has those),
 * for comparisons.
 */
export async function indexView(n: TestNode): Promise<unknown> {
  const list = await n.rpc('listcontracts') as Array<Record<string, unknown>>;
  return list.filter(c => c.state !== 'pending').map(({ role: _role, ...rest }) => rest)
    .sort((a, b) => String(a.id).localeCompare(String(b.id)));
}

/** Internal-order hex of a display txid. */
export function internal(txid: string): string {
  return Buffer.from(txid, 'hex').reverse().toString('hex');
}

/**
 * Copy a mempool tx from one node to another now, instead of waiting up to
 * 5 s for bcoin's inv flush (the relay itself is not what these tests check).
 */
export async function shareTX(from: TestNode, to: TestNode, txid: string): Promise<void> {
  const tx = from.node.mempool.getTX(internal(txid));
  if (!tx)
    throw new Error(`tx ${txid} not in the mempool of ${from.addr}`);
  if (to.node.mempool.has(internal(txid)))
    return;
  // Unconfirmed parents first (a rating spends its fresh funding tx).
  for (const input of tx.inputs) {
    const parent = from.node.mempool.getTX(input.prevout.hash);
    if (parent)
      await shareTX(from, to, parent.txid());
  }
  try {
    await to.node.mempool.addTX(tx);
  } catch (e) {
    // The relay delivered it meanwhile: that is what we wanted.
    if ((e as { code?: unknown }).code !== 'alreadyknown')
      throw e;
  }
}

/** A contract's escrow output as a coin, read from the node's chain (its commit as getcontract shows it). */
export async function escrowCoin(n: TestNode, c: StorageContract): Promise<bcoin.Coin> {
  const info = await getContract(n, c.id()) as { commit: { txid: string; vout: number; height: number } };
  const tx = await n.node.chain.db.getTX(internal(info.commit.txid));
  return bcoin.Coin.fromTX(tx!, info.commit.vout, info.commit.height);
}

/** Sat the wallet of `n` holds at `script` (mined coinbases elsewhere do not blur it). */
export async function heldAt(n: TestNode, script: bcoin.Script): Promise<number> {
  const raw = script.toRaw();
  const coins = await plugin(n).walletContext().wallet.getCoins();
  return coins.filter(c => c.script.toRaw().equals(raw)).reduce((s, c) => s + c.value, 0);
}

/**
 * A two-party spend of a contract's escrow (its coin read from `n`'s
 * chain): the whole escrow less `fee` sat to the host's wallet, signed
 * SIGHASH_ALL by both parties' escrow keys, not submitted.
 */
export async function twoPartySpend(n: TestNode, renter: TestNode, host: TestNode, c: StorageContract,
  fee = 1000): Promise<bcoin.MTX> {
  const coin = await escrowCoin(n, c);
  const script = c.escrowScript();
  const mtx = new bcoin.MTX();
  mtx.version = 2;
  mtx.addCoin(coin);
  mtx.addOutput(await plugin(host).walletContext().wallet.receiveAddress(0), coin.value - fee);
  const sig = (ring: bcoin.KeyRing) =>
    mtx.signature(0, script, coin.value, ring.privateKey, bcoin.Script.hashType.ALL, 1);
  const rRing = (await plugin(renter).getEscrowRing(c.renterEscrowKey))!;
  const hRing = (await plugin(host).getEscrowRing(c.hostEscrowKey))!;
  mtx.inputs[0].witness.fromItems(cooperativeWitness(sig(rRing), sig(hRing), script));
  return mtx;
}
