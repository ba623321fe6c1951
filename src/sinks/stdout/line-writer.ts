/**
 * Batched line output with back-pressure.
 *
 * Lines are collected in an array and written as one string per batch; `flush()` returns a
 * promise that settles once the stream has room again, so the reader waits for a slow consumer
 * (a pipe into `less`) instead of buffering the capture in memory. A closed pipe (EPIPE, e.g.
 * `| head`) ends output quietly: `closed` turns true and later lines are dropped.
 */
import { PipelineError } from '../../core/errors.ts';

export class LineWriter {
  private lines: string[] = [];
  private pendingChars = 0;
  closed = false;
  private failure: Error | null = null;
  private readonly out: NodeJS.WritableStream;

  constructor(out: NodeJS.WritableStream = process.stdout) {
    this.out = out;
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.closed = true;
      else this.failure = err;
    });
  }

  private chunks: Uint8Array[] = [];

  /** Queue one line (without its newline). */
  line(s: string): void {
    this.lines.push(s);
    this.pendingChars += s.length;
  }

  /** Queue bytes that already hold whole lines (the JSON writer's output). Not copied. */
  bytes(b: Uint8Array): void {
    if (b.length > 0) this.chunks.push(b);
  }

  /** True when enough is queued that the caller should flush. */
  get full(): boolean {
    return this.pendingChars > 1 << 20;
  }

  async flush(): Promise<void> {
    if (this.failure) throw new PipelineError('PCS_SINK_WRITE', `cannot write output: ${this.failure.message}`);
    if (this.lines.length === 0 && this.chunks.length === 0) return;
    let ok = true;
    if (this.lines.length > 0) {
      const text = this.lines.join('\n') + '\n';
      this.lines = [];
      this.pendingChars = 0;
      if (!this.closed) ok = this.out.write(text);
    }
    for (const c of this.chunks) if (!this.closed) ok = this.out.write(c) && ok;
    this.chunks = [];
    if (this.closed) return;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.out.off('drain', done);
          this.out.off('error', done);
          this.out.off('close', done);
          resolve();
        };
        this.out.on('drain', done);
        this.out.on('error', done);
        this.out.on('close', done);
      });
    }
  }

  /** Flush and wait until everything written has been handed to the OS. */
  async end(): Promise<void> {
    await this.flush();
    if (this.closed || this.out === process.stdout) return;
    await new Promise<void>((resolve) => this.out.end(resolve));
  }
}
