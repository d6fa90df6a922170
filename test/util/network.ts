// A renter and hosts as cloudcoind processes on loopback, driven through
// cloudcoin-cli, for the storage tests that run what a user runs; the waits
// on proven cloud peers serve in-process nodes (TestNode) as well.
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { DaemonProcess, TestNode, tempDir, type CLIResult } from './nodes-context';
import type { PutResult } from '../../lib/deals/renterclient';
import { forValue } from './wait';

/** Parse a successful cloudcoin-cli call's JSON output; fail with its stderr otherwise. */
export async function json<T>(p: Promise<CLIResult>): Promise<T> {
  const r = await p;
  if (r.code !== 0)
    throw new Error(`cloudcoin-cli failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A node the waits below ask: a cloudcoind process (through cloudcoin-cli) or an in-process node (its RPC dispatcher). */
export type AnyNode = DaemonProcess | TestNode;

/** Call a method without params on `d`, as JSON; fail with the CLI's stderr or the RPC error. */
async function call0<T>(d: AnyNode, method: string): Promise<T> {
  return d instanceof TestNode ? await d.rpc(method) as T : json<T>(d.cli([method]));
}

/** The node's identity address (getidentity). */
export async function identity(d: AnyNode): Promise<string> {
  return (await call0<{ identity: string }>(d, 'getidentity')).identity;
}

/**
 * Wait until `d` lists the node of identity `id` (its address, as `identity`
 * gives it) among its proven cloud peers, or with `present` false until it
 * no longer does. Not a count of peers: a host reached over two connections
 * at once (its own and the renter's dial) is listed twice for a while, a
 * peer is listed before its cshello/csauth handshake proved its identity,
 * and right after a kill the dropped connection may still be listed.
 */
export async function forCloudPeer(d: AnyNode, id: string, present: boolean, timeoutMs: number, what: string)
  : Promise<void> {
  await forValue(async () => (await call0<Array<{ identity: string | null }>>(d, 'getcloudpeers'))
    .some((p) => p.identity === id), present, timeoutMs, what);
}

/** Wait until `d` lists every node of `peers` among its proven cloud peers (forCloudPeer for each, by identity). */
export async function forCloudPeers(d: AnyNode, peers: AnyNode[], timeoutMs: number, what: string): Promise<void> {
  for (const p of peers)
    await forCloudPeer(d, await identity(p), true, timeoutMs, `${what} (${p.addr})`);
}

/** Mine `n` blocks to the node's own wallet. */
export async function mine(d: DaemonProcess, n = 1): Promise<void> {
  const addr = (await d.cli(['getnewaddress'])).stdout.trim();
  await json(d.cli(['generatetoaddress', String(n), addr]));
  // The contract index runs off the chain's events: what the test asks
  // next (a get's prepay needs the escrow it indexes) waits for it.
  const rpc = d.client();
  const tip = await rpc.call('getblockcount', []) as number;
  await forValue(async () => (await rpc.call('getindexinfo', ['contractindex']) as IndexInfo).contractindex.best_block_height,
    (h) => h >= tip, 60000, `the contract index at ${tip}`);
}

interface IndexInfo {
  contractindex: { synced: boolean; best_block_height: number };
}

/**
 * A renter (with `renterArgs`) and one host per entry of `hostArgs` (extra flags), connected,
 * with segwit active and coins in the renter's wallet (440 blocks).
 */
export async function startNetwork(t: { teardown(fn: () => unknown): void }, hostArgs: string[][], renterArgs: string[] = [])
  : Promise<{ renter: DaemonProcess; hosts: DaemonProcess[] }> {
  const renter = await DaemonProcess.create(renterArgs);
  const hosts: DaemonProcess[] = [];
  for (const args of hostArgs)
    hosts.push(await DaemonProcess.create(['--host', ...args]));
  t.teardown(async () => {
    for (const d of [renter, ...hosts]) {
      await d.stop('SIGKILL');
      d.cleanup();
    }
  });
  await renter.start();
  await Promise.all(hosts.map((h) => h.start(['--connect', renter.addr])));
  await forCloudPeers(renter, hosts, 60000, 'hosts connected to the renter');
  // Segwit (our witness wallet's inputs) is active from height 432.
  await mine(renter, 440);
  return { renter, hosts };
}

export interface ReplicaJSON {
  contractId: string;
  host: string;
  state: string;
  reachable: boolean;
  endHeight: number;
  blocksLeft: number;
}
export interface FileJSON {
  fileId: string;
  name: string;
  nameHex: string;
  replicas: ReplicaJSON[];
}

export async function files(renter: DaemonProcess): Promise<FileJSON[]> {
  return json<FileJSON[]>(renter.cli(['ls', '--json']));
}

export async function states(renter: DaemonProcess, fileId: string): Promise<string[]> {
  const f = (await files(renter)).find((x) => x.fileId === fileId);
  return f ? f.replicas.map((r) => r.state) : [];
}

/** A text file (so `get -` output compares as a string). */
export function textFile(file: string, bytes: number): Buffer {
  const data = Buffer.from(randomBytes(Math.ceil(bytes / 2)).toString('hex').slice(0, bytes));
  fs.writeFileSync(file, data);
  return data;
}

/** Blocks in the renter's chain. */
export async function height(d: DaemonProcess): Promise<number> {
  return (await json<{ blocks: number }>(d.cli(['getblockchaininfo']))).blocks;
}

/**
 * `put` a file of `bytes` random bytes (in a temp dir removed at teardown)
 * with `args`, mining its commitment once it is in the mempool; returns
 * put's JSON result.
 */
export async function putMined(t: { teardown(fn: () => unknown): void }, renter: DaemonProcess, bytes: number,
  args: string[]): Promise<PutResult> {
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(bytes));
  const putting = renter.cli(['put', file, ...args, '--json']);
  await forValue(async () => (await json<string[]>(renter.cli(['getrawmempool']))).length, (n) => n > 0, 60000,
    'the commitment in the mempool');
  await mine(renter);
  const res = await putting;
  if (res.code !== 0)
    throw new Error(`put failed (${res.code}): ${res.stderr}`);
  return JSON.parse(res.stdout) as PutResult;
}
