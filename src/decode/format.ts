/**
 * Text forms of addresses and bytes, built from lookup tables so the record writer does no
 * per-byte `toString` calls. Output matches tshark's: dotted quads, RFC 5952 IPv6, lowercase
 * colon-separated MACs, lowercase hex.
 */

import { longestZeroRun } from '../core/ipv6-text.ts';

const DEC: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));
const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * @example
 * formatIPv4(0xc0a80001) // '192.168.0.1'
 */
export function formatIPv4(a: number): string {
  return DEC[a >>> 24]! + '.' + DEC[(a >>> 16) & 255]! + '.' + DEC[(a >>> 8) & 255]! + '.' + DEC[a & 255]!;
}

/** IPv4 address from four bytes at `o`. */
export function formatIPv4At(b: Uint8Array, o: number): string {
  return DEC[b[o]!]! + '.' + DEC[b[o + 1]!]! + '.' + DEC[b[o + 2]!]! + '.' + DEC[b[o + 3]!]!;
}

/**
 * RFC 5952 text of an IPv6 address held as four big-endian 32-bit words: lowercase, leading
 * zeros dropped, the longest run (two or more) of zero groups shown as `::`, first run on ties.
 * IPv4-mapped addresses keep the dotted tail, as tshark shows them.
 * @example
 * formatIPv6(new Uint32Array([0x20010db8, 0, 0, 1])) // '2001:db8::1'
 */
export function formatIPv6(w: Uint32Array): string {
  const g = [
    w[0]! >>> 16,
    w[0]! & 0xffff,
    w[1]! >>> 16,
    w[1]! & 0xffff,
    w[2]! >>> 16,
    w[2]! & 0xffff,
    w[3]! >>> 16,
    w[3]! & 0xffff,
  ];
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return '::ffff:' + formatIPv4(w[3]!);
  }
  const run = longestZeroRun(g);
  const bestStart = run >> 4;
  const bestLen = run & 15;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    s += g[i]!.toString(16);
    if (i < 7) s += ':';
  }
  return s;
}

/** Read 16 bytes at `o` into four big-endian words. */
export function readIPv6Words(b: Uint8Array, o: number, out: Uint32Array): void {
  for (let i = 0; i < 4; i++) {
    const q = o + i * 4;
    out[i] = ((b[q]! << 24) | (b[q + 1]! << 16) | (b[q + 2]! << 8) | b[q + 3]!) >>> 0;
  }
}

const SCRATCH6 = new Uint32Array(4);

/** IPv6 address from sixteen bytes at `o`. */
export function formatIPv6At(b: Uint8Array, o: number): string {
  readIPv6Words(b, o, SCRATCH6);
  return formatIPv6(SCRATCH6);
}

/**
 * @example
 * formatMAC(bytes, 0) // '00:1b:21:3a:4f:10'
 */
export function formatMAC(b: Uint8Array, o: number): string {
  return (
    HEX2[b[o]!]! +
    ':' +
    HEX2[b[o + 1]!]! +
    ':' +
    HEX2[b[o + 2]!]! +
    ':' +
    HEX2[b[o + 3]!]! +
    ':' +
    HEX2[b[o + 4]!]! +
    ':' +
    HEX2[b[o + 5]!]!
  );
}

/** Lowercase hex of `len` bytes at `o` (no separators). */
export function formatHex(b: Uint8Array, o: number, len: number): string {
  let s = '';
  for (let i = o; i < o + len; i++) s += HEX2[b[i]!]!;
  return s;
}

/** Largest |milliseconds| a Date holds (ECMA-262: ±100,000,000 days from the epoch). */
export const MAX_DATE_MS = 8.64e15;

const NANO_PAD = '000000000';

/**
 * Epoch seconds with exactly `digits` decimals, e.g. '1499349612.123456'. Built as text so
 * nanosecond captures keep every digit. `nanos` is the non-negative part after `sec`, so
 * (-2, 250000000) is -1.75.
 */
export function formatTimestamp(sec: number, nanos: number, digits: number): string {
  // Before 1970 (a negative pcapng if_tsoffset): sec + nanos / 10^9 written as one negative number.
  if (sec < 0 && nanos > 0) return `-${formatTimestamp(-sec - 1, 1e9 - nanos, digits)}`;
  if (digits <= 0) return String(sec);
  const n = String(nanos);
  const frac = n.length >= 9 ? n : NANO_PAD.slice(n.length) + n;
  return sec + '.' + frac.slice(0, digits);
}
