// Generates the pinned cs* packet vectors in negotiator-packets.json.
// Deterministic: fixed keys, RFC 6979 signatures. Regenerate (only when the
// wire format changes on purpose) with:
//   npx tsx test/data/negotiator-vectors.ts > test/data/negotiator-packets.json
import bcoin = require('../../lib/bcoin');
import { Identity } from '../../lib/base/identity';
import { HelloPacket, AuthPacket, Packet } from '../../lib/negotiator/packets';
import { RequestPacket, ResponsePacket, Payment, paymentTypes } from '../../lib/negotiator/envelope';
import { AnnouncePacket } from '../../lib/negotiator/announcepacket';
import { statuses, amountBody } from '../../lib/negotiator/status';
import { encodeServices, encodePeers } from '../../lib/negotiator/coreservices';
import { announcement, withdrawal } from '../../lib/negotiator/announce';
import { HostAddr, addrKinds } from '../../lib/negotiator/announcepacket';

export interface Vector {
  name: string;
  cmd: string;
  hex: string;
  /** Signing hash (requests, responses). */
  hash?: string;
}

function key(byte: number): Identity {
  return new Identity(bcoin.KeyRing.fromPrivate(Buffer.alloc(32, byte), true), bcoin.Network.get('regtest'));
}

export function buildPackets(): Array<[string, Packet]> {
  const magic = bcoin.Network.get('regtest').magic;
  const client = key(1);
  const server = key(2);
  const out: Array<[string, Packet]> = [];

  out.push(['hello', HelloPacket.fromOptions(1, client.publicKey, Buffer.alloc(16, 0x5a))]);
  out.push(['auth', AuthPacket.create(server, magic, Buffer.alloc(16, 0x5a))]);

  const req = new RequestPacket();
  req.to = server.publicKey;
  req.nonce = Buffer.alloc(16, 0xab);
  req.service = 'info';
  req.method = 'services';
  req.sign(client, magic);
  out.push(['request-none', req]);

  const defer = new RequestPacket();
  defer.to = server.publicKey;
  defer.nonce = Buffer.alloc(16, 0x01);
  defer.service = 'storage';
  defer.method = 'quote';
  defer.args = Buffer.from('0102030405', 'hex');
  defer.payment = Payment.from(paymentTypes.DEFER, 1500);
  defer.sign(client, magic);
  out.push(['request-defer', defer]);

  const attached = new RequestPacket();
  attached.to = server.publicKey;
  attached.nonce = Buffer.alloc(16, 0x02);
  attached.service = 'storage';
  attached.method = 'put';
  attached.args = Buffer.alloc(300, 0x55);
  attached.payment = Payment.from(paymentTypes.ATTACHED, 2 ** 40 + 7, Buffer.from('c0ffee', 'hex'));
  attached.sign(client, magic);
  out.push(['request-attached', attached]);

  const ok = new ResponsePacket();
  ok.requestHash = req.hash(magic);
  ok.status = statuses.OK;
  ok.body = encodeServices([{ name: 'info', version: 1, methods: [{ name: 'services', price: 0 }] }]);
  ok.nextNonce = Buffer.alloc(16, 0xcd);
  ok.sign(server, magic);
  out.push(['response-ok', ok]);

  const low = new ResponsePacket();
  low.requestHash = defer.hash(magic);
  low.status = statuses.TOO_LOW;
  low.body = amountBody(2000);
  low.nextNonce = Buffer.alloc(16, 0xce);
  low.sign(server, magic);
  out.push(['response-too-low', low]);

  const peers = new ResponsePacket();
  peers.requestHash = Buffer.alloc(32, 0x11);
  peers.status = statuses.OK;
  peers.body = encodePeers([{ pubkey: client.publicKey, addr: '127.0.0.1:18444' }]);
  peers.sign(server, magic);
  out.push(['response-peers-no-nonce', peers]);

  const hostOffer = {
    url: 'https://files.example.com/cc', storagePrice: 5000, uploadPrice: 100, downloadPrice: 200,
    capacity: 10e9, maxDuration: 1000, expiry: 1150
  };
  out.push(['announce', announcement(hostOffer, 1767225600, [], 1).sign(server, magic)]);

  // Version 2: a host reachable directly at 10.0.0.2:18444 and through a
  // relay at [fd00::1]:18444.
  out.push(['announce2', announcement(hostOffer, 1767225601, [
    HostAddr.fromHostname(addrKinds.DIRECT, '10.0.0.2:18444') as HostAddr,
    HostAddr.fromHostname(addrKinds.RELAY, '[fd00::1]:18444') as HostAddr
  ]).sign(server, magic)]);
  out.push(['announce2-withdrawn', withdrawal(1767225602, 1150).sign(server, magic)]);
  return out;
}

export function buildVectors(): Vector[] {
  const magic = bcoin.Network.get('regtest').magic;
  return buildPackets().map(([name, p]) => {
    const v: Vector = { name, cmd: p.cmd, hex: p.encode().toString('hex') };
    if (p instanceof RequestPacket || p instanceof ResponsePacket || p instanceof AnnouncePacket)
      v.hash = p.hash(magic).toString('hex');
    return v;
  });
}

if (require.main === module)
  process.stdout.write(JSON.stringify(buildVectors(), null, 2) + '\n');
