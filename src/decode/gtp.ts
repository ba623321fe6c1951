/**
 * GTP-U, the GPRS Tunnelling Protocol user plane (3GPP TS 29.281), on UDP port 2152.
 *
 *   version:3 PT:1 reserved:1 E:1 S:1 PN:1  message_type:8  length:16  TEID:32
 *   [sequence:16  N-PDU:8  next_extension_type:8]        when any of E, S, PN is set
 *   [extension headers: length:8 (in 4-byte units) ... next_type:8]  while next type != 0
 * Message type 255 (G-PDU) carries a user IP packet, which becomes the innermost packet.
 */
import { LAYER_GTP, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { SPACE_ETHERTYPE, u32 } from './decoder.ts';
import { enterTunnel } from './tunnel.ts';

/** Mandatory GTP-U header length. */
export const GTP_HEADER_LEN = 8;
/** G-PDU: the message carries a user packet. */
export const GTP_MSG_GPDU = 255;
/** Cap on chained extension headers. */
const GTP_MAX_EXTENSIONS = 8;

export function decodeGTP(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < GTP_HEADER_LEN) return -1;
  const flags = b[off]!;
  // Version 1 with PT=1 is GTP-U; anything else on the port is left as payload.
  if (flags >> 5 !== 1 || (flags & 0x10) === 0) return -1;
  const type = b[off + 1]!;
  const teid = u32(b, off + 4);
  let o = off + GTP_HEADER_LEN;
  if ((flags & 0x07) !== 0) {
    if (end - o < 4) return -1;
    let next = b[o + 3]!;
    o += 4;
    for (let n = 0; next !== 0; n++) {
      if (n >= GTP_MAX_EXTENSIONS || o >= end) return -1;
      const len = b[o]! * 4;
      if (len === 0 || o + len > end) return -1;
      next = b[o + len - 1]!;
      o += len;
    }
  }
  p.layers |= layerBit(LAYER_GTP);
  if (type !== GTP_MSG_GPDU || o >= end) return -1;
  const v = b[o]! >> 4;
  if (v !== 4 && v !== 6) return -1;
  enterTunnel(p, 'gtp', teid);
  p.nextSpace = SPACE_ETHERTYPE;
  p.nextKey = v === 4 ? 0x0800 : 0x86dd;
  return o;
}
