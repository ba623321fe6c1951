/**
 * Flow records as text, made on a worker thread. The thread that runs the flow engine only
 * copies each exported flow as a packed record (`flow/packed-flow.ts`, ~110 numbers) into a
 * batch; the worker unpacks the batches (addresses, ids, Community ID) and formats them
 * exactly as `flowBytesWriter` / `flowFormatter` do on one thread, and the bytes come back in
 * order for the caller's `LineWriter`.
 *
 * Why: on a 1 GB capture the text of ~110k flows of 101 columns costs ~0.5 s, a third of the
 * engine thread's time, while the decode worker beside it waits. Moved here, it runs on the
 * core decoding leaves idle.
 *
 * Balance and memory: the worker holds at most `maxInFlight` batches. Past that, this thread
 * formats the next batch itself (so at the end of input, when the open flows all end at once,
 * both threads format them), and `room()`, awaited between input chunks, waits for the worker.
 * Bytes go to the writer strictly in the order the flows were added.
 */
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { CicMode } from '../../flow/cic-features.ts';
import { PACKED_FLOW_WIDTH } from '../../flow/packed-flow.ts';
import type { LineWriter } from '../stdout/line-writer.ts';
import { type FlowTextBatcher, flowTextBatcher } from './flow-text-batch.ts';
import type { FlowTextReply, FlowTextRequest, FlowTextSetup } from './flow-text-messages.ts';

/** Records per batch: ~450 KB of numbers, a few hundred messages for a 1 GB capture. */
const BATCH_RECORDS = 512;
/** Batches out at the worker at once (sent and not yet answered), by default. */
const MAX_IN_FLIGHT = 4;

export interface FlowTextOptions {
  format: 'jsonl' | 'csv' | 'cic';
  /** CICIDS2017 label column (`cic` format). Default `BENIGN`. */
  label?: string;
  /** The run's feature mode: picks the CIC row's text rules. Default `corrected`. */
  mode?: CicMode;
  /** Batches the worker may hold before this thread formats batches itself. Default 4. */
  maxInFlight?: number;
}

const WORKER_URL = new URL('./flow-text-worker.ts', import.meta.url);

/** One batch's place in the output order: its bytes once made. */
interface Pending {
  bytes: Uint8Array | null;
  /** Made on this thread (its buffer goes back to this thread's writer). */
  local: boolean;
}

export class FlowTextThread {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly out: LineWriter;
  private readonly setup: FlowTextSetup;
  private batch: Float64Array;
  private count = 0;
  private readonly spare: ArrayBuffer[] = [];
  /** Batches in output order, and the subset the worker holds, oldest first. */
  private readonly order: Pending[] = [];
  private readonly atWorker: Pending[] = [];
  /** Formats batches on this thread when the worker has enough to do; made on first need. */
  private local: FlowTextBatcher | null = null;
  private failure: Error | null = null;
  /** Resolvers waiting for a reply (room, or the end). */
  private waiters: (() => void)[] = [];
  private readonly maxInFlight: number;

  /**
   * @example
   * const text = new FlowTextThread(out, { format: 'csv' });
   * const engine = new FlowEngine({ onFlow, onPackedFlow: (p) => text.add(p) });
   * // per input chunk: await text.room(); at the end: engine.flushAll('end'); await text.end();
   */
  constructor(out: LineWriter, options: FlowTextOptions) {
    this.out = out;
    this.setup = { format: options.format, label: options.label ?? 'BENIGN', mode: options.mode ?? 'corrected' };
    this.maxInFlight = Math.max(1, options.maxInFlight ?? MAX_IN_FLIGHT);
    this.batch = new Float64Array(BATCH_RECORDS * PACKED_FLOW_WIDTH);
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.worker = new Worker(fileURLToPath(WORKER_URL), {
      workerData: { ...this.setup, port: channel.port2 },
      transferList: [channel.port2],
    });
    this.port.on('message', (r: FlowTextReply) => this.onReply(r));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (this.atWorker.length > 0) this.fail(new Error(`flow format worker exited with code ${code}`));
    });
  }

  /** Copy one packed record (valid only during the call, as the engine hands it). */
  add(packed: Float64Array): void {
    this.batch.set(packed.subarray(0, PACKED_FLOW_WIDTH), this.count * PACKED_FLOW_WIDTH);
    if (++this.count === BATCH_RECORDS) this.send();
  }

  /** Resolves once the worker holds fewer than `maxInFlight` batches (at once when it does). */
  async room(): Promise<void> {
    while (this.atWorker.length >= this.maxInFlight && this.failure === null) await this.nextReply();
    if (this.failure !== null) throw this.failure;
  }

  /** Send what is batched, wait until every batch's bytes are handed to the writer, stop the worker. */
  async end(): Promise<void> {
    if (this.count > 0) this.send();
    while (this.atWorker.length > 0 && this.failure === null) await this.nextReply();
    await this.close();
    if (this.failure !== null) throw this.failure;
  }

  /** Stop the worker (after a failure elsewhere: batches not yet written are dropped). */
  async close(): Promise<void> {
    this.port.close();
    await this.worker.terminate();
  }

  private send(): void {
    // Replies that arrived while this thread was busy (a long flush of open flows) come first.
    this.poll();
    const p: Pending = { bytes: null, local: false };
    if (this.atWorker.length >= this.maxInFlight) {
      // The worker has enough queued: this thread makes this batch's text itself. That bounds
      // the batches out at once, and at the end of input both threads format the open flows.
      this.local ??= flowTextBatcher(this.setup);
      p.bytes = this.local.format(this.batch, this.count);
      p.local = true;
      this.order.push(p);
      this.drain();
    } else {
      const buf = this.batch.buffer as ArrayBuffer;
      const msg: FlowTextRequest = { batch: buf, count: this.count };
      this.port.postMessage(msg, [buf]);
      this.order.push(p);
      this.atWorker.push(p);
      const next = this.spare.pop();
      this.batch = next !== undefined ? new Float64Array(next) : new Float64Array(BATCH_RECORDS * PACKED_FLOW_WIDTH);
    }
    this.count = 0;
  }

  private poll(): void {
    for (;;) {
      const m = receiveMessageOnPort(this.port);
      if (m === undefined) return;
      this.onReply(m.message as FlowTextReply);
    }
  }

  private onReply(r: FlowTextReply): void {
    const p = this.atWorker.shift();
    if (p === undefined) return;
    p.bytes = r.bytes;
    this.spare.push(r.batch);
    this.drain();
    this.wake();
  }

  /** Hand the bytes of the oldest batches to the writer, in order, as far as they are made. */
  private drain(): void {
    const order = this.order;
    while (order.length > 0 && order[0]!.bytes !== null) {
      const p = order.shift()!;
      this.out.bytes(p.bytes!, (b) => this.recycle(b, p.local));
    }
  }

  /** A written output buffer goes back to whoever made it. */
  private recycle(b: Uint8Array, local: boolean): void {
    if (local) {
      this.local?.recycle(b);
      return;
    }
    const ab = b.buffer as ArrayBuffer;
    if (b.byteOffset === 0 && ab.byteLength > 0) {
      this.port.postMessage({ recycle: ab } satisfies FlowTextRequest, [ab]);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private nextReply(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
