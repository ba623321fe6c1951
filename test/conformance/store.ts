/**
 * Store conformance suite: what every `RecordStore` must do, checked through the canned reports
 * (the way analysts read a store). Each implementation's test file calls `storeConformance`
 * with a factory; DuckDB runs it on temp files, Cassandra against a real node.
 *
 * Each case writes, closes, then reads through a fresh `ReportSource`, so what is checked is
 * what reached the database, not what a writer holds in memory.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReportName, ReportParams, ReportSource } from '../../src/core/reports.ts';
import type { RecordStore } from '../../src/core/store.ts';
import { CIC_FEATURES } from '../../src/flow/cic-features.ts';
import type { AnomalyRecord, FlowRecord, MetricWindow } from '../../src/flow/records.ts';

export interface StoreUnderTest {
  /** A new, empty store address (file path or URL). */
  fresh(): Promise<string>;
  open(address: string, sensor: string): Promise<RecordStore>;
  reports(address: string): Promise<ReportSource>;
}

const T0 = 1_699_999_980_000_000; // µs, on a whole minute

/**
 * A flow record with counts derived from `n` so every flow differs.
 * @example
 * flow(1, { src_ip: '10.0.0.1' });
 */
export function flow(n: number, over: Partial<FlowRecord> = {}): FlowRecord {
  const first = over.first_seen_us ?? T0 + n * 1_000_000;
  const last = over.last_seen_us ?? first + 500_000;
  return {
    flow_id: n,
    flow_uid: n.toString(16).padStart(16, '0'),
    community_id: `1:test${n}`,
    first_seen_us: first,
    last_seen_us: last,
    duration_us: last - first,
    ip_version: 4,
    protocol: 6,
    protocol_name: 'tcp',
    src_ip: `10.0.0.${n % 250}`,
    src_port: 40_000 + n,
    dest_ip: '192.0.2.1',
    dest_port: 443,
    vlan_id: -1,
    tunnel_type: '',
    fwd_packets: n,
    bwd_packets: 2 * n,
    fwd_bytes: 100 * n,
    bwd_bytes: 1000 * n,
    fwd_payload_bytes: 10 * n,
    bwd_payload_bytes: 900 * n,
    fwd_tcp_flags: 0x02,
    bwd_tcp_flags: 0x12,
    end_reason: 'fin',
    partial: false,
    features: new Float64Array(CIC_FEATURES.length).map((_, i) => (i === 13 ? Number.NaN : i * n + 0.5)),
    ...over,
  };
}

function windowAt(startUs: number, packets: number, over: Partial<MetricWindow> = {}): MetricWindow {
  return {
    window_s: 1,
    start_us: startUs,
    packets,
    bytes: packets * 100,
    protocols: { tcp: { packets, bytes: packets * 100 } },
    new_flows: packets > 0 ? 1 : 0,
    ended_flows: 0,
    tcp_syn: 0,
    tcp_rst: 0,
    dns_queries: 0,
    dns_nxdomain: 0,
    anomalies: {},
    top_talkers: [{ key: '10.0.0.1', packets, bytes: packets * 100 }],
    top_ports: [],
    top_conversations: [],
    losses: { flows_evicted: 0 },
    ...over,
  };
}

function anomaly(frame: number, tsUs: number, code = 'ipv4.checksum_invalid'): AnomalyRecord {
  return { frame_number: frame, ts_us: tsUs, code, src_ip: '10.0.0.1', dest_ip: '192.0.2.1', protocol: 6 };
}

const ALL: ReportParams = { limit: 1000, stepS: 1 };

/**
 * Register the suite's tests under `name`.
 * @example
 * storeConformance('duckdb', { fresh, open, reports });
 */
export function storeConformance(name: string, s: StoreUnderTest): void {
  async function write(address: string, fill: (st: RecordStore) => void, sensor = 'sensor-a'): Promise<RecordStore> {
    const st = await s.open(address, sensor);
    fill(st);
    await st.close();
    return st;
  }

  async function report(address: string, r: ReportName, p: Partial<ReportParams> = {}): Promise<unknown[][]> {
    const src = await s.reports(address);
    try {
      return (await src.run(r, { ...ALL, ...p })).rows;
    } finally {
      await src.close();
    }
  }

  test(`${name}: close() makes every added record durable and counts it`, async () => {
    const at = await s.fresh();
    const st = await write(at, (w) => {
      for (let i = 1; i <= 300; i++) w.addFlow(flow(i));
      w.addMetrics(windowAt(T0, 5));
      w.addAnomaly(anomaly(1, T0));
    });
    assert.deepEqual([st.stats.flows, st.stats.metrics, st.stats.anomalies, st.stats.dropped], [300, 1, 1, 0]);
    const rows = await report(at, 'host-flows', { host: '192.0.2.1' });
    assert.equal(rows.length, 300);
    assert.equal((await report(at, 'alerts')).length, 1);
    assert.equal(st.losses().store_rows_dropped, 0);
  });

  test(`${name}: host-flows returns the documented columns and values, either direction`, async () => {
    const at = await s.fresh();
    const f = flow(7, { src_ip: '10.9.9.9', dest_ip: '2001:db8::1', ip_version: 6 });
    await write(at, (w) => w.addFlow(f));
    const expected = [
      f.flow_uid,
      f.first_seen_us,
      f.last_seen_us,
      'tcp',
      '10.9.9.9',
      f.src_port,
      '2001:db8::1',
      443,
      7,
      14,
      700,
      7000,
      'fin',
      false,
    ];
    assert.deepEqual(await report(at, 'host-flows', { host: '10.9.9.9' }), [expected]);
    assert.deepEqual(await report(at, 'host-flows', { host: '2001:db8::1' }), [expected]);
    assert.deepEqual(await report(at, 'host-flows', { host: '10.9.9.8' }), []);
  });

  test(`${name}: a flow stored again (redelivery, a second run) counts once`, async () => {
    const at = await s.fresh();
    await write(at, (w) => {
      for (let i = 1; i <= 20; i++) w.addFlow(flow(i));
      w.addFlow(flow(3));
    });
    await write(at, (w) => {
      for (let i = 1; i <= 20; i++) w.addFlow(flow(i));
    });
    assert.equal((await report(at, 'host-flows', { host: '192.0.2.1' })).length, 20);
    const top = await report(at, 'top-talkers', { limit: 1 });
    // 192.0.2.1 is in all 20 flows: packets 3n, bytes 1100n summed over n = 1..20.
    assert.deepEqual(top, [['192.0.2.1', 20, 3 * 210, 1100 * 210]]);
  });

  test(`${name}: a flow's latest state wins whatever order its records arrive in`, async () => {
    const at = await s.fresh();
    const first = T0 + 10_000_000;
    const p1 = flow(5, {
      first_seen_us: first,
      last_seen_us: first + 1e6,
      partial: true,
      end_reason: 'update',
      fwd_packets: 1,
    });
    const p2 = flow(5, {
      first_seen_us: first,
      last_seen_us: first + 2e6,
      partial: true,
      end_reason: 'update',
      fwd_packets: 2,
    });
    const fin = flow(5, { first_seen_us: first, last_seen_us: first + 2e6, fwd_packets: 3, end_reason: 'idle' });
    // Final, then the partial updates delivered again late.
    await write(at, (w) => {
      w.addFlow(p1);
      w.addFlow(fin);
    });
    await write(at, (w) => {
      w.addFlow(p2);
      w.addFlow(p1);
    });
    const rows = await report(at, 'host-flows', { host: fin.src_ip });
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0]![8], rows[0]![12], rows[0]![13]], [3, 'idle', false]);
    // A flow still open shows its newest partial update.
    const at2 = await s.fresh();
    await write(at2, (w) => {
      w.addFlow(p2);
      w.addFlow(p1);
    });
    const open = await report(at2, 'host-flows', { host: fin.src_ip });
    assert.deepEqual([open[0]![8], open[0]![12], open[0]![13]], [2, 'update', true]);
  });

  test(`${name}: windows are [from, to) on first_seen_us and span partitions`, async () => {
    const at = await s.fresh();
    // One flow every 20 s over 10 minutes: many time buckets.
    await write(at, (w) => {
      for (let i = 0; i < 30; i++) w.addFlow(flow(i + 1, { first_seen_us: T0 + i * 20_000_000 }));
    });
    const from = T0 + 100_000_000;
    const to = T0 + 400_000_000;
    const rows = await report(at, 'host-flows', { host: '192.0.2.1', fromUs: from, toUs: to });
    assert.deepEqual(
      rows.map((r) => r[1]),
      Array.from({ length: 15 }, (_, k) => from + k * 20_000_000),
    );
    assert.equal((await report(at, 'host-flows', { host: '192.0.2.1', toUs: T0 })).length, 0);
    assert.equal((await report(at, 'host-flows', { host: '192.0.2.1', fromUs: T0 })).length, 30);
    assert.equal((await report(at, 'host-flows', { host: '192.0.2.1', limit: 4 })).length, 4);
    const talkers = await report(at, 'top-talkers', { fromUs: from, toUs: to, limit: 100 });
    assert.equal(talkers.length, 16); // 15 initiators and the shared responder
  });

  test(`${name}: top lists aggregate, order and break ties as documented`, async () => {
    const at = await s.fresh();
    await write(at, (w) => {
      w.addFlow(
        flow(1, { src_ip: '10.0.0.1', dest_ip: '10.0.0.2', dest_port: 53, protocol: 17, protocol_name: 'udp' }),
      );
      w.addFlow(
        flow(2, { src_ip: '10.0.0.1', dest_ip: '10.0.0.3', dest_port: 53, protocol: 17, protocol_name: 'udp' }),
      );
      w.addFlow(flow(3, { src_ip: '10.0.0.4', dest_ip: '10.0.0.1', dest_port: 443 }));
      w.addFlow(flow(4, { src_ip: '10.0.0.5', dest_ip: '10.0.0.5', dest_port: 0, protocol: 1, protocol_name: 'icmp' }));
      // Same bytes as flow 3 on another port: the tie is broken by flows, then name and port.
      w.addFlow(flow(3, { flow_uid: 'ffff000000000003', src_ip: '10.0.0.6', dest_ip: '10.0.0.7', dest_port: 80 }));
    });
    assert.deepEqual(await report(at, 'top-talkers', { limit: 3 }), [
      ['10.0.0.1', 3, 18, 6600],
      ['10.0.0.5', 1, 12, 4400],
      ['10.0.0.4', 1, 9, 3300],
    ]);
    assert.deepEqual(await report(at, 'top-ports', { limit: 10 }), [
      ['udp', 53, 2, 9, 3300],
      ['tcp', 80, 1, 9, 3300],
      ['tcp', 443, 1, 9, 3300],
    ]);
  });

  test(`${name}: traffic sums 1 s windows per step, leaves out silence and 60 s windows`, async () => {
    const at = await s.fresh();
    await write(at, (w) => {
      for (let k = 0; k < 120; k++) w.addMetrics(windowAt(T0 + k * 1_000_000, k % 3 === 0 ? 0 : k));
      w.addMetrics(windowAt(T0, 999_999, { window_s: 60 }));
      w.addMetrics(windowAt(T0 + 5_000_000, 7), 'processor-2');
    });
    const rows = await report(at, 'traffic', { stepS: 60 });
    const sum = (lo: number, hi: number): number => {
      let t = 0;
      for (let k = lo; k < hi; k++) if (k % 3 !== 0) t += k;
      return t;
    };
    assert.deepEqual(rows, [
      [T0, sum(0, 60) + 7, (sum(0, 60) + 7) * 100, 40 + 1],
      [T0 + 60_000_000, sum(60, 120), sum(60, 120) * 100, 40],
    ]);
    const perSecond = await report(at, 'traffic', { stepS: 1, fromUs: T0, toUs: T0 + 4_000_000 });
    assert.deepEqual(perSecond, [
      [T0 + 1_000_000, 1, 100, 1],
      [T0 + 2_000_000, 2, 200, 1],
    ]);
  });

  test(`${name}: alerts in time order, windowed, once each`, async () => {
    const at = await s.fresh();
    await write(at, (w) => {
      w.addAnomaly(anomaly(3, T0 + 2_000_000, 'tcp.bad_offset'));
      w.addAnomaly(anomaly(2, T0 + 1_000_000, 'ipv4.ttl_zero'));
      w.addAnomaly(anomaly(2, T0 + 1_000_000, 'ipv4.checksum_invalid'));
      w.addAnomaly(anomaly(9, T0 + 900_000_000));
    });
    await write(at, (w) => w.addAnomaly(anomaly(3, T0 + 2_000_000, 'tcp.bad_offset')));
    const rows = await report(at, 'alerts', { toUs: T0 + 3_000_000 });
    assert.deepEqual(
      rows.map((r) => [r[0], r[1], r[2]]),
      [
        [T0 + 1_000_000, 2, 'ipv4.checksum_invalid'],
        [T0 + 1_000_000, 2, 'ipv4.ttl_zero'],
        [T0 + 2_000_000, 3, 'tcp.bad_offset'],
      ],
    );
    assert.deepEqual(rows[0]!.slice(3), ['10.0.0.1', '192.0.2.1', 6]);
    assert.equal((await report(at, 'alerts', { limit: 2 })).length, 2);
  });
}
