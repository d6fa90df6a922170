/*!
 * revisions.ts - on-chain bytes and fees per stored file: contracts per
 * host changed by revisions, against today's-then one contract per file
 * per host, both measured in the same run on real nodes.
 *
 *   npm run build && npx tsx bench/revisions.ts [--files 100] [--baseline 10] [--size 1MB]
 *
 * A renter and 3 hosts (cloudcoind processes on loopback). Revisions: the
 * renter puts --files files of --size one at a time on the 3 hosts; only
 * the first forms contracts (one commitment for 3), the rest are
 * revisions. Per-file model: --baseline more files put with reuse off, so
 * each forms 3 new contracts in its own commitment (the cost is the same
 * for every file, so a few measure it). The commitments' vsizes come from
 * the chain. A contract also costs one close when it ends (a cooperative
 * spend of its escrow, measured on a signed close transaction built with
 * lib/contracts/channel.ts); the table shows vB per file without and
 * with those closes, and the fee per file at 1, 5 and 20 sat/vB.
 */

import * as fs from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import bcoin = require('../lib/bcoin');
import { renderTable } from '../lib/cli/table';
import { formatSize } from '../lib/base/units';
import { StorageContract } from '../lib/contracts/storagecontract';
import { buildCloseTX, signState } from '../lib/contracts/channel';
import { LocalNet } from '../scripts/localnet';
import { randomFile, renterWithHosts, sizeFlag, timed } from './util';

const HOSTS = 3;
const RATES = [1, 5, 20];

function countFlag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0)
    return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a whole number above 0`);
  return n;
}

/** vsize of a cooperative close (2 signatures, renter remainder, host payout), signed with throwaway keys. */
function closeVsize(): number {
  const network = bcoin.Network.get('regtest');
  const key = (label: string) => bcoin.KeyRing.fromPrivate(createHash('sha256').update(label).digest(), true);
  const c = new StorageContract({
    network: network.magic, renterKey: key('renter').publicKey, hostKey: key('host').publicKey,
    renterEscrowKey: key('renter escrow').publicKey, hostEscrowKey: key('host escrow').publicKey,
    root: Buffer.alloc(32, 1), size: 1 << 20, startHeight: 500, endHeight: 700, auditInterval: 10,
    escrowValue: 10000, holdback: 2500, refundHeight: 712, expiryHeight: 520
  });
  const fund = new bcoin.MTX();
  fund.version = 2;
  fund.addOutpoint(new bcoin.Outpoint('22'.repeat(32), 0));
  fund.addOutput(c.escrowOutputScript(), c.escrowValue);
  const coin = bcoin.Coin.fromTX(fund.toTX(), 0, 501);
  const state = signState(c, coin, 7, 6000, key('renter escrow').privateKey);
  const { tx } = buildCloseTX(c, coin, state, key('host escrow').privateKey,
    { payout: key('host payout').getAddress(), rate: 1000 });
  return tx.toTX().getVirtualSize();
}

interface Model {
  name: string;
  files: number;
  txids: Set<string>;
  contracts: Set<string>;
  vbytes: number;
  secs: number;
}

async function main(): Promise<void> {
  const files = countFlag('files', 100);
  const baseline = countFlag('baseline', 10);
  const size = sizeFlag(process.argv, 'size', 1e6);
  const net = new LocalNet('cloudcoin-bench-');
  try {
    const { renter, rpc, client, addr } = await renterWithHosts(net, HOSTS);
    const file = path.join(net.dir, 'file.bin');

    const run = async (name: string, count: number, reuse: boolean): Promise<Model> => {
      const m: Model = { name, files: count, txids: new Set(), contracts: new Set(), vbytes: 0, secs: 0 };
      m.secs = await timed(async () => {
        for (let i = 0; i < count; i++) {
          randomFile(file, size);
          const res = await client.put({
            file, name: Buffer.from(`${name}-${i}`), hosts: HOSTS, minHosts: HOSTS, duration: 200, maxPrice: 5000,
            workDir: fs.mkdtempSync(path.join(net.dir, 'put-')), wait: false, reuse
          });
          res.contracts.forEach((c) => m.contracts.add(c.id));
          // Sized from the mempool's copy, before it is mined.
          for (const txid of res.txids) {
            m.txids.add(txid);
            const hex = await rpc.call('getrawtransaction', [txid]) as string;
            m.vbytes += bcoin.TX.fromRaw(Buffer.from(hex, 'hex')).getVirtualSize();
          }
          if (res.txids.length)
            await net.mine(renter, 1, addr);
        }
      });
      return m;
    };
    const revisions = await run('revisions', files, true);
    const perFile = await run('per-file', baseline, false);
    const close = closeVsize();

    const per = (m: Model, closes: boolean) => (m.vbytes + (closes ? close * m.contracts.size : 0)) / m.files;
    const rows = [revisions, perFile];
    process.stdout.write(`${files} + ${baseline} files of ${formatSize(size)} on ${HOSTS} hosts (loopback); `
      + `a close is ${close} vB per contract\n`);
    process.stdout.write(renderTable([
      { title: 'model', value: (m: Model) => m.name },
      { title: 'files', value: (m) => String(m.files), align: 'right' },
      { title: 'commitments', value: (m) => String(m.txids.size), align: 'right' },
      { title: 'contracts', value: (m) => String(m.contracts.size), align: 'right' },
      { title: 'commit vB', value: (m) => String(m.vbytes), align: 'right' },
      { title: 'vB/file', value: (m) => per(m, false).toFixed(1), align: 'right' },
      { title: 'vB/file +closes', value: (m) => per(m, true).toFixed(1), align: 'right' },
      ...RATES.map((r) => ({ title: `sat/file @${r}`, value: (m: Model) => (per(m, true) * r).toFixed(0), align: 'right' as const })),
      { title: 's/put', value: (m) => (m.secs / m.files).toFixed(2), align: 'right' }
    ], rows) + '\n');
    const ratio = per(perFile, true) / per(revisions, true);
    process.stdout.write(`per-file / revisions: x${ratio.toFixed(1)} on chain (with closes); goal under 10 vB per file: `
      + `${per(revisions, true) < 10 ? 'met' : 'missed'} (${per(revisions, true).toFixed(1)} vB)\n`);
  } finally {
    await net.cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
