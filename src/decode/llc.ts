/**
 * IEEE 802.2 LLC with a SNAP header (RFC 1042), which follows an 802.3 length field, an 802.11
 * header, or EtherType 0x8870 (LLC in jumbo frames):
 *   dsap:8 (0xaa)  ssap:8 (0xaa)  control:8 (0x03)  oui:24  ethertype:16          (8 bytes)
 * Only OUI 00-00-00 (RFC 1042) and 00-00-F8 (802.1H bridge tunnel) carry an EtherType. Other
 * LLC frames (spanning tree, Cisco's CDP under its own OUI, NetBIOS) are well-formed frames
 * whose body is not an EtherType packet: kept as payload, without an anomaly.
 */
import type { PacketContext } from '../core/packet.ts';
import { SPACE_ETHERTYPE, u16 } from './decoder.ts';

/** LLC/SNAP header length. */
export const SNAP_HEADER_LEN = 8;

/** The EtherType an LLC/SNAP header at `off` names, or -1 when there is none (other LLC, too short). */
function snapEtherType(b: Uint8Array, off: number, end: number): number {
  if (end - off < SNAP_HEADER_LEN) return -1;
  if (b[off] !== 0xaa || b[off + 1] !== 0xaa || b[off + 2] !== 0x03) return -1;
  if (b[off + 3] !== 0 || b[off + 4] !== 0 || (b[off + 5] !== 0 && b[off + 5] !== 0xf8)) return -1;
  return u16(b, off + 6);
}

/**
 * LLC at `off`: leads on to the EtherType its SNAP header names (which becomes `eth_type`), or
 * leaves the rest as payload. Also the decoder of EtherType 0x8870.
 * @example
 * return decodeLLC(p, b, off + ETH_HEADER_LEN, end); // after an 802.3 length
 */
export function decodeLLC(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  const type = snapEtherType(b, off, end);
  if (type < 0) return off;
  p.ethType = type;
  p.nextSpace = SPACE_ETHERTYPE;
  p.nextKey = type;
  return off + SNAP_HEADER_LEN;
}
