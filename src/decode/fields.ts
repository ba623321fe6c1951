/**
 * The flat packet record: every field a decoded packet can carry, in output order.
 *
 * Names follow Hurence Logisland's packet record (`src_ip`, `dest_port`, `ip_time_to_live`, ...)
 * wherever it defines one, snake_case otherwise. Each field names the layers that must be present
 * for it to appear (an absent layer means an absent field, never a null), its JSON type, its
 * tshark equivalent and its meaning; `docs/fields.md` is generated from this table.
 */

import type { JsonWriter } from '../core/json-writer.ts';
import {
  LAYER_ARP,
  LAYER_DNS,
  LAYER_ETHERNET,
  LAYER_HTTP,
  LAYER_ICMP,
  LAYER_ICMPV6,
  LAYER_IPV4,
  LAYER_IPV6,
  LAYER_MPLS,
  LAYER_PPP,
  LAYER_PPPOE,
  LAYER_SLL,
  LAYER_SLL2,
  LAYER_TCP,
  LAYER_TLS,
  LAYER_UDP,
  LAYER_VLAN,
  layerBit,
} from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { formatHex, formatIPv4, formatIPv4At, formatIPv6, formatIPv6At, formatMAC, formatTimestamp } from './format.ts';

/**
 * JSON shape of a field. `text` strings never need escaping (addresses, hex, names we build);
 * `string` may hold anything and is escaped; `json` is already JSON text (arrays of objects).
 */
export type FieldKind = 'int' | 'number' | 'bool' | 'text' | 'string' | 'int[]' | 'string[]' | 'json' | 'timestamp';

/** What a getter returns: the value, or `undefined` when the packet has none. */
export type FieldValue = number | boolean | string | number[] | string[] | undefined;

export interface FieldDef {
  readonly name: string;
  /** Presence bits of which at least one must be set; 0 = every packet. */
  readonly layers: number;
  readonly kind: FieldKind;
  /** tshark field(s) with the same meaning, or '' when tshark has none. */
  readonly tshark: string;
  readonly doc: string;
  /** The value, for CSV, tests and library users. */
  readonly get: (p: PacketContext) => FieldValue;
  /**
   * Hot-path JSON: when the packet has a value, write `key` (pre-encoded `,"name":`) and the
   * value's JSON bytes to `w`. Same result as JSON-encoding `get`, without building strings.
   */
  readonly emit: (p: PacketContext, w: JsonWriter, key: Uint8Array) => void;
  /**
   * For unsigned integer fields: a JavaScript expression over `p` giving the value, or -1 when
   * absent. Record writers compile it inline (see `sinks/record-format.ts`).
   */
  readonly expr?: string;
}

/** Options that shape some fields' values. */
export interface RecordOptions {
  /** How many leading payload bytes `payload_hex` shows. */
  payloadBytes: number;
}

export const DEFAULT_PAYLOAD_BYTES = 64;

const B_ETH = layerBit(LAYER_ETHERNET);
const B_IP4 = layerBit(LAYER_IPV4);
const B_IP6 = layerBit(LAYER_IPV6);
const B_IP = B_IP4 | B_IP6;
const B_TCP = layerBit(LAYER_TCP);
const B_UDP = layerBit(LAYER_UDP);
const B_ICMP = layerBit(LAYER_ICMP) | layerBit(LAYER_ICMPV6);
const B_ARP = layerBit(LAYER_ARP);
const B_DNS = layerBit(LAYER_DNS);

const ipSrc = (p: PacketContext): string => (p.ipVersion === 4 ? formatIPv4(p.src4) : formatIPv6(p.src6));
const ipDst = (p: PacketContext): string => (p.ipVersion === 4 ? formatIPv4(p.dst4) : formatIPv6(p.dst6));
const arpAddr = (p: PacketContext, off: number, hw: boolean): string | undefined => {
  if (off < 0) return undefined;
  if (hw) return p.arpHwLen === 6 ? formatMAC(p.buf, off) : formatHex(p.buf, off, p.arpHwLen);
  if (p.arpProtoLen === 4) return formatIPv4At(p.buf, off);
  if (p.arpProtoLen === 16) return formatIPv6At(p.buf, off);
  return formatHex(p.buf, off, p.arpProtoLen);
};
const tunnelIp = (p: PacketContext, src: boolean): string | undefined => {
  const t = p.tunnel;
  if (t.ipVersion === 4) return formatIPv4(src ? t.src4 : t.dst4);
  if (t.ipVersion === 6) return formatIPv6(src ? t.src6 : t.dst6);
  return undefined;
};

function dnsAnswersJson(p: PacketContext): string | undefined {
  if (p.dnsAnswerCount === 0) return undefined;
  let s = '[';
  for (let i = 0; i < p.dnsAnswerCount; i++) {
    if (i > 0) s += ',';
    s +=
      '{"name":' +
      JSON.stringify(p.dnsAnswerNames[i]) +
      ',"type":' +
      p.dnsAnswerTypes[i] +
      ',"ttl":' +
      p.dnsAnswerTtls[i] +
      ',"data":' +
      JSON.stringify(p.dnsAnswerData[i]) +
      '}';
  }
  return s + ']';
}

const TRUE = new Uint8Array(Array.from('true', (c) => c.charCodeAt(0)));
const FALSE = new Uint8Array(Array.from('false', (c) => c.charCodeAt(0)));

/** Write a value of `kind` as JSON (the generic path, for fields without a specialised emit). */
export function writeValue(w: JsonWriter, kind: FieldKind, v: Exclude<FieldValue, undefined>): void {
  switch (kind) {
    case 'int':
    case 'number':
      if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) w.uint(v);
      else w.ascii(String(v));
      return;
    case 'bool':
      w.raw(v ? TRUE : FALSE);
      return;
    case 'timestamp':
      w.ascii(v as string);
      return;
    case 'text':
    case 'string':
      w.string(v as string);
      return;
    case 'json':
      w.jsonText(v as string);
      return;
    case 'int[]': {
      const a = v as number[];
      w.ensure(a.length * 12 + 2);
      w.byte(0x5b);
      for (let i = 0; i < a.length; i++) {
        if (i > 0) w.byte(0x2c);
        w.uint(a[i]!);
      }
      w.byte(0x5d);
      return;
    }
    case 'string[]': {
      const a = v as string[];
      w.byte(0x5b);
      for (let i = 0; i < a.length; i++) {
        if (i > 0) w.byte(0x2c);
        w.string(a[i]!);
      }
      w.byte(0x5d);
      return;
    }
  }
}

type Emit = FieldDef['emit'];

/** Divisor turning nanoseconds into `d` decimal digits of a second, by `d`. */
const NANO_DIVISORS = [1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 10, 1];

/** Build the field table; `payloadBytes` bounds `payload_hex`. */
export function buildFields(opts: RecordOptions = { payloadBytes: DEFAULT_PAYLOAD_BYTES }): FieldDef[] {
  const payloadBytes = opts.payloadBytes;
  const f = (
    name: string,
    layers: number,
    kind: FieldKind,
    tshark: string,
    doc: string,
    get: (p: PacketContext) => FieldValue,
    emit?: Emit,
  ): FieldDef => ({
    name,
    layers,
    kind,
    tshark,
    doc,
    get,
    emit:
      emit ??
      ((p, w, key) => {
        const v = get(p);
        if (v === undefined) return;
        w.raw(key);
        writeValue(w, kind, v);
      }),
  });
  /**
   * An unsigned integer field whose value is the JavaScript expression `expr` over the packet
   * context `p` (-1 when absent). Expressions rather than closures let the JSON writer compile
   * every field into one straight-line function: sixty small closures called through one shared
   * call site cost about a third of `decode`'s time.
   */
  const int = (name: string, layers: number, tshark: string, doc: string, expr: string): FieldDef => {
    const n = new Function('p', `return ${expr};`) as (p: PacketContext) => number;
    return {
      ...f(
        name,
        layers,
        'int',
        tshark,
        doc,
        (p) => {
          const v = n(p);
          return v < 0 ? undefined : v;
        },
        (p, w, key) => {
          const v = n(p);
          if (v < 0) return;
          w.raw(key);
          w.uint(v);
        },
      ),
      expr,
    };
  };
  const ipEmit =
    (src: boolean): Emit =>
    (p, w, key) => {
      w.raw(key);
      if (p.ipVersion === 4) w.ipv4(src ? p.src4 : p.dst4);
      else w.ipv6(src ? p.src6 : p.dst6);
    };
  const macEmit =
    (off: (p: PacketContext) => number): Emit =>
    (p, w, key) => {
      const o = off(p);
      if (o < 0) return;
      w.raw(key);
      w.mac(p.buf, o);
    };
  const hexEmit =
    (off: (p: PacketContext) => number, len: (p: PacketContext) => number): Emit =>
    (p, w, key) => {
      const l = len(p);
      if (l <= 0) return;
      w.raw(key);
      w.hexString(p.buf, off(p), l);
    };
  const inDNSQuestion = (p: PacketContext, v: number): number => (p.dnsQdCount > 0 && p.dnsQueryType >= 0 ? v : -1);
  return [
    // ---- frame ----
    int('frame_number', 0, 'frame.number', '1-based packet number in the capture', 'p.frameNumber'),
    f(
      'timestamp',
      0,
      'timestamp',
      'frame.time_epoch',
      'capture time, epoch seconds with the digits of the capture resolution (6 for µs, 9 for ns)',
      (p) => formatTimestamp(p.tsSec, p.tsNanos, p.tsDigits),
      (p, w, key) => {
        w.raw(key);
        if (p.tsSec < 0) {
          w.ascii(formatTimestamp(p.tsSec, p.tsNanos, p.tsDigits));
          return;
        }
        w.uint(p.tsSec);
        if (p.tsDigits <= 0) return;
        w.byte(0x2e);
        const d = Math.min(p.tsDigits, 9);
        w.fixedDigits(Math.floor(p.tsNanos / NANO_DIVISORS[d]!), d);
      },
    ),
    int('captured_length', 0, 'frame.cap_len', 'bytes captured', 'p.capturedLength'),
    int('frame_length', 0, 'frame.len', 'bytes on the wire', 'p.frameLength'),
    int('interface_id', 0, 'frame.interface_id', 'pcapng interface index (0 for pcap)', 'p.interfaceId'),
    int('link_type', 0, 'pcap.linktype / frame.encap_type', 'LINKTYPE_* number of the interface', 'p.linkType'),
    f('frame_comment', 0, 'string', 'frame.comment', 'pcapng packet comment', (p) => p.comment || undefined),
    // ---- link ----
    f(
      'eth_src',
      B_ETH,
      'text',
      'eth.src',
      'source MAC of the innermost Ethernet header',
      (p) => (p.ethOff < 0 ? undefined : formatMAC(p.buf, p.ethOff + 6)),
      macEmit((p) => (p.ethOff < 0 ? -1 : p.ethOff + 6)),
    ),
    f(
      'eth_dst',
      B_ETH,
      'text',
      'eth.dst',
      'destination MAC',
      (p) => (p.ethOff < 0 ? undefined : formatMAC(p.buf, p.ethOff)),
      macEmit((p) => p.ethOff),
    ),
    int(
      'eth_type',
      B_ETH | layerBit(LAYER_SLL) | layerBit(LAYER_SLL2),
      'eth.type / vlan.etype (last)',
      'EtherType of the payload, after any VLAN tags',
      'p.ethType',
    ),
    f(
      'vlan_ids',
      layerBit(LAYER_VLAN),
      'int[]',
      'vlan.id',
      'VLAN ids, outermost first',
      (p) => Array.from(p.vlanIds.subarray(0, p.vlanCount)),
      (p, w, key) => {
        w.raw(key);
        w.byte(0x5b);
        for (let i = 0; i < p.vlanCount; i++) {
          if (i > 0) w.byte(0x2c);
          w.uint(p.vlanIds[i]!);
        }
        w.byte(0x5d);
      },
    ),
    f('mpls_labels', layerBit(LAYER_MPLS), 'int[]', 'mpls.label', 'MPLS labels, top of stack first', (p) =>
      Array.from(p.mplsLabels.subarray(0, p.mplsCount)),
    ),
    int('pppoe_session_id', layerBit(LAYER_PPPOE), 'pppoes.session_id', 'PPPoE session id', 'p.pppoeSessionId'),
    int('ppp_protocol', layerBit(LAYER_PPP), 'ppp.protocol', 'PPP protocol field', 'p.pppProtocol'),
    int(
      'sll_packet_type',
      layerBit(LAYER_SLL) | layerBit(LAYER_SLL2),
      'sll.pkttype',
      'Linux cooked-capture packet type',
      'p.sllPacketType',
    ),
    int(
      'sll_interface_index',
      layerBit(LAYER_SLL2),
      'sll.ifindex',
      'Linux cooked capture v2 interface index',
      'p.sllIfIndex',
    ),
    // ---- ARP ----
    int('arp_hw_type', B_ARP, 'arp.hw.type', 'ARP hardware type', 'p.arpHwType'),
    int('arp_proto_type', B_ARP, 'arp.proto.type', 'ARP protocol type', 'p.arpProtoType'),
    int('arp_opcode', B_ARP, 'arp.opcode', 'ARP operation (1 request, 2 reply)', 'p.arpOpcode'),
    f('arp_sender_mac', B_ARP, 'text', 'arp.src.hw_mac', 'sender hardware address', (p) =>
      arpAddr(p, p.arpSenderHwOff, true),
    ),
    f('arp_sender_ip', B_ARP, 'text', 'arp.src.proto_ipv4', 'sender protocol address', (p) =>
      arpAddr(p, p.arpSenderIpOff, false),
    ),
    f('arp_target_mac', B_ARP, 'text', 'arp.dst.hw_mac', 'target hardware address', (p) =>
      arpAddr(p, p.arpTargetHwOff, true),
    ),
    f('arp_target_ip', B_ARP, 'text', 'arp.dst.proto_ipv4', 'target protocol address', (p) =>
      arpAddr(p, p.arpTargetIpOff, false),
    ),
    // ---- IP ----
    int('ip_version', B_IP, 'ip.version / ipv6.version', 'IP version of the innermost IP header', 'p.ipVersion'),
    int(
      'ip_internet_header_length',
      B_IP4,
      'ip.hdr_len',
      'IPv4 header length in bytes',
      '(p.ipVersion === 4 ? p.ipHeaderLength : -1)',
    ),
    int('ip_type_of_service', B_IP4, 'ip.dsfield', 'IPv4 TOS / DS field byte', '(p.ipVersion === 4 ? p.ipTos : -1)'),
    int(
      'ip_datagram_total_length',
      B_IP4,
      'ip.len',
      'IPv4 total length field',
      '(p.ipVersion === 4 ? p.ipTotalLength : -1)',
    ),
    int('ip_identification', B_IP4, 'ip.id', 'IPv4 identification', '(p.ipVersion === 4 ? p.ipId : -1)'),
    int('ip_flags', B_IP4, 'ip.flags', 'IPv4 flags (bit 1 DF, bit 0 MF)', '(p.ipVersion === 4 ? p.ipFlags : -1)'),
    int(
      'ip_fragment_offset',
      B_IP4,
      'ip.frag_offset',
      'IPv4 fragment offset, in 8-byte units',
      '(p.ipVersion === 4 ? p.ipFragOffset : -1)',
    ),
    int('ip_time_to_live', B_IP, 'ip.ttl / ipv6.hlim', 'IPv4 TTL or IPv6 hop limit', 'p.ipTtl'),
    int(
      'protocol',
      B_IP,
      'ip.proto / ipv6.nxt (last)',
      'transport protocol number (IPv6: after extension headers)',
      'p.protocol',
    ),
    int('ip_checksum', B_IP4, 'ip.checksum', 'IPv4 header checksum field', '(p.ipVersion === 4 ? p.ipChecksum : -1)'),
    f('ip_checksum_valid', B_IP4, 'bool', 'ip.checksum.status', 'IPv4 header checksum verifies', (p) =>
      p.ipVersion === 4 && p.ipChecksumValid >= 0 ? p.ipChecksumValid === 1 : undefined,
    ),
    f(
      'ip_options',
      B_IP4,
      'text',
      'ip.options',
      'IPv4 options, hex',
      (p) => (p.ipVersion === 4 && p.ipOptionsLen > 0 ? formatHex(p.buf, p.ipOptionsOff, p.ipOptionsLen) : undefined),
      hexEmit(
        (p) => p.ipOptionsOff,
        (p) => (p.ipVersion === 4 ? p.ipOptionsLen : 0),
      ),
    ),
    f(
      'src_ip',
      B_IP,
      'text',
      'ip.src / ipv6.src (innermost)',
      'source address of the innermost IP header',
      ipSrc,
      ipEmit(true),
    ),
    f('dst_ip', B_IP, 'text', 'ip.dst / ipv6.dst (innermost)', 'destination address', ipDst, ipEmit(false)),
    int('ipv6_traffic_class', B_IP6, 'ipv6.tclass', 'IPv6 traffic class', '(p.ipVersion === 6 ? p.ipTos : -1)'),
    int('ipv6_flow_label', B_IP6, 'ipv6.flow', 'IPv6 flow label', '(p.ipVersion === 6 ? p.ipv6FlowLabel : -1)'),
    int(
      'ipv6_payload_length',
      B_IP6,
      'ipv6.plen',
      'IPv6 payload length field',
      '(p.ipVersion === 6 ? p.ipv6PayloadLength : -1)',
    ),
    f(
      'ipv6_ext_headers',
      B_IP6,
      'int[]',
      'ipv6.nxt',
      'IPv6 extension headers followed (first 8), by next-header number',
      (p) =>
        p.ipVersion === 6 && p.ipv6ExtCount > 0 ? Array.from(p.ipv6ExtHeaders.subarray(0, p.ipv6ExtCount)) : undefined,
    ),
    int(
      'ipv6_fragment_id',
      B_IP6,
      'ipv6.fragment.id',
      'IPv6 fragment header identification',
      '(p.ipVersion === 6 ? p.ipv6FragId : -1)',
    ),
    int(
      'ipv6_fragment_offset',
      B_IP6,
      'ipv6.fragment.offset',
      'IPv6 fragment offset, 8-byte units',
      'p.ipv6FragId >= 0 ? (p.ipVersion === 6 ? p.ipFragOffset : -1) : -1',
    ),
    f('ipv6_more_fragments', B_IP6, 'bool', 'ipv6.fragment.more', 'IPv6 M flag', (p) =>
      p.ipVersion === 6 && p.ipv6FragId >= 0 ? (p.ipFlags & 1) === 1 : undefined,
    ),
    // ---- ICMP ----
    int('icmp_type', B_ICMP, 'icmp.type / icmpv6.type', 'ICMP or ICMPv6 type', 'p.icmpType'),
    int('icmp_code', B_ICMP, 'icmp.code / icmpv6.code', 'ICMP or ICMPv6 code', 'p.icmpCode'),
    int('icmp_checksum', B_ICMP, 'icmp.checksum', 'ICMP checksum field', 'p.icmpChecksum'),
    int('icmp_echo_id', B_ICMP, 'icmp.ident / icmpv6.echo.identifier', 'echo identifier', 'p.icmpEchoId'),
    int('icmp_echo_seq', B_ICMP, 'icmp.seq / icmpv6.echo.sequence_number', 'echo sequence number', 'p.icmpEchoSeq'),
    // ---- TCP / UDP ----
    // Also from a header cut short after its ports (no TCP/UDP layer then), as flows key on them.
    int(
      'src_port',
      0,
      'tcp.srcport / udp.srcport',
      'source port (TCP, UDP; also of a header cut short after its ports)',
      '(p.hasPorts() ? p.srcPort : -1)',
    ),
    int(
      'dest_port',
      0,
      'tcp.dstport / udp.dstport',
      'destination port (TCP, UDP; also of a header cut short after its ports)',
      '(p.hasPorts() ? p.dstPort : -1)',
    ),
    int('tcp_sequence_number', B_TCP, 'tcp.seq_raw', 'raw sequence number', 'p.tcpSeq'),
    int('tcp_acknowledgment_number', B_TCP, 'tcp.ack_raw', 'raw acknowledgment number', 'p.tcpAck'),
    int('tcp_data_offset', B_TCP, 'tcp.hdr_len / 4', 'header length in 32-bit words', 'p.tcpDataOffset'),
    int('tcp_flags', B_TCP, 'tcp.flags & 0xff', 'flag byte: CWR ECE URG ACK PSH RST SYN FIN', 'p.tcpFlags & 0xff'),
    int('tcp_window_size', B_TCP, 'tcp.window_size_value', 'raw window field', 'p.tcpWindow'),
    int('tcp_checksum', B_TCP, 'tcp.checksum', 'checksum field', 'p.tcpChecksum'),
    int('tcp_urgent_pointer', B_TCP, 'tcp.urgent_pointer', 'urgent pointer', 'p.tcpUrgent'),
    f(
      'tcp_options',
      B_TCP,
      'text',
      'tcp.options',
      'options, hex',
      (p) => (p.tcpOptionsLen > 0 ? formatHex(p.buf, p.tcpOptionsOff, p.tcpOptionsLen) : undefined),
      hexEmit(
        (p) => p.tcpOptionsOff,
        (p) => p.tcpOptionsLen,
      ),
    ),
    int('tcp_mss', B_TCP, 'tcp.options.mss_val', 'MSS option', 'p.tcpMss'),
    int('tcp_window_scale', B_TCP, 'tcp.options.wscale.shift', 'window-scale shift', 'p.tcpWindowScale'),
    f('tcp_sack_permitted', B_TCP, 'bool', 'tcp.options.sack_perm', 'SACK-permitted option present', (p) =>
      p.tcpSackPermitted ? true : undefined,
    ),
    f(
      'tcp_sack_blocks',
      B_TCP,
      'int[]',
      'tcp.options.sack_le / sack_re',
      'SACK blocks as [left, right, ...] raw sequence numbers',
      (p) => (p.tcpSackCount > 0 ? Array.from(p.tcpSackBlocks.subarray(0, p.tcpSackCount * 2)) : undefined),
    ),
    int('tcp_timestamp_value', B_TCP, 'tcp.options.timestamp.tsval', 'timestamp option TSval', 'p.tcpTsVal'),
    int('tcp_timestamp_echo', B_TCP, 'tcp.options.timestamp.tsecr', 'timestamp option TSecr', 'p.tcpTsEcr'),
    int('udp_segment_total_length', B_UDP, 'udp.length', 'UDP length field', 'p.udpLength'),
    int('udp_checksum', B_UDP, 'udp.checksum', 'UDP checksum field', 'p.udpChecksum'),
    // ---- application ----
    int('dns_id', B_DNS, 'dns.id', 'DNS transaction id', 'p.dnsId'),
    int('dns_flags', B_DNS, 'dns.flags', 'DNS flags word', 'p.dnsFlags'),
    f('dns_is_response', B_DNS, 'bool', 'dns.flags.response', 'QR bit', (p) => (p.dnsFlags & 0x8000) !== 0),
    int('dns_opcode', B_DNS, 'dns.flags.opcode', 'DNS opcode', '(p.dnsFlags >> 11) & 0xf'),
    int('dns_rcode', B_DNS, 'dns.flags.rcode', 'response code (3 = NXDOMAIN)', 'p.dnsRcode'),
    int('dns_question_count', B_DNS, 'dns.count.queries', 'QDCOUNT', 'p.dnsQdCount'),
    int('dns_answer_count', B_DNS, 'dns.count.answers', 'ANCOUNT', 'p.dnsAnCount'),
    int('dns_authority_count', B_DNS, 'dns.count.auth_rr', 'NSCOUNT', 'p.dnsNsCount'),
    int('dns_additional_count', B_DNS, 'dns.count.add_rr', 'ARCOUNT', 'p.dnsArCount'),
    f('dns_query_name', B_DNS, 'string', 'dns.qry.name', 'first question name', (p) =>
      inDNSQuestion(p, 0) === 0 ? p.dnsQueryName : undefined,
    ),
    int(
      'dns_query_type',
      B_DNS,
      'dns.qry.type',
      'first question type',
      '(p.dnsQdCount > 0 && p.dnsQueryType >= 0 ? p.dnsQueryType : -1)',
    ),
    int(
      'dns_query_class',
      B_DNS,
      'dns.qry.class',
      'first question class',
      '(p.dnsQdCount > 0 && p.dnsQueryType >= 0 ? p.dnsQueryClass : -1)',
    ),
    f(
      'dns_answers',
      B_DNS,
      'json',
      'dns.resp.name / type / ttl / dns.a ...',
      'answer records: name, type, ttl, data',
      dnsAnswersJson,
    ),
    f(
      'tls_sni',
      layerBit(LAYER_TLS),
      'string',
      'tls.handshake.extensions_server_name',
      'TLS ClientHello server name',
      (p) => p.tlsSni || undefined,
    ),
    f(
      'http_method',
      layerBit(LAYER_HTTP),
      'string',
      'http.request.method',
      'HTTP request method',
      (p) => p.httpMethod || undefined,
    ),
    f('http_host', layerBit(LAYER_HTTP), 'string', 'http.host', 'HTTP Host header', (p) => p.httpHost || undefined),
    f(
      'http_uri',
      layerBit(LAYER_HTTP),
      'string',
      'http.request.uri',
      'HTTP request target',
      (p) => p.httpUri || undefined,
    ),
    // ---- payload ----
    int(
      'payload_length',
      0,
      'tcp.len / udp.length - 8 / data.len',
      'bytes after the last decoded header (captured)',
      '(p.payloadLen > 0 ? p.payloadLen : -1)',
    ),
    f(
      'payload_hex',
      0,
      'text',
      'data.data / tcp.payload',
      `first payload bytes as hex (default ${DEFAULT_PAYLOAD_BYTES})`,
      (p) =>
        p.payloadLen > 0 && payloadBytes > 0
          ? formatHex(p.buf, p.payloadOff, Math.min(p.payloadLen, payloadBytes))
          : undefined,
      hexEmit(
        (p) => p.payloadOff,
        (p) => Math.min(p.payloadLen, payloadBytes),
      ),
    ),
    // ---- tunnels ----
    f(
      'tunnel_type',
      0,
      'text',
      '',
      'outermost tunnel: gre, erspan, vxlan, geneve, ipip, 6in4, 6in6, gtp, teredo, l2tp',
      (p) => (p.tunnelDepth > 0 ? p.tunnel.type : undefined),
    ),
    int('tunnel_depth', 0, '', 'number of nested tunnels', '(p.tunnelDepth > 0 ? p.tunnelDepth : -1)'),
    f('tunnel_src_ip', 0, 'text', 'ip.src (first)', 'outer source address', (p) =>
      p.tunnelDepth > 0 ? tunnelIp(p, true) : undefined,
    ),
    f('tunnel_dst_ip', 0, 'text', 'ip.dst (first)', 'outer destination address', (p) =>
      p.tunnelDepth > 0 ? tunnelIp(p, false) : undefined,
    ),
    int('tunnel_protocol', 0, 'ip.proto (first)', 'outer IP protocol', '(p.tunnelDepth > 0 ? p.tunnel.protocol : -1)'),
    int(
      'tunnel_src_port',
      0,
      'udp.srcport (first)',
      'outer UDP source port (VXLAN, Geneve)',
      'p.tunnel.srcPort > 0 ? (p.tunnelDepth > 0 ? p.tunnel.srcPort : -1) : -1',
    ),
    int(
      'tunnel_dest_port',
      0,
      'udp.dstport (first)',
      'outer UDP destination port',
      'p.tunnel.dstPort > 0 ? (p.tunnelDepth > 0 ? p.tunnel.dstPort : -1) : -1',
    ),
    int(
      'tunnel_id',
      0,
      'vxlan.vni / geneve.vni / gre.key',
      'VNI, GRE key, TEID or ERSPAN session id',
      '(p.tunnelDepth > 0 ? p.tunnel.id : -1)',
    ),
    // ---- health ----
    f('truncated', 0, 'bool', '', 'the capture cut this frame short (captured < wire length)', (p) =>
      p.truncated ? true : undefined,
    ),
    f('anomalies', 0, 'string[]', '_ws.malformed / _ws.expert', 'anomaly codes met while decoding', (p) =>
      p.anomalyCount > 0 ? p.anomalies.slice(0, Math.min(p.anomalyCount, p.anomalies.length)) : undefined,
    ),
  ];
}
