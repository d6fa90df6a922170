// The quick size of the cs* fuzz suite (test/stress/fuzz.ts; the full size
// runs in npm run test:stress): a live cloudcoind fed random and mutated
// packets of every cs* command by raw peers, an honest renter served
// throughout, malformed-only offenders banned within 100 packets. Also the
// mutation engine's field tracing on the project's own decoders.
import t from 'tap';
import { randomBytes } from 'crypto';
import { RequestPacket } from '../lib/negotiator/envelope';
import { MAX_ARGS_SIZE } from '../lib/negotiator/common';
import { Identity } from '../lib/base/identity';
import { fuzzFailures, registeredCommands, runFuzz } from './stress/fuzz';
import { FUZZ_TYPES, network } from './stress/cstypes';
import { Rng, interestingValues, mutate, traceFields } from './stress/mutate';

t.test('mutation engine', async (t) => {
  t.test('should find a request\'s length fields by tracing its decoder', async (t) => {
    const r = new RequestPacket();
    Object.assign(r, { to: Identity.generate(network).publicKey, nonce: randomBytes(16), service: 'storage',
      method: 'quote', args: randomBytes(12) });
    const raw = r.sign(Identity.generate(network), network.magic).encode();
    const fields = traceFields((p) => RequestPacket.decode(p), raw);
    const varints = fields.filter((f) => f.kind === 'varint').map((f) => [f.offset, f.value]);
    // service, method, args, payment data (from + to + nonce = 82 bytes first)
    t.same(varints, [[82, 7], [90, 5], [96, 12], [118, 0]]);
  });

  t.test('should try every declared limit and one past it', async (t) => {
    const values = interestingValues('varint', 7);
    t.ok(values.includes(MAX_ARGS_SIZE) && values.includes(MAX_ARGS_SIZE + 1), 'args limit and limit + 1');
    t.ok(values.includes(0) && values.includes(0xffffffff));
  });

  t.test('should change every seed it mutates', async (t) => {
    const rng = new Rng(7);
    const payload = randomBytes(64);
    const seeds = [{ payload, fields: [] }];
    let same = 0;
    for (let i = 0; i < 1000; i++) {
      if (mutate(rng, seeds).payload.equals(payload))
        same += 1;
    }
    t.ok(same < 20, `${same} of 1000 mutations left the seed as it was`);
  });
});

t.test('cs* fuzz, quick size', async (t) => {
  t.test('should have seeds for every cs* command the node registers', async (t) => {
    const cmds = registeredCommands();
    t.ok(cmds.length >= 8, cmds.join(' '));
    t.same(cmds.filter((c) => !FUZZ_TYPES.some((f) => f.cmd === c)), []);
  });

  t.test('should survive, ban offenders and serve the honest peer', async (t) => {
    const perType = 100;
    const r = await runFuzz({ perType, log: (l) => t.comment(l) });
    t.comment(r.line);
    t.same(fuzzFailures(r, perType), []);
  });
});
