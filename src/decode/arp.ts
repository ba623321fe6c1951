/**
 * ARP (RFC 826, https://www.rfc-editor.org/rfc/rfc826).
 *
 *   hardware_type:16  protocol_type:16  hw_len:8  proto_len:8  opcode:16           (8 bytes)
 *   sender_hw:hw_len  sender_proto:proto_len  target_hw:hw_len  target_proto:proto_len
 *
 * The addresses stay in the frame: the context gets their offsets, -1 for each one that is not
 * there. When the snaplen cut the frame (`arp.truncated`) the addresses that fit are kept. When
 * the whole frame is present and the addresses still run past it, the lengths are wrong and no
 * address is kept (`arp.len_invalid`). A zero address length is `arp.len_invalid` too; the
 * addresses of the other kind are kept.
 * ARP has no length field, so Ethernet padding after the target address is simply ignored.
 * RARP (RFC 903) and other hardware types share the layout and decode the same way.
 */
import { LAYER_ARP, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { u16 } from './decoder.ts';

/** Fixed part of an ARP packet, before the addresses. */
export const ARP_HEADER_LEN = 8;
/** Hardware type of Ethernet (and of every IEEE 802 MAC). */
export const ARP_HW_ETHERNET = 1;
/** Operation: who has this protocol address? */
export const ARP_OP_REQUEST = 1;
/** Operation: this protocol address is at this hardware address. */
export const ARP_OP_REPLY = 2;

/**
 * ARP packet: fixed fields and the offsets of the four addresses in `p.buf` (-1 when absent).
 * @example
 * ETHERTYPE[0x0806] = decodeARP; // dispatch.ts
 * formatMAC(p.buf, p.arpSenderHwOff); // when p.arpHwLen === 6
 */
export function decodeARP(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  p.arpSenderHwOff = -1;
  p.arpSenderIpOff = -1;
  p.arpTargetHwOff = -1;
  p.arpTargetIpOff = -1;
  if (end - off < ARP_HEADER_LEN) {
    p.anomaly('arp.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_ARP);
  p.arpHwType = u16(b, off);
  p.arpProtoType = u16(b, off + 2);
  const hlen = b[off + 4]!;
  const plen = b[off + 5]!;
  p.arpHwLen = hlen;
  p.arpProtoLen = plen;
  p.arpOpcode = u16(b, off + 6);
  const sha = off + ARP_HEADER_LEN;
  const spa = sha + hlen;
  const tha = spa + plen;
  const tpa = tha + hlen;
  const stop = tpa + plen;
  if (stop > end && !p.truncated) {
    // The whole frame is here and the lengths still overrun it: they contradict the frame, so
    // the offsets built on them point at arbitrary bytes. Keep none (as Wireshark does).
    p.anomaly('arp.len_invalid');
    return -1;
  }
  // Each address is kept when all of it lies in the frame; an empty one is no address.
  if (hlen !== 0) {
    if (spa <= end) p.arpSenderHwOff = sha;
    if (tpa <= end) p.arpTargetHwOff = tha;
  }
  if (plen !== 0) {
    if (tha <= end) p.arpSenderIpOff = spa;
    if (stop <= end) p.arpTargetIpOff = tpa;
  }
  if (hlen === 0 || plen === 0) p.anomaly('arp.len_invalid');
  else if (stop > end) p.anomaly('arp.truncated');
  // ARP carries nothing further.
  return -1;
}
