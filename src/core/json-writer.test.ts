import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rng } from '../../test/helpers/random.ts';
import { formatIPv6 } from '../decode/format.ts';
import { JsonWriter, writeUint } from './json-writer.ts';

const text = (w: JsonWriter): string => w.buf.toString('latin1', 0, w.pos);

test('writeUint matches String(n) across magnitudes up to 2^53', () => {
  const b = new Uint8Array(32);
  const r = rng(3);
  const cases = [0, 9, 10, 99, 100, 101, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 10 ** 10, 2 ** 53 - 1];
  for (let i = 0; i < 100_000; i++) cases.push(Math.floor(r() * 10 ** Math.floor(r() * 16)));
  for (const n of cases) {
    const end = writeUint(b, 3, n);
    assert.equal(Buffer.from(b.subarray(3, end)).toString('latin1'), String(n));
  }
});

test('ipv6 writes the same RFC 5952 text as formatIPv6', () => {
  const w = new JsonWriter(256);
  const r = rng(5);
  const word = (): number => {
    const m = Math.floor(r() * 4);
    return m === 0
      ? 0
      : m === 1
        ? Math.floor(r() * 0x10000)
        : m === 2
          ? Math.floor(r() * 0x10000) * 0x10000
          : Math.floor(r() * 2 ** 32);
  };
  for (let i = 0; i < 50_000; i++) {
    const a = Uint32Array.from([word(), word(), word(), word()]);
    if (i % 9 === 0) a.set([0, 0, 0xffff], 0);
    w.pos = 0;
    w.ipv6(a);
    assert.equal(JSON.parse(text(w)), formatIPv6(a));
  }
});

test('string escapes to pure ASCII JSON that parses back to the input', () => {
  const w = new JsonWriter(16);
  const r = rng(9);
  for (let i = 0; i < 20_000; i++) {
    let s = '';
    const n = Math.floor(r() * 40);
    for (let k = 0; k < n; k++) s += String.fromCharCode(Math.floor(r() * (r() < 0.8 ? 0x80 : 0x10000)));
    w.pos = 0;
    w.string(s);
    const out = text(w);
    assert.match(out, /^[\x20-\x7e]*$/);
    assert.equal(JSON.parse(out), s);
  }
});

test('take hands over the bytes and starts a fresh buffer', () => {
  const w = new JsonWriter(8);
  w.ascii('abc');
  const first = w.take();
  w.ascii('xy');
  assert.equal(first.toString('latin1'), 'abc');
  assert.equal(text(w), 'xy');
});
