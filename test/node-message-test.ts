// signmessage / verifymessage in Bitcoin Core's format, and cloudcoin-cli
// sending each parameter as the method declares it (strings stay strings).
import t from 'tap';
import { randomBytes } from 'crypto';
import bcoin = require('../lib/bcoin');
import { messageHash, signMessage, verifyMessage } from '../lib/node/message';
import { convertParams, ParamError } from '../lib/cli/rpcparams';
import { DaemonProcess } from './util/nodes-context';

t.test('message signatures', async (t) => {
  t.test('should match Bitcoin Core and bitcoinjs-message on a known key', async (t) => {
    // bitcoinjs-message's README vector (a compressed mainnet key); RFC 6979
    // signing is deterministic, so the signature must be the same bytes.
    const ring = bcoin.KeyRing.fromSecret('L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1', 'main');
    const message = 'This is an example of a signed message.';
    const want = 'H9L5yLFjti0QTHhPyFrZCT1V/MMnBtXKmoiKDZ78NDBjERki6ZTQZdSMCtkgoNmp17By9ItJr8o7ChX0XxY91nk=';
    t.equal(signMessage(message, ring.privateKey, true, 'p2pkh'), want);
    const address = bcoin.Address.fromString('1F3sAm6ZtwLAUnj7d38pGFxtP3RVEvtsbV', 'main');
    t.equal(verifyMessage(address, want, message), true);
    t.equal(verifyMessage(address, want, `${message} `), false, 'another message');
    t.equal(messageHash('').length, 32);
  });

  t.test('should round-trip every recovery id and address kind', async (t) => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const ring = bcoin.KeyRing.generate(true);
      const message = randomBytes(1 + (i % 40)).toString('base64');
      const kinds: Array<['p2pkh' | 'p2wpkh' | 'p2sh-p2wpkh', bcoin.Address]> = [
        ['p2pkh', bcoin.Address.fromHash(ring.getKeyHash(), 0)],
        ['p2wpkh', bcoin.Address.fromWitnessPubkeyhash(ring.getKeyHash())]
      ];
      for (const [kind, address] of kinds) {
        const sig = signMessage(message, ring.privateKey, true, kind);
        seen.add(Buffer.from(sig, 'base64')[0]);
        if (!verifyMessage(address, sig, message))
          t.fail(`${kind} #${i} does not verify`);
      }
    }
    t.ok([...seen].some((h) => (h - 27) % 4 === 1), 'recovery id 1 was exercised (bcoin verifies only 0)');
  });

  t.test('should refuse malformed input clearly', async (t) => {
    const ring = bcoin.KeyRing.generate(true);
    const addr = bcoin.Address.fromWitnessPubkeyhash(ring.getKeyHash());
    const sig = signMessage('x', ring.privateKey, true, 'p2wpkh');
    const table: Array<[string, () => unknown, boolean | RegExp]> = [
      ['not base64', () => verifyMessage(addr, '!!!!', 'x'), /Malformed base64/],
      ['64 bytes', () => verifyMessage(addr, Buffer.alloc(64).toString('base64'), 'x'), false],
      ['header 26', () => verifyMessage(addr, Buffer.concat([Buffer.from([26]), Buffer.from(sig, 'base64').subarray(1)]).toString('base64'), 'x'), false],
      ['P2WSH address', () => verifyMessage(bcoin.Address.fromWitnessScripthash(Buffer.alloc(32)), sig, 'x'), /does not refer to key/],
      ['other key', () => verifyMessage(bcoin.Address.fromWitnessPubkeyhash(Buffer.alloc(20)), sig, 'x'), false]
    ];
    for (const [name, fn, want] of table) {
      if (typeof want === 'boolean')
        t.equal(fn(), want, name);
      else
        t.throws(fn, want, name);
    }
  });
});

t.test('convertParams', async (t) => {
  const table: Array<[string, string[], unknown[] | RegExp]> = [
    ['signmessage', ['rb1q', 'null'], ['rb1q', 'null']],
    ['signmessage', ['rb1q', '12345'], ['rb1q', '12345']],
    ['signmessage', ['rb1q', '1e400'], ['rb1q', '1e400']],
    ['signmessage', ['rb1q', '{"a":1}'], ['rb1q', '{"a":1}']],
    ['getblockhash', ['12'], [12]],
    ['getblockhash', ['abc'], /Position 1 of getblockhash must be JSON/],
    ['generatetoaddress', ['5', 'rb1q'], [5, 'rb1q']],
    ['sendtoaddress', ['rb1q', '0.5', '', '', 'true'], ['rb1q', 0.5, '', '', true]],
    ['getblock', ['00ff', 'false'], ['00ff', false]],
    ['sendmany', ['', '{"rb1q":1}'], ['', { rb1q: 1 }]],
    ['walletpassphrase', ['12345', '60'], ['12345', 60]],
    ['negotiatestorage', ['10MB', '200', '5000sat'], ['10MB', '200', '5000sat']],
    ['nosuchmethod', ['1', 'true'], ['1', 'true']]
  ];
  for (const [method, words, want] of table) {
    if (want instanceof RegExp)
      t.throws(() => convertParams(method, words), ParamError, `${method} ${words.join(' ')}`);
    else
      t.same(convertParams(method, words), want, `${method} ${words.join(' ')}`);
  }
});

t.test('signmessage through cloudcoind and cloudcoin-cli', async (t) => {
  const d = await DaemonProcess.create();
  t.teardown(async () => {
    await d.stop('SIGKILL');
    d.cleanup();
  });
  await d.start();
  const client = d.client();
  const address = await client.call('getnewaddress') as string;

  await t.test('should round-trip 50 random messages', async (t) => {
    let ok = 0;
    for (let i = 0; i < 50; i++) {
      // Random text, including newlines, quotes and non-ASCII.
      const message = Buffer.from(randomBytes(1 + (i * 7) % 200)).toString('latin1');
      const sig = await client.call('signmessage', [address, message]) as string;
      if (await client.call('verifymessage', [address, sig, message]) === true)
        ok += 1;
      if (await client.call('verifymessage', [address, sig, `${message}.`]) !== false)
        t.fail(`message ${i}: an altered message verifies`);
    }
    t.equal(ok, 50, '50 of 50 verify');
  });

  await t.test('should sign with a private key as signmessage does', async (t) => {
    const wif = await client.call('dumpprivkey', [address]) as string;
    const sig = await client.call('signmessagewithprivkey', [wif, 'hello']) as string;
    const legacy = bcoin.KeyRing.fromSecret(wif, 'regtest');
    const p2pkh = bcoin.Address.fromHash(legacy.getKeyHash(), 0).toString('regtest');
    t.equal(await client.call('verifymessage', [p2pkh, sig, 'hello']), true, 'for the key\'s P2PKH address');
  });

  await t.test('should send what the user typed as the message', async (t) => {
    // Each of these was parsed as JSON before: null and 1e400 signed "", 12345 was refused.
    for (const message of ['null', '12345', '1e400', 'true', '[1,2]', '{"a":1}', '"quoted"', '-1', 'two words']) {
      const s = await d.cli(['signmessage', address, message]);
      t.equal(s.code, 0, `${message}: signed (${s.stderr.trim()})`);
      const sig = s.stdout.trim();
      t.equal(await client.call('verifymessage', [address, sig, message]), true, `${message}: signed as typed`);
      const v = await d.cli(['verifymessage', address, sig, message]);
      t.equal(v.stdout, 'true\n', `${message}: verifymessage through the CLI`);
    }
    const empty = await client.call('signmessage', [address, '']) as string;
    t.equal(await client.call('verifymessage', [address, empty, 'null']), false, '"null" is not the empty message');
  });

  await t.test('should convert declared numbers and refuse bad ones in one line', async (t) => {
    t.equal((await d.cli(['getblockhash', '0'])).code, 0, 'a height is a number');
    const bad = await d.cli(['getblockhash', 'abc']);
    t.equal(bad.code, 1);
    t.equal(bad.stderr, 'error: Position 1 of getblockhash must be JSON (a number, true/false, an array or an object), got "abc"\n');
    const gen = await d.cli(['generatetoaddress', '2', address]);
    t.equal(JSON.parse(gen.stdout).length, 2, gen.stderr);
  });
});
