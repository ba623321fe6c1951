/**
 * The records the flow stage emits: finished (or partial) flows, closed metric windows and
 * anomaly counts. Plain data, so any sink (DuckDB, datasets, Kafka, a worker) can take them.
 *
 * Ownership: a record handed to a listener is the listener's to keep; the flow engine builds a
 * fresh one per export (exports are per flow, not per packet, so the allocation is affordable).
 */

/** Why a flow record was emitted. */
export type FlowEndReason =
  /** Both sides sent FIN (and the linger after it passed or the next packet began a new flow). */
  | 'fin'
  /** A RST ended the connection. */
  | 'rst'
  /** No packet for the idle timeout (packet time). */
  | 'idle'
  /** The flow reached the active timeout (packet time since its first packet). */
  | 'active'
  /** Pushed out to make room when the live-flow cap was reached. */
  | 'evicted'
  /** The input ended, or the run was interrupted, with the flow still open. */
  | 'end'
  /** A partial update of a flow that is still open (`partial` is true). */
  | 'update';

/**
 * One bidirectional flow. Direction is the initiator's: `src_*` sent the first packet seen,
 * "fwd" counts packets from src to dest and "bwd" the reverse.
 */
export interface FlowRecord {
  /** Sequence number of the flow within the run; partial updates repeat it. */
  flow_id: number;
  /**
   * Stable id of the flow: 16 lowercase hex digits (64 bits) hashed with a fixed seed from the
   * flow's key (addresses, ports or ICMP echo id, protocol, VLAN and tunnel) and `first_seen_us`.
   * Every process and engine computes the same id for the same flow, so a record delivered twice
   * (after a restart from a snapshot) can be recognised; partial updates repeat it.
   */
  flow_uid: string;
  /** Community ID v1 (`1:` + base64 SHA-1), seed 0. */
  community_id: string;
  /** First and last packet time, microseconds since the Unix epoch. */
  first_seen_us: number;
  last_seen_us: number;
  duration_us: number;
  ip_version: number;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...). */
  protocol: number;
  /** `tcp`, `udp`, `icmp`, `icmpv6`, else the protocol number as text. */
  protocol_name: string;
  src_ip: string;
  src_port: number;
  dest_ip: string;
  dest_port: number;
  /** Outermost 802.1Q VLAN id of the first packet, -1 without. */
  vlan_id: number;
  /** Outermost tunnel of the first packet (`vxlan`, `gre`, ...), '' without. */
  tunnel_type: string;
  fwd_packets: number;
  bwd_packets: number;
  /** Frame bytes on the wire (the frame's original length), as tshark's conversation tables. */
  fwd_bytes: number;
  bwd_bytes: number;
  /** Transport payload bytes. */
  fwd_payload_bytes: number;
  bwd_payload_bytes: number;
  /** OR of the TCP flags each side sent (0 for other protocols). */
  fwd_tcp_flags: number;
  bwd_tcp_flags: number;
  end_reason: FlowEndReason;
  /** True for an update of a flow still open; its final record follows later. */
  partial: boolean;
  /**
   * CICFlowMeter features in `CIC_FEATURES` order (see `cic-features.ts`), computed in the run's
   * mode; null when features are off.
   */
  features: Float64Array | null;
}

/** The scalar fields of a flow record in their order: output columns and wire order (features follow, named by CIC_FEATURES). */
export const FLOW_SCALAR_COLUMNS = [
  'flow_id',
  'flow_uid',
  'community_id',
  'first_seen_us',
  'last_seen_us',
  'duration_us',
  'ip_version',
  'protocol',
  'protocol_name',
  'src_ip',
  'src_port',
  'dest_ip',
  'dest_port',
  'vlan_id',
  'tunnel_type',
  'fwd_packets',
  'bwd_packets',
  'fwd_bytes',
  'bwd_bytes',
  'fwd_payload_bytes',
  'bwd_payload_bytes',
  'fwd_tcp_flags',
  'bwd_tcp_flags',
  'end_reason',
  'partial',
] as const satisfies readonly (keyof FlowRecord)[];

/** The scalar fields of a flow record that are text, in their order above. */
export const FLOW_TEXT_FIELDS = [
  'flow_uid',
  'community_id',
  'protocol_name',
  'src_ip',
  'dest_ip',
  'tunnel_type',
  'end_reason',
] as const satisfies readonly (keyof FlowRecord)[];

/** The scalar fields of a flow record that are numbers, in their order above. */
export const FLOW_NUMBER_FIELDS = FLOW_SCALAR_COLUMNS.filter(
  (c): c is Exclude<(typeof FLOW_SCALAR_COLUMNS)[number], (typeof FLOW_TEXT_FIELDS)[number] | 'partial'> =>
    c !== 'partial' && !(FLOW_TEXT_FIELDS as readonly string[]).includes(c),
);

/** Count of one key in a top-N list. */
export interface TopEntry {
  /** Address, port or conversation text. */
  key: string;
  packets: number;
  bytes: number;
}

/** One closed rolling window of KPIs (packet time). */
export interface MetricWindow {
  /** Window length in seconds: 1 or 60. */
  window_s: number;
  /** Window start, microseconds since the Unix epoch (aligned to the window length). */
  start_us: number;
  packets: number;
  /** Frame bytes on the wire. */
  bytes: number;
  /** Per protocol class: `tcp`, `udp`, `icmp`, `icmpv6`, `other_ip`, `arp`, `non_ip` (all present). */
  protocols: Record<string, { packets: number; bytes: number }>;
  new_flows: number;
  ended_flows: number;
  tcp_syn: number;
  tcp_rst: number;
  dns_queries: number;
  dns_nxdomain: number;
  /** Decoder anomalies by code seen in the window. */
  anomalies: Record<string, number>;
  top_talkers: TopEntry[];
  top_ports: TopEntry[];
  top_conversations: TopEntry[];
  /** Loss counters as totals at the window's close (flows evicted/refused, dropped records...). */
  losses: Record<string, number>;
}

/** One packet that carried a decoder anomaly. */
export interface AnomalyRecord {
  /** Frame number in the input, from 1. */
  frame_number: number;
  ts_us: number;
  /** Anomaly code, e.g. `ipv4.checksum_invalid` (see `core/anomalies.ts`). */
  code: string;
  /** Addresses when the packet got that far, else ''. */
  src_ip: string;
  dest_ip: string;
  protocol: number;
}

/** The counters of a metric window, in the order stores keep them. */
export const METRIC_COUNT_FIELDS = [
  'packets',
  'bytes',
  'new_flows',
  'ended_flows',
  'tcp_syn',
  'tcp_rst',
  'dns_queries',
  'dns_nxdomain',
] as const satisfies readonly (keyof MetricWindow)[];

/** The nested parts of a metric window (maps and top-N lists), in the order stores keep them. */
export const METRIC_NESTED_FIELDS = [
  'protocols',
  'anomalies',
  'top_talkers',
  'top_ports',
  'top_conversations',
  'losses',
] as const satisfies readonly (keyof MetricWindow)[];

/** Live state of a run, for the dashboard's health panel and the final summary. */
export interface RunHealth {
  state: 'starting' | 'running' | 'done' | 'stopping' | 'failed';
  /** Input name (`-` for stdin). */
  input: string;
  /** Wall-clock start, ms since the epoch. */
  started_ms: number;
  elapsed_s: number;
  /** Fraction of the input read, 0..1, or null when the size is unknown (pipes). */
  progress: number | null;
  packets: number;
  bytes: number;
  /** Processing rate over the last second of wall-clock time. */
  packets_per_s: number;
  bytes_per_s: number;
  flows_live: number;
  flows_total: number;
  records_stored: number;
  anomalies: number;
  /** Every loss counter by name (e.g. `flows_evicted`, `flows_refused`, `decode_errors`); all present, 0 when none. */
  losses: Record<string, number>;
}
