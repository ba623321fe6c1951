/**
 * Decode worker body (loaded by `decode-worker.ts`): reads a capture, decodes every frame and
 * publishes packet records into the shared ring (see `ring.ts`). Its only output besides the
 * ring is messages on the port it is given: interned names, then one `end` message.
 */
import type { MessagePort } from 'node:worker_threads';
import { parentPort, workerData } from 'node:worker_threads';
import { isPipelineError } from '../../core/errors.ts';
import { PacketContext } from '../../core/packet.ts';
import type { Frame } from '../../core/source.ts';
import { decodeFrame } from '../../decode/dispatch.ts';
import { readCapture } from '../../sources/capture.ts';
import { RecordWriter, recordViews } from './packet-record.ts';
import {
  BATCH_RECORDS,
  C_CONSUMED,
  C_NAMES,
  C_PUBLISHED,
  C_STOP,
  KIND_CHUNK_END,
  KIND_END,
  KIND_RECORDS,
  M_BYTES_READ,
  M_COUNT,
  M_KIND,
  M_SIZE,
  META_WORDS,
  RING_SLOTS,
  type RingBuffers,
} from './ring.ts';
import type { WorkerEnd } from './worker-messages.ts';

interface Setup {
  path: string;
  appDetail: boolean;
  decodeApp: boolean;
  ring: RingBuffers;
  port: MessagePort;
}
// Started with its setup, or warm (`warm-start.ts`): then the setup is the first message.
const data =
  (workerData as Setup | undefined) ??
  (await new Promise<Setup>((resolve) => parentPort!.once('message', (m: Setup) => resolve(m))));
const port = data.port;
const control = new Int32Array(data.ring.control);
const meta = new Float64Array(data.ring.meta);
const views = recordViews(data.ring.records);

let names = 0;
const writer = new RecordWriter((kind, id, name) => {
  port.postMessage({ kind, id, name });
  names++;
  Atomics.store(control, C_NAMES, names);
});

let published = 0;
let fill = 0;
/** Slot acquired for the batch being filled. */
let holding = false;
let stopped = false;

/** Wait for a free slot; false when the consumer asked to stop. */
function acquire(): boolean {
  for (;;) {
    if (Atomics.load(control, C_STOP) !== 0) {
      stopped = true;
      return false;
    }
    const consumed = Atomics.load(control, C_CONSUMED);
    if (published - consumed < RING_SLOTS) return true;
    Atomics.wait(control, C_CONSUMED, consumed, 200);
  }
}

function publish(kind: number, bytesRead: number, size: number): void {
  if (!holding && !acquire()) return;
  const m = (published % RING_SLOTS) * META_WORDS;
  meta[m + M_COUNT] = fill;
  meta[m + M_KIND] = kind;
  meta[m + M_BYTES_READ] = bytesRead;
  meta[m + M_SIZE] = size;
  published++;
  Atomics.store(control, C_PUBLISHED, published);
  Atomics.notify(control, C_PUBLISHED);
  fill = 0;
  holding = false;
}

const p = new PacketContext();
p.appDetail = data.appDetail;
p.decodeApp = data.decodeApp;
let n = 0;
const onFrame = (f: Frame): void => {
  p.frameNumber = ++n;
  decodeFrame(p, f);
  if (stopped) return;
  if (!holding) {
    if (!acquire()) return;
    holding = true;
  }
  writer.write(views, (published % RING_SLOTS) * BATCH_RECORDS + fill, p);
  if (++fill === BATCH_RECORDS) publish(KIND_RECORDS, -1, -1);
};

let end: WorkerEnd;
let lastBytes = 0;
let size = -1;
try {
  const r = await readCapture(data.path, onFrame, {
    afterChunk: (input) => {
      lastBytes = input.bytesRead();
      size = input.size;
      if (!stopped) publish(KIND_CHUNK_END, lastBytes, size);
    },
    shouldStop: () => Atomics.load(control, C_STOP) !== 0,
  });
  end = {
    kind: 'end',
    name: r.input.name,
    size: r.input.size,
    bytesRead: r.input.bytesRead(),
    frames: r.parser.frames,
    stats: r.parser.stats,
    truncated:
      r.truncated === null
        ? null
        : { message: r.truncated.message, offset: r.truncated.offset, frames: r.truncated.frames },
    stoppedEarly: r.stoppedEarly,
    error: null,
  };
} catch (err) {
  const e = err as Error;
  end = {
    kind: 'end',
    name: data.path,
    size,
    bytesRead: lastBytes,
    frames: n,
    stats: null,
    truncated: null,
    stoppedEarly: false,
    error: {
      code: isPipelineError(err) ? err.code : null,
      name: e?.name ?? 'Error',
      message: e?.message ?? String(err),
      stack: e?.stack ?? '',
    },
  };
}
// The end message goes out before the last batch, so the consumer has it once it sees that batch.
port.postMessage(end);
if (!stopped) publish(KIND_END, lastBytes, size);
port.close();
