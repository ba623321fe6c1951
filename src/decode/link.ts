// Placeholder: implemented in its own change.
import type { PacketContext } from '../core/packet.ts';
export function decodeCiscoHDLC(_p: PacketContext, _b: Uint8Array, _off: number, _end: number): number {
  return -1;
}
export function decodeLinuxSLL(_p: PacketContext, _b: Uint8Array, _off: number, _end: number): number {
  return -1;
}
export function decodeLinuxSLL2(_p: PacketContext, _b: Uint8Array, _off: number, _end: number): number {
  return -1;
}
export function decodeMPLS(_p: PacketContext, _b: Uint8Array, _off: number, _end: number): number {
  return -1;
}
export function decodeNull(_p: PacketContext, _b: Uint8Array, _off: number, _end: number): number {
  return -1;
}
export function decodePPPoE(_p: PacketContext, _b: Uint8Array, _off: number, _end: number): number {
  return -1;
}
export function decodePPPSerial(_p: PacketContext, _b: Uint8Array, _off: number, _end: number): number {
  return -1;
}
export function decodeRawIP(_p: PacketContext, _b: Uint8Array, _off: number, _end: number): number {
  return -1;
}
