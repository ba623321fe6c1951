/**
 * Read and decode a capture, handing each decoded packet to `onPacket`: on this thread
 * (`threads: 1`), or in two stages (`threads: 2`) where a worker thread reads and decodes and
 * this thread only aggregates. The default (`threads: 0`, auto) takes two stages for files of at
 * least `TWO_STAGE_MIN_BYTES`: below that, starting the worker (~0.1 s) costs more than it saves.
 *
 * Two stages: the worker publishes compact packet records (`packet-record.ts`) into a shared
 * ring (`ring.ts`); this thread fills one `PacketContext` per record with exactly the fields the
 * flow engine, the CIC features, the KPIs and `run`'s anomaly rows read, and calls `onPacket`.
 * Other fields of the context (the frame bytes, application-layer text, ...) are NOT filled:
 * a consumer needing them must use `threads: 1`. `afterChunk` and `shouldStop` run at the same
 * input-chunk boundaries as on one thread, so flushing, back-pressure and stopping behave alike.
 *
 * On a 2-core machine decoding (~0.45 us a packet) then overlaps flow and KPI work
 * (~0.8 us a packet). stdin is always read on this thread.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { PipelineError, type PipelineErrorCode, TruncatedCaptureError } from '../../core/errors.ts';
import type { PacketContext } from '../../core/packet.ts';
import type { ContainerStats, Frame } from '../../core/source.ts';
import { decodeFrame } from '../../decode/dispatch.ts';
import { readCapture } from '../../sources/capture.ts';
import { RecordReader, recordViews } from './packet-record.ts';
import {
  BATCH_RECORDS,
  C_CONSUMED,
  C_NAMES,
  C_PUBLISHED,
  C_STOP,
  createRing,
  KIND_CHUNK_END,
  KIND_END,
  M_BYTES_READ,
  M_COUNT,
  M_KIND,
  M_SIZE,
  META_WORDS,
  RING_SLOTS,
} from './ring.ts';
import { DECODE_WORKER_URL, isLargeFile, takeWarmDecodeWorker } from './warm-start.ts';
import type { WorkerEnd, WorkerMessage } from './worker-messages.ts';

/** Where it always was for callers; decided in `warm-start.ts`, which runs before the program loads. */
export { TWO_STAGE_MIN_BYTES } from './warm-start.ts';

/** What progress reporting needs of the input. */
export interface InputProgress {
  /** Display name: the path, or 'stdin'. */
  readonly name: string;
  /** Total bytes when known, else -1. */
  readonly size: number;
  bytesRead(): number;
}

export interface DecodedReadOptions {
  /** 1: read, decode and aggregate on this thread; 2: decode in a worker (files only); 0 (default): 2 for large files. */
  threads?: number;
  /** `PacketContext.appDetail` for decoding (false: DNS walked without building text). */
  appDetail?: boolean;
  /** `PacketContext.decodeApp` (false: no DNS, TLS or HTTP decoding, for consumers of L2-L4 only). */
  decodeApp?: boolean;
  /** After each input chunk; may return a promise to wait on (flush, back-pressure). */
  afterChunk?: (input: InputProgress) => void | Promise<void>;
  /** Polled after each chunk: true stops reading. */
  shouldStop?: () => boolean;
}

export interface DecodedReadResult {
  input: InputProgress;
  parser: { readonly frames: number; readonly stats: ContainerStats };
  truncated: TruncatedCaptureError | null;
  stoppedEarly: boolean;
}

/**
 * Read `path` (`-` for stdin), decode each frame into `p` and call `onPacket(p)`.
 * @example
 * const r = await readDecoded('trace.pcap', ctx, (p) => engine.packet(p), { threads: 2 });
 * if (r.truncated) console.error(r.truncated.message);
 */
export async function readDecoded(
  path: string,
  p: PacketContext,
  onPacket: (p: PacketContext) => void,
  opts: DecodedReadOptions = {},
): Promise<DecodedReadResult> {
  return startDecoded(path, {
    ...opts,
    appDetail: opts.appDetail ?? p.appDetail,
    decodeApp: opts.decodeApp ?? p.decodeApp,
  }).read(p, onPacket, opts);
}

/** A read whose decode worker (if any) is already starting; see `startDecoded`. */
export interface StartedRead {
  /** Consume the input as `readDecoded` would (once). */
  read(
    p: PacketContext,
    onPacket: (p: PacketContext) => void,
    opts?: Pick<DecodedReadOptions, 'afterChunk' | 'shouldStop'>,
  ): Promise<DecodedReadResult>;
  /** Stop a read that will not be consumed (the caller failed first); a no-op after `read`. */
  cancel(): Promise<void>;
}

/**
 * Start reading `path` before the consumer is ready: in two stages the worker boots and
 * decodes the first batches (~0.1 s) while the caller opens its store. The worker waits on the
 * ring until `read` is called; `cancel` ends it if `read` never is.
 * @example
 * const started = startDecoded('trace.pcap', { appDetail: false });
 * const store = await openStore(db).catch(async (e) => { await started.cancel(); throw e; });
 * const r = await started.read(ctx, (p) => engine.packet(p), { afterChunk });
 */
export function startDecoded(path: string, opts: Omit<DecodedReadOptions, 'afterChunk' | 'shouldStop'>): StartedRead {
  const flags = (p: PacketContext): void => {
    p.appDetail = opts.appDetail ?? p.appDetail;
    p.decodeApp = opts.decodeApp ?? p.decodeApp;
  };
  if (!usesTwoStages(path, opts.threads ?? 0)) {
    return {
      read: (p, onPacket, o = {}) => {
        flags(p);
        return readInline(path, p, onPacket, o);
      },
      cancel: async () => undefined,
    };
  }
  const stage = startStage(path, opts.appDetail ?? true, opts.decodeApp ?? true);
  let consumed = false;
  return {
    read: (p, onPacket, o = {}) => {
      if (consumed) throw new Error('startDecoded: read twice');
      consumed = true;
      flags(p);
      return readTwoStage(stage, p, onPacket, o);
    },
    cancel: async () => {
      if (consumed) return;
      consumed = true;
      await stage.stop();
    },
  };
}

/**
 * Whether `readDecoded(path, ..., { threads })` decodes in a worker: callers that could also move
 * their own output to a thread decide with the same rule.
 */
export function usesTwoStages(path: string, threads: number): boolean {
  return !(threads === 1 || path === '-' || (threads === 0 && !isLargeFile(path)));
}

async function readInline(
  path: string,
  p: PacketContext,
  onPacket: (p: PacketContext) => void,
  opts: DecodedReadOptions,
): Promise<DecodedReadResult> {
  let n = 0;
  const onFrame = (f: Frame): void => {
    p.frameNumber = ++n;
    decodeFrame(p, f);
    onPacket(p);
  };
  const afterChunk = opts.afterChunk;
  return readCapture(path, onFrame, {
    afterChunk: afterChunk === undefined ? undefined : (input) => afterChunk(input),
    shouldStop: opts.shouldStop,
  });
}

/** Ring batches between two turns of the event loop while the consumer is the bottleneck. */
const TURN_EVERY_BATCHES = 4;

/** The decode worker of a two-stage read and what this thread keeps of it. */
interface Stage {
  readonly path: string;
  readonly control: Int32Array;
  readonly meta: Float64Array;
  readonly views: ReturnType<typeof recordViews>;
  readonly reader: RecordReader;
  readonly worker: Worker;
  readonly port: MessagePort;
  end: WorkerEnd | null;
  failure: unknown;
  learned: number;
  /** Take one message from the worker, if any. */
  receive(): boolean;
  /** Ask the worker to stop and close the port; terminate it unless it already ended. */
  stop(): Promise<void>;
}

function startStage(path: string, appDetail: boolean, decodeApp: boolean): Stage {
  const ring = createRing();
  const channel = new MessageChannel();
  const setup = { path, appDetail, decodeApp, ring, port: channel.port2 };
  // A worker started with the process (warm-start.ts) has booted already: it gets its setup by message.
  let worker = takeWarmDecodeWorker();
  if (worker !== null) worker.postMessage(setup, [channel.port2]);
  else worker = new Worker(fileURLToPath(DECODE_WORKER_URL), { workerData: setup, transferList: [channel.port2] });
  const st: Stage = {
    path,
    control: new Int32Array(ring.control),
    meta: new Float64Array(ring.meta),
    views: recordViews(ring.records),
    reader: new RecordReader(),
    worker,
    port: channel.port1,
    end: null,
    failure: null,
    learned: 0,
    receive: () => {
      const m = receiveMessageOnPort(st.port);
      if (m === undefined) return false;
      const msg = m.message as WorkerMessage;
      if (msg.kind === 'end') st.end = msg;
      else {
        st.reader.learn(msg.kind, msg.id, msg.name);
        st.learned++;
      }
      return true;
    },
    stop: async () => {
      Atomics.store(st.control, C_STOP, 1);
      Atomics.notify(st.control, C_CONSUMED);
      st.port.close();
      if (st.end === null) await worker.terminate();
    },
  };
  const fail = (err: unknown): void => {
    st.failure ??= err;
    // Wake the reader's wait; this handler only runs while it awaits.
    Atomics.notify(st.control, C_PUBLISHED);
  };
  worker.on('error', fail);
  worker.on('exit', (code) => {
    // A worker that finished posted its end message first.
    while (st.end === null && st.receive());
    if (st.end === null) fail(new Error(`decode worker exited with code ${code} before the end of the input`));
  });
  return st;
}

async function readTwoStage(
  st: Stage,
  p: PacketContext,
  onPacket: (p: PacketContext) => void,
  opts: Pick<DecodedReadOptions, 'afterChunk' | 'shouldStop'>,
): Promise<DecodedReadResult> {
  const { path, control, meta, views, reader } = st;
  let bytesRead = 0;
  let size = -1;
  const input: InputProgress = {
    name: path,
    get size() {
      return size;
    },
    bytesRead: () => bytesRead,
  };
  let consumed = 0;
  let sinceTurn = 0;
  let frames = 0;
  let stopped = false;
  try {
    for (;;) {
      if (st.failure !== null) throw st.failure;
      const published = Atomics.load(control, C_PUBLISHED);
      if (consumed === published) {
        const w = Atomics.waitAsync(control, C_PUBLISHED, published);
        if (w.async) await w.value;
        continue;
      }
      // Names the worker interned for this batch were posted before it was published.
      while (st.learned < Atomics.load(control, C_NAMES)) {
        if (!st.receive()) await turn();
      }
      const slot = consumed % RING_SLOTS;
      const m = slot * META_WORDS;
      const count = meta[m + M_COUNT]!;
      const kind = meta[m + M_KIND]!;
      const base = slot * BATCH_RECORDS;
      for (let i = 0; i < count; i++) {
        p.frameNumber = ++frames;
        reader.read(views, base + i, p);
        onPacket(p);
      }
      // Let the event loop turn every few batches (~10 ms of `run`'s work): when this thread is
      // the bottleneck the ring never runs dry, so nothing else here would ever wait, and
      // callbacks from other threads (DuckDB asking the store for its next rows, the dashboard's
      // requests, signals) would queue until the input ended.
      const turnDue = ++sinceTurn === TURN_EVERY_BATCHES;
      if (turnDue) sinceTurn = 0;
      if (kind !== KIND_END && kind !== KIND_CHUNK_END) {
        Atomics.store(control, C_CONSUMED, ++consumed);
        Atomics.notify(control, C_CONSUMED);
        if (turnDue) await turn();
        continue;
      }
      bytesRead = meta[m + M_BYTES_READ]!;
      size = meta[m + M_SIZE]!;
      Atomics.store(control, C_CONSUMED, ++consumed);
      Atomics.notify(control, C_CONSUMED);
      if (kind === KIND_END) break;
      if (opts.afterChunk !== undefined) await opts.afterChunk(input);
      if (turnDue) await turn();
      if (opts.shouldStop?.()) {
        stopped = true;
        break;
      }
    }
    if (stopped) {
      Atomics.store(control, C_STOP, 1);
      Atomics.notify(control, C_CONSUMED);
    }
    // The end message was posted before the last batch; after a stop it follows shortly.
    while (st.end === null) {
      if (st.failure !== null) throw st.failure;
      if (!st.receive()) await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    await st.stop();
  }
  return finish(st.end, stopped);
}

function finish(end: WorkerEnd, stopped: boolean): DecodedReadResult {
  if (end.error !== null) {
    const e = end.error;
    if (e.code !== null) throw new PipelineError(e.code as PipelineErrorCode, e.message);
    const err = new Error(e.message);
    err.name = e.name;
    err.stack = e.stack;
    throw err;
  }
  const t = end.truncated;
  const stats = end.stats!;
  return {
    input: { name: end.name, size: end.size, bytesRead: () => end.bytesRead },
    parser: { frames: end.frames, stats },
    truncated: stopped || t === null ? null : new TruncatedCaptureError(t.message, t.offset, t.frames),
    stoppedEarly: stopped || end.stoppedEarly,
  };
}
