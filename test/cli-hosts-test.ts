// `cloudcoin-cli hosts` says how this node reaches each host, on real
// cloudcoind processes over loopback: a host bound to every address (the
// default, as the README's walkthrough starts hosts) that dialled the node
// is `inbound`; a node that only heard of it by gossip has its direct
// address (learned from its sockets, so it is announced) and dials it
// there (`direct`, then `outbound` once connected); a host that accepts no
// connections (--nolisten) is `via` its relay.
import t from 'tap';
import type { HostJSON } from '../lib/negotiator/rpc';
import { DaemonProcess } from './util/nodes-context';
import { identity, json } from './util/network';
import { forValue } from './util/wait';
import { reachText } from '../lib/cli/hostcmds';

const WAIT_MS = 180_000;

type HostRow = Pick<HostJSON, 'identity' | 'address' | 'connected' | 'reach'>;

t.test('hosts shows how each host is reached', { timeout: 600_000 }, async (t) => {
  const hub = await DaemonProcess.create();
  const listening = await DaemonProcess.create(['--host', '--bind', '0.0.0.0']);
  const natted = await DaemonProcess.create(['--host', '--nolisten']);
  const other = await DaemonProcess.create();
  t.teardown(async () => {
    for (const d of [other, natted, listening, hub]) {
      await d.stop('SIGKILL');
      d.cleanup();
    }
  });
  // Both hosts and the other node dial only the hub.
  await hub.start();
  await Promise.all([listening, natted, other].map((d) => d.start(['--connect', hub.addr])));
  const [listeningId, nattedId] = await Promise.all([identity(listening), identity(natted)]);
  const rows = async (d: DaemonProcess): Promise<Map<string, HostRow>> =>
    new Map((await json<HostRow[]>(d.cli(['hosts', '--json']))).map((r) => [r.identity, r]));
  const reachOf = async (d: DaemonProcess, id: string): Promise<string> => reachText((await rows(d)).get(id) ?? { reach: null });

  await t.test('the hub: both hosts dialled it', async (t) => {
    await forValue(async () => (await rows(hub)).size, 2, WAIT_MS, 'both announcements at the hub');
    // Named by the address announced (never the connection's ephemeral port), else the IP alone.
    await forValue(() => reachOf(hub, listeningId), `inbound ${listening.addr}`, WAIT_MS,
      'the listening host: inbound, at the address it announced');
    const byId = await rows(hub);
    t.same(byId.get(nattedId)?.reach, { how: 'inbound', address: '127.0.0.1' }, 'the --nolisten host: inbound, its IP');
    for (const id of [listeningId, nattedId])
      t.equal(byId.get(id)?.connected, true);
    const table = (await hub.cli(['hosts'])).stdout;
    t.match(table, /^identity\s+reached\s+data URL\s/, 'the column says how');
    t.match(table, new RegExp(`${listeningId}\\s+inbound 127\\.0\\.0\\.1:${listening.port}\\s`));
    t.match(table, new RegExp(`${nattedId}\\s+inbound 127\\.0\\.0\\.1\\s`));
    t.notMatch(table, /via /, 'no host the hub is connected to shows as relayed');
  });

  await t.test('a node that only heard of them: the listener at its own address, the other through a relay',
    async (t) => {
      // The listener announces the local end of its connection to the hub
      // (bound to 0.0.0.0, no --externalip), relayed within an announce interval.
      await forValue(() => reachOf(other, listeningId), `direct ${listening.addr}`, WAIT_MS,
        'the listening host\'s direct address at the other node');
      await forValue(() => reachOf(other, nattedId), `via ${hub.addr}`, WAIT_MS,
        'the --nolisten host\'s relay at the other node');
      const byId = await rows(other);
      t.equal(byId.get(listeningId)?.address, listening.addr, 'address: the announced direct one');
      t.equal(byId.get(listeningId)?.connected, false);
      t.equal(byId.get(nattedId)?.address, `via ${hub.addr}`);
      const table = (await other.cli(['hosts'])).stdout;
      t.match(table, new RegExp(`${listeningId}\\s+direct 127\\.0\\.0\\.1:${listening.port}\\s`));
      t.match(table, new RegExp(`${nattedId}\\s+via 127\\.0\\.0\\.1:${hub.port}\\s`));
    });

  await t.test('the announced direct address is dialable', async (t) => {
    const r = await other.cli(['addnode', listening.addr, 'onetry']);
    t.equal(r.code, 0, r.stderr);
    await forValue(() => reachOf(other, listeningId), `outbound ${listening.addr}`, WAIT_MS,
      'the other node connected to the listening host');
    t.pass('dialled at its announced address');
  });
});
