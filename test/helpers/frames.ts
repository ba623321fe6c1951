/**
 * Decoder test helper: decode hex bytes as one frame through the dispatcher, from inside a larger
 * buffer (guard bytes before and after), so offsets are exercised and a read past the frame's
 * end would meet the guard bytes instead of a clean end of buffer.
 */
import { PacketContext } from '../../src/core/packet.ts';
import { Frame } from '../../src/core/source.ts';
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
