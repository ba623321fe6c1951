import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { isPipelineError } from '../../core/errors.ts';
import { synthesize } from '../../synth/index.ts';
import { PcapWriter } from '../pcap/pcap-writer.ts';
import type { RawFrame } from '../raw-frame.ts';
import { replayCapture } from './replay.ts';

const dir = mkdtempSync(join(tmpdir(), 'replay-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000;

/** A nanosecond pcap with one frame per offset (seconds from T0); frame i holds i in bytes 0-3. */
async function writeCapture(name: string, offsets: number[], size = 100): Promise<string> {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  const w = new PcapWriter(fd, { nanos: true });
  const b = new Uint8Array(size);
  offsets.forEach((off, i) => {
    const ns = Math.round(off * 1e9);
    new DataView(b.buffer).setUint32(0, i);
    w.writePacket(T0 + Math.floor(ns / 1e9), ns % 1e9, b);
  });
  await w.close();
  closeSync(fd);
  return path;
}

/** n offsets evenly spread over `span` seconds. */
function even(n: number, span: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * span) / (n - 1));
}

function tsOf(f: RawFrame): number {
  return f.tsSec - T0 + f.tsNanos / 1e9;
}

function indexOf(f: RawFrame): number {
  return new DataView(f.data.buffer, f.data.byteOffset, 4).getUint32(0);
}

/** Replay and time it on the wall clock; keeps every frame with the time it arrived (ms). */
async function timed(path: string, options: Parameters<typeof replayCapture>[1]) {
  const frames: RawFrame[] = [];
  const arrivals: number[] = [];
  const t0 = performance.now();
  const result = await replayCapture(path, options, (batch) => {
    const t = performance.now() - t0;
    for (const f of batch) {
      frames.push(f);
      arrivals.push(t);
    }
  });
  return { result, frames, arrivals, wall: (performance.now() - t0) / 1000 };
}

// Tolerances: 5 % plus a constant for a busy 2-core machine (file open, compilation, a stall of
// the machine that moves the schedule). A pacer that ignores timing, or one that sleeps per
// packet with relative sleeps whose errors add up, falls outside them.
const SLACK_S = 0.08;

function assertNear(actual: number, expected: number, what: string, r?: { shiftedMs: number }): void {
  const lo = expected * 0.95;
  // A stall of the machine (another process taking both cores) moves the schedule instead of
  // causing a burst; the replay reports by how much, and that time is not its own lateness.
  const hi = expected * 1.05 + SLACK_S + (r === undefined ? 0 : r.shiftedMs / 1000);
  const shifted = r === undefined ? '' : `, schedule moved ${r.shiftedMs.toFixed(1)} ms`;
  assert.ok(
    actual >= lo && actual <= hi,
    `${what}: ${actual.toFixed(4)} s, expected ${expected} s (${lo}..${hi})${shifted}`,
  );
}

test('recorded speed: a 1.0 s capture takes 1.0 s, each frame close to its time', async () => {
  const path = await writeCapture('even-1s.pcap', even(1000, 1.0));
  const { result, frames, arrivals, wall } = await timed(path, {});
  assert.equal(result.frames, 1000);
  assert.equal(frames.length, 1000);
  assertNear(wall, 1.0, 'wall time', result);
  assertNear(result.elapsedSec, 1.0, 'elapsedSec');
  assert.ok(Math.abs(result.captureSpanSec - 1.0) < 1e-9, `span ${result.captureSpanSec}`);
  // The frame at capture time 0.5 s arrives about 0.5 s after the first one (later by as much as
  // a machine stall moved the schedule, which the replay reports).
  const mid = arrivals[500]! - arrivals[0]!;
  assert.ok(
    mid > 450 && mid < 560 + result.shiftedMs,
    `frame 500 after ${mid} ms, schedule moved ${result.shiftedMs.toFixed(1)} ms`,
  );
  assert.ok(result.meanLatenessMs < 5, `mean lateness ${result.meanLatenessMs} ms`);
  assert.ok(result.maxLatenessMs < 100, `max lateness ${result.maxLatenessMs} ms`);
  assert.ok(result.batches > 200, `frames due at different ms go out apart: ${result.batches} batches`);
  assert.deepEqual(
    frames.map(indexOf),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  assert.ok(Math.abs(result.pps - 1000) < 100, `achieved ${result.pps} pps`);
});

test('multiplier 4 plays four times faster, 0.5 half as fast', async () => {
  const path = await writeCapture('even-1s-m.pcap', even(1000, 1.0));
  const fast = await timed(path, { multiplier: 4 });
  assertNear(fast.wall, 0.25, 'multiplier 4', fast.result);
  assert.equal(fast.result.frames, 1000);
  const short = await writeCapture('even-02s.pcap', even(100, 0.2));
  const slow = await timed(short, { multiplier: 0.5 });
  assertNear(slow.wall, 0.4, 'multiplier 0.5', slow.result);
});

test('pps: 1000 frames at 2000 pps take 0.5 s whatever the timestamps', async () => {
  // Timestamps span 100 s: a pacer that follows them instead would take far longer.
  const path = await writeCapture('pps.pcap', even(1000, 100));
  const { result, wall } = await timed(path, { pps: 2000 });
  assert.equal(result.frames, 1000);
  assertNear(wall, 0.5, 'pps 2000', result);
  assert.ok(Math.abs(result.pps - 2000) < 150, `achieved ${result.pps} pps`);
  assert.ok(result.meanLatenessMs < 5, `mean lateness ${result.meanLatenessMs} ms`);
});

test('mbps: the rate applies to wire length', async () => {
  // 500 frames × 1000 bytes = 4 Mbit; at 10 Mbit/s that is 0.4 s.
  const path = await writeCapture('mbps.pcap', even(500, 50), 1000);
  const { result, wall } = await timed(path, { mbps: 10 });
  assert.equal(result.wireBytes, 500 * 1000);
  assertNear(wall, 0.4, 'mbps 10', result);
  assert.ok(Math.abs(result.mbps - 10) < 1, `achieved ${result.mbps} Mbit/s`);
});

test('topspeed does not wait, and fills batches to the frame and byte limits', async () => {
  const path = await writeCapture('top.pcap', even(5000, 1000), 300);
  const sizes: number[] = [];
  const t0 = performance.now();
  const r = await replayCapture(path, { topspeed: true, batchFrames: 1000, batchBytes: 90_000 }, (b) => {
    sizes.push(b.length);
  });
  assert.ok(performance.now() - t0 < 500, 'a 1000 s capture at topspeed is not paced');
  assert.equal(r.frames, 5000);
  assert.equal(r.bytes, 5000 * 300);
  // 90,000 bytes of 300-byte frames: the byte limit closes batches at 300 frames.
  assert.ok(
    sizes.slice(0, -1).every((n) => n === 300),
    `batch sizes ${sizes.join(',')}`,
  );
  const r2 = await replayCapture(path, { topspeed: true, batchFrames: 64 }, (b) => {
    assert.ok(b.length <= 64);
  });
  assert.equal(r2.batches, Math.ceil(5000 / 64));
  assert.equal(r2.meanLatenessMs, 0);
});

test('loop 3: three passes, timestamps shifted by span + 1 s each pass', async () => {
  const offsets = even(50, 1.0);
  const path = await writeCapture('loop.pcap', offsets);
  const { result, frames, wall } = await timed(path, { loop: 3, multiplier: 10 });
  assert.equal(result.passes, 3);
  assert.equal(frames.length, 150);
  for (let i = 1; i < frames.length; i++)
    assert.ok(tsOf(frames[i]!) > tsOf(frames[i - 1]!), `time goes back at frame ${i}`);
  for (let k = 0; k < 3; k++) {
    for (let i = 0; i < 50; i++) {
      const got = tsOf(frames[k * 50 + i]!);
      assert.ok(Math.abs(got - (offsets[i]! + k * 2.0)) < 1e-6, `pass ${k} frame ${i}: ${got}`);
    }
  }
  // No wall-clock pause between passes: 3 × 0.1 s.
  assertNear(wall, 0.3, 'loop 3 at multiplier 10', result);
});

test('loop 0 repeats until stopped', async () => {
  const path = await writeCapture('forever.pcap', even(10, 0.01));
  let seen = 0;
  const r = await replayCapture(path, { loop: 0, topspeed: true, shouldStop: () => seen >= 1000 }, (b) => {
    seen += b.length;
  });
  assert.ok(r.stoppedEarly);
  assert.ok(r.passes >= 100, `${r.passes} passes`);
  assert.equal(r.frames, seen);
});

test('timestamps going back are sent at once and do not break the schedule', async () => {
  // Frame 2 is 5 s in the past: it must not wait, and must not push later frames back.
  const path = await writeCapture('backwards.pcap', [0, 0.1, -5, 0.2, 0.15, 0.3]);
  const { result, frames, arrivals, wall } = await timed(path, {});
  assert.equal(frames.length, 6);
  assert.deepEqual(frames.map(indexOf), [0, 1, 2, 3, 4, 5]);
  assertNear(wall, 0.3, 'out-of-order capture', result);
  assert.ok(arrivals[2]! - arrivals[1]! < 20, 'the frame that went back was not held');
  assert.ok(arrivals[3]! - arrivals[0]! > 180, 'the frame after it kept its time');
  assert.ok(Math.abs(result.captureSpanSec - 5.3) < 1e-6, `span ${result.captureSpanSec}`);
});

test('a slow consumer slows the replay; the schedule moves instead of bursting', async () => {
  const path = await writeCapture('stall.pcap', even(200, 0.4));
  let stalled = false;
  const batches: RawFrame[][] = [];
  const t0 = performance.now();
  const r = await replayCapture(path, {}, async (b) => {
    batches.push(b);
    if (!stalled && indexOf(b[0]!) >= 50) {
      stalled = true;
      await delay(300);
    }
  });
  const wall = (performance.now() - t0) / 1000;
  assertNear(wall, 0.7, 'replay with a 300 ms stall');
  assert.ok(r.shiftedMs > 250, `schedule moved by ${r.shiftedMs} ms`);
  // Frames are 2 ms apart: the 300 ms stall missed 150 of them. Catching up jitter below
  // maxLagMs (20 ms) may bunch ~10; a burst of the missed frames would be 150.
  const biggest = Math.max(...batches.map((b) => b.length));
  assert.ok(biggest < 30, `no burst of missed frames after the stall (largest batch ${biggest})`);
  assert.ok(r.meanLatenessMs < 5, `lateness is measured against the moved schedule: ${r.meanLatenessMs}`);

  // maxLagMs Infinity catches up: the replay keeps the capture's length, with one burst.
  stalled = false;
  batches.length = 0;
  const t1 = performance.now();
  await replayCapture(path, { maxLagMs: Number.POSITIVE_INFINITY }, async (b) => {
    batches.push(b);
    if (!stalled && indexOf(b[0]!) >= 50) {
      stalled = true;
      await delay(300);
    }
  });
  assertNear((performance.now() - t1) / 1000, 0.4, 'catch-up replay');
  assert.ok(Math.max(...batches.map((b) => b.length)) > 100, 'missed frames caught up in a burst');
});

test('topspeed into a consumer that sleeps runs at the consumer pace', async () => {
  const path = await writeCapture('bp.pcap', even(2000, 1), 200);
  const t0 = performance.now();
  let inFlight = 0;
  const r = await replayCapture(path, { topspeed: true, batchFrames: 200 }, async () => {
    inFlight++;
    assert.equal(inFlight, 1, 'a batch is never delivered before the previous promise settles');
    await delay(20);
    inFlight--;
  });
  assert.equal(r.batches, 10);
  assert.ok(performance.now() - t0 >= 190, 'ten batches at 20 ms each');
});

test('a truncated capture delivers the frames before the damage, then reports it', async () => {
  const whole = await writeCapture('whole.pcap', even(20, 0.02), 100);
  const bytes = readFileSync(whole);
  // 24-byte header, 116-byte records: cut in the middle of record 13 (index 12).
  const cut = join(dir, 'cut.pcap');
  writeFileSync(cut, bytes.subarray(0, 24 + 12 * 116 + 50));
  const frames: RawFrame[] = [];
  const r = await replayCapture(cut, { topspeed: true }, (b) => {
    frames.push(...b);
  });
  assert.equal(frames.length, 12);
  assert.ok(r.truncated !== null);
  assert.equal(r.truncated.code, 'PCS_SOURCE_TRUNCATED');
  assert.equal(r.truncated.frames, 12);
  assert.match(r.truncated.message, /truncated at byte 1416/);
  assert.equal(r.input.name, cut);
  // Looping goes on over the good part.
  const looped = await replayCapture(cut, { topspeed: true, loop: 2 }, () => {});
  assert.equal(looped.frames, 24);
  assert.ok(looped.truncated !== null);
});

test('gzip input and a synthetic capture replay in full, at recorded speed', async () => {
  const out = join(dir, 'synth.pcap');
  const truth = await synthesize({ out, packets: 3000, seed: 5 });
  writeFileSync(`${out}.gz`, gzipSync(readFileSync(out)));
  const { result, wall } = await timed(`${out}.gz`, {});
  assert.equal(result.frames, truth.packets);
  assert.ok(result.captureSpanSec > 0.02, `span ${result.captureSpanSec}`);
  assertNear(wall, result.captureSpanSec, 'synthetic capture', result);
  assert.equal(result.parser.stats.format, 'pcap');
});

test('an abort signal stops a paced replay at once', async () => {
  const path = await writeCapture('long.pcap', even(100, 10));
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 150);
  const { result, wall } = await timed(path, { signal: ac.signal });
  assert.ok(wall < 0.4, `stopped after ${wall} s`);
  assert.ok(result.stoppedEarly);
  assert.ok(result.frames > 0 && result.frames < 100, `${result.frames} frames`);
});

test('bad options are PCS_CONFIG errors', async () => {
  const path = await writeCapture('opts.pcap', [0, 1]);
  const bad: Parameters<typeof replayCapture>[1][] = [
    { pps: 10, mbps: 1 },
    { multiplier: 2, topspeed: true },
    { pps: 0 },
    { multiplier: -1 },
    { mbps: Number.NaN },
    { loop: 1.5 },
    { batchFrames: 0 },
    { coalesceMs: 100 },
    { maxLagMs: -1 },
  ];
  for (const o of bad) {
    await assert.rejects(
      replayCapture(path, o, () => {}),
      (e) => isPipelineError(e) && e.code === 'PCS_CONFIG',
      JSON.stringify(o),
    );
  }
  await assert.rejects(
    replayCapture('-', { loop: 2 }, () => {}),
    (e) => isPipelineError(e) && e.code === 'PCS_CONFIG' && /stdin/.test(e.message),
  );
  await assert.rejects(
    replayCapture(join(dir, 'missing.pcap'), {}, () => {}),
    (e) => isPipelineError(e) && e.code === 'PCS_SOURCE_OPEN',
  );
});
