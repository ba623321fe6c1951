/**
 * Tunnels carried in UDP.
 *
 * VXLAN (RFC 7348, https://www.rfc-editor.org/rfc/rfc7348), UDP port 4789:
 *   flags:8 (I = 0x08: VNI valid)  reserved:24  vni:24  reserved:8             (8 bytes)
 *   then an Ethernet frame. The group-policy extension reuses the first reserved bits; ignored.
 *
 * Geneve (RFC 8926, https://www.rfc-editor.org/rfc/rfc8926), UDP port 6081:
 *   version:2  opt_len:6 (4-byte words)  O:1  C:1  reserved:6  protocol_type:16
 *   vni:24  reserved:8                                                         (8 bytes)
 *   options: opt_len * 4 bytes
 *   then the packet named by the protocol type (an EtherType; 0x6558 is an Ethernet frame).
 */
import { LAYER_ETHERNET, LAYER_GENEVE, LAYER_VXLAN, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { SPACE_ETHERTYPE, SPACE_LAYER, u16, u32 } from './decoder.ts';
import { enterTunnel } from './tunnel.ts';

/** VXLAN header length. */
export const VXLAN_HEADER_LEN = 8;
/** VXLAN I flag: the VNI field is valid. */
export const VXLAN_FLAG_I = 0x08;
/** Geneve fixed header length (before options). */
export const GENEVE_HEADER_LEN = 8;
/** The only Geneve version defined; RFC 8926 says to drop others. */
export const GENEVE_VERSION = 0;

/**
 * Decode a VXLAN header and enter the tunnel; an Ethernet frame follows.
 * @example
 * UDP_PORT[4789] = decodeVXLAN;
 */
export function decodeVXLAN(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < VXLAN_HEADER_LEN) {
    p.anomaly('vxlan.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_VXLAN);
  const vni = (b[off]! & VXLAN_FLAG_I) !== 0 ? u32(b, off + 4) >>> 8 : -1;
  enterTunnel(p, 'vxlan', vni);
  p.nextSpace = SPACE_LAYER;
  p.nextKey = LAYER_ETHERNET;
  return off + VXLAN_HEADER_LEN;
}

/**
 * Decode a Geneve header, skip its options and enter the tunnel.
 * @example
 * UDP_PORT[6081] = decodeGeneve;
 */
export function decodeGeneve(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < GENEVE_HEADER_LEN) {
    p.anomaly('geneve.truncated');
    return -1;
  }
  if (b[off]! >> 6 !== GENEVE_VERSION) {
    p.anomaly('geneve.version_invalid');
    return -1;
  }
  const hlen = GENEVE_HEADER_LEN + (b[off]! & 0x3f) * 4;
  if (end - off < hlen) {
    p.anomaly('geneve.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_GENEVE);
  const proto = u16(b, off + 2);
  enterTunnel(p, 'geneve', u32(b, off + 4) >>> 8);
  p.nextSpace = SPACE_ETHERTYPE;
  p.nextKey = proto;
  return off + hlen;
}
