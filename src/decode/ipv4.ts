/**
 * IPv4 (RFC 791, https://www.rfc-editor.org/rfc/rfc791).
 *
 *   version:4 ihl:4  tos:8  total_length:16
 *   identification:16  flags:3 fragment_offset:13
 *   ttl:8  protocol:8  header_checksum:16
 *   source:32
 *   destination:32
 *   options: (ihl - 5) * 4 bytes
 *
 * The total length trims link-layer padding from what follows. A total length beyond the
 * captured bytes is `ipv4.truncated` when the snaplen cut the frame, `ipv4.len_invalid` when the
 * whole frame was captured and the header lies.
 */
import { LAYER_IPV4, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { SPACE_IPPROTO, u16, u32 } from './decoder.ts';
import { enterTunnel } from './tunnel.ts';

/** Minimum IPv4 header length. */
export const IPV4_MIN_HEADER_LEN = 20;
/** "More fragments" bit in the 3-bit flags field. */
export const IPV4_FLAG_MF = 0x1;
/** "Don't fragment" bit. */
export const IPV4_FLAG_DF = 0x2;

/** One's-complement sum over the header: 0xffff when the checksum verifies. */
function headerChecksumOk(b: Uint8Array, off: number, len: number): boolean {
  let sum = 0;
  for (let i = off; i < off + len; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

export function decodeIPv4(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  const avail = end - off;
  if (avail < 1) {
    p.anomaly('ipv4.truncated');
    return -1;
  }
  const version = b[off]! >> 4;
  if (version !== 4) {
    p.anomaly('ipv4.version_invalid');
    return -1;
  }
  if (avail < IPV4_MIN_HEADER_LEN) {
    p.anomaly('ipv4.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_IPV4);
  p.ipVersion = 4;
  p.ipOff = off;
  const hlen = (b[off]! & 0x0f) * 4;
  p.ipHeaderLength = hlen;
  p.ipTos = b[off + 1]!;
  const total = u16(b, off + 2);
  p.ipTotalLength = total;
  p.ipId = u16(b, off + 4);
  const ff = u16(b, off + 6);
  p.ipFlags = ff >> 13;
  p.ipFragOffset = ff & 0x1fff;
  p.ipTtl = b[off + 8]!;
  const proto = b[off + 9]!;
  p.protocol = proto;
  p.ipChecksum = u16(b, off + 10);
  p.src4 = u32(b, off + 12);
  p.dst4 = u32(b, off + 16);
  if (hlen < IPV4_MIN_HEADER_LEN) {
    p.anomaly('ipv4.hlen_invalid');
    return -1;
  }
  if (avail < hlen) {
    p.anomaly('ipv4.truncated');
    return -1;
  }
  p.ipOptionsOff = off + IPV4_MIN_HEADER_LEN;
  p.ipOptionsLen = hlen - IPV4_MIN_HEADER_LEN;
  if (headerChecksumOk(b, off, hlen)) p.ipChecksumValid = 1;
  else {
    p.ipChecksumValid = 0;
    // Offloaded checksums are 0 in captures taken on the sending host; not an anomaly.
    if (p.ipChecksum !== 0) p.anomaly('ipv4.checksum_invalid');
  }
  if (total < hlen) {
    // TSO captures show total length 0; treat the captured bytes as the datagram.
    if (total !== 0) {
      p.anomaly('ipv4.len_invalid');
      return -1;
    }
  } else if (total > avail) {
    p.anomaly(p.truncated ? 'ipv4.truncated' : 'ipv4.len_invalid');
  } else {
    p.nextEnd = off + total;
  }
  const next = off + hlen;
  if (p.ipFragOffset !== 0) {
    // A later fragment carries no transport header: its bytes are payload.
    p.isLaterFragment = true;
    p.payloadOff = next;
    p.payloadLen = p.nextEnd - next;
    return -1;
  }
  p.nextSpace = SPACE_IPPROTO;
  p.nextKey = proto;
  return next;
}

/** IPv4 carried in IP (protocol 4): the outer header becomes the tunnel. */
export function decodeIPv4Tunnel(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  enterTunnel(p, 'ipip', -1);
  return decodeIPv4(p, b, off, end);
}
