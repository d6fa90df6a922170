// Tagged hashes: pinned vectors so no tag or construction drifts silently.
import t from 'tap';
import { createHash } from 'crypto';
import { taggedHash, tags } from '../lib/hash';

t.test('taggedHash', async (t) => {
  t.test('should match the BIP340-style construction', async (t) => {
    const th = createHash('sha256').update('cc/leaf').digest();
    const m = Buffer.from('00ff', 'hex');
    const want = createHash('sha256').update(th).update(th).update(m).digest();
    t.same(taggedHash(tags.LEAF, m), want);
  });
  t.test('should separate tags and concatenate parts', async (t) => {
    const a = Buffer.from('aa', 'hex');
    const b = Buffer.from('bb', 'hex');
    t.not(taggedHash(tags.LEAF, a).toString('hex'), taggedHash(tags.NODE, a).toString('hex'));
    t.same(taggedHash(tags.NODE, a, b), taggedHash(tags.NODE, Buffer.concat([a, b])));
  });
  t.test('should keep a pinned vector', async (t) => {
    t.equal(taggedHash(tags.CONTRACT, Buffer.alloc(0)).toString('hex'),
      createHash('sha256').update(Buffer.concat([
        createHash('sha256').update('cc/contract/0').digest(),
        createHash('sha256').update('cc/contract/0').digest()])).digest('hex'));
  });
});
