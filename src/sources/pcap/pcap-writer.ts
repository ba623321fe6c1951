/**
 * Classic libpcap file writer (little-endian).
 *
 * File header, 24 bytes (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/):
 *   magic:32 (0xa1b2c3d4 µs, 0xa1b23c4d ns)  version 2.4  thiszone:32 = 0  sigfigs:32 = 0
 *   snaplen:32  linktype:32
 * Record header, 16 bytes, then `incl_len` bytes of packet:
 *   ts_sec:32  ts_frac:32 (µs or ns)  incl_len:32  orig_len:32
 *
 * Records are built in a large reused buffer and flushed in whole chunks (see
 * `sources/chunked-writer.ts` for sinks, buffer ownership and errors). A packet longer than the
 * snaplen is cut to it; `orig_len` keeps its length on the wire.
 */
import { PipelineError } from '../../core/errors.ts';
import type { CaptureSink } from '../chunked-writer.ts';
import { ChunkedWriter, DEFAULT_WRITE_BUFFER } from '../chunked-writer.ts';
import { PCAP_FILE_HEADER_LEN, PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC, PCAP_RECORD_HEADER_LEN } from './pcap-reader.ts';

/** LINKTYPE_ETHERNET: the default link type. */
export const LINKTYPE_ETHERNET = 1;
/** Default snaplen: what tcpdump and dumpcap write today. */
export const PCAP_DEFAULT_SNAPLEN = 262144;

export interface PcapWriterOptions {
  /** Nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds. Default false. */
  nanos?: boolean;
  /** Largest number of bytes kept per packet. Default 262144. */
  snaplen?: number;
  /** LINKTYPE_* value of every packet. Default 1 (Ethernet). */
  linkType?: number;
  /** Size of the output buffer in bytes. Default 4 MiB. */
  bufferSize?: number;
}

/**
 * Writes a classic pcap file to a file descriptor or a writable stream.
 *
 * @example
 * const fd = fs.openSync('out.pcap', 'w');
 * const w = new PcapWriter(fd, { snaplen: 65535 });
 * w.writePacket(1700000000, 123_000, frameBytes);
 * await w.close();
 * fs.closeSync(fd);
 */
export class PcapWriter extends ChunkedWriter {
  readonly nanos: boolean;
  readonly snaplen: number;
  readonly linkType: number;
  /** Packets written so far. */
  packets = 0;

  constructor(sink: CaptureSink, options: PcapWriterOptions = {}) {
    super(sink, options.bufferSize ?? DEFAULT_WRITE_BUFFER);
    this.nanos = options.nanos ?? false;
    this.snaplen = options.snaplen ?? PCAP_DEFAULT_SNAPLEN;
    this.linkType = options.linkType ?? LINKTYPE_ETHERNET;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > 0x7fffffff)
      throw new PipelineError('PCS_CONFIG', `pcap snaplen must be a positive integer, got ${this.snaplen}`);
    if (!Number.isInteger(this.linkType) || this.linkType < 0 || this.linkType > 0xffff)
      throw new PipelineError('PCS_CONFIG', `pcap link type must be 0..65535, got ${this.linkType}`);
    const o = this.reserve(PCAP_FILE_HEADER_LEN);
    const b = this.buf;
    b.writeUInt32LE(this.nanos ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, o);
    b.writeUInt16LE(2, o + 4);
    b.writeUInt16LE(4, o + 6);
    b.writeInt32LE(0, o + 8);
    b.writeUInt32LE(0, o + 12);
    b.writeUInt32LE(this.snaplen, o + 16);
    b.writeUInt32LE(this.linkType, o + 20);
    this.pos = o + PCAP_FILE_HEADER_LEN;
  }

  /**
   * Reserve room for a packet of up to `maxLen` bytes and return the offset in `buf` where its
   * bytes go; finish it with `commitPacket`. Read `buf` after this call (a flush may replace it).
   */
  beginPacket(maxLen: number): number {
    return this.reserve(PCAP_RECORD_HEADER_LEN + maxLen) + PCAP_RECORD_HEADER_LEN;
  }

  /**
   * Finish the packet begun with `beginPacket`: `length` bytes were written at its offset;
   * `wireLength` (default `length`) is its length on the wire.
   */
  commitPacket(tsSec: number, tsNanos: number, length: number, wireLength: number = length): void {
    const b = this.buf;
    const o = this.pos;
    const incl = Math.min(length, this.snaplen);
    const frac = this.nanos ? tsNanos : Math.floor(tsNanos / 1000);
    b[o] = tsSec;
    b[o + 1] = tsSec >>> 8;
    b[o + 2] = tsSec >>> 16;
    b[o + 3] = tsSec >>> 24;
    b[o + 4] = frac;
    b[o + 5] = frac >>> 8;
    b[o + 6] = frac >>> 16;
    b[o + 7] = frac >>> 24;
    b[o + 8] = incl;
    b[o + 9] = incl >>> 8;
    b[o + 10] = incl >>> 16;
    b[o + 11] = incl >>> 24;
    b[o + 12] = wireLength;
    b[o + 13] = wireLength >>> 8;
    b[o + 14] = wireLength >>> 16;
    b[o + 15] = wireLength >>> 24;
    this.pos = o + PCAP_RECORD_HEADER_LEN + incl;
    this.packets++;
  }

  /**
   * Write one packet. `bytes` is copied; the caller may reuse it at once. Returns false when a
   * stream sink asked for backpressure (see `drain()`), true otherwise.
   */
  writePacket(tsSec: number, tsNanos: number, bytes: Uint8Array, wireLength: number = bytes.length): boolean {
    const len = Math.min(bytes.length, this.snaplen);
    const o = this.beginPacket(len);
    this.buf.set(len === bytes.length ? bytes : bytes.subarray(0, len), o);
    this.commitPacket(tsSec, tsNanos, len, Math.max(wireLength, len));
    return !this.needsDrain;
  }
}
