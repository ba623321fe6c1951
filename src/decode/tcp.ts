/**
 * TCP (RFC 9293, https://www.rfc-editor.org/rfc/rfc9293).
 *
 *   source_port:16  destination_port:16
 *   sequence_number:32
 *   acknowledgment_number:32
 *   data_offset:4 reserved:3 flags:9 (NS CWR ECE URG ACK PSH RST SYN FIN)  window:16
 *   checksum:16  urgent_pointer:16
 *   options: (data_offset - 5) * 4 bytes
 *
 * Options decoded: EOL(0), NOP(1), MSS(2, len 4), window scale(3, len 3), SACK permitted
 * (4, len 2), SACK(5, len 2+8n), timestamps(8, len 10). `tcp_flags` is the low 8 flag bits
 * (CWR..FIN), as Logisland and tshark's `tcp.flags` & 0xff report them; NS is bit 8 of
 * `tcpFlags` when set.
 */
import { LAYER_TCP, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { MAX_SACK_BLOCKS } from '../core/packet.ts';
import { SPACE_TCP_PORT, u16, u32 } from './decoder.ts';

/** Minimum TCP header length. */
export const TCP_MIN_HEADER_LEN = 20;
export const TCP_FLAG_FIN = 0x01;
export const TCP_FLAG_SYN = 0x02;
export const TCP_FLAG_RST = 0x04;
export const TCP_FLAG_PSH = 0x08;
export const TCP_FLAG_ACK = 0x10;
export const TCP_FLAG_URG = 0x20;
export const TCP_FLAG_ECE = 0x40;
export const TCP_FLAG_CWR = 0x80;
/** TCP option kinds. */
export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WSCALE = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;

function decodeOptions(p: PacketContext, b: Uint8Array, o: number, end: number): void {
  while (o < end) {
    const kind = b[o]!;
    if (kind === TCPOPT_EOL) return;
    if (kind === TCPOPT_NOP) {
      o++;
      continue;
    }
    if (o + 1 >= end) {
      p.anomaly('tcp.opt_invalid');
      return;
    }
    const len = b[o + 1]!;
    if (len < 2 || o + len > end) {
      p.anomaly('tcp.opt_invalid');
      return;
    }
    switch (kind) {
      case TCPOPT_MSS:
        if (len === 4) p.tcpMss = u16(b, o + 2);
        break;
      case TCPOPT_WSCALE:
        if (len === 3) p.tcpWindowScale = b[o + 2]!;
        break;
      case TCPOPT_SACK_PERMITTED:
        p.tcpSackPermitted = true;
        break;
      case TCPOPT_SACK:
        for (let s = o + 2; s + 8 <= o + len && p.tcpSackCount < MAX_SACK_BLOCKS; s += 8) {
          p.tcpSackBlocks[p.tcpSackCount * 2] = u32(b, s);
          p.tcpSackBlocks[p.tcpSackCount * 2 + 1] = u32(b, s + 4);
          p.tcpSackCount++;
        }
        break;
      case TCPOPT_TIMESTAMP:
        if (len === 10) {
          p.tcpTsVal = u32(b, o + 2);
          p.tcpTsEcr = u32(b, o + 6);
        }
        break;
    }
    o += len;
  }
}

export function decodeTCP(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  const avail = end - off;
  if (avail < 4) {
    p.anomaly('tcp.truncated');
    return -1;
  }
  // Ports first: even a header cut by the snaplen still names its flow (and its record shows
  // them, as tshark does).
  p.srcPort = u16(b, off);
  p.dstPort = u16(b, off + 2);
  if (avail < TCP_MIN_HEADER_LEN) {
    p.portsOnly = true;
    p.anomaly('tcp.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_TCP);
  p.tcpSeq = u32(b, off + 4);
  p.tcpAck = u32(b, off + 8);
  const hlen = (b[off + 12]! >> 4) * 4;
  p.tcpDataOffset = hlen >> 2;
  p.tcpFlags = ((b[off + 12]! & 0x01) << 8) | b[off + 13]!;
  p.tcpWindow = u16(b, off + 14);
  p.tcpChecksum = u16(b, off + 16);
  p.tcpUrgent = u16(b, off + 18);
  if (hlen < TCP_MIN_HEADER_LEN) {
    p.anomaly('tcp.hlen_invalid');
    return -1;
  }
  if (hlen > avail) {
    p.anomaly(p.truncated ? 'tcp.truncated' : 'tcp.hlen_invalid');
    return -1;
  }
  p.tcpOptionsOff = off + TCP_MIN_HEADER_LEN;
  p.tcpOptionsLen = hlen - TCP_MIN_HEADER_LEN;
  if (hlen > TCP_MIN_HEADER_LEN) decodeOptions(p, b, off + TCP_MIN_HEADER_LEN, off + hlen);
  const start = off + hlen;
  p.payloadOff = start;
  p.payloadLen = end - start;
  if (p.payloadLen === 0) return -1;
  p.nextSpace = SPACE_TCP_PORT;
  p.nextKey = p.dstPort;
  p.nextKey2 = p.srcPort;
  return start;
}
