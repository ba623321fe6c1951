/**
 * pcapng file reader.
 *
 * Layout (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/): a file is one or more
 * sections, each opened by a Section Header Block and carrying its own byte order and its own
 * interfaces. Every block is
 *   block_type:32  block_total_length:32  body  block_total_length:32 (trailing copy)
 * with the total length a multiple of 4 and at least 12. Bodies read here:
 *   SHB 0x0A0D0D0A  byte_order_magic:32 (0x1A2B3C4D)  major:16  minor:16  section_length:64  options
 *   IDB 1           link_type:16  reserved:16  snaplen:32  options
 *   EPB 6           interface_id:32  ts_high:32  ts_low:32  cap_len:32  orig_len:32  data (pad 4)  options
 *   SPB 3           orig_len:32  data (pad 4)
 *   PB  2 (obsolete) interface_id:16  drops:16  ts_high:32  ts_low:32  cap_len:32  orig_len:32  data  options
 * Options: code:16  length:16  value (padded to 4); code 0 ends the list.
 *
 * Interface ids: a block names its interface by its index within the section, and ids restart
 * with every section. `frame.interfaceId` is instead a running index over the whole file (the
 * first interface of a section follows the last one of the section before), so ids stay unique
 * per file; `interfaces[frame.interfaceId]` describes it, with its section and in-section id.
 *
 * Faults: anything wrong with the first Section Header Block (byte-order magic, version other
 * than 1.x, lengths) throws `PipelineError('PCS_SOURCE_FORMAT')`: the input is not a pcapng file
 * we can read. Later, a block whose framing is broken (total length not a multiple of 4, under
 * 12, over `MAX_RECORD_BYTES`, or unlike its trailing copy) or a section of another major version
 * damages the file from that block on: nothing after it is delivered and `end()` throws. A
 * block with sound framing but unusable content (a packet naming an undefined interface, a
 * captured length past the block) is skipped with a warning, and an option running past its
 * block is ignored with a warning: both are recoverable.
 */
import { PipelineError } from '../../core/errors.ts';
import type { ContainerStats } from '../../core/source.ts';
import { MAX_RECORD_BYTES } from '../../core/source.ts';
import { ChunkedParser } from '../chunked-parser.ts';

/** Section Header Block type; the same bytes in either byte order. */
export const PCAPNG_BT_SHB = 0x0a0d0d0a;
/** Interface Description Block. */
export const PCAPNG_BT_IDB = 0x00000001;
/** Packet Block (obsolete, replaced by the EPB). */
export const PCAPNG_BT_PB = 0x00000002;
/** Simple Packet Block. */
export const PCAPNG_BT_SPB = 0x00000003;
/** Name Resolution Block. */
export const PCAPNG_BT_NRB = 0x00000004;
/** Interface Statistics Block. */
export const PCAPNG_BT_ISB = 0x00000005;
/** Enhanced Packet Block. */
export const PCAPNG_BT_EPB = 0x00000006;
/** Decryption Secrets Block. */
export const PCAPNG_BT_DSB = 0x0000000a;
/** Custom Block that rewriters may copy. */
export const PCAPNG_BT_CB = 0x00000bad;
/** Custom Block that rewriters must not copy. */
export const PCAPNG_BT_CB_NOCOPY = 0x40000bad;
/** Byte-order magic, as read in the section's own byte order. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** The byte-order magic read in the other byte order. */
const PCAPNG_BYTE_ORDER_MAGIC_SWAPPED = 0x4d3c2b1a;
/** Smallest block: type, length and trailing length. */
export const PCAPNG_BLOCK_MIN_LEN = 12;
/** SHB header up to the options: 8 + magic 4 + versions 4 + section length 8, plus trailer 4. */
const SHB_MIN_LEN = 28;
/** IDB: 8 + link type 2 + reserved 2 + snaplen 4, plus trailer 4. */
const IDB_MIN_LEN = 20;
/** EPB and PB: 8 + 20 bytes of fixed fields, plus trailer 4. */
const EPB_MIN_LEN = 32;
/** SPB: 8 + original length 4, plus trailer 4. */
const SPB_MIN_LEN = 16;
/** Offset of the packet data in an EPB or PB. */
const EPB_DATA_OFF = 28;
/** End of options. */
const OPT_ENDOFOPT = 0;
/** opt_comment: UTF-8 text, allowed in every block. */
const OPT_COMMENT = 1;
/** if_name: UTF-8 interface name. */
const IF_NAME = 2;
/** if_tsresol: one byte; high bit clear = 10^-n s, set = 2^-n s. */
const IF_TSRESOL = 9;
/** if_tsoffset: signed 64-bit seconds added to every timestamp of the interface. */
const IF_TSOFFSET = 14;
/** if_tsresol when the option is absent: microseconds. */
const TSRESOL_DEFAULT = 6;
/** 2^32, to combine the halves of a 64-bit value. */
const TWO32 = 4294967296;

/** Timestamp conversion kinds, chosen per interface from its resolution. */
const TS_FAST = 0; // units/s <= 2^21: remainder * 2^32 stays below 2^53, two plain divisions
const TS_SPLIT = 1; // 10^7..10^11 units/s: long division in 16-bit digits, still exact in doubles
const TS_BIG = 2; // anything finer: BigInt

/**
 * Block names used as keys of `stats.blocks`, indexed by the internal kind below. The short
 * forms are the draft's own abbreviations.
 */
const BLOCK_NAMES = ['SHB', 'IDB', 'PB', 'SPB', 'NRB', 'ISB', 'EPB', 'DSB', 'CB', 'CB_NOCOPY', 'unknown'] as const;
const K_SHB = 0;
const K_IDB = 1;
const K_PB = 2;
const K_SPB = 3;
const K_NRB = 4;
const K_ISB = 5;
const K_EPB = 6;
const K_DSB = 7;
const K_CB = 8;
const K_CB_NOCOPY = 9;
const K_UNKNOWN = 10;

const UTF8 = new TextDecoder('utf-8');

function rd32(b: Uint8Array, o: number, le: boolean): number {
  return le
    ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
    : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function rd16(b: Uint8Array, o: number, le: boolean): number {
  return le ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!;
}

/** UTF-8 text of `[o, end)`, cut at the first NUL as tshark does (some writers terminate strings). */
function readString(b: Uint8Array, o: number, end: number): string {
  let e = o;
  while (e < end && b[e] !== 0) e++;
  return UTF8.decode(b.subarray(o, e));
}

function hex32(v: number): string {
  return '0x' + v.toString(16).padStart(8, '0');
}

/**
 * True when the bytes open with the Section Header Block type, the first four bytes of every
 * pcapng file. The byte-order magic is left to the reader, which names it in its error.
 * @example
 * isPcapngMagic(new Uint8Array([0x0a, 0x0d, 0x0d, 0x0a])) // true
 */
export function isPcapngMagic(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x0a && b[1] === 0x0d && b[2] === 0x0d && b[3] === 0x0a;
}

/**
 * One Interface Description Block, with what is needed to turn its packets' timestamps into
 * seconds and nanoseconds.
 * @example
 * const ifc = reader.interfaces[frame.interfaceId]!;
 * console.log(ifc.name, ifc.linkType, `section ${ifc.section} id ${ifc.localId}`);
 */
export class PcapngInterface {
  /** Index (from 0) of the section holding the interface. */
  section = 0;
  /** Interface id within its section, as its packet blocks name it. */
  localId = 0;
  linkType = 0;
  /** Largest captured length; 0 means no limit. */
  snaplen = 0;
  /** `if_name`, or '' when absent. */
  name = '';
  /** Raw `if_tsresol` byte (6 when absent: microseconds). */
  tsresol = TSRESOL_DEFAULT;
  /** `if_tsoffset`: seconds added to every timestamp. */
  tsOffset = 0;
  /** Decimal digits of the resolution, capped at 9 (6 for µs, 9 for ns). */
  tsDigits = 6;
  /** Timestamp units per second (inexact as a number beyond 2^53; `unitsBig` is exact). */
  units = 1e6;
  unitsBig = 1000000n;
  /** TS_FAST, TS_SPLIT or TS_BIG. */
  mode = TS_FAST;
  /** Nanoseconds per unit when that is a whole number, else 0. */
  nsPerUnit = 1000;
  /** Units per nanosecond when that is a whole number (finer than ns, base 10), else 0. */
  unitsPerNs = 0;

  /** Apply an `if_tsresol` byte. */
  setResolution(tsresol: number): void {
    const exp = tsresol & 0x7f;
    const base2 = (tsresol & 0x80) !== 0;
    this.tsresol = tsresol;
    this.units = base2 ? 2 ** exp : 10 ** exp;
    this.unitsBig = base2 ? 1n << BigInt(exp) : 10n ** BigInt(exp);
    // Digits needed to show one unit: n for 10^-n; ceil(n * log10 2) for 2^-n.
    this.tsDigits = Math.min(9, base2 ? Math.ceil(exp * Math.log10(2)) : exp);
    this.mode = this.units <= 2 ** 21 ? TS_FAST : !base2 && exp <= 11 ? TS_SPLIT : TS_BIG;
    this.nsPerUnit = this.units <= 1e9 && 1e9 % this.units === 0 ? 1e9 / this.units : 0;
    this.unitsPerNs = !base2 && exp > 9 && exp <= 11 ? 10 ** (exp - 9) : 0;
  }
}

/**
 * Push parser for pcapng files (see `core/source.ts` for the contract).
 * @example
 * const r = new PcapngReader((f) => console.log(f.interfaceId, f.tsSec, f.caplen));
 * r.push(bytes);
 * r.end();
 */
export class PcapngReader extends ChunkedParser {
  readonly stats: ContainerStats = {
    format: 'pcapng',
    byteOrder: 'le',
    sections: 0,
    interfaces: 0,
    blocks: {},
    skippedBlocks: 0,
    warnings: [],
  };
  /** Every interface of the file, indexed by `frame.interfaceId`. */
  readonly interfaces: PcapngInterface[] = [];
  protected readonly unitName = 'block';
  /** Byte order of the current section. */
  private le = true;
  /** Global index of the current section's interface 0. */
  private sectionBase = 0;
  /** File offset of `buf[0]` during a `parse` call, for messages. */
  private base = 0;
  /** Blocks seen per kind; copied into `stats.blocks` after each chunk, off the per-packet path. */
  private readonly counts = new Array<number>(BLOCK_NAMES.length).fill(0);
  /** Kinds in the order first seen, so `stats.blocks` lists them in file order whatever the chunking. */
  private readonly kindsSeen: number[] = [];

  protected parse(b: Uint8Array, start: number, end: number): number {
    this.base = this.offset - start;
    try {
      return this.parseBlocks(b, start, end);
    } finally {
      const blocks = this.stats.blocks;
      for (const k of this.kindsSeen) blocks[BLOCK_NAMES[k]!] = this.counts[k]!;
    }
  }

  protected endError(present: number): PipelineError | null {
    if (this.stats.sections > 0) return super.endError(present);
    return new PipelineError(
      'PCS_SOURCE_FORMAT',
      present === 0
        ? 'not a pcapng file: the input is empty'
        : `not a pcapng file: the input ends inside its Section Header Block (${present} bytes)`,
    );
  }

  /**
   * A block that cannot be framed. In the first section header the input is not a pcapng file
   * we can read; later the file is damaged from this block on.
   */
  private fault(reason: string): void {
    if (this.stats.sections === 0)
      throw new PipelineError('PCS_SOURCE_FORMAT', `not a readable pcapng file: ${reason}`);
    this.damaged = reason;
  }

  private parseBlocks(b: Uint8Array, start: number, end: number): number {
    let o = start;
    this.frame.buf = b;
    while (end - o >= PCAPNG_BLOCK_MIN_LEN) {
      const type = rd32(b, o, this.le);
      if (type === PCAPNG_BT_SHB) {
        // A new section may switch byte order; its own length is already written in the new one.
        const bom = rd32(b, o + 8, false);
        if (bom === PCAPNG_BYTE_ORDER_MAGIC) this.le = false;
        else if (bom === PCAPNG_BYTE_ORDER_MAGIC_SWAPPED) this.le = true;
        else {
          this.fault(`section header block has an invalid byte-order magic ${hex32(bom)}`);
          return o;
        }
      } else if (this.stats.sections === 0) {
        this.fault(`the file opens with block type ${hex32(type)}, not a Section Header Block`);
        return o;
      }
      const le = this.le;
      const len = rd32(b, o + 4, le);
      if (len < PCAPNG_BLOCK_MIN_LEN || (len & 3) !== 0) {
        this.fault(`block type ${hex32(type)} has total length ${len} (must be a multiple of 4, at least 12)`);
        return o;
      }
      if (len > MAX_RECORD_BYTES) {
        this.fault(`block type ${hex32(type)} has total length ${len} (limit ${MAX_RECORD_BYTES})`);
        return o;
      }
      if (end - o < len) break;
      const trailer = rd32(b, o + len - 4, le);
      if (trailer !== len) {
        this.fault(`block type ${hex32(type)} has total length ${len} but its trailing copy says ${trailer}`);
        return o;
      }
      switch (type) {
        case PCAPNG_BT_EPB:
        case PCAPNG_BT_PB:
          this.count(type === PCAPNG_BT_EPB ? K_EPB : K_PB);
          this.packetBlock(b, o, len, type === PCAPNG_BT_EPB);
          break;
        case PCAPNG_BT_SPB:
          this.count(K_SPB);
          this.simplePacketBlock(b, o, len);
          break;
        case PCAPNG_BT_IDB:
          this.count(K_IDB);
          if (!this.interfaceBlock(b, o, len)) return o;
          break;
        case PCAPNG_BT_SHB:
          if (!this.sectionHeader(b, o, len)) return o;
          this.count(K_SHB);
          break;
        default:
          this.count(blockKind(type));
          this.stats.skippedBlocks++;
      }
      o += len;
    }
    return o;
  }

  private count(kind: number): void {
    if (++this.counts[kind]! === 1) this.kindsSeen.push(kind);
  }

  private sectionHeader(b: Uint8Array, o: number, len: number): boolean {
    if (len < SHB_MIN_LEN) {
      this.fault(`section header block of ${len} bytes is shorter than its fixed fields (${SHB_MIN_LEN})`);
      return false;
    }
    const major = rd16(b, o + 12, this.le);
    const minor = rd16(b, o + 14, this.le);
    if (major !== 1) {
      this.fault(`section ${this.stats.sections + 1} has pcapng version ${major}.${minor}; only 1.x is supported`);
      return false;
    }
    // The section length (o + 16) is only a hint, often -1 (unknown): blocks are walked instead.
    this.stats.sections++;
    this.stats.byteOrder = this.le ? 'le' : 'be';
    this.sectionBase = this.interfaces.length;
    return true;
  }

  private interfaceBlock(b: Uint8Array, o: number, len: number): boolean {
    if (len < IDB_MIN_LEN) {
      // Skipping it would shift the ids of the interfaces after it, so the section is unusable.
      this.damaged = `interface description block of ${len} bytes is shorter than its fixed fields (${IDB_MIN_LEN})`;
      return false;
    }
    const le = this.le;
    const ifc = new PcapngInterface();
    ifc.section = this.stats.sections - 1;
    ifc.localId = this.interfaces.length - this.sectionBase;
    ifc.linkType = rd16(b, o + 8, le);
    ifc.snaplen = rd32(b, o + 12, le);
    let tsresol = TSRESOL_DEFAULT;
    let p = o + 16;
    const optEnd = o + len - 4;
    while (optEnd - p >= 4) {
      const code = rd16(b, p, le);
      const olen = rd16(b, p + 2, le);
      if (code === OPT_ENDOFOPT) break;
      if (olen > optEnd - p - 4) {
        this.optionOverrun('IDB', o, code, olen, optEnd - p - 4);
        break;
      }
      const v = p + 4;
      if (code === IF_NAME) ifc.name = readString(b, v, v + olen);
      else if (code === IF_TSRESOL) {
        if (olen === 1) tsresol = b[v]!;
        else this.warn(`IDB at byte ${this.base + o}: if_tsresol has length ${olen}, not 1; ignored`);
      } else if (code === IF_TSOFFSET) {
        if (olen === 8) {
          const hi = rd32(b, le ? v + 4 : v, le) | 0;
          const lo = rd32(b, le ? v : v + 4, le);
          ifc.tsOffset = hi * TWO32 + lo;
        } else this.warn(`IDB at byte ${this.base + o}: if_tsoffset has length ${olen}, not 8; ignored`);
      }
      p = v + ((olen + 3) & ~3);
    }
    ifc.setResolution(tsresol);
    this.interfaces.push(ifc);
    this.stats.interfaces = this.interfaces.length;
    return true;
  }

  /** EPB (`enhanced`) or obsolete PB: identical but for a 16-bit interface id and drop count. */
  private packetBlock(b: Uint8Array, o: number, len: number, enhanced: boolean): void {
    const name = enhanced ? 'EPB' : 'PB';
    if (len < EPB_MIN_LEN) {
      this.skipBlock(name, o, `${len} bytes is shorter than its fixed fields (${EPB_MIN_LEN})`);
      return;
    }
    const le = this.le;
    const id = enhanced ? rd32(b, o + 8, le) : rd16(b, o + 8, le);
    const ifc = this.interfaces[this.sectionBase + id];
    if (ifc === undefined) {
      this.skipBlock(name, o, `interface ${id} is not defined in its section`);
      return;
    }
    const cap = rd32(b, o + 20, le);
    const room = len - EPB_MIN_LEN;
    if (cap > room) {
      this.skipBlock(name, o, `captured length ${cap} runs past the block (${room} bytes of data room)`);
      return;
    }
    const f = this.frame;
    f.off = o + EPB_DATA_OFF;
    f.caplen = cap;
    f.wirelen = rd32(b, o + 24, le);
    this.setTimestamp(ifc, rd32(b, o + 12, le), rd32(b, o + 16, le));
    f.tsDigits = ifc.tsDigits;
    f.interfaceId = this.sectionBase + id;
    f.linkType = ifc.linkType;
    const optStart = o + EPB_DATA_OFF + ((cap + 3) & ~3);
    const optEnd = o + len - 4;
    f.comment = optEnd - optStart >= 4 ? this.packetOptions(b, optStart, optEnd, o, name) : '';
    this.frames++;
    this.onFrame(f);
  }

  private simplePacketBlock(b: Uint8Array, o: number, len: number): void {
    if (len < SPB_MIN_LEN) {
      this.skipBlock('SPB', o, `${len} bytes is shorter than its fixed fields (${SPB_MIN_LEN})`);
      return;
    }
    if (this.interfaces.length === this.sectionBase) {
      this.skipBlock('SPB', o, 'its section defines no interface');
      return;
    }
    // An SPB belongs to the section's first interface; its captured length is implied by the
    // original length, that interface's snaplen and the block's own size.
    const ifc = this.interfaces[this.sectionBase]!;
    const orig = rd32(b, o + 8, this.le);
    let cap = Math.min(orig, len - SPB_MIN_LEN);
    if (ifc.snaplen > 0 && cap > ifc.snaplen) cap = ifc.snaplen;
    const f = this.frame;
    f.off = o + 12;
    f.caplen = cap;
    f.wirelen = orig;
    // No timestamp in an SPB: tshark leaves the time empty; 0 is the closest number.
    f.tsSec = 0;
    f.tsNanos = 0;
    f.tsDigits = ifc.tsDigits;
    f.interfaceId = this.sectionBase;
    f.linkType = ifc.linkType;
    f.comment = '';
    this.frames++;
    this.onFrame(f);
  }

  /** Walk a packet block's options; returns its comments ('' when none), joined by '\n'. */
  private packetOptions(b: Uint8Array, p: number, optEnd: number, o: number, name: string): string {
    const le = this.le;
    let comment = '';
    while (optEnd - p >= 4) {
      const code = rd16(b, p, le);
      const olen = rd16(b, p + 2, le);
      if (code === OPT_ENDOFOPT) break;
      if (olen > optEnd - p - 4) {
        this.optionOverrun(name, o, code, olen, optEnd - p - 4);
        break;
      }
      if (code === OPT_COMMENT) {
        const s = readString(b, p + 4, p + 4 + olen);
        comment = comment === '' ? s : comment + '\n' + s;
      }
      p += 4 + ((olen + 3) & ~3);
    }
    return comment;
  }

  /**
   * Set `frame.tsSec`/`tsNanos` from the 64-bit count of units `hi * 2^32 + lo`, exactly
   * (nanoseconds truncated for resolutions finer than 1 ns). Seconds beyond 2^53 round.
   */
  private setTimestamp(ifc: PcapngInterface, hi: number, lo: number): void {
    const f = this.frame;
    let sec: number;
    let nanos: number;
    if (ifc.mode === TS_FAST) {
      // ts = (q1*u + r1) * 2^32 + lo, and r1 * 2^32 + lo < 2^21 * 2^32 = 2^53: exact.
      const u = ifc.units;
      const q1 = Math.floor(hi / u);
      const x = (hi - q1 * u) * TWO32 + lo;
      const q2 = Math.floor(x / u);
      const r = x - q2 * u;
      sec = q1 * TWO32 + q2;
      nanos = ifc.nsPerUnit > 0 ? r * ifc.nsPerUnit : Math.floor((r * 1e9) / u);
    } else if (ifc.mode === TS_SPLIT) {
      // Long division by u < 2^37 in 16-bit digits: every partial value stays below 2^53.
      const u = ifc.units;
      const q1 = Math.floor(hi / u);
      const x2 = (hi - q1 * u) * 65536 + (lo >>> 16);
      const q2 = Math.floor(x2 / u);
      const x3 = (x2 - q2 * u) * 65536 + (lo & 0xffff);
      const q3 = Math.floor(x3 / u);
      const r = x3 - q3 * u;
      sec = q1 * TWO32 + q2 * 65536 + q3;
      nanos = ifc.nsPerUnit > 0 ? r * ifc.nsPerUnit : Math.floor(r / ifc.unitsPerNs);
    } else {
      const t = (BigInt(hi) << 32n) | BigInt(lo);
      sec = Number(t / ifc.unitsBig);
      nanos = Number(((t % ifc.unitsBig) * 1000000000n) / ifc.unitsBig);
    }
    f.tsSec = sec + ifc.tsOffset;
    f.tsNanos = nanos;
  }

  private skipBlock(name: string, o: number, why: string): void {
    this.stats.skippedBlocks++;
    this.warn(`${name} at byte ${this.base + o}: ${why}; block skipped`);
  }

  private optionOverrun(name: string, o: number, code: number, olen: number, room: number): void {
    this.warn(
      `${name} at byte ${this.base + o}: option ${code} of length ${olen} runs past the block (${room} bytes left); option ignored`,
    );
  }
}

function blockKind(type: number): number {
  switch (type) {
    case PCAPNG_BT_NRB:
      return K_NRB;
    case PCAPNG_BT_ISB:
      return K_ISB;
    case PCAPNG_BT_DSB:
      return K_DSB;
    case PCAPNG_BT_CB:
      return K_CB;
    case PCAPNG_BT_CB_NOCOPY:
      return K_CB_NOCOPY;
    default:
      return K_UNKNOWN;
  }
}
