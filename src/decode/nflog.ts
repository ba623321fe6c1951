/**
 * Linux NFLOG link type (LINKTYPE_NFLOG 239): packets logged by netfilter.
 *
 *   family:8  version:8  resource_id:16 (network order)
 *   TLVs: length:16  type:16 (host order, little-endian on the common platforms)  value,
 *         each padded to a multiple of 4 bytes; type 9 (NFULA_PAYLOAD) holds the packet.
 * The family says what the payload is: AF_INET (2) IPv4, AF_INET6 (10) IPv6.
 */
import { LAYER_NFLOG, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { SPACE_ETHERTYPE } from './decoder.ts';

/** NFLOG header length before the TLVs. */
const NFLOG_HEADER_LEN = 4;
/** TLV type of the logged packet. */
const NFULA_PAYLOAD = 9;
const AF_INET = 2;
const AF_INET6 = 10;

export function decodeNFLOG(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < NFLOG_HEADER_LEN) {
    p.anomaly('nflog.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_NFLOG);
  const family = b[off]!;
  let o = off + NFLOG_HEADER_LEN;
  while (end - o >= 4) {
    const len = b[o]! | (b[o + 1]! << 8);
    const type = (b[o + 2]! | (b[o + 3]! << 8)) & 0x7fff;
    if (len < 4 || o + len > end) {
      p.anomaly('nflog.truncated');
      return -1;
    }
    if (type === NFULA_PAYLOAD) {
      if (family !== AF_INET && family !== AF_INET6) return o + 4;
      p.nextSpace = SPACE_ETHERTYPE;
      p.nextKey = family === AF_INET ? 0x0800 : 0x86dd;
      p.nextEnd = o + len;
      return o + 4;
    }
    o += (len + 3) & ~3;
  }
  return -1;
}
