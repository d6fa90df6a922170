// A plain bcoin 1.0.2 full node (no CloudCoin extension) for the namespace
// network: `plainnode.ts IP [--mine N ADDRESS] [CONNECT_HOST:PORT...]`. It
// listens on IP at the regtest port, dials only the given peers, relays
// blocks and addr like any Bitcoin node, and with --mine first mines N
// blocks to ADDRESS (the test network's chain). Private addresses count as routable, as on the
// cloudcoind nodes of the same test network (lib/negotiator/cloudpeers.ts):
// without that, bcoin drops every address of a 10.x network from `addr`.
import bcoin = require('../../lib/bcoin');
import { allowPrivateAddresses } from '../../lib/negotiator/cloudpeers';

allowPrivateAddresses();
const [host, ...rest] = process.argv.slice(2);
const mine = rest[0] === '--mine' ? { blocks: Number(rest[1]), address: rest[2] } : null;
const connect = mine ? rest.slice(3) : rest;
const network = bcoin.Network.get('regtest');
const node = new bcoin.FullNode({
  network: 'regtest', memory: true, workers: false, listen: true,
  host, port: network.port, publicHost: host, publicPort: network.port,
  httpHost: '127.0.0.1', only: connect.length ? connect : undefined, seeds: [], logLevel: 'info', logConsole: false
});
node.pool.discoverExternal = async () => {};
node.on('error', (err: Error) => process.stderr.write(`${err.message}\n`));

async function main(): Promise<void> {
  await node.open();
  if (mine) {
    const res = await node.rpc.call({ method: 'generatetoaddress', params: [mine.blocks, mine.address] }, {});
    if (res.error)
      throw new Error(`mining failed: ${res.error.message}`);
  }
  await node.connect();
  node.startSync();
  process.stdout.write(`plain bcoin node on ${host}:${network.port} at height ${node.chain.height}\n`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => { void node.close().finally(() => process.exit(0)); });
main().catch((e: Error) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
