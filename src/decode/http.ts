// Placeholder: implemented in its own change.
import type { PacketContext } from '../core/packet.ts';
export function decodeHTTP(_p: PacketContext, _b: Uint8Array, _off: number, _end: number): number {
  return -1;
}
