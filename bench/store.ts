/**
 * Store write benchmark: what `run` asks of the DuckDB store on a ~1 GB capture (~110k flows of
 * 103 columns, ~250 input chunks), with the decoding replaced by a busy loop per chunk, so the
 * main thread's share of the store and DuckDB's time beside it can be told apart.
 *
 *   node bench/store.ts                         # 110000 flows, 250 chunks, 6 ms of "decoding" each
 *   node bench/store.ts --flows 500000 --chunks 1000
 *   node bench/store.ts --decode-ms 0           # no decoding: the store alone
 *   node bench/store.ts --runs 5                # median of 5
 *   node bench/store.ts --checkpoint-threshold 1GB --commit-ms 500
 *   node bench/store.ts --flush-each-chunk      # await flush() per chunk instead of tick()
 *
 * Reported per run (CPU times, so other load on the machine does not inflate them):
 * - main µs/flow: main-thread CPU of the pass with the store minus that of the same pass
 *   without it (decoding and record building only), per flow; that is `addFlow` + `tick` +
 *   DuckDB's callbacks into the staging scan.
 * - other threads ms: CPU of every other thread (DuckDB's inserts and commits, on the libuv
 *   pool), which runs beside decoding on the second core.
 * - close ms: wall time of the final flush, commit and checkpoint after the input ends.
 * - wall ms: everything, from open to closed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CIC_FEATURES } from '../src/flow/cic-features.ts';
import type { FlowRecord } from '../src/flow/records.ts';
import { type DuckDBStore, openDuckDBStore } from '../src/sinks/db/duckdb-store.ts';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : def;
};
const flows = opt('flows', 110_000);
const chunks = opt('chunks', 250);
const decodeMs = opt('decode-ms', 6);
const runs = Math.max(1, opt('runs', 3));
const ckIdx = args.indexOf('--checkpoint-threshold');
const checkpointThreshold = ckIdx >= 0 ? args[ckIdx + 1] : undefined;
const commitIntervalMs = opt('commit-ms', 1000);
// Emulates a caller that awaits a durable flush after every chunk instead of tick().
const flushEachChunk = args.includes('--flush-each-chunk');

const REASONS = ['fin', 'rst', 'idle', 'active', 'end'] as const;

/** A record as the flow engine builds one: fresh object, fresh feature array, fresh strings. */
function record(i: number): FlowRecord {
  const features = new Float64Array(CIC_FEATURES.length);
  for (let j = 0; j < features.length; j++) features[j] = (i * 31 + j * 7) % 100_000;
  const t = 1_700_000_000_000_000 + i * 9_000;
  return {
    flow_id: i + 1,
    flow_uid: (0x9e3779b97f4a + i * 7919).toString(16).padStart(16, '0'),
    community_id: `1:${(i * 2654435761).toString(36).padStart(27, 'x')}=`,
    first_seen_us: t,
    last_seen_us: t + 4_000,
    duration_us: 4_000,
    ip_version: 4,
    protocol: i % 4 === 0 ? 17 : 6,
    protocol_name: i % 4 === 0 ? 'udp' : 'tcp',
    src_ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    src_port: 1024 + (i % 60_000),
    dest_ip: `192.168.${(i >> 3) & 255}.${i & 7}`,
    dest_port: i % 4 === 0 ? 53 : 443,
    vlan_id: -1,
    tunnel_type: '',
    fwd_packets: 7,
    bwd_packets: 6,
    fwd_bytes: 900 + (i % 500),
    bwd_bytes: 7000 + (i % 900),
    fwd_payload_bytes: 400,
    bwd_payload_bytes: 6200,
    fwd_tcp_flags: 27,
    bwd_tcp_flags: 27,
    end_reason: REASONS[i % REASONS.length]!,
    partial: false,
    features: i % 50 === 49 ? null : features,
  };
}

function threadMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

function processMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Stands for decoding a chunk: `ms` of this thread's CPU. */
function busy(ms: number): void {
  const end = threadMs() + ms;
  let x = 0;
  while (threadMs() < end) x++;
  if (x < 0) console.log(x);
}

interface Sample {
  mainUsPerFlow: number;
  addUsPerFlow: number;
  otherMs: number;
  waitMs: number;
  baseWallMs: number;
  loopWallMs: number;
  closeMs: number;
  wallMs: number;
  commits: number;
}

interface Pass {
  mainMs: number;
  otherMs: number;
  addMs: number;
  /** Wall time the loop spent waiting on the store's back-pressure (or flush). */
  waitMs: number;
  wallMs: number;
}

/** The chunk loop: `decodeMs` of CPU, then this chunk's flows, then `tick()`. */
async function pass(sink: DuckDBStore | null): Promise<Pass> {
  const main0 = threadMs();
  const proc0 = processMs();
  const wall0 = performance.now();
  let addMs = 0;
  let waitMs = 0;
  let next = 0;
  for (let c = 0; c < chunks; c++) {
    busy(decodeMs);
    const end = Math.round(((c + 1) * flows) / chunks);
    for (; next < end; next++) {
      const rec = record(next);
      if (sink === null) continue;
      const a = performance.now();
      sink.addFlow(rec);
      addMs += performance.now() - a;
    }
    const wait = flushEachChunk ? sink?.flush() : sink?.tick();
    // Like readCapture: the next chunk is read asynchronously, which lets DuckDB call back.
    if (wait === undefined) await new Promise((r) => setImmediate(r));
    else {
      const w = performance.now();
      await wait;
      waitMs += performance.now() - w;
    }
  }
  const mainMs = threadMs() - main0;
  return { mainMs, otherMs: processMs() - proc0 - mainMs, addMs, waitMs, wallMs: performance.now() - wall0 };
}

async function once(dir: string): Promise<Sample> {
  const file = path.join(dir, 'bench.duckdb');
  fs.rmSync(file, { force: true });
  fs.rmSync(`${file}.wal`, { force: true });
  const base = await pass(null);
  const t0 = performance.now();
  const store = await openDuckDBStore({ path: file, label: 'bench', checkpointThreshold, commitIntervalMs });
  const run = await pass(store);
  const c0 = performance.now();
  const stats = store.stats;
  await store.close();
  const closeMs = performance.now() - c0;
  return {
    mainUsPerFlow: ((run.mainMs - base.mainMs) * 1000) / flows,
    addUsPerFlow: (run.addMs * 1000) / flows,
    otherMs: run.otherMs - base.otherMs,
    waitMs: run.waitMs,
    baseWallMs: base.wallMs,
    loopWallMs: run.wallMs,
    closeMs,
    wallMs: performance.now() - t0,
    commits: stats.flushes,
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-store-bench-'));
try {
  const samples: Sample[] = [];
  for (let r = 0; r < runs; r++) {
    const s = await once(dir);
    samples.push(s);
    console.log(
      `run ${r + 1}: main ${s.mainUsPerFlow.toFixed(2)} µs/flow (addFlow ${s.addUsPerFlow.toFixed(2)}), ` +
        `other threads ${s.otherMs.toFixed(0)} ms CPU, ${s.commits} commits, ` +
        `loop ${s.loopWallMs.toFixed(0)} ms (without store ${s.baseWallMs.toFixed(0)}, waiting ${s.waitMs.toFixed(0)}), close ${s.closeMs.toFixed(0)} ms, wall ${s.wallMs.toFixed(0)} ms`,
    );
  }
  const m = (k: keyof Sample) => median(samples.map((s) => s[k]));
  console.log(
    `\n${flows} flows, ${chunks} chunks, ${decodeMs} ms decoding per chunk (${(chunks * decodeMs).toFixed(0)} ms), median of ${runs}:\n` +
      `  main thread   ${m('mainUsPerFlow').toFixed(2)} µs/flow (addFlow alone ${m('addUsPerFlow').toFixed(2)})\n` +
      `  other threads ${m('otherMs').toFixed(0)} ms CPU (DuckDB's writes and commits, beside decoding)\n` +
      `  input loop    ${m('loopWallMs').toFixed(0)} ms wall (${m('baseWallMs').toFixed(0)} without the store; ${m('waitMs').toFixed(0)} waiting for it)\n` +
      `  close         ${m('closeMs').toFixed(0)} ms (last flush + checkpoint)\n` +
      `  wall          ${m('wallMs').toFixed(0)} ms`,
  );
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
