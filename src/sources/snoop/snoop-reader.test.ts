import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Frame } from '../../core/source.ts';
import { SnoopReader } from './snoop-reader.ts';

/** A snoop file (Ethernet) with one 14-byte frame per [seconds, microseconds]. */
function snoop(times: [number, number][]): Uint8Array {
  const header = Buffer.alloc(16);
  header.write('snoop', 0, 'latin1');
  header.writeUInt32BE(2, 8);
  header.writeUInt32BE(4, 12);
  const records = times.map(([sec, usec]) => {
    const r = Buffer.alloc(24 + 16);
    r.writeUInt32BE(14, 0);
    r.writeUInt32BE(14, 4);
    r.writeUInt32BE(r.length, 8);
    r.writeUInt32BE(sec, 16);
    r.writeUInt32BE(usec, 20);
    return r;
  });
  return new Uint8Array(Buffer.concat([header, ...records]));
}

describe('snoop reader', () => {
  it('carries out-of-range microseconds into the seconds, with a warning', () => {
    const got: string[] = [];
    const r = new SnoopReader((f: Frame) => got.push(`${f.tsSec} ${f.tsNanos}`));
    r.push(
      snoop([
        [1000, 999_999],
        [1000, 1_000_000],
        [1000, 0xffffffff],
      ]),
    );
    r.end();
    assert.deepEqual(got, ['1000 999999000', '1001 0', '5294 967295000']);
    assert.deepEqual(r.stats.warnings, [
      'record 2: fraction 1000000 µs is a second or more; 1 s carried into the seconds',
      'record 3: fraction 4294967295 µs is a second or more; 4294 s carried into the seconds',
    ]);
  });
});
