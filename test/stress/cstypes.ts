// The cs* packet types the fuzz suite knows: for each P2P command, how to
// make valid seeds with the project's own packet classes, the decoder that
// reads it (to trace its fields and to tell malformed from valid), what a
// session must do first (a hello, a proven identity) and how many packets
// one session may send within the node's per-peer budgets. A command the
// node registers without an entry here fails the suite (and the quick test
// in npm test), so a new packet cannot land unfuzzed.
import { randomBytes } from 'crypto';
import bcoin = require('../../lib/bcoin');
import { PacketError } from '../../lib/base/errors';
import { Identity } from '../../lib/base/identity';
import { AuthPacket, HelloPacket, decode as decodeNegotiator } from '../../lib/negotiator/packets';
import { CoinRequestPacket, RequestPacket, ResponsePacket } from '../../lib/negotiator/envelope';
import { HostAddr, addrKinds } from '../../lib/negotiator/announcepacket';
import { signProof } from '../../lib/negotiator/coins';
import { announcement, withdrawal } from '../../lib/negotiator/announce';
import { connectArgs, dialbackArgs, readConnectArgs, readDialbackArgs } from '../../lib/negotiator/dialer';
import { decodeAnnounceArgs, encodeAnnounceArgs } from '../../lib/negotiator/coreservices';
import { REQ_FLOOD_BURST, FLOOD_BURST, ANNOUNCE_FLOOD_BURST, PROTOCOL_VERSION } from '../../lib/negotiator/common';
import { StorageContract } from '../../lib/contracts/storagecontract';
import { ContractRecord } from '../../lib/contracts/records';
import { decodeContractRecord, decodeGetCommit, decodeGetContract } from '../../lib/contracts/packets';
import { Revision } from '../../lib/contracts/revision';
import { decodeGetArgs } from '../../lib/reputation/service';
import { decodeQuoteArgs, encodeQuoteArgs } from '../../lib/negotiator/standard';
import { ContractArgs, OfferArgs, QuoteArgs, ReceiptArgs, ReviseArgs, TokenArgs } from '../../lib/deals/wire';
import { PayArgs } from '../../lib/deals/payments';
import { LatestArgs } from '../../lib/deals/latestwire';
import { ChannelState } from '../../lib/contracts/channel';
import { type Rng, type Seed, mutate, traceFields } from './mutate';

export const network = bcoin.Network.get('regtest');
const magic = network.magic;

/** The node's cs* token bucket burst (lib/node/cloudnode.ts CS_BURST). */
const CS_BURST = 1000;

/** What every session of a run shares. */
export interface FuzzContext {
  /** The target node's identity key. */
  nodeKey: Buffer;
  /** Its chain height when the run started. */
  height: number;
  /**
   * Seeds made once per run and shared by its sessions, by key: keys and
   * signatures cost milliseconds each (bcrypto's JS secp256k1), far more
   * than a session's packets.
   */
  cache: Map<string, Seed[]>;
  /** Identities sessions take turns with (made once per run). */
  identities: Identity[];
}

/** A run's shared context. */
export function fuzzContext(nodeKey: Buffer, height: number, identities = 32): FuzzContext {
  return { nodeKey, height, cache: new Map(), identities: Array.from({ length: identities }, () => freshIdentity()) };
}

/** One connection's state. */
export interface SessionState {
  /** Our identity on this connection (hello, auth, requests). */
  identity: Identity;
  /** The node's hello challenge, once received. */
  challenge: Buffer | null;
  /** Nonces the node issued to us (from csres nextNonce), newest last. */
  nonces: Buffer[];
}

export interface FuzzType {
  cmd: string;
  /** Packets one session sends: under the node's per-peer budget for this command. */
  budget: number;
  /** Before fuzzing: nothing, our hello (csauth needs the node's challenge), or a proven identity. */
  setup: 'none' | 'hello' | 'proven';
  /** Valid payloads; made once per run unless `perSession` (they depend on the connection). */
  seeds(ctx: FuzzContext, s: SessionState): Buffer[];
  perSession?: boolean;
  /** The project's decoder for the command (throws PacketError). */
  decode(payload: Buffer): unknown;
  /**
   * Packets in flight before the next is made (default: the run's
   * pipeline window); 1 where the next packet uses the node's answer to
   * the last (a nonce it issued).
   */
  window?: number;
  /** Next packet; default: a mutation of a seed, or a seed itself one time in ten. */
  next?(rng: Rng, ctx: FuzzContext, s: SessionState, seeds: Seed[]): Buffer;
}

/** Fields of payloads traced already: per-session seeds are mostly the same buffers each session. */
const tracedFields = new WeakMap<Buffer, Seed['fields']>();

/** Trace each payload's fields with the type's decoder. */
export function traced(type: FuzzType, payloads: Buffer[]): Seed[] {
  return payloads.map((payload) => {
    let fields = tracedFields.get(payload);
    if (!fields) {
      fields = traceFields((p) => type.decode(p), payload);
      tracedFields.set(payload, fields);
    }
    return { payload, fields };
  });
}

/** A session's traced seeds: the run's shared ones, or fresh ones for per-session types. */
export function seedsFor(type: FuzzType, ctx: FuzzContext, s: SessionState): Seed[] {
  if (type.perSession)
    return traced(type, type.seeds(ctx, s));
  let seeds = ctx.cache.get(type.cmd);
  if (!seeds) {
    seeds = traced(type, type.seeds(ctx, s));
    ctx.cache.set(type.cmd, seeds);
  }
  return seeds;
}

/** The default next packet: mostly mutations, sometimes a valid seed. */
export function defaultNext(rng: Rng, seeds: Seed[]): Buffer {
  if (rng.int(10) === 0)
    return rng.pick(seeds).payload;
  return mutate(rng, seeds).payload;
}

/** True when the local decoder rejects the payload as malformed (what bans). */
export function isMalformed(type: FuzzType, payload: Buffer): boolean {
  try {
    type.decode(payload);
    return false;
  } catch (e) {
    return e instanceof PacketError && e.verdict === 'reject';
  }
}

/** The i-th host offer of an announcement seed. */
function offerFor(ctx: FuzzContext, i: number) {
  return {
    url: `http://127.0.0.${1 + i}:${8000 + i}/cc`, storagePrice: 1000 + i, uploadPrice: 100, downloadPrice: 200,
    capacity: 1 << 30, maxDuration: 1000, expiry: ctx.height + 100
  };
}

function freshIdentity(): Identity {
  return Identity.generate(network);
}

/** A contract that passes the cheap rules, between two throwaway identities. */
function contractFor(renter: Identity, hostKey: Buffer, height: number): StorageContract {
  const start = height;
  const c = new StorageContract({
    network: magic,
    renterKey: renter.publicKey,
    hostKey,
    renterEscrowKey: freshIdentity().publicKey,
    hostEscrowKey: freshIdentity().publicKey,
    root: randomBytes(32),
    size: 1 << 20,
    startHeight: start,
    endHeight: start + 100,
    auditInterval: 10,
    escrowValue: 50000,
    holdback: 2500,
    refundHeight: start + 120,
    expiryHeight: start + 20,
    storagePrice: 1000,
    uploadPrice: 100,
    downloadPrice: 200
  });
  return c.sign(renter);
}

/** Arguments of each service method the host offers, with their decoders. */
export interface MethodSeeds {
  args(ctx: FuzzContext, s: SessionState): Buffer[];
  decode(args: Buffer): unknown;
}

const empty: MethodSeeds = {
  args: () => [Buffer.alloc(0)],
  decode: (a) => {
    if (a.length !== 0)
      throw new Error('args');
  }
};

/**
 * The standard methods (lib/negotiator/standard.ts) of a service, with
 * `quote` asking the price of `quoted` with each of its args seeds (own:
 * the service's own `quote`, which stays as the service defines it).
 */
function standardSeeds(service: string, quoted: string, units: MethodSeeds['args'], own: string[] = []): Record<string, MethodSeeds> {
  const out: Record<string, MethodSeeds> = {};
  if (!own.includes('version'))
    out[`${service}.version`] = empty;
  if (!own.includes('methods'))
    out[`${service}.methods`] = empty;
  if (!own.includes('quote')) {
    out[`${service}.quote`] = {
      // The price of a real call, and of one method the service does not have.
      args: (ctx, s) => [...units(ctx, s).map((u) => encodeQuoteArgs({ method: quoted, units: u })),
        encodeQuoteArgs({ method: 'nosuchmethod', units: Buffer.alloc(0) })],
      decode: (a) => decodeQuoteArgs(a)
    };
  }
  return out;
}

/**
 * Every `service.method` a host registers, keyed as the `info services`
 * body lists them. The run checks the host's list against this table.
 */
export const METHOD_SEEDS: Record<string, MethodSeeds> = {
  ...standardSeeds('info', 'services', () => [Buffer.alloc(0)]),
  ...standardSeeds('peers', 'list', () => [Buffer.alloc(0)]),
  ...standardSeeds('reputation', 'get', (ctx) => [ctx.nodeKey]),
  ...standardSeeds('storage', 'quote', () => [], ['quote']),
  ...standardSeeds('market', 'prices', () => [Buffer.alloc(0)]),
  'market.prices': empty,
  'info.services': empty,
  'peers.list': empty,
  'reputation.get': {
    // The view of the node itself and of a throwaway identity.
    args: (ctx) => [ctx.nodeKey, freshIdentity().publicKey],
    decode: (a) => decodeGetArgs(a)
  },
  'peers.connect': {
    // A dial-back through the node for a host it is not connected to (declined), and one at port 1.
    args: () => [connectArgs(freshIdentity().publicKey, 18444), connectArgs(freshIdentity().publicKey, 1)],
    decode: (a) => readConnectArgs(a)
  },
  'peers.announce': {
    // The newest announcements the node knows, and those of the node itself and of a host it never heard of.
    args: (ctx) => [encodeAnnounceArgs([]), encodeAnnounceArgs([ctx.nodeKey, freshIdentity().publicKey])],
    decode: (a) => decodeAnnounceArgs(a)
  },
  'peers.dialback': {
    // The node as a host asked to dial a renter back at an IPv4 or IPv6 address (declined unless hosting).
    args: () => [dialbackArgs(freshIdentity().publicKey, HostAddr.fromHostname(addrKinds.DIRECT, '10.0.0.9:18444') as HostAddr),
      dialbackArgs(freshIdentity().publicKey, HostAddr.fromHostname(addrKinds.DIRECT, '[fd00::9]:18444') as HostAddr)],
    decode: (a) => readDialbackArgs(a)
  },
  'storage.quote': {
    args: () => [Object.assign(new QuoteArgs(), { size: 1 << 20, duration: 144 }).encode(),
      Object.assign(new QuoteArgs(), { size: 1, duration: 1 }).encode()],
    decode: (a) => QuoteArgs.decode(a)
  },
  'storage.offer': {
    args: () => [Object.assign(new OfferArgs(), {
      size: 1 << 20, duration: 144, bid: { storage: 5000, upload: 1000, download: 1000 }
    }).encode()],
    decode: (a) => OfferArgs.decode(a)
  },
  'storage.propose': {
    args: (ctx, s) => [contractFor(s.identity, ctx.nodeKey, ctx.height).encode()],
    decode: (a) => StorageContract.decode(a)
  },
  'storage.revise': {
    args: (ctx, s) => {
      // A renter-signed revision 1 of a contract the host never formed,
      // adding one object and removing another: every field on the wire.
      const c = contractFor(s.identity, ctx.nodeKey, ctx.height);
      const rev = new Revision({ contractId: c.hash(), number: 1, height: ctx.height, root: randomBytes(32),
        size: 4096, count: 1, nextObject: 2, accrued: 10 }).sign(s.identity, c);
      return [Object.assign(new ReviseArgs(), { revision: rev, add: [{ id: 1, root: randomBytes(32), size: 4096 }],
        remove: [0] }).encode()];
    },
    decode: (a) => ReviseArgs.decode(a)
  },
  'storage.revision': {
    args: () => [Object.assign(new ContractArgs(), { id: randomBytes(32) }).encode()],
    decode: (a) => ContractArgs.decode(a)
  },
  'storage.latest': {
    // The whole of a contract the host never formed, and a later page (revisions from 300, objects from 5000).
    args: () => [Object.assign(new LatestArgs(), { id: randomBytes(32) }).encode(),
      Object.assign(new LatestArgs(), { id: randomBytes(32), fromRevision: 300, fromObject: 5000 }).encode()],
    decode: (a) => LatestArgs.decode(a)
  },
  'storage.receipt': {
    args: () => [Object.assign(new ReceiptArgs(), { id: randomBytes(32), number: 1 }).encode()],
    decode: (a) => ReceiptArgs.decode(a)
  },
  'storage.token': {
    // One object, 0 (the sealed manifest, as a restored renter asks), 2^32-1 (an audit's token over every
    // object), and one with the channel state prepaying its bytes.
    args: () => [Object.assign(new TokenArgs(), { id: randomBytes(32), object: 1 }).encode(),
      Object.assign(new TokenArgs(), { id: randomBytes(32), object: 0 }).encode(),
      Object.assign(new TokenArgs(), { id: randomBytes(32), object: 0xffffffff }).encode(),
      Object.assign(new TokenArgs(), { id: randomBytes(32), object: 1, state: Object.assign(new ChannelState(),
        { contractId: randomBytes(32), number: 2, paid: 1, renterSig: randomBytes(64) }) }).encode()],
    decode: (a) => TokenArgs.decode(a)
  },
  'storage.pay': {
    // A state for a contract the host never formed, paying intervals 0..2 with interval 1 missed.
    args: (ctx, s) => {
      const c = contractFor(s.identity, ctx.nodeKey, ctx.height);
      const state = Object.assign(new ChannelState(), { contractId: c.hash(), number: 1, paid: 1000, renterSig: randomBytes(64) });
      return [Object.assign(new PayArgs(), { state, through: 3, missed: [1] }).encode()];
    },
    decode: (a) => PayArgs.decode(a)
  }
};

/** A request from `s.identity` to the node, signed (nonce: one the node issued, else random). */
function request(ctx: FuzzContext, s: SessionState, service: string, method: string, args: Buffer, nonce?: Buffer): RequestPacket {
  const r = new RequestPacket();
  r.to = ctx.nodeKey;
  r.nonce = nonce ?? randomBytes(16);
  r.service = service;
  r.method = method;
  r.args = args;
  return r.sign(s.identity, magic);
}

function envelopeSeeds(ctx: FuzzContext, s: SessionState): Buffer[] {
  const out: Buffer[] = [];
  for (const key of Object.keys(METHOD_SEEDS)) {
    const [service, method] = key.split('.');
    out.push(request(ctx, s, service, method, METHOD_SEEDS[key].args(ctx, s)[0]).encode());
  }
  // A deferred payment and an attached one: the payment field's other shapes.
  const defer = new RequestPacket();
  Object.assign(defer, { to: ctx.nodeKey, nonce: randomBytes(16), service: 'info', method: 'services' });
  defer.payment.type = 2;
  defer.payment.amount = 1000;
  out.push(defer.sign(s.identity, magic).encode());
  const attached = new RequestPacket();
  Object.assign(attached, { to: ctx.nodeKey, nonce: randomBytes(16), service: 'storage', method: 'quote',
    args: METHOD_SEEDS['storage.quote'].args(ctx, s)[0] });
  attached.payment.type = 1;
  attached.payment.amount = 500;
  attached.payment.data = randomBytes(300);
  out.push(attached.sign(s.identity, magic).encode());
  return out;
}

/** Traced args seeds of a method for the session's identity (a proposal names its renter), made once per run. */
function argSeeds(ctx: FuzzContext, s: SessionState, key: string): Seed[] {
  const cacheKey = `args ${key} ${s.identity.publicKey.toString('hex')}`;
  let seeds = ctx.cache.get(cacheKey);
  if (!seeds) {
    const m = METHOD_SEEDS[key];
    seeds = m.args(ctx, s).map((payload) => ({ payload, fields: traceFields((p) => m.decode(p), payload) }));
    ctx.cache.set(cacheKey, seeds);
  }
  return seeds;
}

export const FUZZ_TYPES: FuzzType[] = [
  {
    cmd: 'cshello',
    budget: FLOOD_BURST - 10,
    setup: 'none',
    seeds: () => Array.from({ length: 3 }, () =>
      HelloPacket.fromOptions(PROTOCOL_VERSION, freshIdentity().publicKey, randomBytes(16)).encode()),
    decode: (p) => HelloPacket.decode(p)
  },
  {
    cmd: 'csauth',
    budget: FLOOD_BURST - 10,
    setup: 'hello',
    perSession: true,
    seeds: (ctx, s) => {
      const challenge = s.challenge ?? randomBytes(16);
      // The proof for this connection, and one over another challenge
      // (made once per identity: a valid signature that proves nothing here).
      const key = `stale auth ${s.identity.publicKey.toString('hex')}`;
      let stale = ctx.cache.get(key);
      if (!stale) {
        stale = [{ payload: AuthPacket.create(s.identity, magic, randomBytes(16)).encode(), fields: [] }];
        ctx.cache.set(key, stale);
      }
      return [AuthPacket.create(s.identity, magic, challenge).encode(), stale[0].payload];
    },
    decode: (p) => AuthPacket.decode(p),
    // The valid proof is rare: once proven, further csauth are ignored unchecked.
    next: (rng, _ctx, _s, seeds) => rng.int(40) === 0 ? seeds[0].payload : mutate(rng, seeds).payload
  },
  {
    cmd: 'csreq',
    // hello and auth come out of the other flood budget; the csreq one is this.
    budget: REQ_FLOOD_BURST - 4,
    setup: 'proven',
    // Six in ten use a nonce from the node's answer to the one before.
    window: 1,
    // Signed by the session's identity: cached per identity.
    perSession: true,
    seeds: (ctx, s) => {
      const key = `envelopes ${s.identity.publicKey.toString('hex')}`;
      let seeds = ctx.cache.get(key);
      if (!seeds) {
        seeds = envelopeSeeds(ctx, s).map((payload) => ({ payload, fields: [] as Seed['fields'] }));
        ctx.cache.set(key, seeds);
      }
      return seeds.map((x) => x.payload);
    },
    decode: (p) => RequestPacket.decode(p),
    next: (rng, ctx, s, seeds) => {
      const roll = rng.int(10);
      if (roll < 4)
        return mutate(rng, seeds).payload;
      if (roll === 4)
        return rng.pick(seeds).payload;
      // A well-signed envelope carrying mutated args, with a nonce the
      // node issued when we have one, so the args reach the service.
      const keys = Object.keys(METHOD_SEEDS);
      const key = rng.pick(keys);
      const [service, method] = key.split('.');
      const args = argSeeds(ctx, s, key);
      const body = rng.int(8) === 0 ? rng.pick(args).payload : mutate(rng, args, 256).payload;
      return request(ctx, s, service, method, body, s.nonces.pop()).encode();
    }
  },
  {
    cmd: 'csreqc',
    // The csreq budget: a csreqc counts against it.
    budget: REQ_FLOOD_BURST - 4,
    setup: 'proven',
    perSession: true,
    // Requests with one and with three coin proofs (random outpoints: the
    // node finds no such coins), signed by the session's identity: made
    // once per identity (ten signatures and four keys each; their random
    // nonce is one the node never issued either way).
    seeds: (ctx, s) => {
      const key = `coin requests ${s.identity.publicKey.toString('hex')}`;
      let seeds = ctx.cache.get(key);
      if (!seeds) {
        seeds = [1, 3].map((n) => {
          const r = new CoinRequestPacket();
          Object.assign(r, { to: ctx.nodeKey, nonce: randomBytes(16), service: 'info', method: 'services' });
          r.coins = Array.from({ length: n }, (_, i) =>
            signProof(magic, s.identity.publicKey, ctx.nodeKey, r.nonce, randomBytes(32), i, bcoin.KeyRing.generate().privateKey));
          return { payload: r.sign(s.identity, magic).encode(), fields: [] as Seed['fields'] };
        });
        ctx.cache.set(key, seeds);
      }
      return seeds.map((x) => x.payload);
    },
    decode: (p) => CoinRequestPacket.decode(p)
  },
  {
    cmd: 'csres',
    budget: FLOOD_BURST - 10,
    setup: 'none',
    seeds: (_ctx, s) => {
      const mk = (status: string, body: Buffer) => {
        const r = new ResponsePacket();
        Object.assign(r, { requestHash: randomBytes(32), status, body, nextNonce: randomBytes(16) });
        return r.sign(s.identity, magic).encode();
      };
      return [mk('ok', randomBytes(44)), mk('request-declined/refresh-nonce', Buffer.alloc(0)),
        mk('request-declined/payment-declined/too-low', Buffer.alloc(8, 1))];
    },
    decode: (p) => ResponsePacket.decode(p)
  },
  {
    cmd: 'csannounce',
    budget: ANNOUNCE_FLOOD_BURST - 10,
    setup: 'none',
    seeds: (ctx) => Array.from({ length: 16 }, (_, i) => announcement(offerFor(ctx, i), Math.floor(Date.now() / 1000), [], 1)
      .sign(freshIdentity(), magic).encode()),
    decode: (p) => decodeNegotiator('csannounce', p)
  },
  {
    cmd: 'csannounce2',
    budget: ANNOUNCE_FLOOD_BURST - 10,
    setup: 'none',
    // Offers with direct and relay addresses (IPv4, IPv6), and withdrawals.
    seeds: (ctx) => Array.from({ length: 16 }, (_, i) => {
      const seq = Math.floor(Date.now() / 1000);
      const ann = i % 4 === 3 ? withdrawal(seq, ctx.height + 100) : announcement(offerFor(ctx, i), seq, [
        HostAddr.fromHostname(addrKinds.DIRECT, `10.0.0.${1 + i}:18444`),
        HostAddr.fromHostname(addrKinds.RELAY, `[fd00::${1 + i}]:18444`)
      ].filter((a): a is HostAddr => a !== null).slice(0, 1 + (i % 2)));
      return ann.sign(freshIdentity(), magic).encode();
    }),
    decode: (p) => decodeNegotiator('csannounce2', p)
  },
  {
    cmd: 'csgetctr',
    budget: CS_BURST - 100,
    setup: 'none',
    seeds: () => [randomBytes(32), randomBytes(32)],
    decode: (p) => decodeGetContract(p)
  },
  {
    cmd: 'csgetcmt',
    budget: CS_BURST - 100,
    setup: 'none',
    seeds: () => [randomBytes(32), randomBytes(32)],
    decode: (p) => decodeGetCommit(p)
  },
  {
    cmd: 'csctr',
    budget: CS_BURST - 100,
    setup: 'none',
    seeds: (ctx) => {
      const renter = freshIdentity();
      const host = freshIdentity();
      const out: Buffer[] = [];
      for (const branch of [0, 2, 4]) {
        const c = contractFor(renter, host.publicKey, ctx.height).sign(host);
        out.push(new ContractRecord({ contract: c, txid: randomBytes(32), leaf: branch ? 1 : 0,
          branch: Array.from({ length: branch }, () => randomBytes(32)) }).encode());
      }
      return out;
    },
    decode: (p) => decodeContractRecord(p)
  }
];

/** Decode any cs* command the way the node will (negotiator and contract packets). */
export function typeOf(cmd: string): FuzzType | undefined {
  return FUZZ_TYPES.find((t) => t.cmd === cmd);
}

export { decodeNegotiator };
