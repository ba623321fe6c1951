/**
 * L2TP version 2 (RFC 2661, https://www.rfc-editor.org/rfc/rfc2661), on UDP port 1701.
 *
 *   T:1 L:1 x:2 S:1 x:1 O:1 P:1 x:4 version:4          (version 2)
 *   [length:16]                                         when L
 *   tunnel_id:16  session_id:16
 *   [Ns:16  Nr:16]                                      when S
 *   [offset_size:16  offset_pad:offset_size bytes]      when O
 * A data message (T = 0) carries a PPP frame, whose IPv4 or IPv6 packet becomes the innermost
 * packet. Control messages (T = 1) and PPP control protocols (LCP, IPCP, ...) carry no user
 * packet: they stay payload of the outer UDP datagram, as GTP-U signalling does. Other versions
 * on the port (L2TPv3 over UDP, RFC 3931, needs per-session cookie lengths) stay payload too.
 */

import { LAYER_L2TP, LAYER_PPP, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { SPACE_LAYER, u16 } from './decoder.ts';
import { enterTunnel } from './tunnel.ts';

/** The only version decoded. */
export const L2TP_VERSION = 2;
/** T bit: control message. */
export const L2TP_FLAG_T = 0x8000;
/** L bit: the length field is present. */
export const L2TP_FLAG_L = 0x4000;
/** S bit: the Ns and Nr fields are present. */
export const L2TP_FLAG_S = 0x0800;
/** O bit: the offset size field is present. */
export const L2TP_FLAG_O = 0x0200;
/** Flags word, tunnel id and session id: the least a header holds. */
export const L2TP_MIN_HEADER_LEN = 6;
/** PPP protocol numbers of IPv4 and IPv6 (RFC 1332, RFC 5072). */
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;

/**
 * Decode an L2TPv2 header; enter the tunnel when a PPP frame with an IP packet follows.
 * The tunnel id is `tunnel_id * 65536 + session_id`.
 * @example
 * UDP_PORT[1701] = decodeL2TP; // dispatch.ts
 */
export function decodeL2TP(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < 2) return -1;
  const flags = u16(b, off);
  if ((flags & 0x0f) !== L2TP_VERSION) return -1;
  let hlen = L2TP_MIN_HEADER_LEN;
  if ((flags & L2TP_FLAG_L) !== 0) hlen += 2;
  if ((flags & L2TP_FLAG_S) !== 0) hlen += 4;
  if ((flags & L2TP_FLAG_O) !== 0) hlen += 2;
  if (end - off < hlen) {
    p.anomaly('l2tp.truncated');
    return -1;
  }
  let o = off + 2;
  let stop = end;
  if ((flags & L2TP_FLAG_L) !== 0) {
    const len = u16(b, o);
    o += 2;
    if (len < hlen) {
      p.anomaly('l2tp.len_invalid');
      return -1;
    }
    if (off + len <= end) stop = off + len;
    else if (!p.truncated) p.anomaly('l2tp.len_invalid');
  }
  const id = u16(b, o) * 65536 + u16(b, o + 2);
  o += 4;
  if ((flags & L2TP_FLAG_S) !== 0) o += 4;
  if ((flags & L2TP_FLAG_O) !== 0) {
    const pad = u16(b, o);
    o += 2 + pad;
    if (o > stop) {
      p.anomaly(p.truncated ? 'l2tp.truncated' : 'l2tp.len_invalid');
      return -1;
    }
  }
  if ((flags & L2TP_FLAG_T) !== 0) return -1;
  // Peek at the PPP protocol (after the optional ff 03, possibly compressed to one byte).
  let q = o;
  if (stop - q >= 2 && b[q] === 0xff && b[q + 1] === 0x03) q += 2;
  if (q >= stop) return -1;
  let protocol = b[q]!;
  if ((protocol & 1) === 0) {
    if (stop - q < 2) return -1;
    protocol = u16(b, q);
  }
  if (protocol !== PPP_IPV4 && protocol !== PPP_IPV6) return -1;
  enterTunnel(p, 'l2tp', id);
  p.layers |= layerBit(LAYER_L2TP);
  p.nextEnd = stop;
  p.nextSpace = SPACE_LAYER;
  p.nextKey = LAYER_PPP;
  return o;
}
