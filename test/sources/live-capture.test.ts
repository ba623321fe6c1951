/**
 * Live capture through the real tcpdump on the loopback interface. Needs root (CI runs as root):
 * as another user these tests fail and say so, rather than skip.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { isPipelineError } from '../../src/core/errors.ts';
import { PacketContext } from '../../src/core/packet.ts';
import { Frame } from '../../src/core/source.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';
import type { LiveCaptureError } from '../../src/sources/live/tcpdump.ts';
import { captureLive } from '../../src/sources/live/tcpdump.ts';
import type { RawFrame } from '../../src/sources/raw-frame.ts';

const IPPROTO_UDP = 17;
const dir = mkdtempSync(join(tmpdir(), 'live-capture-'));
after(() => rmSync(dir, { recursive: true, force: true }));

before(() => {
  assert.equal(
    process.getuid?.(),
    0,
    'live capture tests need root (capturing on lo needs CAP_NET_RAW): run them as root, as CI does',
  );
});

/** A UDP port nobody listens on now: bind to 0, note the port, close. */
async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function sendDatagrams(port: number, count: number, tag: string): Promise<void> {
  const s = dgram.createSocket('udp4');
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) =>
      s.send(`${tag} ${i}`, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
    );
  }
  await new Promise<void>((resolve) => s.close(() => resolve()));
}

function decode(f: RawFrame): PacketContext {
  const fr = new Frame();
  fr.buf = f.data;
  fr.off = 0;
  fr.caplen = f.data.length;
  fr.wirelen = f.wirelen;
  fr.tsSec = f.tsSec;
  fr.tsNanos = f.tsNanos;
  fr.tsDigits = 9;
  fr.linkType = f.linkType;
  const p = new PacketContext();
  decodeFrame(p, fr);
  return p;
}

test('captures exactly the datagrams the BPF filter selects, with the kernel counters', async (t) => {
  const port = await freePort();
  let other = await freePort();
  while (other === port) other = await freePort();
  const frames: RawFrame[] = [];
  const batchSizes: number[] = [];
  const cap = captureLive({
    interface: 'lo',
    filter: `udp and dst port ${port}`,
    onBatch: (b) => {
      batchSizes.push(b.length);
      frames.push(...b);
    },
  });
  await cap.ready;
  const t0 = Date.now();
  await sendDatagrams(port, 200, 'wanted');
  await sendDatagrams(other, 50, 'other');
  // Wait for the frames rather than a fixed time, then stop.
  while (frames.length < 200 && Date.now() - t0 < 5000) await delay(20);
  const mid = await cap.stats();
  assert.equal(mid.captured, 200, 'SIGUSR1 counters while running');
  cap.stop();
  const r = await cap;

  assert.equal(frames.length, 200);
  assert.equal(r.frames, 200);
  assert.equal(r.linkType, 1, 'lo is captured as Ethernet');
  for (const f of frames) {
    const p = decode(f);
    assert.equal(p.ipVersion, 4);
    assert.equal(p.protocol, IPPROTO_UDP);
    assert.equal(p.dstPort, port);
    assert.equal(f.data.length, f.wirelen, 'nothing cut at the default snaplen');
  }
  const payloads = frames.map((f) => Buffer.from(f.data.subarray(42)).toString());
  assert.deepEqual(
    payloads,
    Array.from({ length: 200 }, (_, i) => `wanted ${i}`),
  );
  // Timestamps are nanosecond kernel times from this run.
  const now = Date.now() / 1000;
  assert.ok(frames.every((f) => Math.abs(f.tsSec - now) < 60 && f.tsNanos >= 0 && f.tsNanos < 1e9));
  assert.ok(r.kernel !== null, 'final counters reported');
  assert.equal(r.kernel.captured, 200);
  assert.equal(typeof r.kernel.droppedByKernel, 'number');
  t.diagnostic(
    `kernel: ${r.kernel.captured} captured, ${r.kernel.receivedByFilter} received by filter, ${r.kernel.droppedByKernel} dropped`,
  );
  assert.ok(r.kernel.receivedByFilter >= 200);
  // 200 datagrams sent in a few ms go out in few batches, well under one per frame.
  assert.ok(batchSizes.length < 200, `${batchSizes.length} batches`);
  assert.deepEqual(r.messages, [], 'the banner and counters are not passed on as messages');
});

test('a low-rate stream is not held back for a full batch', async () => {
  const port = await freePort();
  const arrivals: number[] = [];
  const ac = new AbortController();
  const cap = captureLive({
    interface: 'lo',
    filter: `udp and dst port ${port}`,
    maxBatchDelayMs: 20,
    signal: ac.signal,
    onBatch: (b) => {
      for (const _ of b) arrivals.push(Date.now());
    },
  });
  await cap.ready;
  const sent = Date.now();
  await sendDatagrams(port, 1, 'one');
  while (arrivals.length === 0 && Date.now() - sent < 3000) await delay(5);
  ac.abort();
  const r = await cap;
  assert.equal(r.frames, 1);
  assert.ok(arrivals[0]! - sent < 500, `delivered ${arrivals[0]! - sent} ms after it was sent`);
});

test('a slow consumer gets one batch at a time, and every frame', async () => {
  const port = await freePort();
  let inFlight = 0;
  let delivered = 0;
  const cap = captureLive({
    interface: 'lo',
    filter: `udp and dst port ${port}`,
    batchFrames: 10,
    onBatch: async (b) => {
      inFlight++;
      assert.equal(inFlight, 1, 'one batch at a time');
      await delay(10);
      delivered += b.length;
      inFlight--;
    },
  });
  await cap.ready;
  await sendDatagrams(port, 100, 'slow');
  const t0 = Date.now();
  while (delivered < 100 && Date.now() - t0 < 5000) await delay(10);
  cap.stop();
  const r = await cap;
  assert.equal(r.frames, 100);
  assert.ok(r.batches >= 10);
});

test('shouldStop ends the capture; stats() afterwards gives the final counters', async () => {
  const port = await freePort();
  let stop = false;
  const cap = captureLive({
    interface: 'lo',
    filter: `udp and dst port ${port}`,
    shouldStop: () => stop,
    onBatch: () => {},
  });
  await cap.ready;
  await sendDatagrams(port, 3, 'bye');
  await delay(100);
  stop = true;
  const r = await cap;
  assert.ok(r.kernel !== null);
  assert.equal(r.kernel.captured, 3);
  assert.equal(r.frames, 3);
  assert.deepEqual(await cap.stats(), r.kernel);
});

test('an already aborted signal ends the capture before it begins', async () => {
  const ac = new AbortController();
  ac.abort();
  const cap = captureLive({ interface: 'lo', signal: ac.signal, onBatch: () => {} });
  const r = await cap;
  assert.equal(r.frames, 0);
  await assert.rejects(cap.ready, /stopped before it began/);
});

test('a nonexistent interface is a clear PCS_SOURCE_OPEN error', async () => {
  const cap = captureLive({ interface: 'nosuchif0', onBatch: () => {} });
  await assert.rejects(cap, (e: LiveCaptureError) => {
    assert.ok(isPipelineError(e));
    assert.equal(e.code, 'PCS_SOURCE_OPEN');
    assert.equal(e.reason, 'no-such-interface');
    assert.match(e.message, /nosuchif0: no such interface/);
    return true;
  });
  await assert.rejects(cap.ready);
});

test('a bad filter is a PCS_CONFIG error carrying tcpdump’s message', async () => {
  await assert.rejects(
    captureLive({ interface: 'lo', filter: 'udp and and', onBatch: () => {} }),
    (e: LiveCaptureError) => {
      assert.equal(e.code, 'PCS_CONFIG');
      assert.equal(e.reason, 'bad-filter');
      assert.match(e.message, /bad capture filter "udp and and": .*syntax error/);
      return true;
    },
  );
  await assert.rejects(
    captureLive({ interface: 'lo', filter: 'udp port 99999', onBatch: () => {} }),
    (e: LiveCaptureError) => e.reason === 'bad-filter' && /99999/.test(e.message),
  );
  // A filter that looks like an option stays a filter: nothing is written to `target`.
  const target = join(dir, 'not-written.pcap');
  await assert.rejects(
    captureLive({ interface: 'lo', filter: `-w ${target}`, onBatch: () => {} }),
    (e: LiveCaptureError) => e.reason === 'bad-filter',
  );
  assert.equal(existsSync(target), false);
  assert.equal(existsSync(` ${target}`), false);
});

test('capturing without the right to is a permission error', async () => {
  // The real tcpdump, run as nobody through setpriv.
  const wrapper = join(dir, 'tcpdump-as-nobody');
  writeFileSync(wrapper, '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups tcpdump "$@"\n');
  chmodSync(wrapper, 0o755);
  await assert.rejects(
    captureLive({ interface: 'lo', onBatch: () => {}, tcpdumpPath: wrapper }),
    (e: LiveCaptureError) => {
      assert.equal(e.code, 'PCS_SOURCE_OPEN');
      assert.equal(e.reason, 'permission');
      assert.match(e.message, /not permitted to capture on lo/);
      return true;
    },
  );
});

test('a missing tcpdump is reported as not installed', async () => {
  await assert.rejects(
    captureLive({ interface: 'lo', onBatch: () => {}, tcpdumpPath: join(dir, 'no-tcpdump-here') }),
    (e: LiveCaptureError) =>
      e.code === 'PCS_SOURCE_OPEN' && e.reason === 'not-installed' && /not installed/.test(e.message),
  );
});

test('an error thrown by onBatch ends the capture and rejects with it', async () => {
  const port = await freePort();
  const cap = captureLive({
    interface: 'lo',
    filter: `udp and dst port ${port}`,
    onBatch: () => {
      throw new Error('sink broke');
    },
  });
  await cap.ready;
  await sendDatagrams(port, 5, 'x');
  await assert.rejects(cap, /sink broke/);
});
