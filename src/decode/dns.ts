/**
 * DNS (RFC 1035 section 4, https://www.rfc-editor.org/rfc/rfc1035#section-4).
 *
 *   [over TCP only: length:16, the message length]          (RFC 1035 4.2.2, RFC 7766)
 *   id:16
 *   qr:1 opcode:4 aa:1 tc:1 rd:1 ra:1 z:1 ad:1 cd:1 rcode:4
 *   qdcount:16  ancount:16  nscount:16  arcount:16           (12-byte header)
 *   question:        name  type:16  class:16
 *   resource record: name  type:16  class:16  ttl:32  rdlength:16  rdata
 *   name: labels (len:8 with the top two bits 00, then len bytes) ending in a zero byte, or
 *         ending in a compression pointer (top two bits 11, 14-bit offset from the message start)
 *
 * Decoded: the header, the first question and up to `MAX_DNS_ANSWERS` answer records. Answer
 * data is text for A, AAAA, NS, CNAME, PTR, MX ('preference exchange') and TXT (the strings
 * joined with ','), lowercase hex for every other type.
 *
 * Text matches tshark's fields: a name is its labels joined with '.', '<Root>' for the root; its
 * bytes are shown as tshark's `format_text` shows them (printable ASCII as is, control bytes as
 * C escapes such as `\t` or `\001`, UTF-8 sequences as characters, invalid UTF-8 as U+FFFD,
 * non-printable code points as `\uXXXX`); a TXT string as tshark's ASCII fields (other bytes as
 * U+FFFD). Deliberate differences: only control and format characters and noncharacters count
 * as non-printable (tshark also escapes unassigned code points); a name longer than 255 bytes
 * on the wire is refused (`dns.label_invalid`) where tshark shows up to 255 characters of text;
 * a question that cannot be read (pointer loop, bad label) is left out where tshark shows a
 * placeholder such as '<Name contains a pointer that loops>'; A and AAAA data of the wrong
 * length is hex (`dns.rdata_invalid`) where tshark pads the address with zeros.
 *
 * Over TCP only a segment that starts a message is decoded: the length prefix must be followed by
 * a plausible header, otherwise the segment is taken as the continuation of an earlier message
 * and left alone. A message that goes on in a later TCP segment or IP fragment is decoded as far
 * as its bytes go, without an anomaly: only a message cut by the capture, or whose counts run
 * past its own end, is `dns.truncated`.
 */
import { Buffer, isAscii } from 'node:buffer';
import { LAYER_DNS, LAYER_TCP, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { u16, u32 } from './decoder.ts';
import { formatHex, formatIPv4At, formatIPv6At } from './format.ts';

/** DNS header length. */
export const DNS_HEADER_LEN = 12;
/** Answer records kept per message; later ones are counted in ANCOUNT but not decoded. */
export const MAX_DNS_ANSWERS = 16;
/** Compression pointers followed within one name; more is taken as a loop. */
export const DNS_MAX_POINTERS = 16;
/** Longest name on the wire, length bytes and the final zero included (RFC 1035 2.3.4). */
export const DNS_MAX_NAME_LEN = 255;
/** Questions in a TCP message we accept as a message start (one in practice). */
const DNS_TCP_MAX_QDCOUNT = 16;

/** Record types whose data is shown as text. */
export const DNS_TYPE_A = 1;
export const DNS_TYPE_NS = 2;
export const DNS_TYPE_CNAME = 5;
export const DNS_TYPE_PTR = 12;
export const DNS_TYPE_MX = 15;
export const DNS_TYPE_TXT = 16;
export const DNS_TYPE_AAAA = 28;
/** The Z bit of the flags word: zero in every real message, so a TCP message start has it clear. */
const DNS_FLAG_Z = 0x0040;
/** tshark's text for the root name. */
export const DNS_ROOT_NAME = '<Root>';

/** `readName` failures (successful reads return an offset, never negative). */
const NAME_SHORT = -1;
const NAME_LOOP = -2;
const NAME_BAD = -3;

/** Scratch for the bytes of one name, dots included: built once, turned into a string once. */
const NAME_BUF = Buffer.allocUnsafe(DNS_MAX_NAME_LEN + 1);
/** Text of the last name `readName` built. */
let nameText = '';

/**
 * Read the name at `o`. `mode` says how far: NAME_SKIP stops at the first pointer (the name's
 * extent is known there), NAME_WALK follows every pointer and label to check it, NAME_BUILD
 * also copies the labels to `NAME_BUF` and sets `nameText`. Returns the offset just past the
 * name where it sits (after its first pointer, if any), or a `NAME_*` failure. `msg` is the
 * start of the DNS message that pointers are relative to.
 */
/** What `readName` does with a name: skip it at its first pointer, walk it whole, or build its text. */
const NAME_SKIP = 0;
const NAME_WALK = 1;
const NAME_BUILD = 2;

function readName(b: Uint8Array, msg: number, o: number, end: number, mode: number): number {
  const build = mode === NAME_BUILD;
  let n = 0;
  let wire = 1;
  let jumps = 0;
  let after = -1;
  let plain = true;
  while (true) {
    if (o >= end) return NAME_SHORT;
    const len = b[o]!;
    if (len === 0) {
      if (after < 0) after = o + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (o + 1 >= end) return NAME_SHORT;
      if (after < 0) {
        after = o + 2;
        if (mode === NAME_SKIP) return after;
      }
      if (++jumps > DNS_MAX_POINTERS) return NAME_LOOP;
      o = msg + (((len & 0x3f) << 8) | b[o + 1]!);
      continue;
    }
    // 0x40 (extended labels, made historic by RFC 6891) and 0x80 are not usable label types.
    if (kind !== 0) return NAME_BAD;
    wire += len + 1;
    if (wire > DNS_MAX_NAME_LEN) return NAME_BAD;
    if (o + 1 + len > end) return NAME_SHORT;
    if (build) {
      if (n > 0) NAME_BUF[n++] = 0x2e;
      for (let i = o + 1, e = o + 1 + len; i < e; i++) {
        const c = b[i]!;
        if (c < 0x20 || c > 0x7e) plain = false;
        NAME_BUF[n++] = c;
      }
    }
    o += len + 1;
  }
  if (build) {
    nameText = n === 0 ? DNS_ROOT_NAME : plain ? NAME_BUF.toString('latin1', 0, n) : formatDNSText(NAME_BUF, 0, n);
  }
  return after;
}

function nameAnomaly(p: PacketContext, r: number, continues: boolean): void {
  if (r === NAME_LOOP) p.anomaly('dns.pointer_loop');
  else if (r === NAME_BAD) p.anomaly('dns.label_invalid');
  else if (!continues) p.anomaly('dns.truncated');
}

/** Text of each ASCII byte as tshark writes it: printable as is, controls as C escapes. */
const C_ESCAPES: readonly string[] = Array.from({ length: 128 }, (_, c) => {
  if (c >= 0x20 && c < 0x7f) return String.fromCharCode(c);
  switch (c) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x09:
      return '\\t';
    case 0x0a:
      return '\\n';
    case 0x0b:
      return '\\v';
    case 0x0c:
      return '\\f';
    case 0x0d:
      return '\\r';
    default:
      return '\\' + c.toString(8).padStart(3, '0');
  }
});

/** Unicode format characters (general category Cf), as [first, last] pairs. */
const FORMAT_CHARS: readonly number[] = [
  0xad, 0xad, 0x600, 0x605, 0x61c, 0x61c, 0x6dd, 0x6dd, 0x70f, 0x70f, 0x890, 0x891, 0x8e2, 0x8e2, 0x180e, 0x180e,
  0x200b, 0x200f, 0x202a, 0x202e, 0x2060, 0x2064, 0x2066, 0x206f, 0xfeff, 0xfeff, 0xfff9, 0xfffb, 0x110bd, 0x110bd,
  0x110cd, 0x110cd, 0x13430, 0x1343f, 0x1bca0, 0x1bca3, 0x1d173, 0x1d17a, 0xe0001, 0xe0001, 0xe0020, 0xe007f,
];

function printable(cp: number): boolean {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return false;
  // Noncharacters: U+FDD0..U+FDEF and the last two code points of every plane.
  if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) return false;
  for (let i = 0; i < FORMAT_CHARS.length; i += 2) {
    if (cp < FORMAT_CHARS[i]!) return true;
    if (cp <= FORMAT_CHARS[i + 1]!) return false;
  }
  return true;
}

/**
 * Text of bytes the way tshark's `format_text` shows a DNS name: printable ASCII as is, ASCII
 * control bytes as `\a \b \t \n \v \f \r` or three octal digits, UTF-8 sequences (the old five-
 * and six-byte forms and overlong forms included) as their character, or `\uXXXX` / `\UXXXXXXXX`
 * when that is not printable, and U+FFFD for each invalid lead byte, stray continuation byte,
 * incomplete sequence, surrogate or value above U+10FFFF.
 *
 * @example
 * formatDNSText(Uint8Array.of(0x61, 0x01, 0xc3, 0xa9), 0, 4) // 'a\\001é'
 */
export function formatDNSText(b: Uint8Array, start: number, end: number): string {
  let s = '';
  let i = start;
  while (i < end) {
    const c = b[i++]!;
    if (c < 0x80) {
      s += C_ESCAPES[c]!;
      continue;
    }
    let need: number;
    let cp: number;
    if ((c & 0xe0) === 0xc0) {
      need = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) === 0xe0) {
      need = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) === 0xf0) {
      need = 3;
      cp = c & 0x07;
    } else if ((c & 0xfc) === 0xf8) {
      need = 4;
      cp = c & 0x03;
    } else if ((c & 0xfe) === 0xfc) {
      need = 5;
      cp = c & 0x01;
    } else {
      s += '\ufffd';
      continue;
    }
    while (need > 0 && i < end && (b[i]! & 0xc0) === 0x80) {
      cp = cp * 64 + (b[i]! & 0x3f);
      i++;
      need--;
    }
    if (need > 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) s += '\ufffd';
    else if (printable(cp)) s += String.fromCodePoint(cp);
    else if (cp <= 0xffff) s += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
    else s += '\\U' + cp.toString(16).toUpperCase().padStart(8, '0');
  }
  return s;
}

/** Strings up to this length are copied to a scratch buffer; longer ones are viewed in place. */
const TEXT_COPY_MAX = 64;
const TEXT_BUF = Buffer.allocUnsafe(TEXT_COPY_MAX);

/**
 * Text of bytes read as ASCII, the way tshark shows its ASCII string fields (HTTP request line
 * and headers, TLS server name, DNS TXT strings): bytes below 0x80 as they are, control bytes
 * included, and every other byte as U+FFFD.
 *
 * Short strings (host names) are checked and copied byte by byte into a scratch buffer and
 * decoded once: about 80-120 ns for 8-20 bytes, against 140-240 ns for a Buffer view with the
 * native ASCII check. Long ones (request targets) take the view: about 0.3 us for 1,000 bytes
 * against 0.9-1.3 us for the copy (Node 24, measured on 1e6 calls).
 *
 * @example
 * asciiText(Uint8Array.of(0x68, 0xc3, 0xa9), 0, 3) // 'h\ufffd\ufffd'
 */
export function asciiText(b: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return '';
  if (n <= TEXT_COPY_MAX) {
    let high = false;
    for (let i = 0; i < n; i++) {
      const c = b[start + i]!;
      if (c >= 0x80) {
        high = true;
        break;
      }
      TEXT_BUF[i] = c;
    }
    if (!high) return TEXT_BUF.toString('latin1', 0, n);
  } else {
    const view = Buffer.from(b.buffer, b.byteOffset + start, n);
    if (isAscii(view)) return view.toString('latin1');
  }
  let s = '';
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    s += c < 0x80 ? String.fromCharCode(c) : '\ufffd';
  }
  return s;
}

/**
 * A TCP segment that starts a DNS message: opcode assigned (0-2, 4-6), Z clear and a small
 * QDCOUNT. A continuation segment passes by chance about once in 20,000.
 */
function plausibleHeader(b: Uint8Array, h: number): boolean {
  const flags = u16(b, h + 2);
  const opcode = (flags >> 11) & 0xf;
  if (opcode === 3 || opcode > 6 || (flags & DNS_FLAG_Z) !== 0) return false;
  return u16(b, h + 4) <= DNS_TCP_MAX_QDCOUNT;
}

/** True when the innermost IP datagram is a fragment with more to come. */
function moreFragments(p: PacketContext): boolean {
  if (p.ipVersion === 4) return (p.ipFlags & 1) !== 0;
  if (p.ipVersion === 6) return p.ipv6FragId >= 0 && (p.ipFlags & 1) !== 0;
  return false;
}

/** Record data as text; a malformed record is hex and `dns.rdata_invalid`. */
function rdataText(
  p: PacketContext,
  b: Uint8Array,
  msg: number,
  rd: number,
  len: number,
  type: number,
  end: number,
  continues: boolean,
  text: boolean,
): string {
  const rdEnd = rd + len;
  switch (type) {
    case DNS_TYPE_A:
      if (len === 4) return text ? formatIPv4At(b, rd) : '';
      break;
    case DNS_TYPE_AAAA:
      if (len === 16) return text ? formatIPv6At(b, rd) : '';
      break;
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
    case DNS_TYPE_MX: {
      const at = type === DNS_TYPE_MX ? rd + 2 : rd;
      if (at >= rdEnd) break;
      const r = readName(b, msg, at, end, text ? NAME_BUILD : NAME_WALK);
      if (r < 0) {
        nameAnomaly(p, r, continues);
        return text ? formatHex(b, rd, len) : '';
      }
      if (r > rdEnd) break;
      if (!text) return '';
      return type === DNS_TYPE_MX ? u16(b, rd) + ' ' + nameText : nameText;
    }
    case DNS_TYPE_TXT: {
      let s = '';
      let o = rd;
      while (o < rdEnd) {
        const l = b[o]!;
        if (o + 1 + l > rdEnd) {
          p.anomaly('dns.rdata_invalid');
          return text ? formatHex(b, rd, len) : '';
        }
        if (text) {
          if (o > rd) s += ',';
          s += asciiText(b, o + 1, o + 1 + l);
        }
        o += 1 + l;
      }
      return s;
    }
    default:
      return text ? formatHex(b, rd, len) : '';
  }
  p.anomaly('dns.rdata_invalid');
  return text ? formatHex(b, rd, len) : '';
}

function storeAnswer(p: PacketContext, i: number, name: string, type: number, ttl: number, data: string): void {
  if (i < p.dnsAnswerNames.length) {
    p.dnsAnswerNames[i] = name;
    p.dnsAnswerTypes[i] = type;
    p.dnsAnswerTtls[i] = ttl;
    p.dnsAnswerData[i] = data;
  } else {
    p.dnsAnswerNames.push(name);
    p.dnsAnswerTypes.push(type);
    p.dnsAnswerTtls.push(ttl);
    p.dnsAnswerData.push(data);
  }
  p.dnsAnswerCount = i + 1;
}

/**
 * Decode a DNS message (UDP payload, or TCP segment with its length prefix). Always returns -1:
 * nothing is decoded inside DNS, and the payload fields set by UDP/TCP stay as they are.
 *
 * @example
 * UDP_APP[53] = decodeDNS; // in dispatch.ts; then p.dnsQueryName, p.dnsAnswerData[0], ...
 */
export function decodeDNS(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  p.dnsQueryName = '';
  p.dnsQueryType = -1;
  p.dnsQueryClass = 0;
  p.dnsAnswerCount = 0;
  let msg = off;
  let stop = end;
  // The message goes on in a later IP fragment or TCP segment: running out of bytes is expected.
  let continues = moreFragments(p);
  if (p.has(LAYER_TCP)) {
    if (end - off < 2 + DNS_HEADER_LEN) {
      if (p.truncated) p.anomaly('dns.truncated');
      return -1;
    }
    const len = u16(b, off);
    msg = off + 2;
    if (len < DNS_HEADER_LEN || !plausibleHeader(b, msg)) return -1;
    if (msg + len <= end) stop = msg + len;
    else if (!p.truncated) continues = true;
  } else if (end - off < DNS_HEADER_LEN) {
    if ((end > off || p.truncated) && !continues) p.anomaly('dns.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_DNS);
  const flags = u16(b, msg + 2);
  p.dnsId = u16(b, msg);
  p.dnsFlags = flags;
  p.dnsRcode = flags & 0xf;
  const qd = u16(b, msg + 4);
  const an = u16(b, msg + 6);
  p.dnsQdCount = qd;
  p.dnsAnCount = an;
  p.dnsNsCount = u16(b, msg + 8);
  p.dnsArCount = u16(b, msg + 10);
  // Without detail the names and records are walked for their anomalies but no text is built.
  const detail = p.appDetail;

  let o = msg + DNS_HEADER_LEN;
  for (let q = 0; q < qd; q++) {
    const r = readName(b, msg, o, stop, q !== 0 ? NAME_SKIP : detail ? NAME_BUILD : NAME_WALK);
    if (r < 0) {
      nameAnomaly(p, r, continues);
      return -1;
    }
    if (r + 4 > stop) {
      if (!continues) p.anomaly('dns.truncated');
      return -1;
    }
    if (q === 0) {
      p.dnsQueryName = detail ? nameText : '';
      p.dnsQueryType = u16(b, r);
      p.dnsQueryClass = u16(b, r + 2);
    }
    o = r + 4;
  }

  const keep = Math.min(an, MAX_DNS_ANSWERS);
  for (let i = 0; i < keep; i++) {
    const r = readName(b, msg, o, stop, detail ? NAME_BUILD : NAME_WALK);
    if (r < 0) {
      nameAnomaly(p, r, continues);
      return -1;
    }
    const name = nameText;
    if (r + 10 > stop) {
      if (!continues) p.anomaly('dns.truncated');
      return -1;
    }
    const type = u16(b, r);
    const len = u16(b, r + 8);
    const rd = r + 10;
    if (rd + len > stop) {
      if (!continues) p.anomaly('dns.truncated');
      return -1;
    }
    const data = rdataText(p, b, msg, rd, len, type, stop, continues, detail);
    if (detail) storeAnswer(p, i, name, type, u32(b, r + 4), data);
    o = rd + len;
  }
  return -1;
}
