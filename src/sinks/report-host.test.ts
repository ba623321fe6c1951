/**
 * `--host` text in the store's spelling: the addresses the decoder writes, whatever the user typed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPipelineError } from '../core/errors.ts';
import { formatIPv6At } from '../decode/format.ts';
import { normalizeReportHost } from './report-host.ts';

describe('normalizeReportHost', () => {
  it('writes IPv6 as RFC 5952 and IPv4 as a dotted quad', () => {
    const cases: [string, string][] = [
      ['2001:DB8:0::1', '2001:db8::1'],
      ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
      ['FE80::0001', 'fe80::1'],
      ['::FFFF:10.0.0.1', '::ffff:10.0.0.1'],
      ['::ffff:a00:1', '::ffff:10.0.0.1'],
      ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
      [' 10.1.2.3 ', '10.1.2.3'],
      ['255.255.255.255', '255.255.255.255'],
      ['0.0.0.0', '0.0.0.0'],
    ];
    for (const [text, want] of cases) assert.equal(normalizeReportHost(text), want, text);
  });

  it('agrees with the decoder on every spelling of random addresses', () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let n = 0; n < 500; n++) {
      const bytes = new Uint8Array(16);
      // Mostly zero groups, so that `::` runs of every length and place occur.
      for (let i = 0; i < 16; i += 2) if (next() % 3 === 0) bytes[i + 1] = next() & 255;
      const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
      const longhand = groups.map((g) => g.toString(16).padStart(4, '0').toUpperCase()).join(':');
      assert.equal(normalizeReportHost(longhand), formatIPv6At(bytes, 0), longhand);
    }
  });

  it('refuses what is not one address', () => {
    for (const bad of [
      '',
      'example.com',
      '10.0.0.256',
      '010.0.0.1',
      '10.0.0',
      '10.0.0.0/8',
      'fe80::1%eth0',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      "' OR 1=1 --",
    ]) {
      assert.throws(
        () => normalizeReportHost(bad),
        (e: unknown) =>
          isPipelineError(e) && e.code === 'PCS_USAGE' && /--host must be an IPv4 or IPv6 address/.test(e.message),
        bad,
      );
    }
  });
});
