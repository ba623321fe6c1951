/**
 * Sun snoop capture reader (RFC 1761, https://www.rfc-editor.org/rfc/rfc1761), big-endian.
 *
 * File header, 16 bytes:  identification "snoop\0\0\0":64  version:32 (2)  datalink:32
 * Record header, 24 bytes:
 *   original_length:32  included_length:32  record_length:32 (header + data + padding)
 *   cumulative_drops:32  ts_seconds:32  ts_microseconds:32
 */
import { PipelineError } from '../../core/errors.ts';
import type { ContainerStats } from '../../core/source.ts';
import { MAX_RECORD_BYTES } from '../../core/source.ts';
import { ChunkedParser } from '../chunked-parser.ts';

/** "snoop\0\0\0". */
const SNOOP_MAGIC = [0x73, 0x6e, 0x6f, 0x6f, 0x70, 0, 0, 0];
export const SNOOP_FILE_HEADER_LEN = 16;
export const SNOOP_RECORD_HEADER_LEN = 24;
/** Snoop datalink codes mapped to LINKTYPE_* numbers; unmapped ones stay unknown. */
const SNOOP_LINK: Record<number, number> = {
  0: 1, // IEEE 802.3
  4: 1, // Ethernet
  8: 10, // FDDI
};
/** Link type reported for unmapped snoop datalinks: decoded as unknown, counted. */
const SNOOP_UNKNOWN_LINK = 0xffff;

export function isSnoopMagic(b: Uint8Array): boolean {
  if (b.length < 8) return false;
  for (let i = 0; i < 8; i++) if (b[i] !== SNOOP_MAGIC[i]) return false;
  return true;
}

const be32 = (b: Uint8Array, o: number): number =>
  ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

export class SnoopReader extends ChunkedParser {
  readonly stats: ContainerStats = {
    format: 'snoop',
    byteOrder: 'be',
    sections: 1,
    interfaces: 1,
    blocks: {},
    skippedBlocks: 0,
    warnings: [],
  };
  protected readonly unitName = 'record';
  private headerDone = false;

  protected parse(b: Uint8Array, start: number, end: number): number {
    let o = start;
    const f = this.frame;
    if (!this.headerDone) {
      if (end - o < SNOOP_FILE_HEADER_LEN) return o;
      const version = be32(b, o + 8);
      if (version !== 2) throw new PipelineError('PCS_SOURCE_FORMAT', `unsupported snoop version ${version}`);
      const dl = be32(b, o + 12);
      f.linkType = SNOOP_LINK[dl] ?? SNOOP_UNKNOWN_LINK;
      f.tsDigits = 6;
      f.interfaceId = 0;
      this.headerDone = true;
      o += SNOOP_FILE_HEADER_LEN;
    }
    f.buf = b;
    while (end - o >= SNOOP_RECORD_HEADER_LEN) {
      const orig = be32(b, o);
      const incl = be32(b, o + 4);
      const rec = be32(b, o + 8);
      if (rec < SNOOP_RECORD_HEADER_LEN + incl || rec > MAX_RECORD_BYTES) {
        this.damaged = `record ${this.frames + 1} has record length ${rec} for ${incl} captured bytes`;
        return o;
      }
      if (end - o < rec) break;
      f.off = o + SNOOP_RECORD_HEADER_LEN;
      f.caplen = incl;
      f.wirelen = orig;
      this.setTime(be32(b, o + 16), be32(b, o + 20), 1000, 'µs');
      this.frames++;
      this.onFrame(f);
      o += rec;
    }
    return o;
  }
}
