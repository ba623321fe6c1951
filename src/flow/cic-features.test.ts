import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { decodeHex } from '../../test/helpers/frames.ts';
import {
  ACK,
  CWR,
  ECE,
  FIN,
  icmpPacket,
  ip6,
  PSH,
  RST,
  SYN,
  tcpPacket,
  URG,
  udpPacket,
} from '../../test/helpers/packets.ts';
import type { PacketContext } from '../core/packet.ts';
import {
  CIC_FEATURE_COUNT,
  CIC_FEATURES,
  CIC_HEADER,
  CicAccumulator,
  type CicMode,
  cicCsvHeader,
  cicCsvRow,
  cicFlowId,
  cicTimestamp,
} from './cic-features.ts';
import type { FlowRecord } from './records.ts';

// ---- packets (test/helpers/packets.ts): Ethernet, IPv4 unless v6; frames padded to 60 bytes ----

const tcp = (len: number, flags: number, win = 1000, hdr = 20): PacketContext =>
  tcpPacket({ flags, payload: len, window: win, headerLength: hdr });

const udp = (len: number): PacketContext => udpPacket({ payload: len });

/** Echo request (ICMP type 8, ICMPv6 type 128). */
const icmp = (len: number, v6: boolean): PacketContext =>
  v6 ? icmpPacket(ip6(1), ip6(2), { type: 128, payload: len }) : icmpPacket(0, 0, { type: 8, payload: len });

/** One packet of a test flow: direction, time offset from T0 in µs, decoded packet. */
type Pkt = ['F' | 'B', number, PacketContext];

/** A realistic epoch (2017-07-07 15:56:01 UTC), so no code path can rely on small timestamps. */
const T0 = Date.UTC(2017, 6, 7, 15, 56, 1) * 1000;

function run(mode: CicMode, pkts: Pkt[], options: { activityTimeoutUs?: number; slot?: number } = {}): Float64Array {
  const acc = new CicAccumulator({ mode, activityTimeoutUs: options.activityTimeoutUs }, 1);
  const slot = options.slot ?? 0;
  acc.ensureCapacity(slot + 1);
  const [first, ...rest] = pkts;
  assert.ok(first && first[0] === 'F', 'a flow starts with a forward packet');
  acc.start(slot, first[2], T0 + first[1]);
  for (const [dir, t, p] of rest) acc.add(slot, p, T0 + t, dir === 'F');
  const out = new Float64Array(CIC_FEATURE_COUNT);
  acc.values(slot, out);
  return out;
}

function named(out: Float64Array): Record<string, number> {
  const o: Record<string, number> = {};
  CIC_FEATURES.forEach((f, i) => {
    o[f.name] = out[i]!;
  });
  return o;
}

function near(actual: number, expected: number, what: string): void {
  if (Number.isNaN(expected)) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
    return;
  }
  const tol = 1e-9 * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: expected ${expected}, got ${actual}`);
}

/** Every one of the 77 features must be listed: the table is the whole expected row. */
function assertAll(out: Float64Array, expected: Record<string, number>): void {
  const names = CIC_FEATURES.map((f) => f.name);
  assert.deepEqual(Object.keys(expected).sort(), [...names].sort(), 'the expected table covers every feature');
  const got = named(out);
  for (const n of names) near(got[n]!, expected[n]!, n);
}

function assertSome(out: Float64Array, expected: Record<string, number>): void {
  const got = named(out);
  for (const [n, v] of Object.entries(expected)) {
    assert.ok(n in got, `unknown feature ${n}`);
    near(got[n]!, v, n);
  }
}

const ZERO_BULK = {
  fwd_avg_bytes_per_bulk: 0,
  fwd_avg_packets_per_bulk: 0,
  fwd_avg_bulk_rate: 0,
  bwd_avg_bytes_per_bulk: 0,
  bwd_avg_packets_per_bulk: 0,
  bwd_avg_bulk_rate: 0,
};
const ZERO_IDLE = { idle_mean: 0, idle_std: 0, idle_max: 0, idle_min: 0 };
/** Flag features of a flow without TCP, in both modes. */
const ZERO_TCP_FLAGS = {
  fwd_psh_flags: 0,
  bwd_psh_flags: 0,
  fwd_urg_flags: 0,
  bwd_urg_flags: 0,
  fin_flag_count: 0,
  syn_flag_count: 0,
  rst_flag_count: 0,
  psh_flag_count: 0,
  ack_flag_count: 0,
  urg_flag_count: 0,
  cwr_flag_count: 0,
  ece_flag_count: 0,
};

// ---- scenario A: TCP handshake, request, response, FIN (7 packets over 1300 µs) ----
//
//   #  dir  t(µs)  flags     payload  window  TCP hdr  frame  captured  cic length (padding counted)
//   1  F    0      SYN       0        8192    40       74     74        0
//   2  B    100    SYN|ACK   0        29200   40       74     74        0
//   3  F    250    ACK       0        229     20       54     60        6
//   4  F    400    PSH|ACK   100      229     20       154    154       100
//   5  B    1000   ACK       0        235     20       54     60        6
//   6  B    1200   PSH|ACK   300      235     20       354    354       300
//   7  F    1300   FIN|ACK   0        229     20       54     60        6
const tcpFlow = (): Pkt[] => [
  ['F', 0, tcp(0, SYN, 8192, 40)],
  ['B', 100, tcp(0, SYN | ACK, 29200, 40)],
  ['F', 250, tcp(0, ACK, 229)],
  ['F', 400, tcp(100, PSH | ACK, 229)],
  ['B', 1000, tcp(0, ACK, 235)],
  ['B', 1200, tcp(300, PSH | ACK, 235)],
  ['F', 1300, tcp(0, FIN | ACK, 229)],
];
// Gaps: flow 100,150,150,600,200,100 (sum 1300, sum of squares 465000);
// forward 250,150,900 (sum 1300, squares 895000); backward 900,200 (sum 1100).
/** Gaps depend on times only: the same in both modes. */
const TCP_FLOW_IAT = {
  flow_iat_mean: 1300 / 6,
  flow_iat_std: Math.sqrt((465000 - 1300 ** 2 / 6) / 5),
  flow_iat_max: 600,
  flow_iat_min: 100,
  fwd_iat_total: 1300,
  fwd_iat_mean: 1300 / 3,
  fwd_iat_std: Math.sqrt((895000 - 1300 ** 2 / 3) / 2),
  fwd_iat_max: 900,
  fwd_iat_min: 150,
  bwd_iat_total: 1100,
  bwd_iat_mean: 550,
  bwd_iat_std: Math.sqrt(350 ** 2 * 2), // 900 and 200 around 550
  bwd_iat_max: 900,
  bwd_iat_min: 200,
};

describe('CicAccumulator, TCP handshake + data + FIN', () => {
  it('corrected mode: every feature', () => {
    assertAll(run('corrected', tcpFlow()), {
      flow_duration: 1300,
      total_fwd_packets: 4,
      total_bwd_packets: 3,
      // fwd lengths 0,0,100,0; bwd 0,0,300 (padding excluded)
      total_length_fwd_packets: 100,
      total_length_bwd_packets: 300,
      fwd_packet_length_max: 100,
      fwd_packet_length_min: 0,
      fwd_packet_length_mean: 25, // 100 / 4
      fwd_packet_length_std: 50, // squares of deviations 625+625+5625+625 = 7500; sqrt(7500 / 3)
      bwd_packet_length_max: 300,
      bwd_packet_length_min: 0,
      bwd_packet_length_mean: 100, // 300 / 3
      bwd_packet_length_std: Math.sqrt(60000 / 2), // 10000+10000+40000
      flow_bytes_per_s: 400 / 0.0013,
      flow_packets_per_s: 7 / 0.0013,
      ...TCP_FLOW_IAT,
      fwd_psh_flags: 1, // #4
      bwd_psh_flags: 1, // #6
      fwd_urg_flags: 0,
      bwd_urg_flags: 0,
      fwd_header_length: 100, // 40+20+20+20
      bwd_header_length: 80, // 40+20+20
      fwd_packets_per_s: 4 / 0.0013,
      bwd_packets_per_s: 3 / 0.0013,
      packet_length_min: 0,
      packet_length_max: 300,
      packet_length_mean: 400 / 7,
      packet_length_std: Math.sqrt((100000 - 400 ** 2 / 7) / 6), // squares 100^2 + 300^2
      packet_length_variance: (100000 - 400 ** 2 / 7) / 6,
      fin_flag_count: 1,
      syn_flag_count: 2,
      rst_flag_count: 0,
      psh_flag_count: 2,
      ack_flag_count: 6,
      urg_flag_count: 0,
      cwr_flag_count: 0,
      ece_flag_count: 0,
      down_up_ratio: 0.75, // 3 / 4
      average_packet_size: 400 / 7,
      avg_fwd_segment_size: 25,
      avg_bwd_segment_size: 100,
      fwd_header_length_2: 100,
      ...ZERO_BULK, // one payload packet per side: no run of 4
      subflow_fwd_packets: 4, // no gap > 1 s: one subflow
      subflow_fwd_bytes: 100,
      subflow_bwd_packets: 3,
      subflow_bwd_bytes: 300,
      init_win_bytes_fwd: 8192,
      init_win_bytes_bwd: 29200, // the SYN|ACK, the first backward packet
      act_data_pkt_fwd: 1, // #4
      min_seg_size_fwd: 20, // min(40, 20, 20, 20)
      active_mean: 1300, // one active period, still open at the last packet
      active_std: 0,
      active_max: 1300,
      active_min: 1300,
      ...ZERO_IDLE,
    });
  });

  it('cic mode: every feature, with CICFlowMeter-V3 defects', () => {
    assertAll(run('cic', tcpFlow()), {
      flow_duration: 1300,
      total_fwd_packets: 4,
      total_bwd_packets: 3,
      // Ethernet padding counts: fwd 0,6,100,6 = 112; bwd 0,6,300 = 306
      total_length_fwd_packets: 112,
      total_length_bwd_packets: 306,
      fwd_packet_length_max: 100,
      fwd_packet_length_min: 0,
      fwd_packet_length_mean: 28, // 112 / 4
      fwd_packet_length_std: Math.sqrt(6936 / 3), // 28^2 + 22^2 + 72^2 + 22^2 = 6936
      bwd_packet_length_max: 300,
      bwd_packet_length_min: 0,
      bwd_packet_length_mean: 102,
      bwd_packet_length_std: Math.sqrt(58824 / 2), // 102^2 + 96^2 + 198^2
      flow_bytes_per_s: 418 / 0.0013,
      flow_packets_per_s: 7 / 0.0013,
      ...TCP_FLOW_IAT,
      fwd_psh_flags: 0, // counted on the first packet only: the SYN has no PSH
      bwd_psh_flags: 0, // never counted
      fwd_urg_flags: 0,
      bwd_urg_flags: 0,
      fwd_header_length: 100,
      bwd_header_length: 80,
      fwd_packets_per_s: 4 / 0.0013,
      bwd_packets_per_s: 3 / 0.0013,
      // all-packet statistics over 8 samples: the 7 lengths + the first packet (0) again;
      // sum 418, squares 36+10000+36+36+90000 = 100108
      packet_length_min: 0,
      packet_length_max: 300,
      packet_length_mean: 418 / 8,
      packet_length_std: Math.sqrt((100108 - 418 ** 2 / 8) / 7),
      packet_length_variance: (100108 - 418 ** 2 / 8) / 7,
      // first packet's flags (SYN), in HashMap order RST PSH ECE SYN ACK FIN URG CWR
      fin_flag_count: 0, // RST
      syn_flag_count: 0, // PSH
      rst_flag_count: 0, // ECE
      psh_flag_count: 1, // SYN
      ack_flag_count: 0, // ACK
      urg_flag_count: 0, // FIN
      cwr_flag_count: 0, // URG
      ece_flag_count: 0, // CWR
      down_up_ratio: 0, // 3 / 4 in integer division
      average_packet_size: 418 / 7, // sum with the duplicate first packet / 7 packets
      avg_fwd_segment_size: 28,
      avg_bwd_segment_size: 102,
      fwd_header_length_2: 100,
      ...ZERO_BULK,
      subflow_fwd_packets: 4, // one subflow: the totals
      subflow_fwd_bytes: 112,
      subflow_bwd_packets: 3,
      subflow_bwd_bytes: 306,
      init_win_bytes_fwd: 8192,
      init_win_bytes_bwd: 235, // overwritten by every backward packet: #6's
      act_data_pkt_fwd: 3, // #3, #4, #7 (padding counts), the first packet never
      min_seg_size_fwd: 20,
      active_mean: 0, // the last active period is never closed
      active_std: 0,
      active_max: 0,
      active_min: 0,
      ...ZERO_IDLE,
    });
  });
});

// ---- scenario B: UDP, query / answer / second query ----
//
//   #  dir  t(µs)  payload  frame        cic length
//   1  F    0      40       82           40
//   2  B    2000   120      162          120
//   3  F    3000   10       52 -> 60     18
const udpFlow = (): Pkt[] => [
  ['F', 0, udp(40)],
  ['B', 2000, udp(120)],
  ['F', 3000, udp(10)],
];
/** Gaps depend on times only: the same in both modes. */
const UDP_FLOW_IAT = {
  flow_iat_mean: 1500, // gaps 2000, 1000
  flow_iat_std: Math.sqrt(500 ** 2 * 2),
  flow_iat_max: 2000,
  flow_iat_min: 1000,
  fwd_iat_total: 3000,
  fwd_iat_mean: 3000,
  fwd_iat_std: 0,
  fwd_iat_max: 3000,
  fwd_iat_min: 3000,
  bwd_iat_total: 0, // one backward packet: no gap
  bwd_iat_mean: 0,
  bwd_iat_std: 0,
  bwd_iat_max: 0,
  bwd_iat_min: 0,
};

describe('CicAccumulator, UDP', () => {
  it('corrected mode: every feature', () => {
    assertAll(run('corrected', udpFlow()), {
      flow_duration: 3000,
      total_fwd_packets: 2,
      total_bwd_packets: 1,
      total_length_fwd_packets: 50,
      total_length_bwd_packets: 120,
      fwd_packet_length_max: 40,
      fwd_packet_length_min: 10,
      fwd_packet_length_mean: 25,
      fwd_packet_length_std: Math.sqrt(450), // 15^2 * 2 / 1
      bwd_packet_length_max: 120,
      bwd_packet_length_min: 120,
      bwd_packet_length_mean: 120,
      bwd_packet_length_std: 0,
      flow_bytes_per_s: 170 / 0.003,
      flow_packets_per_s: 3 / 0.003,
      ...UDP_FLOW_IAT,
      ...ZERO_TCP_FLAGS,
      fwd_header_length: 16, // 8 + 8
      bwd_header_length: 8,
      fwd_packets_per_s: 2 / 0.003,
      bwd_packets_per_s: 1 / 0.003,
      packet_length_min: 10,
      packet_length_max: 120,
      packet_length_mean: 170 / 3,
      packet_length_std: Math.sqrt((16100 - 170 ** 2 / 3) / 2), // squares 1600+14400+100
      packet_length_variance: (16100 - 170 ** 2 / 3) / 2,
      down_up_ratio: 0.5,
      average_packet_size: 170 / 3,
      avg_fwd_segment_size: 25,
      avg_bwd_segment_size: 120,
      fwd_header_length_2: 16,
      ...ZERO_BULK,
      subflow_fwd_packets: 2,
      subflow_fwd_bytes: 50,
      subflow_bwd_packets: 1,
      subflow_bwd_bytes: 120,
      init_win_bytes_fwd: Number.NaN, // no TCP window: undefined, not -1
      init_win_bytes_bwd: Number.NaN,
      act_data_pkt_fwd: 2,
      min_seg_size_fwd: 8,
      active_mean: 3000,
      active_std: 0,
      active_max: 3000,
      active_min: 3000,
      ...ZERO_IDLE,
    });
  });

  it('cic mode: every feature', () => {
    assertAll(run('cic', udpFlow()), {
      flow_duration: 3000,
      total_fwd_packets: 2,
      total_bwd_packets: 1,
      total_length_fwd_packets: 58, // 40 + 18
      total_length_bwd_packets: 120,
      fwd_packet_length_max: 40,
      fwd_packet_length_min: 18,
      fwd_packet_length_mean: 29,
      fwd_packet_length_std: Math.sqrt(242), // 11^2 * 2 / 1
      bwd_packet_length_max: 120,
      bwd_packet_length_min: 120,
      bwd_packet_length_mean: 120,
      bwd_packet_length_std: 0,
      flow_bytes_per_s: 178 / 0.003,
      flow_packets_per_s: 3 / 0.003,
      ...UDP_FLOW_IAT,
      ...ZERO_TCP_FLAGS,
      fwd_header_length: 16,
      bwd_header_length: 8,
      fwd_packets_per_s: 2 / 0.003,
      bwd_packets_per_s: 1 / 0.003,
      // samples 40, 120, 18 and the first (40) again: sum 218, squares 1600+14400+324+1600 = 17924
      packet_length_min: 18,
      packet_length_max: 120,
      packet_length_mean: 218 / 4,
      packet_length_std: Math.sqrt((17924 - 218 ** 2 / 4) / 3),
      packet_length_variance: (17924 - 218 ** 2 / 4) / 3,
      down_up_ratio: 0, // 1 / 2 in integer division
      average_packet_size: 218 / 3,
      avg_fwd_segment_size: 29,
      avg_bwd_segment_size: 120,
      fwd_header_length_2: 16,
      ...ZERO_BULK,
      subflow_fwd_packets: 2,
      subflow_fwd_bytes: 58,
      subflow_bwd_packets: 1,
      subflow_bwd_bytes: 120,
      init_win_bytes_fwd: -1,
      init_win_bytes_bwd: -1,
      act_data_pkt_fwd: 1, // #3 only: the first packet is not counted
      min_seg_size_fwd: 8,
      active_mean: 0,
      active_std: 0,
      active_max: 0,
      active_min: 0,
      ...ZERO_IDLE,
    });
  });
});

// ---- scenario C: bulk transfer ----
//
//   #   dir  t(µs)  payload   forward candidate          backward candidate
//   1   F    0      50        starts (1)
//   2   B    1000   1000                                  starts (1)
//   3   B    1100   1000                                  2
//   4   B    1200   1000                                  3
//   5   B    1300   1000                                  4: bulk #1, 4 pkts, 4000 B, 300 µs
//   6   B    1400   1000                                  5: +1 pkt, +1000 B, +100 µs
//   7   F    1500   0         dropped: B sent after 0
//   8   F    1600   200       starts (1)
//   9   B    1700   500                                   dropped (F sent at 1600 > 1000); starts (1)
//   10  B    1800   500                                   2
//   11  B    1900   500                                   3
//   12  B    2000   500                                   4: bulk #2, 4 pkts, 2000 B, 300 µs
//   13  F    2100   100       dropped (B at 2000 > 1600); starts (1)
//   14  F    2200   100       2
//   15  F    2300   100       3
//   16  F    2400   100       4: bulk, 4 pkts, 400 B, 300 µs
//
// forward: 1 bulk, 400 B, 4 packets, 300 µs; backward: 2 bulks, 7000 B, 9 packets, 700 µs.
const bulkFlow = (): Pkt[] => [
  ['F', 0, tcp(50, PSH | ACK)],
  ['B', 1000, tcp(1000, ACK)],
  ['B', 1100, tcp(1000, ACK)],
  ['B', 1200, tcp(1000, ACK)],
  ['B', 1300, tcp(1000, ACK)],
  ['B', 1400, tcp(1000, ACK)],
  ['F', 1500, tcp(0, ACK)],
  ['F', 1600, tcp(200, PSH | ACK)],
  ['B', 1700, tcp(500, ACK)],
  ['B', 1800, tcp(500, ACK)],
  ['B', 1900, tcp(500, ACK)],
  ['B', 2000, tcp(500, ACK)],
  ['F', 2100, tcp(100, ACK)],
  ['F', 2200, tcp(100, ACK)],
  ['F', 2300, tcp(100, ACK)],
  ['F', 2400, tcp(100, ACK)],
];

describe('CicAccumulator, bulk transfer', () => {
  it('corrected mode detects bulks in both directions', () => {
    assertSome(run('corrected', bulkFlow()), {
      fwd_avg_bytes_per_bulk: 400, // 400 B / 1 bulk
      fwd_avg_packets_per_bulk: 4,
      fwd_avg_bulk_rate: 400 / 0.0003, // 400 B over 300 µs
      bwd_avg_bytes_per_bulk: 3500, // 7000 B / 2 bulks
      bwd_avg_packets_per_bulk: 4.5, // 9 / 2, not 4 as a long division would say
      bwd_avg_bulk_rate: 7000 / 0.0007, // 7000 B over 700 µs
    });
  });

  it('a gap over 1 s breaks a bulk candidate', () => {
    // three packets, then 1.5 s of silence, then three more: never 4 in a row.
    const pkts: Pkt[] = [
      ['F', 0, tcp(100, ACK)],
      ['F', 100, tcp(100, ACK)],
      ['F', 200, tcp(100, ACK)],
      ['F', 1_500_200, tcp(100, ACK)],
      ['F', 1_500_300, tcp(100, ACK)],
      ['F', 1_500_400, tcp(100, ACK)],
    ];
    assertSome(run('corrected', pkts), { fwd_avg_bytes_per_bulk: 0, fwd_avg_packets_per_bulk: 0 });
    // one more packet within 1 s makes the second run a bulk: 4 x 100 B over 300 µs
    pkts.push(['F', 1_500_500, tcp(100, ACK)]);
    assertSome(run('corrected', pkts), {
      fwd_avg_bytes_per_bulk: 400,
      fwd_avg_packets_per_bulk: 4,
      fwd_avg_bulk_rate: 400 / 0.0003,
    });
  });

  it('cic mode: bulk features are always 0, as in every CICIDS2017 row', () => {
    assertSome(run('cic', bulkFlow()), ZERO_BULK);
  });
});

// ---- scenario D: active / idle periods across the 5 s activity timeout, and subflows ----
//
//   #  dir  t(s)   gap    > 1 s (subflow)   > 5 s (idle)
//   1  F    0
//   2  B    0.5    0.5
//   3  F    1.0    0.5
//   4  F    7.0    6.0    yes               yes: active [0, 1.0], idle 6.0
//   5  B    7.2    0.2
//   6  F    9.0    1.8    yes
//   7  B    20.0   11.0   yes               yes: active [7.0, 9.0], idle 11.0
//   8  F    20.5   0.5                      (open period [20.0, 20.5])
const activityFlow = (): Pkt[] => [
  ['F', 0, udp(10)],
  ['B', 500_000, udp(10)],
  ['F', 1_000_000, udp(10)],
  ['F', 7_000_000, udp(10)],
  ['B', 7_200_000, udp(10)],
  ['F', 9_000_000, udp(10)],
  ['B', 20_000_000, udp(10)],
  ['F', 20_500_000, udp(10)],
];

describe('CicAccumulator, active/idle and subflows', () => {
  it('corrected mode: idle gaps, closed and open active periods, subflow averages', () => {
    // active 1.0 s, 2.0 s, 0.5 s: mean 3.5/3 s; deviations -1/6, 5/6, -2/3 s
    const m = 3_500_000 / 3;
    const ss = (1_000_000 - m) ** 2 + (2_000_000 - m) ** 2 + (500_000 - m) ** 2;
    assertSome(run('corrected', activityFlow()), {
      active_mean: m,
      active_std: Math.sqrt(ss / 2),
      active_max: 2_000_000,
      active_min: 500_000,
      idle_mean: 8_500_000, // (6 + 11) / 2 s
      idle_std: Math.sqrt(2_500_000 ** 2 * 2), // +-2.5 s around the mean
      idle_max: 11_000_000,
      idle_min: 6_000_000,
      // 3 gaps over 1 s: 4 subflows; 5 fwd and 3 bwd packets of 10 B
      subflow_fwd_packets: 5 / 4,
      subflow_fwd_bytes: 50 / 4,
      subflow_bwd_packets: 3 / 4,
      subflow_bwd_bytes: 30 / 4,
    });
  });

  it('cic mode: only closed periods count, and subflows are the totals', () => {
    assertSome(run('cic', activityFlow()), {
      active_mean: 1_500_000, // 1.0 s and 2.0 s; the open period is dropped
      active_std: Math.sqrt(500_000 ** 2 * 2),
      active_max: 2_000_000,
      active_min: 1_000_000,
      idle_mean: 8_500_000,
      idle_std: Math.sqrt(2_500_000 ** 2 * 2),
      idle_max: 11_000_000,
      idle_min: 6_000_000,
      // UDP with 10 B payloads in 52-byte frames: 18 B each with padding
      subflow_fwd_packets: 5,
      subflow_fwd_bytes: 90,
      subflow_bwd_packets: 3,
      subflow_bwd_bytes: 54,
    });
  });

  it('a single-packet active period: kept as 0 in corrected, dropped in cic', () => {
    const pkts: Pkt[] = [
      ['F', 0, udp(10)],
      ['F', 6_000_000, udp(10)],
    ];
    // corrected: periods [0,0] and [6,6] -> two zero-length periods; idle 6 s
    assertSome(run('corrected', pkts), { active_mean: 0, active_max: 0, active_min: 0, idle_mean: 6_000_000 });
    // cic: the zero-length period is not added, the last never closes
    assertSome(run('cic', pkts), { active_mean: 0, active_max: 0, idle_mean: 6_000_000, idle_min: 6_000_000 });
  });

  it('the activity timeout is configurable and strict (a gap equal to it is not idle)', () => {
    const pkts: Pkt[] = [
      ['F', 0, udp(10)],
      ['B', 2_000_000, udp(10)],
      ['F', 3_000_001, udp(10)],
    ];
    // timeout 2 s: 2.0 s is not > 2 s; 1.000001 s is not either
    assertSome(run('corrected', pkts, { activityTimeoutUs: 2_000_000 }), { idle_mean: 0, active_mean: 3_000_001 });
    // timeout 1 s: both gaps are idle; active periods 0, 0, 0
    assertSome(run('corrected', pkts, { activityTimeoutUs: 1_000_000 }), {
      idle_mean: 3_000_001 / 2,
      idle_max: 2_000_000,
      idle_min: 1_000_001,
      active_mean: 0,
    });
  });

  it('cic mode: a FIN packet does not update the active period', () => {
    // #2 is a FIN 6 s later: CICFlowMeter adds it without calling updateActiveIdleTime.
    const pkts: Pkt[] = [
      ['F', 0, tcp(0, ACK)],
      ['F', 6_000_000, tcp(0, FIN | ACK)],
    ];
    assertSome(run('cic', pkts), { idle_mean: 0, active_mean: 0 });
    assertSome(run('corrected', pkts), { idle_mean: 6_000_000 });
  });
});

describe('CicAccumulator, TCP windows, flags and segment sizes', () => {
  it('Init_Win: -1 in cic and undefined in corrected when no backward packet', () => {
    // a SYN scan probe and its retransmission: no answer
    const pkts: Pkt[] = [
      ['F', 0, tcp(0, SYN, 1024, 24)],
      ['F', 1_000_000, tcp(0, SYN, 2048, 24)],
    ];
    assertSome(run('cic', pkts), { init_win_bytes_fwd: 1024, init_win_bytes_bwd: -1, min_seg_size_fwd: 24 });
    assertSome(run('corrected', pkts), { init_win_bytes_fwd: 1024, init_win_bytes_bwd: Number.NaN });
  });

  it('Init_Win backward: first backward window (corrected) vs last one (cic)', () => {
    const pkts: Pkt[] = [
      ['F', 0, tcp(0, SYN, 64240, 40)],
      ['B', 10, tcp(0, SYN | ACK, 65160, 40)],
      ['F', 20, tcp(0, ACK, 502, 32)],
      ['B', 30, tcp(5, PSH | ACK, 509, 32)],
    ];
    assertSome(run('corrected', pkts), { init_win_bytes_fwd: 64240, init_win_bytes_bwd: 65160, min_seg_size_fwd: 32 });
    assertSome(run('cic', pkts), { init_win_bytes_fwd: 64240, init_win_bytes_bwd: 509, min_seg_size_fwd: 32 });
  });

  it('flag counts: every packet in corrected; first packet, permuted, in cic', () => {
    // first packet carries RST, PSH, URG, ECE and CWR (a crafted probe), then ordinary segments
    const pkts: Pkt[] = [
      ['F', 0, tcp(10, RST | PSH | URG | ECE | CWR)],
      ['B', 10, tcp(10, SYN | ACK | URG)],
      ['F', 20, tcp(10, FIN | ACK | PSH)],
    ];
    assertSome(run('corrected', pkts), {
      fin_flag_count: 1,
      syn_flag_count: 1,
      rst_flag_count: 1,
      psh_flag_count: 2,
      ack_flag_count: 2,
      urg_flag_count: 2,
      cwr_flag_count: 1,
      ece_flag_count: 1,
      fwd_psh_flags: 2,
      bwd_psh_flags: 0,
      fwd_urg_flags: 1,
      bwd_urg_flags: 1,
    });
    // columns FIN..ECE hold RST PSH ECE SYN ACK FIN URG CWR of the first packet
    assertSome(run('cic', pkts), {
      fin_flag_count: 1, // RST
      syn_flag_count: 1, // PSH
      rst_flag_count: 1, // ECE
      psh_flag_count: 0, // SYN
      ack_flag_count: 0, // ACK
      urg_flag_count: 0, // FIN
      cwr_flag_count: 1, // URG
      ece_flag_count: 1, // CWR
      fwd_psh_flags: 1,
      bwd_psh_flags: 0,
      fwd_urg_flags: 1,
      bwd_urg_flags: 0,
    });
  });

  it('cic mode: a flow that starts with FIN|ACK (a TCP appendix) reports it under URG and ACK', () => {
    const pkts: Pkt[] = [
      ['F', 0, tcp(0, FIN | ACK)],
      ['B', 10, tcp(0, ACK)],
    ];
    assertSome(run('cic', pkts), {
      fin_flag_count: 0,
      syn_flag_count: 0,
      psh_flag_count: 0,
      ack_flag_count: 1,
      urg_flag_count: 1, // FIN
      cwr_flag_count: 0,
    });
    assertSome(run('corrected', pkts), { fin_flag_count: 1, ack_flag_count: 2, urg_flag_count: 0 });
  });

  it('min_seg_size_forward is the smallest forward header, backward headers ignored', () => {
    const pkts: Pkt[] = [
      ['F', 0, tcp(0, SYN, 100, 44)],
      ['B', 5, tcp(0, SYN | ACK, 100, 20)],
      ['F', 9, tcp(0, ACK, 100, 32)],
    ];
    for (const mode of ['cic', 'corrected'] as const) {
      assertSome(run(mode, pkts), { min_seg_size_fwd: 32, fwd_header_length: 76, bwd_header_length: 20 });
    }
  });
});

describe('CicAccumulator, IPv6 and ICMP', () => {
  it('corrected mode: ICMP echo over IPv4, 8-byte ICMP header, payload lengths', () => {
    const pkts: Pkt[] = [
      ['F', 0, icmp(56, false)],
      ['B', 400, icmp(56, false)],
      ['F', 1_000_400, icmp(56, false)],
      ['B', 1_000_800, icmp(56, false)],
    ];
    assertSome(run('corrected', pkts), {
      total_length_fwd_packets: 112,
      total_length_bwd_packets: 112,
      fwd_packet_length_mean: 56,
      fwd_header_length: 16,
      bwd_header_length: 16,
      act_data_pkt_fwd: 2,
      min_seg_size_fwd: 8,
      init_win_bytes_fwd: Number.NaN,
      flow_iat_max: 1_000_000,
      flow_iat_min: 400,
      fwd_iat_total: 1_000_400,
      subflow_fwd_packets: 2, // gaps 400 µs, 1.0000 s, 400 µs: none over 1 s
    });
  });

  it('corrected mode: ICMPv6 over IPv6', () => {
    const pkts: Pkt[] = [
      ['F', 0, icmp(32, true)],
      ['B', 250, icmp(32, true)],
    ];
    assertSome(run('corrected', pkts), {
      flow_duration: 250,
      total_length_fwd_packets: 32,
      total_length_bwd_packets: 32,
      fwd_header_length: 8,
      packet_length_mean: 32,
      packet_length_variance: 0,
      down_up_ratio: 1,
    });
  });

  it('cic mode: ICMP carries no length or header, as CICFlowMeter saw it (protocol 0)', () => {
    const pkts: Pkt[] = [
      ['F', 0, icmp(56, false)],
      ['B', 400, icmp(56, false)],
    ];
    assertSome(run('cic', pkts), {
      total_length_fwd_packets: 0,
      total_length_bwd_packets: 0,
      fwd_header_length: 0,
      init_win_bytes_fwd: -1,
      flow_packets_per_s: 2 / 0.0004,
    });
  });

  it('corrected mode: IPv6 TCP decoded from a frame', () => {
    // 2001:db8::1:40000 -> 2001:db8::2:443, TCP header 20 bytes, 10 payload bytes
    const v6 = ipv6TcpFrame(10);
    const p = decodeHex(v6);
    assert.equal(p.ipVersion, 6);
    const out = run('corrected', [['F', 0, p]]);
    assertSome(out, { total_length_fwd_packets: 10, fwd_header_length: 20, init_win_bytes_fwd: 5000 });
  });
});

describe('CicAccumulator, decoded frames and lengths', () => {
  it('a 60-byte pure ACK: 6 padding bytes are payload for cic, not for corrected', () => {
    const p = decodeHex(ipv4TcpFrame({ flags: ACK, payload: 0, pad: 6 }));
    assert.equal(p.capturedLength, 60);
    assertSome(run('cic', [['F', 0, p]]), { total_length_fwd_packets: 6 });
    const q = decodeHex(ipv4TcpFrame({ flags: ACK, payload: 0, pad: 6 }));
    assertSome(run('corrected', [['F', 0, q]]), { total_length_fwd_packets: 0 });
  });

  it('a capture cut by the snaplen: corrected uses the IP length, cic the captured bytes', () => {
    const full = ipv4TcpFrame({ flags: PSH | ACK, payload: 1000, pad: 0 });
    const cut = full.slice(0, 100 * 2); // 100 captured bytes of 1054
    const p = decodeHex(cut, 1, 1054);
    assert.equal(p.truncated, true);
    assertSome(run('corrected', [['F', 0, p]]), { total_length_fwd_packets: 1000 });
    const q = decodeHex(cut, 1, 1054);
    assertSome(run('cic', [['F', 0, q]]), { total_length_fwd_packets: 100 - 54 });
  });
});

describe('CicAccumulator, edge cases and state', () => {
  it('cic mode: one-packet flow has NaN flow IAT and Java-style rates', () => {
    const out = named(run('cic', [['F', 0, tcp(0, SYN, 8192, 40)]]));
    assert.ok(Number.isNaN(out.flow_iat_mean!));
    assert.ok(Number.isNaN(out.flow_iat_min!));
    assert.ok(Number.isNaN(out.flow_bytes_per_s!)); // 0 B / 0 s
    assert.equal(out.flow_packets_per_s, Number.POSITIVE_INFINITY); // 1 / 0 s
    assert.equal(out.fwd_packets_per_s, 0); // guarded in CICFlowMeter
  });

  it('corrected mode: zero duration gives zero rates, never NaN or Infinity', () => {
    const out = run('corrected', [
      ['F', 0, udp(10)],
      ['B', 0, udp(10)],
    ]);
    const v = named(out);
    assert.equal(v.flow_bytes_per_s, 0);
    assert.equal(v.flow_packets_per_s, 0);
    for (let i = 0; i < out.length; i++) {
      const name = CIC_FEATURES[i]!.name;
      if (name.startsWith('init_win')) continue;
      assert.ok(Number.isFinite(out[i]!), `${name} is finite`);
    }
  });

  it('cic mode keeps a capture going backwards in time (negative gaps); corrected clamps them', () => {
    const pkts: Pkt[] = [
      ['F', 1000, udp(10)],
      ['B', 900, udp(10)],
      ['F', 1500, udp(10)],
    ];
    // cic: gaps -100 and 600, duration 500
    assertSome(run('cic', pkts), { flow_duration: 500, flow_iat_min: -100, flow_iat_max: 600, flow_iat_mean: 250 });
    // corrected: the backward packet counts at 1000: gaps 0 and 500
    assertSome(run('corrected', pkts), { flow_duration: 500, flow_iat_min: 0, flow_iat_max: 500 });
  });

  it('start overwrites a reused slot, and slots are independent', () => {
    const acc = new CicAccumulator({ mode: 'corrected' }, 2);
    acc.start(0, tcp(0, SYN, 8192, 40), T0);
    acc.start(1, udp(500), T0 + 5);
    acc.add(0, tcp(100, PSH | ACK), T0 + 10, true);
    acc.add(1, udp(100), T0 + 20, false);
    const out = new Float64Array(CIC_FEATURE_COUNT);
    acc.values(0, out);
    assertSome(out, { total_fwd_packets: 2, total_length_fwd_packets: 100, flow_duration: 10, syn_flag_count: 1 });
    acc.values(1, out);
    assertSome(out, { total_fwd_packets: 1, total_bwd_packets: 1, total_length_fwd_packets: 500, flow_duration: 15 });
    // reuse slot 0 for a new flow: nothing of the old one remains
    acc.start(0, udp(7), T0 + 100);
    acc.values(0, out);
    assertSome(out, { total_fwd_packets: 1, total_length_fwd_packets: 7, syn_flag_count: 0, flow_duration: 0 });
    assert.equal(acc.fwdPackets(0), 1);
    assert.equal(acc.firstSeenUs(0), T0 + 100);
  });

  it('ensureCapacity grows and keeps the contents; values does not change the state', () => {
    const acc = new CicAccumulator({ mode: 'cic' }, 1);
    acc.start(0, tcp(10, ACK), T0);
    acc.add(0, tcp(20, ACK), T0 + 10, false);
    const before = new Float64Array(CIC_FEATURE_COUNT);
    acc.values(0, before);
    acc.ensureCapacity(5000);
    assert.ok(acc.slots >= 5000);
    const after = new Float64Array(CIC_FEATURE_COUNT);
    acc.values(0, after);
    assert.deepEqual([...after], [...before]);
    acc.start(4999, udp(1), T0);
    acc.values(0, after);
    assert.deepEqual([...after], [...before]);
  });

  it('bytesPerFlow stays within the per-flow budget', () => {
    const cic = new CicAccumulator({ mode: 'cic' });
    const corrected = new CicAccumulator({ mode: 'corrected' });
    assert.ok(cic.bytesPerFlow <= 240, `cic ${cic.bytesPerFlow}`);
    assert.ok(corrected.bytesPerFlow <= 320, `corrected ${corrected.bytesPerFlow}`);
    assert.ok(cic.bytesPerFlow % 8 === 0 && corrected.bytesPerFlow % 8 === 0);
  });

  it('standard deviations stay exact on long flows with large, nearly equal values', () => {
    // 200k packets: lengths alternate 1460/1461, gaps alternate 1 s +- 1 µs. Reference: two passes.
    const n = 200_000;
    const acc = new CicAccumulator({ mode: 'corrected' }, 1);
    const lens: number[] = [];
    const times: number[] = [];
    let t = T0;
    for (let i = 0; i < n; i++) {
      const len = 1460 + (i % 2);
      if (i > 0) t += 1_000_000 + (i % 2 === 0 ? 1 : -1);
      lens.push(len);
      times.push(t);
      if (i === 0) acc.start(0, udp(len), t);
      else acc.add(0, udp(len), t, true);
    }
    const sd = (xs: number[]): number => {
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
    };
    const gaps = times.slice(1).map((x, i) => x - times[i]!);
    const out = named(
      ((): Float64Array => {
        const o = new Float64Array(CIC_FEATURE_COUNT);
        acc.values(0, o);
        return o;
      })(),
    );
    const rel = (a: number, b: number) => Math.abs(a - b) / b;
    assert.ok(
      rel(out.fwd_packet_length_std!, sd(lens)) < 1e-9,
      `length std ${out.fwd_packet_length_std} vs ${sd(lens)}`,
    );
    assert.ok(rel(out.fwd_iat_std!, sd(gaps)) < 1e-9, `iat std ${out.fwd_iat_std} vs ${sd(gaps)}`);
    assert.ok(rel(out.flow_iat_std!, sd(gaps)) < 1e-9);
    assert.ok(rel(out.packet_length_std!, sd(lens)) < 1e-9);
  });
});

// ---- header and CSV ----

// The TrafficLabelling header of the CICIDS2017 CSVs (e.g. Monday-WorkingHours.pcap_ISCX.csv),
// copied column by column with its spacing.
const CICIDS2017_HEADER =
  'Flow ID, Source IP, Source Port, Destination IP, Destination Port, Protocol, Timestamp, Flow Duration,' +
  ' Total Fwd Packets, Total Backward Packets,Total Length of Fwd Packets, Total Length of Bwd Packets,' +
  ' Fwd Packet Length Max, Fwd Packet Length Min, Fwd Packet Length Mean, Fwd Packet Length Std,' +
  'Bwd Packet Length Max, Bwd Packet Length Min, Bwd Packet Length Mean, Bwd Packet Length Std,' +
  'Flow Bytes/s, Flow Packets/s, Flow IAT Mean, Flow IAT Std, Flow IAT Max, Flow IAT Min,' +
  'Fwd IAT Total, Fwd IAT Mean, Fwd IAT Std, Fwd IAT Max, Fwd IAT Min,' +
  'Bwd IAT Total, Bwd IAT Mean, Bwd IAT Std, Bwd IAT Max, Bwd IAT Min,' +
  'Fwd PSH Flags, Bwd PSH Flags, Fwd URG Flags, Bwd URG Flags, Fwd Header Length, Bwd Header Length,' +
  'Fwd Packets/s, Bwd Packets/s, Min Packet Length, Max Packet Length, Packet Length Mean,' +
  ' Packet Length Std, Packet Length Variance,FIN Flag Count, SYN Flag Count, RST Flag Count,' +
  ' PSH Flag Count, ACK Flag Count, URG Flag Count, CWE Flag Count, ECE Flag Count, Down/Up Ratio,' +
  ' Average Packet Size, Avg Fwd Segment Size, Avg Bwd Segment Size, Fwd Header Length,' +
  'Fwd Avg Bytes/Bulk, Fwd Avg Packets/Bulk, Fwd Avg Bulk Rate, Bwd Avg Bytes/Bulk, Bwd Avg Packets/Bulk,' +
  'Bwd Avg Bulk Rate,Subflow Fwd Packets, Subflow Fwd Bytes, Subflow Bwd Packets, Subflow Bwd Bytes,' +
  'Init_Win_bytes_forward, Init_Win_bytes_backward, act_data_pkt_fwd, min_seg_size_forward,' +
  'Active Mean, Active Std, Active Max, Active Min,Idle Mean, Idle Std, Idle Max, Idle Min, Label';

describe('CICIDS2017 header', () => {
  it('has 85 columns matching the published CSV column for column', () => {
    const expected = CICIDS2017_HEADER.split(',');
    assert.equal(expected.length, 85);
    assert.equal(CIC_HEADER.length, 85);
    for (let i = 0; i < 85; i++) assert.equal(CIC_HEADER[i], expected[i], `column ${i + 1}`);
    assert.equal(cicCsvHeader(), CICIDS2017_HEADER);
  });

  it('keeps the duplicate Fwd Header Length and the CWE spelling; names are unique snake_case', () => {
    assert.equal(CIC_HEADER.filter((h) => h === ' Fwd Header Length').length, 2);
    assert.ok(CIC_HEADER.includes(' CWE Flag Count'));
    assert.equal(CIC_FEATURES.length, 77);
    const names = CIC_FEATURES.map((f) => f.name);
    assert.equal(new Set(names).size, 77);
    for (const n of names) assert.match(n, /^[a-z][a-z0-9_]*$/);
    for (const f of CIC_FEATURES) assert.ok(f.doc.length > 0);
  });
});

function record(features: Float64Array | null, over: Partial<FlowRecord> = {}): FlowRecord {
  return {
    flow_id: 1,
    flow_uid: '0123456789abcdef',
    community_id: '1:x',
    first_seen_us: Date.UTC(2017, 6, 3, 13, 55, 58) * 1000 + 123456,
    last_seen_us: 0,
    duration_us: 0,
    ip_version: 4,
    protocol: 6,
    protocol_name: 'tcp',
    src_ip: '104.16.207.165',
    src_port: 443,
    dest_ip: '192.168.10.5',
    dest_port: 54865,
    vlan_id: -1,
    tunnel_type: '',
    fwd_packets: 0,
    bwd_packets: 0,
    fwd_bytes: 0,
    bwd_bytes: 0,
    fwd_payload_bytes: 0,
    bwd_payload_bytes: 0,
    fwd_tcp_flags: 0,
    bwd_tcp_flags: 0,
    end_reason: 'fin',
    partial: false,
    features,
    ...over,
  };
}

describe('docs/flows.md', () => {
  it('documents every column: header text, name and number', () => {
    const doc = fs.readFileSync(new URL('../../docs/flows.md', import.meta.url), 'utf8');
    CIC_FEATURES.forEach((f, i) => {
      assert.ok(doc.includes(`| ${i + 8} | \`${f.header}\` | \`${f.name}\` |`), `row of ${f.name}`);
    });
    assert.ok(doc.includes('| 85 | ` Label` |'));
  });
});

describe('cicCsvRow', () => {
  it('writes 85 fields: identity from the record, features, label', () => {
    const features = run('cic', tcpFlow());
    const row = cicCsvRow(record(features), 'BENIGN');
    const fields = row.split(',');
    assert.equal(fields.length, 85);
    assert.equal(fields[0], '192.168.10.5-104.16.207.165-54865-443-6');
    assert.deepEqual(fields.slice(1, 7), [
      '104.16.207.165',
      '443',
      '192.168.10.5',
      '54865',
      '6',
      '03/07/2017 01:55:58',
    ]);
    assert.equal(fields[7], '1300');
    assert.equal(fields[84], 'BENIGN');
    assert.equal(Number(fields[7 + 65]), 8192);
  });

  it('cic: other protocols are protocol 0 without ports; non-finite values as Java prints them', () => {
    const features = run('cic', [['F', 0, icmp(56, false)]]);
    const fields = cicCsvRow(record(features, { protocol: 1, src_port: 8, dest_port: 0 }), 'BENIGN').split(',');
    assert.equal(fields.length, 85);
    assert.deepEqual([fields[2], fields[4], fields[5]], ['0', '0', '0']);
    assert.equal(fields[7 + 13], 'NaN'); // Flow Bytes/s, 0 / 0
    assert.equal(fields[7 + 14], 'Infinity'); // Flow Packets/s, 1 / 0
  });

  it('corrected: real protocol and ports, 24-hour time, undefined values empty, label quoted', () => {
    const features = run('corrected', [['F', 0, icmp(56, false)]]);
    const row = cicCsvRow(record(features, { protocol: 1, src_port: 8, dest_port: 0 }), 'scan, "ping"', 'corrected');
    assert.ok(row.endsWith(',"scan, ""ping"""'));
    const fields = row.slice(0, row.lastIndexOf(',"scan')).split(',');
    assert.equal(fields.length, 84);
    assert.equal(fields[5], '1');
    assert.equal(fields[6], '03/07/2017 13:55:58');
    assert.equal(fields[7 + 65], ''); // Init_Win_bytes_forward: no TCP
  });

  it('a record without features still has 85 fields', () => {
    assert.equal(cicCsvRow(record(null), 'BENIGN').split(',').length, 85);
  });
});

describe('cicFlowId and cicTimestamp', () => {
  it('orders addresses by their signed bytes, as CICFlowMeter', () => {
    // 192 is -64 as a Java byte: 192.168.x.x sorts before 104.x.x.x and before 10.x.x.x
    assert.equal(cicFlowId('10.0.0.1', 1234, '192.168.0.1', 80, 6), '192.168.0.1-10.0.0.1-80-1234-6');
    assert.equal(cicFlowId('10.0.0.1', 1234, '10.0.0.2', 80, 17), '10.0.0.1-10.0.0.2-1234-80-17');
    assert.equal(cicFlowId('10.0.0.9', 1234, '10.0.0.2', 80, 17), '10.0.0.2-10.0.0.9-80-1234-17');
    // same address: source first, ports not compared
    assert.equal(cicFlowId('10.0.0.1', 9, '10.0.0.1', 1, 17), '10.0.0.1-10.0.0.1-9-1-17');
    assert.equal(cicFlowId('2001:db8::2', 1, '2001:db8::1', 2, 6), '2001:db8::1-2001:db8::2-2-1-6');
    assert.equal(cicFlowId('fe80::1', 1, '2001:db8::1', 2, 6), 'fe80::1-2001:db8::1-1-2-6');
  });

  it('formats dd/MM/yyyy hh:mm:ss in UTC, 12-hour clock without AM/PM in cic', () => {
    const t = Date.UTC(2017, 6, 7, 15, 56, 1) * 1000;
    assert.equal(cicTimestamp(t, 'cic'), '07/07/2017 03:56:01');
    assert.equal(cicTimestamp(t, 'corrected'), '07/07/2017 15:56:01');
    const midnight = Date.UTC(2017, 6, 3, 0, 5, 9) * 1000;
    assert.equal(cicTimestamp(midnight, 'cic'), '03/07/2017 12:05:09');
    assert.equal(cicTimestamp(midnight, 'corrected'), '03/07/2017 00:05:09');
  });

  it('is empty for a time beyond the calendar', () => {
    assert.equal(cicTimestamp(9007199254740992 * 1e6, 'cic'), '');
    assert.equal(cicTimestamp(-9e21, 'corrected'), '');
  });
});

// ---- frame builders for the decoder-backed tests ----

function hex(bytes: number[]): string {
  return Buffer.from(bytes).toString('hex');
}

function ipv4Checksum(h: number[]): number {
  let s = 0;
  for (let i = 0; i < h.length; i += 2) s += (h[i]! << 8) | h[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >> 16);
  return ~s & 0xffff;
}

/** Ethernet + IPv4 (10.0.0.1 -> 10.0.0.2) + TCP 40000 -> 80 (20-byte header), `pad` trailing bytes. */
function ipv4TcpFrame(o: { flags: number; payload: number; pad: number }): string {
  const total = 20 + 20 + o.payload;
  const ip = [0x45, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
  const c = ipv4Checksum(ip);
  ip[10] = c >> 8;
  ip[11] = c & 0xff;
  const tcpHdr = [0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, o.flags, 0x13, 0x88, 0, 0, 0, 0];
  const eth = [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00];
  return hex([
    ...eth,
    ...ip,
    ...tcpHdr,
    ...new Array<number>(o.payload).fill(0x61),
    ...new Array<number>(o.pad).fill(0),
  ]);
}

/** Ethernet + IPv6 (2001:db8::1 -> 2001:db8::2) + TCP 40000 -> 443, window 5000. */
function ipv6TcpFrame(payload: number): string {
  const plen = 20 + payload;
  const addr = (last: number) => [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];
  const ip = [0x60, 0, 0, 0, plen >> 8, plen & 0xff, 6, 64, ...addr(1), ...addr(2)];
  const tcpHdr = [0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, ACK | PSH, 0x13, 0x88, 0, 0, 0, 0];
  const eth = [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x86, 0xdd];
  return hex([...eth, ...ip, ...tcpHdr, ...new Array<number>(payload).fill(0x62)]);
}
