/**
 * Packet batch wire format: the value of every message on the packets topic. Compact binary,
 * little-endian, so a JVM or Python consumer (Spark, Flink, ksqlDB UDFs) reads it with a plain
 * byte buffer. Documented in `docs/wire-formats.md`.
 *
 *   header, 32 bytes
 *     0  u32  magic 0x31425350 ("PSB1" as bytes P S B 1)
 *     4  u16  format version (1)
 *     6  u16  flags: bit 0 END, the producer's last batch for this partition
 *     8  u32  producer id, low word   } random per sensor run: who numbered the batches
 *    12  u32  producer id, high word  }
 *    16  f64  batch sequence number of this producer in this partition, from 1
 *    24  u32  frame count
 *    28  u32  reserved (0)
 *   then per frame, 36 bytes + data, padded to a multiple of 4
 *     0  f64  timestamp seconds (pcapng allows times past 2106, so not a u32)
 *     8  f64  frame number in the producer's input, from 1 (0 for ticks and ends)
 *    16  u32  timestamp nanoseconds
 *    20  u32  wire length
 *    24  u32  captured length (bytes of data that follow)
 *    28  u16  link type (pcap LINKTYPE_*)
 *    30  u16  kind: 0 packet, 1 clock tick, 2 end of input (ticks and ends carry no data)
 *    32  u32  lateness: µs the frame's time lies behind the newest time the sensor had seen
 *             before it (0 when capture time did not go back; capped at 2^32 − 1)
 *    36  ...  data
 *
 * Why ticks and lateness: a flow engine's clock is the newest packet time of the whole input,
 * and its expiry sweeps run when that clock crosses a second. A processor sees only its
 * partitions' packets, so the sensor, which sees all, sends the clock along: a tick frame in
 * every partition where one engine over the whole input would sweep, and each frame's
 * lateness. Processors then expire flows at the same moments one engine would.
 *
 * The sequence number makes redelivery harmless: a processor's checkpoint records the last
 * sequence it applied per producer, and skips batches at or below it.
 */
import { PipelineError } from '../../core/errors.ts';

export const PACKET_BATCH_MAGIC = 0x31425350;
export const PACKET_BATCH_VERSION = 1;
export const PACKET_BATCH_HEADER_LEN = 32;
export const PACKET_BATCH_FRAME_HEADER_LEN = 36;
/** Flag: no more batches from this producer on this partition. */
export const PACKET_BATCH_END = 1;

/** Frame kinds. */
export const FRAME_PACKET = 0;
/** The input's clock reached the frame's time: sweep expired flows now. */
export const FRAME_TICK = 1;
/** The input ended; the frame's time is its newest. */
export const FRAME_END = 2;

/** One frame inside a batch. `data` is a view into the batch bytes when decoded. */
export interface BatchFrame {
  tsSec: number;
  tsNanos: number;
  wirelen: number;
  linkType: number;
  /** FRAME_PACKET, FRAME_TICK or FRAME_END. */
  kind: number;
  /** µs behind the input's clock (see the format comment). */
  lateUs: number;
  /** Frame number in the producer's input, from 1; 0 for ticks and ends. */
  frameNumber: number;
  data: Uint8Array;
}

export interface PacketBatchHeader {
  flags: number;
  /** Producer id as 16 hex digits. */
  producer: string;
  seq: number;
  frames: number;
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * Writes one batch frame by frame into a reused buffer, so a sensor keeps no object per packet:
 * `add` copies the frame's header fields and bytes in place, `seal` writes the batch header and
 * returns the message (a copy; the builder starts over).
 * @example
 * const b = new PacketBatchBuilder();
 * b.add(sec, nanos, wirelen, 1, FRAME_PACKET, 0, 1, bytes);
 * const msg = b.seal([lo, hi], 1, 0);
 */
export class PacketBatchBuilder {
  private buf = new Uint8Array(64 * 1024);
  private view = new DataView(this.buf.buffer);
  private len = PACKET_BATCH_HEADER_LEN;
  /** Frames added since the last `seal`. */
  frames = 0;

  /** Bytes the batch would take now. */
  get byteLength(): number {
    return this.len;
  }

  add(
    tsSec: number,
    tsNanos: number,
    wirelen: number,
    linkType: number,
    kind: number,
    lateUs: number,
    frameNumber: number,
    data: Uint8Array,
  ): void {
    const size = data.byteLength;
    const need = this.len + PACKET_BATCH_FRAME_HEADER_LEN + pad4(size);
    if (need > this.buf.byteLength) {
      const grown = new Uint8Array(Math.max(need, this.buf.byteLength * 2));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    const v = this.view;
    const o = this.len;
    v.setFloat64(o, tsSec, true);
    v.setFloat64(o + 8, frameNumber, true);
    v.setUint32(o + 16, tsNanos >>> 0, true);
    v.setUint32(o + 20, wirelen >>> 0, true);
    v.setUint32(o + 24, size, true);
    v.setUint16(o + 28, linkType & 0xffff, true);
    v.setUint16(o + 30, kind, true);
    v.setUint32(o + 32, Math.min(lateUs, 0xffffffff) >>> 0, true);
    this.buf.set(data, o + PACKET_BATCH_FRAME_HEADER_LEN);
    // Padding bytes of a reused buffer would otherwise carry an earlier batch's bytes.
    this.buf.fill(0, o + PACKET_BATCH_FRAME_HEADER_LEN + size, need);
    this.len = need;
    this.frames++;
  }

  /** The batch message: header written, frames as added. The builder is empty afterwards. */
  seal(producer: readonly [number, number], seq: number, flags: number): Uint8Array {
    const v = this.view;
    v.setUint32(0, PACKET_BATCH_MAGIC, true);
    v.setUint16(4, PACKET_BATCH_VERSION, true);
    v.setUint16(6, flags, true);
    v.setUint32(8, producer[0] >>> 0, true);
    v.setUint32(12, producer[1] >>> 0, true);
    v.setFloat64(16, seq, true);
    v.setUint32(24, this.frames, true);
    v.setUint32(28, 0, true);
    const out = this.buf.slice(0, this.len);
    this.len = PACKET_BATCH_HEADER_LEN;
    this.frames = 0;
    return out;
  }
}

/**
 * Builds one batch message from frame objects. `producer` is two 32-bit words (see `newProducerId`).
 * @example
 * const bytes = encodePacketBatch(frames, { producer: [lo, hi], seq: 1, flags: 0 });
 */
export function encodePacketBatch(
  frames: readonly BatchFrame[],
  h: { producer: readonly [number, number]; seq: number; flags: number },
): Uint8Array {
  const b = new PacketBatchBuilder();
  for (const f of frames) b.add(f.tsSec, f.tsNanos, f.wirelen, f.linkType, f.kind, f.lateUs, f.frameNumber, f.data);
  return b.seal(h.producer, h.seq, h.flags);
}

function hex8(x: number): string {
  return (x >>> 0).toString(16).padStart(8, '0');
}

/**
 * Reads and checks a batch header. Throws `PipelineError('PCS_TRANSPORT')` naming the problem
 * when the bytes are not a batch this version understands.
 */
export function readPacketBatchHeader(bytes: Uint8Array): PacketBatchHeader {
  if (bytes.byteLength < PACKET_BATCH_HEADER_LEN) {
    throw new PipelineError('PCS_TRANSPORT', `packet batch of ${bytes.byteLength} bytes is shorter than its header`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = v.getUint32(0, true);
  if (magic !== PACKET_BATCH_MAGIC) {
    throw new PipelineError('PCS_TRANSPORT', `not a packet batch (magic 0x${magic.toString(16)})`);
  }
  const version = v.getUint16(4, true);
  if (version !== PACKET_BATCH_VERSION) {
    throw new PipelineError('PCS_TRANSPORT', `packet batch format version ${version} is not supported (1 is)`);
  }
  const seq = v.getFloat64(16, true);
  if (!Number.isSafeInteger(seq) || seq < 1) throw new PipelineError('PCS_TRANSPORT', `bad batch sequence ${seq}`);
  return {
    flags: v.getUint16(6, true),
    producer: hex8(v.getUint32(12, true)) + hex8(v.getUint32(8, true)),
    seq,
    frames: v.getUint32(24, true),
  };
}

/**
 * Calls `onFrame` for each frame of a checked batch. The frame object and its `data` view are
 * reused/borrowed: valid only during the call. Throws `PipelineError('PCS_TRANSPORT')` if a
 * frame runs past the end or the count disagrees with the bytes (frames before it were delivered).
 * @example
 * forEachBatchFrame(bytes, (f) => { frame.buf = f.data; ... });
 */
export function forEachBatchFrame(bytes: Uint8Array, onFrame: (f: BatchFrame, index: number) => void): number {
  const h = readPacketBatchHeader(bytes);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const f: BatchFrame = {
    tsSec: 0,
    tsNanos: 0,
    wirelen: 0,
    linkType: 0,
    kind: 0,
    lateUs: 0,
    frameNumber: 0,
    data: bytes.subarray(0, 0),
  };
  let o = PACKET_BATCH_HEADER_LEN;
  for (let i = 0; i < h.frames; i++) {
    if (o + PACKET_BATCH_FRAME_HEADER_LEN > bytes.byteLength) {
      throw new PipelineError('PCS_TRANSPORT', `packet batch ends inside frame ${i + 1} of ${h.frames}`);
    }
    const len = v.getUint32(o + 24, true);
    const start = o + PACKET_BATCH_FRAME_HEADER_LEN;
    if (start + len > bytes.byteLength) {
      throw new PipelineError('PCS_TRANSPORT', `frame ${i + 1} of the packet batch runs past its end`);
    }
    f.tsSec = v.getFloat64(o, true);
    f.frameNumber = v.getFloat64(o + 8, true);
    f.tsNanos = v.getUint32(o + 16, true);
    f.wirelen = v.getUint32(o + 20, true);
    f.linkType = v.getUint16(o + 28, true);
    f.kind = v.getUint16(o + 30, true);
    f.lateUs = v.getUint32(o + 32, true);
    f.data = bytes.subarray(start, start + len);
    onFrame(f, i);
    o = start + pad4(len);
  }
  return h.frames;
}

/**
 * A random producer id (two 32-bit words).
 * @example
 * const id = newProducerId();
 */
export function newProducerId(): [number, number] {
  const w = new Uint32Array(2);
  crypto.getRandomValues(w);
  return [w[0]!, w[1]!];
}
