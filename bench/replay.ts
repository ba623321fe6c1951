/**
 * Replay benchmark: pacing accuracy of `replayCapture` in each timing mode, and its topspeed
 * rate and memory on the ~1 GB bench capture.
 *
 *   node bench/replay.ts                      # accuracy runs + topspeed on the bench capture
 *   node bench/replay.ts --bytes 200000000    # smaller bench capture
 *   node bench/replay.ts --skip-topspeed      # accuracy runs only
 *
 * Accuracy runs replay a synthetic capture of 100,000 packets (~2.5 s of traffic) and report
 * the mean and largest lateness of frames against their scheduled time. Topspeed runs replay
 * the bench capture (made like `npm run bench` makes it, if missing) into a consumer that does
 * nothing, then into one that sleeps 2 ms per batch, reporting frames/s and RSS growth.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ReplayOptions, ReplayResult } from '../src/sources/replay/replay.ts';
import { replayCapture } from '../src/sources/replay/replay.ts';
import { synthesize } from '../src/synth/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const targetBytes = Number(opt('bytes', String(1_000_000_000)));
const seed = Number(opt('seed', '42'));
const dataDir = path.join(root, 'bench', 'data');
const benchCapture = path.join(dataDir, `synth-${targetBytes}-s${seed}.pcap`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-replay-'));
const small = path.join(tmp, 'accuracy.pcap');

function line(name: string, r: ReplayResult, extra = ''): void {
  process.stdout.write(
    `${name.padEnd(26)} ${r.frames.toString().padStart(9)} frames  span ${r.captureSpanSec.toFixed(3)} s  ` +
      `took ${r.elapsedSec.toFixed(3)} s  ${Math.round(r.pps).toString().padStart(8)} pps  ${r.mbps.toFixed(1).padStart(7)} Mbit/s  ` +
      `lateness mean ${r.meanLatenessMs.toFixed(3)} ms max ${r.maxLatenessMs.toFixed(2)} ms  moved ${r.shiftedMs.toFixed(1)} ms${extra}\n`,
  );
}

try {
  await synthesize({ out: small, packets: 100_000, seed: 7 });
  const runs: [string, ReplayOptions][] = [
    ['multiplier 1', {}],
    ['multiplier 10', { multiplier: 10 }],
    ['pps 20000', { pps: 20_000 }],
    ['mbps 100', { mbps: 100 }],
  ];
  for (const [name, o] of runs) line(name, await replayCapture(small, o, () => {}));

  if (!args.includes('--skip-topspeed')) {
    if (!fs.existsSync(benchCapture)) {
      process.stderr.write(`generating ${path.relative(root, benchCapture)} ...\n`);
      fs.mkdirSync(dataDir, { recursive: true });
      await synthesize({ out: benchCapture, bytes: targetBytes, seed });
    }
    for (const sleepMs of [0, 2]) {
      const rss0 = process.memoryUsage().rss;
      let maxRss = rss0;
      const r = await replayCapture(benchCapture, { topspeed: true }, async () => {
        maxRss = Math.max(maxRss, process.memoryUsage().rss);
        if (sleepMs > 0) await delay(sleepMs);
      });
      const name = sleepMs === 0 ? 'topspeed' : `topspeed, ${sleepMs} ms/batch`;
      line(
        name,
        r,
        `  ${(r.bytes / r.elapsedSec / 1e6).toFixed(0)} MB/s  RSS +${((maxRss - rss0) / 2 ** 20).toFixed(0)} MiB`,
      );
    }
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
