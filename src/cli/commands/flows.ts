/**
 * `pcapstream flows <file|->`: bidirectional flows with CICFlowMeter features, as JSON lines,
 * CSV or the CICIDS2017 CSV layout.
 */
import { PipelineError } from '../../core/errors.ts';
import { JsonWriter } from '../../core/json-writer.ts';
import { PacketContext } from '../../core/packet.ts';
import { FlowEngine } from '../../flow/flow-engine.ts';
import { P_BWD_PACKETS, P_FWD_PACKETS } from '../../flow/packed-flow.ts';
import type { FlowRecord } from '../../flow/records.ts';
import { type FlowFormat, flowBytesWriter, flowFormatter } from '../../sinks/flow-format.ts';
import { LineWriter } from '../../sinks/stdout/line-writer.ts';
import { FlowTextThread } from '../../sinks/worker/flow-text-thread.ts';
import { readDecoded, usesTwoStages } from '../../transports/worker/decode-pipeline.ts';
import { type FlowCliOptions, flowSettings, threadsOption } from '../flow-options.ts';
import { Progress } from '../progress.ts';
import { reportTruncation } from '../report.ts';

export interface FlowsOptions extends FlowCliOptions {
  format: string;
  label: string;
  /** Print the flow counts on stderr at the end. */
  summary: boolean;
}

export async function flowsCommand(path: string, opts: FlowsOptions): Promise<number> {
  if (opts.format !== 'jsonl' && opts.format !== 'csv' && opts.format !== 'cic') {
    throw new PipelineError('PCS_USAGE', `unknown format '${opts.format}'; use jsonl, csv or cic`);
  }
  const settings = flowSettings(opts);
  // The CICIDS2017 layout means CICFlowMeter's numbers unless the user asked for corrected ones.
  const features = settings.features;
  if (opts.format === 'cic' && features === 'none') {
    throw new PipelineError('PCS_USAGE', '--format cic needs features; use --features cic or corrected');
  }
  const fmt = flowFormatter(opts.format as FlowFormat, opts.label, features === 'none' ? 'corrected' : features);
  // CICFlowMeter never writes a flow of one packet; its layout with its numbers does the same.
  const cicCompatible = opts.format === 'cic' && features === 'cic';
  const out = new LineWriter();
  let pending = 0;
  // JSON Lines and CSV go out as bytes; the CICIDS2017 layout as text lines.
  const writeBytes = opts.format === 'cic' ? null : flowBytesWriter(opts.format as 'jsonl' | 'csv');
  const json = new JsonWriter();
  const recycle = (b: Uint8Array): void => json.recycle(b as Buffer);
  if (fmt.header !== null) out.line(fmt.header);
  const threads = threadsOption(opts.threads);
  // With decoding in a worker, the text of the flows is made on a thread of its own too: this
  // thread only runs the flow engine and copies each flow's numbers.
  const text = usesTwoStages(path, threads)
    ? new FlowTextThread(out, {
        format: opts.format as 'jsonl' | 'csv' | 'cic',
        label: opts.label,
        mode: features === 'none' ? 'corrected' : features,
      })
    : null;
  const engine = new FlowEngine({
    ...settings,
    features,
    onPackedFlow:
      text === null
        ? undefined
        : (packed) => {
            if (cicCompatible && packed[P_FWD_PACKETS]! + packed[P_BWD_PACKETS]! < 2) return;
            text.add(packed);
          },
    onFlow: (r: FlowRecord) => {
      if (cicCompatible && r.fwd_packets + r.bwd_packets < 2) return;
      if (writeBytes !== null) {
        writeBytes(r, json);
        if (json.pos > 1 << 20) out.bytes(json.take(), recycle);
        return;
      }
      const line = fmt.line(r);
      out.line(line);
      // Lines are ropes of ~100 pieces until joined: hand them on every ~1 MB, not only per
      // input chunk, or the end-of-input flush of every open flow holds them all (~7 KB a flow).
      pending += line.length;
      if (pending > 1 << 20) {
        pending = 0;
        void out.flush();
      }
    },
  });
  const p = new PacketContext();
  let n = 0;
  const progress = new Progress();
  const onPacket = (q: PacketContext): void => {
    n++;
    engine.packet(q);
  };
  let result: Awaited<ReturnType<typeof readDecoded>>;
  try {
    result = await readDecoded(path, p, onPacket, {
      threads,
      appDetail: false,
      // Flows and their features read L2-L4 only: DNS, TLS and HTTP are not decoded.
      decodeApp: false,
      afterChunk: async (input) => {
        progress.update(input.bytesRead(), input.size, n);
        if (text !== null) await text.room();
        out.bytes(json.take(), recycle);
        await out.flush();
      },
      shouldStop: () => out.closed,
    });
  } catch (err) {
    await text?.close();
    throw err;
  }
  engine.flushAll('end');
  progress.done();
  await text?.end();
  out.bytes(json.take(), recycle);
  await out.end();
  if (opts.summary) {
    const s = engine.stats;
    process.stderr.write(
      `flows: ${s.flows_total} (${s.flows_evicted} evicted at the cap), packets in flows: ${s.packets_in_flows}, not in a flow: ${n - s.packets_in_flows}\n`,
    );
  }
  return reportTruncation(result);
}
