// The one size and amount parser (lib/base/units.ts) the node, the CLI and
// the file server share: exact decimal arithmetic, tables keyed by input.
import t from 'tap';
import { formatSize, parseAmount, parseSize } from '../lib/base/units';

const MAX = Number.MAX_SAFE_INTEGER;

t.test('parseSize', async (t) => {
  t.test('should read every unit exactly', async (t) => {
    const cases: Record<string, number> = {
      '0': 0,
      '4096': 4096,
      '4096B': 4096,
      '  7 b ': 7,
      '1kB': 1000,
      '1KB': 1000,
      '10MB': 10_000_000,
      '2.01MB': 2_010_000,
      '1.001GB': 1_001_000_000,
      '3TB': 3e12,
      '1KiB': 1024,
      '0.5KiB': 512,
      '1MiB': 2 ** 20,
      '1.5 GiB': 1.5 * 2 ** 30,
      '2TiB': 2 * 2 ** 40,
      '1K': 1024,
      '512M': 512 * 2 ** 20,
      '10G': 10 * 2 ** 30,
      '10g': 10 * 2 ** 30,
      '1T': 2 ** 40,
      '0.25k': 256,
      '9007199254740991': MAX,
      '8191TiB': 8191 * 2 ** 40,
      '8191.5TiB': 8191.5 * 2 ** 40
    };
    for (const [text, want] of Object.entries(cases))
      t.equal(parseSize(text), want, JSON.stringify(text));
  });

  t.test('should refuse what is not a whole number of bytes up to 2^53 - 1', async (t) => {
    const cases: Record<string, string> = {
      '': 'empty',
      '   ': 'blank',
      '1.5': 'half a byte',
      '1.5B': 'half a byte',
      '0.0001kB': 'a tenth of a byte',
      '1.0000000001KiB': 'a fraction of a byte',
      '-1': 'negative',
      '-1MB': 'negative',
      '+1': 'sign',
      '9007199254740992': '2^53',
      '8192TiB': '2^53 exactly',
      '8191.999999999999TiB': 'not a whole number of bytes',
      '99999999999999999999GB': 'far past 2^53',
      '1e6': 'exponent',
      '0x10': 'hex',
      '.5MB': 'no integer part',
      '5.MB': 'no fraction digits',
      '1,000': 'separator',
      '10XB': 'unknown unit',
      '10 M B': 'spaced unit',
      'lots': 'garbage',
      'MB': 'no number',
      [`${'0'.repeat(66)}1`]: 'too long to read'
    };
    for (const [text, why] of Object.entries(cases))
      t.equal(parseSize(text), null, `${JSON.stringify(text.slice(0, 20))}: ${why}`);
  });
});

t.test('parseAmount', async (t) => {
  t.test('should read sat, mbtc and btc exactly', async (t) => {
    const cases: Record<string, number> = {
      '0': 0,
      '5000': 5000,
      '5000sat': 5000,
      '1 sats': 1,
      '5000SAT': 5000,
      '0.1btc': 10_000_000,
      '0.3btc': 30_000_000,
      '0.00000001btc': 1,
      '21000000btc': 21e14,
      '12mbtc': 1_200_000,
      '0.00001mbtc': 1,
      '1.10000000btc': 110_000_000
    };
    for (const [text, want] of Object.entries(cases))
      t.equal(parseAmount(text), want, JSON.stringify(text));
  });

  t.test('should refuse fractions of a sat, overflow and garbage', async (t) => {
    const cases: Record<string, string> = {
      '': 'empty',
      '1.5': 'half a sat',
      '0.5sat': 'half a sat',
      '0.000000001btc': 'a tenth of a sat',
      '0.000001mbtc': 'a tenth of a sat',
      '-5': 'negative',
      '99999999999btc': 'past 2^53',
      '9007199254740992': '2^53',
      '5 bitcoin': 'unknown unit',
      '5MB': 'a size unit',
      'NaN': 'garbage'
    };
    for (const [text, why] of Object.entries(cases))
      t.equal(parseAmount(text), null, `${JSON.stringify(text)}: ${why}`);
  });
});

t.test('formatSize', async (t) => {
  const cases: Record<number, string> = { 0: '0 B', 1023: '1023 B', 1024: '1.00 KiB', [1.5 * 2 ** 20]: '1.50 MiB', [200 * 2 ** 30]: '200.0 GiB' };
  for (const [bytes, want] of Object.entries(cases))
    t.equal(formatSize(Number(bytes)), want, bytes);
});
