/**
 * GRE (RFC 2784, https://www.rfc-editor.org/rfc/rfc2784; key and sequence number RFC 2890,
 * https://www.rfc-editor.org/rfc/rfc2890; routing RFC 1701) and enhanced GRE version 1 as PPTP
 * uses it (RFC 2637 section 4.1, https://www.rfc-editor.org/rfc/rfc2637#section-4.1).
 *
 *   C:1 R:1 K:1 S:1 s:1 recur:3  A:1 flags:4 version:3  protocol_type:16      (4 bytes)
 *   checksum:16  offset:16            when C or R
 *   key:32                            when K; version 1: payload_length:16 call_id:16
 *   sequence_number:32                when S
 *   acknowledgment_number:32          when A (version 1 only)
 *   source route entries              when R: af:16 sre_offset:8 sre_length:8 info, until length 0
 * Cisco MetaData (protocol type 0x8909) puts its own header between GRE and the packet:
 *   ethertype:16  version:8  length:8  option:16  sgt:16                      (8 bytes)
 *
 * ERSPAN (draft-foschiano-erspan, https://datatracker.ietf.org/doc/draft-foschiano-erspan/),
 * after GRE protocol type 0x88be (type I and II) or 0x22eb (type III):
 *   type I:   no header; GRE has no sequence number and Ethernet follows at once
 *   type II:  ver:4 vlan:12  cos:3 en:2 t:1 session_id:10  reserved:12 index:20          (8 bytes)
 *   type III: ver:4 vlan:12  cos:3 bso:2 t:1 session_id:10  timestamp:32
 *             sgt:16  p:1 ft:5 hw_id:6 d:1 gra:2 o:1                                     (12 bytes)
 *             then an 8-byte platform-specific subheader when o is set
 *
 * GRE enters a tunnel (see `tunnel.ts`) only when its payload is a packet of its own: IP, MPLS,
 * an Ethernet frame, PPPoE, or PPP carrying IP. Keepalives, empty PPTP acknowledgments, PPP
 * control frames (LCP, IPCP, compressed or encrypted data) and other payload types stay part of
 * the outer packet, so its addresses remain the record's (as tshark's last ones) and the flow
 * stays the GRE flow. The payload is still handed on by its protocol type.
 */
import { LAYER_ERSPAN, LAYER_ETHERNET, LAYER_GRE, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { SPACE_ETHERTYPE, SPACE_LAYER, u16, u32 } from './decoder.ts';
import { enterTunnel } from './tunnel.ts';

/** Fixed GRE header: flags, version, protocol type. */
export const GRE_HEADER_LEN = 4;
/** Checksum present (first flag byte). */
export const GRE_FLAG_C = 0x80;
/** Routing present (RFC 1701; also implies the checksum/offset word). */
export const GRE_FLAG_R = 0x40;
/** Key present. */
export const GRE_FLAG_K = 0x20;
/** Sequence number present. */
export const GRE_FLAG_S = 0x10;
/** Acknowledgment number present (second flag byte, version 1 only). */
export const GRE_FLAG_A = 0x80;
/** Enhanced GRE version used by PPTP. */
export const GRE_VERSION_PPTP = 1;
/** Cisco MetaData (security group tag) between GRE and the packet. */
export const GRE_PROTO_CISCO_METADATA = 0x8909;
/** Cisco MetaData header length inside GRE. */
export const GRE_CISCO_METADATA_LEN = 8;
/** IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** Transparent Ethernet bridging: an Ethernet frame follows (NVGRE, GRETAP). */
export const ETHERTYPE_TEB = 0x6558;
/** ERSPAN type I and II. */
export const ETHERTYPE_ERSPAN_II = 0x88be;
/** ERSPAN type III. */
export const ETHERTYPE_ERSPAN_III = 0x22eb;
/** PPP frame (PPTP). */
export const ETHERTYPE_PPP = 0x880b;
/** MPLS unicast. */
export const ETHERTYPE_MPLS = 0x8847;
/** MPLS multicast. */
export const ETHERTYPE_MPLS_MCAST = 0x8848;
/** 802.1Q VLAN tag. */
export const ETHERTYPE_VLAN = 0x8100;
/** 802.1ad service VLAN tag. */
export const ETHERTYPE_QINQ = 0x88a8;
/** PPPoE session stage. */
export const ETHERTYPE_PPPOE = 0x8864;
/** PPP protocol numbers that carry a packet: IPv4, IPv6, MPLS unicast. */
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;
const PPP_MPLS = 0x0281;

/** ERSPAN type II version field. */
export const ERSPAN_VERSION_II = 1;
/** ERSPAN type III version field. */
export const ERSPAN_VERSION_III = 2;
/** ERSPAN type II header length. */
export const ERSPAN_II_HEADER_LEN = 8;
/** ERSPAN type III header length without the platform subheader. */
export const ERSPAN_III_HEADER_LEN = 12;
/** ERSPAN type III platform-specific subheader length (when the O bit is set). */
export const ERSPAN_III_PLATFORM_LEN = 8;
/** ERSPAN type III frame type of an Ethernet frame (2 is a bare IP packet). */
export const ERSPAN_FT_ETHERNET = 0;

/** True when a PPP frame at `o` carries IP or MPLS; reads the 0xff03 prefix and a 1- or 2-byte protocol. */
function pppCarriesPacket(b: Uint8Array, o: number, end: number): boolean {
  if (end - o >= 2 && b[o] === 0xff && b[o + 1] === 0x03) o += 2;
  if (end - o < 1) return false;
  // Protocol-field compression: a single odd byte.
  let proto = b[o]!;
  if ((proto & 1) === 0) {
    if (end - o < 2) return false;
    proto = u16(b, o);
  }
  return proto === PPP_IPV4 || proto === PPP_IPV6 || proto === PPP_MPLS;
}

/** Payload types that are a packet or frame of their own: GRE enters a tunnel for these only. */
function isTunnelPayload(proto: number): boolean {
  switch (proto) {
    case ETHERTYPE_IPV4:
    case ETHERTYPE_IPV6:
    case ETHERTYPE_TEB:
    case ETHERTYPE_ERSPAN_II:
    case ETHERTYPE_ERSPAN_III:
    case ETHERTYPE_PPP:
    case ETHERTYPE_MPLS:
    case ETHERTYPE_MPLS_MCAST:
    case ETHERTYPE_VLAN:
    case ETHERTYPE_QINQ:
    case ETHERTYPE_PPPOE:
      return true;
    default:
      return false;
  }
}

/**
 * Decode a GRE header; enters the tunnel when the payload is a packet.
 * @example
 * IPPROTO[47] = decodeGRE; // then ETHERTYPE[p.nextKey] decodes the payload
 */
export function decodeGRE(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < GRE_HEADER_LEN) {
    p.anomaly('gre.truncated');
    return -1;
  }
  const flags = b[off]!;
  const version = b[off + 1]! & 0x07;
  if (version > GRE_VERSION_PPTP) {
    p.anomaly('gre.version_invalid');
    return -1;
  }
  const ack = version === GRE_VERSION_PPTP && (b[off + 1]! & GRE_FLAG_A) !== 0;
  let proto = u16(b, off + 2);
  let o = off + GRE_HEADER_LEN;
  if ((flags & (GRE_FLAG_C | GRE_FLAG_R)) !== 0) o += 4;
  const keyOff = o;
  if ((flags & GRE_FLAG_K) !== 0) o += 4;
  if ((flags & GRE_FLAG_S) !== 0) o += 4;
  if (ack) o += 4;
  if (o > end) {
    p.anomaly('gre.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_GRE);
  let id = -1;
  // PPTP's key holds the payload length (changes per packet) and the call id (names the call).
  if ((flags & GRE_FLAG_K) !== 0) id = version === GRE_VERSION_PPTP ? u16(b, keyOff + 2) : u32(b, keyOff);
  if ((flags & GRE_FLAG_R) !== 0) {
    // Source route entries end with one of length 0; each step moves at least 4 bytes.
    while (true) {
      if (end - o < 4) {
        p.anomaly('gre.truncated');
        return -1;
      }
      const sreLen = b[o + 3]!;
      o += 4 + sreLen;
      if (sreLen === 0) break;
    }
  }
  if (proto === GRE_PROTO_CISCO_METADATA) {
    if (end - o < GRE_CISCO_METADATA_LEN) {
      p.anomaly('gre.truncated');
      return -1;
    }
    proto = u16(b, o);
    o += GRE_CISCO_METADATA_LEN;
  }
  // Nothing after the header (keepalive replies, PPTP acknowledgments): no inner packet.
  if (o >= end) return o;
  if (proto === ETHERTYPE_ERSPAN_II && (flags & GRE_FLAG_S) === 0) {
    // ERSPAN type I has no header of its own: the mirrored Ethernet frame follows GRE.
    enterTunnel(p, 'erspan', -1);
    p.layers |= layerBit(LAYER_ERSPAN);
    p.nextSpace = SPACE_LAYER;
    p.nextKey = LAYER_ETHERNET;
    return o;
  }
  if (isTunnelPayload(proto) && (proto !== ETHERTYPE_PPP || pppCarriesPacket(b, o, end))) enterTunnel(p, 'gre', id);
  p.nextSpace = SPACE_ETHERTYPE;
  p.nextKey = proto;
  return o;
}

/**
 * Decode an ERSPAN type II or III header (type I is recognised by `decodeGRE`). The session id
 * becomes the tunnel id when this is the outermost tunnel.
 * @example
 * ETHERTYPE[0x88be] = decodeERSPAN;
 */
export function decodeERSPAN(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < ERSPAN_II_HEADER_LEN) {
    p.anomaly('erspan.truncated');
    return -1;
  }
  const ver = b[off]! >> 4;
  let hlen = ERSPAN_II_HEADER_LEN;
  let ethernet = true;
  if (ver === ERSPAN_VERSION_III) {
    if (end - off < ERSPAN_III_HEADER_LEN) {
      p.anomaly('erspan.truncated');
      return -1;
    }
    const w = u16(b, off + 10);
    hlen = ERSPAN_III_HEADER_LEN + ((w & 1) !== 0 ? ERSPAN_III_PLATFORM_LEN : 0);
    ethernet = ((w >> 10) & 0x1f) === ERSPAN_FT_ETHERNET;
    if (end - off < hlen) {
      p.anomaly('erspan.truncated');
      return -1;
    }
  } else if (ver !== ERSPAN_VERSION_II) {
    p.anomaly('erspan.version_invalid');
    return -1;
  }
  p.layers |= layerBit(LAYER_ERSPAN);
  const session = u16(b, off + 2) & 0x3ff;
  if (p.tunnelDepth === 0) {
    enterTunnel(p, 'erspan', session);
  } else if (p.tunnelDepth === 1 && p.tunnel.type === 'gre') {
    // GRE entered the tunnel; ERSPAN names it better, and its session id is the useful id.
    p.tunnel.type = 'erspan';
    p.tunnel.id = session;
  }
  // A type III bare IP packet (frame type 2) has no link header to dispatch on: kept as payload.
  if (ethernet) {
    p.nextSpace = SPACE_LAYER;
    p.nextKey = LAYER_ETHERNET;
  }
  return off + hlen;
}
