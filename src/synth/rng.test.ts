import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mix32, Rng, seedToU32 } from './rng.ts';

test('xoshiro128** matches the reference outputs for state (1, 2, 3, 4)', () => {
  // First outputs of the reference C implementation (prng.di.unimi.it/xoshiro128starstar.c).
  const r = Rng.fromState(1, 2, 3, 4);
  assert.deepEqual(
    Array.from({ length: 6 }, () => r.u32()),
    [11520, 0, 5927040, 70819200, 2031721883, 1637235492],
  );
});

test('same seed, same sequence; another seed, another sequence', () => {
  const a = new Rng(7);
  const b = new Rng(7);
  const c = new Rng(8);
  const sa = Array.from({ length: 100 }, () => a.u32());
  assert.deepEqual(
    sa,
    Array.from({ length: 100 }, () => b.u32()),
  );
  const sc = Array.from({ length: 100 }, () => c.u32());
  assert.ok(sa.filter((v, i) => v === sc[i]).length < 2);
});

test('draws stay in their ranges and cover them', () => {
  const r = new Rng(123);
  const seen = new Set<number>();
  for (let i = 0; i < 20000; i++) {
    const u = r.u32();
    assert.ok(Number.isInteger(u) && u >= 0 && u < 2 ** 32);
    const f = r.float();
    assert.ok(f >= 0 && f < 1);
    const k = r.int(10);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 10);
    seen.add(k);
    const g = r.range(-3, 3);
    assert.ok(g >= -3 && g <= 3);
    assert.ok(r.exp(5) >= 0);
  }
  assert.equal(seen.size, 10);
});

test('shapes: exp has its mean, logNormal its median and sigma, chance its rate', () => {
  const r = new Rng(99);
  const n = 40000;
  let sum = 0;
  let hits = 0;
  const logs: number[] = [];
  for (let i = 0; i < n; i++) {
    sum += r.exp(250);
    if (r.chance(0.3)) hits++;
    logs.push(Math.log(r.logNormal(1000, 0.8)));
  }
  assert.ok(Math.abs(sum / n - 250) < 10, `mean ${sum / n}`);
  assert.ok(Math.abs(hits / n - 0.3) < 0.01, `rate ${hits / n}`);
  logs.sort((x, y) => x - y);
  assert.ok(Math.abs(Math.exp(logs[n / 2]!) - 1000) < 30, `median ${Math.exp(logs[n / 2]!)}`);
  const mean = logs.reduce((x, y) => x + y) / n;
  const sd = Math.sqrt(logs.reduce((x, y) => x + (y - mean) ** 2, 0) / n);
  assert.ok(Math.abs(sd - 0.8) < 0.02, `sigma ${sd}`);
});

test('seeds: FNV-1a for strings, low bits for numbers', () => {
  // Published FNV-1a 32-bit test vectors.
  assert.equal(seedToU32(''), 0x811c9dc5);
  assert.equal(seedToU32('a'), 0xe40c292c);
  assert.equal(seedToU32('foobar'), 0xbf9cf968);
  assert.equal(seedToU32(42), 42);
  assert.notEqual(seedToU32(2 ** 32 + 42), 42);
  assert.equal(mix32(0), 0);
  assert.notEqual(mix32(1), mix32(2));
});
