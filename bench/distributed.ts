/**
 * End-to-end throughput through a real Kafka broker: `replay --topspeed` → N `process` members →
 * the flows topic, with 1 and 2 processors, timed from the replay's start until every processor
 * has finished the capture (`--exit-on-end`). Peak RSS of each role is sampled from /proc.
 * Also measures memory under a slow consumer: a top-speed replay into a group that starts only
 * after the replay is done, so the whole capture waits in the broker (not in our processes).
 * Every role runs under GNU time (its CPU and peak RSS); the broker's CPU comes from /proc.
 * Last, the broker's own cost for the capture's bytes, fed by Kafka's Java load generators
 * instead of pcapstream: what any client would leave of two shared cores.
 *
 *   node bench/distributed.ts --capture FILE --packets N [--runs 1]
 *   node bench/distributed.ts --capture FILE --packets N --runs 3 --floor-only   # the broker's cost only
 *
 * `bench/pipeline.ts` calls `benchDistributed()` on its capture.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Admin } from '@platformatic/kafka';
import { KAFKA_LIB_DIR, KAFKA_MAX_MESSAGE_BYTES, KafkaBroker } from '../scripts/brokers/kafka.ts';
import { javaBin } from '../scripts/brokers/server-process.ts';
import { synthesize } from '../src/synth/index.ts';

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
/** USER_HZ, the unit of /proc's CPU times: 100 on every Linux ABI. */
const CLOCK_TICKS = 100;

export interface DistributedRow {
  name: string;
  seconds: number;
  packetsPerS: number;
  /** Peak RSS per role, MB. */
  rss: Record<string, number>;
  /** CPU seconds per role and the broker's, in the run shown (the fastest). */
  cpu: Record<string, number>;
  note: string;
}

/**
 * What the broker alone costs to carry the capture's bytes, measured with Kafka's own Java
 * load generators (`kafka-tools`: ProducerPerformance, ConsumerPerformance) so no pcapstream
 * code is involved: records of the size of a packet batch, acks from all replicas.
 */
export interface BrokerFloor {
  bytes: number;
  recordBytes: number;
  /** Broker CPU seconds to take the bytes in, and to hand them to one consumer. */
  inCpuS: number;
  outCpuS: number;
  /** Wall seconds of the producer and the consumer runs. */
  inS: number;
  outS: number;
}

interface Watched {
  child: ChildProcess;
  done: Promise<number | null>;
  peakKB: () => number;
  /** User + system CPU seconds of the role, known once it has exited. */
  cpuS: () => number;
  stderr: () => string;
}

/** The line GNU time appends to a role's stderr: user s, system s, peak RSS KB. */
const TIME_MARK = 'PCS_BENCH_TIME';

/** Starts a role under GNU time, which reports its CPU and peak RSS when it exits. */
function start(args: string[]): Watched {
  const child = spawn('/usr/bin/time', ['-f', `\n${TIME_MARK} %U %S %M`, process.execPath, cli, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  let peak = 0;
  let cpu = Number.NaN;
  const done = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      const m = new RegExp(`${TIME_MARK} ([\\d.]+) ([\\d.]+) (\\d+)`).exec(err);
      if (m !== null) {
        cpu = Number(m[1]) + Number(m[2]);
        peak = Number(m[3]);
        err = err.slice(0, m.index);
      }
      resolve(code);
    });
  });
  return { child, done, peakKB: () => peak, cpuS: () => cpu, stderr: () => err };
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function processCpuS(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}

async function must(w: Watched, what: string): Promise<void> {
  const code = await w.done;
  if (code !== 0) throw new Error(`${what} exited ${code}: ${w.stderr()}`);
}

let runId = 0;

interface PipelineRun {
  seconds: number;
  rss: Record<string, number>;
  cpu: Record<string, number>;
}

async function pipeline(
  broker: KafkaBroker,
  capture: string,
  processors: number,
  delayProcessors: boolean,
): Promise<PipelineRun> {
  const url = broker.url;
  const prefix = `bench${process.pid}x${++runId}`;
  const common = ['--topic-prefix', prefix, '--heartbeat-every', '0'];
  const procArgs = ['process', '--from', url, '--group', 'bench', '--exit-on-end', ...common];
  const broker0 = processCpuS(broker.pid);
  const t0 = performance.now();
  const procs: Watched[] = delayProcessors ? [] : Array.from({ length: processors }, () => start(procArgs));
  const replay = start(['replay', capture, '--to', url, '--topspeed', '--partitions', '4', ...common]);
  await must(replay, 'replay');
  if (delayProcessors) for (let i = 0; i < processors; i++) procs.push(start(procArgs));
  for (const p of procs) await must(p, 'process');
  const seconds = (performance.now() - t0) / 1000;
  const rss: Record<string, number> = { replay: replay.peakKB() / 1024 };
  const cpu: Record<string, number> = { replay: replay.cpuS() };
  procs.forEach((p, i) => {
    rss[`process ${i + 1}`] = p.peakKB() / 1024;
    cpu[`process ${i + 1}`] = p.cpuS();
  });
  cpu.broker = processCpuS(broker.pid) - broker0;
  return { seconds, rss, cpu };
}

/** Runs one of Kafka's tools (a class of `kafka-tools`) and returns its wall seconds. */
async function kafkaTool(cls: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  const child = spawn(javaBin(), ['-Xmx1g', '-cp', `${KAFKA_LIB_DIR}/*`, cls, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`${cls} exited ${code}: ${out.slice(-2000)}`);
  return (performance.now() - t0) / 1000;
}

/** The broker's own CPU to take `bytes` in and hand them out once (see `BrokerFloor`). */
export async function measureBrokerFloor(broker: KafkaBroker, bytes: number): Promise<BrokerFloor> {
  const recordBytes = 400_000;
  const records = Math.ceil(bytes / recordBytes);
  const topic = `floor${process.pid}x${++runId}`;
  const admin = new Admin({ clientId: 'bench-floor', bootstrapBrokers: [broker.bootstrap] });
  try {
    await admin.createTopics({ topics: [topic], partitions: 4, replicas: 1 });
  } finally {
    await admin.close();
  }
  let cpu0 = processCpuS(broker.pid);
  const inS = await kafkaTool('org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    topic,
    '--num-records',
    String(records),
    '--record-size',
    String(recordBytes),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${broker.bootstrap}`,
    'acks=all',
    'enable.idempotence=true',
    // 1 MiB batches: faster here than 4 MiB (which took ~1.3-1.7 times as long).
    'batch.size=1048576',
    'linger.ms=5',
    'buffer.memory=134217728',
    `max.request.size=${KAFKA_MAX_MESSAGE_BYTES}`,
  ]);
  const inCpuS = processCpuS(broker.pid) - cpu0;
  cpu0 = processCpuS(broker.pid);
  const outS = await kafkaTool('org.apache.kafka.tools.ConsumerPerformance', [
    '--bootstrap-server',
    broker.bootstrap,
    '--topic',
    topic,
    '--messages',
    String(records),
    '--group',
    `floor${process.pid}`,
    '--command-property',
    'fetch.max.bytes=16777216',
    '--command-property',
    'max.partition.fetch.bytes=4194304',
  ]);
  const outCpuS = processCpuS(broker.pid) - cpu0;
  return { bytes: records * recordBytes, recordBytes, inCpuS, outCpuS, inS, outS };
}

export interface DistributedResult {
  rows: DistributedRow[];
  /** The broker's own cost for the capture's bytes, once per run; empty if Kafka's tools could not run. */
  floors: BrokerFloor[];
  /** Packets of the capture, for the target line. */
  packets: number;
}

/** Runs the distributed benchmark on `capture` (`packets` frames). */
export async function benchDistributed(
  capture: string,
  packets: number,
  runs = 1,
  floorOnly = false,
): Promise<DistributedResult> {
  const broker = await KafkaBroker.start({ heapMb: 1024 });
  const rows: DistributedRow[] = [];
  const captureBytes = fs.statSync(capture).size;
  const floors: BrokerFloor[] = [];
  try {
    if (!floorOnly) {
      // Warm-up: a broker's first consumer group creates __consumer_offsets (seconds), which is
      // set-up, not throughput.
      const warm = `${capture}.warmup.pcap`;
      await synthesize({ out: warm, packets: 2000, seed: 1 });
      await pipeline(broker, warm, 1, false);
      fs.rmSync(warm, { force: true });
      fs.rmSync(`${warm}.truth.json`, { force: true });
      for (const n of [1, 2]) {
        let best: PipelineRun | null = null;
        const times: number[] = [];
        for (let r = 0; r < runs; r++) {
          const res = await pipeline(broker, capture, n, false);
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
          cpu: best!.cpu,
          note: `median of ${runs}`,
        });
      }
      // Slow consumer: everything waits in Kafka while the processors are absent.
      const slow = await pipeline(broker, capture, 1, true);
      rows.push({
        name: 'Kafka: replay first, 1 process after (backlog = whole capture)',
        seconds: slow.seconds,
        packetsPerS: packets / slow.seconds,
        rss: slow.rss,
        cpu: slow.cpu,
        note: 'memory under a full backlog',
      });
    }
    try {
      for (let r = 0; r < runs; r++) floors.push(await measureBrokerFloor(broker, captureBytes));
    } catch (err) {
      process.stderr.write(`broker floor not measured: ${(err as Error).message}\n`);
    }
  } finally {
    await broker.stop();
    await broker.cleanup();
  }
  return { rows, floors, packets };
}

const roleList = (m: Record<string, number>, digits: number): string =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${v.toFixed(digits)}`)
    .join(', ');

export function distributedMarkdown(result: DistributedResult): string {
  const lines =
    result.rows.length === 0
      ? []
      : [
          '| pipeline | wall s | packets/s | CPU s (the fastest run) | peak RSS (MB) |',
          '| --- | --- | --- | --- | --- |',
        ];
  for (const r of result.rows) {
    const pps = Math.round(r.packetsPerS).toLocaleString('en-US');
    lines.push(`| ${r.name} | ${r.seconds.toFixed(2)} | ${pps} | ${roleList(r.cpu, 1)} | ${roleList(r.rss, 0)} |`);
  }
  if (result.floors.length > 0) {
    // The run with the median producer time; the others' times as the range.
    const byIn = [...result.floors].sort((a, b) => a.inS - b.inS);
    const f = byIn[Math.floor(byIn.length / 2)]!;
    const gb = f.bytes / 1e9;
    const targetS = result.packets / 500_000;
    const range = byIn.length > 1 ? ` (runs ${byIn.map((x) => x.inS.toFixed(2)).join(' / ')} s)` : '';
    if (lines.length > 0) lines.push('');
    lines.push(
      `The broker alone, fed by Kafka's own Java tools with nothing else running (${(f.bytes / 1e6).toFixed(0)} MB in ${f.recordBytes.toLocaleString('en-US')}-byte records, acks=all, idempotent, 4 partitions), median of ${byIn.length}:`,
      `ProducerPerformance moved the capture's bytes in ${f.inS.toFixed(2)} s${range} (${(f.bytes / 1e6 / f.inS).toFixed(0)} MB/s), the broker spending ${f.inCpuS.toFixed(2)} s of CPU;`,
      `ConsumerPerformance read them back in ${f.outS.toFixed(2)} s, the broker spending ${f.outCpuS.toFixed(2)} s.`,
      `500 k packets/s means ${targetS.toFixed(2)} s for this capture end to end (${(f.bytes / 1e6 / targetS).toFixed(0)} MB/s through the broker, ${((f.inCpuS + f.outCpuS) / gb).toFixed(2)} s of broker CPU per GB here).`,
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
    process.stderr.write('usage: node bench/distributed.ts --capture FILE --packets N [--runs R] [--floor-only]\n');
    process.exit(2);
  }
  const result = await benchDistributed(capture, packets, Number(opt('runs') ?? '1'), args.includes('--floor-only'));
  process.stdout.write(`${distributedMarkdown(result)}\n`);
}
