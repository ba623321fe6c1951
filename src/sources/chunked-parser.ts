/**
 * Shared chunk handling for the push parsers (pcap, pcapng).
 *
 * A subclass implements `parse(buf, start, end)`: consume as many whole records as lie in
 * `[start, end)` and return the offset of the first byte not consumed. Whatever is left is kept
 * in a carry buffer and parsed again with the next chunk, so a record may straddle chunks and
 * memory stays at one chunk plus one record. Chunks without carry are parsed in place (no copy).
 * During `parse`, `offset` is the file offset of `buf[start]`, so `offset + (o - start)` names a
 * byte in messages.
 */
import type { PipelineError } from '../core/errors.ts';
import { TruncatedCaptureError } from '../core/errors.ts';
import type { ContainerStats, FrameCallback } from '../core/source.ts';
import { Frame } from '../core/source.ts';

/** Warnings kept in `stats.warnings`; a damaged file could otherwise grow the list without bound. */
export const MAX_WARNINGS = 100;

export abstract class ChunkedParser {
  protected readonly onFrame: FrameCallback;
  protected readonly frame = new Frame();
  frames = 0;
  /** Absolute file offset of the first unconsumed byte. */
  offset = 0;
  abstract readonly stats: ContainerStats;
  /** Set by a subclass when the data is damaged: nothing after it is delivered. */
  protected damaged = '';
  private carry = new Uint8Array(0);
  private carryLen = 0;

  constructor(onFrame: FrameCallback) {
    this.onFrame = onFrame;
  }

  /** Parse whole records in `[start, end)`; return the first unconsumed offset. */
  protected abstract parse(buf: Uint8Array, start: number, end: number): number;

  /** Name of the unit that was cut short, for messages: 'record' or 'block'. */
  protected abstract readonly unitName: string;

  /**
   * The error `end()` throws when the input is over, nothing was damaged and `present` bytes of
   * an unfinished unit are left (0 when the input ended on a unit boundary); `null` for a clean
   * end. The default reports a truncation when `present > 0`. A subclass overrides it to report
   * an input too short to hold its file header as a format error instead.
   */
  protected endError(present: number): PipelineError | null {
    if (present === 0) return null;
    return new TruncatedCaptureError(
      `capture truncated at byte ${this.offset}: the last ${this.unitName} is cut short (${present} bytes of it present); ${this.frames} packets before it were read`,
      this.offset,
      this.frames,
    );
  }

  /** Record a recoverable problem in `stats.warnings`, keeping at most `MAX_WARNINGS`. */
  protected warn(message: string): void {
    const w = this.stats.warnings;
    if (w.length < MAX_WARNINGS) w.push(message);
    else if (w.length === MAX_WARNINGS) w.push('further warnings not recorded');
  }

  push(chunk: Uint8Array): void {
    if (this.damaged !== '' || chunk.length === 0) return;
    let buf = chunk;
    let len = chunk.length;
    if (this.carryLen > 0) {
      const need = this.carryLen + chunk.length;
      if (this.carry.length < need) {
        const grown = new Uint8Array(Math.max(need, this.carry.length * 2));
        grown.set(this.carry.subarray(0, this.carryLen));
        this.carry = grown;
      }
      this.carry.set(chunk, this.carryLen);
      buf = this.carry;
      len = need;
    }
    const used = this.parse(buf, 0, len);
    this.offset += used;
    const rest = len - used;
    if (rest > 0 && this.damaged === '') {
      if (buf === this.carry) {
        // Nothing consumed (a unit still incomplete): the carry is already in place.
        if (used > 0) this.carry.copyWithin(0, used, len);
      } else {
        if (this.carry.length < rest) this.carry = new Uint8Array(Math.max(rest, 64 * 1024));
        this.carry.set(chunk.subarray(used, len));
      }
    }
    this.carryLen = this.damaged === '' ? rest : 0;
  }

  end(): void {
    if (this.damaged !== '') {
      throw new TruncatedCaptureError(
        `capture damaged at byte ${this.offset}: ${this.damaged}; ${this.frames} packets before it were read`,
        this.offset,
        this.frames,
      );
    }
    const err = this.endError(this.carryLen);
    if (err !== null) throw err;
  }
}
