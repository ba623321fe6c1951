/**
 * `pcapstream decode <file|->`: one record per packet, JSON Lines or CSV.
 */
import { PipelineError } from '../../core/errors.ts';
import { JsonWriter } from '../../core/json-writer.ts';
import { PacketContext } from '../../core/packet.ts';
import type { Frame } from '../../core/source.ts';
import { decodeFrame } from '../../decode/dispatch.ts';
import { buildFields } from '../../decode/fields.ts';
import { csvFormatter, csvHeader, jsonlWriter, selectFields } from '../../sinks/record-format.ts';
import { LineWriter } from '../../sinks/stdout/line-writer.ts';
import { readCapture } from '../../sources/capture.ts';
import { Progress } from '../progress.ts';
import { reportTruncation } from '../report.ts';

/** Output bytes handed to the writer at a time (the JSON writer's buffers are 4 MiB). */
const JSON_FLUSH_BYTES = 3 * 1024 * 1024;

export interface DecodeOptions {
  format: 'jsonl' | 'csv';
  fields?: string[];
  limit?: number;
  payloadBytes: number;
}

export async function decodeCommand(path: string, opts: DecodeOptions): Promise<number> {
  if (opts.format !== 'jsonl' && opts.format !== 'csv') {
    throw new PipelineError('PCS_USAGE', `unknown format '${opts.format}'; use jsonl or csv`);
  }
  const fields = selectFields(buildFields({ payloadBytes: opts.payloadBytes }), opts.fields);
  const out = new LineWriter();
  // JSON goes out as bytes from the JSON writer; CSV as strings.
  const json = new JsonWriter();
  const writeJson = jsonlWriter(fields);
  const csv = opts.format === 'csv' ? csvFormatter(fields) : null;
  const recycle = (b: Uint8Array): void => json.recycle(b as Buffer);
  if (csv !== null) out.line(csvHeader(fields));
  const p = new PacketContext();
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  let n = 0;
  const progress = new Progress();
  const onFrame = (f: Frame): void => {
    if (n >= limit) return;
    n++;
    p.frameNumber = n;
    decodeFrame(p, f);
    if (csv === null) {
      writeJson(p, json);
      // Hand off full buffers as they fill: a 4 MiB input chunk makes ~9 MiB of JSON, and
      // letting the buffer grow instead cost a fresh allocation and copy per chunk.
      if (json.pos > JSON_FLUSH_BYTES) out.bytes(json.take(), recycle);
    } else out.line(csv(p));
  };
  const result = await readCapture(path, onFrame, {
    afterChunk: async (input) => {
      progress.update(input.bytesRead(), input.size, n);
      out.bytes(json.take(), recycle);
      await out.flush();
    },
    shouldStop: () => n >= limit || out.closed,
  });
  progress.done();
  out.bytes(json.take(), recycle);
  await out.end();
  return reportTruncation(result);
}
