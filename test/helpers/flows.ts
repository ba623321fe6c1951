/**
 * Test helpers for the flow stage: run the engine over a capture, and key records the way the
 * ground-truth file and tshark's conversation tables do (endpoint with the smaller address first).
 */
import { isIPv4 } from 'node:net';
import { PacketContext } from '../../src/core/packet.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';
import { FlowEngine, type FlowEngineOptions } from '../../src/flow/flow-engine.ts';
import type { FlowRecord } from '../../src/flow/records.ts';
import { readCapture } from '../../src/sources/capture.ts';

/** Decode every frame of `path` into `engine`, then end its open flows. */
async function feed(path: string, engine: FlowEngine): Promise<void> {
  const p = new PacketContext();
  let n = 0;
  await readCapture(path, (f) => {
    p.frameNumber = ++n;
    decodeFrame(p, f);
    engine.packet(p);
  });
  engine.flushAll('end');
}

/** Every record the engine emits for `path` (flushing open flows at the end). */
export async function runFlows(path: string, options: Omit<FlowEngineOptions, 'onFlow'> = {}): Promise<FlowRecord[]> {
  const out: FlowRecord[] = [];
  await feed(path, new FlowEngine({ ...options, onFlow: (r) => out.push(r) }));
  return out;
}

/** Run the engine over `path` handing every flow to `onPackedFlow` as its packed record (scratch: copy to keep). */
export async function readFlowsPacked(
  path: string,
  options: Omit<FlowEngineOptions, 'onFlow' | 'onPackedFlow'>,
  onPackedFlow: (packed: Float64Array) => void,
): Promise<void> {
  const onFlow = (): void => {
    throw new Error('onFlow called although onPackedFlow is set');
  };
  await feed(path, new FlowEngine({ ...options, onFlow, onPackedFlow }));
}

/** An address as 16 comparable bytes (IPv4 mapped into the last four). */
export function addressBytes(ip: string): number[] {
  if (isIPv4(ip)) return [...new Array<number>(12).fill(0), ...ip.split('.').map(Number)];
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, ''];
  const h = head === '' ? [] : head!.split(':');
  const t = tail === '' || tail === undefined ? [] : tail.split(':');
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const v = Number.parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

export function compareEndpoint(a: [string, number], b: [string, number]): number {
  const x = addressBytes(a[0]);
  const y = addressBytes(b[0]);
  for (let i = 0; i < 16; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return a[1] - b[1];
}

/** A record as [key, packetsAtoB, bytesAtoB, packetsBtoA, bytesBtoA], A = the smaller endpoint. */
export function orderedCounts(
  proto: string,
  src: [string, number],
  dst: [string, number],
  fwd: [number, number],
  bwd: [number, number],
): [string, number, number, number, number] {
  const srcIsA = compareEndpoint(src, dst) <= 0;
  const [a, b] = srcIsA ? [src, dst] : [dst, src];
  const [ab, ba] = srcIsA ? [fwd, bwd] : [bwd, fwd];
  return [`${proto} ${a[0]}:${a[1]} ${b[0]}:${b[1]}`, ab[0], ab[1], ba[0], ba[1]];
}

/**
 * Sum records per conversation key (ICMP ports zeroed, as the truth file keys them); returns
 * key -> [packetsAtoB, bytesAtoB, packetsBtoA, bytesBtoA, records].
 */
export function conversations(records: FlowRecord[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const r of records) {
    if (r.partial) continue;
    const icmp = r.protocol === 1 || r.protocol === 58;
    const [k, ...c] = orderedCounts(
      r.protocol_name,
      [r.src_ip, icmp ? 0 : r.src_port],
      [r.dest_ip, icmp ? 0 : r.dest_port],
      [r.fwd_packets, r.fwd_bytes],
      [r.bwd_packets, r.bwd_bytes],
    );
    const e = m.get(k) ?? [0, 0, 0, 0, 0];
    for (let i = 0; i < 4; i++) e[i]! += c[i]!;
    e[4]!++;
    m.set(k, e);
  }
  return m;
}
