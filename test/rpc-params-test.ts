// Every RPC method names a bad parameter the one way bitcoind does: by its
// 1-based position and its name (`Position 1 (height) must be ...`,
// RPCHelpMan's `Position %u (%s)`), never bcoin's 0-based `Param #0`.
// A table gives each CloudCoin method that checks its params a bad value
// at each checked position and the exact words; a sweep then calls every
// method the endpoint answers (bcoin's node and wallet ones included) with
// a wrong-typed value at positions 1 to 3 and checks any position named is
// the one sent, under the name the method's usage line gives it. One
// in-process node with every extension; calls go through the RPC endpoint's
// dispatch as cloudcoin-cli's do.
import t from 'tap';
import { usageNames } from '../lib/base/rpc';
import { convertParams } from '../lib/cli/rpcparams';
import { MAX_DATA_SHARDS, MAX_SHARDS } from '../lib/storage/erasure';
import { NodesContext, type TestNode } from './util/nodes-context';
import { stretched } from './util/wait';

const HEX32 = 'aa'.repeat(32);
const KEY = `02${'11'.repeat(32)}`;

/** [method, params, the error's words (anchored)]. */
const TABLE: Array<[string, unknown[], RegExp]> = [
  // negotiator
  ['cloudrequest', ['', 'info', 'services'], /^Position 1 \(PEER\) must be a non-empty string, got ""\.$/],
  ['cloudrequest', ['x', 'Info', 'services'], /^Position 2 \(SERVICE\) must be a lowercase name\.$/],
  ['cloudrequest', ['x', 'info', 'Services'], /^Position 3 \(METHOD\) must be a lowercase name\.$/],
  ['cloudrequest', ['x', 'info', 'services', '{'], /^Position 4 \(ARGS_JSON\) is not valid JSON\.$/],
  // contracts
  ['getcontract', ['xyz'], /^Position 1 \(id\) must be 32 bytes of hex, or a unique prefix/],
  ['refundcontract', [7], /^Position 1 \(id\) must be 32 bytes of hex/],
  ['closecontract', ['zz'], /^Position 1 \(id\) must be 32 bytes of hex/],
  ['getearnings', ['-1'], /^Position 1 \(id\) must be 32 bytes of hex/],
  ['listcontracts', ['nosuchstate'], /^Position 1 \(state\) must be one of /],
  ['acceptchannelstate', ['abc'], /^Position 1 \(statehex\) must be \d+ bytes of hex, got [^.]*\.$/],
  ['sendrating', ['nothex', 1], /^Position 1 \(id\) must be 32 bytes of hex/],
  ['sendrating', [HEX32, 'x'], /^Position 2 \(score\) must be a whole number/],
  ['getratings', ['abc'], /^Position 1 \(identity\) must be 33 bytes of hex, got [^.]*\.$/],
  ['getratings', [`04${'11'.repeat(32)}`], /^Position 1 \(identity\) must be a compressed public key\.$/],
  // reputation
  ['getreputation', ['nobody'], /^Position 1 \(identity\) must be a 33-byte compressed public key/],
  // deals
  ['negotiatestorage', ['0', 10, 5000], /^Position 1 \(size\) must be a size/],
  ['negotiatestorage', ['1MB', 'x', 5000], /^Position 2 \(duration\) must be a whole number/],
  ['negotiatestorage', ['1MB', 10, 'lots'], /^Position 3 \(maxprice\) must be an amount/],
  ['negotiatestorage', ['1MB', 10, 5000, 0], /^Position 4 \(hosts\) must be a whole number from 1/],
  ['negotiatestorage', ['1MB', 10, 5000, 1, '["zz"]'], /^Position 5 \(exclude\) must be a list of host keys/],
  ['negotiatestorage', ['1MB', 10, 5000, 1, '[]', '-1'], /^Position 6 \(allowance\) must be an amount/],
  ['negotiatestorage', ['1MB', 10, 5000, 1, '[]', 0, 1001], /^Position 7 \(minscore\) must be a whole number from 0 to 1000/],
  ['proposestorage', ['zz', HEX32, 10, HEX32, HEX32], /^Position 1 \(offer\) must be hex, got [^.]*\.$/],
  ['proposestorage', ['00', HEX32, 10, HEX32, HEX32], /^Position 1 \(offer\) is not a valid offer encoding\.$/],
  ['proposerevision', ['zz', HEX32, 10, HEX32, HEX32], /^Position 1 \(contractid\) must be 32 bytes of hex, got [^.]*\.$/],
  ['proposerevision', [HEX32, 'zz', 10, HEX32, HEX32], /^Position 2 \(root\) must be 32 bytes of hex, got [^.]*\.$/],
  ['proposerevision', [HEX32, HEX32, 0, HEX32, HEX32], /^Position 3 \(objectsize\) must be a size/],
  ['proposerevision', [HEX32, HEX32, 10, 'zz', HEX32], /^Position 4 \(fileid\) must be 32 bytes of hex, got [^.]*\.$/],
  ['proposerevision', [HEX32, HEX32, 10, HEX32, 'zz'], /^Position 5 \(salt\) must be 32 bytes of hex, got [^.]*\.$/],
  ['findcontracts', [0, 10], /^Position 1 \(objectsize\) must be a size/],
  ['findcontracts', [10, 'x'], /^Position 2 \(minblocksleft\) must be a whole number/],
  ['findcontracts', [10, 10, 'x'], /^Position 3 \(maxprice\) must be an amount/],
  ['getstoragereceipt', ['zz'], /^Position 1 \(contractid\) must be 32 bytes of hex, got [^.]*\.$/],
  ['getstoragereceipt', [HEX32, 'x'], /^Position 2 \(number\) must be a whole number/],
  ['getstoragetoken', ['zz', HEX32, 0], /^Position 1 \(hostkey\) must be 33 bytes of hex, got [^.]*\.$/],
  ['getstoragetoken', [KEY, 'zz', 0], /^Position 2 \(contractid\) must be 32 bytes of hex, got [^.]*\.$/],
  ['getstoragetoken', [KEY, HEX32, 'x'], /^Position 3 \(object\) must be a whole number/],
  ['derivefilekey', ['zz', 0, HEX32], /^Position 1 \(fileid\) must be 32 bytes of hex, got [^.]*\.$/],
  ['derivefilekey', [HEX32, 'x', HEX32], /^Position 2 \(revision\) must be a whole number/],
  ['derivefilekey', [HEX32, 0, 'zz'], /^Position 3 \(salt\) must be 32 bytes of hex, got [^.]*\.$/],
  ['addfile', ['zz', '', 10], /^Position 1 \(fileid\) must be 32 bytes of hex, got [^.]*\.$/],
  ['addfile', [HEX32, 'zz', 10], /^Position 2 \(namehex\) must be hex, got [^.]*\.$/],
  ['addfile', [HEX32, 'aa'.repeat(5000), 10], /^Position 2 \(namehex\) must be at most \d+ bytes\.$/],
  ['addfile', [HEX32, '', 0], /^Position 3 \(size\) must be a whole number from 1/],
  ['addfile', [HEX32, '', 10, 0, 1], /^Position 4 \(datashards\) must be a whole number from 1/],
  ['addfile', [HEX32, '', 10, 1, 0], /^Position 5 \(parityshards\) must be a whole number from 1/],
  ['addfile', [HEX32, '', 10, MAX_DATA_SHARDS, MAX_SHARDS - 1],
    /^Position 4 \(datashards\) \+ position 5 \(parityshards\) must be at most \d+\.$/],
  ['commitfile', [{}], /^Position 1 \(fileid\) must be hex: the whole id \(64 digits\) or a unique prefix of at least 4\.$/],
  ['forgetfile', [true], /^Position 1 \(fileid\) must be hex/],
  ['deletefile', [[]], /^Position 1 \(fileid\) must be hex/],
  ['renewputlease', ['zz'], /^Position 1 \(fileid\) must be 32 bytes of hex, got [^.]*\.$/],
  ['getfile', [null], /^Position 1 \(fileid\) must be hex/],
  ['getaudits', ['zz'], /^Position 1 \(contractid\) must be 32 bytes of hex, got [^.]*\.$/],
  ['logrepair', ['zz', 0, HEX32], /^Position 1 \(fileid\) must be hex: the whole id \(64 digits\) or a unique prefix of at least 4\.$/],
  ['renewcontract', ['xyz'], /^Position 1 \(contractid\|fileid\) must be hex/],
  ['renewcontract', [HEX32, 'x'], /^Position 2 \(duration\) must be a whole number/],
  // the node
  ['dumpmnemonic', [5], /^Position 1 \(filename\) must be a non-empty string, got 5\.$/],
  ['signmessage', [5, 'm'], /^Position 1 \(address\) must be a string\.$/],
  ['verifymessage', ['a', 's', 5], /^Position 3 \(message\) must be a string\.$/],
  ['signmessagewithprivkey', ['k', {}], /^Position 2 \(message\) must be a string\.$/],
  // bcoin's own, rewritten from `Param #0`
  ['getblockhash', [-1], /^Position 1 \(index\) must be a uint\.$/],
  ['getblock', [5], /^Position 1 \(hash\) must be a hash\.$/],
  ['getbalance', ['', 'x'], /^Position 2 \(minconf\) must be a int\.$/]
];

/** Methods left out of the sweep: `stop` ends the node, `getworklp` waits for a block. */
const SWEEP_SKIP = new Set(['stop', 'getworklp']);

async function call(n: TestNode, method: string, params: unknown[]): Promise<{ code: number; message: string } | null> {
  const res = await n.node.node.rpc.call({ method, params, id: 1 }, {}) as { error: { code: number; message: string } | null };
  return res.error;
}

t.test('RPC parameter errors', { timeout: 600_000 }, async (t) => {
  const ctx = await NodesContext.create([{ memory: true }]);
  t.teardown(() => ctx.close());
  await ctx.open();
  const n = ctx.nodes[0];

  await t.test('each CloudCoin check names its position and name as bitcoind does', async (t) => {
    for (const [method, params, want] of TABLE) {
      const err = await call(n, method, params);
      t.ok(err, `${method} ${JSON.stringify(params).slice(0, 80)}: refused`);
      t.match(err?.message, want, `${method}: ${err?.message}`);
      t.ok(err && (err.code === -8 || err.code === -3), `${method}: a param error code (${err?.code})`);
    }
  });

  await t.test('every method: a wrong-typed param is named by its 1-based position and its usage name', async (t) => {
    const methods = n.node.listMethods().filter((m) => !SWEEP_SKIP.has(m));
    t.ok(methods.length > 100, `${methods.length} methods`);
    let named = 0;
    for (const method of methods) {
      const help = await n.node.node.rpc.call({ method: 'help', params: [method], id: 1 }, {}) as { result: unknown };
      const names = usageNames(typeof help.result === 'string' ? help.result : '');
      for (let k = 0; k < 3; k++) {
        // Strings before the wrong-typed value: checked params fail on their own first, named the same way.
        const params: unknown[] = [...Array(k).fill('x'), { wrong: true }];
        // A deadline stretched by the load, and cleared: a timer left pending kept the process 30 s past its tests.
        let timer: NodeJS.Timeout | undefined;
        const err = await Promise.race([call(n, method, params),
          new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${method} hung`)), stretched(30_000)); })])
          .finally(() => clearTimeout(timer));
        const message = err?.message ?? '';
        t.notMatch(message, /Param #|parameter \d|param \d/i, `${method} ${k + 1}: no other numbering (${message})`);
        const m = /Position (\d+)(?: \(([^)]+)\))?/.exec(message);
        if (!m)
          continue;
        named += 1;
        const pos = Number(m[1]);
        t.ok(pos >= 1 && pos <= k + 1, `${method}: position ${pos} of ${k + 1} sent`);
        if (m[2] && names[pos - 1])
          t.equal(m[2], names[pos - 1], `${method}: position ${pos} is "${names[pos - 1]}" in its usage line`);
      }
    }
    t.ok(named > 50, `${named} answers named a position`);
  });

  await t.test('cloudcoin-cli numbers a param that is not JSON the same way', async (t) => {
    t.throws(() => convertParams('getblockhash', ['abc']), /^Position 1 of getblockhash must be JSON/);
    t.throws(() => convertParams('generatetoaddress', ['1', 'addr', 'x']), /^Position 3 of generatetoaddress must be JSON/);
  });
});
