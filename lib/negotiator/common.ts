/*!
 * common.ts - constants of the CloudStorage P2P layer: service bit,
 * protocol version, every wire limit, timeouts and memory bounds.
 *
 * Every length and count a peer controls is checked against one of these
 * before anything is allocated; every map a peer can grow is bounded here.
 */

import { tags } from '../base/hash';

export { NODE_CLOUDSTORAGE, MAX_MONEY } from '../base/consts';

/**
 * Version of the cs* packet set; sent in `cshello`. 2 adds `csannounce2`
 * (announcements with P2P addresses) and `peers.connect`/`peers.dialback`;
 * 3 adds the standard methods of every service (`version`, `methods`,
 * `quote`) and the `market` service (PROTOCOL 2.7).
 */
export const PROTOCOL_VERSION = 3;

/** First version that answers the standard methods and `market`: older peers are not asked them. */
export const STANDARD_METHODS_VERSION = 3;

/** First version that reads `csannounce2`: only such peers are sent one. */
export const ANNOUNCE2_VERSION = 2;

/** Lowest peer protocol version we talk to (the first one). */
export const MIN_PROTOCOL_VERSION = 1;

export { PUBKEY_SIZE, SIG_SIZE, HASH_SIZE } from '../base/consts';

/** Server nonce: HMAC-SHA256 truncated to 128 bits (DESIGN 4). */
export const NONCE_SIZE = 16;

/** Hello challenge: 128 random bits, fresh per connection. */
export const CHALLENGE_SIZE = 16;

/** Tag of the identity proof in `csauth`: TH(tag, magic || challenge || pk). */
export const AUTH_TAG = tags.AUTH;

/** Service and method names: short ASCII identifiers, not data. */
export const MAX_NAME_SIZE = 32;

/** Name syntax: lowercase, starts with a letter, digits and dashes after. */
export const NAME_RE = /^[a-z][a-z0-9-]*$/;

/** Request args carry parameters, not file data (bulk goes to the file server). */
export const MAX_ARGS_SIZE = 64 * 1024;

/** Response bodies: lists, quotes, tokens, proofs; far under bcoin's 4 MB message cap. */
export const MAX_BODY_SIZE = 512 * 1024;

/** Attached payment: one wallet tx paying the server (walletpay.ts), room for about 25 inputs. */
export const MAX_PAYMENT_SIZE = 4096;

/** Hierarchical status strings are a few path segments. */
export const MAX_STATUS_SIZE = 64;

/** Status syntax: lowercase segments separated by `/`. */
export const STATUS_RE = /^[a-z0-9-]+(\/[a-z0-9-]+)*$/;

/** Nonce epoch: nonces of the current and previous epoch are accepted (DESIGN 4). */
export const NONCE_EPOCH_MS = 10 * 60 * 1000;

/**
 * Outstanding nonces per client identity; beyond this the oldest is
 * forgotten. Well above MAX_INFLIGHT_PER_PEER + MAX_CACHED_NONCES so a burst
 * of pipelined requests does not evict its own nonces.
 */
export const MAX_NONCES_PER_CLIENT = 64;

/** Client identities with outstanding nonces (x64 x ~100 B = ~6.5 MB at most). */
export const MAX_NONCE_CLIENTS = 1024;

/** Nonces a client keeps per server (more than the per-server concurrency). */
export const MAX_CACHED_NONCES = 8;

/** Servers a client keeps nonces for. */
export const MAX_NONCE_SERVERS = 1024;

/** Default time to wait for one `csres`; AbortSignal-style timeout. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** Upper bound a caller may ask for, so a pending entry cannot live forever. */
export const MAX_REQUEST_TIMEOUT_MS = 10 * 60 * 1000;

/** Round trips one `request()` may take (nonce refresh, bid raise, switch to attached, pay). */
export const MAX_REQUEST_ROUNDS = 6;

/** Our own requests awaiting a response, over all peers. */
export const MAX_PENDING_REQUESTS = 1024;

/** Requests one peer may have in progress on our server at once. */
export const MAX_INFLIGHT_PER_PEER = 16;

/** Connected CloudStorage peers tracked (bcoin's own limits are far lower). */
export const MAX_CLOUD_PEERS = 1024;

/** Identities with a deferred-payment credit counter. */
export const MAX_CREDIT_ACCOUNTS = 4096;

/**
 * Default sat of one identity's attached payments a server serves against
 * while they are unconfirmed (`--unconfirmed-limit`): what a double spend
 * can take from it. 50 000 sat is 5 x DEFAULT_DEFER_LIMIT, the credit a
 * server extends with no payment at all.
 */
export const DEFAULT_UNCONFIRMED_LIMIT = 50_000;

/** Payment txs a server remembers having credited (replays, retries, double spends); oldest forgotten. */
export const MAX_PAID_RECORDS = 4096;

/**
 * Bytes `cspaid.dat` may reach (paidstore.ts); past it the oldest records
 * are forgotten (paidtx.ts), as past MAX_PAID_RECORDS. The file is
 * rewritten and fsynced at every payment, and each record keeps its raw
 * tx (up to MAX_PAYMENT_SIZE) until it is forgotten, so without a byte
 * bound 4 096 records could make a 17 MB write per paid call. 2 MiB is
 * 4 096 x 512 bytes: a record's 111 fixed bytes plus a payment of up to
 * ~400 bytes (a wallet payment with 1 or 2 P2WPKH inputs and 2 outputs is
 * 222-290 bytes, walletpay.ts), so the record count binds first for
 * ordinary payments and this only for large many-input ones.
 */
export const MAX_PAID_FILE_BYTES = 2 * 1024 * 1024;

/**
 * Blocks on top of the one holding a payment tx after which a server
 * forgets it (paidtx.ts prune): a double spend is charged back only while
 * the payment is unconfirmed (the mempool reports the conflict), or after
 * a reorg takes it out of the chain again; 6 blocks is the depth Bitcoin
 * practice treats as final. A payment presented
 * again after that is refused as a tx the chain has already (`invalid`).
 */
export const PAID_KEEP_DEPTH = 6;

/**
 * Blocks below the tip a server searches for the tx that spent an input
 * of a payment it finds double spent in the chain at start or after a
 * reorg (walletpay.ts spender), to tell a malleated copy of the payment
 * from a double spend: twice PAID_KEEP_DEPTH covers a reorg as deep as
 * the server guards against and the blocks its chain hooks lag behind.
 * A spender deeper than that counts as a double spend.
 */
export const SPENDER_SCAN_DEPTH = 2 * PAID_KEEP_DEPTH;

/** Times a server serves the same call again against one payment tx (a client retrying after a lost answer). */
export const PAID_RETRIES = 2;

/** Ban score for a payment that lies: it pays less than it claims, someone else, or paid another call already. */
export const FALSE_PAYMENT_SCORE = 20;

/** Ban score of an identity whose payment was double spent after it was served (PROTOCOL 2.5). */
export const DOUBLE_SPEND_SCORE = 50;

/**
 * Default milliseconds a client waits after a paid call went unanswered
 * before it takes its payment back, unless the tx was seen in its mempool
 * or chain (`--payment-grace`): a server that took it relays it within
 * seconds (bcoin's inv trickle is under 1 s).
 */
export const DEFAULT_PAYMENT_GRACE_MS = 60_000;

/** Default credit (sat) an identity may run up with `defer` before `please-pay`. */
export const DEFAULT_DEFER_LIMIT = 10_000;

/**
 * Default most a renter pays a host for one `storage.quote` (sat,
 * `--max-quote-payment`): a quote is a cheap call (decloud's deferred
 * payments), far below a contract's 10 000 sat minimum escrow.
 */
export const DEFAULT_MAX_QUOTE_PAYMENT = 100;

/** Rate-limit buckets (rule x credential). */
export const MAX_RATE_BUCKETS = 8192;

/** Policy rules accepted from config and the policy file. */
export const MAX_POLICY_RULES = 1024;

/** Promise/fulfilment records kept in memory (the newest). */
export const MAX_LEDGER_RECORDS = 1024;

/** Flood limit: sustained cshello/csauth/csres packets per second from one peer (unknown cs* never reach the negotiator). */
export const FLOOD_RATE = 50;

/** Flood limit: burst of those packets one peer may send at once. */
export const FLOOD_BURST = 200;

/** Ban score for a packet over the flood limit (dropped); csannounce excess is never scored. */
export const FLOOD_SCORE = 1;

/** csreq per second from one peer: each costs a signature check (~3 ms), so far fewer than other packets. */
export const REQ_FLOOD_RATE = 10;

/** csreq burst from one peer (above MAX_INFLIGHT_PER_PEER, so a pipelining client fits). */
export const REQ_FLOOD_BURST = 40;

/** Our csreq to one peer per second: below REQ_FLOOD_RATE so an honest client is never dropped. */
export const REQ_SEND_RATE = 8;

/** Our csreq burst to one peer: below REQ_FLOOD_BURST. */
export const REQ_SEND_BURST = 32;

/** csannounce per second from one peer; excess dropped silently (relayed gossip is never scored). */
export const ANNOUNCE_FLOOD_RATE = 20;

/** csannounce burst from one peer (a sync of ANNOUNCE_SYNC_LIMIT fits twice). */
export const ANNOUNCE_FLOOD_BURST = 200;

/** csannounce (relays and sync) we send one peer per second: half its ANNOUNCE_FLOOD_RATE. */
export const ANNOUNCE_SEND_RATE = 10;

/** csannounce burst we send one peer: one sync (ANNOUNCE_SYNC_LIMIT). */
export const ANNOUNCE_SEND_BURST = 100;

/** Packets queued for pacing per peer and kind; past it relays are dropped, requests fail. */
export const MAX_SEND_QUEUE = 256;

/**
 * Identities we never saw that one source address (sourceOf in peers.ts:
 * the IP, or an IPv6 /64, over all its connections) may add to our
 * announcement store: a sync's worth at once, then this many per minute.
 * Only new identities escape the per-identity interval, so this bounds what
 * one source makes us verify, store and relay; reconnecting earns nothing.
 */
export const NEW_HOSTS_PER_MIN = 60;

/** Burst of new identities one source address may add (one sync). */
export const NEW_HOSTS_BURST = 100;

/** Source addresses with a new-identity budget (oldest forgotten: it then starts full again). */
export const MAX_ANNOUNCE_SOURCES = 4096;

export { MALFORMED_SCORE } from '../base/wire';

/** Ban score for a well-formed packet that breaks the protocol (second hello...). */
export const MISBEHAVE_SCORE = 10;

/** Ban score for a `csauth` that does not prove the claimed identity: two ban. */
export const BAD_AUTH_SCORE = 50;

/** Entries `peers list` returns at most. */
export const MAX_PEERS_LISTED = 256;

/** Services one node registers (and an `info services` body may list). */
export const MAX_SERVICES = 64;

/** Methods per service. */
export const MAX_METHODS = 64;

/** A peer address in a `peers list` body: `[ipv6]:port` fits easily. */
export const MAX_ADDR_SIZE = 64;

/** Announcements one `peers.announce` call asks for or answers (16 x under 1 KiB: a small body). */
export const MAX_ANNOUNCE_FETCH = 16;

/** Bytes of one encoded announcement in a `peers.announce` body (a v2 one is under 1 KiB: 8 addrs, a 200-byte URL). */
export const MAX_ANNOUNCE_BYTES = 2048;

/** P2P addresses in a `csannounce2`: a few direct ones and a few relays. */
export const MAX_HOST_ADDRS = 8;

/** Direct addresses we announce (--externalip and the like). */
export const MAX_DIRECT_ADDRS = 4;

/** Relays we announce: CloudStorage nodes we keep outbound connections to. */
export const MAX_RELAY_ADDRS = 4;

/**
 * Wait after our outbound peers change before announcing the new relay set,
 * and at least this long between two of our own announcements for that
 * reason (a flapping connection must not re-sign every second).
 */
export const ADDR_REFRESH_MS = 5_000;

/** Bytes of one announced address (BIP155's largest, a Tor v3 key, is 32). */
export const MAX_NET_ADDR_SIZE = 32;

/** File-server URL in an announcement: an http(s) URL, not a document. */
export const MAX_URL_SIZE = 200;

/** Announcements kept, one per identity (newest `seq` wins). */
export const MAX_ANNOUNCEMENTS = 4096;

/** An announcement may not claim to live longer than two weeks of blocks. */
export const MAX_ANNOUNCE_BLOCKS = 2016;

/**
 * Minimum time between two relays of one identity's announcements (gossip
 * storm guard): a newer one arriving sooner is stored at once and relayed
 * when the interval ends, so nobody keeps an older price.
 */
export const ANNOUNCE_INTERVAL_MS = 60_000;

/** Announcements sent to a newly proven peer (below its flood burst). */
export const ANNOUNCE_SYNC_LIMIT = 100;

/** Dials `connectHosts` runs at once (each waits up to DIAL_TIMEOUT_MS). */
export const DIAL_CONCURRENCY = 4;

/**
 * New connections `Negotiator#reach` may open per contract host it is not
 * connected to: as `connectHosts` allows per host wanted (a direct address,
 * or a relay and the dial-back it asks for).
 */
export const REACH_NEW_PER_HOST = 3;

/** One dial: TCP connect, version handshake and identity proof (bcoin's own connect timeout is 5 s). */
export const DIAL_TIMEOUT_MS = 10_000;

/** How long a renter waits for a host behind NAT to dial back once a relay said yes. */
export const DIALBACK_TIMEOUT_MS = 15_000;

/** A connection we dialled for a deal closes after this long without requests, unless we hold a contract there. */
export const TEMP_IDLE_MS = 60_000;

/** How often idle temporary connections are looked for. */
export const TEMP_SWEEP_MS = 5_000;

/** `peers.connect` calls one identity may make of us (as a relay) per minute, and at once. */
export const CONNECT_PER_MIN = 12;
export const CONNECT_BURST = 12;

/**
 * `peers.dialback` requests one relay may make of us (as a host) per
 * minute, and at once; four times that from all relays together. Each makes
 * us open a connection, so few: a renter needs one per host it uses.
 */
export const DIALBACK_PER_MIN = 6;
export const DIALBACK_BURST = 6;

/** Default `--cloudpeers`: extra outbound slots for CloudStorage peers (Core keeps 2 for block-relay-only). */
export const DEFAULT_CLOUD_PEERS = 4;

/** Highest `--cloudpeers`. */
export const MAX_CLOUD_SLOTS = 16;
