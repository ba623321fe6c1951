import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rng } from '../../test/helpers/random.ts';
import { JsonWriter } from '../core/json-writer.ts';
import { writeNum } from './flow-format.ts';

function text(v: number, json = false): string {
  const w = new JsonWriter(64);
  writeNum(w, v, json);
  return w.take().toString('latin1');
}

/** What flow rows printed before the byte writer: the reference text. */
function reference(v: number): string {
  if (Number.isInteger(v)) return String(v);
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return String(Math.round(v * 1e6) / 1e6);
}

describe('writeNum', () => {
  it('prints integers, fractions, negatives and specials as the reference does', () => {
    for (const v of [
      0,
      -0,
      1,
      -1,
      7,
      0.5,
      -0.5,
      1e-7,
      -1e-7,
      4.9999996,
      2.0000004,
      123.456789,
      -123.4567891,
      1e9 + 0.25,
    ]) {
      assert.equal(text(v), reference(v), String(v));
    }
    for (const v of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1e300,
      -1e300,
      2 ** 60,
      -(2 ** 60),
    ]) {
      assert.equal(text(v), reference(v), String(v));
    }
    assert.equal(text(Number.NaN, true), 'null');
    assert.equal(text(Number.POSITIVE_INFINITY, true), 'null');
  });

  it('agrees with the reference on 200,000 random values across magnitudes', () => {
    const next = rng(99);
    for (let i = 0; i < 200_000; i++) {
      const mag = 10 ** Math.floor(next() * 20 - 8);
      const v = (next() - 0.3) * mag;
      assert.equal(text(v), reference(v), String(v));
    }
  });
});
