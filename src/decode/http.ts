/**
 * HTTP/1.x request line and Host header (RFC 9112 sections 3 and 5,
 * https://www.rfc-editor.org/rfc/rfc9112; Host: RFC 9110 section 7.2).
 *
 *   request-line = method SP request-target SP HTTP-version CRLF
 *   field-line   = field-name ":" OWS field-value OWS CRLF       (LF alone is accepted too)
 *   headers end at an empty line
 *
 * Only a TCP payload that starts with a request of a standard method (GET POST PUT DELETE HEAD
 * OPTIONS PATCH CONNECT TRACE, case-sensitive, then one space) is decoded; responses and other
 * bytes are left alone. At most `HTTP_MAX_SCAN` bytes are read. The target is the bytes up to the
 * next space or line end (so `GET  /x` has an empty target, as tshark has it). The version is
 * not checked: as for tshark, a line with none (HTTP/0.9) or an odd one still counts. The Host
 * value is the first `Host:` field (name matched case-insensitively, no space before the colon)
 * with surrounding spaces and tabs removed; tshark keeps trailing ones and shows every Host
 * field: those are the deliberate differences. Methods outside the list (WebDAV's PROPFIND, ...)
 * are not decoded, where tshark knows more. Text is ASCII as tshark shows it (bytes from 0x80
 * become U+FFFD). When the capture cut the frame before the end of the headers without a Host
 * field, or inside the Host field, the packet gets `http.truncated`.
 */
import { LAYER_HTTP, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { asciiText } from './dns.ts';

/** Bytes of a request read at most: the request line and the headers usually fit. */
export const HTTP_MAX_SCAN = 2048;
/** Request methods recognised (RFC 9110 section 9 and RFC 5789 PATCH). */
export const HTTP_METHODS: readonly string[] = [
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'CONNECT',
  'TRACE',
];
const METHOD_BYTES: readonly Uint8Array[] = HTTP_METHODS.map((m) => Uint8Array.from(m, (c) => c.charCodeAt(0)));
/** Bytes that end the request target. */
const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
/** 'host:' in lowercase; a header name is compared with its bytes ORed with 0x20. */
const HOST_NAME = Uint8Array.of(0x68, 0x6f, 0x73, 0x74, 0x3a);

/** Index in `HTTP_METHODS` of the method followed by a space at `o`, or -1. */
function matchMethod(b: Uint8Array, o: number, end: number): number {
  for (let m = 0; m < METHOD_BYTES.length; m++) {
    const w = METHOD_BYTES[m]!;
    if (o + w.length >= end || b[o + w.length] !== SP) continue;
    let i = 0;
    while (i < w.length && b[o + i] === w[i]) i++;
    if (i === w.length) return m;
  }
  return -1;
}

/** True when the line at `o` (ending before `e`) starts with `Host:`, any case. */
function isHostLine(b: Uint8Array, o: number, e: number): boolean {
  if (e - o < HOST_NAME.length) return false;
  for (let i = 0; i < HOST_NAME.length - 1; i++) if ((b[o + i]! | 0x20) !== HOST_NAME[i]) return false;
  return b[o + HOST_NAME.length - 1] === 0x3a;
}

/**
 * Decode an HTTP request at the start of a TCP payload. Always returns -1; the payload fields
 * set by TCP stay as they are.
 *
 * @example
 * TCP_APP[80] = decodeHTTP; // in dispatch.ts; then p.httpMethod, p.httpUri, p.httpHost
 */
export function decodeHTTP(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  const stop = end - off > HTTP_MAX_SCAN ? off + HTTP_MAX_SCAN : end;
  const m = matchMethod(b, off, stop);
  if (m < 0) return -1;
  let o = off + METHOD_BYTES[m]!.length + 1;
  const uriStart = o;
  while (o < stop && b[o] !== SP && b[o] !== CR && b[o] !== LF) o++;
  const uriEnd = o;
  p.layers |= layerBit(LAYER_HTTP);
  p.httpMethod = HTTP_METHODS[m]!;

  p.httpUri = asciiText(b, uriStart, uriEnd);
  p.httpHost = '';
  // The frame's own end was reached; the capture cut it when it is truncated.
  const cut = p.truncated && stop === end;
  while (o < stop && b[o] !== LF) o++;
  o++;
  while (o < stop) {
    let e = o;
    while (e < stop && b[e] !== LF) e++;
    let lineEnd = e;
    if (lineEnd > o && b[lineEnd - 1] === CR) lineEnd--;
    if (lineEnd === o && e < stop) return -1; // empty line: headers end, no Host
    if (isHostLine(b, o, lineEnd)) {
      let v = o + HOST_NAME.length;
      while (v < lineEnd && (b[v] === SP || b[v] === HT)) v++;
      let ve = lineEnd;
      while (ve > v && (b[ve - 1] === SP || b[ve - 1] === HT)) ve--;
      p.httpHost = asciiText(b, v, ve);
      if (e >= stop && cut) p.anomaly('http.truncated');
      return -1;
    }
    o = e + 1;
  }
  if (cut) p.anomaly('http.truncated');
  return -1;
}
