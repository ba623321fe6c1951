/**
 * IPv6 (RFC 8200, https://www.rfc-editor.org/rfc/rfc8200).
 *
 *   version:4  traffic_class:8  flow_label:20
 *   payload_length:16  next_header:8  hop_limit:8
 *   source:128
 *   destination:128                                              (40 bytes)
 *
 * Extension headers follow, each naming the next in its first byte:
 *   hop-by-hop (0), routing (43), destination options (60), mobility (135, RFC 6275):
 *     next_header:8  hdr_ext_len:8  data          length (hdr_ext_len + 1) * 8
 *   fragment (44):
 *     next_header:8  reserved:8  offset:13 res:2 M:1  identification:32     (8 bytes)
 *   authentication header (51, RFC 4302, https://www.rfc-editor.org/rfc/rfc4302):
 *     next_header:8  payload_len:8  data          length (payload_len + 2) * 4
 * Anything else (ESP, TCP, UDP, ICMPv6, no next header) ends the chain.
 *
 * The payload length trims link-layer padding. One beyond the captured bytes is
 * `ipv6.truncated` when the snaplen cut the frame and `ipv6.len_invalid` when the whole frame was
 * captured and the header lies; a payload length of 0 (jumbogram, RFC 2675, or a capture taken
 * before segmentation offload) leaves the captured bytes as the datagram. A Jumbo Payload
 * option that contradicts RFC 2675 is `ipv6.jumbo_invalid`.
 */
import { LAYER_IPV6, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { MAX_IPV6_EXT } from '../core/packet.ts';

/** Extension headers followed before the chain counts as hostile. */
export const IPV6_MAX_EXT_WALK = 256;

import { SPACE_IPPROTO, u16, u32 } from './decoder.ts';
import { readIPv6Words } from './format.ts';
import { enterTunnel } from './tunnel.ts';

/** Fixed IPv6 header length. */
export const IPV6_HEADER_LEN = 40;
/** Hop-by-hop options header. */
export const IPPROTO_HOPOPTS = 0;
/** Routing header. */
export const IPPROTO_ROUTING = 43;
/** Fragment header. */
export const IPPROTO_FRAGMENT = 44;
/** Authentication header (its length counts 4-byte words, not 8-byte units). */
export const IPPROTO_AH = 51;
/** No next header: nothing follows the chain. */
export const IPPROTO_NONE = 59;
/** Destination options header. */
export const IPPROTO_DSTOPTS = 60;
/** Mobility header (RFC 6275). */
export const IPPROTO_MOBILITY = 135;
/** Fragment header length. */
export const IPV6_FRAG_HEADER_LEN = 8;

/**
 * Decode an IPv6 header and walk its extension headers.
 * @example
 * const next = decodeIPv6(p, frame, 14, frame.length); // p.src6, p.protocol, p.ipv6ExtHeaders
 */
export function decodeIPv6(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  const avail = end - off;
  if (avail < 1) {
    p.anomaly('ipv6.truncated');
    return -1;
  }
  if (b[off]! >> 4 !== 6) {
    p.anomaly('ipv6.version_invalid');
    return -1;
  }
  if (avail < IPV6_HEADER_LEN) {
    p.anomaly('ipv6.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_IPV6);
  p.ipVersion = 6;
  p.ipOff = off;
  const w0 = u32(b, off);
  p.ipTos = (w0 >>> 20) & 0xff;
  p.ipv6FlowLabel = w0 & 0xfffff;
  const plen = u16(b, off + 4);
  p.ipv6PayloadLength = plen;
  let nh = b[off + 6]!;
  p.ipTtl = b[off + 7]!;
  readIPv6Words(b, off + 8, p.src6);
  readIPv6Words(b, off + 24, p.dst6);
  // IPv4 fields shared with IPv6 only through a fragment header; clear stale values.
  p.ipFlags = 0;
  p.ipFragOffset = 0;

  let o = off + IPV6_HEADER_LEN;
  let limit = end;
  // True when the payload length, not the capture, bounds the datagram: an extension header
  // running past it contradicts the header rather than the snaplen.
  let bounded = false;
  if (plen === 0) {
    // Jumbogram or offloaded segment: the captured bytes are the datagram.
  } else if (plen <= end - o) {
    limit = o + plen;
    bounded = true;
    p.nextEnd = limit;
  } else {
    p.anomaly(p.truncated ? 'ipv6.truncated' : 'ipv6.len_invalid');
  }
  const overrun = bounded || !p.truncated ? 'ipv6.len_invalid' : 'ipv6.truncated';

  let walked = 0;
  while (true) {
    p.protocol = nh;
    let len: number;
    if (nh === IPPROTO_HOPOPTS || nh === IPPROTO_ROUTING || nh === IPPROTO_DSTOPTS || nh === IPPROTO_MOBILITY) {
      if (limit - o < 2) {
        p.anomaly(overrun);
        return -1;
      }
      len = (b[o + 1]! + 1) * 8;
    } else if (nh === IPPROTO_FRAGMENT) {
      len = IPV6_FRAG_HEADER_LEN;
    } else if (nh === IPPROTO_AH) {
      if (limit - o < 2) {
        p.anomaly(overrun);
        return -1;
      }
      len = (b[o + 1]! + 2) * 4;
    } else {
      break;
    }
    // Walk long chains (tshark does) but keep only the first MAX_IPV6_EXT ids; stop only at a
    // chain long enough to be an attack on the decoder.
    if (++walked > IPV6_MAX_EXT_WALK) {
      p.anomaly('ipv6.ext_too_many');
      return -1;
    }
    if (limit - o < len) {
      p.anomaly(overrun);
      return -1;
    }
    if (p.ipv6ExtCount < MAX_IPV6_EXT) p.ipv6ExtHeaders[p.ipv6ExtCount++] = nh;
    if (walked === 1 && nh === IPPROTO_HOPOPTS) checkJumbo(p, b, o + 2, o + len, plen);
    if (nh === IPPROTO_FRAGMENT) {
      const fo = u16(b, o + 2);
      p.ipv6FragId = u32(b, o + 4);
      p.ipFragOffset = fo >> 3;
      p.ipFlags = fo & 1;
      if (p.ipFragOffset !== 0) {
        // A later fragment carries no upper-layer header: its bytes are payload.
        p.protocol = b[o]!;
        p.isLaterFragment = true;
        p.ipHeaderLength = o + len - off;
        p.payloadOff = o + len;
        p.payloadLen = limit - (o + len);
        return -1;
      }
    }
    nh = b[o]!;
    o += len;
  }
  // Fixed header plus the extension headers walked: where the upper layer starts.
  p.ipHeaderLength = o - off;
  if (nh === IPPROTO_NONE) return -1;
  p.nextSpace = SPACE_IPPROTO;
  p.nextKey = nh;
  return o;
}

/** Jumbo Payload option type (RFC 2675), in a hop-by-hop header. */
const OPT_JUMBO = 0xc2;

/**
 * RFC 2675 section 3: a Jumbo Payload option needs a payload length of 0 and a jumbo length
 * above 65,535; anything else is `ipv6.jumbo_invalid`. (A payload length of 0 without the
 * option is a capture taken before segmentation offload, not an error.)
 */
function checkJumbo(p: PacketContext, b: Uint8Array, o: number, stop: number, plen: number): void {
  while (o < stop) {
    const type = b[o]!;
    if (type === 0) {
      o++; // Pad1
      continue;
    }
    if (stop - o < 2) return;
    const n = b[o + 1]!;
    if (type === OPT_JUMBO) {
      if (plen !== 0 || n !== 4 || stop - o < 6 || u32(b, o + 2) <= 0xffff) p.anomaly('ipv6.jumbo_invalid');
      return;
    }
    o += 2 + n;
  }
}

/**
 * IPv6 carried in IP (protocol 41): the outer header becomes the tunnel, `6in4` under IPv4 and
 * `6in6` under IPv6 (for example behind an SRv6 routing header).
 * @example
 * IPPROTO[41] = decodeIPv6Tunnel;
 */
export function decodeIPv6Tunnel(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  enterTunnel(p, p.ipVersion === 6 ? '6in6' : '6in4', -1);
  return decodeIPv6(p, b, off, end);
}
