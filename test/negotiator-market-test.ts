// The market on real cloudcoind processes: a renter and two hosts, one
// asking 50 sat for a storage quote (within the renter's
// --max-quote-payment 100sat: paid, deferred) and one asking 500 (skipped,
// and negotiate-storage says why); the renter's `market` table knows both
// hosts' announced prices and the quote it received; a host's signed
// `market.prices` statement checks; cloudrequest pays up to MAXPAYMENT;
// announcements are fetched on request from a host pricing them 20 sat
// (peers.announce, deferred), each through the renter's store.
import t from 'tap';
import { json, startNetwork } from './util/network';
import { forValue } from './util/wait';
import { formatSize } from '../lib/base/units';

interface EntryJSON {
  host: string;
  pubkey: string;
  source: string;
  storageprice: number;
  capacity: number;
}

interface MarketJSON {
  signer: string;
  height: number;
  paid: number;
  entries: EntryJSON[];
}

t.test('market prices and paid quotes (real nodes)', async (t) => {
  const { renter, hosts } = await startNetwork(t, [
    ['--host-storage-price', '1000sat', '--policy', 'min-payment storage.quote 50sat'],
    ['--host-storage-price', '900sat', '--policy', 'min-payment storage.quote 500sat',
      '--policy', 'min-payment market.prices 30sat', '--policy', 'min-payment peers.announce 20sat']
  ], ['--max-quote-payment', '100sat']);
  const ids = await Promise.all(hosts.map(async (h) => json<{ identity: string; pubkey: string }>(h.cli(['getidentity']))));
  await forValue(async () => (await json<unknown[]>(renter.cli(['listhosts']))).length, 2, 30000, 'both hosts announced');

  await t.test('should pay a quote within the maximum and list a host asking more with the reason', async (t) => {
    const res = await json<{ offers: Array<{ host: string }>; declined: Array<{ host: string; reason: string }> }>(
      renter.cli(['negotiate-storage', '--size', '1MB', '--duration', '100', '--max-price', '5000sat', '--hosts', '2', '--json']));
    t.same(res.offers.map((o) => o.host), [ids[0].identity], 'the host asking 50 sat for its quote was quoted and made an offer');
    const skipped = res.declined.find((d) => d.host === ids[1].identity);
    t.equal(skipped?.reason, 'no quote: asks 500 sat, above the maximum payment 100 sat', 'the dear host is listed with why');
    const table = await renter.cli(['negotiate-storage', '--size', '1MB', '--duration', '100', '--max-price', '5000sat', '--hosts', '2']);
    t.match(table.stdout, `declined ${ids[1].identity}: no quote: asks 500 sat, above the maximum payment 100 sat`);
  });

  await t.test('should list announced prices, quotes received and a host\'s own offer', async (t) => {
    const mine = await json<MarketJSON>(renter.cli(['market', '--json']));
    const of = (m: MarketJSON, pk: string, source: string) => m.entries.find((e) => e.pubkey === pk && e.source === source);
    t.equal(of(mine, ids[0].pubkey, 'announcement')?.storageprice, 1000);
    t.equal(of(mine, ids[1].pubkey, 'announcement')?.storageprice, 900);
    t.equal(of(mine, ids[0].pubkey, 'quote')?.storageprice, 1000, 'the quote the renter received');
    t.notOk(of(mine, ids[1].pubkey, 'quote'), 'no quote from the host it did not pay');
    const theirs = await json<MarketJSON & { statement: string }>(renter.cli(['market', ids[0].pubkey, '--json']));
    t.equal(theirs.signer, ids[0].identity, 'signed by the host asked (the RPC checked the signature)');
    t.equal(of(theirs, ids[0].pubkey, 'own')?.storageprice, 1000, 'the host lists its own offer');
    t.equal(theirs.entries[0].source, 'own', 'own offer first');
    const table = await renter.cli(['market', ids[0].pubkey]);
    t.match(table.stdout, /prices known to rb1q\S+ \(signed at height \d+, paid 0 sat\)/);
    t.match(table.stdout, /own/);
    // Capacity for people in the table (the hosts' default 10 GiB, less nothing stored), in bytes in --json.
    const local = (await renter.cli(['market'])).stdout.split('\n');
    t.match(local[1], /^host\s+source\s+height\s+storage sat\/GiB\/1000blk\s+upload sat\/GiB\s+download sat\/GiB\s+free\s+max blocks$/);
    const row = local.find((l) => l.startsWith(ids[0].identity) && /\sannouncement\s/.test(l));
    const bytes = of(mine, ids[0].pubkey, 'announcement')?.capacity as number;
    t.ok(Number.isSafeInteger(bytes) && bytes > 0, '--json: capacity in bytes');
    t.match(row, new RegExp(`\\s${formatSize(bytes).replace('.', '\\.')}\\s+\\d+$`), `the table: ${formatSize(bytes)}`);
    t.notMatch(local.join('\n'), new RegExp(`\\s${bytes}\\s`), 'not the raw byte count');
  });

  await t.test('should pay a priced call up to MAXPAYMENT', async (t) => {
    const poor = await json<{ status: string; body: unknown }>(renter.cli(['cloudrequest', ids[1].pubkey, 'market', 'prices']));
    t.match(poor, { status: 'request-declined/payment-declined/too-low', body: { amount: 30 }, paid: 0 });
    const paid = await json<{ status: string; paid: number; body: { valid: boolean } }>(
      renter.cli(['cloudrequest', ids[1].pubkey, 'market', 'prices', 'null', '30sat']));
    t.equal(paid.status, 'ok');
    t.equal(paid.paid, 30);
    t.equal(paid.body.valid, true, 'the statement decodes and its signature checks');
    const viaMarket = await renter.cli(['market', ids[1].pubkey]);
    t.equal(viaMarket.code, 1, 'the market command pays nothing by default');
    t.match(viaMarket.stderr, /asks 30 sat, above the maximum payment 0 sat/);
    const bought = await json<MarketJSON>(renter.cli(['market', ids[1].pubkey, '--max-payment', '30sat', '--json']));
    t.equal(bought.paid, 30);
  });

  await t.test('should fetch announcements on request, paid by deferral', async (t) => {
    interface Fetched {
      paid: number;
      announcements: Array<{ pubkey: string; storageprice: number; result: string }>;
    }
    const all = await json<Fetched>(renter.cli(['gethostannouncements', ids[1].pubkey, '*', '20sat']));
    t.equal(all.paid, 20, 'paid 20 sat (deferred)');
    t.same(all.announcements.map((a) => a.pubkey).sort(), ids.map((i) => i.pubkey).sort(), 'both hosts\' announcements');
    t.equal(all.announcements.find((a) => a.pubkey === ids[1].pubkey)?.storageprice, 900);
    t.ok(all.announcements.every((a) => a.result === 'stale-seq'), 'known already: the store keeps what it has');
    const one = await json<Fetched>(renter.cli(['gethostannouncements', ids[1].pubkey, ids[0].pubkey, '20sat']));
    t.same(one.announcements.map((a) => [a.pubkey, a.storageprice]), [[ids[0].pubkey, 1000]], 'the host named');
    const none = await json<Fetched>(renter.cli(['gethostannouncements', ids[1].pubkey, `02${'11'.repeat(32)}`, '20sat']));
    t.same(none.announcements, [], 'a host it does not know: nothing');
    const poor = await renter.cli(['gethostannouncements', ids[1].pubkey, '*']);
    t.match(poor.stderr, /asks 20 sat, above the maximum payment 0 sat/, 'unpaid: declined with the price');
    const raw = await json<{ status: string; body: Array<{ pubkey: string }> }>(
      renter.cli(['cloudrequest', ids[1].pubkey, 'peers', 'announce', JSON.stringify([ids[1].pubkey]), '20sat']));
    t.equal(raw.status, 'ok');
    t.same(raw.body.map((a) => a.pubkey), [ids[1].pubkey], 'cloudrequest decodes the body');
  });
});
