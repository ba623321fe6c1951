/**
 * The packet context: one mutable object that the decoders fill in place for each frame.
 *
 * Lifetime and ownership
 * - One context lives for the whole run; `reset()` clears it before each frame. Every field is
 *   initialised to a value of its final type so V8 keeps a single hidden class.
 * - `buf` points into the reader's frame buffer. Offsets (`ethOff`, `payloadOff`, ...) index that
 *   buffer and are valid only until the next frame: a consumer that keeps bytes must copy them.
 * - Fields of a layer are meaningful only when its presence bit is set in `layers`
 *   (see `core/layers.ts`); stale values from earlier frames are never cleared on the hot path.
 *
 * Addresses are numbers (IPv4 in `src4`/`dst4`, IPv6 as four big-endian words in `src6`/`dst6`)
 * so the flow table can hash them without building strings; `record/` formats them on demand.
 */
import { LAYER_TCP, LAYER_UDP, layerBit } from './layers.ts';

const PORT_LAYERS = layerBit(LAYER_TCP) | layerBit(LAYER_UDP);

/** Capacity of the fixed arrays for variable-length parts. Extra items are counted, not stored. */
export const MAX_VLANS = 8;
export const MAX_MPLS = 8;
export const MAX_SACK_BLOCKS = 4;
export const MAX_ANOMALIES = 8;
export const MAX_IPV6_EXT = 8;

/** Outer header of a tunnel, copied aside when the decoder enters the tunnel. */
export class TunnelInfo {
  /** Tunnel kind: 'gre', 'vxlan', 'geneve', 'ipip', '6in4', 'erspan', ...; '' when none. */
  type = '';
  ipVersion = 0;
  src4 = 0;
  dst4 = 0;
  src6 = new Uint32Array(4);
  dst6 = new Uint32Array(4);
  protocol = 0;
  srcPort = 0;
  dstPort = 0;
  /** VXLAN/Geneve VNI, GRE key, ERSPAN session id; -1 when the header has none. */
  id = -1;
}

export class PacketContext {
  // ---- frame (set by the reader driver) ----
  frameNumber = 0;
  /** Whole seconds since the epoch. */
  tsSec = 0;
  /** Fraction of the second in nanoseconds. */
  tsNanos = 0;
  /** Decimal digits of the capture's timestamp resolution (6 for µs, 9 for ns). */
  tsDigits = 6;
  capturedLength = 0;
  frameLength = 0;
  interfaceId = 0;
  linkType = 0;
  comment = '';

  // ---- decode state ----
  buf: Uint8Array = new Uint8Array(0);
  /** Presence bits, one per layer id. */
  layers = 0;
  anomalyCount = 0;
  anomalies: string[] = new Array<string>(MAX_ANOMALIES).fill('');
  /** Set when the capture cut the frame short (snaplen) anywhere in the decoded layers. */
  truncated = false;
  /** Dispatch hand-off, written by each decoder (see `decode/decoder.ts`). */
  nextSpace = 0;
  nextKey = 0;
  nextKey2 = 0;
  nextEnd = 0;
  /** When false, application layers (DNS, TLS, HTTP) are not looked for at all. */
  decodeApp = true;
  /**
   * When false, DNS names and records are walked and checked (every anomaly is still found)
   * but no text is built: what `stats` needs, at a fraction of the cost.
   */
  appDetail = true;

  // ---- link layer ----
  ethOff = -1;
  ethType = 0;
  vlanCount = 0;
  vlanIds = new Int32Array(MAX_VLANS);
  mplsCount = 0;
  mplsLabels = new Int32Array(MAX_MPLS);
  pppoeSessionId = 0;
  pppProtocol = 0;
  /** Linux cooked capture: packet type and interface index (SLL2). */
  sllPacketType = 0;
  sllIfIndex = 0;

  // ---- ARP ----
  arpHwType = 0;
  arpProtoType = 0;
  arpOpcode = 0;
  arpHwLen = 0;
  arpProtoLen = 0;
  /** Offsets of the sender/target hardware and protocol addresses in `buf`. */
  arpSenderHwOff = -1;
  arpSenderIpOff = -1;
  arpTargetHwOff = -1;
  arpTargetIpOff = -1;

  // ---- IP (v4 or v6; `ipVersion` says which) ----
  ipVersion = 0;
  ipOff = 0;
  ipHeaderLength = 0;
  ipTos = 0;
  ipTotalLength = 0;
  ipId = 0;
  ipFlags = 0;
  ipFragOffset = 0;
  ipTtl = 0;
  /** Transport protocol number (IPv6: the last next-header value). */
  protocol = 0;
  ipChecksum = 0;
  /** 1 valid, 0 invalid, -1 not checked (truncated header). */
  ipChecksumValid = -1;
  ipOptionsOff = 0;
  ipOptionsLen = 0;
  src4 = 0;
  dst4 = 0;
  src6 = new Uint32Array(4);
  dst6 = new Uint32Array(4);
  ipv6FlowLabel = 0;
  ipv6PayloadLength = 0;
  ipv6ExtCount = 0;
  ipv6ExtHeaders = new Int32Array(MAX_IPV6_EXT);
  /** IPv6 fragment header present: its identification. */
  ipv6FragId = -1;
  /** True when this is a non-first fragment: no transport header follows. */
  isLaterFragment = false;

  // ---- ICMP / ICMPv6 ----
  icmpType = 0;
  icmpCode = 0;
  icmpChecksum = 0;
  /** Echo identifier and sequence; -1 for types without them. */
  icmpEchoId = -1;
  icmpEchoSeq = -1;

  // ---- TCP / UDP ----
  srcPort = 0;
  dstPort = 0;
  /** A TCP or UDP header cut short after its ports: the ports are known, the layer is not. */
  portsOnly = false;
  tcpSeq = 0;
  tcpAck = 0;
  tcpDataOffset = 0;
  tcpFlags = 0;
  tcpWindow = 0;
  tcpChecksum = 0;
  tcpUrgent = 0;
  tcpOptionsOff = 0;
  tcpOptionsLen = 0;
  tcpMss = -1;
  tcpWindowScale = -1;
  tcpSackPermitted = false;
  tcpSackCount = 0;
  tcpSackBlocks = new Float64Array(MAX_SACK_BLOCKS * 2);
  tcpTsVal = -1;
  tcpTsEcr = -1;
  udpLength = 0;
  udpChecksum = 0;

  // ---- payload (innermost transport payload, or what follows the last decoded layer) ----
  payloadOff = 0;
  payloadLen = 0;

  // ---- application layers (filled only when application decoding is on) ----
  dnsId = 0;
  dnsFlags = 0;
  dnsRcode = 0;
  dnsQdCount = 0;
  dnsAnCount = 0;
  dnsNsCount = 0;
  dnsArCount = 0;
  dnsQueryName = '';
  dnsQueryType = 0;
  dnsQueryClass = 0;
  /** Answer records, up to `MAX_DNS_ANSWERS`; `dnsAnswerCount` says how many are valid. */
  dnsAnswerCount = 0;
  dnsAnswerNames: string[] = [];
  dnsAnswerTypes: number[] = [];
  dnsAnswerTtls: number[] = [];
  dnsAnswerData: string[] = [];
  tlsSni = '';
  httpMethod = '';
  httpHost = '';
  httpUri = '';

  // ---- tunnels ----
  tunnelDepth = 0;
  tunnel = new TunnelInfo();

  /** Clear per-frame state. Layer fields are not cleared: the presence bits guard them. */
  reset(buf: Uint8Array): void {
    this.buf = buf;
    this.layers = 0;
    this.anomalyCount = 0;
    this.truncated = false;
    this.ethOff = -1;
    this.vlanCount = 0;
    this.mplsCount = 0;
    this.dnsAnswerCount = 0;
    this.tunnelDepth = 0;
    this.comment = '';
    this.clearNetwork();
  }

  /**
   * Clear the network, transport and payload state: at each frame, and when a tunnel starts
   * (the inner packet then fills these fields afresh; see `decode/tunnel.ts`).
   */
  clearNetwork(): void {
    this.ipVersion = 0;
    this.protocol = 0;
    this.ipChecksumValid = -1;
    this.ipOptionsLen = 0;
    this.ipv6ExtCount = 0;
    this.ipv6FragId = -1;
    this.isLaterFragment = false;
    this.srcPort = 0;
    this.dstPort = 0;
    this.portsOnly = false;
    this.icmpEchoId = -1;
    this.icmpEchoSeq = -1;
    this.tcpOptionsLen = 0;
    this.tcpMss = -1;
    this.tcpWindowScale = -1;
    this.tcpSackPermitted = false;
    this.tcpSackCount = 0;
    this.tcpTsVal = -1;
    this.tcpTsEcr = -1;
    this.payloadOff = 0;
    this.payloadLen = 0;
  }

  has(layerId: number): boolean {
    return (this.layers & layerBit(layerId)) !== 0;
  }

  /** Whether `srcPort`/`dstPort` were read: a TCP or UDP layer, or such a header cut after its ports. */
  hasPorts(): boolean {
    return (this.layers & PORT_LAYERS) !== 0 || this.portsOnly;
  }

  /**
   * Record an anomaly code (`<layer>.<problem>`, see `core/anomalies.ts`). The first
   * `MAX_ANOMALIES` codes are kept on the packet; the registry counts all of them.
   */
  anomaly(code: string): void {
    if (this.anomalyCount < MAX_ANOMALIES) this.anomalies[this.anomalyCount] = code;
    this.anomalyCount++;
  }
}
