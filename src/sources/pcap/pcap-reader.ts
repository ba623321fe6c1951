/**
 * Classic libpcap file reader.
 *
 * File header, 24 bytes (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/):
 *   magic:32  version_major:16  version_minor:16  thiszone:32  sigfigs:32  snaplen:32
 *   linktype:32 (bits 0-15: link type; 16-25: reserved; 26: FCS length present; 28-31: FCS length)
 * Record header, 16 bytes:
 *   ts_sec:32  ts_frac:32 (µs, or ns with the nanosecond magic)  incl_len:32  orig_len:32
 * Magic 0xa1b2c3d4 (µs) or 0xa1b23c4d (ns), read in either byte order; the order that matches
 * is the file's. Modified (Kuznetzov, 0xa1b2cd34) and other magics are refused with a clear error.
 *
 * Departures from tshark, both following the draft rather than refusing data: non-zero reserved
 * link-type bits are ignored with a warning (the draft says readers MUST ignore them; tshark and
 * libpcap refuse the file), and a fraction of a second out of range (µs >= 10^6, ns >= 10^9) is
 * carried into the seconds with a warning, so `tsNanos` is always below 10^9 (tshark prints the
 * raw fraction, or wraps it).
 */
import { PipelineError } from '../../core/errors.ts';
import type { ContainerStats } from '../../core/source.ts';
import { MAX_RECORD_BYTES } from '../../core/source.ts';
import { ChunkedParser } from '../chunked-parser.ts';

/** Microsecond-resolution magic. */
export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
/** Nanosecond-resolution magic. */
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
/** Alexey Kuznetzov's modified pcap: longer record headers; not supported. */
export const PCAP_MAGIC_MODIFIED = 0xa1b2cd34;
export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;
/** Link-type field bits 16-25: reserved, to be ignored by readers. */
const PCAP_LINKTYPE_RESERVED_MASK = 0x03ff0000;

/** True when the first four bytes are a classic pcap magic in either byte order. */
export function isPcapMagic(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  const be = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const le = ((b[3]! << 24) | (b[2]! << 16) | (b[1]! << 8) | b[0]!) >>> 0;
  return (
    be === PCAP_MAGIC_USEC ||
    be === PCAP_MAGIC_NSEC ||
    le === PCAP_MAGIC_USEC ||
    le === PCAP_MAGIC_NSEC ||
    be === PCAP_MAGIC_MODIFIED ||
    le === PCAP_MAGIC_MODIFIED
  );
}

export class PcapReader extends ChunkedParser {
  readonly stats: ContainerStats = {
    format: 'pcap',
    byteOrder: 'le',
    sections: 1,
    interfaces: 1,
    blocks: {},
    skippedBlocks: 0,
    warnings: [],
  };
  protected readonly unitName = 'record';
  private headerDone = false;
  private le = true;
  private nanos = false;
  linkType = 0;
  snaplen = 0;
  versionMajor = 0;
  versionMinor = 0;

  private u32(b: Uint8Array, o: number): number {
    return this.le
      ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
      : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  }

  private parseHeader(b: Uint8Array, o: number): void {
    const be = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    if (be === PCAP_MAGIC_USEC || be === PCAP_MAGIC_NSEC) {
      this.le = false;
      this.nanos = be === PCAP_MAGIC_NSEC;
    } else {
      this.le = true;
      const le = this.u32(b, o);
      if (le === PCAP_MAGIC_USEC || le === PCAP_MAGIC_NSEC) this.nanos = le === PCAP_MAGIC_NSEC;
      else if (le === PCAP_MAGIC_MODIFIED || be === PCAP_MAGIC_MODIFIED)
        throw new PipelineError('PCS_SOURCE_FORMAT', 'modified (Kuznetzov) pcap format is not supported');
      else
        throw new PipelineError(
          'PCS_SOURCE_FORMAT',
          `not a pcap file: unknown magic 0x${be.toString(16).padStart(8, '0')}`,
        );
    }
    this.stats.byteOrder = this.le ? 'le' : 'be';
    const maj = this.le ? b[o + 4]! | (b[o + 5]! << 8) : (b[o + 4]! << 8) | b[o + 5]!;
    const min = this.le ? b[o + 6]! | (b[o + 7]! << 8) : (b[o + 6]! << 8) | b[o + 7]!;
    this.versionMajor = maj;
    this.versionMinor = min;
    // libpcap reads 2.x files; version 1.x never existed in the wild and is refused as it does.
    if (maj !== 2) throw new PipelineError('PCS_SOURCE_FORMAT', `unsupported pcap version ${maj}.${min}`);
    this.snaplen = this.u32(b, o + 16);
    // Upper bits carry FCS information; the link type is the low 16 bits.
    const lt = this.u32(b, o + 20);
    if ((lt & PCAP_LINKTYPE_RESERVED_MASK) !== 0) {
      this.warn(
        `link-type field 0x${lt.toString(16).padStart(8, '0')} has reserved bits set; ignored, link type ${lt & 0xffff}`,
      );
    }
    this.linkType = lt & 0xffff;
    this.frame.linkType = this.linkType;
    this.frame.tsDigits = this.nanos ? 9 : 6;
    this.frame.interfaceId = 0;
  }

  protected endError(present: number): PipelineError | null {
    if (this.headerDone) return super.endError(present);
    return new PipelineError(
      'PCS_SOURCE_FORMAT',
      present === 0
        ? 'not a pcap file: the input is empty'
        : `not a pcap file: the input ends inside its ${PCAP_FILE_HEADER_LEN}-byte file header (${present} bytes)`,
    );
  }

  protected parse(b: Uint8Array, start: number, end: number): number {
    let o = start;
    if (!this.headerDone) {
      if (end - o < PCAP_FILE_HEADER_LEN) return o;
      this.parseHeader(b, o);
      this.headerDone = true;
      o += PCAP_FILE_HEADER_LEN;
    }
    const f = this.frame;
    const le = this.le;
    const scale = this.nanos ? 1 : 1000;
    f.buf = b;
    while (end - o >= PCAP_RECORD_HEADER_LEN) {
      let sec: number;
      let frac: number;
      let incl: number;
      let orig: number;
      if (le) {
        sec = (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
        frac = (b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24)) >>> 0;
        incl = (b[o + 8]! | (b[o + 9]! << 8) | (b[o + 10]! << 16) | (b[o + 11]! << 24)) >>> 0;
        orig = (b[o + 12]! | (b[o + 13]! << 8) | (b[o + 14]! << 16) | (b[o + 15]! << 24)) >>> 0;
      } else {
        sec = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
        frac = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0;
        incl = ((b[o + 8]! << 24) | (b[o + 9]! << 16) | (b[o + 10]! << 8) | b[o + 11]!) >>> 0;
        orig = ((b[o + 12]! << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!) >>> 0;
      }
      if (incl > MAX_RECORD_BYTES) {
        this.damaged = `record ${this.frames + 1} claims ${incl} captured bytes (limit ${MAX_RECORD_BYTES})`;
        return o;
      }
      if (end - o - PCAP_RECORD_HEADER_LEN < incl) break;
      f.off = o + PCAP_RECORD_HEADER_LEN;
      f.caplen = incl;
      f.wirelen = orig;
      this.setTime(sec, frac, scale, this.nanos ? 'ns' : 'µs');
      this.frames++;
      this.onFrame(f);
      o += PCAP_RECORD_HEADER_LEN + incl;
    }
    return o;
  }
}
