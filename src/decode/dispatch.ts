/**
 * The one place where layers are wired together.
 *
 * Each table maps a numeric key in one key space (link type, EtherType, IP protocol, port, PPP
 * protocol, layer id) to the decoder of the layer that follows. Decoders name the key; this
 * loop looks it up and calls the next decoder, so adding a protocol is one line here.
 * Dense arrays keep the lookup a bounds-checked load instead of a hash.
 */

import {
  LAYER_DNS,
  LAYER_ETHERNET,
  LAYER_HTTP,
  LAYER_PAYLOAD,
  LAYER_PPP,
  LAYER_TLS,
  LAYER_UNKNOWN,
  layerBit,
} from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import type { Frame } from '../core/source.ts';
import { decodeARP } from './arp.ts';
import type { Decoder } from './decoder.ts';
import {
  SPACE_ETHERTYPE,
  SPACE_IPPROTO,
  SPACE_LAYER,
  SPACE_NONE,
  SPACE_PPP,
  SPACE_TCP_PORT,
  SPACE_UDP_PORT,
} from './decoder.ts';
import { decodeDNS } from './dns.ts';
import { decodeEthernet, decodeVLAN, decodeVNTag, ETHERTYPE_LLC } from './ethernet.ts';
import { decodeERSPAN, decodeGRE } from './gre.ts';
import { decodeGTP } from './gtp.ts';
import { decodeHTTP } from './http.ts';
import { decodeICMP, decodeICMPv6 } from './icmp.ts';
import { decodeIEEE80211, decodeRadiotap } from './ieee80211.ts';
import { decodeIPv4, decodeIPv4Tunnel } from './ipv4.ts';
import { decodeIPv6, decodeIPv6Tunnel } from './ipv6.ts';
import { decodeL2TP } from './l2tp.ts';
import {
  decodeCiscoHDLC,
  decodeLinuxSLL,
  decodeLinuxSLL2,
  decodeMPLS,
  decodeNull,
  decodePPPoE,
  decodePPPSerial,
  decodeRawIP,
  decodeRawIPFamily,
} from './link.ts';
import { decodeLLC } from './llc.ts';
import { decodeNFLOG } from './nflog.ts';
import { decodeTCP } from './tcp.ts';
import { decodeTeredo } from './teredo.ts';
import { decodeTLS } from './tls.ts';
import { decodeUDP } from './udp.ts';
import { decodeGeneve, decodeVXLAN } from './udp-tunnels.ts';

type Slot = Decoder | null;
const table = (n: number): Slot[] => new Array<Slot>(n).fill(null);

const LINK = table(512);
const ETHERTYPE = table(65536);
const IPPROTO = table(256);
const PPP = table(65536);
const LAYER = table(64);
/** Port tables for tunnels: always followed. */
const UDP_PORT = table(65536);
const TCP_PORT = table(65536);
/** Port tables for application layers: followed only when `p.decodeApp`. */
const UDP_APP = table(65536);
const TCP_APP = table(65536);

/** Application layers: a packet with one of them has no undecoded payload to count. */
const APP_BITS = layerBit(LAYER_DNS) | layerBit(LAYER_TLS) | layerBit(LAYER_HTTP);

/** Cap on layers per frame, against crafted encapsulation loops (GRE in GRE in ...). */
export const MAX_DECODE_DEPTH = 24;

// ---- link types (LINKTYPE_* numbers from the tcpdump.org link-layer header registry) ----
LINK[0] = decodeNull; // LINKTYPE_NULL: BSD loopback, host-order family
LINK[1] = decodeEthernet; // LINKTYPE_ETHERNET
LINK[9] = decodePPPSerial; // LINKTYPE_PPP
LINK[12] = decodeRawIP; // DLT_RAW on most BSDs
LINK[14] = decodeRawIP; // DLT_RAW on OpenBSD
LINK[50] = decodePPPSerial; // LINKTYPE_PPP_HDLC
LINK[51] = decodePPPoE; // LINKTYPE_PPP_ETHER: PPPoE session header first
LINK[101] = decodeRawIP; // LINKTYPE_RAW
LINK[104] = decodeCiscoHDLC; // LINKTYPE_C_HDLC
LINK[105] = decodeIEEE80211; // LINKTYPE_IEEE802_11
LINK[108] = decodeNull; // LINKTYPE_LOOP: OpenBSD loopback, network-order family
LINK[113] = decodeLinuxSLL; // LINKTYPE_LINUX_SLL
LINK[127] = decodeRadiotap; // LINKTYPE_IEEE802_11_RADIOTAP
LINK[228] = decodeRawIPFamily; // LINKTYPE_IPV4
LINK[229] = decodeRawIPFamily; // LINKTYPE_IPV6
LINK[239] = decodeNFLOG; // LINKTYPE_NFLOG
LINK[276] = decodeLinuxSLL2; // LINKTYPE_LINUX_SLL2

// ---- EtherTypes ----
ETHERTYPE[0x0800] = decodeIPv4;
ETHERTYPE[0x0806] = decodeARP;
ETHERTYPE[0x8035] = decodeARP; // RARP: same layout, opcodes 3 and 4
ETHERTYPE[0x8100] = decodeVLAN; // 802.1Q
ETHERTYPE[0x88a8] = decodeVLAN; // 802.1ad service tag
ETHERTYPE[0x9100] = decodeVLAN; // pre-standard QinQ
ETHERTYPE[0x8926] = decodeVNTag; // Cisco VN-Tag
ETHERTYPE[0x86dd] = decodeIPv6;
ETHERTYPE[0x8847] = decodeMPLS; // MPLS unicast
ETHERTYPE[0x8848] = decodeMPLS; // MPLS multicast
ETHERTYPE[0x8864] = decodePPPoE; // PPPoE session stage
ETHERTYPE[0x6558] = decodeEthernet; // transparent Ethernet bridging (GRE, NVGRE)
ETHERTYPE[0x88be] = decodeERSPAN; // ERSPAN type II
ETHERTYPE[0x22eb] = decodeERSPAN; // ERSPAN type III
ETHERTYPE[0x880b] = decodePPPSerial; // PPP in enhanced GRE (PPTP)
ETHERTYPE[ETHERTYPE_LLC] = decodeLLC; // LLC in jumbo frames, and after an 802.3 length

// ---- IP protocols ----
IPPROTO[1] = decodeICMP;
IPPROTO[4] = decodeIPv4Tunnel; // IP-in-IP
IPPROTO[6] = decodeTCP;
IPPROTO[17] = decodeUDP;
IPPROTO[41] = decodeIPv6Tunnel; // 6in4 / IPv6-in-IP
IPPROTO[47] = decodeGRE;
IPPROTO[58] = decodeICMPv6;

// ---- PPP protocols ----
PPP[0x0021] = decodeIPv4;
PPP[0x0057] = decodeIPv6;
PPP[0x0281] = decodeMPLS;

// ---- ports ----
UDP_PORT[4789] = decodeVXLAN; // IANA VXLAN
UDP_PORT[8472] = decodeVXLAN; // Linux kernel's historical VXLAN port
UDP_PORT[6081] = decodeGeneve;
UDP_PORT[2152] = decodeGTP; // GTP-U
UDP_PORT[3544] = decodeTeredo;
UDP_PORT[1701] = decodeL2TP; // L2TPv2: PPP frames
UDP_APP[53] = decodeDNS;
UDP_APP[5353] = decodeDNS; // mDNS
UDP_APP[5355] = decodeDNS; // LLMNR
TCP_APP[53] = decodeDNS;
TCP_APP[80] = decodeHTTP;
TCP_APP[8080] = decodeHTTP;
TCP_APP[8000] = decodeHTTP;
TCP_APP[443] = decodeTLS;
TCP_APP[8443] = decodeTLS;

// ---- structural successors ----
LAYER[LAYER_ETHERNET] = decodeEthernet;
LAYER[LAYER_PPP] = decodePPPSerial; // a PPP frame in a tunnel (L2TP)

function lookup(p: PacketContext): Slot {
  switch (p.nextSpace) {
    case SPACE_ETHERTYPE:
      return ETHERTYPE[p.nextKey & 0xffff]!;
    case SPACE_IPPROTO:
      return IPPROTO[p.nextKey & 0xff]!;
    case SPACE_UDP_PORT: {
      const d = p.nextKey & 0xffff;
      const s = p.nextKey2 & 0xffff;
      const t = UDP_PORT[d] ?? UDP_PORT[s]!;
      if (t !== null || !p.decodeApp) return t;
      return UDP_APP[d] ?? UDP_APP[s]!;
    }
    case SPACE_TCP_PORT: {
      const d = p.nextKey & 0xffff;
      const s = p.nextKey2 & 0xffff;
      const t = TCP_PORT[d] ?? TCP_PORT[s]!;
      if (t !== null || !p.decodeApp) return t;
      return TCP_APP[d] ?? TCP_APP[s]!;
    }
    case SPACE_PPP:
      return PPP[p.nextKey & 0xffff]!;
    case SPACE_LAYER:
      return LAYER[p.nextKey & 63]!;
    default:
      return null;
  }
}

/**
 * Decode one frame into `p` (reset first). Never throws.
 *
 * @example
 * const p = new PacketContext();
 * reader = new PcapReader((frame) => { decodeFrame(p, frame); console.log(p.srcPort); });
 */
export function decodeFrame(p: PacketContext, f: Frame): void {
  const b = f.buf;
  p.reset(b);
  p.frameLength = f.wirelen;
  p.capturedLength = f.caplen;
  p.tsSec = f.tsSec;
  p.tsNanos = f.tsNanos;
  p.tsDigits = f.tsDigits;
  p.interfaceId = f.interfaceId;
  p.linkType = f.linkType;
  p.comment = f.comment;
  p.truncated = f.caplen < f.wirelen;
  let off = f.off;
  let end = f.off + f.caplen;
  let dec: Slot = f.linkType >= 0 && f.linkType < LINK.length ? LINK[f.linkType]! : null;
  if (dec === null) {
    p.anomaly('link.unknown');
    p.layers |= layerBit(LAYER_UNKNOWN);
    p.payloadOff = off;
    p.payloadLen = end - off;
    return;
  }
  let depth = 0;
  try {
    while (true) {
      if (++depth > MAX_DECODE_DEPTH) {
        p.anomaly('decode.depth_exceeded');
        return;
      }
      p.nextSpace = SPACE_NONE;
      p.nextEnd = end;
      const next = dec(p, b, off, end);
      if (next < 0) {
        // Bytes left after the last header that no application decoder claimed are payload.
        if (p.payloadLen > 0 && (p.layers & APP_BITS) === 0) p.layers |= layerBit(LAYER_PAYLOAD);
        return;
      }
      off = next;
      end = p.nextEnd;
      dec = lookup(p);
      if (dec === null) {
        // Nothing decodes what follows: it is payload of the last layer.
        if (p.payloadLen === 0 && end > off) {
          p.payloadOff = off;
          p.payloadLen = end - off;
        }
        if (end > off) p.layers |= layerBit(LAYER_PAYLOAD);
        return;
      }
    }
  } catch {
    p.anomaly('decode.internal_error');
  }
}
