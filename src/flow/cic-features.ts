/**
 * CICFlowMeter (CICIDS2017) flow features: the 85-column "TrafficLabelling" CSV layout, a per-slot
 * accumulator the flow engine feeds packet by packet, and the CSV row writer.
 *
 * Two modes (see docs/flows.md, "CICFlowMeter features"):
 * - `cic` reproduces the CICFlowMeter build that produced CICIDS2017, defects included, so models
 *   trained on the published CSVs score our rows the way they scored theirs.
 * - `corrected` fixes the known defects and also covers IPv6 and ICMP.
 *
 * Units: times in microseconds, lengths in bytes, rates per second. "Packet length" is the
 * transport payload length; "header length" is the transport header (TCP data offset x 4, UDP 8,
 * ICMP 8 in `corrected`), as CICFlowMeter defines them.
 *
 * Memory layout. The state of one flow is a fixed-size record in one ArrayBuffer, read through
 * Float64/Int32/Uint32/Uint16/Uint8 views at `slot * stride`. Keeping a flow's fields together
 * costs 4-5 cache lines per packet where one typed array per field costs one line per field
 * (about 45): with 100k live flows that is the difference between a few and dozens of misses.
 * Each mode allocates only what it needs (`bytesPerFlow`). What can be derived is not stored:
 * sums of inter-arrival times telescope to timestamp differences, backward PSH/URG counts are
 * totals minus forward counts, the sum of active periods is the elapsed time minus idle time.
 * Secondary timestamps are 32-bit microsecond offsets from the flow's first packet (saturating at
 * 71.6 minutes; `cic` keeps them signed, as CICFlowMeter's times go backwards with the capture).
 */
import { LAYER_ETHERNET, LAYER_ICMP, LAYER_ICMPV6, LAYER_TCP, LAYER_UDP, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import type { FlowRecord } from './records.ts';

/** `cic` reproduces CICFlowMeter-V3 (defects included); `corrected` fixes its known defects. */
export type CicMode = 'cic' | 'corrected';

/** One numeric feature column. */
export interface CicFeature {
  /** Exact column text in the CICIDS2017 CSVs, leading space included. */
  header: string;
  /** Clean snake_case name for JSONL/CSV/DuckDB outputs. */
  name: string;
  /** Meaning and unit. */
  doc: string;
}

function f(header: string, name: string, doc: string): CicFeature {
  return { header, name, doc };
}

/**
 * The numeric feature columns (Flow Duration .. Idle Min, including the duplicate Fwd Header
 * Length), in header order: 77 columns, the CICIDS2017 header minus its 7 identity columns and Label.
 * @example
 * const i = CIC_FEATURES.findIndex((c) => c.name === 'flow_duration'); // 0
 */
export const CIC_FEATURES: readonly CicFeature[] = [
  f(' Flow Duration', 'flow_duration', 'Last minus first packet time, µs'),
  f(' Total Fwd Packets', 'total_fwd_packets', 'Packets sent by the initiator'),
  f(' Total Backward Packets', 'total_bwd_packets', 'Packets sent by the responder'),
  f('Total Length of Fwd Packets', 'total_length_fwd_packets', 'Sum of forward packet lengths, bytes'),
  f(' Total Length of Bwd Packets', 'total_length_bwd_packets', 'Sum of backward packet lengths, bytes'),
  f(' Fwd Packet Length Max', 'fwd_packet_length_max', 'Largest forward packet length, bytes'),
  f(' Fwd Packet Length Min', 'fwd_packet_length_min', 'Smallest forward packet length, bytes'),
  f(' Fwd Packet Length Mean', 'fwd_packet_length_mean', 'Mean forward packet length, bytes'),
  f(' Fwd Packet Length Std', 'fwd_packet_length_std', 'Sample standard deviation of forward packet lengths, bytes'),
  f('Bwd Packet Length Max', 'bwd_packet_length_max', 'Largest backward packet length, bytes'),
  f(' Bwd Packet Length Min', 'bwd_packet_length_min', 'Smallest backward packet length, bytes'),
  f(' Bwd Packet Length Mean', 'bwd_packet_length_mean', 'Mean backward packet length, bytes'),
  f(' Bwd Packet Length Std', 'bwd_packet_length_std', 'Sample standard deviation of backward packet lengths, bytes'),
  f('Flow Bytes/s', 'flow_bytes_per_s', 'Packet length sum per second of flow duration, bytes/s'),
  f(' Flow Packets/s', 'flow_packets_per_s', 'Packets per second of flow duration'),
  f(' Flow IAT Mean', 'flow_iat_mean', 'Mean gap between consecutive packets, µs'),
  f(' Flow IAT Std', 'flow_iat_std', 'Sample standard deviation of the gaps, µs'),
  f(' Flow IAT Max', 'flow_iat_max', 'Largest gap between consecutive packets, µs'),
  f(' Flow IAT Min', 'flow_iat_min', 'Smallest gap between consecutive packets, µs'),
  f('Fwd IAT Total', 'fwd_iat_total', 'Sum of gaps between forward packets, µs'),
  f(' Fwd IAT Mean', 'fwd_iat_mean', 'Mean gap between forward packets, µs'),
  f(' Fwd IAT Std', 'fwd_iat_std', 'Sample standard deviation of forward gaps, µs'),
  f(' Fwd IAT Max', 'fwd_iat_max', 'Largest gap between forward packets, µs'),
  f(' Fwd IAT Min', 'fwd_iat_min', 'Smallest gap between forward packets, µs'),
  f('Bwd IAT Total', 'bwd_iat_total', 'Sum of gaps between backward packets, µs'),
  f(' Bwd IAT Mean', 'bwd_iat_mean', 'Mean gap between backward packets, µs'),
  f(' Bwd IAT Std', 'bwd_iat_std', 'Sample standard deviation of backward gaps, µs'),
  f(' Bwd IAT Max', 'bwd_iat_max', 'Largest gap between backward packets, µs'),
  f(' Bwd IAT Min', 'bwd_iat_min', 'Smallest gap between backward packets, µs'),
  f('Fwd PSH Flags', 'fwd_psh_flags', 'Forward packets with PSH set'),
  f(' Bwd PSH Flags', 'bwd_psh_flags', 'Backward packets with PSH set'),
  f(' Fwd URG Flags', 'fwd_urg_flags', 'Forward packets with URG set'),
  f(' Bwd URG Flags', 'bwd_urg_flags', 'Backward packets with URG set'),
  f(' Fwd Header Length', 'fwd_header_length', 'Sum of forward transport header lengths, bytes'),
  f(' Bwd Header Length', 'bwd_header_length', 'Sum of backward transport header lengths, bytes'),
  f('Fwd Packets/s', 'fwd_packets_per_s', 'Forward packets per second of flow duration'),
  f(' Bwd Packets/s', 'bwd_packets_per_s', 'Backward packets per second of flow duration'),
  f(' Min Packet Length', 'packet_length_min', 'Smallest packet length, bytes'),
  f(' Max Packet Length', 'packet_length_max', 'Largest packet length, bytes'),
  f(' Packet Length Mean', 'packet_length_mean', 'Mean packet length, bytes'),
  f(' Packet Length Std', 'packet_length_std', 'Sample standard deviation of packet lengths, bytes'),
  f(' Packet Length Variance', 'packet_length_variance', 'Sample variance of packet lengths, bytes²'),
  f('FIN Flag Count', 'fin_flag_count', 'Packets with FIN set'),
  f(' SYN Flag Count', 'syn_flag_count', 'Packets with SYN set'),
  f(' RST Flag Count', 'rst_flag_count', 'Packets with RST set'),
  f(' PSH Flag Count', 'psh_flag_count', 'Packets with PSH set'),
  f(' ACK Flag Count', 'ack_flag_count', 'Packets with ACK set'),
  f(' URG Flag Count', 'urg_flag_count', 'Packets with URG set'),
  f(' CWE Flag Count', 'cwr_flag_count', 'Packets with CWR set (the CSV header misspells it CWE)'),
  f(' ECE Flag Count', 'ece_flag_count', 'Packets with ECE set'),
  f(' Down/Up Ratio', 'down_up_ratio', 'Backward packets / forward packets'),
  f(' Average Packet Size', 'average_packet_size', 'Packet length sum / packets, bytes'),
  f(' Avg Fwd Segment Size', 'avg_fwd_segment_size', 'Forward packet length sum / forward packets, bytes'),
  f(' Avg Bwd Segment Size', 'avg_bwd_segment_size', 'Backward packet length sum / backward packets, bytes'),
  f(' Fwd Header Length', 'fwd_header_length_2', 'Second copy of Fwd Header Length, bytes'),
  f('Fwd Avg Bytes/Bulk', 'fwd_avg_bytes_per_bulk', 'Mean payload per forward bulk, bytes'),
  f(' Fwd Avg Packets/Bulk', 'fwd_avg_packets_per_bulk', 'Mean packets per forward bulk'),
  f(' Fwd Avg Bulk Rate', 'fwd_avg_bulk_rate', 'Forward bulk bytes per second of bulk time, bytes/s'),
  f(' Bwd Avg Bytes/Bulk', 'bwd_avg_bytes_per_bulk', 'Mean payload per backward bulk, bytes'),
  f(' Bwd Avg Packets/Bulk', 'bwd_avg_packets_per_bulk', 'Mean packets per backward bulk'),
  f('Bwd Avg Bulk Rate', 'bwd_avg_bulk_rate', 'Backward bulk bytes per second of bulk time, bytes/s'),
  f('Subflow Fwd Packets', 'subflow_fwd_packets', 'Forward packets per subflow'),
  f(' Subflow Fwd Bytes', 'subflow_fwd_bytes', 'Forward packet length sum per subflow, bytes'),
  f(' Subflow Bwd Packets', 'subflow_bwd_packets', 'Backward packets per subflow'),
  f(' Subflow Bwd Bytes', 'subflow_bwd_bytes', 'Backward packet length sum per subflow, bytes'),
  f('Init_Win_bytes_forward', 'init_win_bytes_fwd', 'TCP window field of the first forward packet, bytes'),
  f(' Init_Win_bytes_backward', 'init_win_bytes_bwd', 'TCP window field of the first backward packet, bytes'),
  f(' act_data_pkt_fwd', 'act_data_pkt_fwd', 'Forward packets with at least one payload byte'),
  f(' min_seg_size_forward', 'min_seg_size_fwd', 'Smallest forward transport header length, bytes'),
  f('Active Mean', 'active_mean', 'Mean active period, µs'),
  f(' Active Std', 'active_std', 'Sample standard deviation of active periods, µs'),
  f(' Active Max', 'active_max', 'Longest active period, µs'),
  f(' Active Min', 'active_min', 'Shortest active period, µs'),
  f('Idle Mean', 'idle_mean', 'Mean idle period, µs'),
  f(' Idle Std', 'idle_std', 'Sample standard deviation of idle periods, µs'),
  f(' Idle Max', 'idle_max', 'Longest idle period, µs'),
  f(' Idle Min', 'idle_min', 'Shortest idle period, µs'),
];

/**
 * Number of numeric feature columns (77).
 * @example
 * const out = new Float64Array(CIC_FEATURE_COUNT);
 */
export const CIC_FEATURE_COUNT = CIC_FEATURES.length;

/**
 * The 85 header columns, exact text and order of the CICIDS2017 TrafficLabelling CSVs (leading
 * spaces, the second " Fwd Header Length" and the misspelt " CWE Flag Count" included).
 * @example
 * CIC_HEADER.length; // 85
 */
export const CIC_HEADER: readonly string[] = [
  'Flow ID',
  ' Source IP',
  ' Source Port',
  ' Destination IP',
  ' Destination Port',
  ' Protocol',
  ' Timestamp',
  ...CIC_FEATURES.map((c) => c.header),
  ' Label',
];

/**
 * What CICFlowMeter writes in the Label column; CICIDS2017's labels were added afterwards.
 * @example
 * cicCsvRow(rec, CIC_DEFAULT_LABEL);
 */
export const CIC_DEFAULT_LABEL = 'NeedManualLabel';

/** Options of a `CicAccumulator`. */
export interface CicOptions {
  mode: CicMode;
  /** A gap longer than this ends an active period, µs (CICFlowMeter's activity timeout); default 5 s. */
  activityTimeoutUs?: number;
}

// ---- per-flow record layout (byte offsets / element indexes within one slot) ----
// Float64 fields (index in 8-byte units).
const F_FIRST = 0;
const F_LAST = 1;
const F_SUM_F = 2;
const F_SUM_B = 3;
/** Welford M2 (sum of squared deviations) of forward / backward packet lengths. */
const F_M2_F = 4;
const F_M2_B = 5;
/** Welford M2 of flow, forward and backward inter-arrival times. */
const F_IAT_M2 = 6;
const F_FIAT_M2 = 7;
const F_BIAT_M2 = 8;
const F_IDLE_SUM = 9;
const F_ACT_M2 = 10;
const F_IDLE_M2 = 11;
const F_HDR_F = 12;
const F_HDR_B = 13;
// 32-bit fields (index in 4-byte units), from byte 112.
const U_FWD_N = 28;
const U_BWD_N = 29;
/** Offsets from the first packet: last packet of the direction that did not send the last packet. */
const T_OTHER_LAST = 30;
const T_BWD_FIRST = 31;
const T_ACT_START = 32;
const T_IAT_MIN = 33;
const T_IAT_MAX = 34;
const T_FIAT_MIN = 35;
const T_FIAT_MAX = 36;
const T_BIAT_MIN = 37;
const T_BIAT_MAX = 38;
const U_ACT_DATA = 39;
const U_ACT_MIN = 40;
const U_ACT_MAX = 41;
const U_IDLE_N = 42;
const U_IDLE_MIN = 43;
const U_IDLE_MAX = 44;
const I_WIN_F = 45;
const I_WIN_B = 46;
// 16-bit fields (index in 2-byte units), from byte 188.
const H_LEN_MIN_F = 94;
const H_LEN_MAX_F = 95;
const H_LEN_MIN_B = 96;
const H_LEN_MAX_B = 97;
const H_MIN_SEG = 98;
// 8-bit fields, from byte 198.
/** 1 when the flow's latest packet was forward. */
const B_LAST_FWD = 198;
// Mode-specific tail from byte 200. `cic`:
const C_F_ACT_SUM = 25;
const C_U_ACT_N = 52;
const C_T_ACT_END = 53;
const C_H_FIRST_LEN = 108;
const C_B_FIRST_FLAGS = 218;
const CIC_STRIDE = 224;
// `corrected` tail, over the same bytes:
const K_F_BULK_SIZE = 25; // + direction (0 fwd, 1 bwd)
const K_U_FLAGS = 54; // 8 counts: FIN SYN RST PSH ACK URG CWR ECE (header order)
const K_U_FWD_PSH = 62;
const K_U_FWD_URG = 63;
const K_U_GAPS = 64;
const K_U_BULK_LAST = 65; // + dir; offset + 1 of the last payload packet, 0 = none yet
const K_U_BULK_START = 67; // + dir; candidate start, as (last - start)
const K_U_BULK_HSIZE = 69; // + dir
const K_U_BULK_N = 71; // + dir
const K_U_BULK_PKTS = 73; // + dir
const K_U_BULK_DUR = 75; // + dir
const K_B_BULK_HCNT = 308; // + dir; packets in the candidate bulk, 0 = none
const CORRECTED_STRIDE = 312;

/** Gap between packets that starts a new subflow (strictly greater), µs. */
const SUBFLOW_GAP_US = 1_000_000;
/** Gap that breaks a bulk candidate (strictly greater), µs. */
const BULK_GAP_US = 1_000_000;
/** Payload packets in one direction, without the other side sending payload, that make a bulk. */
const BULK_MIN_PACKETS = 4;

const TCP_BIT = layerBit(LAYER_TCP);
const UDP_BIT = layerBit(LAYER_UDP);
const ICMP_BITS = layerBit(LAYER_ICMP) | layerBit(LAYER_ICMPV6);
const ETH_BIT = layerBit(LAYER_ETHERNET);
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_URG = 0x20;
const U32_MAX = 0xffffffff;
const I32_MAX = 0x7fffffff;
const U16_MAX = 0xffff;

function satU32(x: number): number {
  return x < 0 ? 0 : Math.min(x, U32_MAX);
}

function satI32(x: number): number {
  return x > I32_MAX ? I32_MAX : Math.max(x, -I32_MAX);
}

/**
 * CICFlowMeter's packet length: jNetPcap's TCP/UDP payload, every captured byte after the
 * transport header, so Ethernet padding (and a captured FCS) counts. 0 for other protocols,
 * which CICFlowMeter reports as protocol 0.
 */
function cicLength(p: PacketContext): number {
  if ((p.layers & (TCP_BIT | UDP_BIT)) === 0) return 0;
  if ((p.layers & ETH_BIT) !== 0 && p.tunnelDepth === 0 && p.payloadOff >= p.ipOff && p.ethOff >= 0) {
    const n = p.ethOff + p.capturedLength - p.payloadOff;
    if (n >= 0) return n;
  }
  return p.payloadLen;
}

/**
 * The transport payload length on the wire: IP-declared lengths (no padding), also when the
 * capture cut the packet short. Later fragments and protocols without a decoded transport
 * header count their whole IP payload.
 */
function correctedLength(p: PacketContext): number {
  if (!p.truncated) return p.payloadLen;
  let ipPayload = -1;
  if (p.ipVersion === 4 && p.ipTotalLength >= p.ipHeaderLength) ipPayload = p.ipTotalLength - p.ipHeaderLength;
  else if (p.ipVersion === 6 && p.ipv6PayloadLength > 0) ipPayload = p.ipv6PayloadLength + 40 - p.ipHeaderLength;
  if (ipPayload < 0) return p.payloadLen;
  const l = p.layers;
  let n = ipPayload;
  if ((l & TCP_BIT) !== 0) n = ipPayload - p.tcpDataOffset * 4;
  else if ((l & UDP_BIT) !== 0) n = p.udpLength >= 8 ? p.udpLength - 8 : ipPayload - 8;
  else if ((l & ICMP_BITS) !== 0) n = ipPayload - 8;
  return Math.max(n, 0);
}

/** Transport header length: TCP data offset x 4, UDP 8, ICMP 8 (`corrected` only), else 0. */
function headerLength(p: PacketContext, icmp: boolean): number {
  const l = p.layers;
  if ((l & TCP_BIT) !== 0) return p.tcpDataOffset * 4;
  if ((l & UDP_BIT) !== 0) return 8;
  if (icmp && (l & ICMP_BITS) !== 0) return 8;
  return 0;
}

/** Sample standard deviation from Welford's M2 (0 for a single value, as commons-math). */
function std(m2: number, n: number): number {
  return n > 1 ? Math.sqrt(m2 / (n - 1)) : 0;
}

/**
 * Per-slot CICFlowMeter feature state. The flow engine owns slot numbers: `start` on a flow's
 * first packet, `add` on each later one, `values` whenever it exports the flow (final or partial;
 * `values` does not change the state).
 *
 * Hot path: `add` reads a handful of packet fields and updates one record, with no allocation.
 * @example
 * const acc = new CicAccumulator({ mode: 'corrected' });
 * acc.ensureCapacity(1);
 * acc.start(0, p, tsUs);            // first packet of the flow in slot 0
 * acc.add(0, p2, ts2Us, false);     // a reply
 * const out = new Float64Array(CIC_FEATURE_COUNT);
 * acc.values(0, out);               // out[0] = flow duration in µs
 */
export class CicAccumulator {
  /** Resident bytes of state per flow slot. */
  readonly bytesPerFlow: number;
  readonly mode: CicMode;
  readonly activityTimeoutUs: number;
  private readonly cic: boolean;
  private capacity = 0;
  private f64 = new Float64Array(0);
  private u32 = new Uint32Array(0);
  private i32 = new Int32Array(0);
  /** Timestamp offsets and inter-arrival extremes: signed in `cic`, unsigned in `corrected`. */
  private t32: Int32Array | Uint32Array = new Uint32Array(0);
  private u16 = new Uint16Array(0);
  private u8 = new Uint8Array(0);

  constructor(options: CicOptions, initialCapacity = 1024) {
    this.mode = options.mode;
    this.cic = options.mode === 'cic';
    this.activityTimeoutUs = options.activityTimeoutUs ?? 5_000_000;
    this.bytesPerFlow = this.cic ? CIC_STRIDE : CORRECTED_STRIDE;
    this.ensureCapacity(initialCapacity);
  }

  /**
   * Make slots 0..n-1 usable (grow by doubling, keep contents).
   * @example
   * acc.ensureCapacity(table.size);
   */
  ensureCapacity(n: number): void {
    if (n <= this.capacity) return;
    let cap = Math.max(16, this.capacity);
    while (cap < n) cap *= 2;
    const buf = new ArrayBuffer(cap * this.bytesPerFlow);
    new Uint8Array(buf).set(this.u8);
    this.capacity = cap;
    this.f64 = new Float64Array(buf);
    this.u32 = new Uint32Array(buf);
    this.i32 = new Int32Array(buf);
    this.t32 = this.cic ? this.i32 : this.u32;
    this.u16 = new Uint16Array(buf);
    this.u8 = new Uint8Array(buf);
  }

  /**
   * Number of usable slots.
   * @example
   * if (slot >= acc.slots) acc.ensureCapacity(slot + 1);
   */
  get slots(): number {
    return this.capacity;
  }

  /**
   * First packet of a flow in `slot` (old contents are overwritten); it is forward by definition.
   * @example
   * acc.start(slot, p, p.tsSec * 1e6 + Math.floor(p.tsNanos / 1000));
   */
  start(slot: number, p: PacketContext, tsUs: number): void {
    const s = this.bytesPerFlow;
    this.u8.fill(0, slot * s, slot * s + s);
    const d = (slot * s) >> 3;
    const w = (slot * s) >> 2;
    const h = (slot * s) >> 1;
    const b = slot * s;
    const f64 = this.f64;
    const u32 = this.u32;
    const t32 = this.t32;
    const cic = this.cic;
    const len = cic ? cicLength(p) : correctedLength(p);
    const hdr = headerLength(p, !cic);
    const tcp = (p.layers & TCP_BIT) !== 0;
    const flags = tcp ? p.tcpFlags & 0xff : 0;
    f64[d + F_FIRST] = tsUs;
    f64[d + F_LAST] = tsUs;
    f64[d + F_SUM_F] = len;
    f64[d + F_HDR_F] = hdr;
    u32[w + U_FWD_N] = 1;
    const l16 = Math.min(len, U16_MAX);
    this.u16[h + H_LEN_MIN_F] = l16;
    this.u16[h + H_LEN_MAX_F] = l16;
    this.u16[h + H_MIN_SEG] = hdr;
    this.u8[b + B_LAST_FWD] = 1;
    this.i32[w + I_WIN_F] = tcp ? p.tcpWindow : -1;
    this.i32[w + I_WIN_B] = -1;
    t32[w + T_IAT_MIN] = cic ? I32_MAX : U32_MAX;
    t32[w + T_FIAT_MIN] = cic ? I32_MAX : U32_MAX;
    t32[w + T_BIAT_MIN] = cic ? I32_MAX : U32_MAX;
    t32[w + T_IAT_MAX] = cic ? -I32_MAX : 0;
    t32[w + T_FIAT_MAX] = cic ? -I32_MAX : 0;
    t32[w + T_BIAT_MAX] = cic ? -I32_MAX : 0;
    u32[w + U_ACT_MIN] = U32_MAX;
    u32[w + U_IDLE_MIN] = U32_MAX;
    if (cic) {
      // CICFlowMeter counts flags, PSH/URG and subflows on the first packet only (see docs).
      this.u8[b + C_B_FIRST_FLAGS] = flags;
      this.u16[h + C_H_FIRST_LEN] = l16;
    } else {
      const k = w + K_U_FLAGS;
      addFlags(u32, k, flags);
      u32[w + K_U_FWD_PSH] = (flags & TCP_PSH) !== 0 ? 1 : 0;
      u32[w + K_U_FWD_URG] = (flags & TCP_URG) !== 0 ? 1 : 0;
      if (len > 0) {
        u32[w + U_ACT_DATA] = 1;
        this.bulk(d, w, b, 0, 0, len);
      }
    }
  }

  /**
   * A later packet of the flow in `slot`; `forward` = sent by the flow's initiator.
   * @example
   * acc.add(slot, p, tsUs, kb.forward === initiatorIsA);
   */
  add(slot: number, p: PacketContext, tsUs: number, forward: boolean): void {
    if (this.cic) this.addCic(slot, p, tsUs, forward);
    else this.addCorrected(slot, p, tsUs, forward);
  }

  private addCic(slot: number, p: PacketContext, ts: number, forward: boolean): void {
    const s = this.bytesPerFlow;
    const d = (slot * s) >> 3;
    const w = (slot * s) >> 2;
    const h = (slot * s) >> 1;
    const b = slot * s;
    const f64 = this.f64;
    const u32 = this.u32;
    const t = this.i32;
    const first = f64[d + F_FIRST]!;
    const len = cicLength(p);
    const hdr = headerLength(p, false);
    const tcp = (p.layers & TCP_BIT) !== 0;
    // FlowGenerator updates active/idle before every later packet except a FIN (which ends the flow).
    if (!tcp || (p.tcpFlags & TCP_FIN) === 0) {
      const thr = this.activityTimeoutUs;
      const end = first + t[w + C_T_ACT_END]!;
      if (ts - end > thr) {
        const active = end - (first + t[w + T_ACT_START]!);
        if (active > 0) {
          const n = u32[w + C_U_ACT_N]! + 1;
          welford(f64, d + C_F_ACT_SUM, d + F_ACT_M2, n, active);
          u32[w + C_U_ACT_N] = n;
          minMaxU(u32, w + U_ACT_MIN, w + U_ACT_MAX, active);
        }
        const idle = ts - end;
        const n = u32[w + U_IDLE_N]! + 1;
        welford(f64, d + F_IDLE_SUM, d + F_IDLE_M2, n, idle);
        u32[w + U_IDLE_N] = n;
        minMaxU(u32, w + U_IDLE_MIN, w + U_IDLE_MAX, idle);
        t[w + T_ACT_START] = satI32(ts - first);
      }
      t[w + C_T_ACT_END] = satI32(ts - first);
    }
    const last = f64[d + F_LAST]!;
    const lastFwd = this.u8[b + B_LAST_FWD] === 1;
    const fwdN = u32[w + U_FWD_N]!;
    const bwdN = u32[w + U_BWD_N]!;
    // Flow IAT: CICFlowMeter's timestamps may go backwards with the capture, and so may its gaps.
    const iat = ts - last;
    const nIat = fwdN + bwdN; // gaps after this packet
    iatStatI(f64, t, d + F_IAT_M2, w + T_IAT_MIN, nIat, last - first, iat);
    const otherLast = first + t[w + T_OTHER_LAST]!;
    if (forward) {
      const prev = lastFwd ? last : otherLast;
      iatStatI(f64, t, d + F_FIAT_M2, w + T_FIAT_MIN, fwdN, prev - first, ts - prev);
      if (!lastFwd) t[w + T_OTHER_LAST] = satI32(last - first);
      this.lengthFwd(d, h, fwdN + 1, len);
      u32[w + U_FWD_N] = fwdN + 1;
      f64[d + F_HDR_F] = f64[d + F_HDR_F]! + hdr;
      if (hdr < this.u16[h + H_MIN_SEG]!) this.u16[h + H_MIN_SEG] = hdr;
      if (len >= 1) u32[w + U_ACT_DATA] = u32[w + U_ACT_DATA]! + 1;
      this.u8[b + B_LAST_FWD] = 1;
    } else {
      const prev = lastFwd ? otherLast : last;
      if (bwdN === 0) t[w + T_BWD_FIRST] = satI32(ts - first);
      else {
        const bFirst = first + t[w + T_BWD_FIRST]!;
        iatStatI(f64, t, d + F_BIAT_M2, w + T_BIAT_MIN, bwdN, prev - bFirst, ts - prev);
      }
      if (lastFwd) t[w + T_OTHER_LAST] = satI32(last - first);
      this.lengthBwd(d, h, bwdN + 1, len);
      u32[w + U_BWD_N] = bwdN + 1;
      f64[d + F_HDR_B] = f64[d + F_HDR_B]! + hdr;
      // Not the initial window: CICFlowMeter overwrites it with every backward packet's.
      this.i32[w + I_WIN_B] = tcp ? p.tcpWindow : -1;
      this.u8[b + B_LAST_FWD] = 0;
    }
    f64[d + F_LAST] = ts;
  }

  private addCorrected(slot: number, p: PacketContext, tsIn: number, forward: boolean): void {
    const s = this.bytesPerFlow;
    const d = (slot * s) >> 3;
    const w = (slot * s) >> 2;
    const h = (slot * s) >> 1;
    const b = slot * s;
    const f64 = this.f64;
    const u32 = this.u32;
    const first = f64[d + F_FIRST]!;
    const last = f64[d + F_LAST]!;
    // A capture that goes backwards in time does not make negative gaps.
    const ts = Math.max(tsIn, last);
    const len = correctedLength(p);
    const hdr = headerLength(p, true);
    const tcp = (p.layers & TCP_BIT) !== 0;
    const gap = ts - last;
    if (gap > SUBFLOW_GAP_US) u32[w + K_U_GAPS] = u32[w + K_U_GAPS]! + 1;
    if (gap > this.activityTimeoutUs) {
      // Close the active period [start, last] and the idle gap after it.
      const start = first + u32[w + T_ACT_START]!;
      const idleN = u32[w + U_IDLE_N]!;
      const active = last - start;
      // Sum of closed active periods = elapsed time before this period - idle time so far.
      welfordWithSum(f64, d + F_ACT_M2, idleN + 1, start - first - f64[d + F_IDLE_SUM]!, active);
      minMaxU(u32, w + U_ACT_MIN, w + U_ACT_MAX, active);
      welford(f64, d + F_IDLE_SUM, d + F_IDLE_M2, idleN + 1, gap);
      u32[w + U_IDLE_N] = idleN + 1;
      minMaxU(u32, w + U_IDLE_MIN, w + U_IDLE_MAX, gap);
      u32[w + T_ACT_START] = satU32(ts - first);
    }
    const lastFwd = this.u8[b + B_LAST_FWD] === 1;
    const fwdN = u32[w + U_FWD_N]!;
    const bwdN = u32[w + U_BWD_N]!;
    iatStatU(f64, u32, d + F_IAT_M2, w + T_IAT_MIN, fwdN + bwdN, last - first, gap);
    const otherLast = first + u32[w + T_OTHER_LAST]!;
    const flags = tcp ? p.tcpFlags & 0xff : 0;
    if (flags !== 0) addFlags(u32, w + K_U_FLAGS, flags);
    if (forward) {
      const prev = lastFwd ? last : otherLast;
      iatStatU(f64, u32, d + F_FIAT_M2, w + T_FIAT_MIN, fwdN, prev - first, ts - prev);
      if (!lastFwd) u32[w + T_OTHER_LAST] = satU32(last - first);
      this.lengthFwd(d, h, fwdN + 1, len);
      u32[w + U_FWD_N] = fwdN + 1;
      f64[d + F_HDR_F] = f64[d + F_HDR_F]! + hdr;
      if (hdr < this.u16[h + H_MIN_SEG]!) this.u16[h + H_MIN_SEG] = hdr;
      if (len >= 1) u32[w + U_ACT_DATA] = u32[w + U_ACT_DATA]! + 1;
      if ((flags & TCP_PSH) !== 0) u32[w + K_U_FWD_PSH] = u32[w + K_U_FWD_PSH]! + 1;
      if ((flags & TCP_URG) !== 0) u32[w + K_U_FWD_URG] = u32[w + K_U_FWD_URG]! + 1;
      this.u8[b + B_LAST_FWD] = 1;
      this.bulk(d, w, b, 0, ts - first, len);
    } else {
      const prev = lastFwd ? otherLast : last;
      if (bwdN === 0) {
        u32[w + T_BWD_FIRST] = satU32(ts - first);
        this.i32[w + I_WIN_B] = tcp ? p.tcpWindow : -1;
      } else {
        const bFirst = first + u32[w + T_BWD_FIRST]!;
        iatStatU(f64, u32, d + F_BIAT_M2, w + T_BIAT_MIN, bwdN, prev - bFirst, ts - prev);
      }
      if (lastFwd) u32[w + T_OTHER_LAST] = satU32(last - first);
      this.lengthBwd(d, h, bwdN + 1, len);
      u32[w + U_BWD_N] = bwdN + 1;
      f64[d + F_HDR_B] = f64[d + F_HDR_B]! + hdr;
      this.u8[b + B_LAST_FWD] = 0;
      this.bulk(d, w, b, 1, ts - first, len);
    }
    f64[d + F_LAST] = ts;
  }

  private lengthFwd(d: number, h: number, n: number, len: number): void {
    welford(this.f64, d + F_SUM_F, d + F_M2_F, n, len);
    const l = Math.min(len, U16_MAX);
    const u16 = this.u16;
    if (l < u16[h + H_LEN_MIN_F]!) u16[h + H_LEN_MIN_F] = l;
    if (l > u16[h + H_LEN_MAX_F]!) u16[h + H_LEN_MAX_F] = l;
  }

  private lengthBwd(d: number, h: number, n: number, len: number): void {
    welford(this.f64, d + F_SUM_B, d + F_M2_B, n, len);
    const l = Math.min(len, U16_MAX);
    const u16 = this.u16;
    if (n === 1 || l < u16[h + H_LEN_MIN_B]!) u16[h + H_LEN_MIN_B] = l;
    if (l > u16[h + H_LEN_MAX_B]!) u16[h + H_LEN_MAX_B] = l;
  }

  /**
   * CICFlowMeter's bulk detection, with its direction test fixed: a bulk is at least 4 payload
   * packets in one direction, each within 1 s of the previous, while the other side sent no
   * payload since the candidate began. `off` is the packet time as an offset from the flow start.
   */
  private bulk(d: number, w: number, b: number, dir: number, off: number, len: number): void {
    const u32 = this.u32;
    const u8 = this.u8;
    const other = u32[w + K_U_BULK_LAST + 1 - dir]!;
    const cnt = u8[b + K_B_BULK_HCNT + dir]!;
    const lastRaw = u32[w + K_U_BULK_LAST + dir]!;
    let start = 0;
    let has = cnt !== 0;
    if (has) {
      start = lastRaw - 1 - u32[w + K_U_BULK_START + dir]!;
      // The other side sent payload after this candidate began: no bulk.
      if (other !== 0 && other - 1 > start) has = false;
    }
    if (len <= 0) {
      if (!has && cnt !== 0) u8[b + K_B_BULK_HCNT + dir] = 0;
      return;
    }
    const at = satU32(off);
    if (!has || at - (lastRaw - 1) > BULK_GAP_US) {
      u8[b + K_B_BULK_HCNT + dir] = 1;
      u32[w + K_U_BULK_HSIZE + dir] = len;
      u32[w + K_U_BULK_START + dir] = 0;
      u32[w + K_U_BULK_LAST + dir] = Math.min(at + 1, U32_MAX);
      return;
    }
    const prevLast = lastRaw - 1;
    const n = cnt + 1;
    if (n === BULK_MIN_PACKETS) {
      u32[w + K_U_BULK_N + dir] = u32[w + K_U_BULK_N + dir]! + 1;
      u32[w + K_U_BULK_PKTS + dir] = u32[w + K_U_BULK_PKTS + dir]! + BULK_MIN_PACKETS;
      this.f64[d + K_F_BULK_SIZE + dir] = this.f64[d + K_F_BULK_SIZE + dir]! + u32[w + K_U_BULK_HSIZE + dir]! + len;
      u32[w + K_U_BULK_DUR + dir] = satU32(u32[w + K_U_BULK_DUR + dir]! + (at - start));
    } else if (n > BULK_MIN_PACKETS) {
      u32[w + K_U_BULK_PKTS + dir] = u32[w + K_U_BULK_PKTS + dir]! + 1;
      this.f64[d + K_F_BULK_SIZE + dir] = this.f64[d + K_F_BULK_SIZE + dir]! + len;
      u32[w + K_U_BULK_DUR + dir] = satU32(u32[w + K_U_BULK_DUR + dir]! + (at - prevLast));
    } else {
      u32[w + K_U_BULK_HSIZE + dir] = satU32(u32[w + K_U_BULK_HSIZE + dir]! + len);
    }
    u8[b + K_B_BULK_HCNT + dir] = n > BULK_MIN_PACKETS ? BULK_MIN_PACKETS + 1 : n;
    u32[w + K_U_BULK_LAST + dir] = Math.min(at + 1, U32_MAX);
    u32[w + K_U_BULK_START + dir] = satU32(at - start);
  }

  /** First packet time of the flow in `slot`, µs (engines may read it instead of storing their own). */
  firstSeenUs(slot: number): number {
    return this.f64[((slot * this.bytesPerFlow) >> 3) + F_FIRST]!;
  }

  /** Latest packet time of the flow in `slot`, µs (`cic`: of the latest packet processed). */
  lastSeenUs(slot: number): number {
    return this.f64[((slot * this.bytesPerFlow) >> 3) + F_LAST]!;
  }

  /** Forward packet-length sum of the flow in `slot` (the mode's packet length: transport payload). */
  fwdPayloadBytes(slot: number): number {
    return this.f64[((slot * this.bytesPerFlow) >> 3) + F_SUM_F]!;
  }

  /** Backward packet-length sum of the flow in `slot`. */
  bwdPayloadBytes(slot: number): number {
    return this.f64[((slot * this.bytesPerFlow) >> 3) + F_SUM_B]!;
  }

  /** Forward packet count of the flow in `slot`. */
  fwdPackets(slot: number): number {
    return this.u32[((slot * this.bytesPerFlow) >> 2) + U_FWD_N]!;
  }

  /** Backward packet count of the flow in `slot`. */
  bwdPackets(slot: number): number {
    return this.u32[((slot * this.bytesPerFlow) >> 2) + U_BWD_N]!;
  }

  /**
   * Copy the state of `slot` (`bytesPerFlow` bytes, host byte order) into `out` at `at`: the
   * flow engine's snapshots carry it as it is.
   * @example
   * acc.saveSlot(slot, image, offset); offset += acc.bytesPerFlow;
   */
  saveSlot(slot: number, out: Uint8Array, at: number): void {
    const s = this.bytesPerFlow;
    out.set(this.u8.subarray(slot * s, slot * s + s), at);
  }

  /**
   * Overwrite the state of `slot` with `bytesPerFlow` bytes of `src` from `at`, as `saveSlot`
   * wrote them (the slot must be below `slots`).
   * @example
   * acc.loadSlot(slot, image, offset);
   */
  loadSlot(slot: number, src: Uint8Array, at: number): void {
    const s = this.bytesPerFlow;
    this.u8.set(src.subarray(at, at + s), slot * s);
  }

  /**
   * Feature values of the slot, in CIC_FEATURES order, for a flow ending at its last packet.
   * @example
   * const out = new Float64Array(CIC_FEATURE_COUNT); acc.values(slot, out); rec.features = out;
   */
  values(slot: number, out: Float64Array): void {
    if (this.cic) this.valuesCic(slot, out);
    else this.valuesCorrected(slot, out);
  }

  /**
   * The columns both modes compute alike (0..12, 15..28, 33..38, 52..54, 65, 67, 68). Returns the
   * length sum and M2 over all packets, which the modes turn into columns 39..41 differently.
   */
  private common(slot: number, out: Float64Array): { sum: number; m2: number } {
    const s = this.bytesPerFlow;
    const d = (slot * s) >> 3;
    const w = (slot * s) >> 2;
    const h = (slot * s) >> 1;
    const f64 = this.f64;
    const u32 = this.u32;
    const t = this.t32;
    const u16 = this.u16;
    const first = f64[d + F_FIRST]!;
    const last = f64[d + F_LAST]!;
    const nf = u32[w + U_FWD_N]!;
    const nb = u32[w + U_BWD_N]!;
    const sumF = f64[d + F_SUM_F]!;
    const sumB = f64[d + F_SUM_B]!;
    const lastFwd = this.u8[slot * s + B_LAST_FWD] === 1;
    const otherLast = first + t[w + T_OTHER_LAST]!;
    const fwdLast = lastFwd ? last : otherLast;
    const bwdLast = lastFwd ? otherLast : last;
    out[0] = last - first;
    out[1] = nf;
    out[2] = nb;
    out[3] = sumF;
    out[4] = sumB;
    out[5] = u16[h + H_LEN_MAX_F]!;
    out[6] = u16[h + H_LEN_MIN_F]!;
    out[7] = sumF / nf;
    out[8] = std(f64[d + F_M2_F]!, nf);
    if (nb > 0) {
      out[9] = u16[h + H_LEN_MAX_B]!;
      out[10] = u16[h + H_LEN_MIN_B]!;
      out[11] = sumB / nb;
      out[12] = std(f64[d + F_M2_B]!, nb);
    } else {
      out[9] = out[10] = out[11] = out[12] = 0;
    }
    const n = nf + nb;
    if (n > 1) {
      out[15] = (last - first) / (n - 1);
      out[16] = std(f64[d + F_IAT_M2]!, n - 1);
      out[17] = t[w + T_IAT_MAX]!;
      out[18] = t[w + T_IAT_MIN]!;
    } else {
      out[15] = out[16] = out[17] = out[18] = 0;
    }
    if (nf > 1) {
      out[19] = fwdLast - first;
      out[20] = (fwdLast - first) / (nf - 1);
      out[21] = std(f64[d + F_FIAT_M2]!, nf - 1);
      out[22] = t[w + T_FIAT_MAX]!;
      out[23] = t[w + T_FIAT_MIN]!;
    } else {
      out[19] = out[20] = out[21] = out[22] = out[23] = 0;
    }
    if (nb > 1) {
      const bFirst = first + t[w + T_BWD_FIRST]!;
      out[24] = bwdLast - bFirst;
      out[25] = (bwdLast - bFirst) / (nb - 1);
      out[26] = std(f64[d + F_BIAT_M2]!, nb - 1);
      out[27] = t[w + T_BIAT_MAX]!;
      out[28] = t[w + T_BIAT_MIN]!;
    } else {
      out[24] = out[25] = out[26] = out[27] = out[28] = 0;
    }
    const hdrF = f64[d + F_HDR_F]!;
    out[33] = hdrF;
    out[34] = f64[d + F_HDR_B]!;
    const dur = last - first;
    out[35] = dur > 0 ? nf / (dur / 1e6) : 0;
    out[36] = dur > 0 ? nb / (dur / 1e6) : 0;
    const minB = nb > 0 ? u16[h + H_LEN_MIN_B]! : U16_MAX;
    const maxB = nb > 0 ? u16[h + H_LEN_MAX_B]! : 0;
    out[37] = Math.min(u16[h + H_LEN_MIN_F]!, minB);
    out[38] = Math.max(u16[h + H_LEN_MAX_F]!, maxB);
    out[52] = sumF / nf;
    out[53] = nb > 0 ? sumB / nb : 0;
    out[54] = hdrF;
    out[65] = this.i32[w + I_WIN_F]!;
    out[67] = u32[w + U_ACT_DATA]!;
    out[68] = u16[h + H_MIN_SEG]!;
    return combine(nf, sumF, f64[d + F_M2_F]!, nb, sumB, f64[d + F_M2_B]!);
  }

  private valuesCic(slot: number, out: Float64Array): void {
    const all = this.common(slot, out);
    const s = this.bytesPerFlow;
    const d = (slot * s) >> 3;
    const w = (slot * s) >> 2;
    const h = (slot * s) >> 1;
    const f64 = this.f64;
    const u32 = this.u32;
    const u16 = this.u16;
    const nf = u32[w + U_FWD_N]!;
    const nb = u32[w + U_BWD_N]!;
    const n = nf + nb;
    const sumF = f64[d + F_SUM_F]!;
    const sumB = f64[d + F_SUM_B]!;
    const dur = out[0]!;
    // Java double division: a zero duration gives Infinity (or NaN for 0/0), as in the dataset.
    out[13] = (sumF + sumB) / (dur / 1e6);
    out[14] = n / (dur / 1e6);
    if (n === 1) out[15] = out[16] = out[17] = out[18] = Number.NaN; // empty SummaryStatistics
    const flags = this.u8[slot * s + C_B_FIRST_FLAGS]!;
    out[29] = (flags & TCP_PSH) !== 0 ? 1 : 0;
    out[30] = 0;
    out[31] = (flags & TCP_URG) !== 0 ? 1 : 0;
    out[32] = 0;
    // The all-packet length statistics hold the first packet twice (n + 1 samples).
    const x1 = u16[h + C_H_FIRST_LEN]!;
    const mean = all.sum / n;
    const m2 = all.m2 + (x1 - mean) * (x1 - (all.sum + x1) / (n + 1));
    out[39] = (all.sum + x1) / (n + 1);
    out[40] = Math.sqrt(m2 / n);
    out[41] = m2 / n;
    // The flag columns come out in java.util.HashMap iteration order of the keys FIN SYN RST PSH
    // ACK URG CWR ECE: RST PSH ECE SYN ACK FIN URG CWR, under the headers FIN .. ECE.
    out[42] = (flags >> 2) & 1; // RST
    out[43] = (flags >> 3) & 1; // PSH
    out[44] = (flags >> 6) & 1; // ECE
    out[45] = (flags >> 1) & 1; // SYN
    out[46] = (flags >> 4) & 1; // ACK
    out[47] = flags & 1; // FIN
    out[48] = (flags >> 5) & 1; // URG
    out[49] = (flags >> 7) & 1; // CWR
    out[50] = Math.floor(nb / nf); // Java int division
    out[51] = (sumF + sumB + x1) / n;
    for (let i = 55; i <= 60; i++) out[i] = 0; // bulk features: never computed
    out[61] = nf;
    out[62] = sumF;
    out[63] = nb;
    out[64] = sumB;
    out[66] = this.i32[w + I_WIN_B]!;
    const actN = u32[w + C_U_ACT_N]!;
    if (actN > 0) {
      out[69] = f64[d + C_F_ACT_SUM]! / actN;
      out[70] = std(f64[d + F_ACT_M2]!, actN);
      out[71] = u32[w + U_ACT_MAX]!;
      out[72] = u32[w + U_ACT_MIN]!;
    } else {
      out[69] = out[70] = out[71] = out[72] = 0;
    }
    this.idle(d, w, out);
  }

  private valuesCorrected(slot: number, out: Float64Array): void {
    const all = this.common(slot, out);
    const s = this.bytesPerFlow;
    const d = (slot * s) >> 3;
    const w = (slot * s) >> 2;
    const f64 = this.f64;
    const u32 = this.u32;
    const nf = u32[w + U_FWD_N]!;
    const nb = u32[w + U_BWD_N]!;
    const n = nf + nb;
    const sumF = f64[d + F_SUM_F]!;
    const sumB = f64[d + F_SUM_B]!;
    const dur = out[0]!;
    out[13] = dur > 0 ? (sumF + sumB) / (dur / 1e6) : 0;
    out[14] = dur > 0 ? n / (dur / 1e6) : 0;
    const fl = w + K_U_FLAGS;
    const fwdPsh = u32[w + K_U_FWD_PSH]!;
    const fwdUrg = u32[w + K_U_FWD_URG]!;
    out[29] = fwdPsh;
    out[30] = u32[fl + 3]! - fwdPsh;
    out[31] = fwdUrg;
    out[32] = u32[fl + 5]! - fwdUrg;
    out[39] = all.sum / n;
    const v = n > 1 ? all.m2 / (n - 1) : 0;
    out[40] = Math.sqrt(v);
    out[41] = v;
    for (let i = 0; i < 8; i++) out[42 + i] = u32[fl + i]!;
    out[50] = nb / nf;
    out[51] = (sumF + sumB) / n;
    for (let dir = 0; dir < 2; dir++) {
      const bulks = u32[w + K_U_BULK_N + dir]!;
      const size = f64[d + K_F_BULK_SIZE + dir]!;
      const bdur = u32[w + K_U_BULK_DUR + dir]!;
      const o = 55 + dir * 3;
      out[o] = bulks > 0 ? size / bulks : 0;
      out[o + 1] = bulks > 0 ? u32[w + K_U_BULK_PKTS + dir]! / bulks : 0;
      out[o + 2] = bdur > 0 ? size / (bdur / 1e6) : 0;
    }
    const subflows = u32[w + K_U_GAPS]! + 1;
    out[61] = nf / subflows;
    out[62] = sumF / subflows;
    out[63] = nb / subflows;
    out[64] = sumB / subflows;
    const winF = this.i32[w + I_WIN_F]!;
    const winB = this.i32[w + I_WIN_B]!;
    out[65] = winF < 0 ? Number.NaN : winF;
    out[66] = winB < 0 ? Number.NaN : winB;
    // Active periods: the closed ones plus the one still open at the last packet.
    const idleN = u32[w + U_IDLE_N]!;
    const first = f64[d + F_FIRST]!;
    const start = first + u32[w + T_ACT_START]!;
    const closedSum = start - first - f64[d + F_IDLE_SUM]!;
    const open = f64[d + F_LAST]! - start;
    const actN = idleN + 1;
    const actSum = closedSum + open;
    const mOld = idleN > 0 ? closedSum / idleN : 0;
    const m2 = f64[d + F_ACT_M2]! + (open - mOld) * (open - actSum / actN);
    out[69] = actSum / actN;
    out[70] = std(idleN > 0 ? m2 : 0, actN);
    out[71] = idleN > 0 ? Math.max(u32[w + U_ACT_MAX]!, open) : open;
    out[72] = idleN > 0 ? Math.min(u32[w + U_ACT_MIN]!, open) : open;
    this.idle(d, w, out);
  }

  private idle(d: number, w: number, out: Float64Array): void {
    const n = this.u32[w + U_IDLE_N]!;
    if (n > 0) {
      out[73] = this.f64[d + F_IDLE_SUM]! / n;
      out[74] = std(this.f64[d + F_IDLE_M2]!, n);
      out[75] = this.u32[w + U_IDLE_MAX]!;
      out[76] = this.u32[w + U_IDLE_MIN]!;
    } else {
      out[73] = out[74] = out[75] = out[76] = 0;
    }
  }
}

/** Counter of each TCP flag bit (FIN SYN RST PSH ACK URG ECE CWR), in header order (.. CWR ECE). */
const FLAG_COUNTER = Uint8Array.of(0, 1, 2, 3, 4, 5, 7, 6);

/** Count the set TCP flag bits in the counters at `k`; touches only the bits that are set. */
function addFlags(u32: Uint32Array, k: number, flags: number): void {
  let f = flags & 0xff;
  while (f !== 0) {
    const bit = 31 - Math.clz32(f);
    const at = k + FLAG_COUNTER[bit]!;
    u32[at] = u32[at]! + 1;
    f ^= 1 << bit;
  }
}

/**
 * Increase of the sum of squared deviations (Welford's M2) when the n-th value `x` joins n-1
 * values summing to `sumOld`: (x - mean_old)^2 (n-1)/n, written with one division. Lengths and
 * microsecond times are integers, so x(n-1) - sumOld is exact (below 2^53) and nothing cancels.
 */
function m2Step(n: number, sumOld: number, x: number): number {
  const e = x * (n - 1) - sumOld;
  return (e * e) / (n * (n - 1));
}

/** Welford step for the n-th value `x`, with the running sum stored at `sumAt` (updated here). */
function welford(f64: Float64Array, sumAt: number, m2At: number, n: number, x: number): void {
  const sumOld = f64[sumAt]!;
  f64[sumAt] = sumOld + x;
  if (n > 1) f64[m2At] = f64[m2At]! + m2Step(n, sumOld, x);
}

/** Welford step for the n-th value `x` when the sum of the previous n-1 values is `sumOld`. */
function welfordWithSum(f64: Float64Array, m2At: number, n: number, sumOld: number, x: number): void {
  if (n > 1) f64[m2At] = f64[m2At]! + m2Step(n, sumOld, x);
}

/**
 * Add the n-th inter-arrival time `x` (n >= 1); the previous n-1 gaps summed to `sumOld` (a
 * timestamp difference). Min/max live in unsigned 32-bit fields, saturated.
 */
function iatStatU(
  f64: Float64Array,
  t: Uint32Array,
  m2At: number,
  minAt: number,
  n: number,
  sumOld: number,
  x: number,
): void {
  if (n > 1) f64[m2At] = f64[m2At]! + m2Step(n, sumOld, x);
  const v = satU32(x);
  if (v < t[minAt]!) t[minAt] = v;
  if (v > t[minAt + 1]!) t[minAt + 1] = v;
}

/** `iatStatU` for `cic`, whose gaps may be negative: signed fields. */
function iatStatI(
  f64: Float64Array,
  t: Int32Array,
  m2At: number,
  minAt: number,
  n: number,
  sumOld: number,
  x: number,
): void {
  if (n > 1) f64[m2At] = f64[m2At]! + m2Step(n, sumOld, x);
  const v = satI32(x);
  if (v < t[minAt]!) t[minAt] = v;
  if (v > t[minAt + 1]!) t[minAt + 1] = v;
}

function minMaxU(u32: Uint32Array, minAt: number, maxAt: number, x: number): void {
  const v = satU32(x);
  if (v < u32[minAt]!) u32[minAt] = v;
  if (v > u32[maxAt]!) u32[maxAt] = v;
}

/** Sum and M2 of the union of two samples (Chan et al.'s pairwise combination). */
function combine(
  na: number,
  sa: number,
  m2a: number,
  nb: number,
  sb: number,
  m2b: number,
): { sum: number; m2: number } {
  if (nb === 0) return { sum: sa, m2: m2a };
  const delta = sb / nb - sa / na;
  return { sum: sa + sb, m2: m2a + m2b + (delta * delta * na * nb) / (na + nb) };
}

// ---- CSV ----

/**
 * The header line (no newline).
 * @example
 * out.write(`${cicCsvHeader()}\n`);
 */
export function cicCsvHeader(): string {
  return CIC_HEADER.join(',');
}

/** Address bytes of an IPv4 or IPv6 text address (16 bytes for IPv6), for CICFlowMeter's ordering. */
function addressBytes(ip: string): number[] {
  if (ip.includes(':')) {
    const out = new Array<number>(16).fill(0);
    const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, ''];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const words = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
    for (let i = 0; i < 8; i++) {
      const v = Number.parseInt(words[i] ?? '0', 16) || 0;
      out[i * 2] = v >> 8;
      out[i * 2 + 1] = v & 0xff;
    }
    return out;
  }
  return ip.split('.').map((x) => Number(x) & 0xff);
}

/**
 * CICFlowMeter's "Flow ID": `<ipA>-<ipB>-<portA>-<portB>-<protocol>`, where A is the source unless
 * the source address is greater at the first differing byte, the bytes compared as Java's signed
 * bytes (so 192.x sorts before 10.x). Equal addresses keep the source first.
 * @example
 * cicFlowId('104.16.207.165', 443, '192.168.10.5', 54865, 6); // '192.168.10.5-104.16.207.165-54865-443-6'
 */
export function cicFlowId(srcIp: string, srcPort: number, dstIp: string, dstPort: number, protocol: number): string {
  const a = addressBytes(srcIp);
  const b = addressBytes(dstIp);
  let forward = true;
  for (let i = 0; i < a.length && i < b.length; i++) {
    const x = (a[i]! << 24) >> 24;
    const y = (b[i]! << 24) >> 24;
    if (x !== y) {
      forward = x < y;
      break;
    }
  }
  return forward
    ? `${srcIp}-${dstIp}-${srcPort}-${dstPort}-${protocol}`
    : `${dstIp}-${srcIp}-${dstPort}-${srcPort}-${protocol}`;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * The Timestamp column: CICFlowMeter's `dd/MM/yyyy hh:mm:ss` of the flow's first packet. In `cic`
 * mode the hour is on the 12-hour clock without AM/PM, as in CICIDS2017 (its Java pattern used
 * `hh`); `corrected` uses the 24-hour clock. Always UTC (CICFlowMeter used the host's zone). Empty
 * for a time outside the calendar.
 * @example
 * cicTimestamp(Date.UTC(2017, 6, 7, 15, 56, 1) * 1000, 'cic'); // '07/07/2017 03:56:01'
 */
export function cicTimestamp(us: number, mode: CicMode = 'cic'): string {
  const t = new Date(Math.floor(us / 1000));
  // A crafted time beyond the calendar (pcapng if_tsoffset) has no date to print.
  if (Number.isNaN(t.getTime())) return '';
  let hh = t.getUTCHours();
  if (mode === 'cic') hh = hh % 12 === 0 ? 12 : hh % 12;
  return `${two(t.getUTCDate())}/${two(t.getUTCMonth() + 1)}/${t.getUTCFullYear()} ${two(hh)}:${two(t.getUTCMinutes())}:${two(t.getUTCSeconds())}`;
}

/** A CSV field: quoted when it holds a comma, quote or line break. */
function csvText(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * One CSV line (no newline) with all 85 columns for a flow record whose `features` were filled by
 * `CicAccumulator.values`. `cic` mode writes what CICFlowMeter writes: protocols other than TCP
 * and UDP as protocol 0 with ports 0, non-finite values as Java prints them (`NaN`, `Infinity`).
 * `corrected` keeps the real protocol and ports and leaves undefined values empty.
 * @example
 * out.write(`${cicCsvRow(rec, 'BENIGN')}\n`);
 */
export function cicCsvRow(rec: FlowRecord, label: string, mode: CicMode = 'cic'): string {
  const cic = mode === 'cic';
  const tcpUdp = rec.protocol === 6 || rec.protocol === 17;
  const proto = cic && !tcpUdp ? 0 : rec.protocol;
  const sp = cic && !tcpUdp ? 0 : rec.src_port;
  const dp = cic && !tcpUdp ? 0 : rec.dest_port;
  let line = `${cicFlowId(rec.src_ip, sp, rec.dest_ip, dp, proto)},${rec.src_ip},${sp},${rec.dest_ip},${dp},${proto},${cicTimestamp(rec.first_seen_us, mode)}`;
  const v = rec.features;
  for (let i = 0; i < CIC_FEATURE_COUNT; i++) {
    const x = v === null ? Number.NaN : v[i]!;
    line += v !== null && (cic || Number.isFinite(x)) ? `,${x}` : ',';
  }
  return `${line},${csvText(label)}`;
}
