// Tagged hashes: pinned vectors so no tag or construction drifts silently.
import t from 'tap';
import { createHash } from 'crypto';
import bio = require('bufio');
import { signingHash, taggedHash, tags } from '../lib/base/hash';

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

t.test('signingHash', async (t) => {
  t.test('should hash prefix and unsigned encoding under the tag', async (t) => {
    const obj = {
      getUnsignedSize: () => 3,
      writeUnsigned: (bw: bio.Writer) => bw.writeU8(1).writeU16(0x0302)
    };
    const prefix = Buffer.from('aabbccdd', 'hex');
    t.same(signingHash(obj, tags.ANNOUNCE, prefix), taggedHash(tags.ANNOUNCE, prefix, Buffer.from('010203', 'hex')));
  });
});

