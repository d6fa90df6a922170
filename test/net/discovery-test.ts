// The real network test (`npm run test:net`, root only): separate machines
// made of network namespaces (test/net/netns.ts) with 100 ms netem delay
// on every link where the kernel has netem. Two plain bcoin nodes, eight
// hosts (one of them accepting no inbound connections), each dialling only
// 1-2 peers (--connect), and a renter dialling one plain node. The renter
// must find at least 6 hosts through addr gossip (the service bit), its
// --cloudpeers slots and announcement gossip, then store a file on 4 hosts
// (the NAT host among them, reached through its relay) with `cloudcoin-cli
// put --hosts 4`, and fetch it back with `get`. A host restarted twice 10 s
// apart with new prices must leave every node on the newest.
import t, { type Test } from 'tap';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash, randomBytes } from 'crypto';
import type { ChildProcess } from 'child_process';
import { NamespaceNet, namespacesUnavailable, type NetNode, type Started } from './netns';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = (name: string): string => path.join(ROOT, 'bin', name);
const TSX = ['--import', 'tsx'];
const DELAY_MS = 100;
/** Hosts that accept connections; one more accepts none. */
const HOSTS = 7;
const FILE_SIZE = 3 * 1024 * 1024 + 777;
/** How long one phase (discovery, sync, a put) may take on a loaded 2-core machine. */
const PHASE_MS = 10 * 60_000;
/** Between two polls of the nodes (each poll starts a cloudcoin-cli). */
const POLL_MS = 2000;

interface HostRow {
  identity: string;
  address: string | null;
  connected: boolean;
  storageprice: number;
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file))
    h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Poll `get` until `ok`; fail with the last value after PHASE_MS. */
async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = PHASE_MS): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    try {
      last = await get();
      if (ok(last))
        return last;
    } catch {
      // the node may still be starting
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last saw ${JSON.stringify(last)?.slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const unavailable = namespacesUnavailable();
if (unavailable) {
  process.stdout.write(`# skipping the namespace network test: ${unavailable}\n`);
  t.pass(`skipped: ${unavailable}`);
} else {
  t.test('renter finds hosts through gossip and stores on 4 of them across namespaces', { timeout: 30 * 60_000 },
    async (t) => runNetwork(t));
}

async function runNetwork(t: Test): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-netns-'));
  const net = new NamespaceNet(dir);
  t.teardown(async () => {
    await net.destroy();
    if (t.passing() && !process.env.CC_NET_KEEP)
      fs.rmSync(dir, { recursive: true, force: true });
    else
      t.comment(`logs kept in ${dir}`);
  });
  net.create();
  const plain = [net.addNode('plain-1', { delayMs: DELAY_MS }), net.addNode('plain-2', { delayMs: DELAY_MS })];
  const hosts = Array.from({ length: HOSTS }, (_, i) => net.addNode(`host-${i + 1}`, { delayMs: DELAY_MS }));
  const natHost = net.addNode('nat-host', { delayMs: DELAY_MS, noInbound: true });
  const files = net.addNode('fileserver', { delayMs: DELAY_MS });
  const renter = net.addNode('renter', { delayMs: DELAY_MS });
  // Every measured figure, also printed together on one line at the end.
  const figures: string[] = [];
  const figure = (tt: Test, text: string): void => {
    figures.push(text);
    tt.comment(text);
  };
  const secs = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;
  const port = 48444;
  const at = (n: NetNode): string => `${n.ip}:${port}`;
  figure(t, net.delayed ? `netem: ${DELAY_MS} ms on every link`
    : 'tc netem is not available in this kernel (sch_netem): links run without the 100 ms delay');

  const datadir = (n: NetNode): string => path.join(dir, n.name);
  const stop = async (proc: ChildProcess): Promise<void> => {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  const cli = (n: NetNode, args: string[]): Promise<string> =>
    net.run(n, [BIN('cloudcoin-cli'), '--regtest', '--datadir', datadir(n), ...args]);
  const json = async <T>(n: NetNode, args: string[]): Promise<T> => JSON.parse(await cli(n, args)) as T;
  const logLevel = process.env.CC_LOG_LEVEL || 'info';
  const daemon = (n: NetNode, extra: string[], bind = n.ip) => net.start(n, n.name, [BIN('cloudcoind'), '--regtest',
    '--datadir', datadir(n), '--bind', bind, '--port', String(port), '--log-level', logLevel, ...extra], /extensions:/);

  // The renter's wallet first, alone, for an address to mine to: every node
  // then syncs the chain when it starts, one after the other, rather than
  // all at once (a loaded machine starves nodes that sync together).
  const first = await daemon(renter, ['--nolisten']);
  const minedTo = (await cli(renter, ['getnewaddress'])).trim();
  await stop(first.proc);
  // Plain nodes: plain-2 mines 440 blocks (segwit, coinbase maturity), plain-1 dials it.
  await net.start(plain[1], 'plain-2', [...TSX, path.join(__dirname, 'plainnode.ts'), plain[1].ip,
    '--mine', '440', minedTo], /plain bcoin node/);
  await net.start(plain[0], 'plain-1', [...TSX, path.join(__dirname, 'plainnode.ts'), plain[0].ip, at(plain[1])],
    /plain bcoin node/);
  // A public file server keeps the NAT host's bytes (web hosting needs no inbound P2P).
  const adminKey = randomBytes(32).toString('hex');
  await net.start(files, 'fileserver', [BIN('cloudcoin-fileserver'), '--data-dir', path.join(dir, 'fileserver-data'),
    '--host', files.ip, '--port', '8480', '--admin-key', adminKey], /listening on/);

  // Hosts in a chain, each also dialling one plain node: 1-2 peers each,
  // no cloud slots, so announcements travel host to host.
  const tHosts = Date.now();
  const hostArgs = (i: number, price: number): string[] => {
    const h = hosts[i];
    const connect = [...(i > 0 ? ['--connect', at(hosts[i - 1])] : []), '--connect', at(plain[i % 2])];
    return ['--host', '--host-storage-price', `${price}sat`, '--host-http', `${h.ip}:8480`,
      '--host-url', `http://${h.ip}:8480`, '--cloudpeers', '0', ...connect];
  };
  const started: Started[] = [];
  for (let i = 0; i < HOSTS; i++)
    started.push(await daemon(hosts[i], hostArgs(i, 1000 + 100 * i)));
  // The cheapest host accepts no connections (--nolisten, as behind a NAT):
  // it announces no address of its own, and renters reach it through host-1.
  await daemon(natHost, ['--host', '--nolisten', '--host-storage-price', '500sat', '--fileserver',
    `http://${files.ip}:8480`, '--fileserver-key', adminKey, '--cloudpeers', '0', '--connect', at(hosts[0])], '0.0.0.0');
  const tLastHost = Date.now();
  const hostIds = await Promise.all([...hosts, natHost].map(async (h) => (await json<{ identity: string }>(h, ['getidentity'])).identity));
  const natId = hostIds[HOSTS];

  await t.test('gossip converges over the host chain', async (t) => {
    // Every host learns every host's announcement (HOSTS + 1, its own included).
    for (const h of hosts)
      await until(`${h.name} to know every host`, async () => (await json<HostRow[]>(h, ['listhosts'])).length,
        (n) => n === HOSTS + 1);
    figure(t, `gossip converged on ${HOSTS + 1} hosts ${secs(tHosts)} after the first host started, ${secs(tLastHost)} after the last`);
    t.pass('converged');
  });

  // The renter dials only plain-1; two cloud slots for CloudStorage peers from addr gossip.
  const tRenter = Date.now();
  await daemon(renter, ['--connect', at(plain[0]), '--cloudpeers', '2']);

  await t.test('the renter finds at least 6 hosts through gossip', async (t) => {
    const six = await until('the renter to know 6 hosts', () => json<HostRow[]>(renter, ['listhosts']),
      (r) => r.length >= 6);
    figure(t, `renter knew ${six.length} hosts ${secs(tRenter)} after it started`);
    // The NAT host's first announcement had no address yet (no peer); the
    // one naming its relay follows within a relay interval.
    const rows = await until('the renter to know every host, the NAT host with its relay',
      () => json<HostRow[]>(renter, ['listhosts']),
      (r) => r.length === HOSTS + 1 && r.find((x) => x.identity === natId)?.address === `via ${at(hosts[0])}`);
    figure(t, `all ${rows.length} with their addresses after ${secs(tRenter)}`);
    const peers = await json<Array<{ identity: string | null; inbound: boolean }>>(renter, ['getcloudpeers']);
    t.ok(peers.length >= 1 && peers.length <= 2, `the renter dialled ${peers.length} CloudStorage peers (cloud slots)`);
    const never = rows.filter((r) => !r.connected);
    t.ok(never.length >= 4, `${never.length} hosts listed without ever being connected`);
    t.ok(never.every((r) => r.address !== null && /^(10\.77\.0\.\d+:48444|via 10\.77\.0\.\d+:48444)$/.test(r.address)),
      'each with the address it announced');
    t.equal(rows.find((r) => r.identity === natId)?.address, `via ${at(hosts[0])}`, 'the NAT host: through its relay');
    const table = await cli(renter, ['hosts']);
    t.match(table, /identity\s+reached\s+data URL/, 'cloudcoin-cli hosts prints the directory');
    t.comment(table.trim());
  });

  await t.test('every node has the chain', async (t) => {
    const tSync = Date.now();
    for (const n of [...hosts, natHost, renter])
      await until(`${n.name} at height 440`, async () => Number(await cli(n, ['getblockcount'])), (h) => h >= 440);
    figure(t, `every node at height 440 ${secs(tSync)} after the renter started`);
    t.pass('synced');
  });

  const file = path.join(dir, 'file.bin');
  fs.writeFileSync(file, randomBytes(FILE_SIZE));
  let fileId = '';
  await t.test('put --hosts 4 stores the file on 4 hosts, the NAT host among them', async (t) => {
    const tPut = Date.now();
    const putting = cli(renter, ['put', file, '--hosts', '4', '--max-price', '5000sat', '--json']);
    putting.catch(() => {});
    await until('the commitment in the renter\'s mempool', () => json<string[]>(renter, ['getrawmempool']),
      (txs) => txs.length > 0);
    const addr = (await cli(renter, ['getnewaddress'])).trim();
    await cli(renter, ['generatetoaddress', '1', addr]);
    const put = JSON.parse(await putting) as { fileId: string; contracts: Array<{ host: string }> };
    figure(t, `put of ${FILE_SIZE} bytes on 4 hosts ${secs(tPut)}`);
    fileId = put.fileId;
    t.equal(put.contracts.length, 4, 'four contracts');
    t.ok(put.contracts.every((c) => hostIds.includes(c.host)), 'all with hosts of the network');
    t.ok(put.contracts.some((c) => c.host === natId), 'the host that accepts no connections got a contract');
  });

  await t.test('get fetches the file back', async (t) => {
    const out = path.join(dir, 'file.out');
    const tGet = Date.now();
    await cli(renter, ['get', fileId, out]);
    figure(t, `get ${secs(tGet)}`);
    t.equal(await sha256(out), await sha256(file), 'same bytes');
  });

  await t.test('a host restarted twice 10 s apart leaves every node on its newest price', async (t) => {
    const i = 4;
    const id = hostIds[i];
    const restart = async (price: number): Promise<void> => {
      await stop(started[i].proc);
      started[i] = await daemon(hosts[i], hostArgs(i, price));
    };
    await restart(2000);
    await new Promise((r) => setTimeout(r, 10_000));
    const tLast = Date.now();
    await restart(2100);
    const others = [...hosts.filter((_, j) => j !== i), natHost, renter];
    for (const n of others) {
      await until(`${n.name} to see price 2100`, async () =>
        (await json<HostRow[]>(n, ['listhosts'])).find((r) => r.identity === id)?.storageprice, (p) => p === 2100);
    }
    figure(t, `every node had the newest price ${secs(tLast)} after the last restart`);
    t.pass('latest wins');
  });
  t.comment(`net figures: ${figures.join('; ')}`);
}
