// kill -9 of the file server during part uploads: the Node server run as a
// host runs it (the built cloudcoin-fileserver, its own process), or the
// PHP one under `php -S` (the server and its workers), killed with SIGKILL
// at a random point of a multi-part upload, then started again on the same
// data folder.
//
// Each round uploads a new object (2-6 MiB, 1 MiB parts: several parts, so
// the kill falls before, inside or between parts) with the client's
// uploadFile, as the renter does. A random delay into it (up to 1.2 times a
// crash-free upload, measured first) the server is killed. After the
// restart:
//
// - nothing partial is served: unless the status says complete, a read of
//   the object answers `object-not-found`; what the status says was
//   received is a whole number of parts, or the whole object;
// - the upload resumes: uploadFile again (from what the server holds)
//   completes, the object downloads byte for byte and its receipt names the
//   root registered for it;
// - earlier data stays right: a reference object uploaded before the first
//   kill still downloads byte for byte with its root, and so does an object
//   of an earlier round picked at random;
// - no temp file (`.tmp-`) is left in the data folder.
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import type { ChildProcess } from 'child_process';
import { FileServerClient, FileServerError, MerkleTree, type TokenFields } from '../../lib/storage';
import { type Target, fileserverProcess, startTarget } from '../util/fileserver-targets';
import { startSuite } from './common';

export interface FsCrashOptions {
  /** Kills (one per upload). */
  kills: number;
  /** `node`: the built Node server, its own process; `php`: the shipped PHP folder under `php -S` (4 workers). */
  target?: 'node' | 'php';
  seed?: number;
  log?: (line: string) => void;
}

export interface FsCrashResult {
  kills: number;
  /** Kills that fell while the upload was still running (the rest after it finished). */
  cut: number;
  /** Cut uploads complete after uploadFile ran again (some were complete already: the kill lost only the last answer). */
  resumed: number;
  partialServed: number;
  failures: string[];
  line: string;
}

const MiB = 1 << 20;
const PART = MiB;

/** Files under `dir` whose name has `.tmp-` (a write that never finished). */
function tempFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.name.includes('.tmp-'))
      out.push(path.join(e.parentPath ?? dir, e.name));
  }
  return out;
}

export async function runFsCrash(options: FsCrashOptions): Promise<FsCrashResult> {
  const { log, rng, td, work, failures } = startSuite('cc-fscrash-', options);
  const target = options.target ?? 'node';
  const key = randomBytes(32);
  const data = path.join(work, 'data');
  let proc: ChildProcess | null = null;
  let php: Target | null = null;
  let client = new FileServerClient('http://127.0.0.1:1', { adminKey: key });
  const start = async () => {
    let url: string;
    if (target === 'php') {
      fs.mkdirSync(data, { recursive: true });
      php = await startTarget('php', key, 1 << 30, { dataDir: data });
      url = php.url;
    } else {
      const s = await fileserverProcess(data, key, 1 << 30, true);
      proc = s.proc;
      url = `http://127.0.0.1:${s.port}`;
    }
    client = new FileServerClient(url, { adminKey: key, timeoutMs: 60_000 });
  };
  const kill9 = async () => {
    if (php) {
      const t = php;
      php = null;
      await t.kill9!();
      return;
    }
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null)
      return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGKILL');
    await exited;
  };
  td.teardown(kill9);
  let cut = 0;
  let resumed = 0;
  let partialServed = 0;
  try {
    await start();
    const expiry = Math.floor(Date.now() / 1000) + 24 * 3600;
    const tok = (contract: string, op: 'get' | 'put') => client.mintToken({
      contract, op, object: 1, notAfter: expiry, maxBytes: 2 ** 40, renterPkHash: '33'.repeat(20)
    } as TokenFields);
    /** Objects stored so far: id -> bytes (the reference first). */
    const stored = new Map<string, Buffer>();
    const newObject = async (size: number) => {
      const id = randomBytes(32).toString('hex');
      const bytes = randomBytes(size);
      const file = path.join(work, id);
      fs.writeFileSync(file, bytes);
      await client.register({ id, expiry });
      await client.registerObject(id, 1, { root: MerkleTree.fromData(bytes).root.toString('hex'), size });
      return { id, bytes, file };
    };
    const intact = async (id: string, bytes: Buffer): Promise<string | null> => {
      const out = path.join(work, `${id}.out`);
      try {
        await client.downloadFile(tok(id, 'get'), id, 1, out);
        if (!fs.readFileSync(out).equals(bytes))
          return 'different bytes';
        if ((await client.receipt(id, 1)).root !== MerkleTree.fromData(bytes).root.toString('hex'))
          return 'another root in its receipt';
        return null;
      } catch (e) {
        return (e as Error).message;
      } finally {
        fs.rmSync(out, { force: true });
      }
    };

    // The reference object, and one crash-free upload that measures the time.
    const ref = await newObject(3 * MiB + 123);
    await client.uploadFile(tok(ref.id, 'put'), ref.id, 1, ref.file, PART);
    stored.set(ref.id, ref.bytes);
    const probe = await newObject(6 * MiB);
    const t0 = Date.now();
    await client.uploadFile(tok(probe.id, 'put'), probe.id, 1, probe.file, PART);
    const took = Date.now() - t0;
    stored.set(probe.id, probe.bytes);
    log(`crash-free upload of 6 MiB in 1 MiB parts: ${took} ms`);

    for (let round = 1; round <= options.kills; round++) {
      const size = 2 * MiB + rng.int(4 * MiB);
      const o = await newObject(size);
      const delay = rng.int(Math.max(1, Math.round(took * 1.2 * size / (6 * MiB))));
      let finished = false;
      const upload = client.uploadFile(tok(o.id, 'put'), o.id, 1, o.file, PART).then(() => { finished = true; }, () => {});
      await new Promise((resolve) => setTimeout(resolve, delay));
      await kill9();
      await upload;
      if (!finished)
        cut += 1;
      await start();
      const label = `round ${round}: killed ${delay} ms into ${(size / MiB).toFixed(1)} MiB`;
      const fail = (m: string) => {
        failures.push(`${label}: ${m}`);
        log(`${label}: FAIL ${m}`);
      };
      const st = await client.uploadStatus(tok(o.id, 'put'), o.id, 1);
      if (finished && !st.complete)
        fail('an upload the server answered complete is no longer complete');
      if (!st.complete && st.received % PART !== 0)
        fail(`${st.received} bytes held: not a whole number of parts`);
      if (!st.complete) {
        try {
          await client.download(tok(o.id, 'get'), o.id, 1, 0, 9);
          partialServed += 1;
          fail('an incomplete object was served');
        } catch (e) {
          if (!(e instanceof FileServerError && e.code === 'object-not-found'))
            fail(`reading an incomplete object: ${(e as Error).message} (want object-not-found)`);
        }
      }
      const held = st.received;
      try {
        const done = await client.uploadFile(tok(o.id, 'put'), o.id, 1, o.file, PART);
        if (!done.complete)
          fail('the resumed upload did not complete');
        else if (!finished)
          resumed += 1; // (or it was complete already: the kill only lost the last answer)
      } catch (e) {
        fail(`the resumed upload failed: ${(e as Error).message}`);
      }
      fs.rmSync(o.file, { force: true });
      // This round's object, the reference and one earlier object.
      const earlier = rng.pick([...stored.keys()]);
      stored.set(o.id, o.bytes);
      for (const id of new Set([o.id, ref.id, earlier])) {
        const why = await intact(id, stored.get(id)!);
        if (why)
          fail(`object ${id.slice(0, 12)}${id === o.id ? ' (this round\'s)' : id === ref.id ? ' (the reference)' : ''}: ${why}`);
      }
      const left = tempFiles(data);
      if (left.length)
        fail(`temp files left: ${left.map((f) => path.relative(data, f)).join(', ')}`);
      log(`${label}: ${finished ? 'finished before the kill' : `cut, ${(held / MiB).toFixed(0)} MiB held after the restart, resumed`}`);
    }
    const line = `file server kill -9: ${target} ${options.kills} kills during part uploads (${cut} cut mid-upload, `
      + `${options.kills - cut} after it finished), ${partialServed} partial objects served, `
      + `${resumed}/${cut} cut uploads complete after resuming, every object checked intact with its root, `
      + `${failures.length ? `${failures.length} problems` : 'no temp file left'}`;
    return { kills: options.kills, cut, resumed, partialServed, failures, line };
  } finally {
    await td.run();
  }
}
