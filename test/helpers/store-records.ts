/**
 * Records for store tests, built from a seed so every stored value is known: flows (IPv4 and
 * IPv6, with and without features, partial updates), metric windows and anomalies. Also a child
 * process that holds a store open, as a running `pcapstream run` does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CIC_FEATURE_COUNT } from '../../src/flow/cic-features.ts';
import type { AnomalyRecord, FlowRecord, MetricWindow } from '../../src/flow/records.ts';
import { rng } from './random.ts';

/** 2024-01-01T00:00:00Z in µs. */
export const T0 = 1_704_067_200_000_000;

/** A fresh temp directory and a store path inside it. */
export function tempStore(name = 'store.duckdb'): { dir: string; path: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-store-'));
  return { dir, path: path.join(dir, name) };
}

/** Flow `id` with values derived from `seed`; `features: false` stores NULL features. */
export function flowRecord(id: number, seed = 1, opts: { features?: boolean; partial?: boolean } = {}): FlowRecord {
  const r = rng(seed * 100_003 + id);
  const v6 = id % 5 === 0;
  const first = T0 + id * 1000 + Math.floor(r() * 1000);
  const duration = Math.floor(r() * 5_000_000);
  const proto = [6, 17, 1][id % 3]!;
  let features: Float64Array | null = null;
  if (opts.features !== false) {
    features = new Float64Array(CIC_FEATURE_COUNT);
    for (let i = 0; i < CIC_FEATURE_COUNT; i++) features[i] = Math.round(r() * 1e6) / (i % 4 === 0 ? 3 : 1);
    features[3] = Number.NaN;
  }
  return {
    flow_id: id,
    flow_uid: `${seed.toString(16).padStart(8, '0')}${id.toString(16).padStart(8, '0')}`,
    community_id: `1:${Buffer.from(`flow-${seed}-${id}-community`).toString('base64').slice(0, 27)}=`,
    first_seen_us: first,
    last_seen_us: first + duration,
    duration_us: duration,
    ip_version: v6 ? 6 : 4,
    protocol: proto,
    protocol_name: proto === 6 ? 'tcp' : proto === 17 ? 'udp' : 'icmp',
    src_ip: v6 ? `2001:db8::${(id % 65536).toString(16)}` : `10.${(id >> 8) & 255}.${id & 255}.1`,
    src_port: proto === 1 ? 0 : 1024 + (id % 60000),
    dest_ip: v6 ? '2001:db8::1' : `192.168.0.${id % 7}`,
    dest_port: proto === 1 ? 0 : proto === 6 ? 443 : 53,
    vlan_id: id % 4 === 0 ? 100 + (id % 3) : -1,
    tunnel_type: id % 6 === 0 ? 'vxlan' : '',
    fwd_packets: 1 + Math.floor(r() * 100),
    bwd_packets: Math.floor(r() * 100),
    fwd_bytes: 60 + Math.floor(r() * 3e9),
    bwd_bytes: Math.floor(r() * 1e6),
    fwd_payload_bytes: Math.floor(r() * 1e5),
    bwd_payload_bytes: Math.floor(r() * 1e5),
    fwd_tcp_flags: proto === 6 ? 0x1b : 0,
    bwd_tcp_flags: proto === 6 ? 0x12 : 0,
    end_reason:
      opts.partial === true ? 'update' : (['fin', 'rst', 'idle', 'active', 'evicted', 'end'] as const)[id % 6]!,
    partial: opts.partial === true,
    features,
  };
}

/** A closed window starting `i` windows after T0. */
export function metricWindow(i: number, windowS = 1): MetricWindow {
  return {
    window_s: windowS,
    start_us: T0 + i * windowS * 1_000_000,
    packets: 100 + i,
    bytes: 10_000 + i,
    protocols: {
      tcp: { packets: 60 + i, bytes: 6000 + i },
      udp: { packets: 40, bytes: 4000 },
      arp: { packets: 0, bytes: 0 },
    },
    new_flows: 5,
    ended_flows: 4,
    tcp_syn: 3,
    tcp_rst: i % 2,
    dns_queries: 2,
    dns_nxdomain: 1,
    anomalies: i % 2 === 0 ? { 'ipv4.checksum_invalid': 1 } : {},
    top_talkers: [
      { key: '10.0.0.1', packets: 50, bytes: 5000 },
      { key: `10.0.0.${2 + (i % 2)}`, packets: 10 + i, bytes: 1000 },
    ],
    top_ports: [{ key: '443/tcp', packets: 60, bytes: 6000 }],
    top_conversations: [{ key: '10.0.0.1:40000 <-> 10.0.0.2:443 tcp', packets: 30, bytes: 3000 }],
    losses: { flows_evicted: i, flows_refused: 0 },
  };
}

export function anomaly(frame: number, code: string): AnomalyRecord {
  return { frame_number: frame, ts_us: T0 + frame, code, src_ip: '10.0.0.1', dest_ip: '10.0.0.2', protocol: 6 };
}

/**
 * A child process holding the store at `file` open for writing until killed, as a running
 * `pcapstream run` does; resolves once the store is open.
 * @example
 * const holder = await holdStore(path); try { ... } finally { holder.kill(); }
 */
export async function holdStore(file: string): Promise<ChildProcess> {
  const mod = pathToFileURL(fileURLToPath(new URL('../../src/sinks/db/duckdb-store.ts', import.meta.url))).href;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { openDuckDBStore } = await import(${JSON.stringify(mod)});\n` +
        `await openDuckDBStore({ path: ${JSON.stringify(file)} });\n` +
        "process.stdout.write('ready\\n');\nsetInterval(() => {}, 1000);",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
  return child;
}
