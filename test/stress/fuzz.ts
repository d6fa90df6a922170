// cs* packet fuzzing against a live cloudcoind over TCP.
//
// The target is a hosting cloudcoind process (so the storage service and
// its argument decoders are live). An honest renter, another cloudcoind
// connected to it, makes real requests the whole time (cloudrequest and
// negotiatestorage) and every one must succeed. Hostile sessions are raw
// P2P peers (test/util/rawpeer.ts) advertising the CloudStorage bit, each
// from its own loopback address: version/verack, then whatever setup the
// command needs (a hello, a proven identity), then random and mutated
// packets of one cs* command (test/stress/mutate.ts) until the session's
// budget is spent or the node bans it. Every packet is followed by a ping,
// so a packet counts only once the node dispatched it (a few packets and
// their pings in flight at once, so the node never waits for us).
//
// Checked: the node never exits, no handler fails with anything but a
// PacketError (debug.log), its RSS stays under a bound, a peer sending only
// malformed packets of any command is banned within 100 of them (and its
// address is in listbanned), and the honest renter is served throughout.
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { CloudNode } from '../../lib/node/cloudnode';
import { defaultExtensions } from '../../lib/cli/extensions';
import { HelloPacket, AuthPacket } from '../../lib/negotiator/packets';
import { ResponsePacket } from '../../lib/negotiator/envelope';
import { PROTOCOL_VERSION } from '../../lib/negotiator/common';
import { DaemonProcess, tempDir } from '../util/nodes-context';
import { RawPeer } from '../util/rawpeer';
import { forValue } from '../util/wait';
import { LoopbackAddresses, RssSampler, mb } from './common';
import { Rng, mutate } from './mutate';
import {
  FUZZ_TYPES, METHOD_SEEDS, type FuzzContext, type FuzzType, type SessionState, defaultNext, fuzzContext, isMalformed,
  network, seedsFor, type traced, typeOf
} from './cstypes';

/** A malformed-only offender must be banned within this many packets (issue figure). */
export const BAN_WITHIN = 100;

/** The node's RSS may not pass this while it is fuzzed (it idles near 150 MB). */
const RSS_LIMIT = 600e6;

/** Nonces kept per session (the node keeps 64 per client). */
const MAX_SESSION_NONCES = 32;

/**
 * Packets (each with its ping) one hostile session keeps in flight, for
 * commands whose next packet does not depend on the node's answers.
 */
const PIPELINE_WINDOW = 8;

/** Deadline for the node's answer to one honest request (loaded machine). */
const HONEST_TIMEOUT_MS = 60_000;

export interface FuzzOptions {
  /** Packets per cs* command the node dispatches. */
  perType: number;
  /** Hostile sessions at once (bcoin takes 8 inbound peers; the honest one is one). */
  concurrency?: number;
  /** PRNG seed (printed, to replay a run). */
  seed?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface FuzzResult {
  packets: Record<string, number>;
  total: number;
  sessions: number;
  /** Sessions the node ended (ban or disconnect). */
  closedByNode: number;
  crashes: number;
  /** debug.log lines of handlers that failed with something other than a PacketError. */
  handlerFailures: string[];
  rssFirst: number;
  rssMax: number;
  /** Distinct source addresses in the node's ban list at the end. */
  offendersBanned: number;
  /** Packets each malformed-only offender got through before its ban, by command. */
  banAfter: Record<string, number>;
  honestOk: number;
  honestFailed: string[];
  seconds: number;
  line: string;
}

/** Every cs* command the default extensions register (a CloudNode built, never opened). */
export function registeredCommands(): string[] {
  const base = tempDir('cc-fuzz-cmds-');
  try {
    const node = new CloudNode({
      network: 'regtest', datadir: path.join(base, 'regtest'), memory: true, apiKey: 'x', logLevel: 'error',
      extensions: defaultExtensions(), listen: false
    });
    return node.packetCommands().sort();
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

interface Target {
  host: DaemonProcess;
  renter: DaemonProcess;
  hostKey: string;
  crashed: () => string | null;
}

async function startTarget(): Promise<Target> {
  const host = await DaemonProcess.create(['--host']);
  const renter = await DaemonProcess.create();
  await host.start();
  let crash: string | null = null;
  host.proc!.on('exit', (code, signal) => {
    crash = `cloudcoind exited (${code ?? signal}): ${host.stderr.slice(-2000)}`;
  });
  await renter.start(['--connect', host.addr]);
  const hc = host.client();
  const rc = renter.client();
  const { pubkey } = await hc.call('getidentity') as { pubkey: string };
  await forValue(async () => (await rc.call('getcloudpeers') as Array<{ pubkey: string | null }>)
    .some((p) => p.pubkey === pubkey), true, 60_000, 'the honest renter sees the host');
  // negotiatestorage needs segwit (height 432).
  const addr = await rc.call('getnewaddress') as string;
  await rc.call('generatetoaddress', [440, addr]);
  await forValue(async () => await hc.call('getblockcount') as number, (h) => h >= 440, 120_000, 'host synced');
  return { host, renter, hostKey: pubkey, crashed: () => crash };
}

/** The host's services and methods, asked the way any client asks (info.services). */
async function hostMethods(t: Target): Promise<string[]> {
  const res = await t.renter.client().call('cloudrequest', [t.hostKey, 'info', 'services']) as
    { status: string; body: Array<{ name: string; methods: Array<{ name: string }> }> };
  if (res.status !== 'ok')
    throw new Error(`info.services answered ${res.status}`);
  return res.body.flatMap((s) => s.methods.map((m) => `${s.name}.${m.name}`)).sort();
}

/** The honest renter's requests, one after another until `stop`. */
function honestLoop(t: Target, stop: { done: boolean }): { ok: number; failed: string[]; finished: Promise<void> } {
  const state = { ok: 0, failed: [] as string[], finished: Promise.resolve() };
  const rc = t.renter.client();
  const call = async (what: string, fn: () => Promise<boolean>) => {
    try {
      const timer = new Promise<boolean>((_, reject) => setTimeout(() => reject(new Error('timed out')), HONEST_TIMEOUT_MS).unref());
      if (await Promise.race([fn(), timer]))
        state.ok += 1;
      else
        state.failed.push(`${what}: bad answer`);
    } catch (e) {
      state.failed.push(`${what}: ${(e as Error).message}`);
    }
  };
  state.finished = (async () => {
    for (let i = 0; !stop.done; i++) {
      await call('cloudrequest info.services', async () =>
        (await rc.call('cloudrequest', [t.hostKey, 'info', 'services']) as { status: string }).status === 'ok');
      // Another size each time, so an open offer is never just reused.
      await call('negotiatestorage', async () =>
        (await rc.call('negotiatestorage', [(1 << 20) + 4096 * (i % 500), 144, 5000, 1]) as { offers: unknown[] })
          .offers.length === 1);
    }
  })();
  return state;
}

interface SessionOutcome {
  /** Packets the node dispatched (each answered a ping, or made the node close us). */
  sent: number;
  closedByNode: boolean;
  connected: boolean;
}

async function connectSession(t: Target, ip: string): Promise<RawPeer | null> {
  try {
    return await RawPeer.connect({ port: t.host.port, localAddress: ip });
  } catch {
    return null;
  }
}

/** Hello (and auth) as the type needs; false if the node closed us on the way. */
async function setupSession(peer: RawPeer, type: FuzzType, s: SessionState): Promise<boolean> {
  if (type.setup === 'none')
    return true;
  peer.write('cshello', HelloPacket.fromOptions(PROTOCOL_VERSION, s.identity.publicKey, randomBytes(16)).encode());
  const hello = await peer.next('cshello');
  if (!hello || !hello.data)
    return false;
  s.challenge = HelloPacket.decode(hello.data).challenge;
  if (type.setup === 'proven') {
    peer.write('csauth', AuthPacket.create(s.identity, network.magic, s.challenge).encode());
    return peer.barrier();
  }
  return true;
}

async function runSession(t: Target, ctx: FuzzContext, type: FuzzType, ip: string, rng: Rng, budget: number,
  make?: (seeds: ReturnType<typeof traced>) => Buffer, window = type.window ?? PIPELINE_WINDOW): Promise<SessionOutcome> {
  const peer = await connectSession(t, ip);
  if (!peer)
    return { sent: 0, closedByNode: false, connected: false };
  const s: SessionState = { identity: rng.pick(ctx.identities), challenge: null, nonces: [] };
  peer.on('packet', (p: { cmd: string; data?: Buffer }) => {
    if (p.cmd !== 'csres' || !p.data)
      return;
    try {
      const res = ResponsePacket.decode(p.data);
      if (res.hasNextNonce()) {
        s.nonces.push(res.nextNonce);
        if (s.nonces.length > MAX_SESSION_NONCES)
          s.nonces.shift();
      }
    } catch {
      // the node's answers always decode; nothing to learn otherwise
    }
  });
  let sent = 0;
  if (await setupSession(peer, type, s)) {
    const seeds = seedsFor(type, ctx, s);
    // Each packet is followed by its own ping, but up to `window` of them
    // are in flight: the node is never idle waiting for our next packet.
    // Packet k counts once its pong came back (dispatched) or when its
    // ping is the first one the closed socket left unanswered (it made
    // the node close us). Never more than were dispatched: a node that
    // closes with our later packets unread resets the connection, and
    // the pongs it sent just before can be lost with it, so the count
    // is exact only with a window of 1 (the offenders' ban figure).
    const inFlight: Array<Promise<boolean>> = [];
    let alive = true;
    const settle = async (): Promise<void> => {
      const answered = await inFlight.shift()!;
      sent += 1;
      if (!answered)
        alive = false;
    };
    for (let i = 0; i < budget && alive; i++) {
      if (inFlight.length >= window) {
        await settle();
        if (!alive)
          break;
      }
      const payload = make ? make(seeds) : type.next ? type.next(rng, ctx, s, seeds) : defaultNext(rng, seeds);
      if (!peer.write(type.cmd, payload))
        break;
      inFlight.push(peer.barrier());
    }
    while (alive && inFlight.length)
      await settle();
  }
  const closedByNode = peer.closed;
  await peer.close();
  return { sent, closedByNode, connected: true };
}

/** listbanned's addresses (bcoin: `address` is host or host:port). */
async function bannedAddresses(t: Target): Promise<Set<string>> {
  const list = await t.host.client().call('listbanned') as Array<{ address: string }>;
  return new Set(list.map((b) => b.address.replace(/:\d+$/, '')));
}

/** Lines of debug.log where a handler failed with something other than a PacketError. */
function handlerFailures(t: Target): string[] {
  let log = '';
  try {
    log = fs.readFileSync(path.join(t.host.datadir, 'debug.log'), 'utf8');
  } catch {
    return [];
  }
  return log.split('\n').filter((l) => /Handler for \S+ from \S+ failed|negotiator: \S+ failed|Unhandled|uncaught/i.test(l));
}

/**
 * One offender per command sending only payloads our decoder rejects:
 * each must be banned within BAN_WITHIN packets.
 */
async function offenders(t: Target, ctx: FuzzContext, ips: LoopbackAddresses, rng: Rng): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const type of FUZZ_TYPES) {
    const ip = ips.next();
    const malformed = (seeds: ReturnType<typeof traced>): Buffer => {
      for (;;) {
        const p = mutate(rng, seeds).payload;
        if (isMalformed(type, p))
          return p;
      }
    };
    let r: SessionOutcome = { sent: 0, closedByNode: false, connected: false };
    for (let attempt = 0; attempt < 5 && !r.connected; attempt++)
      r = await runSession(t, ctx, type, ip, rng, BAN_WITHIN + 50, malformed, 1);
    if (!r.connected)
      throw new Error(`offender for ${type.cmd}: could not connect`);
    const banned = await forValue(async () => (await bannedAddresses(t)).has(ip), true, 10_000,
      `${ip} in listbanned`).catch(() => false);
    out[type.cmd] = r.closedByNode && banned ? r.sent : Infinity;
  }
  return out;
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const log = options.log ?? (() => {});
  const seed = options.seed ?? (Date.now() >>> 0);
  const rng = new Rng(seed);
  const concurrency = options.concurrency ?? 5;
  const started = Date.now();
  log(`cs* fuzz: seed ${seed}, ${options.perType} packets per command`);

  // Every command the node registers must have seeds here.
  const commands = registeredCommands();
  const unknown = commands.filter((c) => !typeOf(c));
  if (unknown.length)
    throw new Error(`cs* commands without fuzz seeds (test/stress/cstypes.ts): ${unknown.join(', ')}`);
  const types = FUZZ_TYPES.filter((f) => commands.includes(f.cmd));

  const t = await startTarget();
  const rss = new RssSampler(() => t.host.proc?.pid);
  const stop = { done: false };
  let honest: ReturnType<typeof honestLoop> | null = null;
  try {
    const methods = await hostMethods(t);
    const unseeded = methods.filter((m) => !METHOD_SEEDS[m]);
    if (unseeded.length)
      throw new Error(`service methods without fuzz seeds (test/stress/cstypes.ts METHOD_SEEDS): ${unseeded.join(', ')}`);
    const ctx = fuzzContext(Buffer.from(t.hostKey, 'hex'), await t.host.client().call('getblockcount') as number);
    honest = honestLoop(t, stop);
    const ips = new LoopbackAddresses();

    const banAfter = await offenders(t, ctx, ips, rng);
    log(`cs* fuzz: malformed-only offenders banned after ${types.map((f) => `${f.cmd} ${banAfter[f.cmd]}`).join(', ')} packets`);

    const packets: Record<string, number> = Object.fromEntries(types.map((f) => [f.cmd, 0]));
    let sessions = 0;
    let closedByNode = 0;
    let lastLog = Date.now();
    const pick = (): FuzzType | null => {
      let best: FuzzType | null = null;
      for (const f of types) {
        if (packets[f.cmd] < options.perType && (!best || packets[f.cmd] < packets[best.cmd]))
          best = f;
      }
      return best;
    };
    const worker = async () => {
      for (;;) {
        if (t.crashed())
          return;
        const type = pick();
        if (!type)
          return;
        const r = await runSession(t, ctx, type, ips.next(), rng, type.budget);
        packets[type.cmd] += r.sent;
        if (r.connected)
          sessions += 1;
        if (r.closedByNode)
          closedByNode += 1;
        if (Date.now() - lastLog > 15_000) {
          lastLog = Date.now();
          const total = Object.values(packets).reduce((a, b) => a + b, 0);
          log(`cs* fuzz: ${total}/${options.perType * types.length} packets, ${sessions} sessions, `
            + `RSS ${mb(rss.last)} MB, honest ${honest!.ok} ok ${honest!.failed.length} failed`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));

    // The honest renter must still be served after the storm: one more round.
    stop.done = true;
    await honest.finished;
    const crash = t.crashed();
    if (!crash)
      await t.host.client().call('getblockcount');
    rss.stop();
    const banned = crash ? new Set<string>() : await bannedAddresses(t);
    const failures = handlerFailures(t);
    const total = Object.values(packets).reduce((a, b) => a + b, 0);
    const worst = Math.max(...Object.values(banAfter));
    const result: FuzzResult = {
      packets, total, sessions, closedByNode, crashes: crash ? 1 : 0, handlerFailures: failures,
      rssFirst: rss.first, rssMax: rss.max,
      offendersBanned: [...banned].filter((a) => a.startsWith('127.') && a !== '127.0.0.1').length,
      banAfter, honestOk: honest.ok, honestFailed: honest.failed,
      seconds: Math.round((Date.now() - started) / 1000),
      line: ''
    };
    result.line = `cs* fuzz: ${total} packets (${types.map((f) => `${f.cmd} ${packets[f.cmd]}`).join(', ')}), `
      + `${result.crashes} crashes, ${failures.length} handler failures, RSS max ${mb(rss.max)} MB (start ${mb(rss.first)} MB), `
      + `${result.offendersBanned} offenders banned (malformed-only: banned within ${worst} packets), `
      + `honest peer ${honest.ok}/${honest.ok + honest.failed.length} requests served, ${sessions} sessions, `
      + `${result.seconds} s, seed ${seed}`;
    if (crash)
      throw Object.assign(new Error(crash), { result });
    return result;
  } finally {
    stop.done = true;
    rss.stop();
    if (honest)
      await honest.finished.catch(() => {});
    for (const d of [t.renter, t.host]) {
      await d.stop('SIGKILL');
      d.cleanup();
    }
  }
}

/** The checks every caller applies to a result; returns the failures (empty: pass). */
export function fuzzFailures(r: FuzzResult, perType: number): string[] {
  const out: string[] = [];
  if (r.crashes)
    out.push('the node crashed');
  if (r.handlerFailures.length)
    out.push(`handlers failed: ${r.handlerFailures.slice(0, 5).join(' | ')}`);
  if (r.rssMax > RSS_LIMIT)
    out.push(`RSS ${mb(r.rssMax)} MB over ${mb(RSS_LIMIT)} MB`);
  for (const [cmd, n] of Object.entries(r.banAfter)) {
    if (!(n <= BAN_WITHIN))
      out.push(`a malformed-only ${cmd} sender was not banned within ${BAN_WITHIN} packets`);
  }
  for (const [cmd, n] of Object.entries(r.packets)) {
    if (n < perType)
      out.push(`${cmd}: only ${n} of ${perType} packets`);
  }
  if (r.honestFailed.length)
    out.push(`honest requests failed: ${r.honestFailed.slice(0, 5).join(' | ')}`);
  if (r.honestOk < 2)
    out.push('the honest peer completed fewer than 2 requests');
  return out;
}
