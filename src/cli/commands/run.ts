/**
 * `pcapstream run <file|->`: read, decode, aggregate flows and KPIs, store them (DuckDB file by
 * default, or `--store cassandra://...`), write datasets and serve the live dashboard, in one
 * process.
 *
 * The hot path (decode -> flow update -> KPI update) is synchronous per frame; the store and
 * the datasets buffer records and write them after each input chunk, awaiting DuckDB's threads
 * (the second core). SIGINT/SIGTERM stop reading at the next chunk, then every open flow and
 * metric window is flushed and stored before exit: nothing processed is lost.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { PipelineError } from '../../core/errors.ts';
import { PacketContext } from '../../core/packet.ts';
import type { Dashboard } from '../../dashboard/server.ts';
import { formatIPv4, formatIPv6 } from '../../decode/format.ts';
import { FlowEngine } from '../../flow/flow-engine.ts';
import { RollingMetrics } from '../../flow/metrics.ts';
import { P_PARTIAL, unpackFlow } from '../../flow/packed-flow.ts';
import type { FlowRecord, RunHealth } from '../../flow/records.ts';
import { type DatasetWriter, openDatasetWriter } from '../../sinks/file/dataset-writer.ts';
import { openStore } from '../../sinks/open-store.ts';
import { type DecodedReadResult, startDecoded } from '../../transports/worker/decode-pipeline.ts';
import { EXIT_OK } from '../exit-codes.ts';
import { type FlowCliOptions, flowSettings, threadsOption } from '../flow-options.ts';
import { Progress } from '../progress.ts';
import { reportTruncation } from '../report.ts';

export interface RunOptions extends FlowCliOptions {
  db: string;
  /** A DuckDB file or a cassandra:// URL; wins over `db`. */
  store?: string;
  /** Sensor name records are filed under in Cassandra (default: host name). */
  sensor?: string;
  storePackets: boolean;
  datasetDir?: string;
  datasetEvery: string;
  datasetFormat: string;
  label: string;
  host: string;
  port: string;
  dashboard: boolean;
  /** Exit when the input is done instead of serving the dashboard until interrupted. */
  exit: boolean;
  topN: string;
}

function intOption(name: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new PipelineError('PCS_USAGE', `${name} must be a whole number from ${min} to ${max}, got '${v}'`);
  }
  return n;
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Non-zero store loss counters, for the summary line. */
function lossText(losses: Record<string, number>): string {
  const parts = Object.entries(losses)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k.replace(/_/g, ' ')} ${fmtInt(v)}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

export async function runCommand(input: string, opts: RunOptions): Promise<number> {
  const settings = flowSettings(opts);
  const port = intOption('--port', opts.port, 0, 65535);
  const topN = intOption('--top-n', opts.topN, 1, 1000);
  const datasetEvery = intOption('--dataset-every', opts.datasetEvery, 1);
  const threads = threadsOption(opts.threads);
  if (opts.datasetFormat !== 'snake' && opts.datasetFormat !== 'cic') {
    throw new PipelineError('PCS_USAGE', `--dataset-format must be snake or cic, got '${opts.datasetFormat}'`);
  }

  const startedMs = Date.now();
  const health: RunHealth = {
    state: 'starting',
    input,
    started_ms: startedMs,
    elapsed_s: 0,
    progress: null,
    packets: 0,
    bytes: 0,
    packets_per_s: 0,
    bytes_per_s: 0,
    flows_live: 0,
    flows_total: 0,
    records_stored: 0,
    anomalies: 0,
    losses: {},
  };

  // The decode worker boots while the store opens (~0.1 s of start-up each).
  const started = startDecoded(input, {
    // The stored packets need the whole decoded context: decode on this thread then.
    threads: opts.storePackets ? 1 : threads,
    // KPIs need DNS flags and rcode, not names: DNS is walked (anomalies still count) without text.
    appDetail: false,
  });
  const { store, duckdb } = await openStore(opts.store ?? opts.db, {
    packets: opts.storePackets,
    ...(opts.sensor === undefined ? {} : { sensor: opts.sensor }),
  }).catch(async (err: unknown) => {
    await started.cancel();
    throw err;
  });
  let closeFailure: unknown = null;
  let exitCode = EXIT_OK;
  let datasets: DatasetWriter | null = null;
  let dashboard: Dashboard | null = null;
  try {
    if (opts.datasetDir !== undefined) {
      datasets = await openDatasetWriter({
        dir: opts.datasetDir,
        every: datasetEvery,
        format: opts.datasetFormat,
        label: opts.label,
        features: settings.features,
      });
    }
    const ds = datasets;
    const onFlow = (r: FlowRecord): void => {
      store.addFlow(r);
      if (ds !== null && !r.partial) ds.add(r);
    };
    // DuckDB takes the engine's packed numbers as they are: no record object per flow.
    const db = duckdb;
    const onPackedFlow =
      db === null
        ? null
        : (packed: Float64Array): void => {
            db.addPackedFlow(packed, 0);
            if (ds !== null && packed[P_PARTIAL] !== 1) ds.add(unpackFlow(packed, 0));
          };
    let metrics: RollingMetrics | null = null;
    const engine = new FlowEngine({
      ...settings,
      onFlow,
      ...(onPackedFlow === null ? {} : { onPackedFlow }),
      onFlowStart: (ts) => metrics!.flowStarted(ts),
      onFlowEnd: (ts) => metrics!.flowEnded(ts),
    });
    let decodeErrors = 0;
    const losses = (): Record<string, number> => ({
      flows_evicted: engine.stats.flows_evicted,
      packets_not_in_flow: engine.stats.packets_unflowed,
      decode_errors: decodeErrors,
      ...store.losses(),
    });
    metrics = new RollingMetrics({
      topN,
      onWindow: (w) => store.addMetrics(w),
      losses,
    });
    const m = metrics;

    const refreshHealth = (): RunHealth => {
      const s = engine.stats;
      health.elapsed_s = (Date.now() - startedMs) / 1000;
      health.flows_live = s.flows_live;
      health.flows_total = s.flows_total;
      const st = store.stats;
      health.records_stored = st.flows + st.metrics + st.anomalies + (duckdb?.stats.packets ?? 0);
      health.losses = losses();
      return health;
    };

    if (opts.dashboard && duckdb === null) {
      process.stderr.write(`dashboard: off (it reads the DuckDB store; ${store.where} is not one)\n`);
    } else if (opts.dashboard && duckdb !== null) {
      // Loaded only when served: the HTTP stack and the read model cost ~35 ms of start-up.
      const [{ startDashboard }, { ReadModel }] = await Promise.all([
        import('../../dashboard/server.ts'),
        import('../../query/read-model.ts'),
      ]);
      const dash = await startDashboard({
        host: opts.host,
        port,
        readModel: ReadModel.ofStore(duckdb),
        health: refreshHealth,
      });
      dashboard = dash;
      duckdb.onCommit(() => dash.notify());
      process.stderr.write(`dashboard: ${dash.url}\n`);
    }

    // Signals: stop reading at the next chunk boundary, then flush everything.
    let stopping = false;
    let resolveServe: (() => void) | null = null;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping && resolveServe === null) {
        process.stderr.write(`pcapstream: ${sig} again, still flushing; please wait\n`);
        return;
      }
      stopping = true;
      if (health.state === 'running') health.state = 'stopping';
      if (input === '-') process.stdin.destroy();
      resolveServe?.();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const p = new PacketContext();
    let n = 0;
    let bytes = 0;
    const progress = new Progress();
    let rateMark = { t: Date.now(), packets: 0, bytes: 0 };
    const onPacket = (p: PacketContext): void => {
      n++;
      bytes += p.frameLength;
      const slot = engine.packet(p);
      const ts = engine.packetUs;
      m.observe(p, ts, slot, engine.servicePort);
      if (p.anomalyCount > 0) {
        const v = p.ipVersion;
        const src = v === 4 ? formatIPv4(p.src4) : v === 6 ? formatIPv6(p.src6) : '';
        const dst = v === 4 ? formatIPv4(p.dst4) : v === 6 ? formatIPv6(p.dst6) : '';
        for (let i = 0; i < p.anomalyCount; i++) {
          const code = p.anomalies[i]!;
          if (code === 'decode.internal_error') decodeErrors++;
          store.addAnomaly({
            frame_number: n,
            ts_us: ts,
            code,
            src_ip: src,
            dest_ip: dst,
            protocol: v === 0 ? 0 : p.protocol,
          });
        }
        health.anomalies += p.anomalyCount;
      }
      if (opts.storePackets) duckdb?.addPacket(p, ts);
    };

    health.state = 'running';
    let result: DecodedReadResult | null = null;
    let readError: unknown = null;
    try {
      result = await started.read(p, onPacket, {
        afterChunk: async (inp) => {
          progress.update(inp.bytesRead(), inp.size, n);
          health.packets = n;
          health.bytes = bytes;
          health.progress = inp.size > 0 ? Math.min(1, inp.bytesRead() / inp.size) : null;
          const now = Date.now();
          if (now - rateMark.t >= 1000) {
            const dt = (now - rateMark.t) / 1000;
            health.packets_per_s = (n - rateMark.packets) / dt;
            health.bytes_per_s = (bytes - rateMark.bytes) / dt;
            rateMark = { t: now, packets: n, bytes };
          }
          // The store writes beside decoding (DuckDB's thread, Cassandra's connections); tick()
          // only waits when too many rows are queued (back-pressure).
          const wait = store.tick();
          if (wait !== undefined) await wait;
          if (ds !== null) await ds.flush();
        },
        shouldStop: () => stopping,
      });
    } catch (err) {
      // A stdin destroyed by the signal handler ends the read; anything else is reported after
      // the flush below, so what was processed is still stored.
      if (!stopping) readError = err;
    }
    progress.done();

    // End of input or interruption: every open flow and window goes to the store (in steps, with
    // the event loop turning between them, so DuckDB inserts the first while the rest are ended).
    await engine.flushAllInSteps(async () => {
      const wait = store.tick();
      if (wait !== undefined) await wait;
      await turn();
    });
    m.flush();
    health.packets = n;
    health.bytes = bytes;
    health.packets_per_s = 0;
    health.bytes_per_s = 0;
    await store.flush();
    if (ds !== null) await ds.close();
    datasets = null;
    health.state = readError === null ? 'done' : 'failed';
    if (result !== null && result.input.size > 0 && !stopping) health.progress = 1;
    refreshHealth();
    dashboard?.notify();

    const elapsed = (Date.now() - startedMs) / 1000;
    const s = engine.stats;
    process.stderr.write(
      `${stopping ? 'interrupted: ' : ''}${fmtInt(n)} packets, ${fmtInt(bytes)} bytes, ${fmtInt(s.flows_total)} flows` +
        ` (${fmtInt(s.flows_evicted)} evicted), ${fmtInt(health.anomalies)} anomalies in ${elapsed.toFixed(2)} s` +
        ` (${fmtInt(n / Math.max(elapsed, 1e-6))} packets/s); stored in ${store.where}${lossText(store.losses())}\n`,
    );
    if (readError !== null) throw readError;
    const code = result === null ? EXIT_OK : reportTruncation(result);

    if (dashboard !== null && !opts.exit && !stopping) {
      process.stderr.write(`done; the dashboard stays at ${dashboard.url} until Ctrl-C\n`);
      await new Promise<void>((resolve) => {
        resolveServe = resolve;
      });
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    exitCode = code;
  } finally {
    // Close everything even when one close fails; the first failure is reported.
    let failure: unknown = null;
    const attempt = async (f: () => Promise<void>): Promise<void> => {
      try {
        await f();
      } catch (e) {
        failure ??= e;
      }
    };
    // A failure before the read leaves the started worker waiting: end it.
    await attempt(() => started.cancel());
    if (dashboard !== null) await attempt(() => dashboard!.close());
    if (datasets !== null) await attempt(() => datasets!.close());
    await attempt(() => store.close());
    closeFailure = failure;
  }
  if (closeFailure !== null) throw closeFailure;
  return exitCode;
}
