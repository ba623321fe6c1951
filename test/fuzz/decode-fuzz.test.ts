/**
 * Property tests for the decoders: arbitrary bytes and seeded mutations of real corpus packets
 * never make a decoder throw or read outside its frame. A read outside the frame throws inside
 * the guarded buffer, which the dispatcher turns into `decode.internal_error`, so the property
 * is "no packet ever carries decode.internal_error".
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PacketContext } from '../../src/core/packet.ts';
import { Frame } from '../../src/core/source.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';
import { buildFields } from '../../src/decode/fields.ts';
import { jsonlFormatter } from '../../src/sinks/record-format.ts';
import { createParser } from '../../src/sources/capture.ts';
import { CORPUS_DIR, readManifest } from '../conformance/oracle.ts';
import { rng } from '../helpers/random.ts';
import { guardedFrame } from './guarded-buffer.ts';

/** Link types pcapstream decodes, plus unknown ones. */
const LINK_TYPES = [0, 1, 9, 12, 14, 50, 51, 101, 104, 105, 108, 113, 127, 228, 229, 239, 276, 147, 999];

const p = new PacketContext();
const frame = new Frame();
const format = jsonlFormatter(buildFields());

function decodeGuarded(bytes: Uint8Array, linkType: number, wirelen = bytes.length): void {
  const g = guardedFrame(bytes);
  frame.buf = g.buf;
  frame.off = g.off;
  frame.caplen = bytes.length;
  frame.wirelen = wirelen;
  frame.linkType = linkType;
  decodeFrame(p, frame);
  const internal = p.anomalies.slice(0, p.anomalyCount).filter((a) => a.startsWith('decode.internal'));
  assert.deepEqual(internal, [], `link ${linkType} bytes ${Buffer.from(bytes).toString('hex')}`);
  // The record writer must cope with whatever the decoders left.
  JSON.parse(format(p));
}

/** Every frame of every readable corpus file, with its link type. */
function corpusFrames(): { bytes: Uint8Array; linkType: number; wirelen: number }[] {
  const out: { bytes: Uint8Array; linkType: number; wirelen: number }[] = [];
  for (const m of readManifest()) {
    const data = fs.readFileSync(path.join(CORPUS_DIR, m.file));
    if (data.length < 4) continue;
    try {
      const parser = createParser(data, (f) => {
        if (out.length < 40_000) {
          out.push({ bytes: f.buf.slice(f.off, f.off + f.caplen), linkType: f.linkType, wirelen: f.wirelen });
        }
      });
      parser.push(data);
    } catch {
      // unsupported or damaged container: nothing to mutate
    }
  }
  return out;
}

describe('decoder properties', () => {
  it('random bytes of every length never throw or read outside the frame, for every link type', () => {
    const r = rng(1);
    for (let i = 0; i < 20_000; i++) {
      const len = Math.floor(r() * 120);
      const b = new Uint8Array(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(r() * 256);
      decodeGuarded(b, LINK_TYPES[i % LINK_TYPES.length]!);
    }
  });

  const frames = corpusFrames();

  it('reads the corpus for mutation', () => {
    assert.ok(frames.length > 10_000, `only ${frames.length} corpus frames`);
  });

  it('every real corpus packet decodes inside its frame', () => {
    for (const f of frames) decodeGuarded(f.bytes, f.linkType, f.wirelen);
  });

  it('seeded byte flips, truncations and length-field smashes of real packets never throw', () => {
    const r = rng(7);
    for (let i = 0; i < 60_000; i++) {
      const src = frames[Math.floor(r() * frames.length)]!;
      let b = src.bytes.slice();
      const mode = i % 3;
      if (mode === 0) {
        const flips = 1 + Math.floor(r() * 4);
        for (let k = 0; k < flips && b.length > 0; k++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      } else if (mode === 1) {
        b = b.slice(0, Math.floor(r() * (b.length + 1)));
      } else if (b.length > 1) {
        // Smash a 16-bit word into 0x0000 or 0xffff, where length fields live.
        const at = Math.floor(r() * (b.length - 1));
        const v = r() < 0.5 ? 0 : 0xff;
        b[at] = v;
        b[at + 1] = v;
      }
      decodeGuarded(b, src.linkType);
    }
  });
});
