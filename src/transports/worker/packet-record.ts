/**
 * Compact packet records: the fixed-size image of the `PacketContext` fields that the flow
 * engine, the CIC accumulator, the rolling KPIs and `run`'s anomaly rows read, so decoding can
 * run on one thread and aggregation on another.
 *
 * Layout: `RECORD_WORDS` 32-bit words per record, in one `ArrayBuffer`/`SharedArrayBuffer`
 * viewed as Int32, Uint32 and Float64 (the timestamp seconds, words 0-1). Each field keeps its
 * own sign convention (addresses unsigned, offsets and ids that may be -1 signed).
 *
 * Fields are copied whether or not their layer's presence bit is set: consumers read some of
 * them unguarded (stale values from earlier frames), and the copy must reproduce those too, so
 * a context filled from records is indistinguishable, for these readers, from the decoder's.
 * Two exceptions, both read only under the guard: the addresses of the packet's IP version
 * (IPv4 or IPv6 words share the space), and `vlanCount`, clamped at 255. The frame number is
 * not carried: records come in frame order, the reader counts.
 *
 * Why 32 words: the aggregating thread is the slower stage, and a record read from another
 * core's cache costs per cache line; 48 words (every field in its own word) cost it 5-10 % more CPU time on the 1 GB synth capture.
 *
 * Anomaly codes travel as registry indexes (`core/anomalies.ts`). A code missing from the
 * registry gets the next free index, and `onNewName` tells the reader about it before the
 * record that uses it is published.
 */
import { ANOMALIES } from '../../core/anomalies.ts';
import { MAX_ANOMALIES, type PacketContext } from '../../core/packet.ts';

/** Tunnel kinds the decoders name; any other name is interned like an unknown anomaly code. */
const TUNNEL_NAMES = ['', 'gre', 'vxlan', 'geneve', 'ipip', '6in4', '6in6', '4in6', 'erspan', 'gtp', 'teredo', 'l2tp'];

// Word offsets. 0-1 hold tsSec as a float64. Small fields share words (widths in brackets).
const R_TS_NANOS = 2;
const R_CAPLEN = 3;
const R_FRAMELEN = 4;
const R_LAYERS = 5;
/** srcPort [16] | dstPort [16]. */
const R_PORTS = 6;
/** ipVersion [4] | flags [4] | protocol [8] | tunnelDepth [8] | vlanCount [8]. */
const R_MISC = 7;
/** icmpType [8] | icmpCode [8] | tcpDataOffset [8] | dnsRcode [8]. */
const R_SMALL = 8;
/** tcpFlags [16] | tcpWindow [16]. */
const R_TCP = 9;
const R_ICMP_ECHO_ID = 10;
const R_VLAN0 = 11;
const R_ETH_OFF = 12;
const R_IP_OFF = 13;
const R_IP_HLEN = 14;
/** ipTotalLength [16] | udpLength [16]. */
const R_LENGTHS = 15;
/** ipv6PayloadLength [16] | dnsFlags [16]. */
const R_V6LEN_DNS = 16;
const R_PAYLOAD_OFF = 17;
const R_PAYLOAD_LEN = 18;
/** tunnel kind id [16] | anomalyCount [16]. */
const R_TUNNEL_ANOMALIES = 19;
/** IPv4: src4, dst4; IPv6: src6[0..3], dst6[0..3]. Readers only look at the version's own. */
const R_ADDR = 20;
/** MAX_ANOMALIES 16-bit code ids, two a word. */
const R_ANOMALIES = 28;

/** 32-bit words per record (even, so the float64 timestamp stays aligned): two cache lines. */
export const RECORD_WORDS = 32;
/** Bytes per record. */
export const RECORD_BYTES = RECORD_WORDS * 4;

const F_TRUNCATED = 0x10;
const F_LATER_FRAGMENT = 0x20;
const F_PORTS_ONLY = 0x40;

/** Views over one buffer of records. */
export interface RecordViews {
  i32: Int32Array;
  u32: Uint32Array;
  f64: Float64Array;
}

/**
 * Views over `buf` (its byte length a multiple of 8).
 * @example
 * const v = recordViews(new SharedArrayBuffer(RECORD_BYTES * 1024));
 */
export function recordViews(buf: ArrayBufferLike): RecordViews {
  return { i32: new Int32Array(buf), u32: new Uint32Array(buf), f64: new Float64Array(buf) };
}

/**
 * Writes records from a decoded context. Interned names (anomaly codes outside the registry,
 * unusual tunnel kinds) are announced through `onNewName` before their first use.
 * @example
 * const w = new RecordWriter((kind, id, name) => port.postMessage({ kind, id, name }));
 * w.write(views, recordIndex, ctx);
 */
export class RecordWriter {
  private readonly codes = new Map<string, number>();
  private readonly tunnels = new Map<string, number>();
  private readonly onNewName: (kind: 'anomaly' | 'tunnel', id: number, name: string) => void;

  constructor(onNewName: (kind: 'anomaly' | 'tunnel', id: number, name: string) => void) {
    this.onNewName = onNewName;
    for (let i = 0; i < ANOMALIES.length; i++) this.codes.set(ANOMALIES[i]!.code, i);
    for (let i = 0; i < TUNNEL_NAMES.length; i++) this.tunnels.set(TUNNEL_NAMES[i]!, i);
  }

  private intern(map: Map<string, number>, kind: 'anomaly' | 'tunnel', name: string): number {
    let id = map.get(name);
    if (id === undefined) {
      id = map.size;
      map.set(name, id);
      this.onNewName(kind, id, name);
    }
    return id;
  }

  /** Copy `p` into record `index`. */
  write(v: RecordViews, index: number, p: PacketContext): void {
    const i32 = v.i32;
    const u32 = v.u32;
    const b = index * RECORD_WORDS;
    v.f64[b >> 1] = p.tsSec;
    i32[b + R_TS_NANOS] = p.tsNanos;
    // Unsigned: a record header's wire length may claim up to 2^32 - 1.
    u32[b + R_CAPLEN] = p.capturedLength;
    u32[b + R_FRAMELEN] = p.frameLength;
    i32[b + R_LAYERS] = p.layers;
    u32[b + R_PORTS] = (p.srcPort | (p.dstPort << 16)) >>> 0;
    const v4 = p.ipVersion;
    u32[b + R_MISC] =
      (v4 |
        (p.truncated ? F_TRUNCATED : 0) |
        (p.isLaterFragment ? F_LATER_FRAGMENT : 0) |
        (p.portsOnly ? F_PORTS_ONLY : 0) |
        (p.protocol << 8) |
        (p.tunnelDepth << 16) |
        // Read only as "any VLAN": more than 255 tags (never stored beyond MAX_VLANS) clamp.
        (Math.min(p.vlanCount, 255) << 24)) >>>
      0;
    u32[b + R_SMALL] = (p.icmpType | (p.icmpCode << 8) | (p.tcpDataOffset << 16) | (p.dnsRcode << 24)) >>> 0;
    u32[b + R_TCP] = (p.tcpFlags | (p.tcpWindow << 16)) >>> 0;
    i32[b + R_ICMP_ECHO_ID] = p.icmpEchoId;
    i32[b + R_VLAN0] = p.vlanIds[0]!;
    i32[b + R_ETH_OFF] = p.ethOff;
    i32[b + R_IP_OFF] = p.ipOff;
    i32[b + R_IP_HLEN] = p.ipHeaderLength;
    u32[b + R_LENGTHS] = (p.ipTotalLength | (p.udpLength << 16)) >>> 0;
    u32[b + R_V6LEN_DNS] = (p.ipv6PayloadLength | (p.dnsFlags << 16)) >>> 0;
    i32[b + R_PAYLOAD_OFF] = p.payloadOff;
    i32[b + R_PAYLOAD_LEN] = p.payloadLen;
    if (v4 === 4) {
      u32[b + R_ADDR] = p.src4;
      u32[b + R_ADDR + 1] = p.dst4;
    } else if (v4 === 6) {
      const s6 = p.src6;
      const d6 = p.dst6;
      u32[b + R_ADDR] = s6[0]!;
      u32[b + R_ADDR + 1] = s6[1]!;
      u32[b + R_ADDR + 2] = s6[2]!;
      u32[b + R_ADDR + 3] = s6[3]!;
      u32[b + R_ADDR + 4] = d6[0]!;
      u32[b + R_ADDR + 5] = d6[1]!;
      u32[b + R_ADDR + 6] = d6[2]!;
      u32[b + R_ADDR + 7] = d6[3]!;
    }
    const tt = p.tunnel.type;
    const tunnel = tt === '' ? 0 : this.intern(this.tunnels, 'tunnel', tt);
    const n = Math.min(p.anomalyCount, 0xffff);
    u32[b + R_TUNNEL_ANOMALIES] = (tunnel | (n << 16)) >>> 0;
    if (n > 0) {
      const kept = Math.min(n, MAX_ANOMALIES);
      for (let k = 0; k < MAX_ANOMALIES; k += 2) {
        const lo = k < kept ? this.intern(this.codes, 'anomaly', p.anomalies[k]!) : 0;
        const hi = k + 1 < kept ? this.intern(this.codes, 'anomaly', p.anomalies[k + 1]!) : 0;
        u32[b + R_ANOMALIES + (k >> 1)] = (lo | (hi << 16)) >>> 0;
      }
    }
  }
}

/**
 * Fills a context from records: exactly the fields a record carries; the rest of the context
 * is left alone.
 * @example
 * const r = new RecordReader(); r.read(views, i, ctx); engine.packet(ctx);
 */
export class RecordReader {
  private readonly codes: string[] = ANOMALIES.map((a) => a.code);
  private readonly tunnels: string[] = TUNNEL_NAMES.slice();

  /** Learn an interned name announced by the writer. */
  learn(kind: 'anomaly' | 'tunnel', id: number, name: string): void {
    (kind === 'anomaly' ? this.codes : this.tunnels)[id] = name;
  }

  /** Fill `p` from record `index`. */
  read(v: RecordViews, index: number, p: PacketContext): void {
    const i32 = v.i32;
    const u32 = v.u32;
    const b = index * RECORD_WORDS;
    p.tsSec = v.f64[b >> 1]!;
    p.tsNanos = i32[b + R_TS_NANOS]!;
    p.capturedLength = u32[b + R_CAPLEN]!;
    p.frameLength = u32[b + R_FRAMELEN]!;
    p.layers = i32[b + R_LAYERS]!;
    const ports = u32[b + R_PORTS]!;
    p.srcPort = ports & 0xffff;
    p.dstPort = ports >>> 16;
    const misc = u32[b + R_MISC]!;
    const ver = misc & 0xf;
    p.ipVersion = ver;
    p.truncated = (misc & F_TRUNCATED) !== 0;
    p.isLaterFragment = (misc & F_LATER_FRAGMENT) !== 0;
    p.portsOnly = (misc & F_PORTS_ONLY) !== 0;
    p.protocol = (misc >>> 8) & 0xff;
    p.tunnelDepth = (misc >>> 16) & 0xff;
    p.vlanCount = misc >>> 24;
    const small = u32[b + R_SMALL]!;
    p.icmpType = small & 0xff;
    p.icmpCode = (small >>> 8) & 0xff;
    p.tcpDataOffset = (small >>> 16) & 0xff;
    p.dnsRcode = small >>> 24;
    const tcp = u32[b + R_TCP]!;
    p.tcpFlags = tcp & 0xffff;
    p.tcpWindow = tcp >>> 16;
    p.icmpEchoId = i32[b + R_ICMP_ECHO_ID]!;
    p.vlanIds[0] = i32[b + R_VLAN0]!;
    p.ethOff = i32[b + R_ETH_OFF]!;
    p.ipOff = i32[b + R_IP_OFF]!;
    p.ipHeaderLength = i32[b + R_IP_HLEN]!;
    const lengths = u32[b + R_LENGTHS]!;
    p.ipTotalLength = lengths & 0xffff;
    p.udpLength = lengths >>> 16;
    const v6dns = u32[b + R_V6LEN_DNS]!;
    p.ipv6PayloadLength = v6dns & 0xffff;
    p.dnsFlags = v6dns >>> 16;
    p.payloadOff = i32[b + R_PAYLOAD_OFF]!;
    p.payloadLen = i32[b + R_PAYLOAD_LEN]!;
    if (ver === 4) {
      p.src4 = u32[b + R_ADDR]!;
      p.dst4 = u32[b + R_ADDR + 1]!;
    } else if (ver === 6) {
      const s6 = p.src6;
      const d6 = p.dst6;
      s6[0] = u32[b + R_ADDR]!;
      s6[1] = u32[b + R_ADDR + 1]!;
      s6[2] = u32[b + R_ADDR + 2]!;
      s6[3] = u32[b + R_ADDR + 3]!;
      d6[0] = u32[b + R_ADDR + 4]!;
      d6[1] = u32[b + R_ADDR + 5]!;
      d6[2] = u32[b + R_ADDR + 6]!;
      d6[3] = u32[b + R_ADDR + 7]!;
    }
    const ta = u32[b + R_TUNNEL_ANOMALIES]!;
    p.tunnel.type = this.tunnels[ta & 0xffff]!;
    const n = ta >>> 16;
    p.anomalyCount = n;
    if (n > 0) {
      const kept = Math.min(n, MAX_ANOMALIES);
      const a = p.anomalies;
      for (let k = 0; k < kept; k++) {
        const w = u32[b + R_ANOMALIES + (k >> 1)]!;
        a[k] = this.codes[(k & 1) === 0 ? w & 0xffff : w >>> 16]!;
      }
    }
  }
}
