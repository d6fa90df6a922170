/*!
 * chain.ts - one pre-mined regtest chain for the benches that run
 * cloudcoind (put, negotiate, node-index, delta-e2e, revisions): a node
 * mines the blocks every such bench needs before its first contract
 * (segwit is active from regtest height 432) into a template datadir
 * once, and each bench copies it into its nodes' datadirs before starting
 * them, instead of mining 440 blocks per bench.
 *
 * `npm run bench` (bench/run.ts) makes the template once and hands its
 * path to every bench in CHAIN_ENV; a bench run alone makes its own in
 * its LocalNet dir. Nodes that pay (the renter, node-index's two sides)
 * get the template's wallet too (its coins); hosts get the chain and the
 * contracts index only, so each makes its own wallet and so its own
 * identity key (a node's identity derives from its wallet seed). Two
 * nodes seeded with the wallet share keys and coins: only nodes that
 * never connect to each other may both take it (node-index's sides).
 */

import * as fs from 'fs';
import * as path from 'path';
import { LocalNet, type LocalNode } from '../scripts/localnet';

/** The environment variable bench/run.ts passes the template's datadir in. */
export const CHAIN_ENV = 'CC_BENCH_CHAIN';

/** Blocks in the template: segwit (the wallet's witness inputs, commitments) is active from regtest height 432. */
export const PREMINED = 440;

/** What of a template's regtest dir each node takes: the chain and its contracts index; the wallet only for a payer. */
const SHARED = ['chain', 'contracts'];

/**
 * Mines PREMINED blocks to a fresh node's wallet and stops it cleanly (its
 * leveldb closed), leaving the template datadir at `dir`.
 */
export async function makeChain(dir: string): Promise<void> {
  const net = new LocalNet('cloudcoin-bench-chain-');
  try {
    const n = await net.node('miner');
    await net.daemon(n);
    await net.mine(n, PREMINED);
    net.keep = true;
    await net.cleanup();
    fs.mkdirSync(path.join(dir, 'regtest'), { recursive: true });
    for (const part of [...SHARED, 'wallet'])
      fs.cpSync(path.join(n.base, 'regtest', part), path.join(dir, 'regtest', part), { recursive: true });
  } finally {
    net.keep = false;
    await net.cleanup();
  }
}

/**
 * The template datadir: CHAIN_ENV's when bench/run.ts made one, else one
 * made now in `net`'s dir (removed with it).
 */
export async function chainTemplate(net: LocalNet): Promise<string> {
  const shared = process.env[CHAIN_ENV];
  if (shared) {
    if (!fs.existsSync(path.join(shared, 'regtest', 'chain')))
      throw new Error(`${CHAIN_ENV}=${shared} holds no regtest chain`);
    return shared;
  }
  const dir = path.join(net.dir, 'chain-template');
  await makeChain(dir);
  return dir;
}

/**
 * Copies the template's chain (and with `wallet`, its wallet: its coins
 * and keys) into `n`'s datadir, which must not exist yet; start the node
 * after this.
 */
export function seedNode(template: string, n: LocalNode, wallet: boolean): void {
  const to = path.join(n.base, 'regtest');
  if (fs.existsSync(to))
    throw new Error(`${to} exists: seed a node before its first start`);
  fs.mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const part of wallet ? [...SHARED, 'wallet'] : SHARED)
    fs.cpSync(path.join(template, 'regtest', part), path.join(to, part), { recursive: true });
}
