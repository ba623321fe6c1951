/**
 * Read a whole capture: open the input, detect the container by its magic bytes (never the file
 * name), and push every chunk through the matching parser.
 *
 * `onFrame` runs synchronously for each packet (see `core/source.ts` for buffer ownership).
 * `afterChunk` runs between chunks and may return a promise: that is where consumers flush and
 * wait for back-pressure, so a slow sink slows reading instead of growing memory.
 */
import { PipelineError, TruncatedCaptureError } from '../core/errors.ts';
import type { CaptureParser, FrameCallback } from '../core/source.ts';
import type { ByteInput } from './input/open-input.ts';
import { GzipDamagedError, openInput } from './input/open-input.ts';
import { isPcapMagic, PcapReader } from './pcap/pcap-reader.ts';
import { isPcapngMagic, PcapngReader } from './pcapng/pcapng-reader.ts';
import { isSnoopMagic, SnoopReader } from './snoop/snoop-reader.ts';

export interface ReadOptions {
  /** Called after each chunk with the input (for progress); may return a promise to wait on. */
  afterChunk?: (input: ByteInput, parser: CaptureParser) => void | Promise<void>;
  /** Polled between chunks: true stops reading early (a --limit reached, a signal). */
  shouldStop?: () => boolean;
  /**
   * Feed the parser at most this many bytes at a time, calling `afterChunk` and `shouldStop`
   * after each slice: a paced consumer (replay) then holds a slice's frames, not a 4 MiB chunk's.
   */
  sliceBytes?: number;
}

export interface ReadResult {
  input: ByteInput;
  parser: CaptureParser;
  /** The capture ended inside a record: everything before it was delivered. */
  truncated: TruncatedCaptureError | null;
  stoppedEarly: boolean;
}

function hex4(b: Uint8Array): string {
  return Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Choose the parser from the first bytes.
 * @example
 * const parser = createParser(firstChunk, (frame) => count++);
 */
export function createParser(head: Uint8Array, onFrame: FrameCallback, name = 'input'): CaptureParser {
  if (isPcapngMagic(head)) return new PcapngReader(onFrame);
  if (isPcapMagic(head)) return new PcapReader(onFrame);
  if (isSnoopMagic(head)) return new SnoopReader(onFrame);
  if (head.length < 8 && !isPcapMagic(head))
    throw new PipelineError('PCS_SOURCE_FORMAT', `${name} is too short to be a capture (${head.length} bytes)`);
  throw new PipelineError(
    'PCS_SOURCE_FORMAT',
    `${name} is not a pcap, pcapng or snoop capture (first bytes: ${hex4(head)})`,
  );
}

/**
 * Read `path` (`-` for stdin) to the end, calling `onFrame` per packet.
 * @example
 * const r = await readCapture('trace.pcapng', (f) => decodeFrame(ctx, f));
 * if (r.truncated) console.error(r.truncated.message);
 */
export async function readCapture(path: string, onFrame: FrameCallback, opts: ReadOptions = {}): Promise<ReadResult> {
  const input = openInput(path);
  let parser: CaptureParser | null = null;
  let pending: Uint8Array | null = null;
  let stoppedEarly = false;
  let gzipDamage: GzipDamagedError | null = null;
  try {
    const slice = opts.sliceBytes ?? Number.POSITIVE_INFINITY;
    try {
      reading: for await (const chunk of input.chunks()) {
        let bytes = chunk;
        if (parser === null) {
          // Sniff on at least 8 bytes (the snoop magic); a first chunk can be as small as the 2-byte gzip probe.
          const head: Uint8Array = pending === null ? chunk : concat(pending, chunk);
          if (head.length < 8) {
            pending = head.slice();
            continue;
          }
          pending = null;
          parser = createParser(head, onFrame, input.name);
          bytes = head;
        }
        for (let o = 0; o < bytes.length; o += slice) {
          parser.push(o === 0 && slice >= bytes.length ? bytes : bytes.subarray(o, o + slice));
          if (opts.afterChunk) await opts.afterChunk(input, parser);
          if (opts.shouldStop?.()) {
            stoppedEarly = true;
            break reading;
          }
        }
      }
    } catch (err) {
      // A damaged gzip stream ends the input like a cut file: what inflated before it is kept.
      if (!(err instanceof GzipDamagedError)) throw err;
      gzipDamage = err;
    }
    if (parser === null) {
      // Damaged before a capture header could even be recognised: nothing to keep.
      if (gzipDamage !== null) throw gzipDamage;
      parser = createParser(pending ?? new Uint8Array(0), onFrame, input.name);
    }
    let truncated: TruncatedCaptureError | null = null;
    if (!stoppedEarly) {
      try {
        parser.end();
      } catch (err) {
        if (err instanceof TruncatedCaptureError) truncated = err;
        else throw err;
      }
    }
    if (gzipDamage !== null) {
      const cut = truncated?.message ?? `${parser.frames} packets before it were read`;
      truncated = new TruncatedCaptureError(`${gzipDamage.message}; ${cut}`, parser.offset, parser.frames);
    }
    return { input, parser, truncated, stoppedEarly };
  } finally {
    input.close();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
