// A host whose bytes live on the PHP file server behind Apache (the shipped
// folder with its .htaccess, under /cc, shared-hosting limits), driven by
// `cloudcoind --host --fileserver URL --fileserver-key K` exactly as the
// Node server: getfileservers reports it healthy with its capacity, and a
// `put --hosts 2` / `get` through cloudcoin-cli stores one replica there.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import type { BackendInfo } from '../lib/hosting';
import { FileServerClient } from '../lib/storage';
import { tempDir } from './util/nodes-context';
import { identity, json, mine, startNetwork } from './util/network';
import { missing, startTarget } from './util/fileserver-targets';
import { forValue } from './util/wait';

const why = missing('apache');

t.test('a host on the PHP file server behind Apache', { skip: why ?? false }, async (t) => {
  const key = randomBytes(32);
  const php = await startTarget('apache', key, 64 << 20);
  t.teardown(() => php.close());
  const { renter, hosts } = await startNetwork(t, [
    ['--host-storage-price', '500sat'],
    ['--host-storage-price', '600sat', '--fileserver', php.url, '--fileserver-key', key.toString('hex')]
  ]);
  const ids = await Promise.all(hosts.map(identity));
  const work = tempDir();
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));

  await t.test('should report the PHP server healthy with its capacity', async (t) => {
    const [info] = await json<BackendInfo[]>(hosts[1].cli(['getfileservers']));
    t.match(info, { kind: 'remote', url: php.url, capacity: 64 << 20, reserved: 0, contracts: 0, healthy: true, error: null });
    await forValue(() => hosts[1].stdout, (o) => new RegExp(`hosting: +remote ${php.url} \\(capacity`).test(o), 10000,
      'the start banner names it');
  });

  const file = path.join(work, 'data.bin');
  fs.writeFileSync(file, randomBytes(10 * 1024 * 1024 + 4321));
  let fileId = '';
  let onPHP = '';

  await t.test('should put a file on both hosts and get it back', async (t) => {
    const put = await json<{ fileId: string; contracts: Array<{ id: string; host: string }>; failed: string[] }>(
      renter.cli(['put', file, '--hosts', '2', '--max-price', '2000sat', '--no-wait', '--json']));
    fileId = put.fileId;
    t.same(put.contracts.map((c) => c.host).sort(), [...ids].sort(), 'one replica on each host');
    t.same(put.failed, []);
    await mine(renter);
    onPHP = put.contracts.find((c) => c.host === ids[1])!.id;
    await forValue(async () => {
      const r = await hosts[1].cli(['getcontract', onPHP]);
      return r.code === 0 ? (JSON.parse(r.stdout) as { state: string }).state : r.stderr.trim();
    }, 'active', 30000, 'the PHP host\'s contract active');
    // The PHP server holds the contract with its file as object 1, complete.
    const st = await new FileServerClient(php.url, { adminKey: key }).object(onPHP, 1);
    t.match(st, { contract: onPHP, object: 1, complete: true });
    const out = path.join(work, 'out.bin');
    const r = await renter.cli(['get', fileId, out]);
    t.equal(r.code, 0, r.stderr);
    t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'bytes identical');
  });

  await t.test('should renew the PHP host\'s contract without a re-upload', async (t) => {
    const fs0 = new FileServerClient(php.url, { adminKey: key });
    const usedBefore = (await fs0.status()).used;
    const res = await json<{ renewed: Array<{ id: string; old: string; objects: number }>; failed: unknown[] }>(
      renter.cli(['renew', onPHP, '--json']));
    t.same(res.failed, []);
    t.same(res.renewed.map((r) => [r.old, r.objects]), [[onPHP, 1]], 'the file\'s object carried over');
    const renewed = res.renewed[0].id;
    t.match(await fs0.object(renewed, 1), { contract: renewed, object: 1, complete: true, adoptedFrom: onPHP },
      'the PHP server adopted it');
    // New bytes: only the renewal's sealed manifest (object 0, a few hundred bytes for this file).
    const grown = (await fs0.status()).used - usedBefore;
    t.ok(grown > 0 && grown < 4096, `no second copy stored, only the renewal's manifest (${grown} bytes)`);
    await mine(renter);
    await forValue(async () => {
      const files = JSON.parse((await renter.cli(['getfile', fileId])).stdout) as { replicas: Array<{ contractId: string }> };
      return files.replicas.some((r) => r.contractId === renewed);
    }, true, 30000, 'the file follows the renewal');
  });

  await t.test('should get the file from the PHP host alone', async (t) => {
    await hosts[0].stop('SIGKILL');
    const out = path.join(work, 'out2.bin');
    const r = await renter.cli(['get', fileId, out]);
    t.equal(r.code, 0, r.stderr);
    t.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'bytes identical from the PHP host');
  });
});
