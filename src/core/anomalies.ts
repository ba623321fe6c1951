/**
 * Anomaly registry: every code a decoder may record, with its meaning.
 *
 * Codes are `<layer>.<problem>`. *truncated* means the capture cut the bytes short (snaplen or a
 * damaged file); *invalid* and the other problems mean a header contradicts itself. The list is
 * append-only: codes are never renamed or removed, retired ones stay with `retired: true`.
 */
export interface AnomalyInfo {
  readonly code: string;
  readonly description: string;
  readonly retired?: boolean;
}

export const ANOMALIES: readonly AnomalyInfo[] = [
  { code: 'link.unknown', description: 'link type not decoded; the frame is kept as payload' },
  { code: 'decode.internal_error', description: 'a decoder threw; the packet keeps the layers decoded before it' },
  { code: 'decode.depth_exceeded', description: 'too many nested layers (encapsulation depth cap)' },
  { code: 'eth.truncated', description: 'frame shorter than an Ethernet header' },
  { code: 'vlan.truncated', description: '802.1Q/802.1ad tag cut short' },
  { code: 'vlan.too_many', description: 'more VLAN tags than are kept; extra ids dropped' },
  { code: 'null.truncated', description: 'BSD loopback header cut short' },
  { code: 'null.unknown_family', description: 'BSD loopback address family not IPv4/IPv6' },
  { code: 'sll.truncated', description: 'Linux cooked (SLL/SLL2) header cut short' },
  { code: 'ppp.truncated', description: 'PPP header cut short' },
  { code: 'chdlc.truncated', description: 'Cisco HDLC header cut short' },
  { code: 'mpls.truncated', description: 'MPLS label stack cut short' },
  { code: 'mpls.too_many', description: 'more MPLS labels than are kept' },
  { code: 'pppoe.truncated', description: 'PPPoE header cut short' },
  { code: 'arp.truncated', description: 'ARP packet cut short' },
  { code: 'arp.len_invalid', description: 'ARP hardware/protocol address lengths not usable' },
  { code: 'raw.unknown_version', description: 'raw IP link type with a version nibble not 4 or 6' },
  { code: 'ipv4.truncated', description: 'IPv4 header or datagram cut short by the capture' },
  { code: 'ipv4.version_invalid', description: 'IPv4 EtherType but version nibble is not 4' },
  { code: 'ipv4.hlen_invalid', description: 'IPv4 header length below 20 bytes' },
  { code: 'ipv4.len_invalid', description: 'IPv4 total length smaller than its header' },
  { code: 'ipv4.checksum_invalid', description: 'IPv4 header checksum does not verify' },
  { code: 'ipv4.opt_invalid', description: 'IPv4 option with a bad length' },
  { code: 'ipv6.truncated', description: 'IPv6 header, payload or extension header cut short' },
  { code: 'ipv6.version_invalid', description: 'IPv6 EtherType but version nibble is not 6' },
  {
    code: 'ipv6.jumbo_invalid',
    description:
      'IPv6 Jumbo Payload option with a non-zero payload length or a jumbo length of 65,535 or less (RFC 2675)',
  },
  { code: 'ipv6.ext_too_many', description: 'IPv6 extension-header chain longer than the decoder follows (256)' },
  { code: 'icmp.truncated', description: 'ICMP header cut short' },
  { code: 'icmpv6.truncated', description: 'ICMPv6 header cut short' },
  { code: 'tcp.truncated', description: 'TCP header cut short' },
  { code: 'tcp.hlen_invalid', description: 'TCP data offset below 5 or beyond the segment' },
  { code: 'tcp.opt_invalid', description: 'TCP option with a bad length' },
  { code: 'udp.truncated', description: 'UDP header cut short' },
  { code: 'udp.len_invalid', description: 'UDP length field below 8 or beyond the IP payload' },
  { code: 'dns.truncated', description: 'DNS message cut short' },
  { code: 'dns.label_invalid', description: 'DNS name with a reserved label type or an over-long name' },
  { code: 'dns.pointer_loop', description: 'DNS compression pointer loop or chain deeper than the cap' },
  { code: 'gre.truncated', description: 'GRE header cut short' },
  { code: 'gre.version_invalid', description: 'GRE version not 0 or 1' },
  { code: 'erspan.truncated', description: 'ERSPAN header cut short' },
  { code: 'vxlan.truncated', description: 'VXLAN header cut short' },
  { code: 'geneve.truncated', description: 'Geneve header or options cut short' },
  { code: 'nflog.truncated', description: 'NFLOG header or TLV cut short' },
  { code: 'tls.truncated', description: 'TLS ClientHello cut short before the SNI' },
  {
    code: 'ipv6.len_invalid',
    description: 'IPv6 payload length or an extension header length beyond the bytes of a whole datagram',
  },
  { code: 'erspan.version_invalid', description: 'ERSPAN version not 1 (type II) or 2 (type III)' },
  { code: 'geneve.version_invalid', description: 'Geneve version not 0' },
  { code: 'raw.truncated', description: 'raw IP link type with an empty frame' },
  { code: 'pppoe.len_invalid', description: 'PPPoE length field beyond the frame or too short for the PPP protocol' },
  {
    code: 'dns.rdata_invalid',
    description: 'DNS record data does not fit its type (A/AAAA length, name or string past RDLENGTH)',
  },
  { code: 'tls.len_invalid', description: 'TLS ClientHello length field runs past the structure holding it' },
  { code: 'http.truncated', description: 'HTTP request cut short by the capture before the Host header' },
  {
    code: 'raw.version_mismatch',
    description: 'LINKTYPE_IPV4/IPV6 frame whose IP version nibble names the other version (decoded by the nibble)',
  },
  { code: 'vntag.truncated', description: 'Cisco VN-Tag cut short' },
  { code: 'l2tp.truncated', description: 'L2TP header cut short' },
  {
    code: 'l2tp.len_invalid',
    description: 'L2TP length or offset size beyond the datagram, or length below the header',
  },
  { code: 'radiotap.truncated', description: 'radiotap header cut short' },
  {
    code: 'radiotap.len_invalid',
    description: 'radiotap length below 8, beyond the frame, or too short for its present fields',
  },
  { code: 'wlan.truncated', description: '802.11 MAC header cut short' },
];

const KNOWN = new Set(ANOMALIES.map((a) => a.code));

/** True when `code` is registered. Tests use it to keep decoders and the registry in step. */
export function isKnownAnomaly(code: string): boolean {
  return KNOWN.has(code);
}

/**
 * Counts anomalies by code across a run.
 * @example
 * const counts = new AnomalyCounters(); counts.addPacket(ctx); counts.toObject();
 */
export class AnomalyCounters {
  private readonly counts = new Map<string, number>();
  /** Packets that carried at least one anomaly. */
  packets = 0;

  add(code: string, n = 1): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + n);
  }

  addPacket(p: { anomalyCount: number; anomalies: string[] }): void {
    if (p.anomalyCount === 0) return;
    this.packets++;
    const n = Math.min(p.anomalyCount, p.anomalies.length);
    for (let i = 0; i < n; i++) this.add(p.anomalies[i]!);
  }

  get(code: string): number {
    return this.counts.get(code) ?? 0;
  }

  toObject(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort((a, b) => a[0].localeCompare(b[0])));
  }
}
