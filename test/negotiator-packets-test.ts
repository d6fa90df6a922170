// cs* packets: round trips, pinned vectors, and decode failures keyed by code.
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import bio = require('bufio');
import { PacketError } from '../lib/base/errors';
import { HelloPacket, AuthPacket, decode } from '../lib/negotiator/packets';
import { RequestPacket, ResponsePacket, Payment, paymentTypes } from '../lib/negotiator/envelope';
import { types, typesByVal, commands } from '../lib/negotiator/packettypes';
import {
  MAX_ARGS_SIZE, MAX_BODY_SIZE, MAX_PAYMENT_SIZE, MAX_NAME_SIZE, MAX_STATUS_SIZE, MAX_MONEY
} from '../lib/negotiator/common';
import { decodeCodes } from '../lib/negotiator/wire';
import { encodeServices, decodeServices, encodePeers, decodePeers } from '../lib/negotiator/coreservices';
import { amountBody, readAmountBody, isUnder, statuses } from '../lib/negotiator/status';
import { buildPackets, buildVectors, Vector } from './data/negotiator-vectors';
import { fixedIdentity, network } from './util/negotiator-pair';

const magic = network.magic;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PacketError)
      return e.code;
    return `not-a-packet-error: ${(e as Error).message}`;
  }
  return 'no-error';
}

function signedRequest(mut?: (r: RequestPacket) => void): RequestPacket {
  const r = new RequestPacket();
  r.to = fixedIdentity(2).publicKey;
  r.nonce = Buffer.alloc(16, 7);
  r.service = 'info';
  r.method = 'services';
  if (mut)
    mut(r);
  return r.sign(fixedIdentity(1), magic);
}

t.test('packet types', async (t) => {
  t.test('should pair types and typesByVal and keep commands short', async (t) => {
    for (const [name, val] of Object.entries(types)) {
      t.equal(typesByVal[val], name);
      const cmd = commands[val];
      t.ok(cmd.startsWith('cs') && cmd.length <= 11, cmd);
    }
  });
});

t.test('round trips', async (t) => {
  for (const [name, p] of buildPackets()) {
    t.test(`should decode(encode()) ${name}`, async (t) => {
      const raw = p.encode();
      t.equal(raw.length, p.getSize(), 'exact getSize');
      const back = decode(p.cmd, raw);
      t.equal(back.type, p.type);
      t.same(back.getJSON(), p.getJSON());
      t.equal(back.encode().toString('hex'), raw.toString('hex'));
    });
  }
  t.test('should verify signatures and reject tampering', async (t) => {
    const req = signedRequest();
    t.ok(req.verify(magic));
    const copy = RequestPacket.decode(req.encode());
    copy.method = 'other';
    t.notOk(copy.verify(magic));
    t.notOk(RequestPacket.decode(req.encode()).verify(magic + 1), 'network magic is signed');
    const res = new ResponsePacket();
    res.requestHash = req.hash(magic);
    res.status = 'ok';
    res.sign(fixedIdentity(2), magic);
    t.ok(res.verify(magic, fixedIdentity(2).publicKey));
    t.notOk(res.verify(magic, fixedIdentity(1).publicKey));
    const challenge = Buffer.alloc(16, 9);
    const auth = AuthPacket.create(fixedIdentity(1), magic, challenge);
    t.ok(auth.verify(magic, challenge, fixedIdentity(1).publicKey));
    t.notOk(auth.verify(magic, Buffer.alloc(16, 8), fixedIdentity(1).publicKey), 'bound to the challenge');
    t.notOk(auth.verify(magic, challenge, fixedIdentity(2).publicKey), 'bound to the key');
    t.notOk(auth.verify(magic + 1, challenge, fixedIdentity(1).publicKey), 'bound to the network');
  });
  t.test('should round-trip bodies', async (t) => {
    const services = [{ name: 'info', version: 3, methods: [{ name: 'services', price: 0 }, { name: 'x', price: MAX_MONEY }] }];
    t.same(decodeServices(encodeServices(services)), services);
    const peers = [{ pubkey: fixedIdentity(3).publicKey, addr: '[::1]:8333' }];
    t.same(decodePeers(encodePeers(peers)), peers);
    t.equal(readAmountBody(amountBody(123456789)), 123456789);
    t.ok(isUnder(statuses.TOO_LOW, statuses.DECLINED));
    t.notOk(isUnder('request-declinedx', statuses.DECLINED));
  });
});

t.test('pinned vectors', async (t) => {
  const file = path.join(__dirname, 'data', 'negotiator-packets.json');
  const pinned = JSON.parse(fs.readFileSync(file, 'utf8')) as Vector[];
  const now = buildVectors();
  t.equal(now.length, pinned.length);
  for (let i = 0; i < pinned.length; i++) {
    t.test(`should match ${pinned[i].name}`, async (t) => {
      t.same(now[i], pinned[i]);
      const p = decode(pinned[i].cmd, Buffer.from(pinned[i].hex, 'hex'));
      t.equal(p.encode().toString('hex'), pinned[i].hex);
      if (p instanceof RequestPacket)
        t.ok(p.verify(magic), 'request signature verifies');
    });
  }
});

t.test('invalid input', async (t) => {
  const req = signedRequest().encode();
  const hello = HelloPacket.fromOptions(1, fixedIdentity(1).publicKey, Buffer.alloc(16, 1)).encode();
  const auth = AuthPacket.create(fixedIdentity(1), magic, Buffer.alloc(16, 2)).encode();
  const res = new ResponsePacket();
  res.status = 'ok';
  const resRaw = res.encode();

  // Offsets in a request: from 0, to 33, nonce 66, service len 82.
  const withService = (len: Buffer, name: Buffer): Buffer =>
    Buffer.concat([req.subarray(0, 82), len, name]);
  const payment = (type: number, amount: number, data: Buffer): Buffer => {
    const bw = bio.write(1 + 8 + 9 + data.length);
    bw.writeU8(type);
    bw.writeU32(amount % 2 ** 32);
    bw.writeU32(Math.floor(amount / 2 ** 32));
    bw.writeVarBytes(data);
    return bw.slice();
  };
  const rebuild = (pay: Buffer): Buffer => {
    // request head up to args (info/services, empty args) + payment + sig
    const head = req.subarray(0, 82 + 5 + 9 + 1);
    return Buffer.concat([head, pay, Buffer.alloc(64)]);
  };
  const big = (n: number): Buffer => {
    const bw = bio.write(9);
    bw.writeVarint(n);
    return bw.slice();
  };

  const table: Array<[string, string, () => unknown]> = [
    [decodeCodes.TRUNCATED, 'empty hello', () => decode('cshello', Buffer.alloc(0))],
    [decodeCodes.TRUNCATED, 'hello cut', () => decode('cshello', hello.subarray(0, 20))],
    [decodeCodes.TRUNCATED, 'hello without challenge', () => decode('cshello', hello.subarray(0, 37))],
    [decodeCodes.TRUNCATED, 'auth cut', () => decode('csauth', auth.subarray(0, 63))],
    [decodeCodes.TRAILING, 'auth + 1 byte', () => decode('csauth', Buffer.concat([auth, Buffer.alloc(1)]))],
    [decodeCodes.TRUNCATED, 'request cut in sig', () => decode('csreq', req.subarray(0, req.length - 1))],
    [decodeCodes.TRUNCATED, 'request cut in every field', () => {
      for (let i = 0; i < req.length; i++) {
        const c = codeOf(() => decode('csreq', req.subarray(0, i)));
        if (c !== decodeCodes.TRUNCATED && c !== decodeCodes.BAD_VARINT)
          return;
      }
      throw new PacketError(decodeCodes.TRUNCATED);
    }],
    [decodeCodes.TRUNCATED, 'response cut', () => decode('csres', resRaw.subarray(0, 40))],
    [decodeCodes.TRAILING, 'hello + 1 byte', () => decode('cshello', Buffer.concat([hello, Buffer.alloc(1)]))],
    [decodeCodes.TRAILING, 'request + 1 byte', () => decode('csreq', Buffer.concat([req, Buffer.alloc(1)]))],
    [decodeCodes.TRAILING, 'response + 1 byte', () => decode('csres', Buffer.concat([resRaw, Buffer.alloc(1)]))],
    [decodeCodes.BAD_PUBKEY, 'hello key prefix 04', () => {
      const h = Buffer.from(hello);
      h[4] = 4;
      return decode('cshello', h);
    }],
    [decodeCodes.BAD_PUBKEY, 'request from prefix 00', () => {
      const r = Buffer.from(req);
      r[0] = 0;
      return decode('csreq', r);
    }],
    [decodeCodes.OVERSIZED, 'service name 33 bytes', () =>
      decode('csreq', withService(Buffer.from([MAX_NAME_SIZE + 1]), Buffer.alloc(MAX_NAME_SIZE + 1, 0x61)))],
    [decodeCodes.OVERSIZED, 'args over limit (length only)', () =>
      decode('csreq', Buffer.concat([req.subarray(0, 82 + 5 + 9), big(MAX_ARGS_SIZE + 1)]))],
    [decodeCodes.OVERSIZED, 'args length 2^32 (no allocation)', () =>
      decode('csreq', Buffer.concat([req.subarray(0, 82 + 5 + 9), big(0xffffffff)]))],
    [decodeCodes.OVERSIZED, 'payment data over limit', () =>
      decode('csreq', rebuild(Buffer.concat([Buffer.from([1]), Buffer.alloc(8), big(MAX_PAYMENT_SIZE + 1)])))],
    [decodeCodes.OVERSIZED, 'status over limit', () => {
      const r = new ResponsePacket();
      r.status = 'a'.repeat(MAX_STATUS_SIZE + 1);
      return decode('csres', r.encode());
    }],
    [decodeCodes.OVERSIZED, 'body over limit', () => {
      const r = new ResponsePacket();
      r.status = 'ok';
      r.body = Buffer.alloc(MAX_BODY_SIZE + 1);
      return decode('csres', r.encode());
    }],
    [decodeCodes.BAD_VARINT, 'non-canonical varint', () =>
      decode('csreq', withService(Buffer.from([0xfd, 4, 0]), Buffer.from('info')))],
    [decodeCodes.BAD_NAME, 'uppercase service', () =>
      decode('csreq', withService(Buffer.from([4]), Buffer.from('INFO')))],
    [decodeCodes.BAD_NAME, 'empty service', () =>
      decode('csreq', withService(Buffer.from([0]), Buffer.alloc(0)))],
    [decodeCodes.BAD_STATUS, 'status with spaces', () => {
      const r = new ResponsePacket();
      r.status = 'ok then';
      return decode('csres', r.encode());
    }],
    [decodeCodes.BAD_PAYMENT, 'payment type 3', () => decode('csreq', rebuild(payment(3, 0, Buffer.alloc(0))))],
    [decodeCodes.BAD_PAYMENT, 'none with an amount', () => decode('csreq', rebuild(payment(0, 5, Buffer.alloc(0))))],
    [decodeCodes.BAD_PAYMENT, 'defer with data', () => decode('csreq', rebuild(payment(2, 5, Buffer.alloc(3))))],
    [decodeCodes.BAD_AMOUNT, 'amount above 21M BTC', () => decode('csreq', rebuild(payment(2, MAX_MONEY + 1, Buffer.alloc(0))))],
    [decodeCodes.BAD_AMOUNT, 'amount 2^64-1', () =>
      decode('csreq', rebuild(Buffer.concat([Buffer.from([2]), Buffer.alloc(8, 0xff), Buffer.from([0])])))],
    [decodeCodes.UNKNOWN_COMMAND, 'unknown cs command', () => decode('csnope', Buffer.alloc(0))]
  ];
  for (const [code, name, fn] of table) {
    t.test(`should reject ${name} with ${code}`, async (t) => {
      t.equal(codeOf(fn), code);
    });
  }
  t.test('should accept the well-formed payments used above', async (t) => {
    const r = RequestPacket.decode(rebuild(payment(paymentTypes.ATTACHED, 10, Buffer.alloc(MAX_PAYMENT_SIZE))));
    t.equal(r.payment.amount, 10);
    t.equal(r.payment.data.length, MAX_PAYMENT_SIZE);
    t.equal(Payment.from(paymentTypes.DEFER, 5).getSize(), 10);
  });
  t.test('should score malformed packets and ignore unknown commands', async (t) => {
    try {
      decode('csreq', Buffer.alloc(3));
      t.fail('no error');
    } catch (e) {
      t.ok(e instanceof PacketError);
      t.equal((e as PacketError).verdict, 'reject');
      t.ok((e as PacketError).score > 0);
    }
    try {
      decode('csfuture', Buffer.alloc(3));
    } catch (e) {
      t.equal((e as PacketError).verdict, 'ignore');
    }
  });
});
