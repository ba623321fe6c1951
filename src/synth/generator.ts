/**
 * The traffic generator: a discrete-event simulation of client sessions that writes every
 * packet straight into the capture writer's buffer.
 *
 * Sessions arrive as a Poisson process. Each is a small state machine (TCP with handshake,
 * request/response data, ACKs and teardown; a DNS exchange; a ping series; an ARP exchange)
 * that emits one packet per step and says when its next packet is due. A timing wheel keyed by
 * that time interleaves the sessions; capture timestamps increase strictly (by at least 1 µs).
 * At most `MAX_SESSIONS` sessions run at once; their objects are preallocated and reused, so
 * memory does not grow with the packet count.
 *
 * Frames: Ethernet II (plus an 802.1Q tag on tagged subnets), IPv4 with a valid header
 * checksum or IPv6, then TCP, UDP, ICMP or ICMPv6 with valid checksums; frames are padded to the
 * Ethernet minimum of 60 bytes. TCP payloads are HTTP/1.1 (real request and response heads,
 * Content-Length bodies) or TLS 1.3 records (ClientHello with SNI, ServerHello, then
 * application data records of random bytes); DNS is real wire format (see `dns-writer.ts`).
 *
 * Flows: every TCP/UDP session uses a client port no other session of that client has used, and
 * every ping series a (client, target) pair no other series of that client has used, so each
 * session is exactly one bidirectional flow. ARP is not a flow.
 *
 * Hot path: no allocation per packet. Headers are written byte by byte; payload bytes come from
 * prebuilt templates and filler buffers (`Catalog.fill`), whose checksums are precomputed, so a
 * full-size segment costs one memory copy and no pass over its bytes.
 */
import type { Catalog, DomainInfo } from './catalog.ts';
import {
  CLIENT_COUNT,
  EPHEMERAL_COUNT,
  EPHEMERAL_FIRST,
  EPHEMERAL_STEP,
  HELLO_RANDOM_AT,
  HELLO_SESSION_ID_AT,
  INTERNAL_SERVER_COUNT,
  OS_LINUX,
  OS_MACOS,
  OS_WINDOWS,
  REQUESTS_PER_DOMAIN,
  RESOLVER4,
  RESOLVER6,
  ROUTER_MAC_HI,
  ROUTER_MAC_LO,
  SERVER_HELLO_KEY_AT,
  SERVER_HELLO_LEN,
  SERVER_HELLO_RANDOM_AT,
  SERVER_HELLO_SESSION_ID_AT,
  SERVER4_COUNT,
  SERVER6_COUNT,
} from './catalog.ts';
import { DNS_TYPE_A, DNS_TYPE_AAAA, writeDnsQuery, writeDnsResponse } from './dns-writer.ts';
import { mix32, Rng } from './rng.ts';
import type { FlowLog } from './truth.ts';

/** What the generator writes into: `PcapWriter` and `PcapngWriter` both fit. */
export interface PacketOutput {
  buf: Buffer;
  readonly size: number;
  needsDrain: boolean;
  beginPacket(maxLen: number): number;
  commitPacket(tsSec: number, tsNanos: number, length: number, wireLength?: number): void;
}

/** EtherTypes written. */
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_IPV6 = 0x86dd;
/** IP protocol numbers written. */
const IPPROTO_ICMP = 1;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_ICMPV6 = 58;
/** TCP flag bits. */
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;
/** ICMP and ICMPv6 echo types. */
const ICMP_ECHO_REPLY = 0;
const ICMP_ECHO_REQUEST = 8;
const ICMPV6_ECHO_REQUEST = 128;
const ICMPV6_ECHO_REPLY = 129;
/** Ethernet minimum frame length without the FCS; shorter frames are zero-padded. */
const ETH_MIN_FRAME = 60;
/** Room reserved per frame: the largest frame is 1518 bytes (1500 MTU plus Ethernet and a tag). */
const MAX_FRAME = 1536;
/** Wire size of a full TLS record: 5-byte header, 2^14 bytes of content, type byte, 16-byte tag. */
const TLS_RECORD_WIRE = 5 + 16384 + 1 + 16;
/** Smallest TLS record written: header, content type and AEAD tag, plus one byte. */
const TLS_RECORD_MIN = 5 + 1 + 16 + 1;
/** TLS content type of application data (and of all encrypted TLS 1.3 records). */
const TLS_APPLICATION_DATA = 0x17;

/** Most sessions running at once; arrivals wait for a free one. */
export const MAX_SESSIONS = 4096;
/**
 * The scheduler is a timing wheel of WHEEL_SIZE slots of SLOT_US microseconds (8.4 s in all,
 * more than the longest pause of any session). Sessions due in the same slot run in the order
 * they were queued, so a packet may go out up to one slot later than planned: invisible in
 * the traffic, and it makes scheduling O(1) where a heap of ~2000 sessions cost about a tenth
 * of the run time.
 */
const SLOT_US = 64;
const WHEEL_SIZE = 1 << 17;
const WHEEL_MASK = WHEEL_SIZE - 1;
/** Targets a client can ping; each (client, target) pair is pinged by at most one series. */
const PING_TARGETS = 200;

// Session kinds.
const K_HTTP = 1;
const K_TLS = 2;
const K_HTTP_BULK = 3;
const K_TLS_DOWNLOAD = 4;
const K_TLS_UPLOAD = 5;
const K_REFUSED = 6;
const K_DNS = 7;
const K_PING = 8;
const K_ARP = 9;
/** A long-lived TLS connection trading small messages (push channel, web socket, telemetry). */
const K_CHAT = 10;
/** Weights (per 10,000) of the session kinds, in the order of KIND_ORDER. */
const KIND_ORDER = [K_DNS, K_TLS, K_HTTP, K_CHAT, K_TLS_DOWNLOAD, K_HTTP_BULK, K_TLS_UPLOAD, K_REFUSED, K_PING, K_ARP];
const KIND_WEIGHTS = [4300, 2400, 1200, 900, 5, 5, 3, 350, 400, 500];

// TCP phases.
const PH_SYN = 0;
const PH_SYNACK = 1;
const PH_ACK3 = 2;
const PH_DATA = 3;
const PH_FIN1 = 4;
const PH_FIN2 = 5;
const PH_FIN3 = 6;
const PH_RST = 7;
const PH_REFUSED = 8;
const PH_DONE = 9;
// Payload encodings of a message body.
const BODY_TEXT = 0;
const BODY_NOISE = 1;
const BODY_TLS = 2;

const EMPTY = Buffer.alloc(0);
/** Ports that refuse connections (SSH, SMTP, SMB, RDP, alternative HTTPS, VNC). */
const CLOSED_PORTS = [22, 25, 445, 3389, 8443, 5900];
/** Windows that servers offer in their SYN+ACK (Linux, Windows, BSD, old Linux). */
const SERVER_SYN_WINDOWS = [65160, 64240, 65535, 28960];

/** One running session: reused for many sessions over the run. */
class Session {
  readonly slot: number;
  /** Per-session copies of templates that get patched (TLS hellos, HTTP response heads). */
  readonly scratch = Buffer.alloc(1024);
  /** IPv6 addresses: client at 0, server at 16. */
  readonly addr6 = new Uint8Array(32);
  active = false;
  kind = 0;
  phase = 0;
  step = 0;
  time = 0;
  client = 0;
  os = 0;
  v6 = false;
  vlan = 0;
  macHi = 0;
  macLo = 0;
  cli4 = 0;
  srv4 = 0;
  cport = 0;
  sport = 0;
  proto = 0;
  /** Address words of the transport pseudo-header, summed once per session. */
  pseudo = 0;
  pkts0 = 0;
  pkts1 = 0;
  bytes0 = 0;
  bytes1 = 0;
  ipId0 = 0;
  ipId1 = 0;
  ttl0 = 0;
  ttl1 = 0;
  flow0 = 0;
  flow1 = 0;
  // TCP: direction 0 is client to server, 1 server to client.
  seq0 = 0;
  seq1 = 0;
  win0 = 0;
  win1 = 0;
  synWin1 = 0;
  ws1 = 0;
  ts = false;
  tsOff0 = 0;
  tsOff1 = 0;
  tsLast0 = 0;
  tsLast1 = 0;
  clientMss = 0;
  serverMss = 0;
  mss = 0;
  rtt = 0;
  /** Microseconds per payload byte at this flow's rate. */
  usPerByte = 0;
  cwnd = 0;
  inFlight = 0;
  /** Messages sent so far, and how many request/response exchanges remain after the handshake. */
  msgIndex = 0;
  exchanges = 0;
  closer = 0;
  closePhase = 0;
  closing = false;
  gapNext = 0;
  // The message being sent.
  msgDir = 0;
  msgPos = 0;
  msgLen = 0;
  pre: Buffer = EMPTY;
  preOff = 0;
  preLen = 0;
  bodyMode = 0;
  bodyLen = 0;
  unacked = 0;
  /** Earliest time the sender may go on after its window ran out (it waits a round trip). */
  resumeAt = 0;
  ackPending = false;
  ackDir = 0;
  bulk = 0;
  // DNS, ping, ARP.
  domain = 0;
  qtype = 0;
  pair = false;
  lost = false;
  edns = false;
  dnsId0 = 0;
  dnsId1 = 0;
  echoId = 0;
  echoSent = 0;
  count = 0;
  arpMode = 0;

  constructor(slot: number) {
    this.slot = slot;
  }
}

/** Counters of the truth file, updated per packet. */
export class Counters {
  packets = 0;
  bytes = 0;
  vlan = 0;
  arp = 0;
  ipv4 = 0;
  ipv6 = 0;
  icmp = 0;
  icmpv6 = 0;
  tcp = 0;
  udp = 0;
  dns = 0;
  tcpSyn = 0;
  tcpSynAck = 0;
  tcpFin = 0;
  tcpRst = 0;
  tcpPayloadBytes = 0;
  dnsQueries = 0;
  dnsResponses = 0;
  dnsNxdomain = 0;
  minFrame = 0;
  maxFrame = 0;
  firstUs = -1;
  lastUs = 0;
}

export interface GeneratorOptions {
  /** Capture start, seconds since the epoch. */
  start: number;
  /** Mean new sessions per second of capture time. */
  sessionRate: number;
}

/**
 * Runs the sessions and writes their packets; see the file comment.
 *
 * @example
 * const gen = new Generator(new Catalog(seed), seed, writer, { start: 1735689600, sessionRate: 2500 }, new FlowLog());
 * while (!gen.run(1_000_000, Number.POSITIVE_INFINITY)) await writer.drain();
 * gen.end();
 */
export class Generator {
  readonly counters = new Counters();
  readonly flows: FlowLog;
  private readonly cat: Catalog;
  private readonly rng: Rng;
  private readonly out: PacketOutput;
  private readonly startSec: number;
  private readonly meanArrivalUs: number;
  private readonly sessions: Session[] = [];
  private readonly free = new Int32Array(MAX_SESSIONS);
  private freeCount = MAX_SESSIONS;
  /** Timing wheel: per slot, a FIFO list of sessions threaded through `nextInSlot`. */
  private readonly slotHead = new Int32Array(WHEEL_SIZE).fill(-1);
  private readonly slotTail = new Int32Array(WHEEL_SIZE);
  private readonly nextInSlot = new Int32Array(MAX_SESSIONS);
  /** Absolute number of the wheel slot being processed (time / SLOT_US). */
  private cursor = 0;
  private nextArrival = 0;
  private lastUs = -1;
  private now = 0;
  private readonly portsUsed = new Uint16Array(CLIENT_COUNT);
  private readonly portBase = new Uint16Array(CLIENT_COUNT);
  private readonly pingsUsed = new Uint16Array(CLIENT_COUNT);
  private readonly kindCum: number[] = [];
  private kindTotal = 0;

  constructor(cat: Catalog, seed: number, out: PacketOutput, options: GeneratorOptions, flows: FlowLog) {
    this.cat = cat;
    this.rng = new Rng(seed);
    this.out = out;
    this.flows = flows;
    this.startSec = options.start;
    this.meanArrivalUs = 1e6 / options.sessionRate;
    for (let i = 0; i < MAX_SESSIONS; i++) {
      this.sessions.push(new Session(i));
      this.free[i] = MAX_SESSIONS - 1 - i;
    }
    for (let i = 0; i < CLIENT_COUNT; i++) this.portBase[i] = mix32(i ^ seed) % EPHEMERAL_COUNT;
    for (const w of KIND_WEIGHTS) this.kindCum.push((this.kindTotal += w));
  }

  /**
   * Emit packets until `maxPackets` packets or `maxBytes` bytes of output have been written in
   * total, or the output asks to drain. Returns true when a limit was reached.
   */
  run(maxPackets: number, maxBytes: number): boolean {
    const c = this.counters;
    const out = this.out;
    const head = this.slotHead;
    const next = this.nextInSlot;
    while (c.packets < maxPackets && out.size < maxBytes) {
      if (out.needsDrain) return false;
      // Start the sessions that arrive before the end of the current slot.
      const slotEnd = (this.cursor + 1) * SLOT_US;
      while (this.freeCount > 0 && this.nextArrival < slotEnd) {
        this.spawn(Math.max(this.nextArrival, this.cursor * SLOT_US));
        this.nextArrival += Math.max(1, Math.round(this.rng.exp(this.meanArrivalUs)));
      }
      const i = this.cursor & WHEEL_MASK;
      const slot = head[i]!;
      if (slot < 0) {
        this.cursor++;
        continue;
      }
      head[i] = next[slot]!;
      const s = this.sessions[slot]!;
      const t = s.time > this.lastUs ? s.time : this.lastUs + 1;
      s.time = t;
      this.now = t;
      this.step(s);
      if (s.phase === PH_DONE) this.finish(s);
      else this.schedule(slot, s.time);
    }
    return true;
  }

  /** Close the books: every session still running is counted as the flow it is so far. */
  end(): void {
    for (const s of this.sessions) if (s.active) this.finish(s);
    this.slotHead.fill(-1);
  }

  // ---------------------------------------------------------------- scheduling

  /**
   * Queue session `slot` in the wheel slot of `time`, behind the sessions already there. Times
   * never lie behind the slot being processed, nor a full turn of the wheel ahead (every delay
   * is capped well below it).
   */
  private schedule(slot: number, time: number): void {
    let abs = Math.floor(time / SLOT_US);
    if (abs < this.cursor) abs = this.cursor;
    else if (abs - this.cursor >= WHEEL_SIZE) abs = this.cursor + WHEEL_SIZE - 1;
    const i = abs & WHEEL_MASK;
    this.nextInSlot[slot] = -1;
    if (this.slotHead[i]! < 0) this.slotHead[i] = slot;
    else this.nextInSlot[this.slotTail[i]!] = slot;
    this.slotTail[i] = slot;
  }

  private finish(s: Session): void {
    if (s.kind !== K_ARP && s.pkts0 + s.pkts1 > 0) this.flows.add(s.proto, s.v6, s.cli4, s.srv4, s.addr6, s);
    s.active = false;
    this.free[this.freeCount++] = s.slot;
  }

  // ---------------------------------------------------------------- session setup

  private pickKind(): number {
    const r = this.rng.int(this.kindTotal);
    const cum = this.kindCum;
    let k = 0;
    while (r >= cum[k]!) k++;
    return KIND_ORDER[k]!;
  }

  /** A client, busy ones more often (density falls as 1/sqrt of the index). */
  private pickClient(): number {
    const u = this.rng.float();
    return Math.floor(u * u * CLIENT_COUNT);
  }

  /** Take a fresh ephemeral port of client `c`, or -1 when it has used them all. */
  private takePort(c: number): number {
    const used = this.portsUsed[c]!;
    if (used >= EPHEMERAL_COUNT) return -1;
    this.portsUsed[c] = used + 1;
    return EPHEMERAL_FIRST + ((this.portBase[c]! + used * EPHEMERAL_STEP) % EPHEMERAL_COUNT);
  }

  private spawn(at: number): void {
    const rng = this.rng;
    const slot = this.free[--this.freeCount]!;
    const s = this.sessions[slot]!;
    let kind = this.pickKind();
    let c = this.pickClient();
    if (kind === K_PING && this.pingsUsed[c]! >= PING_TARGETS) kind = K_DNS;
    if (kind !== K_PING && kind !== K_ARP) {
      let port = this.takePort(c);
      for (let tries = 0; port < 0 && tries < CLIENT_COUNT; tries++) {
        c = (c + 1) % CLIENT_COUNT;
        port = this.takePort(c);
      }
      if (port < 0) throw new Error('every client port is in use: the capture is too large for the client population');
      s.cport = port;
    } else s.cport = 0;
    s.kind = kind;
    s.time = at;
    s.step = 0;
    s.phase = PH_SYN;
    s.client = c;
    s.os = this.cat.clientOs(c);
    s.vlan = this.cat.clientVlan(c);
    s.macHi = this.cat.clientMacHi(c);
    s.macLo = this.cat.clientMacLo(c);
    s.cli4 = this.cat.clientV4(c);
    s.pkts0 = s.pkts1 = s.bytes0 = s.bytes1 = 0;
    s.ipId0 = rng.int(65536);
    s.ipId1 = rng.int(65536);
    s.flow0 = rng.int(0x100000);
    s.flow1 = rng.int(0x100000);
    s.ttl0 = s.os === OS_WINDOWS ? 128 : 64;
    s.v6 = false;
    s.rtt = Math.round(Math.min(400_000, rng.logNormal(25_000, 0.8)));
    s.domain = rng.int(this.cat.firstNx);
    const d = this.cat.domains[s.domain]!;
    const dualStack = this.cat.clientHasV6(c);
    switch (kind) {
      case K_DNS:
        this.setupDns(s, dualStack);
        break;
      case K_PING:
        this.setupPing(s, dualStack);
        break;
      case K_ARP:
        s.arpMode = rng.int(10) < 6 ? 0 : rng.int(4) < 3 ? 1 : 2;
        s.proto = 0;
        break;
      default:
        this.setupTcp(s, d, dualStack);
    }
    s.active = true;
    this.schedule(slot, at);
  }

  /** Point the session at an Internet server of `d` (IPv6 when both ends have it, sometimes). */
  private setServer(s: Session, d: DomainInfo, dualStack: boolean, v6Share: number): void {
    const cat = this.cat;
    if (dualStack && d.server6 >= 0 && this.rng.chance(v6Share)) {
      s.v6 = true;
      cat.clientV6(s.client, s.addr6, 0);
      for (let k = 0; k < 16; k++) s.addr6[16 + k] = cat.server6[d.server6 * 16 + k]!;
      s.ttl1 = 64 - cat.server6Hops[d.server6]!;
      s.srv4 = 0;
    } else {
      s.srv4 = cat.server4[d.server4]!;
      s.ttl1 = cat.server4Ttl[d.server4]! - cat.server4Hops[d.server4]!;
    }
  }

  private setupTcp(s: Session, d: DomainInfo, dualStack: boolean): void {
    const rng = this.rng;
    const cat = this.cat;
    s.proto = IPPROTO_TCP;
    s.sport = s.kind === K_HTTP || s.kind === K_HTTP_BULK ? 80 : 443;
    if (s.kind === K_HTTP_BULK && rng.chance(0.5)) {
      // A file download from an internal server on the next floor.
      s.srv4 = cat.internal4[rng.int(INTERNAL_SERVER_COUNT)]!;
      s.sport = 8080;
      s.ttl1 = 63;
      s.rtt = 300 + rng.int(1500);
    } else {
      this.setServer(s, d, dualStack, 0.35);
    }
    this.pseudoSum(s);
    s.seq0 = rng.u32();
    s.seq1 = rng.u32();
    if (s.kind === K_REFUSED) {
      // A closed port: the RST answering a SYN has sequence number 0 (RFC 9293, 3.10.7.1).
      s.sport = CLOSED_PORTS[rng.int(CLOSED_PORTS.length)]!;
      s.seq1 = 0;
      this.pseudoSum(s);
    }
    s.ts = s.os !== OS_WINDOWS;
    s.tsOff0 = rng.u32();
    s.tsOff1 = rng.u32();
    s.tsLast0 = 0;
    s.tsLast1 = 0;
    s.clientMss = s.v6 ? 1440 : 1460;
    s.serverMss = rng.chance(0.2) ? (s.v6 ? 1380 : 1400) : s.v6 ? 1440 : 1460;
    s.mss = Math.min(s.clientMss, s.serverMss) - (s.ts ? 12 : 0);
    s.ws1 = 7 + rng.int(4);
    s.synWin1 = SERVER_SYN_WINDOWS[rng.int(SERVER_SYN_WINDOWS.length)]!;
    s.win0 = s.os === OS_WINDOWS ? 1026 : s.os === OS_LINUX ? 502 + rng.int(60) : 2048;
    s.win1 = (1 << (16 - s.ws1)) * (2 + rng.int(30));
    if (s.win1 > 65535) s.win1 = 65535;
    const mbps = s.kind === K_HTTP_BULK || s.kind === K_TLS_DOWNLOAD || s.kind === K_TLS_UPLOAD ? 200 : 50;
    s.usPerByte = 8 / Math.max(2, rng.logNormal(mbps, 0.7));
    s.cwnd = 10;
    s.inFlight = 0;
    s.msgIndex = 0;
    s.msgLen = 0;
    s.msgPos = 0;
    s.unacked = 0;
    s.ackPending = false;
    s.closing = false;
    if (s.kind === K_HTTP || s.kind === K_TLS) s.exchanges = 1 + Math.min(9, Math.floor(rng.exp(1.5)));
    else if (s.kind === K_CHAT) s.exchanges = 4 + Math.min(80, Math.floor(rng.exp(20)));
    else s.exchanges = 1;
    s.bulk = Math.round(Math.min(40e6, rng.logNormal(1e6, 1)));
  }

  private setupDns(s: Session, dualStack: boolean): void {
    const rng = this.rng;
    s.proto = IPPROTO_UDP;
    s.sport = 53;
    // Some names that do not exist: typos, old internal names, proxy auto-discovery.
    if (rng.chance(0.06)) s.domain = this.cat.firstNx + rng.int(this.cat.domains.length - this.cat.firstNx);
    s.v6 = dualStack && rng.chance(0.3);
    if (s.v6) {
      this.cat.clientV6(s.client, s.addr6, 0);
      for (let i = 0; i < 16; i++) s.addr6[16 + i] = RESOLVER6[i]!;
      s.srv4 = 0;
    } else s.srv4 = RESOLVER4;
    s.ttl1 = 64;
    this.pseudoSum(s);
    // glibc asks for A and AAAA at once from one socket; others ask for one type.
    s.pair = dualStack && s.os === OS_LINUX && rng.chance(0.7);
    s.qtype = s.pair ? DNS_TYPE_A : dualStack && rng.chance(0.4) ? DNS_TYPE_AAAA : DNS_TYPE_A;
    s.lost = rng.chance(0.01);
    s.edns = s.os !== OS_WINDOWS;
    s.dnsId0 = rng.int(65536);
    s.dnsId1 = rng.int(65536);
    // Cached answers come back in under a millisecond; others after a recursive lookup.
    s.rtt = rng.chance(0.7) ? 150 + rng.int(700) : Math.round(Math.min(2e6, rng.logNormal(18_000, 1)));
  }

  private setupPing(s: Session, dualStack: boolean): void {
    const rng = this.rng;
    const cat = this.cat;
    const c = s.client;
    const k = this.pingsUsed[c]!;
    this.pingsUsed[c] = k + 1;
    // A (client, target) pair is pinged once: targets are visited in a per-client order.
    const target = (mix32(c ^ 0x9e37) + k * 7) % PING_TARGETS;
    s.v6 = dualStack && rng.chance(0.3);
    if (s.v6) {
      s.proto = IPPROTO_ICMPV6;
      cat.clientV6(c, s.addr6, 0);
      if (target === 0) cat.gatewayV6(c, s.addr6, 16);
      else if (target === 1) for (let i = 0; i < 16; i++) s.addr6[16 + i] = RESOLVER6[i]!;
      else for (let i = 0; i < 16; i++) s.addr6[16 + i] = cat.server6[((target - 2) % SERVER6_COUNT) * 16 + i]!;
      s.ttl1 = target < 2 ? 64 : 64 - cat.server6Hops[(target - 2) % SERVER6_COUNT]!;
      s.srv4 = 0;
    } else {
      s.proto = IPPROTO_ICMP;
      s.srv4 = target === 0 ? cat.gatewayV4(c) : target === 1 ? RESOLVER4 : cat.server4[(target - 2) % SERVER4_COUNT]!;
      s.ttl1 = target < 2 ? 64 : cat.server4Ttl[target - 2]! - cat.server4Hops[target - 2]!;
    }
    if (target < 2) s.rtt = 200 + rng.int(800);
    s.sport = 0;
    this.pseudoSum(s);
    s.echoId = s.os === OS_WINDOWS ? 1 : rng.int(65536);
    s.count = s.os === OS_WINDOWS ? 4 : 1 + rng.int(5);
    s.lost = rng.chance(0.05);
  }

  /** Sum of the address words of the pseudo-header (IPv4 or IPv6). */
  private pseudoSum(s: Session): void {
    if (s.v6) {
      let sum = 0;
      const a = s.addr6;
      for (let i = 0; i < 32; i += 2) sum += (a[i]! << 8) | a[i + 1]!;
      s.pseudo = sum;
    } else {
      s.pseudo = (s.cli4 >>> 16) + (s.cli4 & 0xffff) + (s.srv4 >>> 16) + (s.srv4 & 0xffff);
    }
  }

  // ---------------------------------------------------------------- session steps

  private step(s: Session): void {
    switch (s.kind) {
      case K_DNS:
        this.stepDns(s);
        break;
      case K_PING:
        this.stepPing(s);
        break;
      case K_ARP:
        this.stepArp(s);
        break;
      default:
        this.stepTcp(s);
    }
  }

  private stepTcp(s: Session): void {
    const rng = this.rng;
    const now = this.now;
    switch (s.phase) {
      case PH_SYN:
        this.tcp(s, 0, TCP_SYN, 0);
        s.phase = s.kind === K_REFUSED ? PH_REFUSED : PH_SYNACK;
        s.time = now + s.rtt;
        return;
      case PH_REFUSED:
        this.tcp(s, 1, TCP_RST | TCP_ACK, 0);
        s.phase = PH_DONE;
        return;
      case PH_SYNACK:
        this.tcp(s, 1, TCP_SYN | TCP_ACK, 0);
        s.phase = PH_ACK3;
        s.time = now + 20 + rng.int(200);
        return;
      case PH_ACK3:
        this.tcp(s, 0, TCP_ACK, 0);
        this.nextMessage(s);
        s.phase = PH_DATA;
        s.time = now + 30 + rng.int(400);
        return;
      case PH_DATA:
        this.dataStep(s);
        return;
      case PH_FIN1:
        this.tcp(s, s.closer, TCP_FIN | TCP_ACK, 0);
        s.phase = PH_FIN2;
        s.time = now + (s.closer === 0 ? s.rtt : 40 + rng.int(300));
        return;
      case PH_FIN2:
        this.tcp(s, 1 - s.closer, TCP_FIN | TCP_ACK, 0);
        s.phase = PH_FIN3;
        s.time = now + (s.closer === 0 ? 40 + rng.int(300) : s.rtt);
        return;
      case PH_FIN3:
        this.tcp(s, s.closer, TCP_ACK, 0);
        s.phase = PH_DONE;
        return;
      case PH_RST:
        this.tcp(s, s.closer, TCP_RST | TCP_ACK, 0);
        s.phase = PH_DONE;
        return;
    }
  }

  private dataStep(s: Session): void {
    const rng = this.rng;
    const now = this.now;
    if (s.ackPending) {
      this.tcp(s, s.ackDir, TCP_ACK, 0);
      s.ackPending = false;
      if (s.msgPos === 0) this.boundary(s);
      else s.time = Math.max(now + 10 + rng.int(60), s.resumeAt);
      return;
    }
    const dir = s.msgDir;
    const left = s.msgLen - s.msgPos;
    const n = Math.min(left, s.mss);
    const last = n === left;
    this.tcp(s, dir, last ? TCP_ACK | TCP_PSH : TCP_ACK, n);
    s.msgPos += n;
    if (last) {
      const receiver = 1 - dir;
      this.nextMessage(s);
      // The receiver acknowledges at once, unless its own next segment carries the ACK.
      const piggyback = s.closing ? s.closer === receiver : s.msgDir === receiver;
      if (piggyback && rng.chance(0.5)) {
        this.boundary(s);
      } else {
        s.ackPending = true;
        s.ackDir = receiver;
        s.unacked = 0;
        s.time = now + (receiver === 0 ? 20 + rng.int(150) : 40 + rng.int(200));
      }
      return;
    }
    // Delayed ACK: every second full segment; slow start: a window's worth, then wait an RTT.
    if (++s.unacked >= 2) {
      s.ackPending = true;
      s.ackDir = 1 - dir;
      s.unacked = 0;
    }
    const gap = 1 + Math.round(n * s.usPerByte);
    s.resumeAt = now + gap;
    if (++s.inFlight >= s.cwnd) {
      s.inFlight = 0;
      if (s.cwnd < 512) s.cwnd *= 2;
      s.resumeAt = now + s.rtt;
    }
    s.time = s.ackPending ? now + 10 + rng.int(40) : s.resumeAt;
  }

  /** Between two messages: wait the think time, then send the next one or start closing. */
  private boundary(s: Session): void {
    s.time = this.now + s.gapNext;
    s.inFlight = 0;
    if (s.closing) s.phase = s.closePhase;
  }

  /**
   * Set up the session's next message, or its teardown when it has none, with `gapNext`, the
   * pause before it starts.
   */
  private nextMessage(s: Session): void {
    const rng = this.rng;
    const i = s.msgIndex++;
    const k = s.kind;
    const tls = k === K_TLS || k === K_TLS_DOWNLOAD || k === K_TLS_UPLOAD || k === K_CHAT;
    let j = i;
    if (tls) {
      if (i === 0) {
        this.clientHello(s);
        return;
      }
      if (i === 1) {
        this.serverHello(s);
        return;
      }
      if (i === 2) {
        // ChangeCipherSpec then the encrypted Finished.
        this.message(s, 0, this.cat.tls, this.cat.serverHelloOff + SERVER_HELLO_LEN - 6, 6, BODY_TLS, 58);
        s.gapNext = 100 + rng.int(500);
        return;
      }
      j = i - 3;
    }
    const exchange = j >> 1;
    if (exchange >= s.exchanges) {
      this.teardown(s);
      return;
    }
    const request = (j & 1) === 0;
    if (request) {
      if (k === K_TLS_UPLOAD) this.message(s, 0, EMPTY, 0, 0, BODY_TLS, s.bulk);
      else if (k === K_CHAT) this.message(s, 0, EMPTY, 0, 0, BODY_TLS, 30 + rng.int(200));
      else if (tls) this.message(s, 0, EMPTY, 0, 0, BODY_TLS, 120 + rng.int(800));
      else {
        const d = this.cat.domains[s.domain]!;
        const r = d.firstRequest + rng.int(REQUESTS_PER_DOMAIN);
        const cat = this.cat;
        this.message(s, 0, cat.requests, cat.requestOff[r]!, cat.requestLen[r]!, BODY_TEXT, cat.requestBody[r]!);
      }
      // The server thinks, and its answer needs a round trip to reach the capture point.
      s.gapNext = s.rtt + Math.round(Math.min(3e6, rng.logNormal(4000, 1.2)));
      return;
    }
    let size: number;
    if (k === K_TLS_DOWNLOAD || k === K_HTTP_BULK) size = s.bulk;
    else if (k === K_TLS_UPLOAD) size = 300 + rng.int(400);
    else if (k === K_CHAT) size = 30 + Math.round(Math.min(4000, rng.logNormal(120, 0.8)));
    else size = Math.round(Math.min(5e6, rng.logNormal(1200, 1.4)));
    if (tls) this.message(s, 1, EMPTY, 0, 0, BODY_TLS, size);
    else this.httpResponse(s, size);
    // The user reads, clicks on, or the page fetches its next object; a push channel idles.
    s.gapNext =
      k === K_CHAT
        ? Math.round(Math.min(3e6, rng.logNormal(120_000, 1)))
        : Math.round(Math.min(2e6, rng.logNormal(15_000, 1.5)));
  }

  private message(
    s: Session,
    dir: number,
    pre: Buffer,
    preOff: number,
    preLen: number,
    mode: number,
    bodyLen: number,
  ): void {
    if (mode === BODY_TLS && bodyLen > 0) {
      const last = bodyLen % TLS_RECORD_WIRE;
      if (last !== 0 && last < TLS_RECORD_MIN) bodyLen += TLS_RECORD_MIN - last;
    }
    s.msgDir = dir;
    s.msgPos = 0;
    s.pre = pre;
    s.preOff = preOff;
    s.preLen = preLen;
    s.bodyMode = mode;
    s.bodyLen = bodyLen;
    s.msgLen = preLen + bodyLen;
    s.unacked = 0;
    s.inFlight = 0;
  }

  private clientHello(s: Session): void {
    const cat = this.cat;
    const d = cat.domains[s.domain]!;
    const b = s.scratch;
    cat.tls.copy(b, 0, d.helloOff, d.helloOff + d.helloLen);
    this.noise(b, HELLO_RANDOM_AT, 32);
    this.noise(b, HELLO_SESSION_ID_AT, 32);
    this.noise(b, cat.helloKeyAt[s.domain]!, 32);
    this.message(s, 0, b, 0, d.helloLen, BODY_TLS, 0);
    s.gapNext = s.rtt + 200 + this.rng.int(2000);
  }

  private serverHello(s: Session): void {
    const cat = this.cat;
    const b = s.scratch;
    const at = 512;
    cat.tls.copy(b, at, cat.serverHelloOff, cat.serverHelloOff + SERVER_HELLO_LEN);
    this.noise(b, at + SERVER_HELLO_RANDOM_AT, 32);
    b.copy(b, at + SERVER_HELLO_SESSION_ID_AT, HELLO_SESSION_ID_AT, HELLO_SESSION_ID_AT + 32);
    this.noise(b, at + SERVER_HELLO_KEY_AT, 32);
    // Encrypted extensions, certificate chain, certificate verify and Finished; a resumed
    // session (pre-shared key) sends no certificate.
    const rng = this.rng;
    const rest = rng.chance(0.4) ? 90 + rng.int(200) : 1800 + Math.round(Math.min(9000, rng.logNormal(2200, 0.5)));
    this.message(s, 1, b, at, SERVER_HELLO_LEN, BODY_TLS, rest);
    s.gapNext = 200 + this.rng.int(3000);
  }

  /** An HTTP response head with the given body size written into the scratch buffer. */
  private httpResponse(s: Session, size: number): void {
    const cat = this.cat;
    const rng = this.rng;
    const bulk = s.kind === K_HTTP_BULK;
    // The first heads are 200 OK with a binary body: the ones for file downloads.
    const h = bulk ? rng.int(cat.binaryHeads) : rng.int(cat.responseHeads.length);
    const head = cat.responseHeads[h]!;
    const body = cat.responseHasBody[h] ? size : 0;
    const b = s.scratch;
    const at = 512;
    let o = at + head.copy(b, at);
    o = putDecimal(b, o, body);
    o += cat.responseTail.copy(b, o);
    this.message(s, 1, b, at, o - at, h < cat.binaryHeads ? BODY_NOISE : BODY_TEXT, body);
  }

  private teardown(s: Session): void {
    const rng = this.rng;
    const r = rng.int(100);
    s.closing = true;
    s.msgLen = 0;
    s.msgPos = 0;
    s.msgDir = -1;
    if (r < 55) {
      s.closer = 0;
      s.closePhase = PH_FIN1;
    } else if (r < 85) {
      s.closer = 1;
      s.closePhase = PH_FIN1;
    } else if (r < 95) {
      s.closer = rng.int(2);
      s.closePhase = PH_RST;
    } else {
      // Left open past the end of the capture (keep-alive or a long poll).
      s.closer = -1;
      s.closePhase = PH_DONE;
    }
    // Keep-alive idle time before the close.
    s.gapNext = Math.round(Math.min(5e6, rng.logNormal(60_000, 1.2)));
  }

  private noise(b: Buffer, at: number, n: number): void {
    const from = this.rng.int(this.cat.fillerLen);
    this.cat.noise.copy(b, at, from, from + n);
  }

  private stepDns(s: Session): void {
    const now = this.now;
    const step = s.step++;
    if (s.pair) {
      // Query A, query AAAA, then both answers.
      if (step === 0) {
        this.dns(s, 0, s.dnsId0, DNS_TYPE_A);
        s.time = now + 20 + this.rng.int(80);
      } else if (step === 1) {
        this.dns(s, 0, s.dnsId1, DNS_TYPE_AAAA);
        s.time = now + s.rtt;
        if (s.lost) s.phase = PH_DONE;
      } else if (step === 2) {
        this.dns(s, 1, s.dnsId0, DNS_TYPE_A);
        s.time = now + 5 + this.rng.int(200);
      } else {
        this.dns(s, 1, s.dnsId1, DNS_TYPE_AAAA);
        s.phase = PH_DONE;
      }
      return;
    }
    if (step === 0) {
      this.dns(s, 0, s.dnsId0, s.qtype);
      s.time = now + s.rtt;
      if (s.lost) s.phase = PH_DONE;
    } else {
      this.dns(s, 1, s.dnsId0, s.qtype);
      s.phase = PH_DONE;
    }
  }

  private stepPing(s: Session): void {
    const step = s.step++;
    const seq = (step >> 1) + 1;
    if ((step & 1) === 0) {
      this.echo(s, 0, seq);
      if (s.lost && seq === s.count) s.phase = PH_DONE;
      s.time = this.now + (s.lost ? 1_000_000 : s.rtt);
      if (s.lost && seq < s.count) s.step++;
    } else {
      this.echo(s, 1, seq);
      if (seq === s.count) s.phase = PH_DONE;
      else s.time = this.now + 1_000_000 - s.rtt + this.rng.int(200);
    }
  }

  private stepArp(s: Session): void {
    const step = s.step++;
    if (s.arpMode === 2) {
      this.arp(s, 0, true);
      s.phase = PH_DONE;
    } else if (step === 0) {
      // Mode 0: the client asks for the router; mode 1: the router asks for the client.
      this.arp(s, s.arpMode, true);
      s.time = this.now + 100 + this.rng.int(1500);
    } else {
      this.arp(s, 1 - s.arpMode, false);
      s.phase = PH_DONE;
    }
  }

  // ---------------------------------------------------------------- frame writers

  /** Ethernet header (and VLAN tag); dir 0 is from the client, 1 from the router. */
  private eth(b: Buffer, o: number, s: Session, dir: number, type: number): number {
    const dHi = dir === 0 ? ROUTER_MAC_HI : s.macHi;
    const dLo = dir === 0 ? ROUTER_MAC_LO : s.macLo;
    const sHi = dir === 0 ? s.macHi : ROUTER_MAC_HI;
    const sLo = dir === 0 ? s.macLo : ROUTER_MAC_LO;
    b[o] = dHi >>> 8;
    b[o + 1] = dHi;
    b[o + 2] = dLo >>> 24;
    b[o + 3] = dLo >>> 16;
    b[o + 4] = dLo >>> 8;
    b[o + 5] = dLo;
    b[o + 6] = sHi >>> 8;
    b[o + 7] = sHi;
    b[o + 8] = sLo >>> 24;
    b[o + 9] = sLo >>> 16;
    b[o + 10] = sLo >>> 8;
    b[o + 11] = sLo;
    o += 12;
    if (s.vlan !== 0) {
      b[o] = ETHERTYPE_VLAN >>> 8;
      b[o + 1] = ETHERTYPE_VLAN & 0xff;
      b[o + 2] = s.vlan >>> 8;
      b[o + 3] = s.vlan;
      o += 4;
      this.counters.vlan++;
    }
    b[o] = type >>> 8;
    b[o + 1] = type;
    return o + 2;
  }

  /** IPv4 or IPv6 header for `l4Len` bytes of `proto`; returns the offset of the L4 header. */
  private ip(b: Buffer, o: number, s: Session, dir: number, proto: number, l4Len: number): number {
    const c = this.counters;
    if (s.v6) {
      c.ipv6++;
      const flow = dir === 0 ? s.flow0 : s.flow1;
      b[o] = 0x60;
      b[o + 1] = flow >>> 16;
      b[o + 2] = flow >>> 8;
      b[o + 3] = flow;
      b[o + 4] = l4Len >>> 8;
      b[o + 5] = l4Len;
      b[o + 6] = proto;
      b[o + 7] = dir === 0 ? s.ttl0 : s.ttl1;
      const a = s.addr6;
      const src = dir === 0 ? 0 : 16;
      const dst = 16 - src;
      for (let i = 0; i < 16; i++) {
        b[o + 8 + i] = a[src + i]!;
        b[o + 24 + i] = a[dst + i]!;
      }
      return o + 40;
    }
    c.ipv4++;
    const total = 20 + l4Len;
    let id: number;
    if (dir === 0) id = s.ipId0 = (s.ipId0 + 1) & 0xffff;
    else id = s.ipId1 = (s.ipId1 + 1) & 0xffff;
    const src = dir === 0 ? s.cli4 : s.srv4;
    const dst = dir === 0 ? s.srv4 : s.cli4;
    const ttl = dir === 0 ? s.ttl0 : s.ttl1;
    const df = proto === IPPROTO_TCP ? 0x40 : 0;
    b[o] = 0x45;
    b[o + 1] = 0;
    b[o + 2] = total >>> 8;
    b[o + 3] = total;
    b[o + 4] = id >>> 8;
    b[o + 5] = id;
    b[o + 6] = df;
    b[o + 7] = 0;
    b[o + 8] = ttl;
    b[o + 9] = proto;
    b[o + 12] = src >>> 24;
    b[o + 13] = src >>> 16;
    b[o + 14] = src >>> 8;
    b[o + 15] = src;
    b[o + 16] = dst >>> 24;
    b[o + 17] = dst >>> 16;
    b[o + 18] = dst >>> 8;
    b[o + 19] = dst;
    let sum =
      0x4500 +
      total +
      id +
      (df << 8) +
      ((ttl << 8) | proto) +
      (src >>> 16) +
      (src & 0xffff) +
      (dst >>> 16) +
      (dst & 0xffff);
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    const ck = ~sum & 0xffff;
    b[o + 10] = ck >>> 8;
    b[o + 11] = ck;
    return o + 20;
  }

  /** Pad to the Ethernet minimum, commit the record, and count it. */
  private commit(b: Buffer, start: number, end: number, s: Session, dir: number): void {
    let len = end - start;
    if (len < ETH_MIN_FRAME) {
      for (let i = end; i < start + ETH_MIN_FRAME; i++) b[i] = 0;
      len = ETH_MIN_FRAME;
    }
    const us = this.now;
    this.lastUs = us;
    const abs = this.startSec + Math.floor(us / 1e6);
    this.out.commitPacket(abs, (us % 1e6) * 1000, len);
    const c = this.counters;
    if (c.packets === 0) {
      c.firstUs = us;
      c.minFrame = len;
      c.maxFrame = len;
    }
    c.packets++;
    c.bytes += len;
    c.lastUs = us;
    if (len < c.minFrame) c.minFrame = len;
    if (len > c.maxFrame) c.maxFrame = len;
    if (dir === 0) {
      s.pkts0++;
      s.bytes0 += len;
    } else {
      s.pkts1++;
      s.bytes1 += len;
    }
  }

  /** One TCP segment of `n` payload bytes taken from the current message. */
  private tcp(s: Session, dir: number, flags: number, n: number): void {
    const out = this.out;
    const start = out.beginPacket(MAX_FRAME);
    const b = out.buf;
    const c = this.counters;
    let o = this.eth(b, start, s, dir, s.v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
    const syn = (flags & TCP_SYN) !== 0;
    let optLen: number;
    if (syn) {
      if (dir === 0) optLen = s.os === OS_WINDOWS ? 12 : s.os === OS_MACOS ? 24 : 20;
      else optLen = s.ts ? 20 : 12;
    } else optLen = s.ts && (flags & TCP_RST) === 0 ? 12 : 0;
    const tcpLen = 20 + optLen + n;
    o = this.ip(b, o, s, dir, IPPROTO_TCP, tcpLen);
    const l4 = o;
    const sp = dir === 0 ? s.cport : s.sport;
    const dp = dir === 0 ? s.sport : s.cport;
    const seq = dir === 0 ? s.seq0 : s.seq1;
    // A bare RST answering a SYN acknowledges it; every other segment but the SYN carries an ACK.
    const ack = (flags & TCP_ACK) === 0 ? 0 : dir === 0 ? s.seq1 : s.seq0;
    b[o] = sp >>> 8;
    b[o + 1] = sp;
    b[o + 2] = dp >>> 8;
    b[o + 3] = dp;
    b[o + 4] = seq >>> 24;
    b[o + 5] = seq >>> 16;
    b[o + 6] = seq >>> 8;
    b[o + 7] = seq;
    b[o + 8] = ack >>> 24;
    b[o + 9] = ack >>> 16;
    b[o + 10] = ack >>> 8;
    b[o + 11] = ack;
    b[o + 12] = ((20 + optLen) >> 2) << 4;
    b[o + 13] = flags;
    let win: number;
    if (syn) win = dir === 1 ? s.synWin1 : s.os === OS_MACOS ? 65535 : 64240;
    else if (s.phase === PH_REFUSED) win = 0;
    else win = dir === 0 ? s.win0 : s.win1;
    b[o + 14] = win >>> 8;
    b[o + 15] = win;
    b[o + 16] = 0;
    b[o + 17] = 0;
    b[o + 18] = 0;
    b[o + 19] = 0;
    o += 20;
    // Header words summed from the values rather than read back (options: see below).
    let sum =
      s.pseudo +
      IPPROTO_TCP +
      tcpLen +
      sp +
      dp +
      (seq >>> 16) +
      (seq & 0xffff) +
      (ack >>> 16) +
      (ack & 0xffff) +
      ((((20 + optLen) >> 2) << 12) | flags) +
      win;
    if (optLen > 0) {
      const opts = o;
      o = this.tcpOptions(b, o, s, dir, syn);
      // Data segments carry NOP, NOP, timestamps: 0x0101 + 0x080a + the two values.
      if (syn) sum += sum16(b, opts, o);
      else {
        const v = b.readUInt32BE(opts + 4);
        const e = b.readUInt32BE(opts + 8);
        sum += 0x0101 + 0x080a + (v >>> 16) + (v & 0xffff) + (e >>> 16) + (e & 0xffff);
      }
    }
    // The header is a multiple of 4 bytes, so the payload starts word-aligned for the checksum.
    if (n > 0) {
      sum += this.content(s, b, o, n);
      o += n;
      c.tcpPayloadBytes += n;
    }
    sum = (sum & 0xffff) + Math.floor(sum / 65536);
    sum = (sum & 0xffff) + (sum >>> 16);
    const ck = ~sum & 0xffff;
    b[l4 + 16] = ck >>> 8;
    b[l4 + 17] = ck;
    c.tcp++;
    if (syn) {
      if (dir === 0) c.tcpSyn++;
      else c.tcpSynAck++;
    }
    if ((flags & TCP_FIN) !== 0) c.tcpFin++;
    if ((flags & TCP_RST) !== 0) c.tcpRst++;
    const adv = n + (syn ? 1 : 0) + ((flags & TCP_FIN) !== 0 ? 1 : 0);
    if (dir === 0) s.seq0 = (s.seq0 + adv) >>> 0;
    else s.seq1 = (s.seq1 + adv) >>> 0;
    this.commit(b, start, o, s, dir);
  }

  private tcpOptions(b: Buffer, o: number, s: Session, dir: number, syn: boolean): number {
    let tsVal = 0;
    let tsEcr = 0;
    if (s.ts) {
      const ms = Math.floor(this.now / 1000);
      if (dir === 0) {
        tsVal = s.tsLast0 = (s.tsOff0 + ms) >>> 0;
        tsEcr = syn ? 0 : s.tsLast1;
      } else {
        tsVal = s.tsLast1 = (s.tsOff1 + ms) >>> 0;
        tsEcr = s.tsLast0;
      }
    }
    if (!syn) {
      // NOP, NOP, timestamps.
      b[o] = 1;
      b[o + 1] = 1;
      putTimestamps(b, o + 2, tsVal, tsEcr);
      return o + 12;
    }
    const mss = dir === 0 ? s.clientMss : s.serverMss;
    b[o] = 2;
    b[o + 1] = 4;
    b[o + 2] = mss >>> 8;
    b[o + 3] = mss;
    o += 4;
    if (dir === 1) {
      if (s.ts) {
        // Linux: SACK permitted, timestamps, NOP, window scale.
        b[o] = 4;
        b[o + 1] = 2;
        putTimestamps(b, o + 2, tsVal, tsEcr);
        b[o + 12] = 1;
        b[o + 13] = 3;
        b[o + 14] = 3;
        b[o + 15] = s.ws1;
        return o + 16;
      }
      // NOP, NOP, SACK permitted, NOP, window scale.
      b[o] = 1;
      b[o + 1] = 1;
      b[o + 2] = 4;
      b[o + 3] = 2;
      b[o + 4] = 1;
      b[o + 5] = 3;
      b[o + 6] = 3;
      b[o + 7] = s.ws1;
      return o + 8;
    }
    if (s.os === OS_WINDOWS) {
      // NOP, window scale 8, NOP, NOP, SACK permitted.
      b[o] = 1;
      b[o + 1] = 3;
      b[o + 2] = 3;
      b[o + 3] = 8;
      b[o + 4] = 1;
      b[o + 5] = 1;
      b[o + 6] = 4;
      b[o + 7] = 2;
      return o + 8;
    }
    if (s.os === OS_MACOS) {
      // NOP, window scale 6, NOP, NOP, timestamps, SACK permitted, EOL, EOL.
      b[o] = 1;
      b[o + 1] = 3;
      b[o + 2] = 3;
      b[o + 3] = 6;
      b[o + 4] = 1;
      b[o + 5] = 1;
      putTimestamps(b, o + 6, tsVal, tsEcr);
      b[o + 16] = 4;
      b[o + 17] = 2;
      b[o + 18] = 0;
      b[o + 19] = 0;
      return o + 20;
    }
    // Linux: SACK permitted, timestamps, NOP, window scale 7.
    b[o] = 4;
    b[o + 1] = 2;
    putTimestamps(b, o + 2, tsVal, tsEcr);
    b[o + 12] = 1;
    b[o + 13] = 3;
    b[o + 14] = 3;
    b[o + 15] = 7;
    return o + 16;
  }

  /**
   * Copy bytes [msgPos, msgPos + n) of the current message to b[o], which must be at an even
   * offset from the start of the checksummed data. Returns their one's-complement partial sum.
   * Filler slices are summed from the catalog's prefix sums, not byte by byte.
   */
  private content(s: Session, b: Buffer, o: number, n: number): number {
    let p = s.msgPos;
    let sum = 0;
    /** Bytes written so far: its parity says whether a piece starts on a word's low byte. */
    let q = 0;
    if (p < s.preLen) {
      const k = Math.min(n, s.preLen - p);
      s.pre.copy(b, o, s.preOff + p, s.preOff + p + k);
      sum = sum16(b, o, o + k);
      q = k;
      p += k;
      n -= k;
    }
    if (n === 0) return sum;
    const cat = this.cat;
    let bp = p - s.preLen;
    // Payload bytes need not continue from one segment to the next, so each piece comes from
    // wherever the filler copies fastest (see `Catalog.fill`).
    const pick = this.counters.packets;
    if (s.bodyMode !== BODY_TLS) {
      const part = cat.fill(s.bodyMode === BODY_NOISE, b, o + q, n, pick);
      return sum + ((q & 1) === 0 ? part : swap16(part));
    }
    while (n > 0) {
      const rec = Math.floor(bp / TLS_RECORD_WIRE);
      let within = bp - rec * TLS_RECORD_WIRE;
      const recLen = Math.min(TLS_RECORD_WIRE, s.bodyLen - rec * TLS_RECORD_WIRE);
      if (within < 5) {
        const len = recLen - 5;
        while (within < 5 && n > 0) {
          const v = within === 0 ? TLS_APPLICATION_DATA : within < 3 ? 3 : within === 3 ? len >>> 8 : len & 0xff;
          b[o + q] = v;
          sum += (q & 1) === 0 ? v << 8 : v;
          q++;
          within++;
          bp++;
          n--;
        }
      } else {
        const k = Math.min(n, recLen - within);
        const part = cat.fill(true, b, o + q, k, pick + bp);
        sum += (q & 1) === 0 ? part : swap16(part);
        q += k;
        bp += k;
        n -= k;
      }
    }
    return sum;
  }

  private dns(s: Session, dir: number, id: number, qtype: number): void {
    const out = this.out;
    const start = out.beginPacket(MAX_FRAME);
    const b = out.buf;
    const c = this.counters;
    const cat = this.cat;
    const d = cat.domains[s.domain]!;
    let o = this.eth(b, start, s, dir, s.v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
    // The DNS message goes first, where it will sit, so its length is known for the headers.
    const hdr = s.v6 ? 40 : 20;
    const l4 = o + hdr;
    const msg = l4 + 8;
    const len =
      dir === 0
        ? writeDnsQuery(b, msg, cat, d, id, qtype, s.edns)
        : writeDnsResponse(b, msg, cat, d, id, qtype, s.edns, d.ttl - (id % 17));
    const udpLen = 8 + len;
    o = this.ip(b, o, s, dir, IPPROTO_UDP, udpLen);
    const sp = dir === 0 ? s.cport : 53;
    const dp = dir === 0 ? 53 : s.cport;
    b[l4] = sp >>> 8;
    b[l4 + 1] = sp;
    b[l4 + 2] = dp >>> 8;
    b[l4 + 3] = dp;
    b[l4 + 4] = udpLen >>> 8;
    b[l4 + 5] = udpLen;
    b[l4 + 6] = 0;
    b[l4 + 7] = 0;
    let sum = s.pseudo + IPPROTO_UDP + udpLen + sum16(b, l4, l4 + udpLen);
    sum = (sum & 0xffff) + Math.floor(sum / 65536);
    sum = (sum & 0xffff) + (sum >>> 16);
    // A computed zero is sent as all ones (zero means "no checksum" in UDP over IPv4).
    const ck = ~sum & 0xffff || 0xffff;
    b[l4 + 6] = ck >>> 8;
    b[l4 + 7] = ck;
    c.udp++;
    c.dns++;
    if (dir === 0) c.dnsQueries++;
    else {
      c.dnsResponses++;
      if (d.nx) c.dnsNxdomain++;
    }
    this.commit(b, start, l4 + udpLen, s, dir);
  }

  private echo(s: Session, dir: number, seq: number): void {
    const out = this.out;
    const start = out.beginPacket(MAX_FRAME);
    const b = out.buf;
    const c = this.counters;
    let o = this.eth(b, start, s, dir, s.v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
    const windows = s.os === OS_WINDOWS;
    const dataLen = windows ? 32 : 56;
    const icmpLen = 8 + dataLen;
    o = this.ip(b, o, s, dir, s.proto, icmpLen);
    const l4 = o;
    if (s.v6) b[o] = dir === 0 ? ICMPV6_ECHO_REQUEST : ICMPV6_ECHO_REPLY;
    else b[o] = dir === 0 ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY;
    b[o + 1] = 0;
    b[o + 2] = 0;
    b[o + 3] = 0;
    b[o + 4] = s.echoId >>> 8;
    b[o + 5] = s.echoId;
    b[o + 6] = seq >>> 8;
    b[o + 7] = seq;
    o += 8;
    if (windows) {
      // Windows ping: the alphabet, wrapping after 'w'.
      for (let i = 0; i < 32; i++) b[o + i] = 0x61 + (i % 23);
    } else {
      // iputils ping: the send time (struct timeval, 64-bit little-endian) then 0x10, 0x11, ...
      if (dir === 0) s.echoSent = this.now;
      const sent = s.echoSent;
      const sec = this.startSec + Math.floor(sent / 1e6);
      const usec = sent % 1e6;
      b.writeUInt32LE(sec >>> 0, o);
      b.writeUInt32LE(0, o + 4);
      b.writeUInt32LE(usec, o + 8);
      b.writeUInt32LE(0, o + 12);
      for (let i = 16; i < 56; i++) b[o + i] = i;
    }
    o += dataLen;
    let sum = sum16(b, l4, o);
    if (s.v6) {
      sum += s.pseudo + IPPROTO_ICMPV6 + icmpLen;
      c.icmpv6++;
    } else c.icmp++;
    sum = (sum & 0xffff) + Math.floor(sum / 65536);
    sum = (sum & 0xffff) + (sum >>> 16);
    const ck = ~sum & 0xffff;
    b[l4 + 2] = ck >>> 8;
    b[l4 + 3] = ck;
    this.commit(b, start, o, s, dir);
  }

  /** ARP request (broadcast) or reply; `from` 0 is the client, 1 the router. */
  private arp(s: Session, from: number, request: boolean): void {
    const out = this.out;
    const start = out.beginPacket(MAX_FRAME);
    const b = out.buf;
    const cat = this.cat;
    this.counters.arp++;
    let o = this.eth(b, start, s, from, ETHERTYPE_ARP);
    if (request) for (let i = 0; i < 6; i++) b[start + i] = 0xff;
    const gratuitous = s.arpMode === 2;
    const myHi = from === 0 ? s.macHi : ROUTER_MAC_HI;
    const myLo = from === 0 ? s.macLo : ROUTER_MAC_LO;
    const myIp = from === 0 ? s.cli4 : cat.gatewayV4(s.client);
    const otherHi = request ? 0 : from === 0 ? ROUTER_MAC_HI : s.macHi;
    const otherLo = request ? 0 : from === 0 ? ROUTER_MAC_LO : s.macLo;
    const otherIp = gratuitous ? myIp : from === 0 ? cat.gatewayV4(s.client) : s.cli4;
    // Ethernet, IPv4, 6-byte and 4-byte addresses, opcode 1 (request) or 2 (reply).
    b[o] = 0;
    b[o + 1] = 1;
    b[o + 2] = 0x08;
    b[o + 3] = 0;
    b[o + 4] = 6;
    b[o + 5] = 4;
    b[o + 6] = 0;
    b[o + 7] = request ? 1 : 2;
    o += 8;
    o = putMac(b, o, myHi, myLo);
    o = putIp4(b, o, myIp);
    o = putMac(b, o, otherHi, otherLo);
    o = putIp4(b, o, otherIp);
    this.commit(b, start, o, s, from);
  }
}

/** One's-complement sum of the 16-bit big-endian words of b[start, end), unfolded. */
export function sum16(b: Uint8Array, start: number, end: number): number {
  let sum = 0;
  let i = start;
  const even = end - ((end - start) & 1);
  for (; i < even; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  return sum;
}

/** Fold a partial sum to 16 bits and swap its bytes: the sum of the same bytes one offset later. */
function swap16(sum: number): number {
  sum = (sum & 0xffff) + Math.floor(sum / 65536);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ((sum & 0xff) << 8) | (sum >>> 8);
}

function putTimestamps(b: Buffer, o: number, val: number, ecr: number): void {
  b[o] = 8;
  b[o + 1] = 10;
  b[o + 2] = val >>> 24;
  b[o + 3] = val >>> 16;
  b[o + 4] = val >>> 8;
  b[o + 5] = val;
  b[o + 6] = ecr >>> 24;
  b[o + 7] = ecr >>> 16;
  b[o + 8] = ecr >>> 8;
  b[o + 9] = ecr;
}

/** Write n (a non-negative integer) in decimal ASCII at b[o]; returns the offset after it. */
function putDecimal(b: Buffer, o: number, n: number): number {
  let digits = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) digits++;
  for (let i = digits - 1; i >= 0; i--) {
    b[o + i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return o + digits;
}

function putMac(b: Buffer, o: number, hi: number, lo: number): number {
  b[o] = hi >>> 8;
  b[o + 1] = hi;
  b[o + 2] = lo >>> 24;
  b[o + 3] = lo >>> 16;
  b[o + 4] = lo >>> 8;
  b[o + 5] = lo;
  return o + 6;
}

function putIp4(b: Buffer, o: number, a: number): number {
  b[o] = a >>> 24;
  b[o + 1] = a >>> 16;
  b[o + 2] = a >>> 8;
  b[o + 3] = a;
  return o + 4;
}
