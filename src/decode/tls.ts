/**
 * TLS record header and the ClientHello server name (RFC 8446 sections 5.1 and 4.1.2,
 * https://www.rfc-editor.org/rfc/rfc8446; server_name: RFC 6066 section 3,
 * https://www.rfc-editor.org/rfc/rfc6066#section-3).
 *
 *   record:       content_type:8 (20-24)  legacy_version:16 (0x0300-0x0304)  length:16
 *   handshake:    msg_type:8 (1 = ClientHello)  length:24
 *   ClientHello:  legacy_version:16  random:32 bytes  session_id_len:8  session_id
 *                 cipher_suites_len:16  cipher_suites  compression_len:8  compression_methods
 *                 extensions_len:16 (absent in old hellos)  extensions
 *   extension:    type:16  length:16  data
 *   server_name:  list_len:16  { name_type:8 (0 = host_name)  name_len:16  name }
 *
 * Only the start of a TCP payload is looked at: a recognised record header sets the TLS layer, and
 * a ClientHello there yields the first host_name (`p.tlsSni`, ASCII as tshark shows it). Every
 * length is checked against the structure holding it: one that runs past it is `tls.len_invalid`.
 * A hello that goes on in a later TCP segment or record ends the search without an anomaly; only
 * a frame cut by the capture is `tls.truncated`.
 */
import { LAYER_TLS, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { u16 } from './decoder.ts';
import { asciiText } from './dns.ts';

/** Record header length. */
export const TLS_RECORD_HEADER_LEN = 5;
/** Handshake message header length. */
export const TLS_HANDSHAKE_HEADER_LEN = 4;
/** Lowest and highest record content types (change_cipher_spec .. heartbeat). */
export const TLS_CONTENT_MIN = 20;
export const TLS_CONTENT_MAX = 24;
/** Content type of handshake records. */
export const TLS_CONTENT_HANDSHAKE = 22;
/** Handshake type of a ClientHello. */
export const TLS_HANDSHAKE_CLIENT_HELLO = 1;
/** Largest record body: 2^14 plaintext plus the 2048 bytes of expansion TLS 1.2 allows. */
export const TLS_MAX_RECORD_LEN = 16384 + 2048;
/** Extension type of server_name. */
export const TLS_EXT_SERVER_NAME = 0;
/** server_name entry type of a DNS host name. */
export const TLS_SNI_HOST_NAME = 0;
/** Fixed part of a ClientHello before the session id: version and random. */
const TLS_HELLO_FIXED_LEN = 2 + 32;

/**
 * Bytes ran out before the SNI. `cut` says the capture cut them (the frame is truncated and the
 * bytes ended at its end); otherwise the hello goes on in a later segment or record.
 */
function short(p: PacketContext, cut: boolean): number {
  if (cut) p.anomaly('tls.truncated');
  return -1;
}

function invalid(p: PacketContext): number {
  p.anomaly('tls.len_invalid');
  return -1;
}

/**
 * Decode the TLS record at the start of a TCP payload. Always returns -1; the payload fields set
 * by TCP stay as they are.
 *
 * @example
 * TCP_APP[443] = decodeTLS; // in dispatch.ts; then p.has(LAYER_TLS), p.tlsSni
 */
export function decodeTLS(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  p.tlsSni = '';
  if (end - off < TLS_RECORD_HEADER_LEN) {
    // A frame cut inside what starts like a handshake record.
    if (p.truncated && end > off && b[off] === TLS_CONTENT_HANDSHAKE && (end - off < 2 || b[off + 1] === 3)) {
      p.anomaly('tls.truncated');
    }
    return -1;
  }
  const type = b[off]!;
  const recLen = u16(b, off + 3);
  if (type < TLS_CONTENT_MIN || type > TLS_CONTENT_MAX || b[off + 1] !== 3 || b[off + 2]! > 4) return -1;
  if (recLen > TLS_MAX_RECORD_LEN) return -1;
  p.layers |= layerBit(LAYER_TLS);
  if (type !== TLS_CONTENT_HANDSHAKE) return -1;

  let o = off + TLS_RECORD_HEADER_LEN;
  const recEnd = o + recLen;
  // Bytes of this record present in this segment: a ClientHello split over records or
  // segments is followed only as far as this.
  const avail = Math.min(recEnd, end);
  if (o + TLS_HANDSHAKE_HEADER_LEN > avail) return short(p, p.truncated && avail === end);
  if (b[o] !== TLS_HANDSHAKE_CLIENT_HELLO) return -1;
  const hsEnd = o + TLS_HANDSHAKE_HEADER_LEN + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
  const limit = Math.min(hsEnd, avail);
  const cut = p.truncated && limit === end;
  o += TLS_HANDSHAKE_HEADER_LEN;

  // Each step: a field must fit the hello (else invalid) and the bytes present (else short).
  if (o + TLS_HELLO_FIXED_LEN + 1 > hsEnd) return invalid(p);
  if (o + TLS_HELLO_FIXED_LEN + 1 > limit) return short(p, cut);
  o += TLS_HELLO_FIXED_LEN;
  o += 1 + b[o]!; // session id
  if (o + 2 > hsEnd) return invalid(p);
  if (o + 2 > limit) return short(p, cut);
  o += 2 + u16(b, o); // cipher suites
  if (o + 1 > hsEnd) return invalid(p);
  if (o + 1 > limit) return short(p, cut);
  o += 1 + b[o]!; // compression methods
  if (o > hsEnd) return invalid(p);
  if (o === hsEnd) return -1; // no extensions
  if (o + 2 > hsEnd) return invalid(p);
  if (o + 2 > limit) return short(p, cut);
  const extEnd = o + 2 + u16(b, o);
  if (extEnd > hsEnd) return invalid(p);
  o += 2;
  while (o < extEnd) {
    if (o + 4 > extEnd) return invalid(p);
    if (o + 4 > limit) return short(p, cut);
    const extType = u16(b, o);
    const dataEnd = o + 4 + u16(b, o + 2);
    if (dataEnd > extEnd) return invalid(p);
    if (extType === TLS_EXT_SERVER_NAME) return serverName(p, b, o + 4, dataEnd, limit, cut);
    o = dataEnd;
  }
  return -1;
}

/** Read the server_name list in `[o, dataEnd)`; the first host_name entry becomes `p.tlsSni`. */
function serverName(p: PacketContext, b: Uint8Array, o: number, dataEnd: number, limit: number, cut: boolean): number {
  if (o + 2 > dataEnd) return invalid(p);
  if (o + 2 > limit) return short(p, cut);
  const listEnd = o + 2 + u16(b, o);
  if (listEnd > dataEnd) return invalid(p);
  o += 2;
  while (o < listEnd) {
    if (o + 3 > listEnd) return invalid(p);
    if (o + 3 > limit) return short(p, cut);
    const nameType = b[o]!;
    const nameEnd = o + 3 + u16(b, o + 1);
    if (nameEnd > listEnd) return invalid(p);
    if (nameType === TLS_SNI_HOST_NAME) {
      if (nameEnd > limit) return short(p, cut);
      p.tlsSni = asciiText(b, o + 3, nameEnd);
      return -1;
    }
    o = nameEnd;
  }
  return -1;
}
