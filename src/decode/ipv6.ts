// Placeholder: implemented in its own change.
import type { PacketContext } from '../core/packet.ts';
export function decodeIPv6(_p: PacketContext, _b: Uint8Array, _off: number, _end: number): number {
  return -1;
}
export function decodeIPv6Tunnel(_p: PacketContext, _b: Uint8Array, _off: number, _end: number): number {
  return -1;
}
