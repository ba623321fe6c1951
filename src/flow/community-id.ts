/**
 * Community ID v1 (https://github.com/corelight/community-id-spec): a string naming a flow the
 * same way Zeek, Suricata, Wireshark and Elastic name it, so records from each join on it.
 *
 * Hash input, big-endian, 32-bit aligned:
 *
 *   seed:16  addr_a:32|128  addr_b:32|128  protocol:8  pad:8(0)  [port_a:16  port_b:16]
 *
 * (a, b) are the endpoints ordered so the smaller (address, port) pair comes first; the ports
 * are present only for TCP, UDP, SCTP, ICMP and ICMPv6. The ID is `"1:"` + base64(SHA-1(input)).
 *
 * ICMP has no ports: the type stands in for the source port and, for request/reply pairs
 * (echo, timestamp, router solicitation/advertisement, ...), the type of the counterpart
 * message for the destination port, so request and reply order into the same tuple. Any other
 * type is one-way: its code becomes the destination port and the endpoints are not reordered.
 * (The mapping is Zeek's ICMP4_counterpart / ICMP6_counterpart, which the spec adopts.)
 */
import { hash } from 'node:crypto';

/** ICMP. */
const IPPROTO_ICMP = 1;
/** TCP. */
const IPPROTO_TCP = 6;
/** UDP. */
const IPPROTO_UDP = 17;
/** ICMPv6. */
const IPPROTO_ICMPV6 = 58;
/** SCTP. */
const IPPROTO_SCTP = 132;

/**
 * Counterpart message type per ICMP type, -1 for one-way types. Dense so the lookup is an
 * index, not a map probe.
 */
const ICMP4_COUNTERPART = counterparts([
  [8, 0], // echo request / echo reply
  [13, 14], // timestamp request / reply
  [15, 16], // information request / reply
  [10, 9], // router solicitation / advertisement
  [17, 18], // address mask request / reply
]);

/** Counterpart message type per ICMPv6 type, -1 for one-way types. */
const ICMP6_COUNTERPART = counterparts([
  [128, 129], // echo request / echo reply
  [130, 131], // multicast listener query / report
  [133, 134], // router solicitation / advertisement
  [135, 136], // neighbour solicitation / advertisement
  [139, 140], // node information query / reply (formerly who-are-you request / reply)
  [144, 145], // home agent address discovery request / reply
]);

function counterparts(pairs: [number, number][]): Int16Array {
  const t = new Int16Array(256).fill(-1);
  for (const [a, b] of pairs) {
    t[a] = b;
    t[b] = a;
  }
  return t;
}

/** Which protocol numbers hash ports: 1 yes, 0 no. */
const HAS_PORTS = new Uint8Array(256);
HAS_PORTS[IPPROTO_ICMP] = HAS_PORTS[IPPROTO_TCP] = HAS_PORTS[IPPROTO_UDP] = 1;
HAS_PORTS[IPPROTO_ICMPV6] = HAS_PORTS[IPPROTO_SCTP] = 1;

// One scratch buffer holds the largest input (IPv6 with ports: 2 + 16 + 16 + 2 + 4 bytes);
// the four views of its possible lengths are made once, so a call allocates only the digest.
// The digest comes from the one-shot `crypto.hash`, not a `createHash` object: it costs about
// half as much (0.3 to 0.75 µs per digest against 0.7 to 2 µs, on a loaded 2-core machine).
const SCRATCH = Buffer.alloc(40);
const VIEW_V4 = SCRATCH.subarray(0, 12);
const VIEW_V4_PORTS = SCRATCH.subarray(0, 16);
const VIEW_V6 = SCRATCH.subarray(0, 36);
const VIEW_V6_PORTS = SCRATCH.subarray(0, 40);

/**
 * Community ID v1 of a flow given as numbers.
 *
 * `src` and `dst` are IPv4 addresses as unsigned 32-bit numbers, first octet in the high byte
 * (as `PacketContext.src4`), or IPv6 addresses as four big-endian words (as
 * `PacketContext.src6`). `srcPort`/`dstPort` are the TCP, UDP or SCTP ports; for ICMP (protocol
 * 1) and ICMPv6 (protocol 58) pass the message type and code instead, and the spec's mapping to
 * port equivalents is applied here. Ports are ignored for protocols without them. Direction
 * does not matter except for one-way ICMP messages, whose sender should be `src`.
 *
 * `seed` (0 to 65535, default 0) must match the seed the other monitors use.
 *
 * Throws `TypeError` when an address does not fit `ipVersion`, and `RangeError` for a seed
 * outside 16 bits: both are caller bugs, never packet content.
 *
 * @example
 * communityId(4, 0x01020304, 0x05060708, 6, 1122, 3344); // '1:wCb3OG7yAFWelaUydu0D+125CLM='
 * communityId(6, p.src6, p.dst6, 58, p.icmpType, p.icmpCode); // ICMPv6: type and code
 */
export function communityId(
  ipVersion: 4 | 6,
  src: number | Uint32Array,
  dst: number | Uint32Array,
  protocol: number,
  srcPort: number,
  dstPort: number,
  seed = 0,
): string {
  if (!(seed >= 0 && seed <= 0xffff && Number.isInteger(seed))) {
    throw new RangeError(`Community ID seed must be an integer from 0 to 65535, got ${seed}`);
  }
  protocol &= 0xff;
  const hasPorts = HAS_PORTS[protocol] === 1;
  let sp = srcPort & 0xffff;
  let dp = dstPort & 0xffff;
  let oneWay = false;
  if (protocol === IPPROTO_ICMP || protocol === IPPROTO_ICMPV6) {
    // Types are 8-bit; a larger value has no counterpart, like an unknown type.
    const counterpart = sp < 256 ? (protocol === IPPROTO_ICMP ? ICMP4_COUNTERPART : ICMP6_COUNTERPART)[sp]! : -1;
    if (counterpart >= 0) dp = counterpart;
    else oneWay = true;
  }
  if (!hasPorts) sp = dp = 0;

  const b = SCRATCH;
  b[0] = seed >>> 8;
  b[1] = seed & 0xff;
  let view: Buffer;
  if (ipVersion === 4) {
    if (typeof src !== 'number' || typeof dst !== 'number') throw new TypeError('IPv4 addresses must be numbers');
    const s = src >>> 0;
    const d = dst >>> 0;
    const swap = !oneWay && (s > d || (s === d && sp > dp));
    put32(b, 2, swap ? d : s);
    put32(b, 6, swap ? s : d);
    b[10] = protocol;
    b[11] = 0;
    writePorts(b, 12, swap, sp, dp);
    view = hasPorts ? VIEW_V4_PORTS : VIEW_V4;
  } else if (ipVersion === 6) {
    if (typeof src === 'number' || typeof dst === 'number' || src.length < 4 || dst.length < 4) {
      throw new TypeError('IPv6 addresses must be Uint32Array(4)');
    }
    const swap = !oneWay && compare6(src, sp, dst, dp) > 0;
    const a = swap ? dst : src;
    const z = swap ? src : dst;
    for (let i = 0; i < 4; i++) {
      put32(b, 2 + 4 * i, a[i]!);
      put32(b, 18 + 4 * i, z[i]!);
    }
    b[34] = protocol;
    b[35] = 0;
    writePorts(b, 36, swap, sp, dp);
    view = hasPorts ? VIEW_V6_PORTS : VIEW_V6;
  } else {
    throw new TypeError(`Community ID needs IP version 4 or 6, got ${ipVersion}`);
  }
  return '1:' + hash('sha1', view, 'base64');
}

function writePorts(b: Buffer, off: number, swap: boolean, sp: number, dp: number): void {
  const first = swap ? dp : sp;
  const second = swap ? sp : dp;
  b[off] = first >>> 8;
  b[off + 1] = first & 0xff;
  b[off + 2] = second >>> 8;
  b[off + 3] = second & 0xff;
}

function put32(b: Buffer, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

/** Order of (x, px) against (y, py): IPv6 words first, then ports. */
function compare6(x: Uint32Array, px: number, y: Uint32Array, py: number): number {
  for (let i = 0; i < 4; i++) {
    const a = x[i]!;
    const b = y[i]!;
    if (a !== b) return a < b ? -1 : 1;
  }
  return px - py;
}
