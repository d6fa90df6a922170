// The error base, the RPC param validator and the error translator in lib/base.
import t from 'tap';
import { CodedError, PacketError, RPCError, rpcCodes } from '../lib/base/errors';
import { Params, errorRule, rpcErrors } from '../lib/base/rpc';
import { ContractError } from '../lib/contracts/errors';
import { StorageError, StoreError } from '../lib/storage/errors';
import { FileServerError } from '../lib/storage/fileserverclient';
import { HTTPError } from '../fileserver/errors';
import { ConfigError } from '../lib/node/config';
import { HostingConfigError } from '../lib/hosting/errors';
import { PolicyError } from '../lib/negotiator/policy';
import { ServiceError } from '../lib/negotiator/services';
import { RequestError } from '../lib/negotiator/requester';
import { RPCClientError } from '../lib/cli/rpcclient';
import { CommandError } from '../lib/cli/storagecmds';
import { DealError } from '../lib/deals/errors';
import { ExtensionError } from '../lib/cli/extensions';

t.test('CodedError', async (t) => {
  t.test('should give every error class its name, code and detail', async (t) => {
    const cases: Array<[string, CodedError<string | number>, string | number]> = [
      ['ContractError', new ContractError('contract-unsigned'), 'contract-unsigned'],
      ['StorageError', new StorageError('bad-tag', 'tag'), 'bad-tag'],
      ['StoreError', new StoreError('busy', 'busy', { received: 3 }), 'busy'],
      ['FileServerError', new FileServerError('unreachable', 0, 'down'), 'unreachable'],
      ['HTTPError', new HTTPError('disk-full', 'full'), 'disk-full'],
      ['ConfigError', new ConfigError('bad'), 'bad-config'],
      ['HostingConfigError', new HostingConfigError('bad'), 'bad-config'],
      ['PolicyError', new PolicyError('bad'), 'bad-policy'],
      ['ServiceError', new ServiceError('bad-request', 'bad-args'), 'bad-args'],
      ['RequestError', new RequestError('timeout'), 'timeout'],
      ['RPCClientError', new RPCClientError('rpc', 'boom', -8), 'rpc'],
      ['CommandError', new CommandError('bad-arg', 'none'), 'bad-arg'],
      ['DealError', new DealError('no-token', 'none'), 'no-token'],
      ['ExtensionError', new ExtensionError('bad-id', 'bad'), 'bad-id'],
      ['PacketError', new PacketError('bad-envelope-sig'), 'bad-envelope-sig'],
      ['RPCError', new RPCError(rpcCodes.INVALID_PARAMETER, 'bad'), -8]
    ];
    for (const [name, err, code] of cases) {
      t.ok(err instanceof CodedError && err instanceof Error, `${name} is a CodedError`);
      t.equal(err.name, name, `${name}.name`);
      t.equal(err.code, code, `${name}.code`);
      t.same(typeof err.detail, 'object', `${name}.detail`);
    }
    t.same(new StoreError('busy', 'busy', { received: 3 }).detail, { received: 3 });
    t.equal(new HTTPError('disk-full', 'full').status, 507);
    t.equal(new RPCError(rpcCodes.MISC_ERROR, 'x').type, 'RPCError', 'bweb reads type === RPCError');
    const p = new PacketError('bad-x', 'ignore', 0);
    t.same([p.message, p.verdict, p.score], ['bad-x', 'ignore', 0]);
  });
});

t.test('Params', async (t) => {
  t.test('should return checked values', async (t) => {
    const p = new Params(['ab'.repeat(32), '12', 7, '10MB', '0.1btc', 'true', 'active'], 'm');
    t.equal(p.count(1, 7), p);
    t.same(p.hex(0, 'id', 32), Buffer.from('ab'.repeat(32), 'hex'));
    t.equal(p.uint(1, 'n'), 12);
    t.equal(p.uint(2, 'n', 1, 7), 7);
    t.equal(p.size(3, 'size'), 10_000_000);
    t.equal(p.amount(4, 'fee'), 10_000_000);
    t.equal(p.bool(5, 'flag'), true);
    t.equal(p.oneOf(6, 'state', ['active', 'ended']), 'active');
    t.equal(p.decoded(0, 'raw', 'thing', (raw) => raw.length), 32);
    t.ok(p.has(6));
    t.notOk(p.has(7));
  });

  t.test('should refuse bad params with -8 naming the param as bitcoind does: Position N (name), from 1', async (t) => {
    const cases: Array<[string, (p: Params) => unknown, RegExp]> = [
      ['too few', (p) => p.count(3), /^Usage: m a b$/],
      ['too many', (p) => p.count(0, 0), /^Usage: m a b$/],
      ['odd hex', (p) => new Params(['abc'], 'm').hex(0, 'id'), /^Position 1 \(id\) must be hex/],
      ['short hex', (p) => p.hex(0, 'id', 32), /^Position 1 \(id\) must be 32 bytes of hex/],
      ['uint range', (p) => p.uint(1, 'n', 0, 5), /^Position 2 \(n\) must be a whole number from 0 to 5/],
      ['uint text', (p) => p.uint(0, 'n'), /^Position 1 \(n\) must be a whole number/],
      ['empty str', (p) => new Params([''], 'm').str(0, 's'), /^Position 1 \(s\) must be a non-empty string/],
      ['bool', (p) => p.bool(0, 'b'), /^Position 1 \(b\) must be true or false/],
      ['size zero', (p) => new Params([0], 'm').size(0, 'size'), /^Position 1 \(size\) must be a size/],
      ['size over', (p) => new Params(['2KiB'], 'm').size(0, 'size', 1024), /at most 1.00 KiB/],
      ['fraction of a sat', (p) => new Params(['0.5sat'], 'm').amount(0, 'fee'), /^Position 1 \(fee\) must be an amount/],
      ['over MAX_MONEY', (p) => new Params([21e14 + 1], 'm').amount(0, 'fee'), /^Position 1 \(fee\) must be an amount/],
      ['not one of', (p) => p.oneOf(0, 'state', ['a']), /^Position 1 \(state\) must be one of a/],
      ['bad encoding', (p) => p.decoded(0, 'raw', 'thing', () => { throw new Error('x'); }), /^Position 1 \(raw\) is not a valid thing encoding/],
      ['own check', (p) => { throw p.error(1, 'shard', 'is required.'); }, /^Position 2 \(shard\) is required\.$/]
    ];
    for (const [name, fn, message] of cases) {
      const p = new Params(['aa', 'x'], 'm a b');
      t.throws(() => fn(p), { name: 'RPCError', code: rpcCodes.INVALID_PARAMETER, message }, name);
    }
  });
});

t.test('rpcErrors', async (t) => {
  t.test('should map domain codes, bcoin rejections and the rest', async (t) => {
    const translate = rpcErrors([
      errorRule(DealError, { 'no-token': [rpcCodes.INVALID_ADDRESS_OR_KEY, 'No token.'] }, rpcCodes.MISC_ERROR),
      errorRule(RequestError, { 'unknown-peer': rpcCodes.CLIENT_NODE_NOT_CONNECTED })
    ]);
    const rpc = new RPCError(rpcCodes.TYPE_ERROR, 'typed');
    const plain = new Error('bug');
    const cases: Array<[string, unknown, number | null, string]> = [
      ['RPCError passes', rpc, rpcCodes.TYPE_ERROR, 'typed'],
      ['mapped with message', new DealError('no-token', 'none given'), rpcCodes.INVALID_ADDRESS_OR_KEY, 'No token.'],
      ['class fallback', new DealError('no-receipt', 'no receipt'), rpcCodes.MISC_ERROR, 'no receipt'],
      ['mapped code', new RequestError('unknown-peer', 'who'), rpcCodes.CLIENT_NODE_NOT_CONNECTED, 'who'],
      ['default fallback', new RequestError('timeout'), rpcCodes.MISC_ERROR, 'timeout'],
      ['VerifyError', Object.assign(new Error('v'), { type: 'VerifyError', code: 'invalid', reason: 'bad-txns' }),
        rpcCodes.VERIFY_REJECTED, 'invalid: bad-txns'],
      ['no funds', new Error('Not enough funds. (available=0)'), rpcCodes.WALLET_INSUFFICIENT_FUNDS, 'Not enough funds. (available=0)'],
      ['unmatched CodedError passes', new StorageError('bad-tag', 'tag'), null, 'tag'],
      ['a bug passes', plain, null, 'bug']
    ];
    for (const [name, input, code, message] of cases) {
      const out = translate(input);
      if (code === null) {
        t.equal(out, input, name);
        continue;
      }
      t.ok(out instanceof RPCError, name);
      t.same([(out as RPCError).code, out.message], [code, message], name);
    }
    const other = rpcErrors([], { other: rpcCodes.MISC_ERROR })(plain);
    t.same([(other as RPCError).code, other.message], [rpcCodes.MISC_ERROR, 'bug'], 'other wraps the rest');
    t.ok(translate('text') instanceof Error, 'a thrown non-Error becomes an Error');
  });
});
