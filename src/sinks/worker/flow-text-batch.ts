/**
 * The text of a batch of packed flow records (`flow/packed-flow.ts`), as bytes: what the flow
 * text worker does with each batch, and what its caller does itself when the worker is busy.
 * The text is byte for byte what one thread writes (`packedFlowBytesWriter` is tested against
 * `flowBytesWriter`; the CICIDS2017 layout goes through `flowFormatter`).
 */
import { JsonWriter } from '../../core/json-writer.ts';
import { PACKED_FLOW_WIDTH, unpackFlow } from '../../flow/packed-flow.ts';
import { flowFormatter, packedFlowBytesWriter } from '../flow-format.ts';
import type { FlowTextSetup } from './flow-text-messages.ts';

export interface FlowTextBatcher {
  /** The lines of `count` records of `batch`, newline-terminated, in a buffer of their own. */
  format(batch: Float64Array, count: number): Uint8Array;
  /** A buffer `format` returned, written and free to fill again. */
  recycle(b: Uint8Array): void;
}

/**
 * @example
 * const b = flowTextBatcher({ format: 'csv', label: 'BENIGN', mode: 'corrected' });
 * out.bytes(b.format(batch, n), (buf) => b.recycle(buf));
 */
export function flowTextBatcher(setup: FlowTextSetup): FlowTextBatcher {
  if (setup.format === 'cic') {
    const fmt = flowFormatter('cic', setup.label, setup.mode);
    const encoder = new TextEncoder();
    return {
      format(batch, count) {
        let text = '';
        for (let i = 0; i < count; i++) text += `${fmt.line(unpackFlow(batch, i * PACKED_FLOW_WIDTH))}\n`;
        return encoder.encode(text);
      },
      recycle() {},
    };
  }
  const write = packedFlowBytesWriter(setup.format);
  const json = new JsonWriter(1 << 20);
  return {
    format(batch, count) {
      for (let i = 0; i < count; i++) write(batch, i * PACKED_FLOW_WIDTH, json);
      return json.take();
    },
    recycle(b) {
      const ab = b.buffer as ArrayBuffer;
      if (b.byteOffset === 0) json.recycle(Buffer.from(ab));
    },
  };
}
