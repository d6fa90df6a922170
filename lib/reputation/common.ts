/*!
 * common.ts - the reputation parameters (docs/REPUTATION.md explains each
 * one and the attack it answers).
 *
 * Scores are integers in permille (0..1000); trust values are integers in
 * parts per billion of the trust vector. Nothing here is a float, so two
 * nodes with the same chain and the same own records compute the same
 * numbers on any platform.
 */

/** Scores run 0..SCORE_MAX (permille). */
export const SCORE_MAX = 1000;

/**
 * Score of an identity nobody can vouch for: below the middle of the
 * scale, so a new identity (or an old one that threw its history away)
 * never starts above a host with any net positive paid history.
 */
export const PRIOR_SCORE = 400;

/**
 * Weight of the prior against the sources, in the same permille units as
 * a source's confidence: a source at full confidence (1000) counts as much
 * as the prior.
 */
export const PRIOR_WEIGHT = 1000;

/**
 * Own observations at which own records reach half confidence: two
 * checks of our own (passed audits, settled contracts) already say more
 * than anything others claim.
 */
export const OWN_HALF = 2;

/** Own records count this many times a chain source of equal confidence. */
export const OWN_BOOST = 2;

/**
 * Settled sats (to the host, over every counted rating) at which chain
 * ratings reach half confidence: 100 000 sat is ten minimum escrows, so a
 * ring must settle real value, not dust, before its ratings move a score.
 */
export const RATING_HALF_SAT = 100_000;

/** EigenTrust: teleport probability to the pre-trust vector, as a fraction. */
export const ALPHA_NUM = 15n;
export const ALPHA_DEN = 100n;

/** EigenTrust: the trust vector sums to this (parts per billion). */
export const TRUST_ONE = 1_000_000_000n;

/** EigenTrust: iterations at most (the power iteration converges well before). */
export const MAX_ITERATIONS = 100;

/** EigenTrust: stop once the L1 change of an iteration is at most this (ppb). */
export const EPSILON = 1_000n;

/**
 * A rater whose trust reaches the teleport share of one pre-trusted peer
 * (TRUST_ONE x alpha / |pre-trust|) counts with its full settled sats;
 * below that, linearly less, down to UNTRUSTED_SHARE of them at trust 0.
 */
export const UNTRUSTED_NUM = 1n;
export const UNTRUSTED_DEN = 4n;

/**
 * Host choice ranks by (score + SCORE_FLOOR) / cost: the floor keeps a
 * host at score 0 in the running at a low enough price (a score of 0 is
 * not infinitely bad, as Sia's multiplicative host score never reaches 0),
 * and makes a 1000 host worth 1100/500 = 2.2 times the price of an
 * unknown one at the prior.
 */
export const SCORE_FLOOR = 100;

/**
 * Host choice: of every NEW_HOST_EVERY hosts wanted, one place goes to the
 * best unknown host if the ranking left all of them out (bounded
 * exploration: a new host gets a chance, never the majority).
 */
export const NEW_HOST_EVERY = 4;

/**
 * Default --rate-fee-cap (sat): a rating and its funding tx at mainnet's
 * 10 sat/vB cost up to 4000 sat (rater.ts ratingFeeBound); a little room above.
 */
export const DEFAULT_RATE_FEE_CAP = 5000;

/** Default --rate-fail-threshold: two bad audits in a row (one can be a network hiccup). */
export const DEFAULT_FAIL_THRESHOLD = 2;

/** Tag of a signed reputation statement's hash (statement.ts, PROTOCOL 2.8). */
export const REPUTATION_TAG = 'cc/reputation/0';

/** Version of the `reputation` core service. */
export const REPUTATION_SERVICE_VERSION = 1;

/**
 * Most confidence (permille) the peers source may reach: below the prior's
 * PRIOR_WEIGHT and below OWN_BOOST x the confidence of a single own
 * observation (2 x 333), so what peers say never outweighs what this node
 * saw itself, however many of them say it.
 */
export const PEERS_MAX_CONFIDENCE = 500;

/** A peer's statement older than this many blocks (by its height against our tip) is no longer counted (two weeks). */
export const STATEMENT_MAX_AGE = 2016;

/**
 * Asking peers: a round after every ASK_EVERY_BLOCKS blocks the index
 * connects (the first one at once), and at most one per ASK_MIN_INTERVAL_MS,
 * so a node catching up with the chain does not ask at every few blocks.
 */
export const ASK_EVERY_BLOCKS = 6;
export const ASK_MIN_INTERVAL_MS = 60_000;

/** Asking peers: most CloudStorage peers asked per round, and most identities asked about per peer. */
export const ASK_PEERS = 8;
export const ASK_SUBJECTS = 16;

/** Asking peers: each `reputation.get` waits at most this long (ms). */
export const ASK_TIMEOUT_MS = 10_000;

/** Most peer statements kept (newest per signer and subject; the oldest forgotten past it). */
export const MAX_PEER_STATEMENTS = 4096;

/** Most identities `getreputation` lists (largest scores first). */
export const MAX_LIST = 1000;
