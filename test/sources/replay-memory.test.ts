/**
 * Back-pressure keeps a replay's memory flat: a 300 MB capture replayed at topspeed into a
 * consumer that sleeps never has more than a few MB of frames alive. (`bench/replay.ts` does the
 * same on the 1 GB bench capture and reports the rate.)
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PcapWriter } from '../../src/sources/pcap/pcap-writer.ts';
import { replayCapture } from '../../src/sources/replay/replay.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const dir = mkdtempSync(join(tmpdir(), 'replay-mem-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FRAMES = 200_000;
const FRAME_BYTES = 1500;
const MB = 1024 * 1024;

test('a 300 MB replay into a sleeping consumer keeps memory flat', async (t) => {
  const path = join(dir, 'big.pcap');
  const fd = openSync(path, 'w');
  const w = new PcapWriter(fd);
  const b = new Uint8Array(FRAME_BYTES);
  for (let i = 0; i < FRAMES; i++) {
    b[i % FRAME_BYTES] = i & 0xff;
    w.writePacket(1_700_000_000 + Math.floor(i / 1000), (i % 1000) * 1_000_000, b);
  }
  await w.close();
  closeSync(fd);

  gc();
  const rss0 = process.memoryUsage().rss;
  let maxRss = rss0;
  let maxLive = 0;
  let batches = 0;
  const t0 = performance.now();
  const r = await replayCapture(path, { topspeed: true }, async () => {
    batches++;
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
    if (batches % 25 === 0) {
      // What is still reachable: a leaky source would hold hundreds of MB here.
      gc();
      const m = process.memoryUsage();
      maxLive = Math.max(maxLive, m.heapUsed + m.arrayBuffers);
    }
    await delay(2);
  });
  const seconds = (performance.now() - t0) / 1000;
  assert.equal(r.frames, FRAMES);
  assert.equal(r.bytes, FRAMES * FRAME_BYTES);
  // ~290 batches of 1 MiB, each holding the consumer 2 ms: the replay waited for it.
  assert.ok(seconds >= (batches * 2) / 1000, `${seconds} s for ${batches} batches`);
  assert.ok(maxLive < 48 * MB, `live heap + array buffers peaked at ${(maxLive / MB).toFixed(1)} MB`);
  const growth = (maxRss - rss0) / MB;
  t.diagnostic(
    `live ${(maxLive / MB).toFixed(1)} MB, rss growth ${growth.toFixed(1)} MB, ${seconds.toFixed(2)} s, ${batches} batches`,
  );
  assert.ok(
    growth < 50,
    `RSS grew by ${growth.toFixed(1)} MB replaying ${((FRAMES * FRAME_BYTES) / MB).toFixed(0)} MB`,
  );
});
