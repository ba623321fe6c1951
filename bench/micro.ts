/**
 * In-process micro benchmark of the hot path stages on one capture, CPU time only (robust to
 * other load on the machine): read, read+decode, read+decode+stats, read+decode+JSON, and
 * read+decode+flows without and with CIC features, and with the rolling KPIs. The two-stage
 * lines decode in a worker and report the main thread's CPU time alone (the stage that bounds
 * the pipeline when a second core is free); they read the whole file (--packets does not apply).
 *   node bench/micro.ts FILE [--packets N]
 */
import { JsonWriter } from '../src/core/json-writer.ts';
import { PacketContext } from '../src/core/packet.ts';
import type { Frame } from '../src/core/source.ts';
import { decodeFrame } from '../src/decode/dispatch.ts';
import { buildFields } from '../src/decode/fields.ts';
import { CaptureStats } from '../src/flow/capture-stats.ts';
import { FlowEngine } from '../src/flow/flow-engine.ts';
import { RollingMetrics } from '../src/flow/metrics.ts';
import { jsonlWriter } from '../src/sinks/record-format.ts';
import { readCapture } from '../src/sources/capture.ts';
import { readDecoded } from '../src/transports/worker/decode-pipeline.ts';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node bench/micro.ts FILE [--packets N]\n');
  process.exit(2);
}
const i = process.argv.indexOf('--packets');
const limit = i > 0 ? Number(process.argv[i + 1]) : Number.POSITIVE_INFINITY;

async function stage(name: string, make: () => (f: Frame) => void): Promise<void> {
  const fn = make();
  let n = 0;
  const t0 = process.cpuUsage();
  await readCapture(
    file!,
    (f) => {
      if (n < limit) {
        n++;
        fn(f);
      }
    },
    { shouldStop: () => n >= limit },
  );
  const u = process.cpuUsage(t0);
  const s = (u.user + u.system) / 1e6;
  process.stdout.write(
    `${name.padEnd(22)} ${n} packets  ${s.toFixed(3)} s cpu  ${(n / s / 1e6).toFixed(3)} M packets/s\n`,
  );
}

await stage('read', () => () => {});
await stage('read+decode', () => {
  const p = new PacketContext();
  return (f) => decodeFrame(p, f);
});
await stage('read+decode+stats', () => {
  const p = new PacketContext();
  const st = new CaptureStats();
  return (f) => {
    decodeFrame(p, f);
    st.add(p);
  };
});
await stage('read+decode+json', () => {
  const p = new PacketContext();
  const w = new JsonWriter();
  const write = jsonlWriter(buildFields());
  return (f) => {
    decodeFrame(p, f);
    write(p, w);
    if (w.pos > 3 << 20) w.pos = 0;
  };
});
for (const features of ['none', 'cic', 'corrected'] as const) {
  await stage(`read+decode+flows/${features}`, () => {
    const p = new PacketContext();
    p.appDetail = false;
    const engine = new FlowEngine({ features, onFlow: () => undefined });
    return (f) => {
      decodeFrame(p, f);
      engine.packet(p);
    };
  });
}
/** Flow engine plus rolling KPIs, as `run` drives them, for one packet context. */
function flowsAndKpis(): (p: PacketContext) => void {
  let metrics: RollingMetrics | null = null;
  const engine = new FlowEngine({
    onFlow: () => undefined,
    onFlowStart: (ts) => metrics!.flowStarted(ts),
    onFlowEnd: (ts) => metrics!.flowEnded(ts),
  });
  metrics = new RollingMetrics({ onWindow: () => undefined });
  const m = metrics;
  return (p) => {
    const slot = engine.packet(p);
    m.observe(p, engine.packetUs, slot, engine.servicePort);
  };
}

await stage('read+decode+flows+kpis', () => {
  const p = new PacketContext();
  p.appDetail = false;
  const work = flowsAndKpis();
  return (f) => {
    decodeFrame(p, f);
    work(p);
  };
});

/** Main-thread CPU of the two-stage path: filling contexts from records, plus `work`. */
async function twoStage(name: string, work: () => (p: PacketContext) => void): Promise<void> {
  const fn = work();
  let n = 0;
  const t0 = process.threadCpuUsage();
  await readDecoded(
    file!,
    new PacketContext(),
    (p) => {
      n++;
      fn(p);
    },
    { threads: 2, appDetail: false },
  );
  const u = process.threadCpuUsage(t0);
  const s = (u.user + u.system) / 1e6;
  process.stdout.write(
    `${name.padEnd(22)} ${n} packets  ${s.toFixed(3)} s main-thread cpu  ${(n / s / 1e6).toFixed(3)} M packets/s\n`,
  );
}

await twoStage('2-stage records', () => () => {});
await twoStage('2-stage flows+kpis', flowsAndKpis);
