/**
 * Timed replay of a capture file: the packet source of `pcapstream replay`. It follows
 * tcpreplay's timing semantics, but hands batches of frames to a callback instead of a network
 * card.
 *
 * Timing modes (at most one):
 * - recorded speed (default): frames keep the gaps between their capture timestamps;
 *   `multiplier: N` divides the gaps by N (2 is twice as fast, 0.5 half as fast);
 * - `pps: N`: N frames per second, timestamps ignored;
 * - `mbps: N`: N megabits per second of wire length (`wirelen`, not the captured bytes);
 * - `topspeed`: no waiting at all, as fast as the consumer takes batches.
 *
 * Pacing: every frame has a send time on a schedule anchored at the first frame and measured on
 * a monotonic clock (`performance.now()`), not a chain of relative sleeps, so timer errors do
 * not add up. The source sleeps with a timer while the next send time is 1 ms or more away and
 * otherwise sends at once; frames due within `coalesceMs` (default 1 ms) of the first one go out
 * together, when the last of them is due.
 *
 * Timestamps that go back in time (a capture merged out of order) do not wait: such a frame is
 * due with the latest frame before it, and the frames after it keep the schedule.
 *
 * Back-pressure: `onBatch`'s promise is awaited before anything more is sent or read, so a slow
 * consumer slows the replay and memory stays at about one read chunk (4 MiB), one parse slice
 * of copied frames (256 KiB) and the batch the consumer holds.
 * When the replay falls behind its schedule by more than `maxLagMs` (a consumer that stalled,
 * a long pause of the machine), the rest of the schedule is moved later by the delay instead of
 * sending the missed frames in a burst; tcpreplay does the same. Smaller delays (timer
 * jitter) are caught up, so the schedule keeps its place. `maxLagMs: Infinity` always catches
 * up: the replay then takes exactly the capture's span (divided by the multiplier), bursting
 * after stalls.
 *
 * Loops: `loop: N` passes over the file N times (0 = until stopped). Pass k (counting from 0)
 * adds k × (capture span + 1 s) to every timestamp, so time keeps increasing from one pass to
 * the next and a flow engine downstream sees new flows rather than time going backwards. The
 * capture span is the last minus the first timestamp of the first pass (largest minus smallest
 * when they are out of order). The wall-clock pause between passes is not replayed: the first
 * frame of a pass is due right after the last frame of the one before.
 *
 * Input is read like `readCapture` reads it (pcap, pcapng, snoop, gzip, `-` for stdin). A damaged or cut
 * capture delivers every frame before the damage, then reports the `TruncatedCaptureError` in
 * `result.truncated`, as `readCapture` does (`cli/report.ts` prints it); looping goes on.
 */
import { PipelineError, type TruncatedCaptureError } from '../../core/errors.ts';
import type { CaptureParser, Frame } from '../../core/source.ts';
import { type ReadResult, readCapture } from '../capture.ts';
import type { BatchCallback, BatchOptions, RawFrame } from '../raw-frame.ts';
import { batchLimits, RawFrameCopier } from '../raw-frame.ts';

/** Lateness (ms) beyond which the schedule is moved instead of caught up. */
export const DEFAULT_MAX_LAG_MS = 20;
/** Frames due within this many ms of the first frame of a batch go out with it. */
export const DEFAULT_COALESCE_MS = 1;
/** A wait shorter than this is not slept: the batch goes out at once. */
const MIN_SLEEP_MS = 1;
/** Longest single sleep, so `shouldStop` is polled during long gaps. */
const MAX_SLEEP_MS = 200;
/**
 * Parse the next slice early when the next send time is at least this far away and less than
 * `READ_AHEAD_BYTES` are queued: reading a 4 MiB chunk and parsing a slice take a few ms, better
 * spent while waiting than when a frame is due.
 */
const READ_AHEAD_MS = 10;
/**
 * Bytes pushed to the parser at a time. The input reads 4 MiB chunks; parsing one whole would
 * queue ~9,000 copied frames that outlive a few young-generation collections while the pacer
 * sleeps, and V8 then grows its heap. In 256 KiB slices, replaying the 1 GB bench capture at
 * topspeed into a consumer sleeping 2 ms per batch grew RSS by 64 MB instead of 198 MB, and a
 * no-op consumer ran at 1.85 M frames/s instead of 1.35 M.
 */
const PARSE_SLICE_BYTES = 256 * 1024;
const READ_AHEAD_BYTES = 2 * PARSE_SLICE_BYTES;
const NS_PER_S = 1_000_000_000;

/**
 * Options of `replayCapture`. Plain data, apart from `signal` and `shouldStop`.
 * @example
 * const opts: ReplayOptions = { multiplier: 10, loop: 3, batchFrames: 512 };
 */
export interface ReplayOptions extends BatchOptions {
  /** Speed-up of recorded time (2 = twice as fast, 0.5 = half). Default 1. */
  multiplier?: number;
  /** Fixed rate in frames per second; timestamps are ignored for pacing. */
  pps?: number;
  /** Fixed rate in megabits (10^6 bits) per second of wire length. */
  mbps?: number;
  /** Send as fast as the consumer takes batches. */
  topspeed?: boolean;
  /** Passes over the file; 0 = until stopped. Default 1. Needs a file (not stdin) when not 1. */
  loop?: number;
  /** Lateness (ms) beyond which the schedule is moved rather than caught up with a burst. Default 20; Infinity = always catch up. */
  maxLagMs?: number;
  /** Frames due within this many ms of a batch's first frame join it. Default 1; at most `maxBatchDelayMs`. */
  coalesceMs?: number;
  /** Stops the replay (for SIGINT): frames not yet sent are dropped. */
  signal?: AbortSignal;
  /** Polled between batches and during long waits: true stops the replay. */
  shouldStop?: () => boolean;
}

/**
 * What a replay did. Lateness compares the moment a frame was handed to `onBatch` with its
 * scheduled time (after any move of the schedule): the accuracy of the pacer. Time lost to a
 * slow consumer shows in `shiftedMs` instead.
 * @example
 * const r = await replayCapture('in.pcap', { multiplier: 1 }, send);
 * console.log(`${r.frames} frames in ${r.elapsedSec} s, max ${r.maxLatenessMs} ms late`);
 */
export interface ReplayResult {
  /** Frames delivered. */
  frames: number;
  /** Captured bytes delivered. */
  bytes: number;
  /** Wire bytes (`wirelen`) of the frames delivered. */
  wireBytes: number;
  batches: number;
  /** Passes begun over the file (the last one may have been cut short by a stop). */
  passes: number;
  /** Wall seconds from the first frame's send time to the end. */
  elapsedSec: number;
  /** Last minus first timestamp of the first pass (largest minus smallest if out of order). */
  captureSpanSec: number;
  /** Frames per wall second achieved. */
  pps: number;
  /** Megabits of wire length per wall second achieved. */
  mbps: number;
  /** Mean absolute lateness of frames vs their send time, ms (0 at topspeed). */
  meanLatenessMs: number;
  /** Largest absolute lateness, ms (0 at topspeed). */
  maxLatenessMs: number;
  /** Total ms the schedule was moved later because the replay fell more than `maxLagMs` behind. */
  shiftedMs: number;
  /** A stop (signal or `shouldStop`) ended the replay. */
  stoppedEarly: boolean;
  /** The capture is cut or damaged: every frame before the damage was delivered (first pass's error). */
  truncated: TruncatedCaptureError | null;
  /** The input read last (its name, for messages). */
  input: { readonly name: string };
  /** The parser of the last pass (container stats and warnings). */
  parser: CaptureParser;
}

type Mode = 'recorded' | 'pps' | 'mbps' | 'topspeed';

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function checkRate(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new PipelineError('PCS_CONFIG', `${name} must be a positive number, got ${String(v)}`);
  return v;
}

/** Replay state: the queue of parsed frames with their send times, and the counters. */
class Replayer {
  private readonly mode: Mode;
  /** recorded: ms of schedule per ms of capture time; pps: ms per frame; mbps: ms per bit. */
  private readonly scale: number;
  private readonly batchFrames: number;
  private readonly batchBytes: number;
  private readonly maxLagMs: number;
  private readonly coalesceMs: number;
  private readonly onBatch: BatchCallback;
  private readonly signal: AbortSignal | undefined;
  private readonly shouldStop: (() => boolean) | undefined;
  private readonly copier = new RawFrameCopier();

  // Queue of frames parsed but not sent, with their send times (ms from `origin`).
  private queue: RawFrame[] = [];
  private due = new Float64Array(4096);
  private head = 0;
  private queuedBytes = 0;

  // Timestamps: relative to the first frame of the first pass.
  private haveFirst = false;
  private sec0 = 0;
  private nanos0 = 0;
  private minRelNs = 0;
  private maxRelNs = 0;
  pass = 0;
  passFrames = 0;
  private shiftSec = 0;
  private shiftNanos = 0;
  // Schedule.
  private passBase = 0;
  private passFirstMs = 0;
  private runMaxMs = 0;
  private lastDue = 0;
  private units = 0;
  /** performance.now() of the first send time; NaN until the first batch. */
  origin = Number.NaN;
  private shiftMs = 0;

  frames = 0;
  bytes = 0;
  wireBytes = 0;
  batches = 0;
  private latSum = 0;
  private latMax = 0;

  constructor(options: ReplayOptions, onBatch: BatchCallback) {
    const limits = batchLimits(options);
    this.batchFrames = limits.batchFrames;
    this.batchBytes = limits.batchBytes;
    const chosen = (['multiplier', 'pps', 'mbps', 'topspeed'] as const).filter(
      (k) => options[k] !== undefined && options[k] !== false,
    );
    if (chosen.length > 1) throw new PipelineError('PCS_CONFIG', `choose one timing mode, not ${chosen.join(' and ')}`);
    if (options.pps !== undefined) {
      this.mode = 'pps';
      this.scale = 1000 / checkRate('pps', options.pps);
    } else if (options.mbps !== undefined) {
      this.mode = 'mbps';
      this.scale = 1000 / (checkRate('mbps', options.mbps) * 1e6);
    } else if (options.topspeed === true) {
      this.mode = 'topspeed';
      this.scale = 0;
    } else {
      this.mode = 'recorded';
      this.scale = 1 / checkRate('multiplier', options.multiplier ?? 1);
    }
    const lag = options.maxLagMs ?? DEFAULT_MAX_LAG_MS;
    if (typeof lag !== 'number' || Number.isNaN(lag) || lag < 0)
      throw new PipelineError('PCS_CONFIG', `maxLagMs must be a number >= 0, got ${String(lag)}`);
    this.maxLagMs = lag;
    const co = options.coalesceMs ?? Math.min(DEFAULT_COALESCE_MS, limits.maxBatchDelayMs);
    if (typeof co !== 'number' || !Number.isFinite(co) || co < 0 || co > limits.maxBatchDelayMs)
      throw new PipelineError(
        'PCS_CONFIG',
        `coalesceMs must be between 0 and maxBatchDelayMs (${limits.maxBatchDelayMs}), got ${String(co)}`,
      );
    this.coalesceMs = co;
    this.onBatch = onBatch;
    this.signal = options.signal;
    this.shouldStop = options.shouldStop;
  }

  get captureSpanNs(): number {
    return this.maxRelNs - this.minRelNs;
  }

  stopRequested(): boolean {
    return this.signal?.aborted === true || this.shouldStop?.() === true;
  }

  /** Start pass `k`: timestamps move by k × (span + 1 s); recorded time restarts where the last pass ended. */
  beginPass(k: number): void {
    this.pass = k;
    this.passFrames = 0;
    if (k > 0) {
      const step = this.captureSpanNs + NS_PER_S;
      this.shiftSec += Math.floor(step / NS_PER_S);
      this.shiftNanos += step % NS_PER_S;
      if (this.shiftNanos >= NS_PER_S) {
        this.shiftSec += 1;
        this.shiftNanos -= NS_PER_S;
      }
    }
    this.passBase = this.lastDue;
  }

  /** Parser callback: copy the frame and give it a send time. */
  readonly onFrame = (f: Frame): void => {
    if (!this.haveFirst) {
      this.haveFirst = true;
      this.sec0 = f.tsSec;
      this.nanos0 = f.tsNanos;
    }
    const relNs = (f.tsSec - this.sec0) * NS_PER_S + (f.tsNanos - this.nanos0);
    if (this.pass === 0) {
      if (relNs < this.minRelNs) this.minRelNs = relNs;
      if (relNs > this.maxRelNs) this.maxRelNs = relNs;
    }
    let raw: RawFrame;
    if (this.pass === 0) raw = this.copier.copy(f);
    else {
      let ns = f.tsNanos + this.shiftNanos;
      let sec = f.tsSec + this.shiftSec;
      if (ns >= NS_PER_S) {
        ns -= NS_PER_S;
        sec += 1;
      }
      raw = this.copier.copy(f, sec, ns);
    }
    let due: number;
    switch (this.mode) {
      case 'recorded': {
        const ms = relNs / 1e6;
        if (this.passFrames === 0) {
          this.passFirstMs = ms;
          this.runMaxMs = ms;
        } else if (ms > this.runMaxMs) this.runMaxMs = ms;
        due = this.passBase + (this.runMaxMs - this.passFirstMs) * this.scale;
        break;
      }
      case 'pps':
        this.units += 1;
        due = this.units * this.scale;
        break;
      case 'mbps':
        this.units += f.wirelen * 8;
        due = this.units * this.scale;
        break;
      default:
        due = 0;
    }
    this.lastDue = due;
    this.passFrames++;
    const n = this.queue.length;
    if (n === this.due.length) {
      const grown = new Float64Array(n * 2);
      grown.set(this.due);
      this.due = grown;
    }
    this.due[n] = due;
    this.queue.push(raw);
    this.queuedBytes += raw.data.length;
  };

  /**
   * Send queued frames on schedule. With `final` false it returns early, frames still queued,
   * when there is time to read the next chunk first.
   */
  async drain(final: boolean): Promise<void> {
    const q = this.queue;
    const top = this.mode === 'topspeed';
    while (this.head < q.length) {
      if (this.stopRequested()) return;
      let now = performance.now();
      if (Number.isNaN(this.origin)) this.origin = now - this.due[this.head]!;
      const base = this.origin + this.shiftMs;
      let first = base + this.due[this.head]!;
      if (!top) {
        if (now - first > this.maxLagMs) {
          // Fell behind (a stalled consumer, a paused machine): move the schedule, no burst.
          this.shiftMs += now - first;
          first = now;
        }
        if (!final && first - now > READ_AHEAD_MS && this.queuedBytes < READ_AHEAD_BYTES) break;
      }
      const windowEnd = Math.max(first, now) + this.coalesceMs;
      const start = this.head;
      let end = start;
      let bytes = 0;
      while (end < q.length && end - start < this.batchFrames && bytes < this.batchBytes) {
        if (!top && end > start && this.origin + this.shiftMs + this.due[end]! > windowEnd) break;
        bytes += q[end]!.data.length;
        end++;
      }
      // The batch could take frames of the next chunk: read it first, when time allows.
      if (!final && end === q.length && end - start < this.batchFrames && bytes < this.batchBytes) {
        if (top || first - now > READ_AHEAD_MS) break;
      }
      if (!top) {
        const last = this.origin + this.shiftMs + this.due[end - 1]!;
        while (true) {
          const wait = last - now;
          if (wait < MIN_SLEEP_MS) break;
          await sleep(Math.min(wait, MAX_SLEEP_MS), this.signal);
          if (this.stopRequested()) return;
          now = performance.now();
        }
      }
      const batch = q.slice(start, end);
      if (!top) {
        const sentAt = performance.now();
        const b = this.origin + this.shiftMs;
        for (let i = start; i < end; i++) {
          const late = Math.abs(sentAt - (b + this.due[i]!));
          this.latSum += late;
          if (late > this.latMax) this.latMax = late;
        }
      }
      this.head = end;
      this.queuedBytes -= bytes;
      this.frames += batch.length;
      this.bytes += bytes;
      for (const f of batch) this.wireBytes += f.wirelen;
      this.batches++;
      await this.onBatch(batch);
    }
    this.compact();
  }

  /** Drop sent frames from the queue so their memory can go. */
  private compact(): void {
    if (this.head === 0) return;
    const rest = this.queue.length - this.head;
    this.due.copyWithin(0, this.head, this.queue.length);
    this.queue = rest === 0 ? [] : this.queue.slice(this.head);
    this.head = 0;
  }

  /** Lateness figures over the frames sent (paced modes only). */
  lateness(): { mean: number; max: number } {
    if (this.mode === 'topspeed' || this.frames === 0) return { mean: 0, max: 0 };
    return { mean: this.latSum / this.frames, max: this.latMax };
  }

  /** Frames parsed but not sent. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  get shiftedMs(): number {
    return this.shiftMs;
  }
}

/**
 * Replay a capture file with tcpreplay's timing, handing batches of owned frames to `onBatch`.
 *
 * Resolves when the last pass is over or a stop was asked for. Throws `PipelineError` when the
 * file cannot be opened or is not a capture (`PCS_SOURCE_OPEN`, `PCS_SOURCE_FORMAT`), for bad
 * options (`PCS_CONFIG`), and whatever `onBatch` throws. A truncated capture is not thrown:
 * see `result.truncated`.
 *
 * @example
 * const ac = new AbortController();
 * process.once('SIGINT', () => ac.abort());
 * const r = await replayCapture('trace.pcap', { multiplier: 2, loop: 0, signal: ac.signal }, async (frames) => {
 *   await producer.send(frames);
 * });
 * console.log(`${r.frames} frames, ${r.pps.toFixed(0)} pps, mean lateness ${r.meanLatenessMs.toFixed(2)} ms`);
 */
export async function replayCapture(
  path: string,
  options: ReplayOptions,
  onBatch: BatchCallback,
): Promise<ReplayResult> {
  const loop = options.loop ?? 1;
  if (!Number.isInteger(loop) || loop < 0)
    throw new PipelineError('PCS_CONFIG', `loop must be a whole number >= 0, got ${String(loop)}`);
  if (path === '-' && loop !== 1)
    throw new PipelineError('PCS_CONFIG', 'stdin can be replayed only once: loop needs a file');
  const r = new Replayer(options, onBatch);
  let truncated: TruncatedCaptureError | null = null;
  let stoppedEarly = false;
  let passes = 0;
  // Pass 0 always begins (a stop asked for already ends it after the first chunk).
  let last!: ReadResult;
  for (let k = 0; loop === 0 || k < loop; k++) {
    if (k > 0 && r.stopRequested()) {
      stoppedEarly = true;
      break;
    }
    r.beginPass(k);
    passes++;
    last = await readCapture(path, r.onFrame, {
      sliceBytes: PARSE_SLICE_BYTES,
      afterChunk: () => r.drain(false),
      shouldStop: () => r.stopRequested(),
    });
    if (!last.stoppedEarly) await r.drain(true);
    if (last.stoppedEarly || r.pending > 0) {
      stoppedEarly = true;
      break;
    }
    truncated ??= last.truncated;
    // An empty capture would loop forever without sending anything.
    if (r.passFrames === 0) break;
  }
  const endMs = performance.now();
  const elapsedSec = Number.isNaN(r.origin) ? 0 : Math.max(0, (endMs - r.origin) / 1000);
  const lat = r.lateness();
  return {
    frames: r.frames,
    bytes: r.bytes,
    wireBytes: r.wireBytes,
    batches: r.batches,
    passes,
    elapsedSec,
    captureSpanSec: r.captureSpanNs / NS_PER_S,
    pps: elapsedSec > 0 ? r.frames / elapsedSec : 0,
    mbps: elapsedSec > 0 ? (r.wireBytes * 8) / elapsedSec / 1e6 : 0,
    meanLatenessMs: lat.mean,
    maxLatenessMs: lat.max,
    shiftedMs: r.shiftedMs,
    stoppedEarly,
    truncated,
    input: last.input,
    parser: last.parser,
  };
}
