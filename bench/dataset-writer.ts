/**
 * Dataset writer throughput: synthetic finished flows (77 features each) through
 * `openDatasetWriter`, with `flush()` after every 4096 flows as the pipeline does per chunk.
 * Prints the main-thread CPU cost of `add` per flow, the process CPU (all threads: main, writer
 * thread, DuckDB) per flow, rows/s end to end and bytes per row. CPU times are robust to other
 * load on the machine; rows/s is not.
 *   node bench/dataset-writer.ts [--rows N] [--every N[,N...]] [--format snake|cic|both]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CIC_FEATURE_COUNT } from '../src/flow/cic-features.ts';
import type { FlowRecord } from '../src/flow/records.ts';
import { openDatasetWriter } from '../src/sinks/file/dataset-writer.ts';
import { rng } from '../test/helpers/random.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : fallback;
}
const rows = Number(arg('rows', '200000'));
const everies = arg('every', '10000,100000').split(',').map(Number);
const formatArg = arg('format', 'both');
const formats: ('snake' | 'cic')[] = formatArg === 'both' ? ['snake', 'cic'] : [formatArg as 'snake' | 'cic'];

// Feature values like real ones (seeded, so runs are comparable): half counts and lengths (integers), half means, stds and rates.
const r = rng(42);
const records: FlowRecord[] = [];
for (let i = 0; i < rows; i++) {
  const features = new Float64Array(CIC_FEATURE_COUNT);
  for (let j = 0; j < CIC_FEATURE_COUNT; j++) {
    features[j] = j % 2 === 0 ? Math.floor(r() * 1500) : Math.round(r() * 1e9) / 1e3;
  }
  const first = 1_499_072_100_000_000 + i * 997;
  records.push({
    flow_id: i + 1,
    flow_uid: (0x9e3779b97f4a + i).toString(16).padStart(16, '0'),
    community_id: '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
    first_seen_us: first,
    last_seen_us: first + 12_345,
    duration_us: 12_345,
    ip_version: 4,
    protocol: 6,
    protocol_name: 'tcp',
    src_ip: `192.168.${i & 255}.${(i >> 8) & 255}`,
    src_port: 1024 + (i % 60000),
    dest_ip: '10.0.0.1',
    dest_port: 443,
    vlan_id: -1,
    tunnel_type: '',
    fwd_packets: 10,
    bwd_packets: 8,
    fwd_bytes: 1500,
    bwd_bytes: 9000,
    fwd_payload_bytes: 1000,
    bwd_payload_bytes: 8000,
    fwd_tcp_flags: 0x1b,
    bwd_tcp_flags: 0x1b,
    end_reason: 'fin',
    partial: false,
    features,
  });
}

const root = await mkdtemp(path.join(tmpdir(), 'pcapstream-bench-ds-'));
try {
  for (const format of formats) {
    for (const every of everies) {
      const dir = path.join(root, `${format}-${every}`);
      const ds = await openDatasetWriter({ dir, every, format });
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      let addUs = 0;
      for (let off = 0; off < rows; off += 4096) {
        const a0 = process.threadCpuUsage();
        const end = Math.min(rows, off + 4096);
        for (let k = off; k < end; k++) ds.add(records[k]!);
        const a = process.threadCpuUsage(a0);
        addUs += a.user + a.system;
        await ds.flush();
      }
      await ds.close();
      const s = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      process.stdout.write(
        `${format.padEnd(5)} every=${String(every).padEnd(7)} rows=${rows}  add ${(addUs / rows).toFixed(2)} µs cpu/flow (main thread)  ` +
          `${((cpu.user + cpu.system) / rows).toFixed(1)} µs cpu/flow (process)  ${Math.round(rows / s)} rows/s  ` +
          `${(ds.stats.bytes / rows).toFixed(0)} B/row (csv+parquet)\n`,
      );
      await rm(dir, { recursive: true });
    }
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
