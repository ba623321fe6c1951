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

  /**
   * The next frame's time from whole seconds and a fraction in `unit`s of `nsPerUnit` ns: a
   * fraction of a second or more (damaged or crafted) carries into the seconds, with a warning.
   */
  protected setTime(sec: number, frac: number, nsPerUnit: number, unit: string): void {
    let nanos = frac * nsPerUnit;
    if (nanos >= 1e9) {
      const carry = Math.floor(nanos / 1e9);
      this.warn(
        `record ${this.frames + 1}: fraction ${frac} ${unit} is a second or more; ${carry} s carried into the seconds`,
      );
      sec += carry;
      nanos -= carry * 1e9;
    }
    this.frame.tsSec = sec;
    this.frame.tsNanos = nanos;
  }

  /** Record a recoverable problem in `stats.warnings`, keeping at most `MAX_WARNINGS`. */
  protected warn(message: string): void {
    const w = this.stats.warnings;
    if (w.length < MAX_WARNINGS) w.push(message);
    else if (w.length === MAX_WARNINGS) w.push('further warnings not recorded');
  }

  push(chunk: Uint8Array): void {
    if (this.damaged !== '' || chunk.length === 0) return;
    let pos = 0;
    // Finish the unit left over from the last chunk by moving bytes of this chunk into the
    // carry, a slice at a time (doubling), instead of copying the whole chunk: with 4 MiB chunks
    // that copy cost as much as parsing. Once the carry is consumed, parse the chunk in place.
    let step = 64 * 1024;
    while (this.carryLen > 0 && pos < chunk.length) {
      const take = Math.min(chunk.length - pos, Math.max(step, this.carryLen));
      step *= 2;
      const before = this.carryLen;
      const need = before + take;
      if (this.carry.length < need) {
        const grown = new Uint8Array(Math.max(need, this.carry.length * 2));
        grown.set(this.carry.subarray(0, before));
        this.carry = grown;
      }
      this.carry.set(chunk.subarray(pos, pos + take), before);
      pos += take;
      const used = this.parse(this.carry, 0, need);
      this.offset += used;
      if (this.damaged !== '') {
        this.carryLen = 0;
        return;
      }
      if (used >= before) {
        // The old carry is consumed: what is left of it came from this chunk, so step back.
        pos -= need - used;
        this.carryLen = 0;
      } else {
        if (used > 0) this.carry.copyWithin(0, used, need);
        this.carryLen = need - used;
      }
    }
    if (this.carryLen > 0) return; // the whole chunk went into the carry
    const used = this.parse(chunk, pos, chunk.length);
    this.offset += used - pos;
    if (this.damaged !== '') return;
    const rest = chunk.length - used;
    if (rest > 0) {
      if (this.carry.length < rest) this.carry = new Uint8Array(Math.max(rest, 64 * 1024));
      this.carry.set(chunk.subarray(used));
    }
    this.carryLen = rest;
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
