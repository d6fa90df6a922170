/*!
 * index.ts - the hosting extension for cloudcoind (id `hosting`): storage
 * backends for a host's negotiator, and the `getfileservers` RPC.
 *
 *   cloudcoind --host [--host-dir D] [--host-capacity 10GB] [--host-http HOST:PORT [--host-url URL]]
 *   cloudcoind --host --fileserver URL --fileserver-key K
 * Other extensions get the instance with `api.require<Hosting>('hosting')`.
 */

import type { NodeAPI, OptionSpec } from '../base/extension';
import { Hosting, HostingOptions } from './hosting';

export * from './backend';
export * from './localbackend';
export * from './remotebackend';
export * from './hosting';

export const id = 'hosting';

export const options: OptionSpec[] = [
  { name: 'host', type: 'bool', description: 'Rent out disk space: keep renters\' data and answer audits' },
  { name: 'host-dir', type: 'string', description: 'Directory for hosted data (relative to the datadir)', defaultText: '<datadir>/hostdata' },
  { name: 'host-capacity', type: 'size', description: 'Space offered to renters, e.g. 50GB', defaultText: '10GiB' },
  { name: 'host-http', type: 'string', description: 'Serve renters\' data API for --host-dir from this node on HOST:PORT (e.g. 0.0.0.0:8480)', defaultText: 'a free port on 127.0.0.1' },
  { name: 'host-url', type: 'string', description: 'URL renters use for --host-http (e.g. behind a reverse proxy)', defaultText: 'http://HOST:PORT' },
  { name: 'fileserver', type: 'string', description: 'Keep hosted data on this cloudcoin-fileserver (URL) instead of --host-dir' },
  { name: 'fileserver-key', type: 'string', description: 'Admin key of --fileserver (64 hex, printed by the file server on first start)' }
];

/** Help line of the RPC. */
const GETFILESERVERS_HELP = 'getfileservers\n'
  + 'List the storage backends of this host: kind (local or remote), url or dir, capacity, reserved,\n'
  + 'used and contracts (bytes/counts), healthy, lastOk (unix time of the last successful admin call)\n'
  + 'and error (why the last call failed). Each backend is checked when called.';

export function init(api: NodeAPI): Hosting {
  const opts = HostingOptions.from({
    host: api.config.bool('host', false),
    hostDir: api.config.str('host-dir'),
    capacity: api.config.size('host-capacity'),
    fileserver: api.config.str('fileserver'),
    fileserverKey: api.config.str('fileserver-key'),
    hostHTTP: api.config.str('host-http'),
    hostURL: api.config.str('host-url')
  }, api.datadir, api.memory);
  const hosting = new Hosting(opts, api.logger);
  api.addRPC('getfileservers', GETFILESERVERS_HELP, async () => hosting.info());
  return hosting;
}
