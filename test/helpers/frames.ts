/**
 * Decoder test helper: decode hex bytes as one frame through the dispatcher, from inside a larger
 * buffer (guard bytes before and after), so offsets are exercised and a read past the frame's
 * end would meet the guard bytes instead of a clean end of buffer.
 */
import { PacketContext } from '../../src/core/packet.ts';
import { Frame } from '../../src/core/source.ts';
import type { Decoder } from '../../src/decode/decoder.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';

/** Bytes placed before and after the frame in its buffer. */
export const GUARD = 16;

/**
 * @example
 * const p = decodeHex('ffffffffffff0000...', 1); assert.equal(p.arpOpcode, 1);
 */
export function decodeHex(hex: string, linkType = 1, wirelen?: number, p = new PacketContext()): PacketContext {
  const bytes = Buffer.from(hex, 'hex');
  const buf = new Uint8Array(GUARD + bytes.length + GUARD).fill(0xee);
  buf.set(bytes, GUARD);
  const f = new Frame();
  f.buf = buf;
  f.off = GUARD;
  f.caplen = bytes.length;
  f.wirelen = wirelen ?? bytes.length;
  f.linkType = linkType;
  decodeFrame(p, f);
  return p;
}

/**
 * Call one decoder on `hex` directly, as the dispatcher would (whole buffer, `nextEnd` at its end).
 * @example
 * const { p, next } = runDecoder(decodeARP, '0001080006040001...');
 */
export function runDecoder(dec: Decoder, hex: string, truncated = false): { p: PacketContext; next: number } {
  const b = Buffer.from(hex, 'hex');
  const p = new PacketContext();
  p.reset(b);
  p.truncated = truncated;
  p.nextEnd = b.length;
  return { p, next: dec(p, b, 0, b.length) };
}

/** The anomaly codes recorded on a packet, in order. */
export function anomalyCodes(p: PacketContext): string[] {
  return p.anomalies.slice(0, p.anomalyCount);
}
