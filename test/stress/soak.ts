// Soak: a renter and three hosts as cloudcoind processes doing put / mine
// (the renter audits its hosts on its own every audit interval) / get
// cycles for a fixed time, with a random host restarted (SIGKILL or
// SIGTERM) after every other cycle. At the end, with every host back, every file a
// put reported stored downloads byte for byte (0 lost files), and the
// renter's RSS at the start and at the end is printed (median of the
// first and of the last tenth of the samples) and must stay flat.
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import type { DaemonProcess } from '../util/nodes-context';
import { forCloudPeer, forCloudPeers, identity, json, mine, startNetwork } from '../util/network';
import { RssSampler, getFile, mb, startSuite } from './common';

export interface SoakOptions {
  /** How long the cycles run (ms). */
  durationMs: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  cycles: number;
  puts: number;
  putsFailed: number;
  gets: number;
  getsFailed: number;
  restarts: number;
  files: number;
  lost: number;
  rssStartMB: number;
  rssEndMB: number;
  failures: string[];
  line: string;
}

/** RSS may grow this much from the start's median to the end's before it is not flat. */
const RSS_SLACK = 1.5;

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { log, rng, td, work, failures } = startSuite('cc-soak-', options);
  try {
    const { renter, hosts } = await startNetwork(td, [[], [], []]);
    const ids = await Promise.all(hosts.map(identity));
    const rss = new RssSampler(() => renter.proc?.pid, 1000);
    td.teardown(() => rss.stop());
    const stored = new Map<string, Buffer>();
    let cycles = 0;
    let puts = 0;
    let putsFailed = 0;
    let gets = 0;
    let getsFailed = 0;
    let restarts = 0;
    const get = (fileId: string) => getFile(renter, work, fileId);
    const t0 = Date.now();
    while (Date.now() - t0 < options.durationMs) {
      cycles += 1;
      const file = path.join(work, `f${cycles}`);
      const bytes = randomBytes(10_000 + rng.int(200_000));
      fs.writeFileSync(file, bytes);
      puts += 1;
      const put = await renter.cli(['put', file, '--hosts', '2', '--min-hosts', '1', '--duration', '1000', '--max-price', '5000',
        '--no-wait', '--json']);
      fs.rmSync(file, { force: true });
      if (put.code === 0)
        stored.set((JSON.parse(put.stdout) as { fileId: string }).fileId, bytes);
      else
        putsFailed += 1;
      await mine(renter, 1 + rng.int(3));
      if (stored.size) {
        const [id, want] = rng.pick([...stored.entries()]);
        gets += 1;
        const back = await get(id);
        if (!back)
          getsFailed += 1;
        else if (!back.equals(want))
          failures.push(`cycle ${cycles}: file ${id.slice(0, 12)} came back different`);
      }
      // Every other cycle, a host goes down and comes back.
      if (cycles % 2 === 1) {
        const h: DaemonProcess = rng.pick(hosts);
        const sig = rng.int(2) ? 'SIGKILL' : 'SIGTERM';
        await h.stop(sig);
        // Seen gone first, so the identity the renter lists later is the restarted host's.
        await forCloudPeer(renter, ids[hosts.indexOf(h)], false, 120_000, `host ${hosts.indexOf(h) + 1} gone`);
        await h.start(['--connect', renter.addr]);
        restarts += 1;
        log(`cycle ${cycles}: host ${hosts.indexOf(h) + 1} restarted (${sig}); ${stored.size} files stored, RSS ${mb(rss.last)} MB`);
      }
    }
    // Every host back, one more block: every stored file comes back whole.
    await forCloudPeers(renter, hosts, 120_000, 'all three hosts connected');
    await mine(renter, 1);
    let lost = 0;
    for (const [id, want] of stored) {
      const back = await get(id);
      if (!back || !back.equals(want)) {
        lost += 1;
        failures.push(`file ${id.slice(0, 12)} lost (${back ? 'different bytes' : 'get failed'})`);
      }
    }
    const files = await json<unknown[]>(renter.cli(['ls', '--json']));
    rss.stop();
    const start = rss.median(0, 0.1);
    const end = rss.median(0.9, 1);
    if (end > start * RSS_SLACK)
      failures.push(`renter RSS grew from ${mb(start)} MB to ${mb(end)} MB`);
    const line = `soak: ${Math.round((Date.now() - t0) / 1000)} s, ${cycles} cycles, ${puts - putsFailed}/${puts} puts, `
      + `${gets - getsFailed}/${gets} gets while hosts restarted, ${restarts} host restarts, `
      + `${lost} lost files of ${stored.size} (${files.length} listed), renter RSS ${mb(start)} MB at the start, ${mb(end)} MB at the end`;
    return { cycles, puts, putsFailed, gets, getsFailed, restarts, files: stored.size, lost, rssStartMB: mb(start), rssEndMB: mb(end), failures, line };
  } finally {
    await td.run();
  }
}
