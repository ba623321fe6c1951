/**
 * Capture source contract.
 *
 * A capture parser is a push parser: the input layer (`sources/input/`) feeds it chunks of bytes
 * in order, of any size, and it calls `onFrame` once per packet, synchronously, before `push`
 * returns. This one shape serves files, gzip streams and stdin alike and keeps memory constant:
 * a parser holds at most one partial record between chunks.
 *
 * Buffer ownership: the `Frame` passed to `onFrame` is one object reused for every packet, and
 * `frame.buf` may be the caller's chunk or the parser's own carry buffer. Both are valid only
 * during the call. A consumer that keeps packet bytes copies `buf.subarray(off, off + caplen)`.
 *
 * Errors: a bad file header throws `PipelineError('PCS_SOURCE_FORMAT')` from the first `push`.
 * A damaged record in the middle makes the parser stop delivering and `end()` throws a
 * `TruncatedCaptureError` naming the byte offset and how many frames came before it. A bad
 * pcapng block that can be skipped safely (an unknown block type, an undecodable option) is
 * counted in `stats` and skipped: recoverable, never fatal.
 */

/** One captured packet, as handed to `onFrame`. Reused: valid only during the callback. */
export class Frame {
  buf: Uint8Array = new Uint8Array(0);
  off = 0;
  /** Bytes present in `buf` from `off`. */
  caplen = 0;
  /** Length of the packet on the wire (may exceed `caplen` when the snaplen cut it). */
  wirelen = 0;
  tsSec = 0;
  tsNanos = 0;
  /** Decimal digits of timestamp precision the capture carries (6 for µs, 9 for ns). */
  tsDigits = 6;
  /** pcapng interface index within the file (sections numbered on); 0 for classic pcap. */
  interfaceId = 0;
  linkType = 0;
  /** Packet comment (pcapng `opt_comment`); '' when none. */
  comment = '';
}

/** Counters a parser keeps about the container, for `stats` and the heartbeat. */
export interface ContainerStats {
  format: 'pcap' | 'pcapng' | 'snoop';
  /** Byte order of the (last) section: 'le' or 'be'. */
  byteOrder: 'le' | 'be';
  sections: number;
  interfaces: number;
  /** Block type name to count, for every block (pcapng) read, skipped or not. */
  blocks: Record<string, number>;
  /** Blocks skipped because they carry no packets (NRB, ISB, DSB, custom, unknown). */
  skippedBlocks: number;
  /** Recoverable problems met, e.g. an option running past its block. */
  warnings: string[];
}

export interface CaptureParser {
  /** Feed the next chunk. May call `onFrame` many times. */
  push(chunk: Uint8Array): void;
  /** Input finished. Throws `TruncatedCaptureError` if it ended inside a record or block. */
  end(): void;
  /** Frames delivered so far. */
  readonly frames: number;
  /** Bytes consumed so far (whole records only). */
  readonly offset: number;
  readonly stats: ContainerStats;
}

export type FrameCallback = (frame: Frame) => void;

/** Largest record we accept; a bigger length field means the file is damaged. */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
