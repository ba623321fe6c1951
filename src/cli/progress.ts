/**
 * A one-line progress bar on stderr, shown only when stderr is a terminal and the input size is
 * known. Redrawn at most five times a second so it costs nothing measurable.
 */
export class Progress {
  private readonly enabled: boolean;
  private readonly stream: NodeJS.WriteStream;
  private last = 0;
  private drawn = false;
  private readonly started = Date.now();

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.stream = stream;
    this.enabled = stream.isTTY === true;
  }

  /** `total` is the input size in bytes, or -1 when unknown (stdin): then nothing is drawn. */
  update(done: number, total: number, packets: number): void {
    if (!this.enabled || total <= 0) return;
    const now = Date.now();
    if (now - this.last < 200) return;
    this.last = now;
    const frac = Math.min(1, done / total);
    this.drawn = true;
    const width = 30;
    const fill = Math.round(frac * width);
    const secs = (now - this.started) / 1000;
    const rate = secs > 0 ? packets / secs : 0;
    const eta = frac > 0 ? secs / frac - secs : 0;
    this.stream.write(
      `\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(1)}%  ${packets.toLocaleString('en-US')} pkts  ${Math.round(rate).toLocaleString('en-US')} pkt/s  eta ${eta.toFixed(0)}s `,
    );
  }

  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
  }
}
