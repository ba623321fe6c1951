/**
 * A JSON byte writer for the hot output path.
 *
 * Records are written straight into a Buffer as ASCII bytes: numbers digit by digit, addresses
 * and hex from the packet bytes, keys from pre-encoded byte arrays. Building one JS string per
 * field and joining them cost about 7 µs per packet (rope flattening, UTF-8 conversion and the
 * garbage they leave); writing bytes avoids all three. Strings that come off the wire are
 * escaped so the output stays pure ASCII (non-ASCII characters become `\uXXXX`).
 *
 * The buffer is handed off whole by `take()` and a fresh one allocated, so a stream may hold
 * the bytes until written without a copy.
 */

import { longestZeroRun } from './ipv6-text.ts';

const HEX = new Uint8Array(Array.from('0123456789abcdef', (c) => c.charCodeAt(0)));
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const DIGIT0 = 0x30;
const DOT = 0x2e;
const COLON = 0x3a;

/** "00" .. "99" as ASCII pairs: two digits per division. */
const DIGIT_PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  DIGIT_PAIRS[i * 2] = DIGIT0 + Math.floor(i / 10);
  DIGIT_PAIRS[i * 2 + 1] = DIGIT0 + (i % 10);
}

/** Number of decimal digits of a non-negative integer below 2^53. */
function digitCount(n: number): number {
  if (n < 100000) return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : 5;
  if (n < 10000000000) return n < 1000000 ? 6 : n < 10000000 ? 7 : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
  let d = 11;
  for (let t = n / 100000000000; t >= 1; t /= 10) d++;
  return d;
}

/**
 * Write the decimal digits of a non-negative integer below 2^53 at `o`; returns the offset after
 * them. A free function so compiled record writers can call it with their local offset.
 */
export function writeUint(b: Uint8Array, o: number, n: number): number {
  if (n < 100) {
    if (n < 10) {
      b[o] = DIGIT0 + n;
      return o + 1;
    }
    b[o] = DIGIT_PAIRS[n * 2]!;
    b[o + 1] = DIGIT_PAIRS[n * 2 + 1]!;
    return o + 2;
  }
  const end = o + digitCount(n);
  let p = end;
  while (n >= 0x80000000) {
    const q = Math.floor(n / 100);
    const r = (n - q * 100) * 2;
    b[--p] = DIGIT_PAIRS[r + 1]!;
    b[--p] = DIGIT_PAIRS[r]!;
    n = q;
  }
  // Below 2^31, (n / 100) | 0 is integer arithmetic.
  while (n >= 100) {
    const q = (n / 100) | 0;
    const r = (n - q * 100) * 2;
    b[--p] = DIGIT_PAIRS[r + 1]!;
    b[--p] = DIGIT_PAIRS[r]!;
    n = q;
  }
  if (n >= 10) {
    b[p - 1] = DIGIT_PAIRS[n * 2 + 1]!;
    b[p - 2] = DIGIT_PAIRS[n * 2]!;
  } else b[p - 1] = DIGIT0 + n;
  return end;
}

export class JsonWriter {
  buf: Buffer;
  pos = 0;
  private readonly size: number;

  constructor(size = 4 * 1024 * 1024) {
    this.size = size;
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Make room for `n` more bytes (records are far smaller than the buffer; this rarely grows). */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private readonly spare: Buffer[] = [];

  /** Bytes written so far, handed over; the writer goes on in a spare or new buffer. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = this.spare.pop() ?? Buffer.allocUnsafe(this.size);
    this.pos = 0;
    return out;
  }

  /**
   * Give back a buffer from `take()` once its bytes are written, so output runs on a few
   * recycled buffers instead of a fresh 4 MiB allocation per chunk (which let RSS climb
   * while the garbage collector caught up).
   */
  recycle(b: Buffer): void {
    if (this.spare.length < 4 && b.buffer.byteLength === this.size && b.byteOffset === 0) {
      this.spare.push(Buffer.from(b.buffer, 0, this.size));
    }
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /** Pre-encoded bytes (keys, punctuation). */
  raw(bytes: Uint8Array): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < bytes.length; i++) b[p++] = bytes[i]!;
    this.pos = p;
  }

  /** A non-negative integer below 2^53. */
  uint(n: number): void {
    this.pos = writeUint(this.buf, this.pos, n);
  }

  /** `n` as exactly `width` digits, zero-padded (timestamp fractions). */
  fixedDigits(n: number, width: number): void {
    const b = this.buf;
    let p = this.pos + width;
    this.pos = p;
    // Callers pass fractions below 10^9 < 2^31: integer arithmetic.
    n |= 0;
    for (let i = 0; i < width; i++) {
      const q = (n / 10) | 0;
      b[--p] = DIGIT0 + n - q * 10;
      n = q;
    }
  }

  /** Text known to be printable ASCII without quotes or backslashes (names we build). */
  ascii(s: string): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** JSON text made elsewhere (JSON.stringify): non-ASCII, which can only sit inside its strings, is escaped. */
  jsonText(s: string): void {
    this.ensure(s.length * 6);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x7f) b[p++] = c;
      else {
        b[p++] = BACKSLASH;
        b[p++] = 0x75; // u
        b[p++] = HEX[(c >> 12) & 15]!;
        b[p++] = HEX[(c >> 8) & 15]!;
        b[p++] = HEX[(c >> 4) & 15]!;
        b[p++] = HEX[c & 15]!;
      }
    }
    this.pos = p;
  }

  /** A JSON string literal of arbitrary text, escaped to ASCII. */
  string(s: string): void {
    this.ensure(s.length * 6 + 2);
    const b = this.buf;
    let p = this.pos;
    b[p++] = QUOTE;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x20 && c < 0x7f && c !== QUOTE && c !== BACKSLASH) b[p++] = c;
      else if (c === QUOTE || c === BACKSLASH) {
        b[p++] = BACKSLASH;
        b[p++] = c;
      } else {
        b[p++] = BACKSLASH;
        b[p++] = 0x75; // u
        b[p++] = HEX[(c >> 12) & 15]!;
        b[p++] = HEX[(c >> 8) & 15]!;
        b[p++] = HEX[(c >> 4) & 15]!;
        b[p++] = HEX[c & 15]!;
      }
    }
    b[p++] = QUOTE;
    this.pos = p;
  }

  /** `"…"` of lowercase hex for `len` bytes of `src` at `off`. */
  hexString(src: Uint8Array, off: number, len: number): void {
    this.ensure(len * 2 + 2);
    const b = this.buf;
    let p = this.pos;
    b[p++] = QUOTE;
    for (let i = off; i < off + len; i++) {
      const v = src[i]!;
      b[p++] = HEX[v >> 4]!;
      b[p++] = HEX[v & 15]!;
    }
    b[p++] = QUOTE;
    this.pos = p;
  }

  /** `"a.b.c.d"` of an IPv4 address held as a 32-bit number. */
  ipv4(a: number): void {
    this.byte(QUOTE);
    this.uint(a >>> 24);
    this.byte(DOT);
    this.uint((a >>> 16) & 255);
    this.byte(DOT);
    this.uint((a >>> 8) & 255);
    this.byte(DOT);
    this.uint(a & 255);
    this.byte(QUOTE);
  }

  /** `"…"` of an IPv6 address held as four big-endian words, in RFC 5952 form (as `formatIPv6`). */
  ipv6(w: Uint32Array): void {
    const g = this.groups;
    for (let i = 0; i < 4; i++) {
      g[i * 2] = w[i]! >>> 16;
      g[i * 2 + 1] = w[i]! & 0xffff;
    }
    // IPv4-mapped addresses keep their dotted tail: take the string path for them.
    if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
      this.string(`::ffff:${w[3]! >>> 24}.${(w[3]! >>> 16) & 255}.${(w[3]! >>> 8) & 255}.${w[3]! & 255}`);
      return;
    }
    const run = longestZeroRun(g);
    const bestStart = run >> 4;
    const bestLen = run & 15;
    const b = this.buf;
    let p = this.pos;
    b[p++] = QUOTE;
    for (let i = 0; i < 8; i++) {
      if (i === bestStart) {
        b[p++] = COLON;
        if (i === 0) b[p++] = COLON;
        i += bestLen - 1;
        continue;
      }
      const v = g[i]!;
      if (v >= 0x1000) b[p++] = HEX[v >> 12]!;
      if (v >= 0x100) b[p++] = HEX[(v >> 8) & 15]!;
      if (v >= 0x10) b[p++] = HEX[(v >> 4) & 15]!;
      b[p++] = HEX[v & 15]!;
      if (i < 7) b[p++] = COLON;
    }
    b[p++] = QUOTE;
    this.pos = p;
  }

  private readonly groups = new Uint16Array(8);

  /** `"aa:bb:cc:dd:ee:ff"` of six bytes of `src` at `off`. */
  mac(src: Uint8Array, off: number): void {
    const b = this.buf;
    let p = this.pos;
    b[p++] = QUOTE;
    for (let i = 0; i < 6; i++) {
      const v = src[off + i]!;
      if (i > 0) b[p++] = COLON;
      b[p++] = HEX[v >> 4]!;
      b[p++] = HEX[v & 15]!;
    }
    b[p++] = QUOTE;
    this.pos = p;
  }
}
