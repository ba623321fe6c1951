/**
 * pcapng file writer (little-endian): one Section Header Block, one Interface Description Block,
 * then one Enhanced Packet Block per packet.
 *
 * Blocks (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/), all lengths in bytes:
 *   SHB 0x0a0d0d0a: total_len:32  bom:32 = 0x1a2b3c4d  major:16 = 1  minor:16 = 0
 *                   section_len:64 = -1  [shb_userappl]  total_len:32
 *   IDB 0x00000001: total_len:32  linktype:16  reserved:16  snaplen:32  [if_tsresol]  total_len:32
 *   EPB 0x00000006: total_len:32  interface_id:32  ts_high:32  ts_low:32  cap_len:32  orig_len:32
 *                   data (padded to 32 bits)  total_len:32
 * Options are code:16 length:16 value (padded to 32 bits), closed by opt_endofopt (0, 0).
 * Timestamps count microseconds since the epoch (the IDB default), or nanoseconds when the
 * writer is built with `nanos` (the IDB then carries if_tsresol = 9).
 *
 * Buffering, sinks and errors as in `sources/chunked-writer.ts`.
 */
import { PipelineError } from '../../core/errors.ts';
import type { CaptureSink } from '../chunked-writer.ts';
import { ChunkedWriter, DEFAULT_WRITE_BUFFER } from '../chunked-writer.ts';

/** Section Header Block type. */
export const PCAPNG_BT_SHB = 0x0a0d0d0a;
/** Interface Description Block type. */
export const PCAPNG_BT_IDB = 0x00000001;
/** Enhanced Packet Block type. */
export const PCAPNG_BT_EPB = 0x00000006;
/** Byte-order magic of the SHB. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** shb_userappl: name of the application that wrote the section. */
const PCAPNG_OPT_SHB_USERAPPL = 4;
/** if_tsresol: timestamp resolution of the interface (a power of ten when the top bit is clear). */
const PCAPNG_OPT_IF_TSRESOL = 9;
/** EPB bytes before the packet data. */
export const PCAPNG_EPB_HEADER_LEN = 28;
/** LINKTYPE_ETHERNET: the default link type. */
const LINKTYPE_ETHERNET = 1;
/** Default snaplen: what dumpcap writes today. */
const PCAPNG_DEFAULT_SNAPLEN = 262144;
/** 2^32, to split 64-bit timestamps into two words. */
const TWO_32 = 4294967296;

export interface PcapngWriterOptions {
  /** Nanosecond timestamps (if_tsresol = 9) instead of microseconds. Default false. */
  nanos?: boolean;
  /** Largest number of bytes kept per packet. Default 262144. */
  snaplen?: number;
  /** LINKTYPE_* value of the one interface. Default 1 (Ethernet). */
  linkType?: number;
  /** Written as the SHB's shb_userappl option when not empty. Default 'pcapstream'. */
  application?: string;
  /** Size of the output buffer in bytes. Default 4 MiB. */
  bufferSize?: number;
}

/**
 * Writes a pcapng file with a single interface to a file descriptor or a writable stream.
 *
 * @example
 * const w = new PcapngWriter(fs.createWriteStream('out.pcapng'));
 * w.writePacket(1700000000, 123_000, frameBytes);
 * await w.close();
 */
export class PcapngWriter extends ChunkedWriter {
  readonly nanos: boolean;
  readonly snaplen: number;
  readonly linkType: number;
  /** Packets written so far. */
  packets = 0;

  constructor(sink: CaptureSink, options: PcapngWriterOptions = {}) {
    super(sink, options.bufferSize ?? DEFAULT_WRITE_BUFFER);
    this.nanos = options.nanos ?? false;
    this.snaplen = options.snaplen ?? PCAPNG_DEFAULT_SNAPLEN;
    this.linkType = options.linkType ?? LINKTYPE_ETHERNET;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 0 || this.snaplen > 0xffffffff)
      throw new PipelineError('PCS_CONFIG', `pcapng snaplen must be an integer 0..2^32-1, got ${this.snaplen}`);
    if (!Number.isInteger(this.linkType) || this.linkType < 0 || this.linkType > 0xffff)
      throw new PipelineError('PCS_CONFIG', `pcapng link type must be 0..65535, got ${this.linkType}`);

    const app = Buffer.from(options.application ?? 'pcapstream', 'utf8');
    const appOpt = app.length > 0 ? 4 + pad4(app.length) + 4 : 0;
    const shbLen = 28 + appOpt;
    let o = this.reserve(shbLen);
    let b = this.buf;
    b.writeUInt32LE(PCAPNG_BT_SHB, o);
    b.writeUInt32LE(shbLen, o + 4);
    b.writeUInt32LE(PCAPNG_BYTE_ORDER_MAGIC, o + 8);
    b.writeUInt16LE(1, o + 12);
    b.writeUInt16LE(0, o + 14);
    b.writeInt32LE(-1, o + 16); // section length unknown: -1 as 64 bits
    b.writeInt32LE(-1, o + 20);
    let q = o + 24;
    if (appOpt > 0) {
      b.writeUInt16LE(PCAPNG_OPT_SHB_USERAPPL, q);
      b.writeUInt16LE(app.length, q + 2);
      b.fill(0, q + 4, q + 4 + pad4(app.length));
      app.copy(b, q + 4);
      q += 4 + pad4(app.length);
      b.writeUInt32LE(0, q); // opt_endofopt
      q += 4;
    }
    b.writeUInt32LE(shbLen, q);
    this.pos = q + 4;

    const idbLen = this.nanos ? 32 : 20;
    o = this.reserve(idbLen);
    b = this.buf;
    b.writeUInt32LE(PCAPNG_BT_IDB, o);
    b.writeUInt32LE(idbLen, o + 4);
    b.writeUInt16LE(this.linkType, o + 8);
    b.writeUInt16LE(0, o + 10);
    b.writeUInt32LE(this.snaplen, o + 12);
    q = o + 16;
    if (this.nanos) {
      b.writeUInt16LE(PCAPNG_OPT_IF_TSRESOL, q);
      b.writeUInt16LE(1, q + 2);
      b.writeUInt32LE(9, q + 4); // value 9 then three padding bytes
      b.writeUInt32LE(0, q + 8); // opt_endofopt
      q += 12;
    }
    b.writeUInt32LE(idbLen, q);
    this.pos = q + 4;
  }

  /**
   * Reserve room for a packet of up to `maxLen` bytes and return the offset in `buf` where its
   * bytes go; finish it with `commitPacket`. Read `buf` after this call (a flush may replace it).
   */
  beginPacket(maxLen: number): number {
    return this.reserve(PCAPNG_EPB_HEADER_LEN + maxLen + 3 + 4) + PCAPNG_EPB_HEADER_LEN;
  }

  /**
   * Finish the packet begun with `beginPacket`: `length` bytes were written at its offset;
   * `wireLength` (default `length`) is its length on the wire.
   */
  commitPacket(tsSec: number, tsNanos: number, length: number, wireLength: number = length): void {
    const b = this.buf;
    const o = this.pos;
    const snap = this.snaplen;
    const incl = snap === 0 || length < snap ? length : snap;
    const padded = (incl + 3) & ~3;
    const total = PCAPNG_EPB_HEADER_LEN + padded + 4;
    // Split seconds * units + fraction into two 32-bit words without leaving exact integers.
    const units = this.nanos ? 1e9 : 1e6;
    const frac = this.nanos ? tsNanos : Math.floor(tsNanos / 1000);
    const secHi = Math.floor(tsSec / 65536);
    const y = secHi * units; // exact: < 2^16 * 1e9
    const yHi = Math.floor(y / 65536);
    const low = (y - yHi * 65536) * 65536 + (tsSec - secHi * 65536) * units + frac;
    const lowHi = Math.floor(low / TWO_32);
    const tsHigh = yHi + lowHi;
    const tsLow = low - lowHi * TWO_32;
    for (let i = o + PCAPNG_EPB_HEADER_LEN + incl; i < o + PCAPNG_EPB_HEADER_LEN + padded; i++) b[i] = 0;
    b.writeUInt32LE(PCAPNG_BT_EPB, o);
    b.writeUInt32LE(total, o + 4);
    b.writeUInt32LE(0, o + 8);
    b.writeUInt32LE(tsHigh, o + 12);
    b.writeUInt32LE(tsLow, o + 16);
    b.writeUInt32LE(incl, o + 20);
    b.writeUInt32LE(wireLength >>> 0, o + 24);
    b.writeUInt32LE(total, o + PCAPNG_EPB_HEADER_LEN + padded);
    this.pos = o + total;
    this.packets++;
  }

  /**
   * Write one packet. `bytes` is copied; the caller may reuse it at once. Returns false when a
   * stream sink asked for backpressure (see `drain()`), true otherwise.
   */
  writePacket(tsSec: number, tsNanos: number, bytes: Uint8Array, wireLength: number = bytes.length): boolean {
    const snap = this.snaplen;
    const len = snap === 0 || bytes.length < snap ? bytes.length : snap;
    const o = this.beginPacket(len);
    this.buf.set(len === bytes.length ? bytes : bytes.subarray(0, len), o);
    this.commitPacket(tsSec, tsNanos, len, Math.max(wireLength, len));
    return !this.needsDrain;
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}
