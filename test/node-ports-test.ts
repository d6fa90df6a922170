// Free ports for tests and the demo come from below the kernel's
// ephemeral range, where no outgoing connection takes its local port.
import t from 'tap';
import * as fs from 'fs';
import * as net from 'net';
import { freePorts } from '../lib/node/ports';

t.test('free ports lie below the ephemeral range and can be bound', async (t) => {
  const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const ports = await freePorts(20);
  t.equal(new Set(ports).size, 20, 'distinct');
  t.ok(ports.every((p) => p >= 10000 && p < low), `all in 10000..${low - 1}: ${ports.join(' ')}`);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(ports[0], '127.0.0.1', resolve));
  t.equal((server.address() as net.AddressInfo).port, ports[0], 'one of them binds');
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
