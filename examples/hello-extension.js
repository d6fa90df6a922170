/*!
 * hello-extension.js - the smallest useful cloudcoind extension.
 *
 * Run: cloudcoind --regtest --extension examples/hello-extension.js
 * It advertises service bit 1 << 25, answers `csgreet NAME` packets with
 * `csgreetack`, counts connected blocks, and adds two RPC methods:
 *   hellocount          -> {"blocks": N, "hellos": N}
 *   hellosend ADDR NAME -> sends csgreet to the connected peer ADDR
 */

'use strict';

exports.id = 'hello';

exports.options = [
  { name: 'hello-greeting', type: 'string', placeholder: '<text>', description: 'reply text', defaultText: 'hello' }
];

exports.init = function init(node) {
  const greeting = node.config.str('hello-greeting') || 'hello';
  let blocks = 0;
  let hellos = 0;

  node.addServiceBit(1 << 25);

  node.addPacket('csgreet', (peer, payload) => {
    // A packet handler may throw: the node catches it and bans the sender.
    if (payload.length === 0 || payload.length > 64)
      throw Object.assign(new Error('bad-hello'), { name: 'PacketError' });
    hellos += 1;
    node.sendPacket(peer, 'csgreetack', Buffer.from(`${greeting} ${payload.toString('utf8')}`));
  });

  node.addPacket('csgreetack', () => {
    hellos += 1;
  });

  node.onConnect(() => {
    blocks += 1;
  });

  node.addRPC('hellocount', 'hellocount\nCount blocks seen and hellos exchanged.', () => {
    return { blocks, hellos };
  });

  node.addRPC('hellosend', 'hellosend "host:port" "name"\nSay hello to a connected peer.', (params) => {
    const [addr, name] = params;
    if (typeof addr !== 'string' || typeof name !== 'string')
      throw Object.assign(new Error('usage: hellosend "host:port" "name"'), { type: 'RPCError', code: -8 });
    for (let peer = node.pool.peers.head(); peer; peer = peer.next) {
      if (peer.hostname() === addr) {
        node.sendPacket(peer, 'csgreet', Buffer.from(name, 'utf8'));
        return true;
      }
    }
    throw Object.assign(new Error(`not connected to ${addr}`), { type: 'RPCError', code: -29 });
  });

  return {
    async open() {},
    async close() {}
  };
};
