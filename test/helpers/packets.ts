/**
 * Test helpers for the flow stage: PacketContexts filled as the decoders leave them (Ethernet, then
 * IPv4 or IPv6, then TCP, UDP, ICMP or GRE), with no bytes behind them. Lengths follow the headers:
 * a 20-byte IPv4 or 40-byte IPv6 header, and frames under 60 bytes padded to 60 (Ethernet minimum,
 * without FCS), so cic-mode lengths see the padding as real captures show it.
 */
import {
  LAYER_ETHERNET,
  LAYER_GRE,
  LAYER_ICMP,
  LAYER_ICMPV6,
  LAYER_IPV4,
  LAYER_IPV6,
  LAYER_TCP,
  LAYER_UDP,
  layerBit,
} from '../../src/core/layers.ts';
import { PacketContext } from '../../src/core/packet.ts';

// TCP flag bits, under the short names tests write them with.
export {
  TCP_FLAG_ACK as ACK,
  TCP_FLAG_CWR as CWR,
  TCP_FLAG_ECE as ECE,
  TCP_FLAG_FIN as FIN,
  TCP_FLAG_PSH as PSH,
  TCP_FLAG_RST as RST,
  TCP_FLAG_SYN as SYN,
  TCP_FLAG_URG as URG,
} from '../../src/decode/tcp.ts';

/** An IPv4 address as a number, or an IPv6 address as four 32-bit words (IPv6 packets). */
export type Address = number | readonly number[];
/** An address and a port. */
export type Endpoint = readonly [address: Address, port: number];

/** @example ip4(10, 0, 0, 1) === 0x0a000001 */
export const ip4 = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
/** `2001:db8::<last>` as four words. @example ip6(1) // 2001:db8::1 */
export const ip6 = (last: number): number[] => [0x20010db8, 0, 0, last];

/**
 * The Ethernet and IP part of a packet from `from` to `to` (IPv6 when the addresses are words).
 * Add the transport part, then call {@link withSizes}.
 * @example
 * const p = withSizes(ipPacket(ip4(10, 0, 0, 1), ip4(10, 0, 0, 2), 50), 0, 100);
 */
export function ipPacket(from: Address, to: Address, protocol: number): PacketContext {
  const p = new PacketContext();
  const v6 = typeof from !== 'number';
  p.layers = layerBit(LAYER_ETHERNET) | layerBit(v6 ? LAYER_IPV6 : LAYER_IPV4);
  p.ethOff = 0;
  p.ipOff = 14;
  p.ipVersion = v6 ? 6 : 4;
  p.ipHeaderLength = v6 ? 40 : 20;
  if (typeof from === 'number') {
    p.src4 = from;
    p.dst4 = to as number;
  } else {
    p.src6.set(from);
    p.dst6.set(to as readonly number[]);
  }
  p.protocol = protocol;
  return p;
}

/**
 * Sets the IP length, payload and frame sizes for a transport header of `l4Header` bytes carrying
 * `payload` bytes; frames under 60 bytes are padded to 60.
 * @example
 * withSizes(p, 8, 20).frameLength === 62 // UDP over IPv4
 */
export function withSizes(p: PacketContext, l4Header: number, payload: number): PacketContext {
  const before = 14 + p.ipHeaderLength + l4Header;
  if (p.ipVersion === 4) p.ipTotalLength = before - 14 + payload;
  else p.ipv6PayloadLength = l4Header + payload;
  p.payloadOff = before;
  p.payloadLen = payload;
  p.capturedLength = p.frameLength = Math.max(60, before + payload);
  return p;
}

/** What {@link tcpPacket} builds; endpoints default to 0.0.0.0:0. */
export interface TCPPacketOptions {
  from?: Endpoint;
  to?: Endpoint;
  flags: number;
  /** Payload bytes (default 0). */
  payload?: number;
  /** Window field (default 1000). */
  window?: number;
  /** TCP header bytes, a multiple of 4 (default 20). */
  headerLength?: number;
}

/**
 * A TCP segment: 60 bytes on the wire without payload (padded), 54 + payload with (20-byte header).
 * @example
 * const syn = tcpPacket({ from: [ip4(10, 0, 0, 2), 40000], to: [ip4(10, 0, 0, 1), 80], flags: SYN });
 */
export function tcpPacket(o: TCPPacketOptions): PacketContext {
  const headerLength = o.headerLength ?? 20;
  const p = ipPacket(o.from?.[0] ?? 0, o.to?.[0] ?? 0, 6);
  p.layers |= layerBit(LAYER_TCP);
  p.srcPort = o.from?.[1] ?? 0;
  p.dstPort = o.to?.[1] ?? 0;
  p.tcpFlags = o.flags;
  p.tcpDataOffset = headerLength / 4;
  p.tcpWindow = o.window ?? 1000;
  return withSizes(p, headerLength, o.payload ?? 0);
}

/**
 * A UDP datagram: 42 + payload bytes over IPv4, 62 + payload over IPv6 (payload 20 by default).
 * @example
 * const query = udpPacket({ from: [ip4(10, 0, 0, 2), 5353], to: [ip4(10, 0, 0, 1), 53], payload: 40 });
 */
export function udpPacket(o: { from?: Endpoint; to?: Endpoint; payload?: number } = {}): PacketContext {
  const payload = o.payload ?? 20;
  const p = ipPacket(o.from?.[0] ?? 0, o.to?.[0] ?? 0, 17);
  p.layers |= layerBit(LAYER_UDP);
  p.srcPort = o.from?.[1] ?? 0;
  p.dstPort = o.to?.[1] ?? 0;
  p.udpLength = 8 + payload;
  return withSizes(p, 8, payload);
}

/**
 * An ICMP message (ICMPv6 for IPv6 addresses) with an 8-byte header: 98 bytes over IPv4 with the
 * default 56-byte payload. An echo id of -1 (the default) means no echo; else the sequence is 1.
 * @example
 * const echo = icmpPacket(ip4(10, 0, 0, 2), ip4(10, 0, 0, 1), { type: 8, echoId: 7 });
 */
export function icmpPacket(
  from: Address,
  to: Address,
  o: { type: number; code?: number; echoId?: number; payload?: number },
): PacketContext {
  const v6 = typeof from !== 'number';
  const echoId = o.echoId ?? -1;
  const p = ipPacket(from, to, v6 ? 58 : 1);
  p.layers |= layerBit(v6 ? LAYER_ICMPV6 : LAYER_ICMP);
  p.icmpType = o.type;
  p.icmpCode = o.code ?? 0;
  p.icmpEchoId = echoId;
  p.icmpEchoSeq = echoId >= 0 ? 1 : -1;
  return withSizes(p, 8, o.payload ?? 56);
}

/**
 * A GRE packet (protocol 47, no ports, 4-byte header, nothing inside): 60 bytes.
 * @example
 * const keepalive = grePacket(ip4(10, 0, 0, 2), ip4(10, 0, 0, 1));
 */
export function grePacket(from: Address, to: Address): PacketContext {
  const p = ipPacket(from, to, 47);
  p.layers |= layerBit(LAYER_GRE);
  return withSizes(p, 4, 0);
}
