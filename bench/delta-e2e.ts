/*!
 * delta-e2e.ts - delta uploads end to end: three versions of a file put
 * with --hosts 2 on real nodes (a renter and 2 hosts, cloudcoind on
 * loopback), the second changing 1% of it in one place, the third
 * appending 1 MiB, against the whole-version upload measured in the same
 * run on the same contracts (the second version put again under another
 * name, so nothing of it is on the hosts yet). Prints bytes uploaded per
 * host, put and get times, and whether each version came back identical.
 *
 *   npm run build && npx tsx bench/delta-e2e.ts [--size 50MiB]
 */

import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { renderTable } from '../lib/cli/table';
import type { PutResult } from '../lib/deals/renterclient';
import { LocalNet } from '../scripts/localnet';
import { renterWithHosts, sizeFlag, timed } from './util';

const HOSTS = 2;

interface Row {
  what: string;
  size: number;
  perHost: number;
  chunks: string;
  put: number;
  get: number;
  identical: boolean;
}

async function main(): Promise<void> {
  const size = sizeFlag(process.argv, 'size', 50 * 1024 * 1024);
  const net = new LocalNet('cloudcoin-bench-');
  try {
    const { renter, client, addr } = await renterWithHosts(net, HOSTS);
    const v0 = randomBytes(size);
    const v1 = Buffer.from(v0);
    randomBytes(Math.floor(size / 100)).copy(v1, Math.floor(size / 3));
    const v2 = Buffer.concat([v1, randomBytes(1 << 20)]);
    const rows: Row[] = [];

    const step = async (what: string, name: string, data: Buffer): Promise<void> => {
      const file = path.join(net.dir, name);
      fs.writeFileSync(file, data);
      let res: PutResult | null = null;
      const put = await timed(async () => {
        res = await client.put({
          file, name: Buffer.from(name), hosts: HOSTS, minHosts: HOSTS, duration: 200, maxPrice: 5000,
          workDir: fs.mkdtempSync(path.join(net.dir, 'put-')), wait: false, allowance: 200000
        });
        if ((res as PutResult).txids.length)
          await net.mine(renter, 1, addr);
      });
      const r = res as unknown as PutResult;
      // Reads are prepaid from the escrow: wait until the commitment is in the index.
      await net.until('the commitment', async () => (await client.rpc('getfile', [r.fileId])).replicas.map((x) => x.state),
        (states) => states.every((x) => x === 'committed' || x === 'active'));
      const work = fs.mkdtempSync(path.join(net.dir, 'get-'));
      let out = '';
      const get = await timed(async () => { out = (await client.get(r.fileId, work)).path; });
      const identical = fs.readFileSync(out).equals(data);
      fs.rmSync(work, { recursive: true, force: true });
      const d = r.delta;
      rows.push({
        what, size: data.length, perHost: r.contracts.reduce((n, c) => n + c.uploaded, 0) / r.contracts.length,
        chunks: d && d.deltaReplicas ? `${d.unchanged} of ${d.chunks} unchanged` : 'whole', put, get, identical
      });
    };
    await step('version 0', 'disk.img', v0);
    await step('version 1: 1% changed', 'disk.img', v1);
    await step('version 2: 1 MiB appended', 'disk.img', v2);
    await step('baseline: version 1 whole', 'baseline.img', v1);

    const base = rows[3];
    process.stdout.write(`${size} bytes, --hosts ${HOSTS} (loopback); the baseline uploads version 1 whole, same run, same contracts\n`);
    process.stdout.write(renderTable([
      { title: 'put', value: (x: Row) => x.what },
      { title: 'file bytes', value: (x) => x.size.toLocaleString('en-US'), align: 'right' },
      { title: 'uploaded/host', value: (x) => x.perHost.toLocaleString('en-US'), align: 'right' },
      { title: '% of file', value: (x) => (100 * x.perHost / x.size).toFixed(1), align: 'right' },
      { title: 'chunks', value: (x) => x.chunks },
      { title: 'put s', value: (x) => x.put.toFixed(2), align: 'right' },
      { title: 'x baseline', value: (x) => (x.put / base.put).toFixed(2), align: 'right' },
      { title: 'get s', value: (x) => x.get.toFixed(2), align: 'right' },
      { title: 'identical', value: (x) => (x.identical ? 'yes' : 'NO') }
    ], rows) + '\n');
    if (!rows.every((x) => x.identical))
      throw new Error('a version did not come back identical');
  } finally {
    await net.cleanup();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
