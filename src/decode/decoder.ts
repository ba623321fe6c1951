/**
 * Decoder contract.
 *
 * A decoder is a plain function `(p, b, off, end) => next` that reads one layer starting at
 * `b[off]`, never touching bytes at or beyond `end` (the end of what this layer may use: the
 * captured frame, or less once an IP length field has trimmed padding). It:
 *   - writes its fields into the packet context `p` in place and sets its presence bit;
 *   - names what comes next as a key in a key space (`p.nextSpace`, `p.nextKey`, and for ports
 *     `p.nextKey2`), and may lower `p.nextEnd` (the dispatcher sets it to `end` first);
 *   - returns the offset where the next layer starts, or -1 to stop decoding.
 * It never imports another decoder: `decode/dispatch.ts` maps keys to decoders.
 *
 * Malformed input is data: on a short or contradictory header the decoder calls
 * `p.anomaly('<layer>.<problem>')`, keeps what it could read, and returns -1. It must not throw;
 * the dispatcher still guards every call and turns a throw into `decode.internal_error`.
 *
 * Fields are valid until the next `reset()` of the context (the next frame).
 */
import type { PacketContext } from '../core/packet.ts';

export type Decoder = (p: PacketContext, b: Uint8Array, off: number, end: number) => number;

/** Key spaces: which dispatch table `p.nextKey` is looked up in. */
export const SPACE_NONE = 0;
/** EtherType (also used by GRE, VLAN, SLL, PPPoE-less paths). */
export const SPACE_ETHERTYPE = 1;
/** IP protocol number (IPv4 protocol, IPv6 next header). */
export const SPACE_IPPROTO = 2;
/** UDP port: `nextKey` is the destination port, `nextKey2` the source port. */
export const SPACE_UDP_PORT = 3;
/** TCP port: as for UDP. */
export const SPACE_TCP_PORT = 4;
/** PPP protocol field. */
export const SPACE_PPP = 5;
/** A layer id from `core/layers.ts`, for decoders that know their successor by structure. */
export const SPACE_LAYER = 6;
export const SPACE_COUNT = 7;

/** Read a big-endian 16-bit value. Callers check bounds first. */
export function u16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Read a big-endian 32-bit value as an unsigned number. Callers check bounds first. */
export function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
