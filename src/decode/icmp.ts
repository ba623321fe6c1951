/**
 * ICMP (RFC 792, https://www.rfc-editor.org/rfc/rfc792) and ICMPv6 (RFC 4443,
 * https://www.rfc-editor.org/rfc/rfc4443).
 *
 *   type:8  code:8  checksum:16  rest_of_header:32                                    (8 bytes)
 *   then the message body
 *
 * Every message defined by either RFC has the 4-byte rest-of-header word (unused, pointer,
 * gateway, MTU, or identifier:16 sequence:16), so anything shorter than 8 bytes is
 * `icmp.truncated` / `icmpv6.truncated`; with at least 4 the type and code are still kept.
 * Identifier and sequence are read for the types that carry them: echo, timestamp, information
 * and address-mask request/reply (ICMP) and echo request/reply (ICMPv6).
 *
 * The body is the packet's payload. Error messages quote the offending packet's headers there;
 * those are not decoded, so the main fields keep describing the ICMP packet itself.
 */
import { LAYER_ICMP, LAYER_ICMPV6, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { u16 } from './decoder.ts';

/** ICMP/ICMPv6 header length, rest-of-header word included. */
export const ICMP_HEADER_LEN = 8;
/** Type, code and checksum: what is kept from a shorter message. */
export const ICMP_MIN_LEN = 4;

/** Echo reply. */
export const ICMP_ECHO_REPLY = 0;
/** Destination unreachable (quotes the offending header). */
export const ICMP_DEST_UNREACH = 3;
/** Echo request. */
export const ICMP_ECHO_REQUEST = 8;
/** Time exceeded (quotes the offending header). */
export const ICMP_TIME_EXCEEDED = 11;
/** Timestamp request. */
export const ICMP_TIMESTAMP_REQUEST = 13;
/** Timestamp reply. */
export const ICMP_TIMESTAMP_REPLY = 14;
/** Information request (obsolete, still seen in scans). */
export const ICMP_INFO_REQUEST = 15;
/** Information reply. */
export const ICMP_INFO_REPLY = 16;
/** Address mask request (RFC 950). */
export const ICMP_ADDRESS_MASK_REQUEST = 17;
/** Address mask reply (RFC 950). */
export const ICMP_ADDRESS_MASK_REPLY = 18;
/** ICMPv6 echo request. */
export const ICMPV6_ECHO_REQUEST = 128;
/** ICMPv6 echo reply. */
export const ICMPV6_ECHO_REPLY = 129;

/** ICMP types whose rest-of-header word is identifier + sequence, one bit per type. */
const ICMP_ID_SEQ_TYPES =
  (1 << ICMP_ECHO_REPLY) |
  (1 << ICMP_ECHO_REQUEST) |
  (1 << ICMP_TIMESTAMP_REQUEST) |
  (1 << ICMP_TIMESTAMP_REPLY) |
  (1 << ICMP_INFO_REQUEST) |
  (1 << ICMP_INFO_REPLY) |
  (1 << ICMP_ADDRESS_MASK_REQUEST) |
  (1 << ICMP_ADDRESS_MASK_REPLY);

/** Shared by both versions; `v6` picks the layer, the anomaly code and the id/seq types. */
function decodeMessage(p: PacketContext, b: Uint8Array, off: number, end: number, v6: boolean): number {
  p.icmpEchoId = -1;
  p.icmpEchoSeq = -1;
  if (end - off < ICMP_MIN_LEN) {
    p.anomaly(v6 ? 'icmpv6.truncated' : 'icmp.truncated');
    return -1;
  }
  p.layers |= layerBit(v6 ? LAYER_ICMPV6 : LAYER_ICMP);
  const type = b[off]!;
  p.icmpType = type;
  p.icmpCode = b[off + 1]!;
  p.icmpChecksum = u16(b, off + 2);
  if (end - off < ICMP_HEADER_LEN) {
    p.anomaly(v6 ? 'icmpv6.truncated' : 'icmp.truncated');
    return -1;
  }
  const idSeq = v6
    ? type === ICMPV6_ECHO_REQUEST || type === ICMPV6_ECHO_REPLY
    : type < 32 && (ICMP_ID_SEQ_TYPES & (1 << type)) !== 0;
  if (idSeq) {
    p.icmpEchoId = u16(b, off + 4);
    p.icmpEchoSeq = u16(b, off + 6);
  }
  const body = off + ICMP_HEADER_LEN;
  p.payloadOff = body;
  p.payloadLen = end - body;
  // Quoted headers in the body are not decoded as the packet's own.
  return -1;
}

/**
 * ICMP header; the message body becomes the payload.
 * @example
 * IPPROTO[1] = decodeICMP; // dispatch.ts
 */
export function decodeICMP(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  return decodeMessage(p, b, off, end, false);
}

/**
 * ICMPv6 header; the message body becomes the payload.
 * @example
 * IPPROTO[58] = decodeICMPv6; // dispatch.ts
 */
export function decodeICMPv6(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  return decodeMessage(p, b, off, end, true);
}
