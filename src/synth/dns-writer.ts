/**
 * DNS messages in wire format (RFC 1035 section 4, https://www.rfc-editor.org/rfc/rfc1035), written
 * straight into a packet buffer.
 *
 *   header: id:16  flags:16 (QR opcode AA TC RD RA Z rcode)  qdcount:16  ancount:16  nscount:16  arcount:16
 *   question: qname (labels)  qtype:16  qclass:16
 *   resource record: name  type:16  class:16  ttl:32  rdlength:16  rdata
 *
 * Responses compress names with pointers (0xc000 | offset): answers point at the question name,
 * records after a CNAME point at its target, and SOA records point at the zone inside the
 * question. Queries and responses carry an EDNS(0) OPT record when the client asked for one
 * (RFC 6891).
 */
import type { Catalog, DomainInfo } from './catalog.ts';

/** Query types and classes used. */
export const DNS_TYPE_A = 1;
export const DNS_TYPE_CNAME = 5;
export const DNS_TYPE_SOA = 6;
export const DNS_TYPE_AAAA = 28;
/** EDNS(0) pseudo-record type. */
export const DNS_TYPE_OPT = 41;
export const DNS_CLASS_IN = 1;
/** Flags of a recursive query (RD) and of a recursive answer (QR, RD, RA). */
export const DNS_FLAGS_QUERY = 0x0100;
export const DNS_FLAGS_RESPONSE = 0x8180;
/** Response code: the name does not exist. */
export const DNS_RCODE_NXDOMAIN = 3;
/** UDP payload size advertised in OPT records. */
const EDNS_UDP_SIZE = 1232;
/** Offset of the question name in every message (right after the 12-byte header). */
const QNAME_AT = 12;

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

function header(b: Uint8Array, o: number, id: number, flags: number, an: number, ns: number, ar: number): void {
  put16(b, o, id);
  put16(b, o + 2, flags);
  put16(b, o + 4, 1);
  put16(b, o + 6, an);
  put16(b, o + 8, ns);
  put16(b, o + 10, ar);
}

/** EDNS(0) OPT record: root name, type 41, UDP size, no extended flags, no options. 11 bytes. */
function opt(b: Uint8Array, o: number): number {
  b[o] = 0;
  put16(b, o + 1, DNS_TYPE_OPT);
  put16(b, o + 3, EDNS_UDP_SIZE);
  put32(b, o + 5, 0);
  put16(b, o + 9, 0);
  return o + 11;
}

/** Record header with a compressed owner name; returns the offset of its rdata. */
function rr(b: Uint8Array, o: number, ptr: number, type: number, ttl: number, rdlen: number): number {
  put16(b, o, 0xc000 | ptr);
  put16(b, o + 2, type);
  put16(b, o + 4, DNS_CLASS_IN);
  put32(b, o + 6, ttl);
  put16(b, o + 10, rdlen);
  return o + 12;
}

/**
 * Write a recursive query for `d` at b[o]; returns the message length.
 * @example
 * const len = writeDnsQuery(frame, udpPayloadOff, cat, cat.domains[0]!, 0x1234, DNS_TYPE_A, true);
 */
export function writeDnsQuery(
  b: Uint8Array,
  o: number,
  cat: Catalog,
  d: DomainInfo,
  id: number,
  qtype: number,
  edns: boolean,
): number {
  header(b, o, id, DNS_FLAGS_QUERY, 0, 0, edns ? 1 : 0);
  cat.names.copy(b, o + QNAME_AT, d.nameOff, d.nameOff + d.nameLen);
  let q = o + QNAME_AT + d.nameLen;
  put16(b, q, qtype);
  put16(b, q + 2, DNS_CLASS_IN);
  q += 4;
  if (edns) q = opt(b, q);
  return q - o;
}

/** Largest response `writeDnsResponse` writes, for buffer sizing. */
export const DNS_MAX_RESPONSE = 12 + 2 * 255 + 4 + 12 + 255 + 4 * 16 + 12 + 39 + 11;

/**
 * Write the resolver's answer to a query for `d` at b[o]; returns the message length.
 * A: the CNAME (if any) then `d.aCount` addresses. AAAA: the CNAME then one address, or no
 * address and an SOA (NODATA) when the name has no IPv6 server. A name that does not exist gets
 * NXDOMAIN with the zone's SOA in the authority section.
 *
 * @example
 * const len = writeDnsResponse(frame, udpPayloadOff, cat, cat.domains[0]!, 0x1234, DNS_TYPE_A, true, 300);
 */
export function writeDnsResponse(
  b: Uint8Array,
  o: number,
  cat: Catalog,
  d: DomainInfo,
  id: number,
  qtype: number,
  edns: boolean,
  ttl: number,
): number {
  let q = o + QNAME_AT;
  cat.names.copy(b, q, d.nameOff, d.nameOff + d.nameLen);
  q += d.nameLen;
  put16(b, q, qtype);
  put16(b, q + 2, DNS_CLASS_IN);
  q += 4;
  let an = 0;
  let ns = 0;
  let rcode = 0;
  if (d.nx) {
    rcode = DNS_RCODE_NXDOMAIN;
  } else {
    let owner = QNAME_AT;
    if (d.cnameOff >= 0) {
      q = rr(b, q, owner, DNS_TYPE_CNAME, ttl, d.cnameLen);
      owner = q - o;
      cat.names.copy(b, q, d.cnameOff, d.cnameOff + d.cnameLen);
      q += d.cnameLen;
      an++;
    }
    if (qtype === DNS_TYPE_A) {
      for (let k = 0; k < d.aCount; k++) {
        q = rr(b, q, owner, DNS_TYPE_A, ttl, 4);
        put32(b, q, cat.server4[d.server4 + k]!);
        q += 4;
        an++;
      }
    } else if (d.server6 >= 0) {
      q = rr(b, q, owner, DNS_TYPE_AAAA, ttl, 16);
      for (let k = 0; k < 16; k++) b[q + k] = cat.server6[d.server6 * 16 + k]!;
      q += 16;
      an++;
    }
  }
  if (an === 0 || (qtype === DNS_TYPE_AAAA && d.server6 < 0)) {
    // Negative answer: the zone's SOA, whose minimum field is the negative-caching TTL.
    const zone = QNAME_AT + d.zoneOff;
    q = rr(b, q, zone, DNS_TYPE_SOA, 900, 6 + 13 + 20);
    b[q] = 3;
    b[q + 1] = 0x6e; // "ns1"
    b[q + 2] = 0x73;
    b[q + 3] = 0x31;
    put16(b, q + 4, 0xc000 | zone);
    b[q + 6] = 10;
    b.set(HOSTMASTER, q + 7); // "hostmaster"
    put16(b, q + 17, 0xc000 | zone);
    put32(b, q + 19, 2024031201); // serial
    put32(b, q + 23, 7200); // refresh
    put32(b, q + 27, 900); // retry
    put32(b, q + 31, 1209600); // expire
    put32(b, q + 35, 300); // minimum
    q += 39;
    ns = 1;
  }
  if (edns) q = opt(b, q);
  header(b, o, id, DNS_FLAGS_RESPONSE | rcode, an, ns, edns ? 1 : 0);
  return q - o;
}

const HOSTMASTER = Uint8Array.from([0x68, 0x6f, 0x73, 0x74, 0x6d, 0x61, 0x73, 0x74, 0x65, 0x72]);
