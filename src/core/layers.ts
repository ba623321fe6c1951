/**
 * Layer ids and presence bits.
 *
 * A decoded packet records which layers it holds as one bit each in `PacketContext.layers`, so the
 * record writer and the statistics can ask "has TCP?" with a single AND instead of probing fields.
 * The numeric ids also key the dispatch tables in `decode/dispatch.ts`.
 *
 * Append only: ids are stored in counters and documented; never renumber them.
 */

/** No further layer: decoding stops. */
export const LAYER_NONE = 0;
export const LAYER_ETHERNET = 1;
export const LAYER_VLAN = 2;
export const LAYER_ARP = 3;
export const LAYER_IPV4 = 4;
export const LAYER_IPV6 = 5;
export const LAYER_ICMP = 6;
export const LAYER_ICMPV6 = 7;
export const LAYER_TCP = 8;
export const LAYER_UDP = 9;
export const LAYER_DNS = 10;
export const LAYER_TLS = 11;
export const LAYER_HTTP = 12;
export const LAYER_NULL = 13;
export const LAYER_SLL = 14;
export const LAYER_SLL2 = 15;
export const LAYER_PPP = 16;
export const LAYER_HDLC = 17;
export const LAYER_MPLS = 18;
export const LAYER_PPPOE = 19;
export const LAYER_GRE = 20;
export const LAYER_VXLAN = 21;
export const LAYER_GENEVE = 22;
export const LAYER_ERSPAN = 23;
export const LAYER_PAYLOAD = 24;
/** A link type or encapsulation we do not decode; the record keeps what came before it. */
export const LAYER_UNKNOWN = 25;
export const LAYER_GTP = 26;
export const LAYER_TEREDO = 27;
export const LAYER_NFLOG = 28;
export const LAYER_L2TP = 29;
/** IEEE 802.11, with or without a radiotap header. */
export const LAYER_WLAN = 30;
/** Ids stay below 31 so the presence mask is a small integer: the id space is full. */
export const LAYER_COUNT = 31;

/** Human names, indexed by layer id; used by `stats` for the protocol hierarchy. */
export const LAYER_NAMES: readonly string[] = [
  'none',
  'eth',
  'vlan',
  'arp',
  'ipv4',
  'ipv6',
  'icmp',
  'icmpv6',
  'tcp',
  'udp',
  'dns',
  'tls',
  'http',
  'null',
  'sll',
  'sll2',
  'ppp',
  'chdlc',
  'mpls',
  'pppoe',
  'gre',
  'vxlan',
  'geneve',
  'erspan',
  'data',
  'unknown',
  'gtp',
  'teredo',
  'nflog',
  'l2tp',
  'wlan',
];

/** Presence bit of a layer id. Ids stay below 31 so the mask fits a small integer. */
export function layerBit(id: number): number {
  return 1 << id;
}
