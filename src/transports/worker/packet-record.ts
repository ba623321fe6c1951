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
 *
 * Anomaly codes travel as registry indexes (`core/anomalies.ts`). A code missing from the
 * registry gets the next free index, and `onNewCode` tells the reader about it before the
 * record that uses it is published.
 */
import { ANOMALIES } from '../../core/anomalies.ts';
import { MAX_ANOMALIES, type PacketContext } from '../../core/packet.ts';

/** Tunnel kinds the decoders name; any other name is interned like an unknown anomaly code. */
const TUNNEL_NAMES = ['', 'gre', 'vxlan', 'geneve', 'ipip', '6in4', '6in6', '4in6', 'erspan', 'gtp', 'teredo', 'l2tp'];

// Word offsets. 0-1 hold tsSec as a float64.
const R_TS_NANOS = 2;
const R_CAPLEN = 3;
const R_FRAMELEN = 4;
const R_LAYERS = 5;
const R_FLAGS = 6;
const R_ANOMALY_COUNT = 7;
const R_ETH_OFF = 8;
const R_VLAN_COUNT = 9;
const R_VLAN0 = 10;
const R_IP_VERSION = 11;
const R_IP_OFF = 12;
const R_IP_HLEN = 13;
const R_IP_TOTLEN = 14;
const R_PROTOCOL = 15;
const R_SRC4 = 16;
const R_DST4 = 17;
const R_SRC6 = 18;
const R_DST6 = 22;
const R_IPV6_PLEN = 26;
const R_ICMP_TYPE = 27;
const R_ICMP_CODE = 28;
const R_ICMP_ECHO_ID = 29;
const R_SRC_PORT = 30;
const R_DST_PORT = 31;
const R_TCP_DOFF = 32;
const R_TCP_FLAGS = 33;
const R_TCP_WINDOW = 34;
const R_UDP_LEN = 35;
const R_PAYLOAD_OFF = 36;
const R_PAYLOAD_LEN = 37;
const R_DNS_FLAGS = 38;
const R_DNS_RCODE = 39;
const R_TUNNEL_DEPTH = 40;
const R_TUNNEL_TYPE = 41;
const R_FRAME_NUMBER = 42;
/** MAX_ANOMALIES 16-bit code ids, two a word. */
const R_ANOMALIES = 43;

/** 32-bit words per record (even, so the float64 timestamp stays aligned). */
export const RECORD_WORDS = 48;
/** Bytes per record. */
export const RECORD_BYTES = RECORD_WORDS * 4;

const F_TRUNCATED = 1;
const F_LATER_FRAGMENT = 2;

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
    i32[b + R_CAPLEN] = p.capturedLength;
    i32[b + R_FRAMELEN] = p.frameLength;
    i32[b + R_LAYERS] = p.layers;
    i32[b + R_FLAGS] = (p.truncated ? F_TRUNCATED : 0) | (p.isLaterFragment ? F_LATER_FRAGMENT : 0);
    i32[b + R_ETH_OFF] = p.ethOff;
    i32[b + R_VLAN_COUNT] = p.vlanCount;
    i32[b + R_VLAN0] = p.vlanIds[0]!;
    i32[b + R_IP_VERSION] = p.ipVersion;
    i32[b + R_IP_OFF] = p.ipOff;
    i32[b + R_IP_HLEN] = p.ipHeaderLength;
    i32[b + R_IP_TOTLEN] = p.ipTotalLength;
    i32[b + R_PROTOCOL] = p.protocol;
    u32[b + R_SRC4] = p.src4;
    u32[b + R_DST4] = p.dst4;
    const s6 = p.src6;
    const d6 = p.dst6;
    u32[b + R_SRC6] = s6[0]!;
    u32[b + R_SRC6 + 1] = s6[1]!;
    u32[b + R_SRC6 + 2] = s6[2]!;
    u32[b + R_SRC6 + 3] = s6[3]!;
    u32[b + R_DST6] = d6[0]!;
    u32[b + R_DST6 + 1] = d6[1]!;
    u32[b + R_DST6 + 2] = d6[2]!;
    u32[b + R_DST6 + 3] = d6[3]!;
    i32[b + R_IPV6_PLEN] = p.ipv6PayloadLength;
    i32[b + R_ICMP_TYPE] = p.icmpType;
    i32[b + R_ICMP_CODE] = p.icmpCode;
    i32[b + R_ICMP_ECHO_ID] = p.icmpEchoId;
    i32[b + R_SRC_PORT] = p.srcPort;
    i32[b + R_DST_PORT] = p.dstPort;
    i32[b + R_TCP_DOFF] = p.tcpDataOffset;
    i32[b + R_TCP_FLAGS] = p.tcpFlags;
    i32[b + R_TCP_WINDOW] = p.tcpWindow;
    i32[b + R_UDP_LEN] = p.udpLength;
    i32[b + R_PAYLOAD_OFF] = p.payloadOff;
    i32[b + R_PAYLOAD_LEN] = p.payloadLen;
    i32[b + R_DNS_FLAGS] = p.dnsFlags;
    i32[b + R_DNS_RCODE] = p.dnsRcode;
    i32[b + R_TUNNEL_DEPTH] = p.tunnelDepth;
    const tt = p.tunnel.type;
    i32[b + R_TUNNEL_TYPE] = tt === '' ? 0 : this.intern(this.tunnels, 'tunnel', tt);
    i32[b + R_FRAME_NUMBER] = p.frameNumber;
    const n = p.anomalyCount;
    i32[b + R_ANOMALY_COUNT] = n;
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

  /** True when the names of record `index` are all known (else learn more first). */
  knows(v: RecordViews, index: number): boolean {
    const b = index * RECORD_WORDS;
    const i32 = v.i32;
    if (i32[b + R_TUNNEL_TYPE]! >= this.tunnels.length) return false;
    const kept = Math.min(i32[b + R_ANOMALY_COUNT]!, MAX_ANOMALIES);
    for (let k = 0; k < kept; k++) {
      const w = v.u32[b + R_ANOMALIES + (k >> 1)]!;
      if (((k & 1) === 0 ? w & 0xffff : w >>> 16) >= this.codes.length) return false;
    }
    return true;
  }

  /** Fill `p` from record `index`. */
  read(v: RecordViews, index: number, p: PacketContext): void {
    const i32 = v.i32;
    const u32 = v.u32;
    const b = index * RECORD_WORDS;
    p.tsSec = v.f64[b >> 1]!;
    p.tsNanos = i32[b + R_TS_NANOS]!;
    p.capturedLength = i32[b + R_CAPLEN]!;
    p.frameLength = i32[b + R_FRAMELEN]!;
    p.layers = i32[b + R_LAYERS]!;
    const f = i32[b + R_FLAGS]!;
    p.truncated = (f & F_TRUNCATED) !== 0;
    p.isLaterFragment = (f & F_LATER_FRAGMENT) !== 0;
    p.ethOff = i32[b + R_ETH_OFF]!;
    p.vlanCount = i32[b + R_VLAN_COUNT]!;
    p.vlanIds[0] = i32[b + R_VLAN0]!;
    p.ipVersion = i32[b + R_IP_VERSION]!;
    p.ipOff = i32[b + R_IP_OFF]!;
    p.ipHeaderLength = i32[b + R_IP_HLEN]!;
    p.ipTotalLength = i32[b + R_IP_TOTLEN]!;
    p.protocol = i32[b + R_PROTOCOL]!;
    p.src4 = u32[b + R_SRC4]!;
    p.dst4 = u32[b + R_DST4]!;
    const s6 = p.src6;
    const d6 = p.dst6;
    s6[0] = u32[b + R_SRC6]!;
    s6[1] = u32[b + R_SRC6 + 1]!;
    s6[2] = u32[b + R_SRC6 + 2]!;
    s6[3] = u32[b + R_SRC6 + 3]!;
    d6[0] = u32[b + R_DST6]!;
    d6[1] = u32[b + R_DST6 + 1]!;
    d6[2] = u32[b + R_DST6 + 2]!;
    d6[3] = u32[b + R_DST6 + 3]!;
    p.ipv6PayloadLength = i32[b + R_IPV6_PLEN]!;
    p.icmpType = i32[b + R_ICMP_TYPE]!;
    p.icmpCode = i32[b + R_ICMP_CODE]!;
    p.icmpEchoId = i32[b + R_ICMP_ECHO_ID]!;
    p.srcPort = i32[b + R_SRC_PORT]!;
    p.dstPort = i32[b + R_DST_PORT]!;
    p.tcpDataOffset = i32[b + R_TCP_DOFF]!;
    p.tcpFlags = i32[b + R_TCP_FLAGS]!;
    p.tcpWindow = i32[b + R_TCP_WINDOW]!;
    p.udpLength = i32[b + R_UDP_LEN]!;
    p.payloadOff = i32[b + R_PAYLOAD_OFF]!;
    p.payloadLen = i32[b + R_PAYLOAD_LEN]!;
    p.dnsFlags = i32[b + R_DNS_FLAGS]!;
    p.dnsRcode = i32[b + R_DNS_RCODE]!;
    p.tunnelDepth = i32[b + R_TUNNEL_DEPTH]!;
    p.tunnel.type = this.tunnels[i32[b + R_TUNNEL_TYPE]!]!;
    p.frameNumber = i32[b + R_FRAME_NUMBER]!;
    const n = i32[b + R_ANOMALY_COUNT]!;
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
