// Config parsing: cloudcoin.conf format, typed getters, units.
import t from 'tap';
import { Config, ConfigError, parseConfigFile } from '../lib/node/config';
import { formatSize, parseAmount, parseSize } from '../lib/base/units';

t.test('parseConfigFile', async (t) => {
  t.test('should read keys, bare flags, lists and network sections', async (t) => {
    const text = 'port=1\n# comment\nmemory\nconnect=a:1\nconnect=b:2\n[regtest]\nport=2\n[main]\nport=3\n';
    const reg = parseConfigFile(text, 'regtest');
    t.same(reg.get('connect'), ['a:1', 'b:2']);
    t.equal(reg.get('memory'), true);
    t.same(reg.get('port'), ['1', '2']);
    t.equal(new Config(reg).str('port'), '2', 'section value wins (last)');
    t.equal(new Config(parseConfigFile(text, 'main')).str('port'), '3');
  });
  t.test('should reject unparsable lines with the line number', async (t) => {
    t.throws(() => parseConfigFile('ok=1\n=bad\n', 'main'), /line 2/);
  });
});

t.test('Config', async (t) => {
  const cfg = new Config({ a: '12', b: 'yes', c: 'x', size: '10GB', port: '70000', flag: true });
  t.test('should parse typed values', async (t) => {
    t.equal(cfg.uint('a'), 12);
    t.equal(cfg.bool('b'), true);
    t.equal(cfg.bool('flag'), true);
    t.equal(cfg.bool('missing', true), true);
    t.equal(cfg.size('size'), 10e9);
    t.equal(cfg.uint('missing'), null);
  });
  t.test('should reject bad values with ConfigError', async (t) => {
    const table: Array<[string, () => unknown]> = [
      ['uint', () => cfg.uint('c')],
      ['bool', () => cfg.bool('c')],
      ['size', () => cfg.size('c')],
      ['port', () => cfg.port('port')],
      ['str of flag', () => cfg.str('flag')]
    ];
    for (const [name, fn] of table)
      t.throws(fn, ConfigError, name);
  });
  t.test('should let flags win over the file', async (t) => {
    const c = new Config({ port: '1' }).fallback(new Map([['port', '2'], ['other', 'x']]));
    t.equal(c.str('port'), '1');
    t.equal(c.str('other'), 'x');
  });
});

t.test('units', async (t) => {
  t.equal(parseSize('10MB'), 10e6);
  t.equal(parseSize('1MiB'), 1 << 20);
  t.equal(parseSize('4096'), 4096);
  t.equal(parseSize('1.5 GiB'), 1.5 * 2 ** 30);
  t.equal(parseSize('10XB'), null);
  t.equal(parseSize('-1'), null);
  t.equal(parseAmount('5000sat'), 5000);
  t.equal(parseAmount('0.5btc'), 50000000);
  t.equal(parseAmount('1.5'), null, 'fractions of a sat');
  t.equal(parseAmount('abc'), null);
  t.equal(formatSize(1536), '1.50 KiB');
});
