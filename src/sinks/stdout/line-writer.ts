/**
 * Batched line output with back-pressure.
 *
 * Lines are collected in an array and written as one string per batch; `flush()` returns a
 * promise that settles once the stream has room again, so the reader waits for a slow consumer
 * (a pipe into `less`) instead of buffering the capture in memory. A closed pipe (EPIPE, e.g.
 * `| head`) ends output quietly: `closed` turns true and later lines are dropped.
 */
import fs from 'node:fs';
import { PipelineError } from '../../core/errors.ts';

/** The descriptor behind `out` when it is a regular file or a non-terminal device. */
function syncFd(out: NodeJS.WritableStream): number {
  const fd = (out as { fd?: unknown }).fd;
  if (typeof fd !== 'number') return -1;
  try {
    const st = fs.fstatSync(fd);
    return st.isFile() || (st.isCharacterDevice() && !(out as { isTTY?: boolean }).isTTY) ? fd : -1;
  } catch {
    return -1;
  }
}

function writeAllSync(fd: number, b: Uint8Array): void {
  let off = 0;
  try {
    while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
  } catch (err) {
    throw new PipelineError('PCS_SINK_WRITE', `cannot write output: ${(err as Error).message}`, { cause: err });
  }
}

export class LineWriter {
  private lines: string[] = [];
  closed = false;
  private failure: Error | null = null;
  private readonly out: NodeJS.WritableStream;

  /** File descriptor written synchronously when the output is a regular file or a device; -1 otherwise. */
  private readonly fd: number;

  constructor(out: NodeJS.WritableStream = process.stdout) {
    this.out = out;
    this.fd = syncFd(out);
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true;
      else this.failure = err;
    });
  }

  private chunks: Uint8Array[] = [];
  private done: (((b: Uint8Array) => void) | undefined)[] = [];

  /** Queue one line (without its newline). */
  line(s: string): void {
    this.lines.push(s);
  }

  /**
   * Queue bytes that already hold whole lines (the JSON writer's output). Not copied:
   * `written` is called once the stream no longer needs them.
   */
  bytes(b: Uint8Array, written?: (b: Uint8Array) => void): void {
    if (b.length === 0) {
      written?.(b);
      return;
    }
    this.chunks.push(b);
    this.done.push(written);
  }

  async flush(): Promise<void> {
    if (this.failure) throw new PipelineError('PCS_SINK_WRITE', `cannot write output: ${this.failure.message}`);
    if (this.lines.length === 0 && this.chunks.length === 0) return;
    let ok = true;
    if (this.lines.length > 0) {
      const text = this.lines.join('\n') + '\n';
      this.lines = [];
      if (!this.closed) ok = this.out.write(text);
    }
    for (let i = 0; i < this.chunks.length; i++) {
      const c = this.chunks[i]!;
      const cb = this.done[i];
      if (this.closed) continue;
      if (this.fd >= 0) {
        // Files and devices: write now, so the buffer is free for reuse at once.
        writeAllSync(this.fd, c);
        cb?.(c);
      } else ok = this.out.write(c, cb === undefined ? undefined : () => cb(c)) && ok;
    }
    this.chunks = [];
    this.done = [];
    if (this.closed) return;
    if (!ok) await this.drained();
  }

  /** One wait for 'drain' shared by every flush that finds the stream full (flushes may overlap). */
  private drainWait: Promise<void> | null = null;

  private drained(): Promise<void> {
    this.drainWait ??= new Promise<void>((resolve) => {
      const done = (): void => {
        this.out.off('drain', done);
        this.out.off('error', done);
        this.out.off('close', done);
        this.drainWait = null;
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('error', done);
      this.out.on('close', done);
    });
    return this.drainWait;
  }

  /** Flush and wait until everything written has been handed to the OS. */
  async end(): Promise<void> {
    await this.flush();
    if (this.closed || this.out === process.stdout) return;
    await new Promise<void>((resolve) => this.out.end(resolve));
  }
}
