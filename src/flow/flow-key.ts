/**
 * Bidirectional flow keys as ten 32-bit words, built without strings or BigInts.
 *
 *   word 0      protocol | ip_version << 8
 *   words 1-4   endpoint A address (IPv4: word 1 only, the rest 0)
 *   words 5-8   endpoint B address
 *   word 9      port A << 16 | port B
 *
 * Direction is normalised by ordering the (address, port) pairs, so both directions of a
 * conversation build the same key; `forward` says whether the packet went A -> B.
 * Ports are 0 for protocols without them. The hash is seeded at random per process so crafted
 * traffic cannot aim collisions at the table (the table still compares whole keys).
 */
import type { PacketContext } from '../core/packet.ts';

export const FLOW_KEY_WORDS = 10;

const SEED = (Math.random() * 0x100000000) >>> 0;

/** Compare endpoint (addrX, portX) with (addrY, portY), IPv4 or IPv6 words. */
function compareEndpoints(x: Uint32Array | number, px: number, y: Uint32Array | number, py: number): number {
  if (typeof x === 'number') {
    const yy = y as number;
    if (x !== yy) return x < yy ? -1 : 1;
  } else {
    const yy = y as Uint32Array;
    for (let i = 0; i < 4; i++) if (x[i] !== yy[i]) return x[i]! < yy[i]! ? -1 : 1;
  }
  return px === py ? 0 : px < py ? -1 : 1;
}

export class FlowKeyBuilder {
  /** The key of the last `build`; overwritten by the next. */
  readonly key = new Uint32Array(FLOW_KEY_WORDS);
  /** Whether the last packet travelled from endpoint A to endpoint B. */
  forward = true;
  hash = 0;
  /**
   * Key ICMP echo request/reply by their identifier (in both port words), so two pings between
   * the same hosts are two flows. Off for `stats`, which counts plain 5-tuples.
   */
  icmpEchoIds = false;

  /**
   * Build the key of an IP packet in `p`. Returns false for packets without IP.
   * @example
   * if (kb.build(ctx)) table.add(kb.key, kb.hash);
   */
  build(p: PacketContext): boolean {
    const k = this.key;
    const v = p.ipVersion;
    if (v === 0) return false;
    let sp = p.srcPort;
    let dp = p.dstPort;
    if (this.icmpEchoIds && p.icmpEchoId >= 0 && (p.protocol === 1 || p.protocol === 58)) sp = dp = p.icmpEchoId;
    let fwd: boolean;
    if (v === 4) {
      const s = p.src4;
      const d = p.dst4;
      fwd = s < d || (s === d && sp <= dp);
      k[1] = fwd ? s : d;
      k[5] = fwd ? d : s;
      k[2] = k[3] = k[4] = k[6] = k[7] = k[8] = 0;
    } else {
      fwd = compareEndpoints(p.src6, sp, p.dst6, dp) <= 0;
      const a = fwd ? p.src6 : p.dst6;
      const b = fwd ? p.dst6 : p.src6;
      k[1] = a[0]!;
      k[2] = a[1]!;
      k[3] = a[2]!;
      k[4] = a[3]!;
      k[5] = b[0]!;
      k[6] = b[1]!;
      k[7] = b[2]!;
      k[8] = b[3]!;
    }
    k[0] = p.protocol | (v << 8);
    k[9] = fwd ? ((sp << 16) | dp) >>> 0 : ((dp << 16) | sp) >>> 0;
    this.forward = fwd;
    // IPv4 keys have six zero words: hashing the four that vary halves the cost.
    this.hash = v === 4 ? hash4(k[0]!, k[1]!, k[5]!, k[9]!) : hashWords(k);
    return true;
  }
}

function mix(h: number, w: number): number {
  w = Math.imul(w, 0xcc9e2d51);
  w = (w << 15) | (w >>> 17);
  h ^= Math.imul(w, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The table hash of a key as `FlowKeyBuilder.build` computes it (for keys read back from a
 * snapshot: the hash is seeded per process, so it is never stored).
 * @example
 * const slot = table.findOrInsert(key, hashKey(key));
 */
export function hashKey(k: Uint32Array): number {
  return k[0]! >>> 8 === 4 ? hash4(k[0]!, k[1]!, k[5]!, k[9]!) : hashWords(k);
}

// Fixed seeds of `flowUid`, one per lane: unlike SEED they must be the same in every process.
const UID_SEED_1 = 0x5a17c0de;
const UID_SEED_2 = 0x0f10a3e1;
/** Words hashed by `flowUid`: ten key words, the context word, first-seen time low and high, lateness. */
const UID_WORDS = FLOW_KEY_WORDS + 4;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** Two lowercase hex digits per byte value: joining table entries is ~5x faster than `toString(16)`. */
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex8(x: number): string {
  return HEX_BYTE[x >>> 24]! + HEX_BYTE[(x >>> 16) & 0xff]! + HEX_BYTE[(x >>> 8) & 0xff]! + HEX_BYTE[x & 0xff]!;
}

/**
 * A flow's stable id: 16 lowercase hex digits (64 bits) hashed with a fixed seed from its key
 * words (`words[at .. at + FLOW_KEY_WORDS)`: addresses, ports or ICMP echo id, protocol,
 * version), its `context` word (VLAN, tunnel, restart index), its first-seen time and `lateUs`
 * (how far its first packet lagged the engine clock, 0 in a capture whose times never go back),
 * so every process computes the same id for the same flow, and two flows of one conversation
 * that start at different times get different ids. Two lanes of murmur3-style mixing, each
 * feeding the other after every word, finished with murmur3's fmix. Not collision-resistant
 * against crafted input (the seed is public): a uniqueness key, not a security boundary.
 * @example
 * flowUid(table.words, slot * stride, contextWord, firstSeenUs, 0); // '3f9a0c1d22e4b7a8'
 */
export function flowUid(words: Uint32Array, at: number, context: number, firstSeenUs: number, lateUs: number): string {
  let h1 = UID_SEED_1;
  let h2 = UID_SEED_2;
  // Packet times are below 2^53 µs: the low word is the value modulo 2^32, the high word the rest.
  const lo = firstSeenUs >>> 0;
  const hi = Math.floor(firstSeenUs / 0x100000000) >>> 0;
  for (let i = 0; i < UID_WORDS; i++) {
    const j = i - FLOW_KEY_WORDS;
    const w = j < 0 ? words[at + i]! : j === 0 ? context : j === 1 ? lo : j === 2 ? hi : lateUs;
    h1 ^= Math.imul(rotl(Math.imul(w, 0x239b961b), 15), 0xab0e9789);
    h1 = (Math.imul((rotl(h1, 19) + h2) | 0, 5) + 0x561ccd1b) | 0;
    h2 ^= Math.imul(rotl(Math.imul(w, 0x38b34ae5), 16), 0xa1e38b93);
    h2 = (Math.imul((rotl(h2, 17) + h1) | 0, 5) + 0x0bcaa747) | 0;
  }
  h1 ^= UID_WORDS * 4;
  h2 ^= UID_WORDS * 4;
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  h1 = finish(h1);
  h2 = finish(h2);
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h1) | 0;
  return hex8(h1) + hex8(h2);
}

/** Seeded hash of the four words an IPv4 key holds (protocol, A, B, ports). */
export function hash4(a: number, b: number, c: number, d: number): number {
  return finish(mix(mix(mix(mix(SEED, a), b), c), d));
}

/** Seeded 32-bit hash of the key words (multiply-rotate mixing, murmur3-style finaliser). */
export function hashWords(k: Uint32Array): number {
  let h = SEED;
  for (let i = 0; i < k.length; i++) {
    let w = Math.imul(k[i]!, 0xcc9e2d51);
    w = (w << 15) | (w >>> 17);
    h ^= Math.imul(w, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
