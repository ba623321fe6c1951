import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { randomChunkSizes, rng } from '../../../test/helpers/random.ts';
import { isPipelineError, TruncatedCaptureError } from '../../core/errors.ts';
import type { Frame } from '../../core/source.ts';
import { MAX_RECORD_BYTES } from '../../core/source.ts';
import { MAX_WARNINGS } from '../chunked-parser.ts';
import { isPcapngMagic, PCAPNG_BT_SHB, PcapngReader } from './pcapng-reader.ts';

const ROOT = new URL('../../../', import.meta.url);
const CORPUS = new URL('../shared/corpus/', ROOT);

// ---- corpus ----

/** Every capture the manifest lists as pcapng (whatever its extension). A missing corpus fails here. */
function pcapngCorpus(): string[] {
  const rows = readFileSync(new URL('MANIFEST.tsv', CORPUS), 'utf8').split('\n').slice(1);
  return rows
    .map((r) => r.split('\t'))
    .filter((c) => c[4]?.startsWith('pcapng'))
    .map((c) => c[0]!);
}

const corpusFile = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, CORPUS)));

/**
 * Per corpus file, from tshark 4.0.17: `packets` is `capinfos -c`; `sha256` is the SHA-256 of the
 * lines `tsharkLines` builds from `tshark -T fields` (time, lengths, in-section interface id,
 * section, comment, link type), joined by '\n'. `format` files are refused outright (tshark and
 * libpcap refuse them too); `damagedAt` files stop at that byte after `packets` packets.
 */
interface Expected {
  packets: number;
  sha256: string;
  format?: RegExp;
  damagedAt?: number;
}

const EXPECTED: Record<string, Expected> = {
  'tcpdump__time_2106_overflow.pcapng': {
    packets: 1,
    sha256: '0edc5a2fd88fc29bee578f5f2709f203c87b664d57e4ed8e5177cefdba6441ed',
  },
  'tcpdump__empty.pcapng': { packets: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  // tshark: "unknown SHB version 0.1"; tcpdump: "unsupported pcapng savefile version 0.1".
  'libpcap__pcapng_invalid_vers_1.pcapng': { packets: 0, sha256: '', format: /version 0\.1; only 1\.x/ },
  // The SHB's trailing length is "0000" text, unlike its 52: tcpdump says "block total length in
  // header and trailer don't match", tshark trips on the SHB option running past the block
  // first. The section header itself cannot be framed, so this is a format error, not an
  // ignorable option.
  'libpcap__pcapng_shb_option_too_long.pcapng': { packets: 0, sha256: '', format: /trailing copy says 808464432/ },
  'ppp__many_interfaces_mixed_linktypes.pcapng': {
    packets: 64,
    sha256: '1c57680d4caf8cba54ab9d36d428cc938731228ce133c98d7e2825d95b079338',
  },
  'ppp__pcapng_eth_and_sll_comments.pcapng': {
    packets: 159,
    sha256: '249e5b25e4a5cc55059a32d19a22e40f54a29409e0b68639a958646c742c47c7',
  },
  'zeek__pcapng_multi_if_tsresol.pcapng': {
    packets: 6,
    sha256: '44afd4f2ce3a0403d2879f6fb9437f1bd3817e8446c7bc2c86f4793acdfb97d9',
  },
  'ppp__pcapng_95_interfaces.pcapng': {
    packets: 1,
    sha256: '7402eb9545b9dd4fe842c5da9b0e518ce102e72216098b323c37f2e3e7d8939e',
  },
  'rusticata__wireshark_samples_mixed.pcapng': {
    packets: 5898,
    sha256: '331dd085e0e76f8f5fabec847654c57dd73a3012073ee5cca47d69d319eb95b0',
  },
  'pcapngtest__le_test001_basic.pcapng': {
    packets: 4,
    sha256: 'eb66f4554276602c640e84d85cf7341e2a7dc30a542db028b0c4c4589008618c',
  },
  'pcapngtest__be_test006_two_linktypes.pcapng': {
    packets: 5,
    sha256: '4a36ea41676f28adf53a710ed6a2396d3121e5b2cd3c951b5528e54d445af3a4',
  },
  'pcapngtest__le_test010_spb.pcapng': {
    packets: 4,
    sha256: 'eb66f4554276602c640e84d85cf7341e2a7dc30a542db028b0c4c4589008618c',
  },
  'pcapngtest__be_test016_nrb_spb.pcapng': {
    packets: 4,
    sha256: '503044a03523f54cca9e034bd60d9b352827e1f599340f8b8d9adb359ec2397a',
  },
  'pcapngtest__le_test017_custom_blocks.pcapng': {
    packets: 0,
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  },
  'pcapngtest__be_test101_isb.pcapng': {
    packets: 4,
    sha256: 'e7b926fa95fbe3b07880c65b2546fe0daa7326288115b990d93a1ce309b12b85',
  },
  'pcapngtest__le_test202_multi_section.pcapng': {
    packets: 8,
    sha256: '85efc349068430048c709df6fe7c0046c3110bd3254c76d0cde7a4d5cbbdd88e',
  },
  'pcapngtest__be_test202_multi_section.pcapng': {
    packets: 8,
    sha256: '85efc349068430048c709df6fe7c0046c3110bd3254c76d0cde7a4d5cbbdd88e',
  },
  // Section 2 has major version 2: capinfos "An error occurred after reading 1 packets";
  // tcpdump prints 1 packet then "unknown pcapng savefile major version number 2".
  'gopacket__pcapng_shb_version2_invalid.pcapng': {
    packets: 1,
    sha256: '5e1399720e930a3a221f9bb9f744e6ce7e8b43a736e1bb8905b024de076cd22d',
    damagedAt: 480,
  },
  'ppp__qinq_8021ad.pcapng': { packets: 1, sha256: '5aa6b9585b4344606a3fa99d8f1aa58f7f4f44fc0de409f464898cd3063b7d3a' },
  'ppp__ipv6_ext_headers.pcapng': {
    packets: 6,
    sha256: 'a8afe03765cc20d6fa6a33c8302b196cdf972ba257282594373088ea4a07a997',
  },
  'ppp__icmp_types.pcap': { packets: 15, sha256: '2b4050326fc685fd87dc93fa174071d992577e2e78391a2039f9600d3f12ffa3' },
  'ppp__ipv4_malformed.pcap': {
    packets: 2,
    sha256: '61f1146110e80eadec8a962c57cf506b6d6d0b33648a0453b7a7ef0831bdbfe2',
  },
};

/**
 * Link types and snaplens of the IDBs of the single-section files, from tshark's pcapng file
 * dissector: `tshark -X 'read_format:MIME Files Format' -r F -T fields
 * -e pcapng.interface_description.link_type -e pcapng.interface_description.snap_length`.
 * (It stops at a second section; test202 is checked on its own below.)
 */
const IDBS: Record<string, [linkTypes: number[], snaplens: number[]]> = {
  'tcpdump__time_2106_overflow.pcapng': [[1], [262144]],
  'tcpdump__empty.pcapng': [[1], [262144]],
  'ppp__many_interfaces_mixed_linktypes.pcapng': [
    [1, 1, 1, 1, 0, 1, 1, 1, 12, 1, 0],
    [262144, 262144, 262144, 262144, 262144, 262144, 262144, 262144, 262144, 262144, 262144],
  ],
  'ppp__pcapng_eth_and_sll_comments.pcapng': [
    [1, 113],
    [262144, 0],
  ],
  'zeek__pcapng_multi_if_tsresol.pcapng': [
    [1, 1],
    [262144, 262144],
  ],
  'ppp__pcapng_95_interfaces.pcapng': [
    Array(95).fill(1),
    [
      65535, 8192, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 262144, 65535, 65535, 65535,
      65535, 65535, 262144, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 8192, 65535, 262144, 262144,
      262144, 262144, 262144, 262144, 65535, 65535, 65535, 65535, 65535, 65535, 65535, 262144, 262144, 65535, 262144,
      65535, 262144, 2048, 65535, 65535, 65535, 65535, 65535, 65535, 2048, 262144, 262144, 262144, 262144, 65535, 65535,
      65535, 262144, 262144, 262144, 262144, 262144, 262144, 262144, 262144, 262144, 262144, 262144, 262144, 262144,
      262144, 262144, 262144, 262144, 8192, 65535, 262144, 65535, 262144, 262144, 262144, 262144, 262144, 65535, 262144,
      262144, 262144, 262144,
    ],
  ],
  'rusticata__wireshark_samples_mixed.pcapng': [[1], [262144]],
  'pcapngtest__le_test001_basic.pcapng': [[1], [0]],
  'pcapngtest__be_test006_two_linktypes.pcapng': [
    [1, 0],
    [96, 0],
  ],
  'pcapngtest__le_test010_spb.pcapng': [[1], [0]],
  'pcapngtest__be_test016_nrb_spb.pcapng': [[1], [0]],
  'pcapngtest__le_test017_custom_blocks.pcapng': [[], []],
  'pcapngtest__be_test101_isb.pcapng': [
    [1, 0, 1],
    [96, 0, 128],
  ],
  'ppp__qinq_8021ad.pcapng': [[1], [65535]],
  'ppp__ipv6_ext_headers.pcapng': [[1], [262144]],
  'ppp__icmp_types.pcap': [[1], [262144]],
  'ppp__ipv4_malformed.pcap': [
    [1, 1],
    [262144, 65536],
  ],
};

// ---- running the reader ----

/** Chunk sizes: the whole input at once (parsed in place), or a sequence (parsed through the carry). */
type Chunking = 'whole' | number | (() => number);

interface Run {
  /** Comparable with `tsharkLines`. */
  lines: string[];
  /** Everything else a frame carries: global interface id, digits, and a digest of the bytes. */
  detail: string[];
  stats: string;
  error: unknown;
  reader: PcapngReader;
}

const pad9 = (n: number): string => String(n).padStart(9, '0');

function run(bytes: Uint8Array, chunking: Chunking = 'whole'): Run {
  const lines: string[] = [];
  const detail: string[] = [];
  const reader: PcapngReader = new PcapngReader((f: Frame) => {
    const ifc = reader.interfaces[f.interfaceId]!;
    // tshark joins several comments with ','; the reader with '\n'.
    lines.push(
      `${f.tsSec}.${pad9(f.tsNanos)}\t${f.caplen}\t${f.wirelen}\t${ifc.localId}\t${ifc.section + 1}\t${f.comment.replaceAll('\n', ',')}\t${f.linkType}`,
    );
    const data = createHash('sha256')
      .update(f.buf.subarray(f.off, f.off + f.caplen))
      .digest('hex');
    detail.push(`${f.interfaceId} ${f.tsDigits} ${data.slice(0, 16)}`);
  });
  let error: unknown = null;
  try {
    if (chunking === 'whole') reader.push(bytes);
    else {
      const next = typeof chunking === 'number' ? () => chunking : chunking;
      for (let o = 0; o < bytes.length; ) {
        const n = Math.min(next(), bytes.length - o);
        // A fresh copy each time: the reader must not keep chunks past `push`.
        reader.push(bytes.slice(o, o + n));
        o += n;
      }
    }
    reader.end();
  } catch (err) {
    error = err;
  }
  return { lines, detail, stats: JSON.stringify(reader.stats), error, reader };
}

const sha256 = (lines: string[]): string => createHash('sha256').update(lines.join('\n')).digest('hex');

/** Same frames, same stats, same outcome. */
function assertSameRun(a: Run, b: Run, what: string): void {
  assert.deepEqual(b.lines, a.lines, what);
  assert.deepEqual(b.detail, a.detail, what);
  assert.equal(b.stats, a.stats, what);
  assert.equal(String(b.error), String(a.error), what);
}

function assertExpected(name: string, r: Run): void {
  const exp = EXPECTED[name]!;
  if (exp.format) {
    assert.ok(isPipelineError(r.error) && r.error.code === 'PCS_SOURCE_FORMAT', `${name}: ${r.error}`);
    assert.match((r.error as Error).message, exp.format);
    return;
  }
  if (exp.damagedAt !== undefined) {
    assert.ok(r.error instanceof TruncatedCaptureError, `${name}: ${r.error}`);
    assert.equal(r.error.offset, exp.damagedAt);
    assert.equal(r.error.frames, exp.packets);
  } else assert.equal(r.error, null, `${name}: ${r.error}`);
  assert.equal(r.lines.length, exp.packets, name);
  assert.equal(sha256(r.lines), exp.sha256, `${name}: frames differ from tshark's; run the live comparison below`);
}

// ---- tshark (live comparison, when installed) ----

/** tshark's encapsulation numbers (`frame.encap_type`) for the link types in the corpus. */
const WTAP_TO_LINKTYPE = new Map([
  ['1', 1], // WTAP_ENCAP_ETHERNET -> LINKTYPE_ETHERNET
  ['15', 0], // WTAP_ENCAP_NULL -> LINKTYPE_NULL
  ['25', 113], // WTAP_ENCAP_SLL -> LINKTYPE_LINUX_SLL
]);

const execFileP = promisify(execFile);

/**
 * tshark's view of a file, one line per packet:
 * `time_epoch  cap_len  len  interface_id  section_number  comment  linktype`.
 * tshark 4.0 also lists custom blocks as records (no encapsulation): they are dropped. Simple
 * Packet Blocks have no time (tshark leaves it empty, the reader gives 0).
 */
async function tsharkLines(path: string): Promise<string[]> {
  const fields = ['time_epoch', 'cap_len', 'len', 'interface_id', 'section_number', 'comment', 'encap_type'];
  const args = ['-r', path, '-T', 'fields', ...fields.flatMap((f) => ['-e', `frame.${f}`])];
  let out: string;
  try {
    out = (await execFileP('tshark', args, { maxBuffer: 1 << 28 })).stdout;
  } catch (err) {
    // Damaged files: tshark prints the packets before the damage, then fails.
    out = (err as { stdout?: string }).stdout ?? '';
  }
  const lines: string[] = [];
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const c = line.split('\t');
    if (c[6] === '') continue;
    const linkType = WTAP_TO_LINKTYPE.get(c[6]!);
    assert.ok(linkType !== undefined, `${path}: add encapsulation ${c[6]} to WTAP_TO_LINKTYPE`);
    lines.push([c[0] === '' ? '0.000000000' : c[0], c[1], c[2], c[3], c[4], c[5], linkType].join('\t'));
  }
  return lines;
}

// ---- byte-order swapping ----

/** Numeric option values per block type (code -> kind); other option values are bytes or text. */
type Kind = 'u32' | 'u64' | 'u32x2';
const OPTION_KINDS: Record<number, Record<number, Kind>> = {
  // IDB: if_speed, if_tzone, if_tsoffset.
  1: { 8: 'u64', 10: 'u32', 14: 'u64' },
  // PB and EPB: flags, dropcount, packetid, queue.
  2: { 2: 'u32', 4: 'u64', 5: 'u64', 6: 'u32' },
  6: { 2: 'u32', 4: 'u64', 5: 'u64', 6: 'u32' },
  // ISB: starttime, endtime (two 32-bit halves), then 64-bit counters.
  5: { 2: 'u32x2', 3: 'u32x2', 4: 'u64', 5: 'u64', 6: 'u64', 7: 'u64', 8: 'u64' },
};
/** Custom options open with a 32-bit Private Enterprise Number. */
const CUSTOM_OPTIONS = new Set([2988, 2989, 19372, 19373]);

/**
 * The same file in the other byte order: block headers and trailers, fixed fields, option and
 * NRB record headers and the numeric options above. Custom block data is opaque and left as is.
 */
function swapPcapng(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src);
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const ov = new DataView(out.buffer);
  let le = true;
  const s16 = (p: number) => ov.setUint16(p, dv.getUint16(p, le), !le);
  const s32 = (p: number) => ov.setUint32(p, dv.getUint32(p, le), !le);
  const s64 = (p: number) => ov.setBigUint64(p, dv.getBigUint64(p, le), !le);
  const options = (type: number, p: number, end: number) => {
    while (end - p >= 4) {
      const code = dv.getUint16(p, le);
      const len = dv.getUint16(p + 2, le);
      s16(p);
      s16(p + 2);
      if (code === 0 || len > end - p - 4) return;
      const kind = CUSTOM_OPTIONS.has(code) ? 'u32' : OPTION_KINDS[type]?.[code];
      if (kind === 'u32' && len >= 4) s32(p + 4);
      else if (kind === 'u64' && len >= 8) s64(p + 4);
      else if (kind === 'u32x2' && len >= 8) {
        s32(p + 4);
        s32(p + 8);
      }
      p += 4 + ((len + 3) & ~3);
    }
  };
  let o = 0;
  while (src.length - o >= 12) {
    if (dv.getUint32(o, true) === PCAPNG_BT_SHB) le = dv.getUint32(o + 8, true) === 0x1a2b3c4d;
    const type = dv.getUint32(o, le);
    const len = dv.getUint32(o + 4, le);
    if (len < 12 || len % 4 !== 0 || len > src.length - o) break;
    s32(o);
    s32(o + 4);
    s32(o + len - 4);
    const end = o + len - 4;
    const dataEnd = (p: number) => p + ((dv.getUint32(o + 20, le) + 3) & ~3);
    switch (type) {
      case PCAPNG_BT_SHB:
        s32(o + 8);
        s16(o + 12);
        s16(o + 14);
        s64(o + 16);
        options(type, o + 24, end);
        break;
      case 1:
        s16(o + 8);
        s16(o + 10);
        s32(o + 12);
        options(type, o + 16, end);
        break;
      case 2:
      case 6:
        if (type === 2) {
          s16(o + 8);
          s16(o + 10);
        } else s32(o + 8);
        for (let p = o + 12; p < o + 28; p += 4) s32(p);
        options(type, dataEnd(o + 28), end);
        break;
      case 3:
        s32(o + 8);
        break;
      case 4: {
        let p = o + 8;
        while (end - p >= 4) {
          const recType = dv.getUint16(p, le);
          const recLen = dv.getUint16(p + 2, le);
          s16(p);
          s16(p + 2);
          p += 4 + ((recLen + 3) & ~3);
          if (recType === 0) break;
        }
        options(type, p, end);
        break;
      }
      case 5:
        s32(o + 8);
        s32(o + 12);
        s32(o + 16);
        options(type, o + 20, end);
        break;
      case 0x0a: {
        const secretsLen = dv.getUint32(o + 12, le);
        s32(o + 8);
        s32(o + 12);
        options(type, o + 16 + ((secretsLen + 3) & ~3), end);
        break;
      }
      case 0xbad:
      case 0x40000bad:
        s32(o + 8);
        break;
    }
    o += len;
  }
  return out;
}

// ---- crafting files ----

type Opt = [code: number, value: Uint8Array];

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function num(le: boolean, width: 1 | 2 | 4 | 8, v: number | bigint): Uint8Array {
  const out = new Uint8Array(width);
  const dv = new DataView(out.buffer);
  if (width === 1) dv.setUint8(0, Number(v));
  else if (width === 2) dv.setUint16(0, Number(v), le);
  else if (width === 4) dv.setUint32(0, Number(v), le);
  else dv.setBigUint64(0, BigInt.asUintN(64, BigInt(v)), le);
  return out;
}

const pad = (n: number): Uint8Array => new Uint8Array(((n + 3) & ~3) - n);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function options(le: boolean, opts: Opt[]): Uint8Array {
  if (opts.length === 0) return new Uint8Array(0);
  const parts = opts.flatMap(([code, v]) => [num(le, 2, code), num(le, 2, v.length), v, pad(v.length)]);
  return cat(...parts, new Uint8Array(4));
}

function block(le: boolean, type: number, body: Uint8Array): Uint8Array {
  const len = 12 + body.length + pad(body.length).length;
  return cat(num(le, 4, type), num(le, 4, len), body, pad(body.length), num(le, 4, len));
}

function shb(le: boolean, major = 1, minor = 0): Uint8Array {
  const body = cat(num(le, 4, 0x1a2b3c4d), num(le, 2, major), num(le, 2, minor), num(le, 8, -1n));
  return block(le, PCAPNG_BT_SHB, body);
}

function idb(le: boolean, linkType: number, snaplen: number, opts: Opt[] = []): Uint8Array {
  return block(le, 1, cat(num(le, 2, linkType), num(le, 2, 0), num(le, 4, snaplen), options(le, opts)));
}

function epb(
  le: boolean,
  ifId: number,
  ts: bigint,
  data: Uint8Array,
  opts: Opt[] = [],
  orig = data.length,
): Uint8Array {
  const fixed = cat(num(le, 4, ifId), num(le, 8, 0), num(le, 4, data.length), num(le, 4, orig));
  // The timestamp is two 32-bit words, high first, each in the section's byte order.
  fixed.set(num(le, 4, Number(ts >> 32n)), 4);
  fixed.set(num(le, 4, Number(ts & 0xffffffffn)), 8);
  return block(le, 6, cat(fixed, data, pad(data.length), options(le, opts)));
}

function spb(le: boolean, orig: number, data: Uint8Array): Uint8Array {
  return block(le, 3, cat(num(le, 4, orig), data));
}

function setU32(b: Uint8Array, o: number, v: number, le = true): Uint8Array {
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(o, v, le);
  return b;
}

const PKT = new Uint8Array(60).map((_, i) => i);
const time = (f: Frame): string => `${f.tsSec}.${pad9(f.tsNanos)}`;

function collect(bytes: Uint8Array): { frames: string[]; reader: PcapngReader; error: unknown } {
  const frames: string[] = [];
  const reader = new PcapngReader((f) => frames.push(`${f.interfaceId} ${time(f)} ${f.caplen}/${f.wirelen}`));
  let error: unknown = null;
  try {
    reader.push(bytes);
    reader.end();
  } catch (err) {
    error = err;
  }
  return { frames, reader, error };
}

function formatError(fn: () => void, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isPipelineError(err), String(err));
    assert.equal(err.code, 'PCS_SOURCE_FORMAT');
    assert.match(err.message, message);
    return true;
  });
}

// ---- tests ----

describe('isPcapngMagic', () => {
  it('accepts the section header block type, whatever the byte order', () => {
    assert.equal(isPcapngMagic(corpusFile('pcapngtest__le_test001_basic.pcapng')), true);
    assert.equal(isPcapngMagic(corpusFile('pcapngtest__be_test006_two_linktypes.pcapng')), true);
    // pcapng content behind a .pcap name
    assert.equal(isPcapngMagic(corpusFile('ppp__icmp_types.pcap')), true);
  });
  it('refuses classic pcap, other formats and short input', () => {
    assert.equal(isPcapngMagic(corpusFile('ppp__microsecs.pcap')), false);
    assert.equal(isPcapngMagic(corpusFile('ppp__solaris.snoop')), false);
    assert.equal(isPcapngMagic(new Uint8Array([0x0a, 0x0d, 0x0d])), false);
    assert.equal(isPcapngMagic(new Uint8Array(0)), false);
  });
});

describe('PcapngReader: corpus against tshark', () => {
  const files = pcapngCorpus();

  it('has an expectation for every pcapng file of the manifest', () => {
    assert.deepEqual([...files].sort(), Object.keys(EXPECTED).sort());
  });

  for (const name of files) {
    it(name, () => assertExpected(name, run(corpusFile(name))));
  }

  it('matches tshark packet by packet (live)', async () => {
    const pending = files
      .filter((name) => !EXPECTED[name]!.format)
      .map(async (name) => {
        const want = await tsharkLines(new URL(name, CORPUS).pathname);
        const got = run(corpusFile(name)).lines;
        for (let i = 0; i < Math.max(want.length, got.length); i++) {
          assert.equal(got[i], want[i], `${name}: packet ${i + 1}`);
        }
        assert.equal(sha256(want), EXPECTED[name]!.sha256, `${name}: EXPECTED digest is stale`);
      });
    await Promise.all(pending);
  });

  it('has the interfaces tshark lists', () => {
    for (const [name, [linkTypes, snaplens]] of Object.entries(IDBS)) {
      const ifs = run(corpusFile(name)).reader.interfaces;
      assert.deepEqual(
        ifs.map((i) => i.linkType),
        linkTypes,
        name,
      );
      assert.deepEqual(
        ifs.map((i) => i.snaplen),
        snaplens,
        name,
      );
    }
  });
});

describe('PcapngReader: chunking', () => {
  // Whole buffers are parsed in place; smaller chunks go through the carry buffer. Both must
  // give the same frames, bytes, stats and outcome.
  for (const name of pcapngCorpus()) {
    it(name, () => {
      const bytes = corpusFile(name);
      const whole = run(bytes);
      if (bytes.length <= 64 * 1024) assertSameRun(whole, run(bytes, 1), `${name}, 1-byte chunks`);
      for (const seed of [1, 2, 3]) assertSameRun(whole, run(bytes, randomChunkSizes(seed)), `${name}, seed ${seed}`);
    });
  }
});

describe('PcapngReader: byte order', () => {
  for (const name of pcapngCorpus()) {
    if (EXPECTED[name]!.format) continue;
    it(`${name} swapped`, () => {
      const bytes = corpusFile(name);
      const a = run(bytes);
      const swapped = swapPcapng(bytes);
      assert.notDeepEqual(swapped, bytes);
      const b = run(swapped, randomChunkSizes(7));
      assert.deepEqual(b.lines, a.lines);
      assert.deepEqual(b.detail, a.detail);
      assert.equal(String(b.error), String(a.error));
      const flip = { le: 'be', be: 'le' } as const;
      if (a.reader.stats.sections > 0) assert.equal(b.reader.stats.byteOrder, flip[a.reader.stats.byteOrder]);
      assert.deepEqual({ ...b.reader.stats, byteOrder: '' }, { ...a.reader.stats, byteOrder: '' });
    });
  }

  it('reads the le and be editions of test202 (sections alternating byte order) alike', () => {
    const le = run(corpusFile('pcapngtest__le_test202_multi_section.pcapng'));
    const be = run(corpusFile('pcapngtest__be_test202_multi_section.pcapng'));
    assert.deepEqual(be.lines, le.lines);
    assert.deepEqual(be.detail, le.detail);
    assert.equal(le.reader.stats.byteOrder, 'le');
    assert.equal(be.reader.stats.byteOrder, 'be');
  });
});

describe('PcapngReader: sections and interfaces', () => {
  it('numbers interfaces across sections (test202: 2 + 1 + 2 interfaces)', () => {
    const r = run(corpusFile('pcapngtest__le_test202_multi_section.pcapng'));
    // IDBs as tshark's pcapng file dissector shows them, section by section.
    const ifs = r.reader.interfaces.map((i) => [i.section, i.localId, i.linkType, i.snaplen, i.name]);
    assert.deepEqual(ifs, [
      [0, 0, 1, 96, 'eth0'],
      [0, 1, 0, 0, 'null1'],
      [1, 0, 1, 128, 'silly ethernet interface 2'],
      [2, 0, 1, 96, 'eth0'],
      [2, 1, 0, 0, 'null1'],
    ]);
    // Packets: EPB if0, EPB if0, EPB if1 | SPB, EPB if0, SPB, EPB if0 | EPB if1.
    assert.deepEqual(
      r.detail.map((d) => Number(d.split(' ')[0])),
      [0, 0, 1, 2, 2, 2, 2, 4],
    );
    assert.equal(r.reader.stats.sections, 3);
    assert.equal(r.reader.stats.interfaces, 5);
    // Block census from the dissector: NRB, ISB, custom blocks are counted and skipped.
    assert.deepEqual(r.reader.stats.blocks, {
      SHB: 3,
      IDB: 5,
      NRB: 5,
      CB: 1,
      CB_NOCOPY: 2,
      EPB: 6,
      ISB: 4,
      SPB: 2,
    });
    assert.equal(r.reader.stats.skippedBlocks, 12);
    assert.deepEqual(r.reader.stats.warnings, []);
  });

  it('keeps per-interface resolution (zeek: 10^-9 then 10^-6)', () => {
    const r = run(corpusFile('zeek__pcapng_multi_if_tsresol.pcapng'));
    assert.deepEqual(
      r.reader.interfaces.map((i) => [i.tsresol, i.tsDigits, i.name]),
      [
        [9, 9, 'eth0'],
        [6, 6, '\\Device\\NPF_{5AE6EDB4-EFF9-46B3-A3C2-EE50C688A9E6}'],
      ],
    );
    // tshark: 1767663089.500330493 on interface 0, 1767663437.111897000 on interface 1.
    assert.equal(r.lines[0]!.split('\t')[0], '1767663089.500330493');
    assert.equal(r.lines[2]!.split('\t')[0], '1767663437.111897000');
    assert.deepEqual(
      r.detail.map((d) => d.split(' ').slice(0, 2).join(' ')),
      ['0 9', '0 9', '1 6', '1 6', '1 6', '1 6'],
    );
  });

  it('keeps mixed link types (many_interfaces: Ethernet, NULL, RAW 12)', () => {
    const r = run(corpusFile('ppp__many_interfaces_mixed_linktypes.pcapng'));
    assert.deepEqual(
      r.reader.interfaces.map((i) => i.linkType),
      [1, 1, 1, 1, 0, 1, 1, 1, 12, 1, 0],
    );
    assert.equal(r.reader.interfaces[10]!.name, 'lo0');
  });

  it('reads timestamps past 2106 (tshark: 4294967296.000000000)', () => {
    const r = run(corpusFile('tcpdump__time_2106_overflow.pcapng'));
    assert.equal(r.lines[0]!.split('\t')[0], '4294967296.000000000');
  });

  it('reads packet comments (eth_and_sll: 100 of 159 packets)', () => {
    const r = run(corpusFile('ppp__pcapng_eth_and_sll_comments.pcapng'));
    const comments = r.lines.map((l) => l.split('\t')[5]).filter((c) => c !== '');
    assert.equal(comments.length, 100);
    assert.ok(comments.includes('Packet #99'));
  });

  it('sizes Simple Packet Blocks by the snaplen of interface 0 and the block', () => {
    const le = true;
    const bytes = cat(shb(le), idb(le, 1, 40), spb(le, 60, PKT), spb(le, 20, PKT.subarray(0, 20)), spb(le, 90, PKT));
    const { frames, error } = collect(bytes);
    assert.equal(error, null);
    // snaplen 40 cuts the first; the second is whole; the third claims 90 but holds 60, cut to 40.
    assert.deepEqual(frames, ['0 0.000000000 40/60', '0 0.000000000 20/20', '0 0.000000000 40/90']);
    const unlimited = collect(cat(shb(le), idb(le, 1, 0), spb(le, 90, PKT)));
    assert.deepEqual(unlimited.frames, ['0 0.000000000 60/90']);
  });

  it('reads the obsolete Packet Block', () => {
    const le = false;
    // PB: interface id 16 bits, drops 16 bits, then as an EPB.
    const pb = epb(le, 0, 1_000_000_000_123_456n, PKT, [[1, text('old')]], 80);
    pb.set(cat(num(le, 2, 1), num(le, 2, 7)), 8);
    pb.set(num(le, 4, 2), 0);
    const r = new PcapngReader((f) => {
      assert.equal(f.comment, 'old');
      assert.equal(f.interfaceId, 1);
      assert.equal(time(f), '1000000000.123456000');
      assert.equal(f.caplen, 60);
      assert.equal(f.wirelen, 80);
    });
    r.push(cat(shb(le), idb(le, 1, 0), idb(le, 101, 0), pb));
    r.end();
    assert.equal(r.frames, 1);
    assert.deepEqual(r.stats.blocks, { SHB: 1, IDB: 2, PB: 1 });
  });
});

describe('PcapngReader: timestamps', () => {
  // One interface per case; the expected times are tshark 4.0.17's for the same crafted file,
  // except where marked: tshark computes (remainder * 10^9) in 64 bits, which overflows above
  // about 1.8e10 units per second; those values were worked out exactly with BigInt.
  const cases: { tsresol?: number; tsoffset?: bigint; ts: bigint; want: string; digits: number }[] = [
    { tsresol: 3, ts: 1700000000123n, want: '1700000000.123000000', digits: 3 },
    { tsoffset: 1000n, ts: 0xffffffffn, want: '5294.967295000', digits: 6 },
    { tsresol: 9, ts: 0xffffffffffffffffn, want: '18446744073.709551615', digits: 9 },
    // tshark: 18446744.018369319 (overflow)
    { tsresol: 12, ts: 0xffffffffffffffffn, want: '18446744.073709551', digits: 9 },
    { tsresol: 0x8a, ts: (1700000000n << 10n) + 1023n, want: '1700000000.999023437', digits: 4 },
    { tsresol: 0x9e, ts: 0x6553f10000000001n, want: '6800000000.000000000', digits: 9 },
    { tsresol: 0, ts: 1700000000n, want: '1700000000.000000000', digits: 0 },
    { tsresol: 0xa0, ts: (1700000000n << 32n) + 0x80000001n, want: '1700000000.500000000', digits: 9 },
    // tshark: 39793033.120662262 (overflow)
    { tsresol: 11, ts: 3979303348959714368n, want: '39793033.489597143', digits: 9 },
    { tsresol: 7, ts: 17000000001234567n, want: '1700000000.123456700', digits: 7 },
    { tsresol: 0x94, ts: (1700000000n << 20n) + 1048575n, want: '1700000000.999999046', digits: 7 },
    { tsoffset: -1n, ts: 1700000000000001n, want: '1699999999.000001000', digits: 6 },
    // tshark: 18364.000014376 (overflow)
    { tsresol: 15, ts: 0xfedcba9876543210n, want: '18364.758544493', digits: 9 },
    // tshark: 1.000000001 (overflow)
    { tsresol: 0xbf, ts: 0xfedcba9876543210n, want: '1.991111111', digits: 9 },
  ];

  function craft(le: boolean): Uint8Array {
    const ifs = cases.map((c) => {
      const opts: Opt[] = [];
      if (c.tsresol !== undefined) opts.push([9, num(le, 1, c.tsresol)]);
      if (c.tsoffset !== undefined) opts.push([14, num(le, 8, c.tsoffset)]);
      return idb(le, 1, 0, opts);
    });
    return cat(shb(le), ...ifs, ...cases.map((c, i) => epb(le, i, c.ts, PKT)));
  }

  for (const le of [true, false]) {
    it(`converts every resolution exactly (${le ? 'le' : 'be'})`, () => {
      const got: string[] = [];
      const r = new PcapngReader((f) => got.push(`${time(f)} ${f.tsDigits}`));
      r.push(craft(le));
      r.end();
      assert.deepEqual(
        got,
        cases.map((c) => `${c.want} ${c.digits}`),
      );
    });
  }

  it('agrees with BigInt arithmetic on random 64-bit timestamps', () => {
    const rnd = rng(42);
    const u32 = () => BigInt(Math.floor(rnd() * 4294967296));
    const resolutions = [0, 1, 3, 6, 7, 9, 10, 11, 12, 19, 0x80, 0x8a, 0x94, 0x95, 0xa0, 0xbf, 0xc0];
    const le = true;
    for (const tsresol of resolutions) {
      const exp = tsresol & 0x7f;
      const units = tsresol & 0x80 ? 1n << BigInt(exp) : 10n ** BigInt(exp);
      const stamps = Array.from({ length: 200 }, (_, i) =>
        i === 0 ? 0xffffffffffffffffn : i === 1 ? units - 1n : (u32() << 32n) | u32(),
      );
      const want = stamps.map((t) => `${Number(t / units)}.${pad9(Number(((t % units) * 1000000000n) / units))}`);
      const got: string[] = [];
      const r = new PcapngReader((f) => got.push(time(f)));
      r.push(cat(shb(le), idb(le, 1, 0, [[9, num(le, 1, tsresol)]]), ...stamps.map((t) => epb(le, 0, t, PKT))));
      r.end();
      assert.deepEqual(got, want, `if_tsresol 0x${tsresol.toString(16)}`);
    }
  });
});

describe('PcapngReader: comments and options', () => {
  it('joins several comments and cuts a comment at a NUL, as tshark does', () => {
    const le = true;
    // tshark shows this packet's comments as "first,second".
    const bytes = cat(
      shb(le),
      idb(le, 1, 0),
      epb(le, 0, 0n, PKT, [
        [1, text('first')],
        [1, text('second\0junk')],
      ]),
    );
    const r = new PcapngReader((f) => assert.equal(f.comment, 'first\nsecond'));
    r.push(bytes);
    r.end();
    assert.equal(r.frames, 1);
  });

  it('decodes UTF-8 comments and clears the comment on the next packet', () => {
    const le = false;
    const bytes = cat(
      shb(le),
      idb(le, 1, 0, [[2, text('récepteur')]]),
      epb(le, 0, 0n, PKT, [[1, text('ça marche ✓')]]),
      epb(le, 0, 0n, PKT, [[2, num(le, 4, 1)]]),
    );
    const comments: string[] = [];
    const r = new PcapngReader((f) => comments.push(f.comment));
    r.push(bytes);
    r.end();
    assert.deepEqual(comments, ['ça marche ✓', '']);
    assert.equal(r.interfaces[0]!.name, 'récepteur');
  });

  it('ignores an option running past its block, with a warning (recoverable)', () => {
    const le = true;
    const bad = epb(le, 0, 5n, PKT, [[1, text('cut')]]);
    // The comment option's length (after the 28-byte header and 60 bytes of data) claims 300 bytes.
    bad.set(num(le, 2, 300), 28 + 60 + 2);
    const badIdb = idb(le, 1, 0, [[2, text('eth9')]]);
    badIdb.set(num(le, 2, 99), 16 + 2);
    const bytes = cat(
      shb(le),
      idb(le, 1, 0),
      bad,
      epb(le, 0, 6n, PKT, [[1, text('fine')]]),
      badIdb,
      epb(le, 1, 7n, PKT),
    );
    const got: string[] = [];
    const r = new PcapngReader((f) => got.push(`${f.interfaceId}:${f.comment}`));
    r.push(bytes);
    r.end();
    assert.deepEqual(got, ['0:', '0:fine', '1:']);
    assert.equal(r.interfaces[1]!.name, '');
    assert.equal(r.stats.warnings.length, 2);
    assert.match(r.stats.warnings[0]!, /^EPB at byte \d+: option 1 of length 300 runs past the block/);
    assert.match(r.stats.warnings[1]!, /^IDB at byte \d+: option 2 of length 99 runs past the block/);
  });

  it('ignores a comment option running past a corpus packet block', () => {
    const bytes = corpusFile('ppp__pcapng_eth_and_sll_comments.pcapng').slice();
    const good = run(bytes);
    // Find the first packet with a comment, then its comment option just after the padded data.
    const k = good.lines.findIndex((l) => l.split('\t')[5] !== '');
    let off = -1;
    new PcapngReader((f) => {
      if (off < 0 && f.comment !== '') off = f.off + ((f.caplen + 3) & ~3);
    }).push(bytes);
    assert.equal(new DataView(bytes.buffer).getUint16(off, true), 1, 'opt_comment');
    bytes.set(num(true, 2, 0xfff0), off + 2);
    const r = run(bytes);
    assert.equal(r.error, null);
    assert.equal(r.lines.length, good.lines.length);
    assert.equal(r.lines[k]!.split('\t')[5], '');
    assert.deepEqual(
      r.lines.filter((_, i) => i !== k),
      good.lines.filter((_, i) => i !== k),
    );
    assert.equal(r.reader.stats.warnings.length, 1);
  });

  it('ignores if_tsresol and if_tsoffset of the wrong size, with a warning', () => {
    const le = true;
    const ifOpts: Opt[] = [
      [9, num(le, 2, 9)],
      [14, num(le, 4, 5)],
    ];
    const { frames, reader } = collect(cat(shb(le), idb(le, 1, 0, ifOpts), epb(le, 0, 1_500_000n, PKT)));
    assert.deepEqual(frames, ['0 1.500000000 60/60']);
    assert.equal(reader.stats.warnings.length, 2);
  });
});

describe('PcapngReader: damaged and refused files', () => {
  it('refuses a first section of another version (libpcap__pcapng_invalid_vers_1)', () => {
    formatError(
      () => new PcapngReader(() => {}).push(corpusFile('libpcap__pcapng_invalid_vers_1.pcapng')),
      /pcapng version 0\.1/,
    );
    formatError(() => new PcapngReader(() => {}).push(shb(true, 2, 0)), /section 1 has pcapng version 2\.0/);
  });

  it('stops at a later section of another version (gopacket test901)', () => {
    const bytes = corpusFile('gopacket__pcapng_shb_version2_invalid.pcapng');
    for (const chunking of ['whole', 1, randomChunkSizes(5)] as Chunking[]) {
      const r = run(bytes, chunking);
      assert.equal(r.lines.length, 1);
      assert.ok(r.error instanceof TruncatedCaptureError);
      assert.equal(r.error.frames, 1);
      assert.equal(r.error.offset, 480);
      assert.match(r.error.message, /damaged at byte 480: section 2 has pcapng version 2\.0/);
    }
  });

  it('refuses a first block that is no section header, or a bad byte-order magic', () => {
    const le = true;
    formatError(() => new PcapngReader(() => {}).push(cat(idb(le, 1, 0), shb(le))), /opens with block type 0x00000001/);
    const bom = setU32(shb(le), 8, 0x12345678);
    formatError(() => new PcapngReader(() => {}).push(bom), /invalid byte-order magic 0x78563412/);
    const short = cat(num(le, 4, PCAPNG_BT_SHB), num(le, 4, 24), num(le, 4, 0x1a2b3c4d), num(le, 8, 1), num(le, 4, 24));
    formatError(() => new PcapngReader(() => {}).push(short), /shorter than its fixed fields/);
  });

  it('reports input too short for a section header as a format error, not a truncation', () => {
    const full = corpusFile('tcpdump__empty.pcapng');
    for (const n of [0, 4, 11, 12, 27]) {
      const r = new PcapngReader(() => {});
      r.push(full.subarray(0, n));
      formatError(
        () => r.end(),
        n === 0 ? /input is empty/ : new RegExp(`ends inside its Section Header Block \\(${n} bytes\\)`),
      );
    }
  });

  it('marks the file damaged at a block with broken framing', () => {
    const le = true;
    const head = cat(shb(le), idb(le, 1, 0), epb(le, 0, 1n, PKT));
    const tail = epb(le, 0, 2n, PKT);
    const cases: [string, Uint8Array, RegExp][] = [
      ['length not a multiple of 4', setU32(tail.slice(), 4, 101), /total length 101 \(must be a multiple of 4/],
      ['length under 12', setU32(tail.slice(), 4, 8), /total length 8 \(must be/],
      ['length over the limit', setU32(tail.slice(), 4, MAX_RECORD_BYTES + 4), /limit 16777216/],
      ['trailer mismatch', setU32(tail.slice(), tail.length - 4, 64), /trailing copy says 64/],
      ['IDB too short', block(le, 1, new Uint8Array(4)), /interface description block of 16 bytes/],
      ['bad later byte-order magic', setU32(shb(le), 8, 0), /invalid byte-order magic/],
    ];
    for (const [what, bad, message] of cases) {
      for (const chunking of ['whole', 1, randomChunkSizes(9)] as Chunking[]) {
        const bytes = cat(head, bad, epb(le, 0, 3n, PKT));
        const r = run(bytes, chunking);
        assert.equal(r.lines.length, 1, what);
        assert.ok(r.error instanceof TruncatedCaptureError, `${what}: ${r.error}`);
        assert.equal(r.error.offset, head.length, what);
        assert.equal(r.error.frames, 1, what);
        assert.match(r.error.message, message, what);
      }
    }
  });

  it('rejects an oversized block at once, without waiting for its bytes', () => {
    const le = true;
    const r = new PcapngReader(() => {});
    r.push(cat(shb(le), num(le, 4, 6), num(le, 4, MAX_RECORD_BYTES + 4), new Uint8Array(4)));
    assert.throws(() => r.end(), TruncatedCaptureError);
  });

  it('skips packet blocks it cannot use, with a warning (recoverable)', () => {
    const le = true;
    const tooLong = epb(le, 0, 2n, PKT);
    setU32(tooLong, 20, 61); // captured length one past the data room
    const short = block(le, 6, new Uint8Array(16));
    const bytes = cat(
      shb(le),
      spb(le, 60, PKT), // no interface yet
      epb(le, 0, 1n, PKT), // no interface yet
      idb(le, 1, 0),
      epb(le, 1, 1n, PKT), // only interface 0 exists
      tooLong,
      short,
      epb(le, 0, 3_000_001n, PKT),
    );
    const { frames, reader, error } = collect(bytes);
    assert.equal(error, null);
    assert.deepEqual(frames, ['0 3.000001000 60/60']);
    assert.equal(reader.stats.skippedBlocks, 5);
    assert.deepEqual(
      reader.stats.warnings.map((w) => w.replace(/ at byte \d+/, '')),
      [
        'SPB: its section defines no interface; block skipped',
        'EPB: interface 0 is not defined in its section; block skipped',
        'EPB: interface 1 is not defined in its section; block skipped',
        'EPB: captured length 61 runs past the block (60 bytes of data room); block skipped',
        'EPB: 28 bytes is shorter than its fixed fields (32); block skipped',
      ],
    );
  });

  it('does not let a packet name an interface of an earlier section', () => {
    const le = true;
    const bytes = cat(shb(le), idb(le, 1, 0), idb(le, 0, 0), shb(!le), idb(!le, 1, 0), epb(!le, 1, 0n, PKT));
    const { frames, reader } = collect(bytes);
    assert.deepEqual(frames, []);
    assert.match(reader.stats.warnings[0]!, /interface 1 is not defined in its section/);
  });

  it('keeps at most MAX_WARNINGS warnings', () => {
    const le = true;
    const blocks = Array.from({ length: MAX_WARNINGS + 20 }, () => epb(le, 5, 0n, PKT));
    const { reader } = collect(cat(shb(le), ...blocks));
    assert.equal(reader.stats.warnings.length, MAX_WARNINGS + 1);
    assert.equal(reader.stats.warnings.at(-1), 'further warnings not recorded');
    assert.equal(reader.stats.skippedBlocks, MAX_WARNINGS + 20);
  });

  it('delivers every packet before a cut, then reports the truncation', () => {
    for (const name of ['ppp__pcapng_eth_and_sll_comments.pcapng', 'rusticata__wireshark_samples_mixed.pcapng']) {
      const bytes = corpusFile(name);
      const offsets: number[] = [];
      // Whole-buffer parsing: frame offsets are file offsets; an EPB's data starts 28 bytes in.
      new PcapngReader((f) => offsets.push(f.off)).push(bytes);
      const full = run(bytes);
      for (const k of [0, 1, Math.floor(offsets.length / 2), offsets.length - 1]) {
        const cut = offsets[k]! + 1;
        for (const chunking of ['whole', randomChunkSizes(k + 1)] as Chunking[]) {
          const r = run(bytes.subarray(0, cut), chunking);
          assert.deepEqual(r.lines, full.lines.slice(0, k), `${name} cut in packet ${k + 1}`);
          assert.ok(r.error instanceof TruncatedCaptureError, String(r.error));
          assert.equal(r.error.frames, k);
          assert.equal(r.error.frames, r.lines.length);
          assert.equal(r.error.offset, offsets[k]! - 28);
          assert.match(r.error.message, /the last block is cut short \(29 bytes of it present\)/);
        }
      }
    }
  });
});
