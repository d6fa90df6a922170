// PutLeases: a lease renewed in time is never given up; one left to lapse
// is given up once; an ended one never; a timer the node's own stall made
// late waits for queued renewals first. Real timers with a short lapse,
// waits on values with deadlines.
import t from 'tap';
import { randomBytes } from 'crypto';
import { PutLeases } from '../lib/deals/putleases';
import { forValue } from './util/wait';

// Long enough that a loaded machine's late timers do not decide a case.
const LAPSE_MS = 1000;

function leases(stallMs = 10000, lapseMs = LAPSE_MS) {
  const given: string[] = [];
  const l = new PutLeases({ lapseMs, stallMs, giveUp: async (id) => { given.push(id.toString('hex')); } });
  return { l, given };
}

t.test('PutLeases', async (t) => {
  await t.test('should give a lapsed put up once, and say so on a late renewal', async (t) => {
    const { l, given } = leases();
    t.teardown(() => l.close());
    const id = randomBytes(32);
    // Bounds taken around the call, not after it: a loaded machine may pause anywhere.
    const before = Date.now();
    const expires = l.renew(id);
    const after = Date.now();
    t.ok(l.has(id));
    t.equal(l.expires(id), expires);
    t.ok(expires >= before + LAPSE_MS && expires <= after + LAPSE_MS, 'lapses one lapse from the renewal');
    await forValue(() => given.length, 1, 5000, 'the lapsed put given up');
    t.same(given, [id.toString('hex')]);
    t.notOk(l.has(id), 'no lease left');
    t.ok(l.gaveUp(id), 'remembered as given up');
    t.equal(l.expires(id), null);
  });

  await t.test('should never give up a put renewed in time', async (t) => {
    const { l, given } = leases();
    t.teardown(() => l.close());
    const live = randomBytes(32);
    const dead = randomBytes(32);
    l.renew(live);
    l.renew(dead);
    // Renewed every fifth of the lapse until the other one, taken at once, lapsed twice over.
    const timer = setInterval(() => l.renew(live), LAPSE_MS / 5);
    t.teardown(() => clearInterval(timer));
    await forValue(() => given.length, 1, 5000, 'the other put given up');
    const since = Date.now();
    await forValue(() => Date.now() - since > 2 * LAPSE_MS && l.has(live), true, 5000, 'the live lease through two lapses');
    clearInterval(timer);
    t.same(given, [dead.toString('hex')], 'the renewed put untouched');
    t.ok(l.has(live));
    t.notOk(l.gaveUp(live));
  });

  await t.test('should not give up a put whose lease ended', async (t) => {
    const { l, given } = leases();
    t.teardown(() => l.close());
    const ended = randomBytes(32);
    const marker = randomBytes(32);
    l.renew(ended);
    l.end(ended);
    l.renew(marker);
    await forValue(() => given.length, 1, 5000, 'the marker lease lapsed');
    t.same(given, [marker.toString('hex')], 'only the marker, taken after the ended one');
    t.notOk(l.gaveUp(ended));
  });

  await t.test('should wait for renewals queued behind a stall of the node', async (t) => {
    const lapse = 2000;
    const stall = 800;
    const { l, given } = leases(stall, lapse);
    t.teardown(() => l.close());
    const id = randomBytes(32);
    l.renew(id);
    // The event loop blocked a second past the lapse: the timer fires late, a renewal is queued behind it.
    const start = Date.now();
    while (Date.now() - start < lapse + 1000) { /* the node's stall */ }
    setImmediate(() => l.renew(id));
    // Past the stall's grace (lapse + 1000 + stall), before the renewed lease lapses (lapse + 1000 + lapse).
    await forValue(() => Date.now() - start > lapse + 1000 + stall + 400, true, 10000, 'past the stall grace');
    t.same(given, [], 'the renewal queued behind the stall kept it');
    t.ok(l.has(id));
    await forValue(() => given.length, 1, 10000, 'the renewed lease lapsed in its turn');
  });

  await t.test('should stop every timer on close', async (t) => {
    const { l, given } = leases();
    const id = randomBytes(32);
    l.renew(id);
    await l.close();
    const marker = leases();
    t.teardown(() => marker.l.close());
    marker.l.renew(randomBytes(32));
    await forValue(() => marker.given.length, 1, 5000, 'a lease of another set lapsed meanwhile');
    t.same(given, [], 'a closed set gives nothing up');
    t.notOk(l.has(id));
  });
});
