/**
 * The flow engine by hand: every expected record below is worked out from the packets fed in
 * (counts per direction, frame bytes, first/last seen, end reason, partial flag, flow id).
 * Packets are PacketContexts filled as the decoders leave them, or real frames decoded from hex.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { decodeHex } from '../../test/helpers/frames.ts';
import {
  ACK,
  type Address,
  type Endpoint,
  FIN,
  grePacket,
  icmpPacket,
  ip4,
  ip6,
  PSH,
  RST,
  SYN,
  tcpPacket,
  udpPacket,
} from '../../test/helpers/packets.ts';
import { isPipelineError } from '../core/errors.ts';
import { LAYER_UDP, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { CIC_FEATURES, type CicMode } from './cic-features.ts';
import { communityId } from './community-id.ts';
import { DEFAULT_PRESET, FLOW_PRESETS, FlowEngine, type FlowEngineOptions, protocolName } from './flow-engine.ts';
import { flowUid } from './flow-key.ts';
import type { FlowEndReason, FlowRecord } from './records.ts';

// ---- time ----

const S = 1_000_000;
/** Milliseconds as µs (integers only, so no float rounding creeps into expected times). */
const ms = (n: number): number => n * 1000;
/** A realistic epoch (2024-05-06 07:08:09 UTC) in µs, so nothing can rely on small timestamps. */
const T0 = Date.UTC(2024, 4, 6, 7, 8, 9) * 1000;

// ---- endpoints ----

/** The client has the larger address, so the initiator is endpoint B of the normalised key. */
const CLIENT: Endpoint = [ip4(10, 0, 0, 2), 40000];
const SERVER: Endpoint = [ip4(10, 0, 0, 1), 80];
/** The same endpoints as records print them (`brief`). */
const C = '10.0.0.2:40000';
const SV = '10.0.0.1:80';
/** An unrelated pair whose packets only move the clock (each call a new flow). */
let clockPort = 1000;
const CLOCK_SRC = ip4(192, 168, 99, 1);
const CLOCK_DST = ip4(192, 168, 99, 2);

// ---- packets (test/helpers/packets.ts) stamped `at` µs after T0 ----

function setTime(p: PacketContext, at: number): PacketContext {
  const ts = T0 + at;
  p.tsSec = Math.floor(ts / S);
  p.tsNanos = (ts % S) * 1000;
  return p;
}

/** TCP segment (20-byte header): 60 bytes on the wire without payload, 54 + payload with. */
const tcp = (at: number, from: Endpoint, to: Endpoint, flags: number, payload = 0): PacketContext =>
  setTime(tcpPacket({ from, to, flags, payload }), at);

/** UDP datagram: 42 + payload bytes over IPv4 (62 for the default 20), 62 + payload over IPv6. */
const udp = (at: number, from: Endpoint, to: Endpoint, payload = 20): PacketContext =>
  setTime(udpPacket({ from, to, payload }), at);

/** ICMP (ICMPv6 for IPv6 addresses) message; 98 bytes over IPv4 with the default 56-byte payload. */
const icmp = (at: number, from: Address, to: Address, type: number, code: number, echoId = -1): PacketContext =>
  setTime(icmpPacket(from, to, { type, code, echoId }), at);

/** GRE packet (protocol 47, no ports): 60 bytes. */
const gre = (at: number, from: Address, to: Address): PacketContext => setTime(grePacket(from, to), at);

/** A UDP packet between two hosts no test flow uses, each on a fresh port: it only moves the clock. */
function clock(at: number): PacketContext {
  return udp(at, [CLOCK_SRC, clockPort++], [CLOCK_DST, 9]);
}

/** A real frame decoded through the dispatcher, stamped `at` µs after T0. */
function decoded(hex: string, at: number): PacketContext {
  return setTime(decodeHex(hex), at);
}

// ---- real frames (hex from the corpus captures named; summaries as tcpdump -nn shows them) ----

// dpkt__http.pcap frame 1: IP 145.254.160.237.3372 > 65.208.228.223.80: Flags [S], seq 951057939,
// win 8760, options [mss 1460,nop,nop,sackOK], length 0 — 62 bytes
const HTTP_SYN =
  'feff200001000000010000000800' +
  '450000300f414000800691eb91fea0ed41d0e4df' +
  '0d2c005038affe130000000070022238c30c0000020405b401010402';

// zeek__icmp_5_pings.pcap frame 1: IP 172.16.133.2 > 172.217.11.78: ICMP echo request, id 1226, seq 1,
// length 64 — 98 bytes
const ECHO_REQUEST =
  'a683e70c9064000c29cf3015080045000054946a40004001bd04ac108502acd90b4e0800ef2404ca00018bcfcf5f00000000db0d' +
  '0f0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637';

// zeek__icmp_5_pings.pcap frame 2: IP 172.217.11.78 > 172.16.133.2: ICMP echo reply, id 1226, seq 1,
// length 64 — 98 bytes
const ECHO_REPLY =
  '000c29cf3015a683e70c9064080045200054000000007101604facd90b4eac1085020000f72404ca00018bcfcf5f00000000db0d' +
  '0f0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637';

// tcpdump__gre_various.pcap frame 12: aa:bb:cc:00:01:00 > aa:bb:cc:00:02:00, ethertype 802.1Q, vlan 1213,
// IP 10.172.64.6 > 10.172.64.7: GREv0, key=0x28, length 8: gre-proto-0x0 — 46 bytes
const VLAN_GRE_KEEPALIVE =
  'aabbcc000200aabbcc000100810004bd080045c0001c00a30000fe2f25eb0aac40060aac40072000000000000028';

// zeek__vxlan.pcap frame 3: IP 192.168.56.11.48134 > 192.168.56.12.4789: VXLAN, flags [I] (0x08), vni 123
// IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 3389, seq 1, length 64 — 148 bytes
const VXLAN_ICMP =
  '080027f21d8c080027ae4d62080045000086d999400040116f65c0a8380bc0a8380cbc0612b500720000080000000000' +
  '7b004a7f013ba271ba092b6ef8be0800450000542f4f40004001f7570a0000010a00000208004c8a0d3d0001a38c7c57' +
  '00000000b5800a0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233' +
  '34353637';

// ppp__ipv6_fragments.pcap frame 2: IP6 fe80::21f:f3ff:fecd:f617 > ff02::fb: frag (0x002c5323:120|120)
const IPV6_LATER_FRAGMENT =
  '3333000000fb001ff3cdf61786dd6000000000802cfffe80000000000000021ff3fffecdf617ff020000000000000000' +
  '0000000000fb11000079002c53236170706c657476c018000c8001255f30303030303030302d303133342d363931362d' +
  '666630342d386335643737646534323733045f7375620d5f686f6d652d73686172696e67c018000c8001055f64616170' +
  'c018000c80010d5f746f7563682d72656d6f7465c018000c8001055f72616f70c018000c8001';

// Crafted: ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28 — 42 bytes
const ARP = 'ffffffffffff0200000000010806' + '0001080006040001' + '0200000000010a000001' + '0000000000000a000002';

// ---- running the engine ----

interface Harness {
  engine: FlowEngine;
  /** Every record emitted so far, in order. */
  out: FlowRecord[];
  /** Feed packets in order; returns the slot of each. */
  feed: (...packets: PacketContext[]) => number[];
}

function harness(options: Omit<FlowEngineOptions, 'onFlow'> = {}): Harness {
  const out: FlowRecord[] = [];
  const engine = new FlowEngine({ ...options, onFlow: (r) => out.push(r) });
  return { engine, out, feed: (...packets) => packets.map((p) => engine.packet(p)) };
}

/** The fields of a record most tests check, with times as µs after T0. */
interface Brief {
  id: number;
  src: string;
  dst: string;
  /** Packets and frame bytes from src to dest, and back. */
  fwd: [number, number];
  bwd: [number, number];
  first: number;
  last: number;
  end: FlowEndReason;
  partial: boolean;
}

/** The expected brief of a flow from CLIENT to SERVER; not partial unless said. */
function clientFlow(b: Omit<Brief, 'src' | 'dst' | 'partial'> & { partial?: boolean }): Brief {
  return { src: C, dst: SV, partial: false, ...b };
}

function brief(r: FlowRecord): Brief {
  return {
    id: r.flow_id,
    src: `${r.src_ip}:${r.src_port}`,
    dst: `${r.dest_ip}:${r.dest_port}`,
    fwd: [r.fwd_packets, r.fwd_bytes],
    bwd: [r.bwd_packets, r.bwd_bytes],
    first: r.first_seen_us - T0,
    last: r.last_seen_us - T0,
    end: r.end_reason,
    partial: r.partial,
  };
}

/** A record without its feature vector, for comparing runs in different feature modes. */
function withoutFeatures(r: FlowRecord): Omit<FlowRecord, 'features'> {
  const { features: _features, ...rest } = r;
  return rest;
}

// ---- tests ----

describe('FlowEngine: one bidirectional TCP conversation', () => {
  it('joins both directions into one flow: src is the initiator, forward and servicePort per packet', () => {
    const { engine, out } = harness();
    const packets = [
      tcp(0, CLIENT, SERVER, SYN),
      tcp(ms(10), SERVER, CLIENT, SYN | ACK),
      tcp(ms(20), CLIENT, SERVER, ACK),
      tcp(ms(30), CLIENT, SERVER, PSH | ACK, 100),
      tcp(ms(45), SERVER, CLIENT, PSH | ACK, 500),
    ];
    const forward: boolean[] = [];
    const service: number[] = [];
    const slots = packets.map((p) => {
      const slot = engine.packet(p);
      forward.push(engine.forward);
      service.push(engine.servicePort);
      return slot;
    });
    assert.ok(slots[0]! >= 0);
    assert.deepEqual(slots, new Array(5).fill(slots[0]), 'every packet lands in the same slot');
    assert.deepEqual(forward, [true, false, true, true, false]);
    assert.deepEqual(service, [80, 80, 80, 80, 80], 'the responder port, whichever side sent');
    assert.equal(out.length, 0, 'nothing is emitted while the flow is open');
    assert.equal(engine.stats.flows_live, 1);
    assert.equal(engine.describe(slots[0]!), '10.0.0.2:40000 <-> 10.0.0.1:80 tcp');

    engine.flushAll();
    assert.equal(out.length, 1);
    assert.match(out[0]!.flow_uid, /^[0-9a-f]{16}$/);
    assert.deepEqual(withoutFeatures(out[0]!), {
      flow_id: 1,
      flow_uid: out[0]!.flow_uid,
      community_id: communityId(4, ip4(10, 0, 0, 2), ip4(10, 0, 0, 1), 6, 40000, 80),
      first_seen_us: T0,
      last_seen_us: T0 + ms(45),
      duration_us: ms(45),
      ip_version: 4,
      protocol: 6,
      protocol_name: 'tcp',
      src_ip: '10.0.0.2',
      src_port: 40000,
      dest_ip: '10.0.0.1',
      dest_port: 80,
      vlan_id: -1,
      tunnel_type: '',
      fwd_packets: 3,
      bwd_packets: 2,
      fwd_bytes: 60 + 60 + 154,
      bwd_bytes: 60 + 554,
      fwd_payload_bytes: 100,
      bwd_payload_bytes: 500,
      fwd_tcp_flags: SYN | ACK | PSH,
      bwd_tcp_flags: SYN | ACK | PSH,
      end_reason: 'end',
      partial: false,
    });
    assert.deepEqual(engine.stats, {
      packets_in_flows: 5,
      packets_unflowed: 0,
      flows_total: 1,
      flows_live: 0,
      flows_ended: 1,
      partial_updates: 0,
      flows_evicted: 0,
    });
    assert.equal(engine.describe(slots[0]!), `flow slot ${slots[0]}`, 'a freed slot describes itself only');
  });

  it('orients the record by the initiator whichever endpoint sorts first in the key', () => {
    // Initiator with the smaller address, and a host talking to itself (ports decide the order).
    const cases: [Endpoint, Endpoint, string, string][] = [
      [[ip4(10, 0, 0, 1), 50000], [ip4(10, 0, 0, 9), 443], '10.0.0.1:50000', '10.0.0.9:443'],
      [[ip4(127, 0, 0, 1), 9000], [ip4(127, 0, 0, 1), 22], '127.0.0.1:9000', '127.0.0.1:22'],
      [[ip4(127, 0, 0, 1), 22], [ip4(127, 0, 0, 1), 9000], '127.0.0.1:22', '127.0.0.1:9000'],
    ];
    for (const [a, b, src, dst] of cases) {
      const { engine, out, feed } = harness();
      feed(tcp(0, a, b, SYN), tcp(ms(1), b, a, SYN | ACK));
      assert.equal(engine.forward, false);
      assert.equal(engine.servicePort, b[1]);
      feed(tcp(ms(2), a, b, ACK, 10));
      assert.equal(engine.forward, true);
      engine.flushAll();
      assert.deepEqual(brief(out[0]!), {
        id: 1,
        src,
        dst,
        fwd: [2, 60 + 64],
        bwd: [1, 60],
        first: 0,
        last: ms(2),
        end: 'end',
        partial: false,
      });
    }
  });

  it('IPv6 UDP: addresses formatted, bytes per direction, describe() brackets the addresses', () => {
    const { engine, out, feed } = harness();
    const client: Endpoint = [ip6(2), 5353];
    const server: Endpoint = [ip6(1), 53];
    const [slot] = feed(udp(0, client, server, 20), udp(ms(3), server, client, 100));
    assert.equal(engine.describe(slot!), '[2001:db8::2]:5353 <-> [2001:db8::1]:53 udp');
    engine.flushAll();
    const r = out[0]!;
    assert.deepEqual(brief(r), {
      id: 1,
      src: '2001:db8::2:5353',
      dst: '2001:db8::1:53',
      fwd: [1, 14 + 40 + 8 + 20],
      bwd: [1, 14 + 40 + 8 + 100],
      first: 0,
      last: ms(3),
      end: 'end',
      partial: false,
    });
    assert.equal(r.ip_version, 6);
    assert.equal(r.protocol_name, 'udp');
    assert.deepEqual([r.fwd_payload_bytes, r.bwd_payload_bytes], [20, 100]);
    assert.deepEqual([r.fwd_tcp_flags, r.bwd_tcp_flags], [0, 0]);
  });

  it('numbers flows in start order; partial updates and final records repeat the id', () => {
    const { engine, out, feed } = harness({ partialEveryS: 1 });
    const other: Endpoint = [ip4(10, 0, 0, 3), 40001];
    feed(udp(0, CLIENT, SERVER), tcp(ms(1), other, SERVER, SYN), tcp(ms(2), SERVER, other, RST | ACK));
    // The TCP flow (id 2) is reset; a new SYN replaces it at once (id 3), before flow 1 ends.
    feed(tcp(ms(3), other, SERVER, SYN), udp(ms(500), SERVER, CLIENT), tcp(ms(600), SERVER, other, SYN | ACK));
    feed(udp(ms(1500), CLIENT, SERVER)); // its sweep publishes updates of flows 1 and 3
    engine.flushAll();
    assert.deepEqual(
      out.map((r) => [r.flow_id, r.end_reason]),
      [
        [2, 'rst'],
        [1, 'update'],
        [3, 'update'],
        [1, 'end'],
        [3, 'end'],
      ],
    );
  });

  it('calls onFlowStart and onFlowEnd with packet times', () => {
    const starts: number[] = [];
    const ends: number[] = [];
    const engine = new FlowEngine({
      onFlow: () => {},
      onFlowStart: (ts) => starts.push(ts - T0),
      onFlowEnd: (ts) => ends.push(ts - T0),
      timeouts: { idleUdpS: 2 },
    });
    engine.packet(udp(0, CLIENT, SERVER));
    engine.packet(udp(ms(500), SERVER, CLIENT));
    engine.packet(clock(ms(3000))); // sweep: the UDP flow is idle
    engine.packet(clock(ms(3200)));
    engine.flushAll();
    assert.deepEqual(starts, [0, ms(3000), ms(3200)]);
    assert.deepEqual(ends, [ms(3000), ms(3200), ms(3200)]);
  });
});

describe('FlowEngine: ending every flow in steps', () => {
  it('flushAllInSteps emits what flushAll does, in the same order, awaiting between steps', async () => {
    // 10,000 live UDP flows: more than two steps' worth of table slots.
    const run = (): Harness => {
      const h = harness();
      for (let i = 0; i < 10_000; i++) {
        const client: Endpoint = [ip4(10, 1, i >> 8, i & 0xff), 20_000 + (i % 1000)];
        h.feed(udp(i, client, SERVER, 20 + (i % 7)), udp(i + 1, SERVER, client, 30));
      }
      return h;
    };
    const whole = run();
    whole.engine.flushAll();
    const stepped = run();
    let steps = 0;
    let seenAtFirstStep = -1;
    await stepped.engine.flushAllInSteps(async () => {
      if (steps++ === 0) seenAtFirstStep = stepped.out.length;
      await Promise.resolve();
    });
    assert.equal(whole.out.length, 10_000);
    assert.ok(steps >= 3, `${steps} steps`);
    // The consumer saw records before the last flow was ended.
    assert.ok(seenAtFirstStep > 0 && seenAtFirstStep < 10_000, `${seenAtFirstStep} at the first step`);
    assert.deepEqual(stepped.out.map(withoutFeatures), whole.out.map(withoutFeatures));
    assert.deepEqual(
      stepped.out.map((r) => Array.from(r.features!)),
      whole.out.map((r) => Array.from(r.features!)),
    );
    assert.equal(stepped.engine.stats.flows_live, 0);
  });
});

describe('FlowEngine: FIN, RST and linger', () => {
  /** Handshake, FIN from the client, FIN from the server, final ACK from the client. */
  const finExchange = (): PacketContext[] => [
    tcp(0, CLIENT, SERVER, SYN),
    tcp(ms(10), SERVER, CLIENT, SYN | ACK),
    tcp(ms(20), CLIENT, SERVER, ACK),
    tcp(ms(1000), CLIENT, SERVER, FIN | ACK),
    tcp(ms(1100), SERVER, CLIENT, FIN | ACK),
    tcp(ms(1200), CLIENT, SERVER, ACK),
  ];
  const finRecord = clientFlow({ id: 1, fwd: [4, 240], bwd: [2, 120], first: 0, last: ms(1200), end: 'fin' });

  it('keeps the final ACK in the flow during linger and ends it "fin" at the first sweep after', () => {
    const { engine, out, feed } = harness(); // nfstream: linger 1 s
    const slots = feed(...finExchange());
    assert.equal(new Set(slots).size, 1, 'the final ACK joins the closed flow');
    assert.equal(out.length, 0);
    engine.sweep(T0 + ms(2200)); // exactly the linger since the last packet: not over yet
    assert.equal(out.length, 0);
    engine.sweep(T0 + ms(2200) + 1);
    assert.deepEqual(out.map(brief), [finRecord]);
    assert.deepEqual(out[0]!.fwd_tcp_flags, FIN | SYN | ACK);
    assert.deepEqual(out[0]!.bwd_tcp_flags, FIN | SYN | ACK);
    assert.equal(engine.stats.flows_live, 0);
    assert.equal(engine.stats.flows_ended, 1);
  });

  it('ends the closed flow at the sweep a later unrelated packet runs', () => {
    const { engine, out, feed } = harness();
    feed(...finExchange());
    feed(clock(ms(1900))); // no sweep (the next is due at 2 s)
    assert.equal(out.length, 0);
    feed(clock(ms(2300)));
    assert.deepEqual(out.map(brief), [finRecord]);
    assert.equal(engine.stats.flows_live, 2, 'the two clock flows');
  });

  it('a packet after linger, before any sweep ran, starts a new flow and the closed one ends "fin"', () => {
    const { engine, out, feed } = harness({ timeouts: { lingerS: 0.5 } });
    feed(
      tcp(0, CLIENT, SERVER, SYN),
      tcp(ms(100), SERVER, CLIENT, SYN | ACK),
      tcp(ms(200), CLIENT, SERVER, FIN | ACK),
      tcp(ms(300), SERVER, CLIENT, FIN | ACK),
      tcp(ms(400), CLIENT, SERVER, ACK),
      tcp(ms(900), CLIENT, SERVER, ACK), // exactly the linger after the last: still the same flow
    );
    assert.equal(out.length, 0);
    feed(tcp(ms(1400), SERVER, CLIENT, ACK)); // the sweep at 1.4 s is exactly 0.5 s after: not over
    assert.equal(out.length, 0);
    feed(tcp(ms(1900) + 1, CLIENT, SERVER, ACK)); // no sweep due until 2.4 s; 0.5 s + 1 µs later
    assert.deepEqual(out.map(brief), [
      clientFlow({ id: 1, fwd: [4, 240], bwd: [3, 180], first: 0, last: ms(1400), end: 'fin' }),
    ]);
    engine.flushAll();
    assert.deepEqual(
      brief(out[1]!),
      clientFlow({ id: 2, fwd: [1, 60], bwd: [0, 0], first: ms(1900) + 1, last: ms(1900) + 1, end: 'end' }),
    );
  });

  it('a new SYN on a closed flow starts a new flow at once', () => {
    const { engine, out, feed } = harness();
    feed(
      tcp(0, CLIENT, SERVER, SYN),
      tcp(ms(10), SERVER, CLIENT, SYN | ACK),
      tcp(ms(20), CLIENT, SERVER, ACK),
      tcp(ms(30), CLIENT, SERVER, FIN | ACK),
      tcp(ms(40), SERVER, CLIENT, FIN | ACK),
      tcp(ms(50), CLIENT, SERVER, ACK),
    );
    assert.equal(out.length, 0);
    feed(tcp(ms(60), CLIENT, SERVER, SYN)); // the same ports reused, well within linger
    assert.deepEqual(out.map(brief), [
      clientFlow({ id: 1, fwd: [4, 240], bwd: [2, 120], first: 0, last: ms(50), end: 'fin' }),
    ]);
    feed(tcp(ms(70), SERVER, CLIENT, SYN | ACK));
    engine.flushAll();
    assert.deepEqual(
      brief(out[1]!),
      clientFlow({ id: 2, fwd: [1, 60], bwd: [1, 60], first: ms(60), last: ms(70), end: 'end' }),
    );
    assert.equal(engine.stats.flows_total, 2);
  });

  it('a half-closed connection (one FIN) is not ended by linger', () => {
    const { engine, out, feed } = harness();
    feed(tcp(0, CLIENT, SERVER, SYN), tcp(ms(10), SERVER, CLIENT, SYN | ACK), tcp(ms(20), CLIENT, SERVER, FIN | ACK));
    engine.sweep(T0 + 10 * S);
    feed(tcp(11 * S, SERVER, CLIENT, PSH | ACK, 10), tcp(11 * S + 1, CLIENT, SERVER, SYN));
    assert.equal(out.length, 0, 'neither the linger nor a new SYN ends a half-closed flow');
    engine.flushAll();
    assert.deepEqual(
      brief(out[0]!),
      clientFlow({ id: 1, fwd: [3, 180], bwd: [2, 124], first: 0, last: 11 * S + 1, end: 'end' }),
    );
  });

  it('RST ends the flow "rst" after the linger', () => {
    const { engine, out, feed } = harness();
    feed(tcp(0, CLIENT, SERVER, SYN), tcp(ms(10), SERVER, CLIENT, RST | ACK), tcp(ms(500), CLIENT, SERVER, ACK));
    assert.equal(out.length, 0, 'the ACK after the RST stays in the flow during linger');
    engine.sweep(T0 + ms(1500));
    assert.equal(out.length, 0);
    engine.sweep(T0 + ms(1500) + 1);
    assert.deepEqual(out.map(brief), [
      clientFlow({ id: 1, fwd: [2, 120], bwd: [1, 60], first: 0, last: ms(500), end: 'rst' }),
    ]);
    assert.equal(out[0]!.fwd_tcp_flags, SYN | ACK);
    assert.equal(out[0]!.bwd_tcp_flags, RST | ACK);
  });

  it('a RST in the first packet, then a SYN: the reset flow ends "rst" at once', () => {
    const { engine, out, feed } = harness();
    feed(tcp(0, CLIENT, SERVER, RST), tcp(ms(5), CLIENT, SERVER, SYN));
    engine.flushAll();
    assert.deepEqual(out.map(brief), [
      clientFlow({ id: 1, fwd: [1, 60], bwd: [0, 0], first: 0, last: 0, end: 'rst' }),
      clientFlow({ id: 2, fwd: [1, 60], bwd: [0, 0], first: ms(5), last: ms(5), end: 'end' }),
    ]);
  });
});

describe('FlowEngine: idle timeout per protocol, on packet time', () => {
  const timeouts = { idleTcpS: 0.2, idleUdpS: 0.3, idleOtherS: 0.4 };
  const kinds: [string, number, (at: number) => PacketContext, string, string][] = [
    ['tcp', 0.2, (at) => tcp(at, CLIENT, SERVER, ACK), C, SV],
    ['udp', 0.3, (at) => udp(at, CLIENT, SERVER), C, SV],
    ['icmp (other)', 0.4, (at) => icmp(at, CLIENT[0], SERVER[0], 8, 0, 7), '10.0.0.2:8', '10.0.0.1:0'],
    ['gre (other)', 0.4, (at) => gre(at, CLIENT[0], SERVER[0]), '10.0.0.2:0', '10.0.0.1:0'],
  ];

  for (const [name, limitS, make, src, dst] of kinds) {
    it(`${name}: a gap of ${limitS} s joins, one more µs starts a new flow (no sweep in between)`, () => {
      // All within the first second: the only sweep ran before the first packet.
      const { engine, out, feed } = harness({ timeouts });
      const L = Math.round(limitS * S);
      const bytes = make(0).frameLength;
      const slots = feed(make(0), make(L));
      assert.equal(slots[0], slots[1]);
      assert.equal(out.length, 0);
      feed(make(2 * L + 1));
      assert.deepEqual(out.map(brief), [
        { id: 1, src, dst, fwd: [2, 2 * bytes], bwd: [0, 0], first: 0, last: L, end: 'idle', partial: false },
      ]);
      engine.flushAll();
      assert.deepEqual(brief(out[1]!), {
        id: 2,
        src,
        dst,
        fwd: [1, bytes],
        bwd: [0, 0],
        first: 2 * L + 1,
        last: 2 * L + 1,
        end: 'end',
        partial: false,
      });
      assert.equal(engine.stats.flows_ended, 2);
    });
  }

  it('the sweep ends idle flows per protocol limit; a later packet starts a new flow', () => {
    const { engine, out, feed } = harness({ timeouts: { idleTcpS: 10, idleUdpS: 5, idleOtherS: 2 } });
    feed(
      tcp(0, CLIENT, SERVER, ACK),
      udp(0, CLIENT, SERVER),
      icmp(0, CLIENT[0], SERVER[0], 8, 0, 7),
      gre(0, CLIENT[0], SERVER[0]),
    );
    const ended = (): string[] => out.filter((r) => r.src_ip === '10.0.0.2').map((r) => r.protocol_name);
    feed(clock(2 * S)); // idle exactly 2 s: not over
    assert.deepEqual(ended(), []);
    feed(clock(ms(3500)));
    assert.deepEqual(ended(), ['icmp', 'gre']);
    feed(clock(5 * S));
    assert.deepEqual(ended(), ['icmp', 'gre']);
    feed(clock(ms(6500)));
    assert.deepEqual(ended(), ['icmp', 'gre', 'udp']);
    feed(clock(10 * S));
    assert.deepEqual(ended(), ['icmp', 'gre', 'udp']);
    feed(clock(ms(11500)));
    assert.deepEqual(ended(), ['icmp', 'gre', 'udp', 'tcp']);
    for (const r of out.filter((x) => x.src_ip === '10.0.0.2')) {
      assert.deepEqual([r.first_seen_us, r.last_seen_us, r.end_reason, r.fwd_packets], [T0, T0, 'idle', 1]);
    }
    const before = engine.stats.flows_total;
    feed(udp(12 * S, CLIENT, SERVER));
    assert.equal(engine.stats.flows_total, before + 1, 'the old UDP flow is gone: a new one starts');
    engine.flushAll();
    const renewed = out.find((r) => r.flow_id === before + 1)!;
    assert.deepEqual(
      brief(renewed),
      clientFlow({ id: before + 1, fwd: [1, 62], bwd: [0, 0], first: 12 * S, last: 12 * S, end: 'end' }),
    );
  });

  it('an idle timeout of 0 never ends a flow (zeek preset: no active timeout either)', () => {
    const { engine, out, feed } = harness({ preset: 'zeek', timeouts: { idleUdpS: 0 } });
    for (let i = 0; i <= 20; i++) feed(udp(i * 1000 * S, CLIENT, SERVER));
    assert.equal(out.length, 0);
    engine.flushAll();
    assert.deepEqual(
      brief(out[0]!),
      clientFlow({ id: 1, fwd: [21, 21 * 62], bwd: [0, 0], first: 0, last: 20_000 * S, end: 'end' }),
    );
  });
});

describe('FlowEngine: active timeout', () => {
  it('ends a flow "active" once its first packet is older than the limit, at lookup or at the sweep', () => {
    const { engine, out, feed } = harness({ timeouts: { activeS: 3 } });
    feed(udp(0, CLIENT, SERVER), udp(S, CLIENT, SERVER), udp(2 * S, SERVER, CLIENT), udp(3 * S, CLIENT, SERVER));
    assert.equal(out.length, 0, 'exactly 3 s after the first packet: still the same flow');
    feed(udp(ms(3500), CLIENT, SERVER)); // no sweep due until 4 s: the lookup ends it
    assert.equal(out.length, 1);
    feed(udp(4 * S, SERVER, CLIENT));
    feed(udp(7 * S, CLIENT, SERVER)); // the sweep at 7 s ends flow 2 (3.5 s old) before this packet
    assert.equal(out.length, 2);
    engine.flushAll();
    assert.deepEqual(out.map(brief), [
      clientFlow({ id: 1, fwd: [3, 186], bwd: [1, 62], first: 0, last: 3 * S, end: 'active' }),
      clientFlow({ id: 2, fwd: [1, 62], bwd: [1, 62], first: ms(3500), last: 4 * S, end: 'active' }),
      clientFlow({ id: 3, fwd: [1, 62], bwd: [0, 0], first: 7 * S, last: 7 * S, end: 'end' }),
    ]);
  });
});

describe('FlowEngine: cic preset (a flow ends at its first FIN)', () => {
  for (const features of ['cic', 'corrected'] as const) {
    it(`ends at the first FIN, that packet included; what follows is a new flow (features ${features})`, () => {
      const { engine, out, feed } = harness({ preset: 'cic', features });
      assert.deepEqual(engine.timeouts, FLOW_PRESETS.cic);
      feed(
        tcp(0, CLIENT, SERVER, SYN),
        tcp(ms(10), SERVER, CLIENT, SYN | ACK),
        tcp(ms(20), CLIENT, SERVER, ACK),
        tcp(ms(30), CLIENT, SERVER, FIN | ACK),
      );
      assert.deepEqual(out.map(brief), [
        clientFlow({ id: 1, fwd: [3, 180], bwd: [1, 60], first: 0, last: ms(30), end: 'fin' }),
      ]);
      assert.equal(out[0]!.fwd_tcp_flags, SYN | ACK | FIN);
      assert.equal(engine.stats.flows_live, 0);
      // The server's FIN opens flow 2 (a FIN as the first packet does not end it); the ACK joins.
      feed(tcp(ms(40), SERVER, CLIENT, FIN | ACK));
      assert.equal(out.length, 1);
      assert.equal(engine.servicePort, 40000);
      feed(tcp(ms(50), CLIENT, SERVER, ACK));
      assert.equal(out.length, 1);
      engine.flushAll();
      assert.deepEqual(brief(out[1]!), {
        id: 2,
        src: SV,
        dst: C,
        fwd: [1, 60],
        bwd: [1, 60],
        first: ms(40),
        last: ms(50),
        end: 'end',
        partial: false,
      });
    });
  }

  it('a second FIN ends a flow that began with a FIN', () => {
    const { out, feed } = harness({ preset: 'cic' });
    feed(tcp(0, CLIENT, SERVER, FIN | ACK), tcp(ms(5), SERVER, CLIENT, FIN | ACK));
    assert.deepEqual(out.map(brief), [
      clientFlow({ id: 1, fwd: [1, 60], bwd: [1, 60], first: 0, last: ms(5), end: 'fin' }),
    ]);
  });

  it('ignores RST: the flow goes on and no linger ends it', () => {
    const { engine, out, feed } = harness({ preset: 'cic' });
    feed(tcp(0, CLIENT, SERVER, SYN), tcp(ms(10), SERVER, CLIENT, RST | ACK), tcp(ms(20), CLIENT, SERVER, SYN));
    engine.sweep(T0 + 60 * S);
    feed(tcp(61 * S, CLIENT, SERVER, ACK));
    assert.equal(out.length, 0);
    engine.flushAll();
    assert.deepEqual(out.map(brief), [
      clientFlow({ id: 1, fwd: [3, 180], bwd: [1, 60], first: 0, last: 61 * S, end: 'end' }),
    ]);
  });

  it('its flow timeout counts from the first packet (120 s)', () => {
    const { out, feed } = harness({ preset: 'cic' });
    for (let t = 0; t <= 130; t += 10) feed(udp(t * S, CLIENT, SERVER));
    assert.deepEqual(out.map(brief), [
      clientFlow({ id: 1, fwd: [13, 13 * 62], bwd: [0, 0], first: 0, last: 120 * S, end: 'active' }),
    ]);
  });
});

describe('FlowEngine: partial updates', () => {
  it('publishes every N s of packet time, only for flows with new packets, under the final flow id', () => {
    const { engine, out, feed } = harness({ partialEveryS: 2 });
    feed(udp(0, CLIENT, SERVER), udp(ms(500), CLIENT, SERVER), udp(ms(1500), CLIENT, SERVER));
    assert.equal(out.length, 0, 'the sweep at 1.5 s is only 1.5 s after the flow began');
    feed(udp(ms(2500), CLIENT, SERVER)); // the sweep at 2.5 s publishes what came before this packet
    const first = clientFlow({
      id: 1,
      fwd: [3, 186],
      bwd: [0, 0],
      first: 0,
      last: ms(1500),
      end: 'update',
      partial: true,
    });
    assert.deepEqual(out.map(brief), [first]);
    feed(udp(3 * S, SERVER, CLIENT));
    feed(clock(4 * S)); // 1.5 s after the last update: none
    assert.equal(out.length, 1);
    feed(clock(5 * S));
    const second: Brief = { ...first, fwd: [4, 248], bwd: [1, 62], last: 3 * S };
    assert.deepEqual(out.map(brief), [first, second]);
    feed(clock(ms(7500)), clock(ms(9500))); // no new packet since the update at 5 s: nothing
    assert.equal(out.length, 2);
    engine.flushAll();
    const finals = out.slice(2).filter((r) => r.src_ip === '10.0.0.2');
    assert.deepEqual(finals.map(brief), [{ ...second, end: 'end', partial: false }]);
    assert.equal(engine.stats.partial_updates, 2, 'the clock flows, one packet each, got none');
    assert.equal(out[1]!.community_id, finals[0]!.community_id);
    assert.equal(out[0]!.features?.length, CIC_FEATURES.length, 'updates carry features too');
  });

  it('partialEveryS 0 (the default) publishes nothing but final records', () => {
    const { engine, out, feed } = harness();
    for (let t = 0; t < 100; t++) feed(udp(t * S, CLIENT, SERVER));
    engine.flushAll();
    assert.deepEqual(
      out.map((r) => [r.end_reason, r.partial, r.fwd_packets]),
      [['end', false, 100]],
    );
    assert.equal(engine.stats.partial_updates, 0);
  });
});

describe('FlowEngine: live-flow cap', () => {
  const flow = (i: number, at: number): PacketContext => udp(at, [ip4(10, 1, 0, i), 5000 + i], SERVER);

  it('evicts the least recently seen flow, counts it and ends it "evicted"', () => {
    // With 4 slots the sampler visits every slot (its low bits cycle), so the choice is exact LRU.
    const { engine, out, feed } = harness({ maxFlows: 4 });
    feed(flow(1, 0), flow(2, ms(1)), flow(3, ms(2)), flow(4, ms(3)), flow(1, ms(4)));
    assert.equal(out.length, 0);
    feed(flow(5, ms(5)));
    assert.deepEqual(out.map(brief), [
      {
        id: 2,
        src: '10.1.0.2:5002',
        dst: SV,
        fwd: [1, 62],
        bwd: [0, 0],
        first: ms(1),
        last: ms(1),
        end: 'evicted',
        partial: false,
      },
    ]);
    feed(flow(6, ms(6)));
    assert.deepEqual(
      out.map((r) => [r.flow_id, r.end_reason]),
      [
        [2, 'evicted'],
        [3, 'evicted'],
      ],
    );
    assert.equal(engine.stats.flows_evicted, 2);
    assert.equal(engine.stats.flows_live, 4);
    engine.flushAll();
    assert.deepEqual(
      out
        .slice(2)
        .map((r) => [r.flow_id, r.fwd_packets, r.end_reason])
        .sort((a, b) => (a[0] as number) - (b[0] as number)),
      [
        [1, 2, 'end'],
        [4, 1, 'end'],
        [5, 1, 'end'],
        [6, 1, 'end'],
      ],
    );
  });

  it('keeps memory bounded under a flood of new flows: every packet is still accounted', () => {
    const cap = 64;
    const { engine, out, feed } = harness({ maxFlows: cap, features: 'none' });
    let maxLive = 0;
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      feed(udp(i, [ip4(10, 2, i >> 8, i & 0xff), 1024 + i], SERVER));
      maxLive = Math.max(maxLive, engine.stats.flows_live);
    }
    assert.equal(maxLive, cap);
    assert.equal(engine.stats.flows_evicted, n - cap);
    assert.equal(out.length, n - cap);
    assert.ok(out.every((r) => r.end_reason === 'evicted'));
    engine.flushAll();
    assert.equal(out.length, n);
    assert.equal(new Set(out.map((r) => r.flow_id)).size, n, 'each flow reported once');
    assert.equal(
      out.reduce((sum, r) => sum + r.fwd_packets + r.bwd_packets, 0),
      n,
    );
    assert.deepEqual([engine.stats.flows_total, engine.stats.flows_ended, engine.stats.packets_in_flows], [n, n, n]);
    // Evictions target old flows: the newest flows all survive to the end.
    const survivors = out.filter((r) => r.end_reason === 'end').map((r) => r.flow_id);
    assert.ok(survivors.includes(n) && survivors.includes(n - 1));
  });

  it('a cap of one flow: each new flow evicts the previous one', () => {
    const { engine, out, feed } = harness({ maxFlows: 1 });
    feed(flow(1, 0), flow(1, 1), flow(2, 2), flow(3, 3));
    engine.flushAll();
    assert.deepEqual(
      out.map((r) => [r.flow_id, r.fwd_packets, r.end_reason]),
      [
        [1, 2, 'evicted'],
        [2, 1, 'evicted'],
        [3, 1, 'end'],
      ],
    );
  });
});

describe('FlowEngine: flushAll', () => {
  it('ends every open flow "end" at the newest packet time, and only once', () => {
    const ends: number[] = [];
    const out: FlowRecord[] = [];
    const engine = new FlowEngine({ onFlow: (r) => out.push(r), onFlowEnd: (ts) => ends.push(ts - T0) });
    engine.packet(tcp(0, CLIENT, SERVER, SYN));
    engine.packet(udp(ms(1), CLIENT, SERVER));
    engine.packet(icmp(ms(2), CLIENT[0], SERVER[0], 8, 0, 1));
    engine.packet(gre(ms(3), CLIENT[0], SERVER[0]));
    engine.flushAll();
    assert.deepEqual(
      out.map((r) => [r.flow_id, r.protocol_name, r.end_reason, r.partial]),
      [
        [1, 'tcp', 'end', false],
        [2, 'udp', 'end', false],
        [3, 'icmp', 'end', false],
        [4, 'gre', 'end', false],
      ],
    );
    assert.deepEqual(ends, [ms(3), ms(3), ms(3), ms(3)]);
    assert.equal(engine.stats.flows_live, 0);
    engine.flushAll();
    assert.equal(out.length, 4, 'a second flush finds nothing open');
  });
});

describe('FlowEngine: ICMP', () => {
  it('echo request and reply (real frames) form one flow; ports carry the first type and code', () => {
    const { engine, out, feed } = harness();
    feed(decoded(ECHO_REQUEST, 0), decoded(ECHO_REPLY, ms(12)));
    assert.equal(engine.forward, false);
    engine.flushAll();
    const r = out[0]!;
    assert.deepEqual(brief(r), {
      id: 1,
      src: '172.16.133.2:8',
      dst: '172.217.11.78:0',
      fwd: [1, 98],
      bwd: [1, 98],
      first: 0,
      last: ms(12),
      end: 'end',
      partial: false,
    });
    assert.deepEqual([r.protocol, r.protocol_name, r.fwd_tcp_flags, r.bwd_tcp_flags], [1, 'icmp', 0, 0]);
    assert.equal(r.community_id, communityId(4, ip4(172, 16, 133, 2), ip4(172, 217, 11, 78), 1, 8, 0));
  });

  it('two echo ids between the same hosts are two flows', () => {
    const { engine, out, feed } = harness();
    const a = CLIENT[0];
    const b = SERVER[0];
    feed(icmp(0, a, b, 8, 0, 100), icmp(1, a, b, 8, 0, 200), icmp(2, b, a, 0, 0, 100), icmp(3, b, a, 0, 0, 200));
    feed(icmp(4, a, b, 8, 0, 100));
    engine.flushAll();
    assert.deepEqual(out.map(brief), [
      {
        id: 1,
        src: '10.0.0.2:8',
        dst: '10.0.0.1:0',
        fwd: [2, 196],
        bwd: [1, 98],
        first: 0,
        last: 4,
        end: 'end',
        partial: false,
      },
      {
        id: 2,
        src: '10.0.0.2:8',
        dst: '10.0.0.1:0',
        fwd: [1, 98],
        bwd: [1, 98],
        first: 1,
        last: 3,
        end: 'end',
        partial: false,
      },
    ]);
  });

  it('a reply seen first makes the replier the source (type 0), as Zeek does', () => {
    const { engine, out, feed } = harness();
    feed(icmp(0, SERVER[0], CLIENT[0], 0, 0, 9), icmp(1, CLIENT[0], SERVER[0], 8, 0, 9));
    engine.flushAll();
    assert.deepEqual([out[0]!.src_ip, out[0]!.src_port, out[0]!.dest_port], ['10.0.0.1', 0, 0]);
    assert.deepEqual([out[0]!.fwd_packets, out[0]!.bwd_packets], [1, 1]);
    assert.equal(out[0]!.community_id, communityId(4, SERVER[0] as number, CLIENT[0] as number, 1, 0, 0));
  });

  it('one-way messages: type and code of the first packet, community id in the sender orientation', () => {
    const { engine, out, feed } = harness();
    // Destination unreachable (3), host unreachable (1), then a port unreachable (3/3) on the same pair.
    feed(icmp(0, SERVER[0], CLIENT[0], 3, 1), icmp(5, SERVER[0], CLIENT[0], 3, 3));
    engine.flushAll();
    const r = out[0]!;
    assert.deepEqual([r.src_ip, r.src_port, r.dest_ip, r.dest_port, r.fwd_packets], ['10.0.0.1', 3, '10.0.0.2', 1, 2]);
    assert.equal(r.community_id, communityId(4, SERVER[0] as number, CLIENT[0] as number, 1, 3, 1));
    assert.notEqual(r.community_id, communityId(4, CLIENT[0] as number, SERVER[0] as number, 1, 3, 1));
  });

  it('ICMPv6 echo', () => {
    const { engine, out, feed } = harness();
    feed(icmp(0, ip6(2), ip6(1), 128, 0, 1), icmp(10, ip6(1), ip6(2), 129, 0, 1));
    engine.flushAll();
    const r = out[0]!;
    assert.deepEqual(
      [r.protocol_name, r.src_ip, r.src_port, r.dest_ip, r.dest_port, r.fwd_packets, r.bwd_packets],
      ['icmpv6', '2001:db8::2', 128, '2001:db8::1', 0, 1, 1],
    );
    assert.equal(r.community_id, communityId(6, new Uint32Array(ip6(2)), new Uint32Array(ip6(1)), 58, 128, 0));
  });
});

describe('FlowEngine: VLAN and tunnel context', () => {
  it('keeps the VLAN id of a real 802.1Q frame (GRE keepalive: protocol 47, no ports)', () => {
    const { engine, out, feed } = harness();
    feed(decoded(VLAN_GRE_KEEPALIVE, 0));
    engine.flushAll();
    const r = out[0]!;
    assert.deepEqual(
      [r.vlan_id, r.tunnel_type, r.protocol, r.protocol_name, r.src_ip, r.src_port, r.dest_ip, r.dest_port],
      [1213, '', 47, 'gre', '10.172.64.6', 0, '10.172.64.7', 0],
    );
    assert.deepEqual([r.fwd_packets, r.fwd_bytes], [1, 46]);
  });

  it('keeps the tunnel type of a real VXLAN frame; the flow is the inner ICMP one', () => {
    const { engine, out, feed } = harness();
    feed(decoded(VXLAN_ICMP, 0));
    engine.flushAll();
    const r = out[0]!;
    assert.deepEqual(
      [r.tunnel_type, r.vlan_id, r.protocol_name, r.src_ip, r.src_port, r.dest_ip, r.fwd_bytes],
      ['vxlan', -1, 'icmp', '10.0.0.1', 8, '10.0.0.2', 148],
    );
  });

  it('outermost VLAN of the first packet (0 and 4095 included); unknown tunnel kinds read "other"', () => {
    const tagged = (at: number, vlans: number[], tunnel = ''): PacketContext => {
      const p = udp(at, CLIENT, SERVER);
      p.vlanCount = vlans.length;
      p.vlanIds.set(vlans);
      if (tunnel !== '') {
        p.tunnelDepth = 1;
        p.tunnel.type = tunnel;
      }
      return p;
    };
    const cases: [number[], string, number, string][] = [
      [[100, 200], 'gre', 100, 'gre'],
      [[0], 'geneve', 0, 'geneve'],
      [[4095], 'teredo', 4095, 'teredo'],
      [[], 'some-new-tunnel', -1, 'other'],
    ];
    for (const [vlans, tunnel, vlanId, tunnelType] of cases) {
      const { engine, out, feed } = harness();
      feed(tagged(0, vlans, tunnel), tagged(1, [7]));
      engine.flushAll();
      assert.deepEqual(
        [out[0]!.vlan_id, out[0]!.tunnel_type, out[0]!.fwd_packets],
        [vlanId, tunnelType, 2],
        `${vlans} ${tunnel}`,
      );
    }
  });
});

describe('FlowEngine: packets that join no flow', () => {
  it('later IP fragments and non-IP frames return -1; only the IP ones count as unflowed', () => {
    const { engine, out, feed } = harness();
    const v4Fragment = udp(ms(2), CLIENT, SERVER);
    v4Fragment.layers &= ~layerBit(LAYER_UDP);
    v4Fragment.isLaterFragment = true;
    v4Fragment.ipFragOffset = 185;
    v4Fragment.srcPort = v4Fragment.dstPort = 0;
    const v6Fragment = decoded(IPV6_LATER_FRAGMENT, ms(1));
    assert.ok(v6Fragment.isLaterFragment, 'the real frame decodes as a later fragment');
    assert.deepEqual(feed(decoded(ARP, 0), v6Fragment, v4Fragment), [-1, -1, -1]);
    assert.deepEqual(engine.stats, {
      packets_in_flows: 0,
      packets_unflowed: 2,
      flows_total: 0,
      flows_live: 0,
      flows_ended: 0,
      partial_updates: 0,
      flows_evicted: 0,
    });
    engine.flushAll();
    assert.equal(out.length, 0);
  });

  it('non-IP frames still move the clock: their sweep ends idle flows', () => {
    const { engine, out, feed } = harness({ timeouts: { idleUdpS: 5 } });
    feed(udp(0, CLIENT, SERVER));
    feed(decoded(ARP, 6 * S));
    assert.equal(engine.now, T0 + 6 * S);
    assert.deepEqual(
      out.map((r) => [r.end_reason, r.last_seen_us - T0]),
      [['idle', 0]],
    );
  });
});

describe('FlowEngine: feature modes', () => {
  const conversation = (): PacketContext[] => [
    tcp(0, CLIENT, SERVER, SYN),
    tcp(ms(10), SERVER, CLIENT, SYN | ACK),
    tcp(ms(20), CLIENT, SERVER, PSH | ACK, 300),
    udp(ms(30), [ip6(2), 5353], [ip6(1), 53], 40),
    udp(ms(40), [ip6(1), 53], [ip6(2), 5353], 120),
    icmp(ms(50), CLIENT[0], SERVER[0], 8, 0, 3),
    icmp(ms(60), SERVER[0], CLIENT[0], 0, 0, 3),
    gre(ms(70), CLIENT[0], SERVER[0]),
    tcp(ms(6000), SERVER, CLIENT, PSH | ACK, 1200), // its sweep publishes updates of the first three
    tcp(ms(7000), CLIENT, SERVER, FIN | ACK),
    tcp(ms(7010), SERVER, CLIENT, FIN | ACK),
    tcp(ms(7020), CLIENT, SERVER, ACK),
  ];
  const run = (features: CicMode | 'none'): FlowRecord[] => {
    const { engine, out, feed } = harness({ features, partialEveryS: 3 });
    feed(...conversation());
    engine.flushAll();
    return out;
  };

  it("'none' and 'corrected' give the same records apart from the features", () => {
    const none = run('none');
    const corrected = run('corrected');
    assert.deepEqual(
      none.map((r) => [r.flow_id, r.end_reason]),
      [
        [1, 'update'],
        [2, 'update'],
        [3, 'update'],
        [1, 'end'],
        [2, 'end'],
        [3, 'end'],
        [4, 'end'],
      ],
    );
    assert.deepEqual(none.map(withoutFeatures), corrected.map(withoutFeatures));
    assert.ok(none.every((r) => r.features === null));
    for (const r of corrected) {
      assert.equal(r.features?.length, CIC_FEATURES.length);
      assert.equal(r.features![0], r.duration_us, 'flow duration, first feature');
      assert.equal(r.features![1], r.fwd_packets);
      assert.equal(r.features![2], r.bwd_packets);
    }
  });

  it("'cic' gives the same packet counts, frame bytes and times", () => {
    const pick = (r: FlowRecord): unknown[] => [
      r.flow_id,
      r.fwd_packets,
      r.bwd_packets,
      r.fwd_bytes,
      r.bwd_bytes,
      r.first_seen_us,
      r.last_seen_us,
      r.end_reason,
    ];
    const cic = run('cic');
    assert.deepEqual(cic.map(pick), run('none').map(pick));
    assert.ok(cic.every((r) => r.features?.length === CIC_FEATURES.length));
  });

  it('bytes of state per flow: the features cost extra, all within the 400-byte budget', () => {
    const per = (features: CicMode | 'none'): number => new FlowEngine({ features, onFlow: () => {} }).bytesPerFlow;
    assert.ok(per('none') < per('corrected'));
    assert.ok(per('corrected') <= 400, `corrected: ${per('corrected')} B/flow`);
    assert.ok(per('cic') <= 400, `cic: ${per('cic')} B/flow`);
  });
});

describe('FlowEngine: timestamps out of order', () => {
  for (const features of ['none', 'corrected', 'cic'] as const) {
    it(`a late packet never moves last_seen backwards nor splits the flow (features ${features})`, () => {
      const { engine, out, feed } = harness({ features, timeouts: { idleUdpS: 0.3 } });
      feed(udp(0, CLIENT, SERVER), udp(ms(250), SERVER, CLIENT), udp(ms(100), CLIENT, SERVER));
      assert.equal(engine.now, T0 + ms(250), 'the clock stays at the newest packet');
      assert.equal(engine.packetUs, T0 + ms(100), "packetUs is the last packet's own time");
      // 0.25 s after the newest packet (0.4 s after the late one): still the same flow.
      feed(udp(ms(500), CLIENT, SERVER));
      assert.equal(out.length, 0);
      feed(udp(ms(450), SERVER, CLIENT));
      engine.flushAll();
      assert.deepEqual(out.map(brief), [
        clientFlow({ id: 1, fwd: [3, 186], bwd: [2, 124], first: 0, last: ms(500), end: 'end' }),
      ]);
      assert.equal(out[0]!.duration_us, ms(500));
    });
  }
});

describe('FlowEngine: options', () => {
  const make = (options: Partial<FlowEngineOptions>): FlowEngine => new FlowEngine({ onFlow: () => {}, ...options });

  it('defaults to the nfstream preset; overrides replace single timeouts', () => {
    assert.equal(DEFAULT_PRESET, 'nfstream');
    assert.deepEqual(make({}).timeouts, FLOW_PRESETS.nfstream);
    assert.deepEqual(make({ preset: 'zeek', timeouts: { idleUdpS: 7, lingerS: -1 } }).timeouts, {
      ...FLOW_PRESETS.zeek,
      idleUdpS: 7,
      lingerS: -1,
    });
    for (const name of Object.keys(FLOW_PRESETS)) assert.deepEqual(make({ preset: name }).timeouts, FLOW_PRESETS[name]);
    assert.equal(make({}).featureMode, 'corrected');
  });

  it('throws RangeError with a clear message for bad options', () => {
    const cases: [Partial<FlowEngineOptions>, RegExp][] = [
      [{ preset: 'netflow' }, /^RangeError: unknown flow preset 'netflow' \(known: cic, nfstream, zeek, suricata\)$/],
      [{ timeouts: { idleTcpS: -1 } }, /^RangeError: flow timeout idleTcpS must be a number >= 0, got -1$/],
      [{ timeouts: { activeS: Number.NaN } }, /^RangeError: flow timeout activeS must be a number >= 0, got NaN$/],
      [{ timeouts: { idleUdpS: Infinity } }, /flow timeout idleUdpS must be a number >= 0, got Infinity/],
      [{ timeouts: { lingerS: -2 } }, /flow timeout lingerS must be a number >= 0, got -2/],
      [{ timeouts: { activityS: -0.5 } }, /flow timeout activityS must be a number >= 0, got -0.5/],
      [{ partialEveryS: -1 }, /^RangeError: partial update interval must be >= 0, got -1$/],
      [{ partialEveryS: Number.NaN }, /partial update interval must be >= 0, got NaN/],
      [{ maxFlows: 0 }, /^RangeError: max flows must be an integer >= 1, got 0$/],
      [{ maxFlows: 2.5 }, /max flows must be an integer >= 1, got 2.5/],
      [{ maxFlows: -4 }, /max flows must be an integer >= 1, got -4/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => make(options),
        (e: unknown) => e instanceof RangeError && message.test(String(e)),
      );
    }
  });

  it('accepts linger -1 and zero timeouts', () => {
    assert.equal(make({ timeouts: { lingerS: -1, idleTcpS: 0, activeS: 0 }, partialEveryS: 0 }).timeouts.lingerS, -1);
  });
});

describe('FlowEngine: community id', () => {
  it('equals communityId() of the initiator orientation (real SYN frame, IPv4 TCP)', () => {
    const { engine, out, feed } = harness();
    const syn = decoded(HTTP_SYN, 0);
    feed(syn);
    engine.flushAll();
    const r = out[0]!;
    assert.deepEqual(
      [r.src_ip, r.src_port, r.dest_ip, r.dest_port, r.fwd_bytes],
      ['145.254.160.237', 3372, '65.208.228.223', 80, 62],
    );
    assert.equal(r.community_id, communityId(4, syn.src4, syn.dst4, 6, 3372, 80));
  });

  it('is the same for a flow started from either side (TCP, UDP over IPv6)', () => {
    const ids = (first: 'client' | 'server', v6: boolean): string[] => {
      const c: Endpoint = v6 ? [ip6(2), 40000] : CLIENT;
      const s: Endpoint = v6 ? [ip6(1), 80] : SERVER;
      const { engine, out, feed } = harness();
      const [a, b] = first === 'client' ? [c, s] : [s, c];
      feed(tcp(0, a, b, SYN), udp(1, a, b));
      engine.flushAll();
      for (const r of out) {
        const v = r.ip_version === 4 ? 4 : 6;
        const addr = (e: Endpoint): number | Uint32Array =>
          typeof e[0] === 'number' ? e[0] : new Uint32Array(e[0] as readonly number[]);
        assert.equal(r.community_id, communityId(v, addr(a), addr(b), r.protocol, a[1], b[1]));
      }
      return out.map((r) => r.community_id);
    };
    for (const v6 of [false, true]) assert.deepEqual(ids('client', v6), ids('server', v6));
  });

  it('protocolName names the common protocols, else the number', () => {
    assert.deepEqual([6, 17, 1, 58, 132, 47, 50].map(protocolName), [
      'tcp',
      'udp',
      'icmp',
      'icmpv6',
      'sctp',
      'gre',
      '50',
    ]);
  });
});

describe('FlowEngine: flow uid', () => {
  it('is the same for the same flow in every engine, and differs between flows', () => {
    const other = (at: number): PacketContext => udp(at, [CLOCK_SRC, 7], [CLOCK_DST, 9]);
    const run = (): FlowRecord[] => {
      const { engine, out, feed } = harness({ partialEveryS: 1 });
      feed(tcp(0, CLIENT, SERVER, SYN), tcp(ms(10), SERVER, CLIENT, SYN | ACK), other(2 * S));
      feed(tcp(3 * S, CLIENT, SERVER, ACK), udp(3 * S, CLIENT, SERVER), other(500 * S));
      engine.flushAll();
      return out;
    };
    const a = run();
    const b = run();
    assert.deepEqual(
      a.map((r) => r.flow_uid),
      b.map((r) => r.flow_uid),
    );
    const tcpRecords = a.filter((r) => r.protocol === 6);
    assert.ok(tcpRecords.length >= 2 && tcpRecords.some((r) => r.partial), 'a partial update and the final record');
    assert.equal(new Set(tcpRecords.map((r) => r.flow_uid)).size, 1, 'partial updates repeat the uid');
    const finals = a.filter((r) => !r.partial);
    assert.equal(new Set(finals.map((r) => r.flow_uid)).size, finals.length);
  });

  it('hashes key, context, first-seen time and lateness with a fixed seed', () => {
    const words = Uint32Array.from([0x406, 0x0a000001, 0, 0, 0, 0x0a000002, 0, 0, 0, (80 << 16) | 40000]);
    const uid = flowUid(words, 0, 0, T0, 0);
    assert.match(uid, /^[0-9a-f]{16}$/);
    assert.equal(flowUid(Uint32Array.from([7, ...words]), 1, 0, T0, 0), uid, 'reads the words at `at`');
    const variants = [
      flowUid(words, 0, 1, T0, 0),
      flowUid(words, 0, 1 << 17, T0, 0),
      flowUid(words, 0, 0, T0 + 1, 0),
      flowUid(words, 0, 0, T0 + 2 ** 32, 0),
      flowUid(words, 0, 0, T0, 1),
      flowUid(
        Uint32Array.from(words, (w, i) => (i === 9 ? w + 1 : w)),
        0,
        0,
        T0,
        0,
      ),
    ];
    assert.equal(new Set([uid, ...variants]).size, variants.length + 1);
    // Not the per-process table seed: a fresh process computes the same uid.
    const child = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { flowUid } from ${JSON.stringify(new URL('./flow-key.ts', import.meta.url).href)};` +
          `process.stdout.write(flowUid(Uint32Array.from(${JSON.stringify([...words])}), 0, 0, ${T0}, 0));`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(child, uid);
  });

  it('differs for flows of one key that start in the same microsecond (restart index)', () => {
    // The cic preset ends a flow at its first FIN: three flows of one key, all at the same time.
    const { engine, out, feed } = harness({ preset: 'cic', features: 'none' });
    for (let i = 0; i < 3; i++) feed(tcp(ms(5), CLIENT, SERVER, SYN), tcp(ms(5), CLIENT, SERVER, FIN | ACK));
    feed(tcp(ms(5), CLIENT, SERVER, SYN));
    engine.flushAll();
    assert.deepEqual(
      out.map((r) => [r.first_seen_us - T0, r.end_reason, r.vlan_id, r.tunnel_type]),
      [
        [ms(5), 'fin', -1, ''],
        [ms(5), 'fin', -1, ''],
        [ms(5), 'fin', -1, ''],
        [ms(5), 'end', -1, ''],
      ],
    );
    assert.equal(new Set(out.map((r) => r.flow_uid)).size, 4);
  });

  it('differs for a flow that starts on a late packet at the time of an earlier one', () => {
    const { engine, out, feed } = harness({ features: 'none', timeouts: { idleUdpS: 1 } });
    feed(udp(0, CLIENT, SERVER), clock(5 * S), udp(0, CLIENT, SERVER));
    engine.flushAll();
    const mine = out.filter((r) => r.src_port === 40000);
    assert.deepEqual(
      mine.map((r) => [r.first_seen_us - T0, r.end_reason]),
      [
        [0, 'idle'],
        [0, 'end'],
      ],
    );
    assert.notEqual(mine[0]!.flow_uid, mine[1]!.flow_uid);
  });
});

describe('FlowEngine: snapshot and restore', () => {
  /** An engine with a few open flows of each kind, and its image. */
  function busy(options: Omit<FlowEngineOptions, 'onFlow'> = {}): { engine: FlowEngine; image: Uint8Array } {
    const { engine, feed } = harness({ partialEveryS: 1, ...options });
    feed(tcp(0, CLIENT, SERVER, SYN), tcp(ms(10), SERVER, CLIENT, SYN | ACK), tcp(ms(20), CLIENT, SERVER, ACK, 300));
    feed(udp(ms(30), [ip4(10, 0, 0, 3), 5353], SERVER), icmp(ms(40), ip6(1), ip6(2), 128, 0, 7));
    feed(clock(1500 * 1000));
    return { engine, image: engine.snapshot() };
  }

  function isSnapshotError(pattern: RegExp) {
    return (err: unknown): boolean => {
      assert.ok(isPipelineError(err), `expected a PipelineError, got ${String(err)}`);
      assert.equal(err.code, 'PCS_SNAPSHOT');
      assert.match(err.message, pattern);
      return true;
    };
  }

  /** `image` with `edit` applied and its CRC-32 made right again. */
  function forged(image: Uint8Array, edit: (dv: DataView, b: Uint8Array) => void): Uint8Array {
    const b = image.slice();
    const dv = new DataView(b.buffer);
    edit(dv, b);
    dv.setUint32(b.length - 4, crc32(b.subarray(0, b.length - 4)), true);
    return b;
  }

  it('goes on where the snapshot left off; the snapshot changes and emits nothing', () => {
    const a = busy();
    const before = a.engine.snapshot();
    assert.ok(Buffer.from(before).equals(Buffer.from(a.image)), 'taking a snapshot changes nothing');
    const out: FlowRecord[] = [];
    const b = FlowEngine.restore(a.image, { partialEveryS: 1, onFlow: (r) => out.push(r) });
    assert.equal(out.length, 0);
    assert.deepEqual(b.stats, a.engine.stats);
    assert.equal(b.now, a.engine.now);
    assert.equal(b.stats.flows_live, 4);
    // A packet of an open flow joins it; a new flow gets the next id.
    b.packet(tcp(1600 * 1000, SERVER, CLIENT, ACK, 100));
    assert.equal(b.forward, false);
    b.packet(udp(1700 * 1000, [ip4(10, 9, 9, 9), 1], SERVER));
    b.flushAll();
    const tcpFlow = out.find((r) => r.protocol === 6 && !r.partial)!;
    assert.deepEqual(
      brief(tcpFlow),
      clientFlow({ id: 1, fwd: [2, 60 + 354], bwd: [2, 60 + 154], first: 0, last: ms(1600), end: 'end' }),
    );
    assert.equal(Math.max(...out.map((r) => r.flow_id)), 5);
    // A Buffer at an offset inside a larger allocation reads the same.
    const pool = Buffer.alloc(a.image.length + 13);
    pool.set(a.image, 13);
    assert.ok(
      Buffer.from(FlowEngine.restore(pool.subarray(13), { partialEveryS: 1, onFlow: () => {} }).snapshot()).equals(
        Buffer.from(a.image),
      ),
    );
  });

  it('holds only live flows: an empty engine is header only, size grows per flow', () => {
    const empty = new FlowEngine({ onFlow: () => {} }).snapshot();
    const { engine, image } = busy({ partialEveryS: 0 });
    const perFlow = (image.length - empty.length) / engine.stats.flows_live;
    assert.ok(Number.isInteger(perFlow) && perFlow > 300 && perFlow <= 400, `${perFlow} bytes a flow`);
    assert.ok(empty.length < 200);
  });

  it('refuses other settings, naming what differs', () => {
    const { image } = busy();
    assert.throws(
      () => FlowEngine.restore(image, { partialEveryS: 1, features: 'cic', onFlow: () => {} }),
      isSnapshotError(/features corrected \(snapshot\) vs cic/),
    );
    assert.throws(
      () => FlowEngine.restore(image, { partialEveryS: 1, preset: 'zeek', onFlow: () => {} }),
      isSnapshotError(/idleTcpS 120 \(snapshot\) vs 300.*lingerS 1 \(snapshot\) vs 5/),
    );
    assert.throws(
      () => FlowEngine.restore(image, { partialEveryS: 1, timeouts: { activityS: 6 }, onFlow: () => {} }),
      isSnapshotError(/activityS 5 \(snapshot\) vs 6/),
    );
    assert.throws(
      () => FlowEngine.restore(image, { onFlow: () => {} }),
      isSnapshotError(/partialEveryS 1 \(snapshot\) vs 0/),
    );
    // The same timeouts spelt out instead of a preset name are the same settings.
    FlowEngine.restore(image, { preset: 'zeek', timeouts: FLOW_PRESETS.nfstream, partialEveryS: 1, onFlow: () => {} });
    // Bad options are the constructor's errors.
    assert.throws(() => FlowEngine.restore(image, { preset: 'nope', onFlow: () => {} }), /unknown flow preset/);
  });

  it('refuses truncated, corrupt and foreign bytes without crashing', () => {
    const { image } = busy();
    const opts = { partialEveryS: 1, onFlow: () => assert.fail('nothing may be emitted') };
    for (let n = 0; n < image.length; n += n < 200 ? 1 : 37) {
      assert.throws(() => FlowEngine.restore(image.subarray(0, n), opts), isSnapshotError(/truncated|corrupt|magic/));
    }
    for (let i = 0; i < image.length; i += 3) {
      const b = image.slice();
      b[i]! ^= 1 << (i % 8);
      assert.throws(() => FlowEngine.restore(b, opts), isSnapshotError(/./), `bit flipped in byte ${i}`);
    }
    const longer = new Uint8Array(image.length + 8);
    longer.set(image);
    assert.throws(() => FlowEngine.restore(longer, opts), isSnapshotError(/corrupt/));
    assert.throws(
      () => FlowEngine.restore(Buffer.from('{"not":"a snapshot"}'.repeat(10)), opts),
      isSnapshotError(/bad magic/),
    );
    assert.throws(() => FlowEngine.restore('PCSF' as unknown as Uint8Array, opts), isSnapshotError(/Uint8Array/));
    assert.throws(
      () =>
        FlowEngine.restore(
          forged(image, (dv) => dv.setUint16(4, 9, true)),
          opts,
        ),
      isSnapshotError(/format 9, this pcapstream reads format 1/),
    );
  });

  it('checks counts, keys and values before allocating, even under a valid checksum', () => {
    const { engine, image } = busy();
    const opts = { partialEveryS: 1, onFlow: () => assert.fail('nothing may be emitted') };
    const header = image.length - 4 - engine.stats.flows_live * new DataView(image.buffer).getUint32(100, true);
    assert.equal(header, 168);
    // A huge flow count: refused at once by the length check (no 4-billion-flow table).
    assert.throws(
      () =>
        FlowEngine.restore(
          forged(image, (dv) => dv.setUint32(104, 0xffffffff, true)),
          opts,
        ),
      isSnapshotError(/corrupt: \d+ bytes for 4294967295 flows/),
    );
    assert.throws(
      () =>
        FlowEngine.restore(
          forged(image, (dv) => dv.setUint32(100, 1, true)),
          opts,
        ),
      isSnapshotError(/corrupt/),
    );
    assert.throws(
      () =>
        FlowEngine.restore(
          forged(image, (dv) => dv.setFloat64(88, Number.NaN, true)),
          opts,
        ),
      isSnapshotError(/bad clock, flow id or counters/),
    );
    assert.throws(
      () =>
        FlowEngine.restore(
          forged(image, (dv) => dv.setFloat64(112 + 3 * 8, 5, true)),
          opts,
        ),
      isSnapshotError(/bad clock, flow id or counters/),
      'flows_live must match the records',
    );
    const flowBytes = new DataView(image.buffer).getUint32(100, true);
    // The second flow's key made equal to the first's.
    assert.throws(
      () =>
        FlowEngine.restore(
          forged(image, (_, b) => b.copyWithin(header + flowBytes, header, header + 40)),
          opts,
        ),
      isSnapshotError(/flow 1 repeats the key of another/),
    );
    // A dead state word, an unknown IP version.
    assert.throws(
      () =>
        FlowEngine.restore(
          forged(image, (dv) => dv.setUint32(header + 40, 0, true)),
          opts,
        ),
      isSnapshotError(/flow 0 has an invalid key or state/),
    );
    assert.throws(
      () =>
        FlowEngine.restore(
          forged(image, (dv) => dv.setUint32(header, 0x511, true)),
          opts,
        ),
      isSnapshotError(/flow 0 has an invalid key or state/),
    );
    assert.throws(
      () =>
        FlowEngine.restore(
          forged(image, (_, b) => (b[6] = 7)),
          opts,
        ),
      isSnapshotError(/feature mode 7/),
    );
  });

  it('holds every flow of the snapshot, then evicts down to a smaller cap', () => {
    const { engine, image } = busy();
    const live = engine.stats.flows_live;
    const out: FlowRecord[] = [];
    const b = FlowEngine.restore(image, { partialEveryS: 1, maxFlows: 2, onFlow: (r) => out.push(r) });
    assert.equal(b.stats.flows_live, 2);
    assert.equal(b.stats.flows_evicted, live - 2);
    assert.deepEqual(
      out.map((r) => r.end_reason),
      new Array(live - 2).fill('evicted'),
    );
    // The cap holds from then on: a new flow evicts another.
    b.packet(udp(2 * S, [ip4(10, 9, 9, 9), 1], SERVER));
    assert.equal(b.stats.flows_live, 2);
    assert.equal(b.stats.flows_evicted, live - 1);
    // A larger cap keeps them all.
    const c = FlowEngine.restore(image, { partialEveryS: 1, maxFlows: 1000, onFlow: () => assert.fail('evicted') });
    assert.equal(c.stats.flows_live, live);
  });

  it('carries the restart index memory: the split run gives the uninterrupted uids', () => {
    const packets = (): PacketContext[] => [
      tcp(ms(5), CLIENT, SERVER, SYN),
      tcp(ms(5), CLIENT, SERVER, FIN | ACK),
      tcp(ms(5), CLIENT, SERVER, SYN),
      tcp(ms(5), CLIENT, SERVER, FIN | ACK),
      tcp(ms(5), CLIENT, SERVER, SYN),
    ];
    const whole = harness({ preset: 'cic' });
    whole.feed(...packets());
    whole.engine.flushAll();
    const out: FlowRecord[] = [];
    const a = new FlowEngine({ preset: 'cic', onFlow: (r) => out.push(r) });
    const ps = packets();
    for (const p of ps.slice(0, 2)) a.packet(p);
    const b = FlowEngine.restore(a.snapshot(), { preset: 'cic', onFlow: (r) => out.push(r) });
    for (const p of ps.slice(2)) b.packet(p);
    b.flushAll();
    assert.deepEqual(
      out.map((r) => r.flow_uid),
      whole.out.map((r) => r.flow_uid),
    );
    assert.equal(new Set(out.map((r) => r.flow_uid)).size, 3);
  });
});
