import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeHex } from '../../test/helpers/frames.ts';
import { isPipelineError } from '../core/errors.ts';
import {
  LAYER_ARP,
  LAYER_DNS,
  LAYER_ETHERNET,
  LAYER_ICMP,
  LAYER_IPV4,
  LAYER_IPV6,
  LAYER_TCP,
  LAYER_UDP,
  layerBit,
} from '../core/layers.ts';
import { PacketContext } from '../core/packet.ts';
import { decodeFrame } from '../decode/dispatch.ts';
import { formatIPv4, formatIPv6 } from '../decode/format.ts';
import { readCapture } from '../sources/capture.ts';
import { synthesize } from '../synth/index.ts';
import { FlowEngine } from './flow-engine.ts';
import { METRIC_PROTOCOLS, type MetricsOptions, RollingMetrics } from './metrics.ts';
import type { MetricWindow } from './records.ts';

const S = 1_000_000;
/** 2025-01-01T00:00:00Z in µs: a multiple of every window length used here. */
const T0 = 1735689600 * S;

interface Pkt {
  v?: 0 | 4 | 6;
  src?: number | number[];
  dst?: number | number[];
  proto?: number;
  sp?: number;
  dp?: number;
  len?: number;
  tcpFlags?: number;
  dnsFlags?: number;
  arp?: boolean;
  icmpType?: number;
  echoId?: number;
  anomalies?: string[];
}

/** A decoded-looking packet with only the fields the metrics read. */
function pkt(o: Pkt = {}): PacketContext {
  const p = new PacketContext();
  p.frameLength = o.len ?? 100;
  p.layers = layerBit(LAYER_ETHERNET);
  const v = o.v ?? 4;
  if (v === 0) {
    if (o.arp) p.layers |= layerBit(LAYER_ARP);
  } else {
    p.ipVersion = v;
    p.layers |= layerBit(v === 4 ? LAYER_IPV4 : LAYER_IPV6);
    if (v === 4) {
      p.src4 = (o.src as number | undefined) ?? 0x0a000001;
      p.dst4 = (o.dst as number | undefined) ?? 0x0a000002;
    } else {
      p.src6.set((o.src as number[] | undefined) ?? [0x20010db8, 0, 0, 1]);
      p.dst6.set((o.dst as number[] | undefined) ?? [0x20010db8, 0, 0, 2]);
    }
    p.protocol = o.proto ?? 6;
    p.srcPort = o.sp ?? 40000;
    p.dstPort = o.dp ?? 443;
    if (p.protocol === 6) {
      p.layers |= layerBit(LAYER_TCP);
      p.tcpFlags = o.tcpFlags ?? 0x10;
    } else if (p.protocol === 17) {
      p.layers |= layerBit(LAYER_UDP);
    } else if (p.protocol === 1) {
      p.layers |= layerBit(LAYER_ICMP);
      p.icmpType = o.icmpType ?? 8;
      p.icmpEchoId = o.echoId ?? -1;
      p.srcPort = p.dstPort = 0;
    }
    if (o.dnsFlags !== undefined) {
      p.layers |= layerBit(LAYER_DNS);
      p.dnsFlags = o.dnsFlags;
      p.dnsRcode = o.dnsFlags & 0xf;
    }
  }
  for (const code of o.anomalies ?? []) p.anomaly(code);
  return p;
}

function collect(options: Partial<MetricsOptions> = {}): { m: RollingMetrics; out: MetricWindow[] } {
  const out: MetricWindow[] = [];
  const m = new RollingMetrics({ ...options, onWindow: (w) => out.push(w) });
  return { m, out };
}

const brief = (w: MetricWindow): [number, number, number] => [w.window_s, (w.start_us - T0) / S, w.packets];

const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

// Real frames (from the decoder tests), as tcpdump shows them:
// IP 145.254.160.237.3372 > 65.208.228.223.80: Flags [S], seq 951057939, win 8760,
// options [mss 1460,nop,nop,sackOK], length 0 — 62 bytes
const SYN =
  'feff200001000000010000000800' +
  '450000300f414000800691eb91fea0ed41d0e4df' +
  '0d2c005038affe130000000070022238c30c0000020405b401010402';
// IP 145.254.160.237.3009 > 145.253.2.203.53: 35+ A? pagead2.googlesyndication.com. (47) — 89 bytes
const DNS_QUERY =
  'feff200001000000010000000800' +
  '4500004b0f490000801163a591fea0ed91fd02cb' +
  '0bc10035003710af' +
  '002301000001000000000000077061676561643211676f6f676c6573796e6469636174696f6e03636f6d0000010001';
// The query turned into its NXDOMAIN answer: addresses and ports swapped, flags 0x8183
// (QR, RD, RA, rcode 3). IP 145.253.2.203.53 > 145.254.160.237.3009: 35 NXDomain 0/0/0 (47) — 89 bytes
const NXDOMAIN =
  'feff200001000000010000000800' +
  '4500004b0f490000801163a591fd02cb91fea0ed' +
  '00350bc1003710af' +
  '002381830001000000000000077061676561643211676f6f676c6573796e6469636174696f6e03636f6d0000010001';
// ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28 — 42 bytes (crafted)
const ARP = 'ffffffffffff0200000000010806' + '0001080006040001' + '0200000000010a000001' + '0000000000000a000002';
// The SYN with its IPv4 header checksum 0x91eb changed to 0x91ec: ipv4.checksum_invalid — 62 bytes
const SYN_BAD_SUM = SYN.slice(0, 48) + '91ec' + SYN.slice(52);

describe('RollingMetrics: one window by hand', () => {
  it('counts decoded frames: totals, protocols, SYN, DNS, NXDOMAIN, anomalies, top lists, losses', () => {
    const { m, out } = collect({ losses: () => ({ flows_evicted: 3, decode_errors: 0 }) });
    const at = (ms: number): number => T0 + 1000 * S + ms * 1000;
    const p = new PacketContext();
    m.observe(decodeHex(SYN, 1, undefined, p), at(100), 0, 80);
    m.observe(decodeHex(DNS_QUERY, 1, undefined, p), at(200), 1, 53);
    m.observe(decodeHex(NXDOMAIN, 1, undefined, p), at(300), 1, 53);
    m.observe(decodeHex(ARP, 1, undefined, p), at(400), -1, -1);
    const bad = decodeHex(SYN_BAD_SUM, 1, undefined, p);
    assert.deepEqual(bad.anomalies.slice(0, bad.anomalyCount), ['ipv4.checksum_invalid']);
    m.observe(bad, at(500), 0, 80);
    m.flowStarted(at(100));
    m.flowStarted(at(200));
    m.flowEnded(at(300));
    assert.equal(out.length, 0, 'nothing closes before packet time passes the window');
    m.flush();
    assert.deepEqual(
      out.map((w) => [w.window_s, w.start_us]),
      [
        [1, T0 + 1000 * S],
        [60, T0 + 960 * S],
      ],
    );
    const expected: MetricWindow = {
      window_s: 1,
      start_us: T0 + 1000 * S,
      packets: 5,
      bytes: 62 + 89 + 89 + 42 + 62,
      protocols: {
        tcp: { packets: 2, bytes: 124 },
        udp: { packets: 2, bytes: 178 },
        icmp: { packets: 0, bytes: 0 },
        icmpv6: { packets: 0, bytes: 0 },
        other_ip: { packets: 0, bytes: 0 },
        arp: { packets: 1, bytes: 42 },
        non_ip: { packets: 0, bytes: 0 },
      },
      new_flows: 2,
      ended_flows: 1,
      tcp_syn: 2,
      tcp_rst: 0,
      dns_queries: 1,
      dns_nxdomain: 1,
      anomalies: { 'ipv4.checksum_invalid': 1 },
      top_talkers: [
        { key: '145.254.160.237', packets: 3, bytes: 213 },
        { key: '145.253.2.203', packets: 1, bytes: 89 },
      ],
      // Equal packets: more bytes first.
      top_ports: [
        { key: '53/udp', packets: 2, bytes: 178 },
        { key: '80/tcp', packets: 2, bytes: 124 },
      ],
      top_conversations: [
        { key: '145.254.160.237:3009 <-> 145.253.2.203:53 udp', packets: 2, bytes: 178 },
        { key: '145.254.160.237:3372 <-> 65.208.228.223:80 tcp', packets: 2, bytes: 124 },
      ],
      losses: { flows_evicted: 3, decode_errors: 0, metrics_top_pruned: 0 },
    };
    assert.deepEqual(out[0], expected);
    assert.deepEqual(out[1], { ...expected, window_s: 60, start_us: T0 + 960 * S });
  });

  it('fills every field with a fixed protocol set even for an empty-handed window', () => {
    const { m, out } = collect({ windows: [1] });
    m.flowEnded(T0);
    m.flush();
    assert.equal(out.length, 1);
    const w = out[0]!;
    assert.deepEqual(Object.keys(w.protocols), METRIC_PROTOCOLS);
    assert.equal(w.packets, 0);
    assert.equal(w.ended_flows, 1);
    assert.deepEqual([w.top_talkers, w.top_ports, w.top_conversations, w.anomalies], [[], [], [], {}]);
    assert.deepEqual(w.losses, { metrics_top_pruned: 0 });
  });
});

describe('RollingMetrics: windows in packet time', () => {
  it('aligns windows, closes them on the first later packet and skips empty ones', () => {
    const { m, out } = collect();
    for (const t of [5.5, 5.9, 6.0, 9.2, 61.0]) m.observe(pkt(), T0 + t * S, -1, -1);
    assert.deepEqual(out.map(brief), [
      [1, 5, 2],
      [1, 6, 1],
      // 7 and 8 saw nothing: not emitted.
      [1, 9, 1],
      [60, 0, 4],
    ]);
    m.flush();
    assert.deepEqual(out.slice(4).map(brief), [
      [1, 61, 1],
      [60, 60, 1],
    ]);
    for (const w of out) assert.equal(w.start_us % (w.window_s * S), 0);
  });

  it('a packet exactly at a window end opens the next window; one a microsecond before stays', () => {
    const { m, out } = collect({ windows: [1] });
    m.observe(pkt(), T0 + 2 * S - 1, -1, -1);
    m.observe(pkt(), T0 + 2 * S, -1, -1);
    m.flush();
    assert.deepEqual(out.map(brief), [
      [1, 1, 1],
      [1, 2, 1],
    ]);
  });

  it('counts late packets in the open window and never reopens a closed one', () => {
    const { m, out } = collect({ windows: [1] });
    m.observe(pkt({ len: 10 }), T0 + 10.5 * S, -1, -1);
    m.observe(pkt({ len: 20 }), T0 + 11.2 * S, -1, -1);
    m.observe(pkt({ len: 40 }), T0 + 10.9 * S, -1, -1); // out of order: belongs to 10, counted in 11
    m.observe(pkt({ len: 80 }), T0 + 3 * S, -1, -1); // far in the past: still the open window
    m.observe(pkt({ len: 160 }), T0 + 12 * S, -1, -1);
    m.flush();
    assert.deepEqual(
      out.map((w) => [(w.start_us - T0) / S, w.packets, w.bytes]),
      [
        [10, 1, 10],
        [11, 3, 140],
        [12, 1, 160],
      ],
    );
  });

  it('flow starts and ends move time forward like packets', () => {
    const { m, out } = collect({ windows: [1, 10] });
    m.flowStarted(T0 + 1.5 * S);
    m.observe(pkt(), T0 + 1.6 * S, 0, 443);
    m.flowEnded(T0 + 12.25 * S);
    m.flowStarted(T0 + 12.5 * S);
    m.flush();
    assert.deepEqual(
      out.map((w) => [w.window_s, (w.start_us - T0) / S, w.packets, w.new_flows, w.ended_flows]),
      [
        [1, 1, 1, 1, 0],
        [10, 0, 1, 1, 0],
        [1, 12, 0, 1, 1],
        [10, 10, 0, 1, 1],
      ],
    );
  });

  it('sums of the short windows equal the long window they fall in', () => {
    const { m, out } = collect({ windows: [60, 1, 10] });
    let t = T0;
    for (let i = 0; i < 500; i++) {
      t += ((i * 7919) % 400_000) + 1;
      m.observe(pkt({ len: 60 + (i % 7), src: ip(10, 0, 0, i % 13) }), t, i % 17, 443);
    }
    m.flush();
    for (const long of out.filter((w) => w.window_s > 1)) {
      const inside = out.filter(
        (w) => w.window_s === 1 && w.start_us >= long.start_us && w.start_us < long.start_us + long.window_s * S,
      );
      assert.equal(
        long.packets,
        inside.reduce((n, w) => n + w.packets, 0),
      );
      assert.equal(
        long.bytes,
        inside.reduce((n, w) => n + w.bytes, 0),
      );
    }
    assert.equal(
      out.filter((w) => w.window_s === 60).reduce((n, w) => n + w.packets, 0),
      500,
    );
  });

  it('flush emits nothing without input, and counting starts afresh after it', () => {
    const { m, out } = collect();
    m.flush();
    assert.equal(out.length, 0);
    m.observe(pkt(), T0 + 0.5 * S, -1, -1);
    m.flush();
    m.flush();
    assert.deepEqual(out.map(brief), [
      [1, 0, 1],
      [60, 0, 1],
    ]);
    m.observe(pkt(), T0 + 0.7 * S, -1, -1);
    m.flush();
    assert.deepEqual(out.slice(2).map(brief), [
      [1, 0, 1],
      [60, 0, 1],
    ]);
  });
});

describe('RollingMetrics: counters', () => {
  it('classifies protocols and counts SYN without ACK, RST, DNS queries and NXDOMAIN only', () => {
    const { m, out } = collect({ windows: [1] });
    const obs = (o: Pkt): void => m.observe(pkt(o), T0, -1, -1);
    obs({ tcpFlags: 0x02 }); // SYN
    obs({ tcpFlags: 0x12 }); // SYN+ACK: not a SYN
    obs({ tcpFlags: 0x04 }); // RST
    obs({ tcpFlags: 0x14 }); // RST+ACK
    obs({ proto: 17, dp: 53, dnsFlags: 0x0100 }); // query
    obs({ proto: 17, sp: 53, dnsFlags: 0x8183 }); // NXDOMAIN
    obs({ proto: 17, sp: 53, dnsFlags: 0x8180 }); // NOERROR answer
    obs({ proto: 17, sp: 53, dnsFlags: 0x8182 }); // SERVFAIL
    obs({ proto: 17, dp: 53 }); // port 53 but DNS not decoded
    obs({ proto: 1, len: 98 });
    obs({ v: 6, proto: 58, len: 118 });
    obs({ proto: 47, len: 150 }); // GRE
    obs({ v: 0, arp: true, len: 42 });
    obs({ v: 0, len: 64 }); // e.g. LLDP
    m.flush();
    const w = out[0]!;
    assert.equal(w.tcp_syn, 1);
    assert.equal(w.tcp_rst, 2);
    assert.equal(w.dns_queries, 1);
    assert.equal(w.dns_nxdomain, 1);
    assert.deepEqual(w.protocols, {
      tcp: { packets: 4, bytes: 400 },
      udp: { packets: 5, bytes: 500 },
      icmp: { packets: 1, bytes: 98 },
      icmpv6: { packets: 1, bytes: 118 },
      other_ip: { packets: 1, bytes: 150 },
      arp: { packets: 1, bytes: 42 },
      non_ip: { packets: 1, bytes: 64 },
    });
    const sum = Object.values(w.protocols).reduce((n, c) => n + c.packets, 0);
    assert.equal(sum, w.packets);
  });

  it('counts anomalies by code, codes outside the registry too, sorted by code', () => {
    const { m, out } = collect({ windows: [1] });
    m.observe(pkt({ anomalies: ['tcp.opt_invalid', 'ipv4.checksum_invalid'] }), T0, -1, -1);
    m.observe(pkt({ anomalies: ['ipv4.checksum_invalid'] }), T0, -1, -1);
    m.observe(pkt({ anomalies: ['zz.not_registered'] }), T0, -1, -1);
    m.observe(pkt(), T0 + S, -1, -1);
    m.flush();
    assert.deepEqual(out[0]!.anomalies, { 'ipv4.checksum_invalid': 2, 'tcp.opt_invalid': 1, 'zz.not_registered': 1 });
    assert.deepEqual(Object.keys(out[0]!.anomalies), ['ipv4.checksum_invalid', 'tcp.opt_invalid', 'zz.not_registered']);
    assert.deepEqual(out[1]!.anomalies, {});
  });

  it('reads the loss totals at each close', () => {
    let evicted = 0;
    const { m, out } = collect({ windows: [1], losses: () => ({ flows_evicted: evicted }) });
    m.observe(pkt(), T0, -1, -1);
    evicted = 4;
    m.observe(pkt(), T0 + S, -1, -1);
    evicted = 9;
    m.flush();
    assert.deepEqual(
      out.map((w) => w.losses.flows_evicted),
      [4, 9],
    );
  });
});

describe('RollingMetrics: top lists', () => {
  it('orders by packets, then bytes, then address as a number, and keeps N', () => {
    const { m, out } = collect({ windows: [1], topN: 3 });
    const send = (src: number, n: number, len: number): void => {
      for (let i = 0; i < n; i++) m.observe(pkt({ src, len }), T0, -1, -1);
    };
    send(ip(10, 0, 0, 1), 5, 20); // 5 packets, 100 bytes
    send(ip(10, 0, 0, 10), 5, 40); // 5 packets, 200 bytes
    send(ip(10, 0, 0, 9), 5, 40); // the same: 10.0.0.9 < 10.0.0.10 as numbers
    send(ip(192, 168, 1, 1), 7, 10);
    send(ip(172, 16, 0, 1), 1, 1500);
    m.flush();
    assert.deepEqual(out[0]!.top_talkers, [
      { key: '192.168.1.1', packets: 7, bytes: 70 },
      { key: '10.0.0.9', packets: 5, bytes: 200 },
      { key: '10.0.0.10', packets: 5, bytes: 200 },
    ]);
  });

  it('topN 0 gives empty lists', () => {
    const { m, out } = collect({ windows: [1], topN: 0 });
    m.observe(pkt(), T0, 0, 443);
    m.flush();
    assert.deepEqual([out[0]!.top_talkers, out[0]!.top_ports, out[0]!.top_conversations], [[], [], []]);
  });

  it('keeps IPv6 talkers apart from each other and from an IPv4 address with the same first word', () => {
    const { m, out } = collect({ windows: [1] });
    const a = [0x20010db8, 0, 0, 1];
    const b = [0x20010db8, 0, 0, 2];
    const c = [0x20010db8, 0, 0, 0];
    for (let i = 0; i < 3; i++) m.observe(pkt({ v: 6, src: a, proto: 17, len: 80 }), T0, -1, -1);
    for (let i = 0; i < 2; i++) m.observe(pkt({ v: 6, src: b, proto: 17, len: 80 }), T0, -1, -1);
    m.observe(pkt({ v: 6, src: c, proto: 17, len: 80 }), T0, -1, -1);
    m.observe(pkt({ v: 4, src: 0x20010db8, proto: 17, len: 80 }), T0, -1, -1);
    m.observe(pkt({ v: 6, src: [0, 0, 0xffff, ip(10, 1, 2, 3)], proto: 17, len: 80 }), T0, -1, -1);
    m.flush();
    assert.deepEqual(out[0]!.top_talkers, [
      { key: '2001:db8::1', packets: 3, bytes: 240 },
      { key: '2001:db8::2', packets: 2, bytes: 160 },
      // Ties: IPv4 before IPv6, then the address words.
      { key: '32.1.13.184', packets: 1, bytes: 80 },
      { key: '::ffff:10.1.2.3', packets: 1, bytes: 80 },
      { key: '2001:db8::', packets: 1, bytes: 80 },
    ]);
  });

  it('ports: the service port with its protocol, both directions, never for ICMP', () => {
    const { m, out } = collect({ windows: [1] });
    m.observe(pkt({ sp: 40000, dp: 443 }), T0, 0, 443);
    m.observe(pkt({ sp: 443, dp: 40000, src: 0x0a000002, dst: 0x0a000001 }), T0, 0, 443);
    m.observe(pkt({ proto: 17, sp: 5353, dp: 53 }), T0, 1, 53);
    m.observe(pkt({ proto: 1, echoId: 77 }), T0, 2, 77); // the engine's ICMP "port" is the echo id
    m.observe(pkt({ sp: 1, dp: 2 }), T0, -1, -1);
    m.flush();
    assert.deepEqual(out[0]!.top_ports, [
      { key: '443/tcp', packets: 2, bytes: 200 },
      { key: '53/udp', packets: 1, bytes: 100 },
    ]);
  });

  it('conversations: both directions in one entry, initiator first, a reused slot split by flow', () => {
    const { m, out } = collect({ windows: [1, 60] });
    const client = ip(192, 168, 0, 10);
    const server = ip(93, 184, 216, 34);
    // Flow A in slot 7, seen first from the server's side.
    m.observe(pkt({ src: server, dst: client, sp: 443, dp: 50000, len: 1500 }), T0, 7, 443);
    m.observe(pkt({ src: client, dst: server, sp: 50000, dp: 443, len: 60 }), T0 + 1, 7, 443);
    // Flow A ends; flow B takes slot 7 within the same window.
    for (let i = 0; i < 3; i++)
      m.observe(pkt({ src: client, dst: server, sp: 50001, dp: 443, len: 60 }), T0 + 2, 7, 443);
    // ICMP echo reply first, IPv6 UDP.
    m.observe(pkt({ proto: 1, src: server, dst: client, icmpType: 0, echoId: 9, len: 98 }), T0 + 3, 8, -1);
    m.observe(
      pkt({ v: 6, proto: 17, src: [0x20010db8, 0, 0, 5], dst: [0x20010db8, 0, 0, 0x53], sp: 5000, dp: 53, len: 90 }),
      T0 + 4,
      9,
      53,
    );
    m.flush();
    const expected = [
      { key: '192.168.0.10:50001 <-> 93.184.216.34:443 tcp', packets: 3, bytes: 180 },
      { key: '192.168.0.10:50000 <-> 93.184.216.34:443 tcp', packets: 2, bytes: 1560 },
      { key: '192.168.0.10 <-> 93.184.216.34 icmp id 9', packets: 1, bytes: 98 },
      { key: '[2001:db8::5]:5000 <-> [2001:db8::53]:53 udp', packets: 1, bytes: 90 },
    ];
    assert.deepEqual(out[0]!.top_conversations, expected);
    assert.deepEqual(out[1]!.top_conversations, expected, 'the minute window names them the same');
  });

  it('a full table drops its smallest half: heavy hitters stay exact, drops are counted', () => {
    const { m, out } = collect({ windows: [1], topN: 3, topTableSize: 8 });
    const send = (src: number, n: number): void => {
      for (let i = 0; i < n; i++) m.observe(pkt({ src, len: 50 }), T0, -1, -1);
    };
    send(ip(10, 0, 0, 1), 5);
    send(ip(10, 0, 0, 2), 4);
    // 20 one-packet talkers: the table (8) fills after 6 of them; each later 4 new keys cost a
    // prune of 4 (half of 8), the earliest-seen kept among equal counts: 16 dropped.
    for (let i = 3; i < 23; i++) send(ip(10, 0, 0, i), 1);
    m.flush();
    const w = out[0]!;
    assert.equal(w.packets, 29);
    assert.deepEqual(w.top_talkers, [
      { key: '10.0.0.1', packets: 5, bytes: 250 },
      { key: '10.0.0.2', packets: 4, bytes: 200 },
      { key: '10.0.0.3', packets: 1, bytes: 50 },
    ]);
    assert.equal(w.losses.metrics_top_pruned, 16);
  });

  it('a full conversation table drops small flows but keeps their packets in talkers and ports', () => {
    const { m, out } = collect({ windows: [1], topN: 2, topTableSize: 8 });
    const client = ip(10, 0, 0, 1);
    const server = ip(10, 0, 0, 2);
    for (let i = 0; i < 5; i++) m.observe(pkt({ src: client, dst: server, sp: 1000, dp: 443, len: 100 }), T0, 0, 443);
    // 20 one-packet flows, answered: 2 packets each, in slots 1..20.
    for (let f = 1; f <= 20; f++) {
      m.observe(pkt({ src: client, dst: server, sp: 1000 + f, dp: 443, len: 60 }), T0, f, 443);
      m.observe(pkt({ src: server, dst: client, sp: 443, dp: 1000 + f, len: 40 }), T0, f, 443);
    }
    m.flush();
    const w = out[0]!;
    assert.ok(w.losses.metrics_top_pruned > 0);
    assert.deepEqual(w.top_conversations[0], { key: '10.0.0.1:1000 <-> 10.0.0.2:443 tcp', packets: 5, bytes: 500 });
    assert.deepEqual(w.top_talkers, [
      { key: '10.0.0.1', packets: 25, bytes: 500 + 20 * 60 },
      { key: '10.0.0.2', packets: 20, bytes: 20 * 40 },
    ]);
    assert.deepEqual(w.top_ports, [{ key: '443/tcp', packets: 45, bytes: 500 + 20 * 100 }]);
  });

  it('the same traffic in a table that fits: exact, nothing dropped', () => {
    const { m, out } = collect({ windows: [1], topN: 30, topTableSize: 32 });
    for (let i = 1; i < 23; i++) m.observe(pkt({ src: ip(10, 0, 0, i), len: 50 }), T0, -1, -1);
    m.flush();
    assert.equal(out[0]!.top_talkers.length, 22);
    assert.equal(out[0]!.losses.metrics_top_pruned, 0);
  });

  it('a long window keeps the heavy hitter exact while its table prunes short-lived keys', () => {
    const { m, out } = collect({ windows: [1, 10], topN: 2, topTableSize: 8 });
    let n = 0;
    for (let s = 0; s < 10; s++) {
      for (let i = 0; i < 3; i++) m.observe(pkt({ src: ip(10, 0, 0, 1), len: 100 }), T0 + s * S, -1, -1);
      for (let i = 0; i < 6; i++) m.observe(pkt({ src: ip(10, 1, s, i), len: 60 }), T0 + s * S, -1, -1);
      n += 9;
    }
    m.flush();
    const long = out.find((w) => w.window_s === 10)!;
    assert.equal(long.packets, n);
    assert.deepEqual(long.top_talkers[0], { key: '10.0.0.1', packets: 30, bytes: 3000 });
    assert.ok(long.losses.metrics_top_pruned > 0);
    for (const w of out.filter((x) => x.window_s === 1)) {
      assert.deepEqual(w.top_talkers[0], { key: '10.0.0.1', packets: 3, bytes: 300 });
    }
  });
});

describe('RollingMetrics: options', () => {
  it('refuses bad windows, topN and table sizes with PCS_CONFIG', () => {
    const bad: Partial<MetricsOptions>[] = [
      { windows: [] },
      { windows: [0] },
      { windows: [-1, 60] },
      { windows: [Number.NaN] },
      { windows: [1, 1] },
      { windows: [2, 3] },
      { windows: [1e-7] },
      { topN: -1 },
      { topN: 1.5 },
      { topTableSize: 1 },
    ];
    for (const o of bad) {
      assert.throws(
        () => new RollingMetrics({ ...o, onWindow: () => {} }),
        (e: unknown) => isPipelineError(e) && e.code === 'PCS_CONFIG',
        JSON.stringify(o),
      );
    }
    assert.throws(
      () => new RollingMetrics({} as MetricsOptions),
      (e: unknown) => isPipelineError(e) && e.code === 'PCS_CONFIG',
    );
    assert.doesNotThrow(() => new RollingMetrics({ windows: [0.5, 1, 60], onWindow: () => {} }));
  });
});

describe('RollingMetrics on a synthetic capture, with the flow engine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'metrics-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('per-second and per-minute sums equal the ground truth; top lists equal a recount', async () => {
    const file = join(dir, 'kpi.pcap');
    // A low session rate: minutes of traffic, so many one-second windows and a few minutes.
    const truth = await synthesize({ out: file, packets: 20_000, seed: 11, sessionRate: 10 });
    const out: MetricWindow[] = [];
    const metrics = new RollingMetrics({ onWindow: (w) => out.push(w), topN: 5 });
    const engine = new FlowEngine({
      features: 'none',
      onFlow: () => {},
      onFlowStart: (ts) => metrics.flowStarted(ts),
      onFlowEnd: (ts) => metrics.flowEnded(ts),
    });
    // Independent recount of the talkers and conversations of every second, with strings.
    const talkers = new Map<number, Map<string, [number, number]>>();
    const convs = new Map<number, Map<string, [number, number]>>();
    const bump = (m: Map<number, Map<string, [number, number]>>, sec: number, key: string, len: number): void => {
      let k = m.get(sec);
      if (k === undefined) m.set(sec, (k = new Map()));
      const c = k.get(key) ?? [0, 0];
      c[0]++;
      c[1] += len;
      k.set(key, c);
    };
    const secondsSeen = new Set<number>();
    const minutesSeen = new Set<number>();
    const p = new PacketContext();
    await readCapture(file, (f) => {
      decodeFrame(p, f);
      const ts = p.tsSec * S + Math.floor(p.tsNanos / 1000);
      secondsSeen.add(Math.floor(ts / S));
      minutesSeen.add(Math.floor(ts / (60 * S)));
      const slot = engine.packet(p);
      metrics.observe(p, ts, slot, slot < 0 ? -1 : engine.servicePort);
      const sec = Math.floor(ts / S);
      if (p.ipVersion !== 0) {
        const src = p.ipVersion === 4 ? formatIPv4(p.src4) : formatIPv6(p.src6);
        const dst = p.ipVersion === 4 ? formatIPv4(p.dst4) : formatIPv6(p.dst6);
        bump(talkers, sec, src, p.frameLength);
        if (slot >= 0) {
          const ends = [`${src}/${p.srcPort}`, `${dst}/${p.dstPort}`].sort();
          bump(convs, sec, `${p.protocol} ${ends.join(' ')}`, p.frameLength);
        }
      }
    });
    engine.flushAll();
    metrics.flush();

    const seconds = out.filter((w) => w.window_s === 1);
    const minutes = out.filter((w) => w.window_s === 60);
    // One window per second or minute that saw a packet: no empty ones.
    assert.ok(secondsSeen.size > 30 && minutesSeen.size >= 2, `${secondsSeen.size} s, ${minutesSeen.size} min`);
    assert.deepEqual(
      seconds.map((w) => w.start_us / S),
      [...secondsSeen],
    );
    assert.deepEqual(
      minutes.map((w) => w.start_us / (60 * S)),
      [...minutesSeen],
    );
    for (const list of [seconds, minutes]) {
      const sum = (f: (w: MetricWindow) => number): number => list.reduce((n, w) => n + f(w), 0);
      assert.equal(
        sum((w) => w.packets),
        truth.packets,
      );
      assert.equal(
        sum((w) => w.bytes),
        truth.bytes,
      );
      assert.equal(
        sum((w) => w.dns_queries),
        truth.dns.queries,
      );
      assert.equal(
        sum((w) => w.dns_nxdomain),
        truth.dns.nxdomain,
      );
      assert.equal(
        sum((w) => w.tcp_syn),
        truth.tcp.syn,
      );
      assert.equal(
        sum((w) => w.tcp_rst),
        truth.tcp.rst,
      );
      assert.equal(
        sum((w) => w.new_flows),
        truth.flows.total,
      );
      assert.equal(
        sum((w) => w.ended_flows),
        truth.flows.total,
      );
      for (const name of ['tcp', 'udp', 'icmp', 'icmpv6', 'arp'] as const) {
        assert.equal(
          sum((w) => w.protocols[name]!.packets),
          truth.protocols[name],
          name,
        );
      }
      assert.equal(
        sum((w) => w.protocols.other_ip!.packets + w.protocols.non_ip!.packets),
        0,
      );
    }
    assert.ok(truth.dns.queries > 0 && truth.dns.nxdomain > 0 && truth.tcp.rst > 0);
    for (let i = 1; i < seconds.length; i++) assert.ok(seconds[i]!.start_us > seconds[i - 1]!.start_us);

    // Each second's lists hold the recount's largest counts, under the recount's own numbers.
    for (const w of seconds) {
      const sec = w.start_us / S;
      const t = talkers.get(sec)!;
      const tops = [...t.values()].map((c) => c[0]).sort((a, b) => b - a);
      assert.deepEqual(
        w.top_talkers.map((e) => e.packets),
        tops.slice(0, 5),
      );
      for (const e of w.top_talkers) assert.deepEqual(t.get(e.key), [e.packets, e.bytes], e.key);
      const c = convs.get(sec)!;
      const ctops = [...c.values()].map((x) => x[0]).sort((a, b) => b - a);
      assert.deepEqual(
        w.top_conversations.map((e) => e.packets),
        ctops.slice(0, 5),
      );
      for (const e of w.top_conversations) {
        const m = /^\[?([^\]]+?)\]?:(\d+) <-> \[?([^\]]+?)\]?:(\d+) (tcp|udp)$/.exec(e.key);
        if (m === null) continue; // ICMP: no ports to rebuild the key from
        const proto = m[5] === 'tcp' ? 6 : 17;
        const key = `${proto} ${[`${m[1]}/${m[2]}`, `${m[3]}/${m[4]}`].sort().join(' ')}`;
        assert.deepEqual(c.get(key), [e.packets, e.bytes], e.key);
      }
    }
    assert.ok(out.every((w) => w.losses.metrics_top_pruned === 0));
  });
});
