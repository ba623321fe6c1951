/**
 * The flat packet record: every field a decoded packet can carry, in output order.
 *
 * Names follow Hurence Logisland's packet record (`src_ip`, `dest_port`, `ip_time_to_live`, ...)
 * wherever it defines one, snake_case otherwise. Each field names the layers that must be present
 * for it to appear (an absent layer means an absent field, never a null), its JSON type, its
 * tshark equivalent and its meaning; `docs/fields.md` is generated from this table.
 */
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
  readonly get: (p: PacketContext) => FieldValue;
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
const v4 = <T>(p: PacketContext, v: T): T | undefined => (p.ipVersion === 4 ? v : undefined);
const v6 = <T>(p: PacketContext, v: T): T | undefined => (p.ipVersion === 6 ? v : undefined);
const nonNeg = (v: number): number | undefined => (v < 0 ? undefined : v);
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
  ): FieldDef => ({ name, layers, kind, tshark, doc, get });
  return [
    // ---- frame ----
    f('frame_number', 0, 'int', 'frame.number', '1-based packet number in the capture', (p) => p.frameNumber),
    f(
      'timestamp',
      0,
      'timestamp',
      'frame.time_epoch',
      'capture time, epoch seconds with the capture resolution (6 or 9 decimals)',
      (p) => formatTimestamp(p.tsSec, p.tsNanos, p.tsDigits),
    ),
    f('captured_length', 0, 'int', 'frame.cap_len', 'bytes captured', (p) => p.capturedLength),
    f('frame_length', 0, 'int', 'frame.len', 'bytes on the wire', (p) => p.frameLength),
    f('interface_id', 0, 'int', 'frame.interface_id', 'pcapng interface index (0 for pcap)', (p) => p.interfaceId),
    f(
      'link_type',
      0,
      'int',
      'pcap.linktype / frame.encap_type',
      'LINKTYPE_* number of the interface',
      (p) => p.linkType,
    ),
    f('frame_comment', 0, 'string', 'frame.comment', 'pcapng packet comment', (p) => p.comment || undefined),
    // ---- link ----
    f('eth_src', B_ETH, 'text', 'eth.src', 'source MAC of the innermost Ethernet header', (p) =>
      p.ethOff < 0 ? undefined : formatMAC(p.buf, p.ethOff + 6),
    ),
    f('eth_dst', B_ETH, 'text', 'eth.dst', 'destination MAC', (p) =>
      p.ethOff < 0 ? undefined : formatMAC(p.buf, p.ethOff),
    ),
    f(
      'eth_type',
      B_ETH | layerBit(LAYER_SLL) | layerBit(LAYER_SLL2),
      'int',
      'eth.type / vlan.etype (last)',
      'EtherType of the payload, after any VLAN tags',
      (p) => p.ethType,
    ),
    f('vlan_ids', layerBit(LAYER_VLAN), 'int[]', 'vlan.id', 'VLAN ids, outermost first', (p) =>
      Array.from(p.vlanIds.subarray(0, p.vlanCount)),
    ),
    f('mpls_labels', layerBit(LAYER_MPLS), 'int[]', 'mpls.label', 'MPLS labels, top of stack first', (p) =>
      Array.from(p.mplsLabels.subarray(0, p.mplsCount)),
    ),
    f(
      'pppoe_session_id',
      layerBit(LAYER_PPPOE),
      'int',
      'pppoes.session_id',
      'PPPoE session id',
      (p) => p.pppoeSessionId,
    ),
    f('ppp_protocol', layerBit(LAYER_PPP), 'int', 'ppp.protocol', 'PPP protocol field', (p) => p.pppProtocol),
    f(
      'sll_packet_type',
      layerBit(LAYER_SLL) | layerBit(LAYER_SLL2),
      'int',
      'sll.pkttype',
      'Linux cooked-capture packet type',
      (p) => p.sllPacketType,
    ),
    // ---- ARP ----
    f('arp_hw_type', B_ARP, 'int', 'arp.hw.type', 'ARP hardware type', (p) => p.arpHwType),
    f('arp_proto_type', B_ARP, 'int', 'arp.proto.type', 'ARP protocol type', (p) => p.arpProtoType),
    f('arp_opcode', B_ARP, 'int', 'arp.opcode', 'ARP operation (1 request, 2 reply)', (p) => p.arpOpcode),
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
    f(
      'ip_version',
      B_IP,
      'int',
      'ip.version / ipv6.version',
      'IP version of the innermost IP header',
      (p) => p.ipVersion,
    ),
    f('ip_internet_header_length', B_IP4, 'int', 'ip.hdr_len', 'IPv4 header length in bytes', (p) =>
      v4(p, p.ipHeaderLength),
    ),
    f('ip_type_of_service', B_IP4, 'int', 'ip.dsfield', 'IPv4 TOS / DS field byte', (p) => v4(p, p.ipTos)),
    f('ip_datagram_total_length', B_IP4, 'int', 'ip.len', 'IPv4 total length field', (p) => v4(p, p.ipTotalLength)),
    f('ip_identification', B_IP4, 'int', 'ip.id', 'IPv4 identification', (p) => v4(p, p.ipId)),
    f('ip_flags', B_IP4, 'int', 'ip.flags', 'IPv4 flags (bit 1 DF, bit 0 MF)', (p) => v4(p, p.ipFlags)),
    f('ip_fragment_offset', B_IP4, 'int', 'ip.frag_offset', 'IPv4 fragment offset, in 8-byte units', (p) =>
      v4(p, p.ipFragOffset),
    ),
    f('ip_time_to_live', B_IP, 'int', 'ip.ttl / ipv6.hlim', 'IPv4 TTL or IPv6 hop limit', (p) => p.ipTtl),
    f(
      'protocol',
      B_IP,
      'int',
      'ip.proto / ipv6.nxt (last)',
      'transport protocol number (IPv6: after extension headers)',
      (p) => p.protocol,
    ),
    f('ip_checksum', B_IP4, 'int', 'ip.checksum', 'IPv4 header checksum field', (p) => v4(p, p.ipChecksum)),
    f('ip_checksum_valid', B_IP4, 'bool', 'ip.checksum.status', 'IPv4 header checksum verifies', (p) =>
      p.ipVersion === 4 && p.ipChecksumValid >= 0 ? p.ipChecksumValid === 1 : undefined,
    ),
    f('ip_options', B_IP4, 'text', 'ip.options', 'IPv4 options, hex', (p) =>
      p.ipVersion === 4 && p.ipOptionsLen > 0 ? formatHex(p.buf, p.ipOptionsOff, p.ipOptionsLen) : undefined,
    ),
    f('src_ip', B_IP, 'text', 'ip.src / ipv6.src (innermost)', 'source address of the innermost IP header', ipSrc),
    f('dst_ip', B_IP, 'text', 'ip.dst / ipv6.dst (innermost)', 'destination address', ipDst),
    f('ipv6_traffic_class', B_IP6, 'int', 'ipv6.tclass', 'IPv6 traffic class', (p) => v6(p, p.ipTos)),
    f('ipv6_flow_label', B_IP6, 'int', 'ipv6.flow', 'IPv6 flow label', (p) => v6(p, p.ipv6FlowLabel)),
    f('ipv6_payload_length', B_IP6, 'int', 'ipv6.plen', 'IPv6 payload length field', (p) => v6(p, p.ipv6PayloadLength)),
    f('ipv6_ext_headers', B_IP6, 'int[]', 'ipv6.nxt', 'IPv6 extension headers followed, by next-header number', (p) =>
      p.ipVersion === 6 && p.ipv6ExtCount > 0 ? Array.from(p.ipv6ExtHeaders.subarray(0, p.ipv6ExtCount)) : undefined,
    ),
    f('ipv6_fragment_id', B_IP6, 'int', 'ipv6.fragment.id', 'IPv6 fragment header identification', (p) =>
      p.ipVersion === 6 ? nonNeg(p.ipv6FragId) : undefined,
    ),
    f('ipv6_fragment_offset', B_IP6, 'int', 'ipv6.fragment.offset', 'IPv6 fragment offset, 8-byte units', (p) =>
      p.ipVersion === 6 && p.ipv6FragId >= 0 ? p.ipFragOffset : undefined,
    ),
    f('ipv6_more_fragments', B_IP6, 'bool', 'ipv6.fragment.more', 'IPv6 M flag', (p) =>
      p.ipVersion === 6 && p.ipv6FragId >= 0 ? (p.ipFlags & 1) === 1 : undefined,
    ),
    // ---- ICMP ----
    f('icmp_type', B_ICMP, 'int', 'icmp.type / icmpv6.type', 'ICMP or ICMPv6 type', (p) => p.icmpType),
    f('icmp_code', B_ICMP, 'int', 'icmp.code / icmpv6.code', 'ICMP or ICMPv6 code', (p) => p.icmpCode),
    f('icmp_checksum', B_ICMP, 'int', 'icmp.checksum', 'ICMP checksum field', (p) => p.icmpChecksum),
    f('icmp_echo_id', B_ICMP, 'int', 'icmp.ident / icmpv6.echo.identifier', 'echo identifier', (p) =>
      nonNeg(p.icmpEchoId),
    ),
    f('icmp_echo_seq', B_ICMP, 'int', 'icmp.seq / icmpv6.echo.sequence_number', 'echo sequence number', (p) =>
      nonNeg(p.icmpEchoSeq),
    ),
    // ---- TCP / UDP ----
    f('src_port', B_TCP | B_UDP, 'int', 'tcp.srcport / udp.srcport', 'source port', (p) => p.srcPort),
    f('dest_port', B_TCP | B_UDP, 'int', 'tcp.dstport / udp.dstport', 'destination port', (p) => p.dstPort),
    f('tcp_sequence_number', B_TCP, 'int', 'tcp.seq_raw', 'raw sequence number', (p) => p.tcpSeq),
    f('tcp_acknowledgment_number', B_TCP, 'int', 'tcp.ack_raw', 'raw acknowledgment number', (p) => p.tcpAck),
    f('tcp_data_offset', B_TCP, 'int', 'tcp.hdr_len / 4', 'header length in 32-bit words', (p) => p.tcpDataOffset),
    f(
      'tcp_flags',
      B_TCP,
      'int',
      'tcp.flags & 0xff',
      'flag byte: CWR ECE URG ACK PSH RST SYN FIN',
      (p) => p.tcpFlags & 0xff,
    ),
    f('tcp_window_size', B_TCP, 'int', 'tcp.window_size_value', 'raw window field', (p) => p.tcpWindow),
    f('tcp_checksum', B_TCP, 'int', 'tcp.checksum', 'checksum field', (p) => p.tcpChecksum),
    f('tcp_urgent_pointer', B_TCP, 'int', 'tcp.urgent_pointer', 'urgent pointer', (p) => p.tcpUrgent),
    f('tcp_options', B_TCP, 'text', 'tcp.options', 'options, hex', (p) =>
      p.tcpOptionsLen > 0 ? formatHex(p.buf, p.tcpOptionsOff, p.tcpOptionsLen) : undefined,
    ),
    f('tcp_mss', B_TCP, 'int', 'tcp.options.mss_val', 'MSS option', (p) => nonNeg(p.tcpMss)),
    f('tcp_window_scale', B_TCP, 'int', 'tcp.options.wscale.shift', 'window-scale shift', (p) =>
      nonNeg(p.tcpWindowScale),
    ),
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
    f('tcp_timestamp_value', B_TCP, 'int', 'tcp.options.timestamp.tsval', 'timestamp option TSval', (p) =>
      nonNeg(p.tcpTsVal),
    ),
    f('tcp_timestamp_echo', B_TCP, 'int', 'tcp.options.timestamp.tsecr', 'timestamp option TSecr', (p) =>
      nonNeg(p.tcpTsEcr),
    ),
    f('udp_segment_total_length', B_UDP, 'int', 'udp.length', 'UDP length field', (p) => p.udpLength),
    f('udp_checksum', B_UDP, 'int', 'udp.checksum', 'UDP checksum field', (p) => p.udpChecksum),
    // ---- application ----
    f('dns_id', B_DNS, 'int', 'dns.id', 'DNS transaction id', (p) => p.dnsId),
    f('dns_flags', B_DNS, 'int', 'dns.flags', 'DNS flags word', (p) => p.dnsFlags),
    f('dns_is_response', B_DNS, 'bool', 'dns.flags.response', 'QR bit', (p) => (p.dnsFlags & 0x8000) !== 0),
    f('dns_opcode', B_DNS, 'int', 'dns.flags.opcode', 'DNS opcode', (p) => (p.dnsFlags >> 11) & 0xf),
    f('dns_rcode', B_DNS, 'int', 'dns.flags.rcode', 'response code (3 = NXDOMAIN)', (p) => p.dnsRcode),
    f('dns_question_count', B_DNS, 'int', 'dns.count.queries', 'QDCOUNT', (p) => p.dnsQdCount),
    f('dns_answer_count', B_DNS, 'int', 'dns.count.answers', 'ANCOUNT', (p) => p.dnsAnCount),
    f('dns_authority_count', B_DNS, 'int', 'dns.count.auth_rr', 'NSCOUNT', (p) => p.dnsNsCount),
    f('dns_additional_count', B_DNS, 'int', 'dns.count.add_rr', 'ARCOUNT', (p) => p.dnsArCount),
    f('dns_query_name', B_DNS, 'string', 'dns.qry.name', 'first question name', (p) =>
      p.dnsQdCount > 0 && p.dnsQueryType >= 0 ? p.dnsQueryName : undefined,
    ),
    f('dns_query_type', B_DNS, 'int', 'dns.qry.type', 'first question type', (p) =>
      p.dnsQdCount > 0 && p.dnsQueryType >= 0 ? p.dnsQueryType : undefined,
    ),
    f('dns_query_class', B_DNS, 'int', 'dns.qry.class', 'first question class', (p) =>
      p.dnsQdCount > 0 && p.dnsQueryType >= 0 ? p.dnsQueryClass : undefined,
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
    f(
      'payload_length',
      0,
      'int',
      'tcp.len / udp.length - 8 / data.len',
      'bytes after the last decoded header (captured)',
      (p) => (p.payloadLen > 0 ? p.payloadLen : undefined),
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
    ),
    // ---- tunnels ----
    f('tunnel_type', 0, 'text', '', 'outermost tunnel: gre, erspan, vxlan, geneve, ipip, 6in4', (p) =>
      p.tunnelDepth > 0 ? p.tunnel.type : undefined,
    ),
    f('tunnel_depth', 0, 'int', '', 'number of nested tunnels', (p) => (p.tunnelDepth > 0 ? p.tunnelDepth : undefined)),
    f('tunnel_src_ip', 0, 'text', 'ip.src (first)', 'outer source address', (p) =>
      p.tunnelDepth > 0 ? tunnelIp(p, true) : undefined,
    ),
    f('tunnel_dst_ip', 0, 'text', 'ip.dst (first)', 'outer destination address', (p) =>
      p.tunnelDepth > 0 ? tunnelIp(p, false) : undefined,
    ),
    f('tunnel_protocol', 0, 'int', 'ip.proto (first)', 'outer IP protocol', (p) =>
      p.tunnelDepth > 0 ? p.tunnel.protocol : undefined,
    ),
    f('tunnel_src_port', 0, 'int', 'udp.srcport (first)', 'outer UDP source port (VXLAN, Geneve)', (p) =>
      p.tunnelDepth > 0 && p.tunnel.srcPort > 0 ? p.tunnel.srcPort : undefined,
    ),
    f('tunnel_dest_port', 0, 'int', 'udp.dstport (first)', 'outer UDP destination port', (p) =>
      p.tunnelDepth > 0 && p.tunnel.dstPort > 0 ? p.tunnel.dstPort : undefined,
    ),
    f('tunnel_id', 0, 'int', 'vxlan.vni / geneve.vni / gre.key', 'VNI, GRE key or ERSPAN session id', (p) =>
      p.tunnelDepth > 0 && p.tunnel.id >= 0 ? p.tunnel.id : undefined,
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
