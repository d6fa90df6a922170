// Load on loopback, with latencies: concurrent uploads to one file server
// (each a contract of its own, registered over the admin API, one PUT of
// the whole object from a loopback address of its own, as 50 renters are,
// then checked complete and downloaded byte for byte), and concurrent
// negotiations (`negotiatestorage`, each for a size of its
// own so none reuses another's offer) from a renter's cloudcoind against
// one host's. Every request must succeed; p50/p99 are printed.
import * as http from 'http';
import { randomBytes } from 'crypto';
import { MerkleTree, deriveTokenKey, mintToken, signAdmin } from '../../lib/storage';
import { raw } from '../util/fileserver';
import { missing, startTarget } from '../util/fileserver-targets';
import { startNetwork } from '../util/network';
import { LoopbackAddresses, Teardown, percentile } from './common';

/**
 * One upload from a source address of its own: the Node server takes at
 * most 32 connections per client address (MAX_CONNECTIONS_PER_ADDRESS,
 * closing the rest at once), and 50 renters are 50 addresses.
 */
function upload(port: number, p: string, headers: Record<string, string | number>, body: Buffer, localAddress: string)
  : Promise<{ status: number; json: { complete?: boolean } }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: p, headers, agent: false, localAddress }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        let json = {};
        try {
          json = JSON.parse(Buffer.concat(parts).toString());
        } catch {
          json = {};
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface LoadOptions {
  uploads: number;
  /** Bytes per upload (at most 8 MiB: one part). */
  uploadSize: number;
  /** File server targets (node, php, apache). */
  targets: Array<'node' | 'php' | 'apache'>;
  negotiations: number;
  log?: (line: string) => void;
}

export interface Latencies {
  n: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  wallMs: number;
}

export interface LoadResult {
  uploads: Record<string, Latencies>;
  negotiations: Latencies;
  failures: string[];
  line: string;
}


function summary(ms: number[], errors: number, wallMs: number): Latencies {
  return { n: ms.length + errors, errors, p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms.length ? Math.max(...ms) : 0, wallMs };
}

function fmt(l: Latencies): string {
  return `${l.n - l.errors}/${l.n} ok, p50 ${Math.round(l.p50)} ms, p99 ${Math.round(l.p99)} ms`;
}

async function uploadLoad(name: 'node' | 'php' | 'apache', n: number, size: number, failures: string[]): Promise<Latencies> {
  const key = randomBytes(32);
  const ktok = deriveTokenKey(key);
  const target = await startTarget(name, key, n * size * 2 + (64 << 20));
  try {
    const clock = () => Math.floor(Date.now() / 1000);
    const req = (method: string, p: string, opts: Parameters<typeof raw>[3] = {}) => raw(target.port, method, target.base + p, opts);
    const admin = (method: string, p: string, json: unknown) => {
      const body = Buffer.from(JSON.stringify(json));
      const headers = signAdmin(key, method, p, body, clock(), randomBytes(16).toString('hex'));
      return req(method, p, { headers: { ...headers, 'content-length': body.length, 'content-type': 'application/json' }, body });
    };
    const token = (contract: string, op: 'get' | 'put') => mintToken(ktok, {
      contract, op, object: 1, notAfter: clock() + 3600, maxBytes: 2 ** 40, renterPkHash: '11'.repeat(20)
    });
    const jobs: Array<{ id: string; data: Buffer }> = [];
    for (let i = 0; i < n; i++) {
      const data = randomBytes(size);
      const id = randomBytes(32).toString('hex');
      const c = await admin('PUT', `/admin/contracts/${id}`, { expiry: clock() + 7200, manifestLimit: 64 << 10 });
      const o = await admin('PUT', `/admin/contracts/${id}/objects/1`, { root: MerkleTree.fromData(data).root.toString('hex'), size });
      if (c.status !== 200 || o.status !== 200)
        throw new Error(`${name}: registering contract ${i} failed: ${c.status} ${o.status}`);
      jobs.push({ id, data });
    }
    const ms: number[] = [];
    let errors = 0;
    const ips = new LoopbackAddresses();
    const from = jobs.map(() => ips.next());
    const t0 = Date.now();
    await Promise.all(jobs.map(async (j, i) => {
      const s = Date.now();
      try {
        const r = await upload(target.port, `${target.base}/v1/${j.id}/1?offset=0`,
          { authorization: `CC-Token ${token(j.id, 'put')}`, 'content-length': j.data.length }, j.data, from[i]);
        if (r.status !== 200 || r.json.complete !== true)
          throw new Error(`${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
        ms.push(Date.now() - s);
      } catch (e) {
        errors += 1;
        failures.push(`${name}: upload ${i}: ${(e as Error).message}`);
      }
    }));
    const wall = Date.now() - t0;
    // Every object whole: downloaded back, one after another.
    for (const [i, j] of jobs.entries()) {
      const back = await req('GET', `/v1/${j.id}/1`, { headers: { authorization: `CC-Token ${token(j.id, 'get')}` } });
      if (back.status !== 200 || !back.body.equals(j.data))
        failures.push(`${name}: upload ${i} does not download intact (${back.status})`);
    }
    return summary(ms, errors, wall);
  } finally {
    await target.close();
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const log = options.log ?? (() => {});
  const failures: string[] = [];
  const uploads: Record<string, Latencies> = {};
  for (const name of options.targets) {
    const why = missing(name);
    if (why) {
      log(`${name}: skipped: ${why}`);
      continue;
    }
    uploads[name] = await uploadLoad(name, options.uploads, options.uploadSize, failures);
    log(`${options.uploads} concurrent uploads of ${options.uploadSize} bytes to ${name}: ${fmt(uploads[name])}, `
      + `${Math.round(uploads[name].wallMs)} ms for all`);
  }

  const td = new Teardown();
  let negotiations: Latencies;
  try {
    const { renter } = await startNetwork(td, [[]]);
    const rpc = renter.client();
    const ms: number[] = [];
    let errors = 0;
    const t0 = Date.now();
    await Promise.all(Array.from({ length: options.negotiations }, async (_, i) => {
      const s = Date.now();
      try {
        // A size of its own (1 MB + i bytes): an equal one would reuse an open offer.
        await rpc.call('negotiatestorage', [1_000_000 + i, 100, 5000, 1]);
        ms.push(Date.now() - s);
      } catch (e) {
        errors += 1;
        failures.push(`negotiation ${i}: ${(e as Error).message}`);
      }
    }));
    negotiations = summary(ms, errors, Date.now() - t0);
    log(`${options.negotiations} concurrent negotiations against one host: ${fmt(negotiations)}, ${negotiations.wallMs} ms for all`);
  } finally {
    await td.run();
  }
  const errorsOf = (l: Latencies) => l.errors;
  const total = Object.values(uploads).reduce((a, l) => a + errorsOf(l), 0) + negotiations.errors;
  const line = `load: ${options.uploads} concurrent uploads of ${Math.round(options.uploadSize / 1024)} KiB to one file server `
    + `(${Object.entries(uploads).map(([k, l]) => `${k} ${fmt(l)}`).join('; ')}), `
    + `${options.negotiations} concurrent negotiations against one host (${fmt(negotiations)}), ${total} errors`;
  return { uploads, negotiations, failures, line };
}
