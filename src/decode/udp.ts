/**
 * UDP (RFC 768, https://www.rfc-editor.org/rfc/rfc768).
 *
 *   source_port:16  destination_port:16  length:16  checksum:16   (8 bytes)
 *
 * The length field bounds the payload; one beyond the IP payload is `udp.len_invalid`
 * (or `udp.truncated`... only when the capture, not the header, is short).
 */
import { LAYER_UDP, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { SPACE_UDP_PORT, u16 } from './decoder.ts';

/** UDP header length. */
export const UDP_HEADER_LEN = 8;

export function decodeUDP(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < UDP_HEADER_LEN) {
    // Ports first, as for TCP: a header cut after them still names its flow.
    if (end - off >= 4) {
      p.srcPort = u16(b, off);
      p.dstPort = u16(b, off + 2);
      p.portsOnly = true;
    }
    p.anomaly('udp.truncated');
    return -1;
  }
  p.layers |= layerBit(LAYER_UDP);
  p.srcPort = u16(b, off);
  p.dstPort = u16(b, off + 2);
  const len = u16(b, off + 4);
  p.udpLength = len;
  p.udpChecksum = u16(b, off + 6);
  const start = off + UDP_HEADER_LEN;
  let stop = end;
  if (len < UDP_HEADER_LEN) {
    p.anomaly('udp.len_invalid');
  } else if (off + len <= end) {
    stop = off + len;
  } else if (!p.truncated) {
    p.anomaly('udp.len_invalid');
  }
  p.payloadOff = start;
  p.payloadLen = stop - start;
  p.nextEnd = stop;
  p.nextSpace = SPACE_UDP_PORT;
  p.nextKey = p.dstPort;
  p.nextKey2 = p.srcPort;
  return start;
}
