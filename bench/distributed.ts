/**
 * End-to-end throughput through a real Kafka broker: `replay --topspeed` → N `process` members →
 * the flows topic, with 1 and 2 processors, timed from the replay's start until every processor
 * has finished the capture (`--exit-on-end`). Peak RSS of each role is sampled from /proc.
 * Also measures memory under a slow consumer: a top-speed replay into a group that starts only
 * after the replay is done, so the whole capture waits in the broker (not in our processes).
 *
 *   node bench/distributed.ts --capture FILE --packets N [--runs 1]
 *
 * `bench/pipeline.ts` calls `benchDistributed()` on its capture.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KafkaBroker } from '../scripts/brokers/kafka.ts';
import { synthesize } from '../src/synth/index.ts';

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

export interface DistributedRow {
  name: string;
  seconds: number;
  packetsPerS: number;
  /** Peak RSS per role, MB. */
  rss: Record<string, number>;
  note: string;
}

interface Watched {
  child: ChildProcess;
  done: Promise<number | null>;
  peakKB: () => number;
  stderr: () => string;
}

function start(args: string[]): Watched {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m !== null) peak = Math.max(peak, Number(m[1]));
    } catch {
      // exited
    }
  }, 100);
  const done = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      clearInterval(timer);
      resolve(code);
    });
  });
  return { child, done, peakKB: () => peak, stderr: () => err };
}

async function must(w: Watched, what: string): Promise<void> {
  const code = await w.done;
  if (code !== 0) throw new Error(`${what} exited ${code}: ${w.stderr()}`);
}

let runId = 0;

async function pipeline(
  url: string,
  capture: string,
  processors: number,
  delayProcessors: boolean,
): Promise<{ seconds: number; rss: Record<string, number> }> {
  const prefix = `bench${process.pid}x${++runId}`;
  const common = ['--topic-prefix', prefix, '--heartbeat-every', '0'];
  const procArgs = ['process', '--from', url, '--group', 'bench', '--exit-on-end', ...common];
  const t0 = performance.now();
  const procs: Watched[] = delayProcessors ? [] : Array.from({ length: processors }, () => start(procArgs));
  const replay = start(['replay', capture, '--to', url, '--topspeed', '--partitions', '4', ...common]);
  await must(replay, 'replay');
  if (delayProcessors) for (let i = 0; i < processors; i++) procs.push(start(procArgs));
  for (const p of procs) await must(p, 'process');
  const seconds = (performance.now() - t0) / 1000;
  const rss: Record<string, number> = { replay: replay.peakKB() / 1024 };
  procs.forEach((p, i) => {
    rss[`process ${i + 1}`] = p.peakKB() / 1024;
  });
  return { seconds, rss };
}

/** Runs the distributed benchmark on `capture` (`packets` frames) and returns its rows. */
export async function benchDistributed(capture: string, packets: number, runs = 1): Promise<DistributedRow[]> {
  const broker = await KafkaBroker.start({ heapMb: 1024 });
  const rows: DistributedRow[] = [];
  try {
    // Warm-up: a broker's first consumer group creates __consumer_offsets (seconds), which is
    // set-up, not throughput.
    const warm = `${capture}.warmup.pcap`;
    await synthesize({ out: warm, packets: 2000, seed: 1 });
    await pipeline(broker.url, warm, 1, false);
    fs.rmSync(warm, { force: true });
    fs.rmSync(`${warm}.truth.json`, { force: true });
    for (const n of [1, 2]) {
      let best: { seconds: number; rss: Record<string, number> } | null = null;
      const times: number[] = [];
      for (let r = 0; r < runs; r++) {
        const res = await pipeline(broker.url, capture, n, false);
        times.push(res.seconds);
        if (best === null || res.seconds < best.seconds) best = res;
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)]!;
      rows.push({
        name: `Kafka: replay --topspeed → ${n} process`,
        seconds: median,
        packetsPerS: packets / median,
        rss: best!.rss,
        note: `median of ${runs}`,
      });
    }
    // Slow consumer: everything waits in Kafka while the processors are absent.
    const slow = await pipeline(broker.url, capture, 1, true);
    rows.push({
      name: 'Kafka: replay first, 1 process after (backlog = whole capture)',
      seconds: slow.seconds,
      packetsPerS: packets / slow.seconds,
      rss: slow.rss,
      note: 'memory under a full backlog',
    });
  } finally {
    await broker.stop();
    await broker.cleanup();
  }
  return rows;
}

export function distributedMarkdown(rows: DistributedRow[]): string {
  const lines = ['| pipeline | wall s | packets/s | peak RSS (MB) |', '| --- | --- | --- | --- |'];
  for (const r of rows) {
    const rss = Object.entries(r.rss)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(', ');
    lines.push(
      `| ${r.name} | ${r.seconds.toFixed(2)} | ${Math.round(r.packetsPerS).toLocaleString('en-US')} | ${rss} |`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const capture = opt('capture');
  const packets = Number(opt('packets'));
  if (capture === undefined || !Number.isFinite(packets)) {
    process.stderr.write('usage: node bench/distributed.ts --capture FILE --packets N [--runs R]\n');
    process.exit(2);
  }
  const rows = await benchDistributed(capture, packets, Number(opt('runs') ?? '1'));
  process.stdout.write(`${distributedMarkdown(rows)}\n`);
}
