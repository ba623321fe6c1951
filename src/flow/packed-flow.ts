/**
 * A flow record packed as numbers: what the flow engine knows of a flow when it exports it
 * (key words, context, times, counters, CIC features), before any text is made of it.
 *
 * Why: turning a flow into its record costs more than the numbers themselves (addresses and
 * ids as text, a SHA-1 for the Community ID, ~100 numbers printed). A packed record is a copy
 * of ~110 doubles, so the engine's thread can hand flows to another thread, which unpacks and
 * formats them there (`pcapstream flows` on large inputs). `unpackFlow` is also how the engine
 * builds every `FlowRecord` itself, so the two paths cannot disagree.
 *
 * Layout (float64 slots, all integers exact): see the `P_*` offsets; `PACKED_FLOW_WIDTH` slots a
 * record, features at `P_FEATURES` (NaN-filled when absent, `P_HAS_FEATURES` 0).
 */
import { formatIPv4, formatIPv6 } from '../decode/format.ts';
import { CIC_FEATURES } from './cic-features.ts';
import { communityId } from './community-id.ts';
import { FLOW_KEY_WORDS, flowUid } from './flow-key.ts';
import { protocolName } from './protocols.ts';
import type { FlowEndReason, FlowRecord } from './records.ts';

export const P_FLOW_ID = 0;
export const P_FIRST_US = 1;
export const P_LAST_US = 2;
/** The flow's lateness behind the engine clock at its first packet (see `flowUid`). */
export const P_LATE_US = 3;
/** Context word: VLAN id + 1 (13 bits), tunnel index (4 bits), restart index. */
export const P_CONTEXT = 4;
/** 1 when the key's A side sent the first packet (src = A). */
export const P_INIT_A = 5;
/** OR of each side's TCP flags (for ICMP the state holds type and code there instead: output as 0). */
export const P_FWD_FLAGS = 6;
export const P_BWD_FLAGS = 7;
/** ICMP type and code as the engine keeps them (type << 8 | code), else 0. */
export const P_ICMP_TC = 8;
export const P_FWD_PACKETS = 9;
export const P_BWD_PACKETS = 10;
export const P_FWD_BYTES = 11;
export const P_BWD_BYTES = 12;
export const P_FWD_PAYLOAD = 13;
export const P_BWD_PAYLOAD = 14;
/** Index into `END_REASONS`. */
export const P_REASON = 15;
export const P_PARTIAL = 16;
export const P_HAS_FEATURES = 17;
/** The key words (`FLOW_KEY_WORDS` of them: protocol and version, address A, address B, ports). */
export const P_KEY = 18;
export const P_FEATURES = P_KEY + FLOW_KEY_WORDS;
export const PACKED_FLOW_WIDTH = P_FEATURES + CIC_FEATURES.length;

/** End reasons by their packed index. */
export const END_REASONS: readonly FlowEndReason[] = ['fin', 'rst', 'idle', 'active', 'evicted', 'end', 'update'];
const REASON_INDEX = new Map(END_REASONS.map((r, i) => [r, i]));

/** The packed index of an end reason. */
export function endReasonIndex(reason: FlowEndReason): number {
  return REASON_INDEX.get(reason)!;
}

/** Tunnel names by the context word's tunnel index. */
export const TUNNEL_TYPES: readonly string[] = [
  '',
  'gre',
  'vxlan',
  'geneve',
  'ipip',
  '6in4',
  '6in6',
  '4in6',
  'erspan',
  'gtp',
  'teredo',
  'l2tp',
];

/**
 * What a packed record says beyond its plain counters, initiator first: version, protocol,
 * addresses and ports (ICMP type and code in the ports, as Zeek's conn.log has them), TCP flags
 * (0 for ICMP, whose state word holds type and code there), VLAN and tunnel, flow uid and
 * Community ID. One reader for `unpackFlow`, the text writers and the store, so they cannot
 * read a record differently.
 * Reused: `read` overwrites it.
 * @example
 * const e = new PackedEndpoints().read(batch, i * PACKED_FLOW_WIDTH); e.srcPort;
 */
export class PackedEndpoints {
  readonly key = new Uint32Array(FLOW_KEY_WORDS);
  version = 4;
  protocol = 0;
  isIcmp = false;
  /** IPv4 addresses (version 4). */
  src4 = 0;
  dst4 = 0;
  /** IPv6 addresses (version 6). */
  readonly src6 = new Uint32Array(4);
  readonly dst6 = new Uint32Array(4);
  srcPort = 0;
  dstPort = 0;
  /** OR of each side's TCP flags (0 for ICMP). */
  fwdFlags = 0;
  bwdFlags = 0;
  /** VLAN id, -1 when none. */
  vlanId = -1;
  /** Tunnel name, '' when none. */
  tunnelType = '';
  private ctx = 0;
  private first = 0;
  private late = 0;

  read(buf: Float64Array, at: number): this {
    const key = this.key;
    for (let i = 0; i < FLOW_KEY_WORDS; i++) key[i] = buf[at + P_KEY + i]!;
    const initA = buf[at + P_INIT_A] === 1;
    const w0 = key[0]!;
    const protocol = w0 & 0xff;
    this.protocol = protocol;
    this.version = w0 >>> 8;
    if (this.version === 4) {
      this.src4 = initA ? key[1]! : key[5]!;
      this.dst4 = initA ? key[5]! : key[1]!;
    } else {
      for (let i = 0; i < 4; i++) {
        this.src6[i] = key[(initA ? 1 : 5) + i]!;
        this.dst6[i] = key[(initA ? 5 : 1) + i]!;
      }
    }
    const ports = key[9]!;
    let portA = ports >>> 16;
    let portB = ports & 0xffff;
    this.isIcmp = protocol === 1 || protocol === 58;
    if (this.isIcmp) {
      const tc = buf[at + P_ICMP_TC]!;
      portA = initA ? tc >>> 8 : tc & 0xff;
      portB = initA ? tc & 0xff : tc >>> 8;
    }
    this.srcPort = initA ? portA : portB;
    this.dstPort = initA ? portB : portA;
    this.fwdFlags = this.isIcmp ? 0 : buf[at + P_FWD_FLAGS]!;
    this.bwdFlags = this.isIcmp ? 0 : buf[at + P_BWD_FLAGS]!;
    const ctx = buf[at + P_CONTEXT]!;
    this.ctx = ctx;
    this.vlanId = (ctx & 0x1fff) - 1;
    this.tunnelType = TUNNEL_TYPES[(ctx >>> 13) & 0xf] ?? 'other';
    this.first = buf[at + P_FIRST_US]!;
    this.late = buf[at + P_LATE_US]!;
    return this;
  }

  uid(): string {
    return flowUid(this.key, 0, this.ctx, this.first, this.late);
  }

  communityId(): string {
    return this.version === 4
      ? communityId(4, this.src4, this.dst4, this.protocol, this.srcPort, this.dstPort)
      : communityId(6, this.src6, this.dst6, this.protocol, this.srcPort, this.dstPort);
  }
}

const endpoints = new PackedEndpoints();

/**
 * The `FlowRecord` of the packed record at `buf[at ..]`: a fresh object the caller may keep.
 * @example
 * const rec = unpackFlow(batch, i * PACKED_FLOW_WIDTH);
 */
export function unpackFlow(buf: Float64Array, at: number): FlowRecord {
  const e = endpoints.read(buf, at);
  const v = e.version;
  const protocol = e.protocol;
  const srcPort = e.srcPort;
  const dstPort = e.dstPort;
  let features: Float64Array | null = null;
  if (buf[at + P_HAS_FEATURES] === 1) features = buf.slice(at + P_FEATURES, at + PACKED_FLOW_WIDTH);
  const first = buf[at + P_FIRST_US]!;
  const last = buf[at + P_LAST_US]!;
  return {
    flow_id: buf[at + P_FLOW_ID]!,
    flow_uid: e.uid(),
    community_id: e.communityId(),
    first_seen_us: first,
    last_seen_us: last,
    duration_us: last - first,
    ip_version: v,
    protocol,
    protocol_name: protocolName(protocol),
    src_ip: v === 4 ? formatIPv4(e.src4) : formatIPv6(e.src6),
    src_port: srcPort,
    dest_ip: v === 4 ? formatIPv4(e.dst4) : formatIPv6(e.dst6),
    dest_port: dstPort,
    vlan_id: e.vlanId,
    tunnel_type: e.tunnelType,
    fwd_packets: buf[at + P_FWD_PACKETS]!,
    bwd_packets: buf[at + P_BWD_PACKETS]!,
    fwd_bytes: buf[at + P_FWD_BYTES]!,
    bwd_bytes: buf[at + P_BWD_BYTES]!,
    fwd_payload_bytes: buf[at + P_FWD_PAYLOAD]!,
    bwd_payload_bytes: buf[at + P_BWD_PAYLOAD]!,
    fwd_tcp_flags: e.fwdFlags,
    bwd_tcp_flags: e.bwdFlags,
    end_reason: END_REASONS[buf[at + P_REASON]!]!,
    partial: buf[at + P_PARTIAL] === 1,
    features,
  };
}
