/**
 * Helpers for the distributed-pipeline tests: read a capture into owned frames, run one flow
 * engine over it (the single-process reference), and canonical text of flow records to compare.
 */
import { PacketContext } from '../../src/core/packet.ts';
import { Frame } from '../../src/core/source.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';
import { FlowEngine, type FlowEngineOptions } from '../../src/flow/flow-engine.ts';
import type { FlowRecord } from '../../src/flow/records.ts';
import { readCapture } from '../../src/sources/capture.ts';
import { loadFrame, type RawFrame } from '../../src/sources/raw-frame.ts';

/** Every frame of a capture, with its own bytes. A damaged tail ends the list quietly. */
export async function readRawFrames(path: string): Promise<RawFrame[]> {
  const out: RawFrame[] = [];
  try {
    await readCapture(path, (f) => {
      out.push({
        tsSec: f.tsSec,
        tsNanos: f.tsNanos,
        wirelen: f.wirelen,
        linkType: f.linkType,
        data: f.buf.slice(f.off, f.off + f.caplen),
      });
    });
  } catch {
    // Truncated input: the frames before the damage are what a sensor would send too.
  }
  return out;
}

/** A flow record as comparable text: every field but the per-engine sequence number. */
export function flowText(r: FlowRecord): string {
  const { flow_id: _id, features, ...rest } = r;
  return JSON.stringify({ ...rest, features: features === null ? null : Array.from(features, (x) => String(x)) });
}

/** Final (not partial) records of one engine over the frames, as sorted text. */
export function referenceFlows(frames: readonly RawFrame[], options: Omit<FlowEngineOptions, 'onFlow'>): string[] {
  const out: string[] = [];
  const engine = new FlowEngine({
    ...options,
    onFlow: (r) => {
      if (!r.partial) out.push(flowText(r));
    },
  });
  const p = new PacketContext();
  const fr = new Frame();
  for (const f of frames) {
    loadFrame(fr, f);
    decodeFrame(p, fr);
    engine.packet(p);
  }
  engine.flushAll('end');
  return out.sort();
}
