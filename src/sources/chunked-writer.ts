/**
 * Shared output buffering for the capture writers (pcap, pcapng).
 *
 * Records are built into one large buffer (4 MiB by default) and handed to the sink only when it
 * is full or on `flush()`/`close()`, so writing a packet is a few stores into memory and the sink
 * sees whole chunks: no system call per packet.
 *
 * Sinks
 * - A file descriptor (number): each chunk goes out with `fs.writeSync` and the buffer is reused at
 *   once. The descriptor belongs to the caller: `close()` flushes but does not close it.
 * - A `Writable` stream: the full buffer is handed to `stream.write()` whole (no copy) and the
 *   writer carries on in another buffer; a buffer comes back to a small free list when the stream
 *   reports it written. When `stream.write()` asks for backpressure, `needsDrain` turns true and
 *   `drain()` resolves once the stream has drained. `close()` ends the stream and waits for it.
 *
 * Zero-copy writing: a producer that builds packets itself calls `reserve(n)`, writes up to `n`
 * bytes into `buf` at the returned offset, then commits through the format's own method. `buf`
 * may be a different object after any `reserve()`, so read it after the call, never before.
 *
 * Errors: a failed write throws `PipelineError('PCS_SINK_WRITE')`, from the call that flushed for
 * a descriptor, and from the next write, `drain()` or `close()` for a stream.
 */
import { writeSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { PipelineError } from '../core/errors.ts';

/** Where a capture writer sends its bytes: an open file descriptor or a writable stream. */
export type CaptureSink = number | Writable;

/** Default size of the output buffer: large enough that flushes are rare, small enough to reuse. */
export const DEFAULT_WRITE_BUFFER = 4 * 1024 * 1024;

/** How many spare buffers a stream sink keeps for reuse once the stream has written them. */
const MAX_SPARE_BUFFERS = 2;

/**
 * The buffer and sink shared by the capture writers; see the file comment.
 *
 * @example
 * const w = new ChunkedWriter(fs.createWriteStream('out.bin'));
 * const o = w.reserve(4);
 * w.buf.writeUInt32LE(0xa1b2c3d4, o);
 * w.pos = o + 4;
 * await w.close();
 */
export class ChunkedWriter {
  /** The buffer records are built in. Replaced after a flush to a stream: re-read it after `reserve()`. */
  buf: Buffer;
  /** Bytes of `buf` holding records not yet flushed. */
  pos = 0;
  /** Bytes handed to the sink so far. */
  flushed = 0;
  /** True when the stream sink asked for backpressure; `await drain()` before writing much more. */
  needsDrain = false;
  private readonly fd: number;
  private readonly stream: Writable | null;
  private readonly bufferSize: number;
  private readonly spare: Buffer[] = [];
  private error: Error | null = null;
  private closed = false;

  constructor(sink: CaptureSink, bufferSize: number = DEFAULT_WRITE_BUFFER) {
    if (!Number.isInteger(bufferSize) || bufferSize < 64)
      throw new PipelineError('PCS_CONFIG', `write buffer size must be an integer of at least 64, got ${bufferSize}`);
    this.bufferSize = bufferSize;
    this.buf = Buffer.allocUnsafe(bufferSize);
    if (typeof sink === 'number') {
      this.fd = sink;
      this.stream = null;
    } else {
      this.fd = -1;
      this.stream = sink;
      sink.on('error', (err: Error) => {
        this.error ??= err;
      });
    }
  }

  /** Total bytes produced: flushed plus still buffered. */
  get size(): number {
    return this.flushed + this.pos;
  }

  /**
   * Make room for `n` more bytes at `pos`, flushing first when they do not fit. Returns `pos`.
   * A record larger than the whole buffer gets a buffer of its own size.
   */
  reserve(n: number): number {
    if (this.pos + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
    }
    return this.pos;
  }

  /** Hand the buffered bytes to the sink now. */
  flush(): void {
    this.check();
    const n = this.pos;
    if (n === 0) return;
    if (this.stream === null) {
      let done = 0;
      try {
        while (done < n) done += writeSync(this.fd, this.buf, done, n - done);
      } catch (err) {
        throw new PipelineError('PCS_SINK_WRITE', `capture write failed: ${(err as Error).message}`, { cause: err });
      }
    } else {
      const out = this.buf;
      const chunk = n === out.length ? out : out.subarray(0, n);
      const ok = this.stream.write(chunk, (err) => {
        if (err) this.error ??= err;
        else if (out.length === this.bufferSize && this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(out);
      });
      if (!ok) this.needsDrain = true;
      this.buf = this.spare.pop() ?? Buffer.allocUnsafe(this.bufferSize);
    }
    this.flushed += n;
    this.pos = 0;
  }

  /** Resolve when a stream sink that asked for backpressure has drained (at once otherwise). */
  async drain(): Promise<void> {
    this.check();
    const s = this.stream;
    if (s === null || !this.needsDrain) return;
    if (s.writableNeedDrain) {
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error) => {
          s.off('drain', done);
          s.off('error', done);
          if (err) reject(err);
          else resolve();
        };
        s.on('drain', done);
        s.on('error', done);
      }).catch((err: unknown) => {
        throw new PipelineError('PCS_SINK_WRITE', `capture write failed: ${(err as Error).message}`, { cause: err });
      });
    }
    this.needsDrain = false;
  }

  /**
   * Flush what is buffered and finish: a stream sink is ended and waited for; a descriptor is
   * left open for its owner. Calling it again does nothing.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    const s = this.stream;
    if (s === null) return;
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.end(() => resolve());
    }).catch((err: unknown) => {
      throw new PipelineError('PCS_SINK_WRITE', `capture write failed: ${(err as Error).message}`, { cause: err });
    });
    this.checkError();
  }

  private check(): void {
    this.checkError();
    if (this.closed) throw new PipelineError('PCS_SINK_WRITE', 'capture writer is closed');
  }

  private checkError(): void {
    if (this.error !== null)
      throw new PipelineError('PCS_SINK_WRITE', `capture write failed: ${this.error.message}`, { cause: this.error });
  }
}
