/**
 * IEEE 802.11 data frames (IEEE 802.11-2020, https://standards.ieee.org/ieee/802.11/7028/) and
 * the radiotap capture header (https://www.radiotap.org/) that monitor-mode captures put first.
 *
 * Radiotap, LINKTYPE_IEEE802_11_RADIOTAP (127), little-endian:
 *   version:8 (0)  pad:8  length:16  present:32 [present:32 ...while bit 31 is set]
 *   then the fields the present bits name, each aligned to its own size from the header start:
 *   bit 0 TSFT:64, bit 1 flags:8 (0x10 the frame ends with a 4-byte FCS, 0x20 padding after the
 *   802.11 header to a 4-byte boundary), ... `length` covers them all; the 802.11 frame follows.
 * 802.11 MAC header, LINKTYPE_IEEE802_11 (105) or after radiotap:
 *   frame_control:16 (version:2 type:2 subtype:4, then flags: to_ds:1 from_ds:1 more_frag:1
 *   retry:1 pwr_mgt:1 more_data:1 protected:1 order:1)  duration:16  addr1:48  addr2:48  addr3:48
 *   sequence_control:16  [addr4:48 when to_ds and from_ds]  [qos_control:16 for QoS subtypes]
 *   [ht_control:32 when QoS and order]                                         (24 to 36 bytes)
 * A data frame's body starts with an LLC/SNAP header (IEEE 802.2, RFC 1042):
 *   dsap:8 (0xaa)  ssap:8 (0xaa)  control:8 (0x03)  oui:24  ethertype:16
 *
 * Only data frames that carry an unencrypted MSDU lead further. Management and control frames,
 * null-data frames, protected (encrypted) bodies, A-MSDUs and non-SNAP LLC stop here without an
 * anomaly: they are well-formed frames whose body is not an EtherType packet.
 */
import { LAYER_WLAN, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { decodeLLC } from './llc.ts';

/** Radiotap fixed header: version, pad, length and the first present word. */
export const RADIOTAP_MIN_LEN = 8;
/** Present bit of the TSFT field (8 bytes, 8-aligned). */
const RADIOTAP_TSFT = 0x1;
/** Present bit of the flags field (1 byte). */
const RADIOTAP_FLAGS = 0x2;
/** Present bit 31: another present word follows. */
const RADIOTAP_EXT = 0x80000000;
/** Radiotap flag: the 802.11 frame ends with its FCS. */
export const RADIOTAP_F_FCS = 0x10;
/** Radiotap flag: padding between the 802.11 header and the body, to 4 bytes. */
export const RADIOTAP_F_DATAPAD = 0x20;

/** Frame check sequence length. */
export const WLAN_FCS_LEN = 4;
/** Header of a data frame without addr4, QoS or HT control. */
export const WLAN_HEADER_LEN = 24;
/** Frame type of data frames. */
export const WLAN_TYPE_DATA = 2;
/** Subtype bit of QoS data frames. */
const WLAN_SUBTYPE_QOS = 0x8;
/** Subtype bit of frames with no body (null data, QoS null, CF-Ack/Poll without data). */
const WLAN_SUBTYPE_NO_DATA = 0x4;
/** Frame-control flags. */
const WLAN_FLAG_TO_DS = 0x01;
const WLAN_FLAG_FROM_DS = 0x02;
const WLAN_FLAG_PROTECTED = 0x40;
const WLAN_FLAG_ORDER = 0x80;
/** QoS control bit: the body is an A-MSDU (several subframes), not one MSDU. */
const WLAN_QOS_AMSDU = 0x80;

function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** 802.11 header and LLC/SNAP at `off`; `flags` are the radiotap flags (0 without radiotap). */
function decodeFrame80211(p: PacketContext, b: Uint8Array, off: number, end: number, flags: number): number {
  p.layers |= layerBit(LAYER_WLAN);
  let stop = end;
  if ((flags & RADIOTAP_F_FCS) !== 0) {
    // On a snaplen-cut frame the FCS is among the bytes not captured.
    if (!p.truncated) stop -= WLAN_FCS_LEN;
    if (stop < off) {
      p.anomaly('wlan.truncated');
      return -1;
    }
    p.nextEnd = stop;
  }
  if (stop - off < 2) {
    p.anomaly('wlan.truncated');
    return -1;
  }
  const fc0 = b[off]!;
  const fc1 = b[off + 1]!;
  const subtype = fc0 >> 4;
  if ((fc0 & 0x03) !== 0 || ((fc0 >> 2) & 0x03) !== WLAN_TYPE_DATA) return -1;
  let hlen = WLAN_HEADER_LEN;
  if ((fc1 & (WLAN_FLAG_TO_DS | WLAN_FLAG_FROM_DS)) === (WLAN_FLAG_TO_DS | WLAN_FLAG_FROM_DS)) hlen += 6;
  const qosOff = off + hlen;
  const qos = (subtype & WLAN_SUBTYPE_QOS) !== 0;
  if (qos) {
    hlen += 2;
    if ((fc1 & WLAN_FLAG_ORDER) !== 0) hlen += 4;
  }
  if (stop - off < hlen) {
    p.anomaly('wlan.truncated');
    return -1;
  }
  if ((subtype & WLAN_SUBTYPE_NO_DATA) !== 0 || (fc1 & WLAN_FLAG_PROTECTED) !== 0) return -1;
  if (qos && (b[qosOff]! & WLAN_QOS_AMSDU) !== 0) return -1;
  if ((flags & RADIOTAP_F_DATAPAD) !== 0) hlen = (hlen + 3) & ~3;
  const body = off + hlen;
  if (body > stop) return -1;
  return decodeLLC(p, b, body, stop);
}

/**
 * An 802.11 frame without a capture header (its FCS, if any, is not known to be there).
 * @example
 * LINK[105] = decodeIEEE80211; // dispatch.ts
 */
export function decodeIEEE80211(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  return decodeFrame80211(p, b, off, end, 0);
}

/**
 * A radiotap header, then the 802.11 frame it describes.
 * @example
 * LINK[127] = decodeRadiotap; // dispatch.ts
 */
export function decodeRadiotap(p: PacketContext, b: Uint8Array, off: number, end: number): number {
  if (end - off < RADIOTAP_MIN_LEN) {
    p.anomaly('radiotap.truncated');
    return -1;
  }
  const len = b[off + 2]! | (b[off + 3]! << 8);
  if (len < RADIOTAP_MIN_LEN) {
    p.anomaly('radiotap.len_invalid');
    return -1;
  }
  if (end - off < len) {
    p.anomaly(p.truncated ? 'radiotap.truncated' : 'radiotap.len_invalid');
    return -1;
  }
  const hdrEnd = off + len;
  const present = u32le(b, off + 4);
  // Skip the further present words; the fields start after the last one.
  let o = off + 4;
  for (let word = present; (word & RADIOTAP_EXT) !== 0; word = u32le(b, o)) {
    o += 4;
    if (hdrEnd - o < 4) {
      p.anomaly('radiotap.len_invalid');
      return -1;
    }
  }
  o += 4;
  let flags = 0;
  if ((present & RADIOTAP_TSFT) !== 0) o = off + ((o - off + 7) & ~7) + 8;
  if ((present & RADIOTAP_FLAGS) !== 0) {
    if (o >= hdrEnd) {
      p.anomaly('radiotap.len_invalid');
      return -1;
    }
    flags = b[o]!;
  }
  return decodeFrame80211(p, b, hdrEnd, end, flags);
}
