/**
 * Raw frames and batches: what the sensor sources (timed replay, live capture) hand to the next
 * stage, before any decoding.
 *
 * A `RawFrame` owns its bytes, unlike the reused `Frame` of `core/source.ts`: once delivered,
 * nothing in the source writes to it again, so a consumer may keep frames as long as it likes
 * (queue them for a broker, hand them to another stage). To avoid one allocation per packet, the
 * bytes of consecutive frames are copied into shared slabs: `data` is a view, and `data.buffer`
 * holds other frames too. Copy `data` (or `data.slice()`) before transferring it to a worker
 * with a transfer list; never transfer `data.buffer` itself.
 *
 * Batches are plain arrays of frames. Sources build them up to `batchFrames` frames or
 * `batchBytes` bytes of captured data, whichever comes first, and never hold a frame longer than
 * `maxBatchDelayMs` of wall time, so a slow stream is not held back waiting for a full batch.
 * The source awaits the promise a `BatchCallback` returns before reading more input: a slow
 * consumer slows the source, and memory stays flat.
 */
import { PipelineError } from '../core/errors.ts';
import type { Frame } from '../core/source.ts';

/**
 * One captured packet with its own copy of the bytes.
 * @example
 * const f: RawFrame = { tsSec: 1735689600, tsNanos: 0, wirelen: 60, linkType: 1, data: bytes };
 */
export interface RawFrame {
  /** Capture timestamp, whole seconds since the epoch. */
  tsSec: number;
  /** Nanoseconds within the second, 0 to 999,999,999. */
  tsNanos: number;
  /** Length of the packet on the wire; `data.length` is less when the snaplen cut it. */
  wirelen: number;
  /** LINKTYPE_* of the bytes (1 = Ethernet). */
  linkType: number;
  /** The captured bytes: an owned copy, never written again by the source (see the module notes on shared slabs). */
  data: Uint8Array;
}

/**
 * Receives one batch; the source waits for a returned promise before it delivers more.
 * @example
 * const onBatch: BatchCallback = async (frames) => { await producer.send(frames); };
 */
export type BatchCallback = (frames: RawFrame[]) => Promise<void> | void;

/** Default most frames in one batch. */
export const DEFAULT_BATCH_FRAMES = 1024;
/** Default most captured bytes in one batch (1 MiB). */
export const DEFAULT_BATCH_BYTES = 1024 * 1024;
/** Default longest wall time a frame waits in an unfinished batch. */
export const DEFAULT_MAX_BATCH_DELAY_MS = 50;

/**
 * Batch limits shared by the sources. Plain data.
 * @example
 * const opts: BatchOptions = { batchFrames: 256, maxBatchDelayMs: 10 };
 */
export interface BatchOptions {
  /** Most frames per batch. Default 1024. */
  batchFrames?: number;
  /** A batch is closed once its captured bytes reach this. Default 1 MiB. */
  batchBytes?: number;
  /** Longest wall time (ms) a frame may wait in an unfinished batch. Default 50. */
  maxBatchDelayMs?: number;
}

/**
 * `BatchOptions` with defaults applied and checked.
 * @example
 * const limits: BatchLimits = batchLimits({});
 * if (batch.length >= limits.batchFrames) flush();
 */
export interface BatchLimits {
  batchFrames: number;
  batchBytes: number;
  maxBatchDelayMs: number;
}

function positive(name: string, value: number | undefined, def: number, integer: boolean): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value)))
    throw new PipelineError('PCS_CONFIG', `${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  return value;
}

/**
 * Apply the defaults to `options` and check them; bad values throw `PipelineError('PCS_CONFIG')`.
 * @example
 * const { batchFrames, batchBytes, maxBatchDelayMs } = batchLimits({ batchFrames: 64 });
 */
export function batchLimits(options: BatchOptions = {}): BatchLimits {
  return {
    batchFrames: positive('batchFrames', options.batchFrames, DEFAULT_BATCH_FRAMES, true),
    batchBytes: positive('batchBytes', options.batchBytes, DEFAULT_BATCH_BYTES, true),
    maxBatchDelayMs: positive('maxBatchDelayMs', options.maxBatchDelayMs, DEFAULT_MAX_BATCH_DELAY_MS, false),
  };
}

/** Size of one slab that frame bytes are copied into. */
export const FRAME_SLAB_BYTES = 256 * 1024;
/** Frames at least this long get an allocation of their own instead of a slab slice. */
const OWN_ALLOCATION_BYTES = 64 * 1024;

/**
 * Copies reused `Frame`s into owned `RawFrame`s, packing the bytes into shared slabs.
 *
 * One `new Uint8Array` per packet costs more than parsing it; a slab slice is a view over memory
 * already allocated. A slab is never written again once a frame points into it, so frames
 * stay valid however long a consumer keeps them; a slab is freed with the last frame in it.
 *
 * @example
 * const copier = new RawFrameCopier();
 * await readCapture('in.pcap', (f) => kept.push(copier.copy(f)));
 */
export class RawFrameCopier {
  private slab = new Uint8Array(0);
  private used = 0;

  /**
   * An owned copy of `frame`. The timestamp may be overridden (a replay shifts it per pass).
   */
  copy(frame: Frame, tsSec: number = frame.tsSec, tsNanos: number = frame.tsNanos): RawFrame {
    const len = frame.caplen;
    let data: Uint8Array;
    if (len >= OWN_ALLOCATION_BYTES) {
      data = new Uint8Array(len);
    } else {
      if (this.used + len > this.slab.length) {
        this.slab = new Uint8Array(FRAME_SLAB_BYTES);
        this.used = 0;
      }
      data = this.slab.subarray(this.used, this.used + len);
      this.used += len;
    }
    data.set(frame.buf.subarray(frame.off, frame.off + len));
    return { tsSec, tsNanos, wirelen: frame.wirelen, linkType: frame.linkType, data };
  }
}

/**
 * Points a reused parser `Frame` at an owned frame's bytes and header fields, for
 * `decodeFrame`: one place that knows how the two shapes line up.
 * @example
 * decodeFrame(p, loadFrame(frame, raw));
 */
export function loadFrame(
  target: Frame,
  f: { tsSec: number; tsNanos: number; wirelen: number; linkType: number; data: Uint8Array },
): Frame {
  target.buf = f.data;
  target.off = 0;
  target.caplen = f.data.byteLength;
  target.wirelen = f.wirelen;
  target.tsSec = f.tsSec;
  target.tsNanos = f.tsNanos;
  target.linkType = f.linkType;
  return target;
}
