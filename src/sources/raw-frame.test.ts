import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPipelineError } from '../core/errors.ts';
import { Frame } from '../core/source.ts';
import {
  batchLimits,
  DEFAULT_BATCH_BYTES,
  DEFAULT_BATCH_FRAMES,
  FRAME_SLAB_BYTES,
  RawFrameCopier,
} from './raw-frame.ts';

function frameOver(buf: Uint8Array, off: number, caplen: number): Frame {
  const f = new Frame();
  f.buf = buf;
  f.off = off;
  f.caplen = caplen;
  f.wirelen = caplen + 10;
  f.tsSec = 1_700_000_000;
  f.tsNanos = 123;
  f.linkType = 1;
  return f;
}

test('batch limits: defaults, and bad values refused', () => {
  assert.deepEqual(batchLimits(), {
    batchFrames: DEFAULT_BATCH_FRAMES,
    batchBytes: DEFAULT_BATCH_BYTES,
    maxBatchDelayMs: 50,
  });
  assert.equal(batchLimits({ maxBatchDelayMs: 0.5 }).maxBatchDelayMs, 0.5);
  for (const o of [
    { batchFrames: 0 },
    { batchFrames: 1.5 },
    { batchBytes: -1 },
    { maxBatchDelayMs: Number.POSITIVE_INFINITY },
  ])
    assert.throws(
      () => batchLimits(o),
      (e) => isPipelineError(e) && e.code === 'PCS_CONFIG',
    );
});

test('copies own their bytes: the reused source buffer can change', () => {
  const copier = new RawFrameCopier();
  const buf = new Uint8Array(64).map((_, i) => i);
  const a = copier.copy(frameOver(buf, 4, 8));
  buf.fill(0xff);
  const b = copier.copy(frameOver(buf, 0, 3), 5, 6);
  assert.deepEqual(Array.from(a.data), [4, 5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(Array.from(b.data), [0xff, 0xff, 0xff]);
  assert.equal(a.wirelen, 18);
  assert.equal(a.linkType, 1);
  assert.deepEqual([a.tsSec, a.tsNanos], [1_700_000_000, 123]);
  assert.deepEqual([b.tsSec, b.tsNanos], [5, 6]);
  // Small frames share a slab, one after the other; nothing overlaps.
  assert.equal(a.data.buffer, b.data.buffer);
  assert.equal(b.data.byteOffset, a.data.byteOffset + a.data.length);
});

test('a full slab starts a new one; big frames get their own memory', () => {
  const copier = new RawFrameCopier();
  const buf = new Uint8Array(100_000).fill(7);
  const kept = [];
  for (let i = 0; i < 2 + FRAME_SLAB_BYTES / 1000; i++) kept.push(copier.copy(frameOver(buf, 0, 1000)));
  const buffers = new Set(kept.map((f) => f.data.buffer));
  assert.equal(buffers.size, 2);
  assert.ok(kept.every((f) => f.data.length === 1000 && f.data.every((x) => x === 7)));
  const big = copier.copy(frameOver(buf, 0, 100_000));
  assert.equal(big.data.buffer.byteLength, 100_000);
  const empty = copier.copy(frameOver(buf, 0, 0));
  assert.equal(empty.data.length, 0);
});
