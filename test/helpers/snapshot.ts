/**
 * Test helpers for flow engine snapshots: captures held in memory as frames, and records as
 * exactly comparable text.
 */
import { Frame } from '../../src/core/source.ts';
import type { FlowRecord } from '../../src/flow/records.ts';
import { readCapture } from '../../src/sources/capture.ts';

/**
 * Every frame a capture delivers (copied), up to its end or its first error.
 * @example
 * const frames = await loadFrames(corpusPath('ppp__gre.cap'));
 */
export async function loadFrames(file: string): Promise<Frame[]> {
  const frames: Frame[] = [];
  try {
    await readCapture(file, (f) => {
      const c = new Frame();
      c.buf = f.buf.slice(f.off, f.off + f.caplen);
      c.caplen = f.caplen;
      c.wirelen = f.wirelen;
      c.tsSec = f.tsSec;
      c.tsNanos = f.tsNanos;
      c.tsDigits = f.tsDigits;
      c.interfaceId = f.interfaceId;
      c.linkType = f.linkType;
      frames.push(c);
    });
  } catch {
    // Unreadable or cut captures: the frames before the error are the input.
  }
  return frames;
}

/**
 * A record as one line of comparable text: every field, the features by their exact bits.
 * @example
 * assert.deepEqual(a.map(canonFlow).sort(), b.map(canonFlow).sort());
 */
export function canonFlow(r: FlowRecord): string {
  const f = r.features;
  const bits = f === null ? 'null' : Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('hex');
  return JSON.stringify({ ...r, features: bits });
}
