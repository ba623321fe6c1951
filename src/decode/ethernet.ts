/**
 * Ethernet II and IEEE 802.1Q / 802.1ad VLAN tags.
 *
 * Ethernet II (IEEE 802.3, https://standards.ieee.org/ieee/802.3/):
 *   dst:48  src:48  ethertype:16            (14 bytes)
 * A type field below 0x0600 is an 802.3 length: an LLC frame follows, decoded as that of
 * EtherType 0x8870 is (`llc.ts`: on to the EtherType its SNAP header names, else payload).
 * VLAN tag (IEEE 802.1Q), which sits where the EtherType was:
 *   pcp:3  dei:1  vid:12  ethertype:16       (4 bytes after the TPID 0x8100 / 0x88a8)
 * Cisco VN-Tag (EtherType 0x8926; IEEE 802.1Qbh draft, the ancestor of 802.1BR), likewise in
 * the EtherType's place:
 *   d:1  p:1  dst_vif:14  l:1  r:1  ver:2  src_vif:12  ethertype:16           (6 bytes)
 *   It names virtual interfaces of a fabric extender, not a VLAN; only the EtherType is used.
 */
import { LAYER_ETHERNET, LAYER_VLAN, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { MAX_VLANS } from '../core/packet.ts';
import { SPACE_ETHERTYPE, u16 } from './decoder.ts';

/** Ethernet II header length. */
export const ETH_HEADER_LEN = 14;
/** VLAN tag length (TCI + inner EtherType). */
export const VLAN_TAG_LEN = 4;
/** VN-Tag length (tag + inner EtherType). */
export const VNTAG_LEN = 6;
/** Smallest value of the type field that is an EtherType rather than an 802.3 length. */
export const ETH_MIN_ETHERTYPE = 0x0600;
/** EtherType of LLC in jumbo frames; also where an 802.3 length field leads (see `llc.ts`). */
export const ETHERTYPE_LLC = 0x8870;

/** The layer after a type field: an EtherType, or LLC after an 802.3 length. */
function nextAfterType(p: PacketContext, type: number): void {
  p.nextSpace = SPACE_ETHERTYPE;
  p.nextKey = type < ETH_MIN_ETHERTYPE ? ETHERTYPE_LLC : type;
}

export function decodeEthernet(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < ETH_HEADER_LEN) {
    p.anomaly('eth.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_ETHERNET);
  p.ethOff = off;
  const type = u16(b, off + 12);
  p.ethType = type;
  nextAfterType(p, type);
  return off + ETH_HEADER_LEN;
}

export function decodeVLAN(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < VLAN_TAG_LEN) {
    p.anomaly('vlan.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_VLAN);
  if (p.vlanCount < MAX_VLANS) p.vlanIds[p.vlanCount++] = u16(b, off) & 0x0fff;
  else p.anomaly('vlan.too_many');
  const type = u16(b, off + 2);
  p.ethType = type;
  nextAfterType(p, type);
  return off + VLAN_TAG_LEN;
}

/**
 * Cisco VN-Tag: skipped over to the EtherType it carries.
 * @example
 * ETHERTYPE[0x8926] = decodeVNTag; // dispatch.ts
 */
export function decodeVNTag(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < VNTAG_LEN) {
    p.anomaly('vntag.truncated');
    return -1;
  }
  const type = u16(b, off + 4);
  p.ethType = type;
  nextAfterType(p, type);
  return off + VNTAG_LEN;
}
