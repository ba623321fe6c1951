/**
 * The formatting side of `FlowTextThread`: each message is a batch of packed flow records
 * (`flow/packed-flow.ts`); the reply is their text as bytes, in the same order, with the batch's
 * buffer handed back for reuse. Output buffers come back from the main thread once written.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { flowTextBatcher } from './flow-text-batch.ts';
import type { FlowTextReply, FlowTextRequest, FlowTextSetup } from './flow-text-messages.ts';

const setup = workerData as FlowTextSetup & { port: MessagePort };
const port = setup.port;
const batcher = flowTextBatcher(setup);

port.on('message', (m: FlowTextRequest) => {
  if (m.recycle !== undefined) {
    batcher.recycle(new Uint8Array(m.recycle));
    return;
  }
  const out = batcher.format(new Float64Array(m.batch!), m.count!);
  const reply: FlowTextReply = { bytes: out, batch: m.batch! };
  port.postMessage(reply, [out.buffer as ArrayBuffer, m.batch!]);
});
