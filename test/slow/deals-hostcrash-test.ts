// kill -9 of the host's node during a stream of payments: the renter's node
// prepays one download token after another (each token's state is checked
// and fsynced by the host before it answers) while the host is killed at
// random moments, some of them between a state's arrival and its fsync,
// and restarted. The host must hold at least every state it acknowledged,
// decode every one it holds (never a torn record), and close with the
// latest: its close pays what that state says.
import t from 'tap';
import { identity, json, mine, putMined, startNetwork } from '../util/network';
import { forValue } from '../util/wait';
import type { AuditsResult } from '../../lib/deals/auditview';

const KILLS = 4;
const DOWNLOAD_PRICE = 1_000_000;

interface HostContract {
  state: string;
  channel: { number: number; paid: number; prepaid: number } | null;
  spend: { type: string; paid: number } | null;
}

interface CloudPeerJSON {
  identity: string | null;
  pubkey: string | null;
}

// Each kill restarts a daemon: minutes on a loaded machine.
t.setTimeout(15 * 60 * 1000);

/**
 * A node's answer, asked again while a call fails (a node mid-restart, a
 * CLI run killed at its limit on a loaded machine) until `timeoutMs`
 * (stretched by the load) has passed; then it rejects with the last failure.
 */
async function answer<T>(call: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const got = await forValue(async () => {
    try {
      return { ok: await call() };
    } catch (e) {
      return { failed: (e as Error).message };
    }
  }, (r) => 'ok' in r, timeoutMs, what);
  return (got as { ok: T }).ok;
}

t.test('a host killed while being paid keeps every state it acknowledged', async (t) => {
  // A download price that makes each token worth ~500 sat, so the states
  // pay well over a close's fee (a close that would cost more is refused).
  const { renter, hosts } = await startNetwork(t, [['--host-download-price', `${DOWNLOAD_PRICE}sat`]]);
  const [host] = hosts;
  const renterId = await identity(renter);
  const put = await putMined(t, renter, 512 * 1024, ['--duration', '60', '--max-price', `${DOWNLOAD_PRICE}sat`,
    '--allowance', '1000000sat']);
  const id = put.contracts[0].id;
  const info = await json<{ replicas: Array<{ hostKey: string; object: number }> }>(renter.cli(['getfile', put.fileId]));
  const { hostKey, object } = info.replicas[0];
  // The host's view answers again once its node is back from a kill.
  const hostView = () => answer(() => json<HostContract>(host.cli(['getcontract', id])), 60000,
    'the host\'s view of the contract');
  const renterPeers = () => answer(() => json<CloudPeerJSON[]>(renter.cli(['getcloudpeers'])), 60000,
    'the renter\'s cloud peers');
  // The highest state number the renter saw acknowledged (it is never signed again once acknowledged).
  let acked = 0;
  let ackedPaid = 0;
  const watchAcks = async () => {
    const a = await answer(() => json<AuditsResult>(renter.cli(['getaudits', id])), 60000, 'the renter\'s payment state');
    if (a.payment?.acknowledged && a.payment.number > acked) {
      acked = a.payment.number;
      ackedPaid = a.payment.paid;
    }
  };

  // One prepaid token after another; a call the kill cuts fails and the next one goes on.
  // The loop never rejects: a failure of its own (the renter not answering
  // within its deadline) stops it and is reported by the waits below.
  let streaming = true;
  let tokens = 0;
  let streamError: Error | null = null;
  const stream = (async () => {
    while (streaming) {
      const r = await renter.cli(['getstoragetoken', hostKey, id, String(object)]);
      if (r.code === 0) {
        tokens++;
        await watchAcks();
      }
    }
  })().catch((e: unknown) => {
    streamError = e as Error;
    streaming = false;
  });
  t.teardown(() => {
    streaming = false;
  });
  const paidTokens = () => {
    if (streamError)
      throw new Error(`the payment stream stopped: ${(streamError as Error).message}`);
    return tokens;
  };

  for (let kill = 0; kill < KILLS; kill++) {
    const before = tokens;
    await forValue(paidTokens, (n) => n >= before + 2, 120000, `tokens paid before kill ${kill + 1}`);
    // The kill moment: random within a payment's round trip (a few ms to a
    // few hundred), so some kills land between a state's arrival and its
    // fsync. Nothing waits on it; every wait below is on a value.
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
    const seen = acked;
    await host.stop('SIGKILL');
    // The renter saw the connection drop, so the host listed below is the restarted one.
    await forValue(renterPeers, (ps) => !ps.some((p) => p.pubkey === hostKey), 60000, 'the renter seeing the host gone');
    await host.start(['--connect', renter.addr]);
    const h = await forValue(hostView, (x) => x.channel !== null, 60000, 'the host\'s stored state after the restart');
    t.ok(h.channel!.number >= seen, `kill ${kill + 1}: holds state ${h.channel!.number}, ${seen} was acknowledged`);
    t.ok(h.channel!.paid >= 0 && h.channel!.prepaid <= h.channel!.paid, 'a whole record: prepaid within paid');
    // The host back: the renter lists its identity, proven. (While the host
    // was away the renter's calls dialled the host's relays, itself among
    // them; a connection to itself is dropped, never a peer of its own.)
    const peers = await forValue(renterPeers, (ps) => ps.some((p) => p.pubkey === hostKey), 60000, 'the host back');
    t.notOk(peers.some((p) => p.identity === renterId), `kill ${kill + 1}: the renter is not its own peer`);
  }
  const more = tokens;
  await forValue(paidTokens, (n) => n >= more + 2, 120000, 'payments go on after the last restart');
  streaming = false;
  await stream;
  t.equal(streamError, null, 'the payment stream ran to the end');
  await watchAcks();
  t.ok(tokens >= 2 * KILLS + 2, `${tokens} tokens paid in all`);

  // The host closes with its latest state, which is at least the latest acknowledged one.
  const last = (await hostView()).channel!;
  t.ok(last.number >= acked && last.paid >= ackedPaid, `closes with state ${last.number} (${last.paid} sat); `
    + `the renter saw ${acked} (${ackedPaid} sat) acknowledged`);
  const close = await host.cli(['closecontract', id]);
  t.equal(close.code, 0, close.stderr);
  const settled = await forValue(async () => {
    await mine(renter);
    return hostView();
  }, (x) => x.state === 'settled', 120000, 'the close confirmed');
  t.equal(settled.spend!.paid, last.paid, 'the close paid what the latest state says');
});
