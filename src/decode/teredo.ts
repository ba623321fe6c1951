/**
 * Teredo, IPv6 over UDP through NATs (RFC 4380), on UDP port 3544.
 *
 * The UDP payload is an IPv6 packet, optionally preceded by
 *   authentication indicator: 0x0001  id_len:8  auth_len:8  client_id  auth_value  nonce:64  confirmation:8
 *   origin indication:        0x0000  port:16 (obfuscated)  address:32 (obfuscated)
 * A payload that is neither (no IPv6 version nibble after the indicators) stays payload.
 */
import { LAYER_TEREDO, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { SPACE_ETHERTYPE } from './decoder.ts';
import { enterTunnel } from './tunnel.ts';

/** IPv6 header length: the least a Teredo payload must hold. */
const IPV6_HEADER_LEN = 40;

export function decodeTeredo(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  let o = off;
  if (end - o >= 2 && b[o] === 0 && b[o + 1] === 1) {
    if (end - o < 4) return -1;
    o += 4 + b[o + 2]! + b[o + 3]! + 9;
  }
  if (end - o >= 2 && b[o] === 0 && b[o + 1] === 0) o += 8;
  if (end - o < IPV6_HEADER_LEN || b[o]! >> 4 !== 6) return -1;
  p.layers |= layerBit(LAYER_TEREDO);
  enterTunnel(p, 'teredo', -1);
  p.nextSpace = SPACE_ETHERTYPE;
  p.nextKey = 0x86dd;
  return o;
}
