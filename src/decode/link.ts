/**
 * Link layers other than Ethernet, and the shims that sit between link and network layer.
 *
 * Link types are numbered as in the tcpdump.org registry (https://www.tcpdump.org/linktypes.html).
 *
 * BSD loopback, LINKTYPE_NULL (0) and LINKTYPE_LOOP (108):
 *   family:32            AF_ value; host byte order of the writer for NULL, network order for LOOP
 * Raw IP, LINKTYPE_RAW (101) and DLT_RAW (12, 14): no header; the version nibble names the protocol.
 * LINKTYPE_IPV4 (228) and LINKTYPE_IPV6 (229): no header either, and the link type names the
 *   version. A packet whose own version nibble says otherwise is decoded by its nibble (as tcpdump
 *   and Wireshark do: the IP header is the better witness than a writer's link type) and
 *   recorded as `raw.version_mismatch`.
 * Linux cooked capture v1, LINKTYPE_LINUX_SLL (113,
 * https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html):
 *   packet_type:16  arphrd_type:16  addr_len:16  addr:64  protocol:16                    (16 bytes)
 * Linux cooked capture v2, LINKTYPE_LINUX_SLL2 (276,
 * https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html):
 *   protocol:16  reserved:16  if_index:32  arphrd_type:16  packet_type:8  addr_len:8  addr:64 (20)
 *   In both, a protocol of 0x0600 or more is an EtherType; smaller values are Linux ETH_P_*
 *   pseudo-types (0x0004 802.2 LLC, 0x000c CAN, ...) and the frame is kept as payload.
 * PPP, LINKTYPE_PPP (9) and LINKTYPE_PPP_HDLC (50) (RFC 1661 https://www.rfc-editor.org/rfc/rfc1661,
 * HDLC-like framing RFC 1662 https://www.rfc-editor.org/rfc/rfc1662):
 *   [address:8 = 0xff  control:8 = 0x03]  protocol:8|16
 *   The address/control pair may be left out (ACFC). A protocol field whose first byte is odd is
 *   a compressed one-byte field (PFC): protocol numbers always have an even high byte and odd low.
 *   On LINKTYPE_PPP_HDLC a first byte 0x0f/0x8f means Cisco HDLC framing (RFC 1547 section 4.3.1).
 * PPPoE session stage (RFC 2516, https://www.rfc-editor.org/rfc/rfc2516):
 *   ver:4  type:4  code:8  session_id:16  length:16  ppp_protocol:16  ...           (6 + 2 bytes)
 *   `length` counts the bytes after the 6-byte header, PPP protocol included; it trims the
 *   Ethernet padding. Discovery packets (code not 0) carry tags, not PPP, and are kept as payload.
 * Cisco HDLC, LINKTYPE_C_HDLC (104, https://www.tcpdump.org/linktypes/LINKTYPE_C_HDLC.html):
 *   address:8  control:8  protocol:16                                                  (4 bytes)
 *   The protocol is an EtherType, except 0x8035 which here means Cisco SLARP, not RARP.
 * MPLS label stack (RFC 3032, https://www.rfc-editor.org/rfc/rfc3032):
 *   label:20  tc:3  s:1  ttl:8, repeated until s = 1. Nothing names the payload: a first nibble
 *   of 4 or 6 is taken as IPv4/IPv6, a 0 as the control word of an Ethernet pseudowire
 *   (RFC 4385 https://www.rfc-editor.org/rfc/rfc4385, 4 bytes) with an Ethernet frame after it;
 *   anything else is payload.
 */
import {
  LAYER_ETHERNET,
  LAYER_HDLC,
  LAYER_MPLS,
  LAYER_NULL,
  LAYER_PPP,
  LAYER_PPPOE,
  LAYER_SLL,
  LAYER_SLL2,
  layerBit,
} from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { MAX_MPLS } from '../core/packet.ts';
import { SPACE_ETHERTYPE, SPACE_LAYER, SPACE_PPP, u16, u32 } from './decoder.ts';

/** EtherType of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** EtherType of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;

/** Link type whose packets are all IPv4. */
export const LINKTYPE_IPV4 = 228;
/** Link type whose packets are all IPv6. */
export const LINKTYPE_IPV6 = 229;

/** BSD loopback header length. */
export const NULL_HEADER_LEN = 4;
/** AF_INET: the same on every BSD. */
export const NULL_AF_INET = 2;
/** AF_INET6 on NetBSD, OpenBSD and BSD/OS. */
export const NULL_AF_INET6_BSD = 24;
/** AF_INET6 on FreeBSD and DragonFly BSD. */
export const NULL_AF_INET6_FREEBSD = 28;
/** AF_INET6 on Darwin (macOS, iOS). */
export const NULL_AF_INET6_DARWIN = 30;

/** Linux cooked capture v1 header length. */
export const SLL_HEADER_LEN = 16;
/** Linux cooked capture v2 header length. */
export const SLL2_HEADER_LEN = 20;
/** Smallest SLL protocol value that is an EtherType rather than a Linux ETH_P_* pseudo-type. */
export const SLL_MIN_ETHERTYPE = 0x0600;

/** PPP all-stations address of HDLC-like framing. */
export const PPP_ADDRESS = 0xff;
/** PPP unnumbered-information control byte of HDLC-like framing. */
export const PPP_CONTROL = 0x03;

/** PPPoE header length, before the PPP protocol field. */
export const PPPOE_HEADER_LEN = 6;
/** PPPoE code of a session-stage packet; discovery codes (PADI 0x09, PADT 0xa7, ...) differ. */
export const PPPOE_CODE_SESSION = 0x00;
/** Bytes of the PPP protocol field that PPPoE carries. */
export const PPPOE_PPP_PROTOCOL_LEN = 2;

/** Cisco HDLC header length. */
export const CHDLC_HEADER_LEN = 4;
/** Cisco HDLC unicast address byte. */
export const CHDLC_ADDRESS_UNICAST = 0x0f;
/** Cisco HDLC broadcast/multicast address byte. */
export const CHDLC_ADDRESS_BROADCAST = 0x8f;
/** Cisco HDLC control byte. */
export const CHDLC_CONTROL = 0x00;
/** Cisco Serial Line ARP (keepalives, address requests): kept as payload. */
export const CHDLC_PROTOCOL_SLARP = 0x8035;

/** Length of one MPLS label stack entry. */
export const MPLS_ENTRY_LEN = 4;
/** Bottom-of-stack bit within an entry. */
export const MPLS_BOTTOM_OF_STACK = 0x100;
/** Length of the pseudowire control word (RFC 4385). */
export const MPLS_PW_CONTROL_WORD_LEN = 4;

/**
 * BSD loopback header: the address family, read in whichever byte order makes sense.
 * @example
 * LINK[0] = decodeNull; // dispatch.ts; also LINK[108]
 */
export function decodeNull(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < NULL_HEADER_LEN) {
    p.anomaly('null.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_NULL);
  const next = off + NULL_HEADER_LEN;
  // The writer's byte order is not recorded and files move between hosts: families are small,
  // so the reading that gives a value below 0x10000 is the right one.
  const le = (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
  const family = le <= 0xffff ? le : u32(b, off);
  let type: number;
  if (family === NULL_AF_INET) type = ETHERTYPE_IPV4;
  else if (family === NULL_AF_INET6_BSD || family === NULL_AF_INET6_FREEBSD || family === NULL_AF_INET6_DARWIN)
    type = ETHERTYPE_IPV6;
  else {
    // Some writers store an EtherType in the last two bytes, network order; Wireshark reads
    // those headers the same way.
    const tail = u16(b, off + 2);
    if (tail !== ETHERTYPE_IPV4 && tail !== ETHERTYPE_IPV6) {
      p.anomaly('null.unknown_family');
      return next; // no successor: the rest is payload
    }
    type = tail;
  }
  p.nextSpace = SPACE_ETHERTYPE;
  p.nextKey = type;
  return next;
}

/**
 * Raw IP link types: no header, the version nibble picks IPv4 or IPv6.
 * @example
 * LINK[101] = decodeRawIP; // dispatch.ts
 */
export function decodeRawIP(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end <= off) {
    p.anomaly('raw.truncated');
    return -1;
  }
  const version = b[off]! >> 4;
  if (version === 4) {
    p.nextSpace = SPACE_ETHERTYPE;
    p.nextKey = ETHERTYPE_IPV4;
  } else if (version === 6) {
    p.nextSpace = SPACE_ETHERTYPE;
    p.nextKey = ETHERTYPE_IPV6;
  } else {
    p.anomaly('raw.unknown_version');
  }
  // No header of its own: the IP decoder starts at the same offset.
  return off;
}

/**
 * LINKTYPE_IPV4 / LINKTYPE_IPV6: the IP header starts the frame; the version nibble wins over the
 * link type. A nibble that is neither 4 nor 6 goes to the decoder the link type names, which
 * records it as that version's `version_invalid`.
 * @example
 * LINK[228] = decodeRawIPFamily; // dispatch.ts; also LINK[229]
 */
export function decodeRawIPFamily(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  const expected = p.linkType === LINKTYPE_IPV6 ? 6 : 4;
  let version = expected;
  if (end > off) {
    const v = b[off]! >> 4;
    if (v === 4 || v === 6) version = v;
  }
  if (version !== expected) p.anomaly('raw.version_mismatch');
  p.nextSpace = SPACE_ETHERTYPE;
  p.nextKey = version === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6;
  return off;
}

/** Shared tail of SLL and SLL2: route the protocol field. */
function sllProtocol(p: PacketContext, protocol: number, next: number): number {
  p.ethType = protocol;
  if (protocol >= SLL_MIN_ETHERTYPE) {
    p.nextSpace = SPACE_ETHERTYPE;
    p.nextKey = protocol;
  }
  return next;
}

/**
 * Linux cooked capture v1: packet type and protocol (`p.sllPacketType`, `p.ethType`).
 * @example
 * LINK[113] = decodeLinuxSLL; // dispatch.ts
 */
export function decodeLinuxSLL(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < SLL_HEADER_LEN) {
    p.anomaly('sll.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_SLL);
  p.sllPacketType = u16(b, off);
  return sllProtocol(p, u16(b, off + 14), off + SLL_HEADER_LEN);
}

/**
 * Linux cooked capture v2: also the interface index (`p.sllIfIndex`).
 * @example
 * LINK[276] = decodeLinuxSLL2; // dispatch.ts
 */
export function decodeLinuxSLL2(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < SLL2_HEADER_LEN) {
    p.anomaly('sll.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_SLL2);
  p.sllIfIndex = u32(b, off + 4);
  p.sllPacketType = b[off + 10]!;
  return sllProtocol(p, u16(b, off), off + SLL2_HEADER_LEN);
}

/**
 * Read a PPP protocol field (one byte when compressed, else two) at `off` and name the successor.
 * Returns -1 when the field is cut short; the caller records the anomaly of its own layer.
 */
function pppProtocol(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end <= off) return -1;
  let protocol = b[off]!;
  let next = off + 1;
  if ((protocol & 1) === 0) {
    if (end - off < 2) return -1;
    protocol = u16(b, off);
    next = off + 2;
  }
  p.layers |= layerBit(LAYER_PPP);
  p.pppProtocol = protocol;
  p.nextSpace = SPACE_PPP;
  p.nextKey = protocol;
  return next;
}

/**
 * PPP on a serial link, with or without HDLC-like framing and field compression.
 * @example
 * LINK[9] = decodePPPSerial; // dispatch.ts; also LINK[50]
 */
export function decodePPPSerial(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  let o = off;
  if (end - off >= 2) {
    const a = b[off]!;
    if (a === PPP_ADDRESS && b[off + 1] === PPP_CONTROL) o = off + 2;
    // 0x0f/0x8f are never a PPP protocol byte (odd, so a compressed field, but unassigned).
    else if ((a === CHDLC_ADDRESS_UNICAST || a === CHDLC_ADDRESS_BROADCAST) && b[off + 1] === CHDLC_CONTROL)
      return decodeCiscoHDLC(p, b, off, end);
  }
  const next = pppProtocol(p, b, o, end);
  if (next < 0) p.anomaly('ppp.truncated');
  return next;
}

/**
 * PPPoE header and the PPP protocol after it; the length field bounds the payload (`p.nextEnd`).
 * @example
 * ETHERTYPE[0x8864] = decodePPPoE; // dispatch.ts
 */
export function decodePPPoE(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < PPPOE_HEADER_LEN) {
    p.anomaly('pppoe.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_PPPOE);
  const code = b[off + 1]!;
  p.pppoeSessionId = u16(b, off + 2);
  const len = u16(b, off + 4);
  const start = off + PPPOE_HEADER_LEN;
  let stop = end;
  if (start + len <= end) stop = start + len;
  else p.anomaly(p.truncated ? 'pppoe.truncated' : 'pppoe.len_invalid');
  p.nextEnd = stop;
  if (code !== PPPOE_CODE_SESSION) return start; // discovery tags: payload
  if (len < PPPOE_PPP_PROTOCOL_LEN) {
    p.anomaly('pppoe.len_invalid');
    return -1;
  }
  // With len >= 2 the field can only be missing when the length overran: already recorded.
  return pppProtocol(p, b, start, stop);
}

/**
 * Cisco HDLC: an EtherType after address and control bytes.
 * @example
 * LINK[104] = decodeCiscoHDLC; // dispatch.ts
 */
export function decodeCiscoHDLC(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < CHDLC_HEADER_LEN) {
    p.anomaly('chdlc.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_HDLC);
  const protocol = u16(b, off + 2);
  p.ethType = protocol;
  if (protocol !== CHDLC_PROTOCOL_SLARP) {
    p.nextSpace = SPACE_ETHERTYPE;
    p.nextKey = protocol;
  }
  return off + CHDLC_HEADER_LEN;
}

/**
 * MPLS label stack (`p.mplsLabels`, `p.mplsCount`), then a guess at the payload by its first nibble.
 * @example
 * ETHERTYPE[0x8847] = decodeMPLS; // dispatch.ts
 */
export function decodeMPLS(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  let o = off;
  let dropped = false;
  let entry = 0;
  do {
    if (end - o < MPLS_ENTRY_LEN) {
      p.anomaly('mpls.truncated');
      return -1;
    }
    p.layers |= layerBit(LAYER_MPLS);
    entry = u32(b, o);
    if (p.mplsCount < MAX_MPLS) p.mplsLabels[p.mplsCount++] = entry >>> 12;
    else if (!dropped) {
      // Once per stack; the walk goes on so the payload is still found.
      p.anomaly('mpls.too_many');
      dropped = true;
    }
    o += MPLS_ENTRY_LEN;
  } while ((entry & MPLS_BOTTOM_OF_STACK) === 0);
  if (o >= end) return o;
  const nibble = b[o]! >> 4;
  if (nibble === 4) {
    p.nextSpace = SPACE_ETHERTYPE;
    p.nextKey = ETHERTYPE_IPV4;
  } else if (nibble === 6) {
    p.nextSpace = SPACE_ETHERTYPE;
    p.nextKey = ETHERTYPE_IPV6;
  } else if (nibble === 0) {
    if (end - o < MPLS_PW_CONTROL_WORD_LEN) {
      p.anomaly('mpls.truncated');
      return -1;
    }
    o += MPLS_PW_CONTROL_WORD_LEN;
    p.nextSpace = SPACE_LAYER;
    p.nextKey = LAYER_ETHERNET;
  }
  return o;
}
