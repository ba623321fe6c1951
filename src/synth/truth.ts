/**
 * Ground truth of a synthetic capture: what a correct reader, decoder and flow table must find.
 * Written next to the capture as `<file>.truth.json`.
 *
 * Flow definition (also stated in the file as `flowKey`): a flow is every packet sharing
 * (IP protocol, address A, port A, address B, port B) in either direction. Ports are the TCP/UDP
 * ports, and 0 for ICMP and ICMPv6. The two endpoints are put in a fixed order, so both directions
 * share one key: A is the endpoint whose address is smaller (compared as bytes in network order),
 * or whose port is smaller when the addresses are equal. ARP frames belong to no flow. Bytes are
 * frame lengths on the wire (Ethernet header included, FCS not), as tshark's conversation
 * tables count them.
 */
import { formatIPv4, formatIPv6At as formatIPv6 } from '../decode/format.ts';

/** Flows listed one by one in the truth file; beyond this only the totals are written. */
export const DEFAULT_FLOW_LIST_LIMIT = 200_000;

/** One flow: key, then per-direction packet and byte counts, then which end opened it. */
export type FlowEntry = [
  proto: 'tcp' | 'udp' | 'icmp' | 'icmpv6',
  addrA: string,
  portA: number,
  addrB: string,
  portB: number,
  packetsAtoB: number,
  bytesAtoB: number,
  packetsBtoA: number,
  bytesBtoA: number,
  initiator: 'a' | 'b',
];

export const FLOW_COLUMNS = [
  'proto',
  'addrA',
  'portA',
  'addrB',
  'portB',
  'packetsAtoB',
  'bytesAtoB',
  'packetsBtoA',
  'bytesBtoA',
  'initiator',
] as const;

export const FLOW_KEY_DOC =
  'flow = (proto, addrA, portA, addrB, portB) with both directions under one key; ports are 0 for icmp and icmpv6; ' +
  'A is the endpoint with the smaller address (bytes in network order), or the smaller port when the addresses are ' +
  'equal; ARP is not a flow; bytes are frame lengths on the wire; initiator says which endpoint sent the first packet';

/** The truth file's content; `synthesize()` resolves to it. */
export interface Truth {
  generator: 'pcapstream synth';
  version: 1;
  options: {
    packets: number | null;
    bytes: number | null;
    seed: number | string;
    format: 'pcap' | 'pcapng';
    start: number;
    sessionRate: number;
  };
  /** Base name of the capture file. */
  file: string;
  fileBytes: number;
  packets: number;
  /** Sum of frame lengths. */
  bytes: number;
  minFrameBytes: number;
  maxFrameBytes: number;
  avgFrameBytes: number;
  /** Timestamps of the first and last packet, microseconds since the epoch. */
  firstTimestampUs: number;
  lastTimestampUs: number;
  durationSec: number;
  /** Frames containing each layer (eth: all frames; dns: DNS messages over UDP port 53). */
  protocols: {
    eth: number;
    vlan: number;
    arp: number;
    ipv4: number;
    ipv6: number;
    icmp: number;
    icmpv6: number;
    tcp: number;
    udp: number;
    dns: number;
  };
  /** TCP segments with SYN (no ACK), SYN+ACK, FIN, RST; payload bytes of all segments. */
  tcp: { syn: number; synAck: number; fin: number; rst: number; payloadBytes: number };
  dns: { queries: number; responses: number; nxdomain: number };
  flows: { total: number; tcp: number; udp: number; icmp: number; icmpv6: number; ipv4: number; ipv6: number };
  flowKey: string;
  flowColumns: typeof FLOW_COLUMNS;
  /** Every flow, in the order the flows ended; null when there are more than `flowListLimit`. */
  flowList: FlowEntry[] | null;
  flowListLimit: number;
  notes: string[];
}

/** What `FlowLog.add` reads of a session: its ports and per-direction counters (0 = from the client). */
export interface FlowCounts {
  cport: number;
  sport: number;
  pkts0: number;
  pkts1: number;
  bytes0: number;
  bytes1: number;
}

const PROTO_NAMES: Record<number, FlowEntry[0]> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };

/** Numbers kept per listed flow: proto, v6, cli4, srv4, cport, sport, pkts0, bytes0, pkts1, bytes1. */
const FIELDS = 10;

/**
 * Collects flows as sessions end: totals always, the list up to a limit. Listed flows are kept
 * as numbers and turned into text only when `list()` is called, once, at the end: formatting
 * addresses per flow during generation cost several percent of the run.
 *
 * @example
 * const log = new FlowLog(1000);
 * log.add(6, false, client4, server4, addr6, session); // when a session ends
 * const entries = log.list();
 */
export class FlowLog {
  readonly limit: number;
  total = 0;
  tcp = 0;
  udp = 0;
  icmp = 0;
  icmpv6 = 0;
  ipv4 = 0;
  ipv6 = 0;
  private count = 0;
  private nums = new Float64Array(0);
  private addrs = new Uint8Array(0);

  constructor(limit: number = DEFAULT_FLOW_LIST_LIMIT) {
    this.limit = limit;
  }

  /**
   * Record one finished flow. IPv4 addresses come as numbers, IPv6 ones as 32 bytes of `addr6`
   * (client first); the client is the initiator.
   */
  add(proto: number, v6: boolean, cli4: number, srv4: number, addr6: Uint8Array, f: FlowCounts): void {
    this.total++;
    if (proto === 6) this.tcp++;
    else if (proto === 17) this.udp++;
    else if (proto === 1) this.icmp++;
    else this.icmpv6++;
    if (v6) this.ipv6++;
    else this.ipv4++;
    const i = this.count;
    if (i >= this.limit) return;
    if (i * FIELDS >= this.nums.length) {
      const cap = Math.min(this.limit, Math.max(1024, i * 2));
      const nums = new Float64Array(cap * FIELDS);
      nums.set(this.nums);
      this.nums = nums;
      const addrs = new Uint8Array(cap * 32);
      addrs.set(this.addrs);
      this.addrs = addrs;
    }
    const n = this.nums;
    const o = i * FIELDS;
    n[o] = proto;
    n[o + 1] = v6 ? 1 : 0;
    n[o + 2] = cli4;
    n[o + 3] = srv4;
    n[o + 4] = f.cport;
    n[o + 5] = f.sport;
    n[o + 6] = f.pkts0;
    n[o + 7] = f.bytes0;
    n[o + 8] = f.pkts1;
    n[o + 9] = f.bytes1;
    if (v6) for (let k = 0; k < 32; k++) this.addrs[i * 32 + k] = addr6[k]!;
    this.count = i + 1;
  }

  /** The listed flows as truth-file entries, endpoints in key order, in the order they ended. */
  list(): FlowEntry[] {
    const out: FlowEntry[] = [];
    const n = this.nums;
    const a = this.addrs;
    for (let i = 0; i < this.count; i++) {
      const o = i * FIELDS;
      const v6 = n[o + 1] === 1;
      const cport = n[o + 4]!;
      const sport = n[o + 5]!;
      let order: number;
      let cli: string;
      let srv: string;
      if (v6) {
        order = 0;
        for (let k = 0; k < 16 && order === 0; k++) order = a[i * 32 + k]! - a[i * 32 + 16 + k]!;
        cli = formatIPv6(a, i * 32);
        srv = formatIPv6(a, i * 32 + 16);
      } else {
        order = n[o + 2]! - n[o + 3]!;
        cli = formatIPv4(n[o + 2]!);
        srv = formatIPv4(n[o + 3]!);
      }
      if (order === 0) order = cport - sport;
      const name = PROTO_NAMES[n[o]!]!;
      const [p0, b0, p1, b1] = [n[o + 6]!, n[o + 7]!, n[o + 8]!, n[o + 9]!];
      if (order <= 0) out.push([name, cli, cport, srv, sport, p0, b0, p1, b1, 'a']);
      else out.push([name, srv, sport, cli, cport, p1, b1, p0, b0, 'b']);
    }
    return out;
  }
}

/** Address text as the decoder writes it (dotted quad; RFC 5952 for IPv6 at a byte offset). */
export { formatIPv4, formatIPv6 };
