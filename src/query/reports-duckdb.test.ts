/**
 * The DuckDB reports over a store with hand-made rows whose answers are worked out below: the
 * latest state of a flow (final first, else the newest partial), one count per flow_uid across
 * runs, window ends, protocol filter and tie order of the top lists, epoch-aligned traffic
 * steps, distinct alerts, host text normalisation, and the open and parameter errors.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { anomaly, flowRecord, holdStore, metricWindow, T0, tempStore } from '../../test/helpers/store-records.ts';
import { isPipelineError } from '../core/errors.ts';
import type { ReportParams } from '../core/reports.ts';
import type { FlowRecord, MetricWindow } from '../flow/records.ts';
import { openDuckDBStore } from '../sinks/db/duckdb-store.ts';
import { DuckDBReports } from './reports-duckdb.ts';

const { dir, path: db } = tempStore();
after(() => fs.rmSync(dir, { recursive: true, force: true }));

type FlowSpec = [string, string, number, string, number, number, number, number, number, number, number];

/** A flow: uid, src, sport, dst, dport, protocol, first (µs after T0), fwd/bwd packets, fwd/bwd bytes. */
function flow(spec: FlowSpec, more: Partial<FlowRecord> = {}): FlowRecord {
  const [uid, src, sport, dst, dport, proto, first, fp, bp, fb, bb] = spec;
  const base = flowRecord(1, 1, { features: false });
  const name = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : proto === 1 ? 'icmp' : String(proto);
  return {
    ...base,
    flow_uid: uid,
    flow_id: Number.parseInt(uid.slice(1), 10),
    src_ip: src,
    src_port: sport,
    dest_ip: dst,
    dest_port: dport,
    protocol: proto,
    protocol_name: name,
    ip_version: src.includes(':') || dst.includes(':') ? 6 : 4,
    first_seen_us: T0 + first,
    last_seen_us: T0 + first + 1000,
    duration_us: 1000,
    fwd_packets: fp,
    bwd_packets: bp,
    fwd_bytes: fb,
    bwd_bytes: bb,
    end_reason: 'fin',
    partial: false,
    ...more,
  };
}

const F1: FlowSpec = ['f1', '10.0.0.1', 40000, '10.0.0.2', 443, 6, 1000, 10, 5, 1000, 500];
const F2: FlowSpec = ['f2', '10.0.0.1', 40001, '2001:db8::53', 53, 17, 2000, 4, 3, 400, 300];
// ICMP keeps type and code in the port columns: top-ports must still leave it out.
const F3: FlowSpec = ['f3', '10.0.0.3', 8, '10.0.0.1', 0, 1, 3000, 2, 2, 200, 200];
const F4: FlowSpec = ['f4', '10.0.0.4', 5000, '10.0.0.5', 3868, 132, 4000, 1, 1, 50, 50];
const F5: FlowSpec = ['f5', '10.0.0.9', 9, '10.0.0.9', 9, 17, 5000, 1, 0, 60, 0];
const F6: FlowSpec = ['f6', '10.0.0.2', 40002, '10.0.0.1', 443, 6, 6000, 3, 3, 300, 3000];
const F7: FlowSpec = ['f7', '10.0.0.7', 1, '10.0.0.2', 443, 6, 7000, 1, 1, 100, 100];
const F8: FlowSpec = ['f8', '10.0.0.8', 1, '10.0.0.10', 54, 17, 8000, 1, 0, 60, 0];

function window(i: number, packets: number, newFlows: number, windowS = 1): MetricWindow {
  return { ...metricWindow(i, windowS), packets, bytes: packets * 100, new_flows: newFlows };
}

before(async () => {
  const run1 = await openDuckDBStore({ path: db, label: 'one' });
  // f1: its final record is the state even though a partial claims a later last_seen.
  run1.addFlow(flow(F1, { partial: true, end_reason: 'update', last_seen_us: T0 + 9000, fwd_packets: 1 }));
  run1.addFlow(flow(F1));
  // f2 never finished: its newest partial is the state, whatever the insertion order.
  run1.addFlow(flow(F2, { partial: true, end_reason: 'update', last_seen_us: T0 + 6000 }));
  run1.addFlow(
    flow(F2, { partial: true, end_reason: 'update', last_seen_us: T0 + 5000, fwd_packets: 2, bwd_packets: 1 }),
  );
  for (const f of [F3, F4, F5, F6, F8]) run1.addFlow(flow(f));
  // 1 s windows at T0+0..6 s (2 and 5 without packets) and a 60 s window that must be ignored.
  for (const [i, p, n] of [
    [0, 10, 2],
    [1, 5, 1],
    [2, 0, 0],
    [3, 7, 0],
    [5, 0, 0],
    [6, 3, 1],
  ] as const) {
    run1.addMetrics(window(i, p, n));
  }
  run1.addMetrics(window(0, 1000, 9, 60));
  run1.addAnomaly(anomaly(3, 'tcp.truncated'));
  run1.addAnomaly(anomaly(3, 'ipv4.checksum_invalid'));
  run1.addAnomaly(anomaly(5, 'udp.len_invalid'));
  run1.addAnomaly({ ...anomaly(7, 'arp.len_invalid'), src_ip: '', dest_ip: '', protocol: 0 });
  await run1.close();
  // A second run of part of the same capture: f1, f6 and two alerts again, f7 new.
  const run2 = await openDuckDBStore({ path: db, label: 'two' });
  run2.addFlow(flow(F1));
  run2.addFlow(flow(F6));
  run2.addFlow(flow(F7));
  run2.addAnomaly(anomaly(3, 'ipv4.checksum_invalid'));
  run2.addAnomaly(anomaly(5, 'udp.len_invalid'));
  await run2.close();
});

async function report(name: Parameters<DuckDBReports['run']>[0], p: Partial<ReportParams> = {}) {
  const src = await DuckDBReports.open(db);
  try {
    return await src.run(name, { limit: 20, stepS: 60, ...p });
  } finally {
    await src.close();
  }
}

describe('DuckDBReports', () => {
  it('top-talkers: each flow once in its latest state, for both ends, across runs', async () => {
    const r = await report('top-talkers');
    assert.deepEqual(r.columns, ['host', 'flows', 'packets', 'bytes']);
    assert.deepEqual(r.rows, [
      ['10.0.0.1', 4, 32, 5900], // f1 (15, 1500), f2 (7, 700), f3 (4, 400), f6 (6, 3300)
      ['10.0.0.2', 3, 23, 5000], // f1, f6, f7 (2, 200)
      ['2001:db8::53', 1, 7, 700],
      ['10.0.0.3', 1, 4, 400],
      ['10.0.0.7', 1, 2, 200],
      ['10.0.0.4', 1, 2, 100],
      ['10.0.0.5', 1, 2, 100],
      // Equal bytes and packets: by address text. f5 has one address at both ends: once.
      ['10.0.0.10', 1, 1, 60],
      ['10.0.0.8', 1, 1, 60],
      ['10.0.0.9', 1, 1, 60],
    ]);
    assert.deepEqual((await report('top-talkers', { limit: 2 })).rows.length, 2);
  });

  it('top-ports: TCP, UDP and SCTP responder ports; ties by flows, protocol, then port as a number', async () => {
    const r = await report('top-ports');
    assert.deepEqual(r.columns, ['protocol_name', 'port', 'flows', 'packets', 'bytes']);
    assert.deepEqual(r.rows, [
      ['tcp', 443, 3, 23, 5000],
      ['udp', 53, 1, 7, 700],
      ['132', 3868, 1, 2, 100],
      ['udp', 9, 1, 1, 60],
      ['udp', 54, 1, 1, 60],
    ]);
  });

  it('the window is [from, to) on first_seen_us', async () => {
    const p = { fromUs: T0 + 2000, toUs: T0 + 6000 };
    assert.deepEqual((await report('top-talkers', p)).rows, [
      ['10.0.0.1', 2, 11, 1100],
      ['2001:db8::53', 1, 7, 700],
      ['10.0.0.3', 1, 4, 400],
      ['10.0.0.4', 1, 2, 100],
      ['10.0.0.5', 1, 2, 100],
      ['10.0.0.9', 1, 1, 60],
    ]);
    assert.deepEqual((await report('top-ports', { toUs: T0 + 2000 })).rows, [['tcp', 443, 1, 15, 1500]]);
    assert.deepEqual((await report('top-ports', { fromUs: T0 + 8000 })).rows, [['udp', 54, 1, 1, 60]]);
    assert.deepEqual((await report('top-ports', { fromUs: T0 + 8001 })).rows, []);
  });

  it('host-flows: the flows of one address, any spelling of it, by first_seen_us', async () => {
    const r = await report('host-flows', { host: '2001:DB8:0:0::53' });
    assert.deepEqual(r.rows, [
      ['f2', T0 + 2000, T0 + 6000, 'udp', '10.0.0.1', 40001, '2001:db8::53', 53, 4, 3, 400, 300, 'update', true],
    ]);
    const h = await report('host-flows', { host: ' 10.0.0.1 ' });
    assert.deepEqual(
      h.rows.map((x) => [x[0], x[12], x[8]]),
      [
        ['f1', 'fin', 10],
        ['f2', 'update', 4],
        ['f3', 'fin', 2],
        ['f6', 'fin', 3],
      ],
    );
    assert.deepEqual(
      (await report('host-flows', { host: '10.0.0.1', fromUs: T0 + 2000, limit: 2 })).rows.map((x) => x[0]),
      ['f2', 'f3'],
    );
  });

  it('traffic: 1 s windows summed per epoch-aligned step, empty steps left out', async () => {
    const us = 1_000_000;
    const r = await report('traffic', { stepS: 1 });
    assert.deepEqual(r.columns, ['start_us', 'packets', 'bytes', 'new_flows']);
    assert.deepEqual(r.rows, [
      [T0, 10, 1000, 2],
      [T0 + us, 5, 500, 1],
      [T0 + 3 * us, 7, 700, 0],
      [T0 + 6 * us, 3, 300, 1],
    ]);
    assert.deepEqual((await report('traffic', { stepS: 2 })).rows, [
      [T0, 15, 1500, 3],
      [T0 + 2 * us, 7, 700, 0],
      [T0 + 6 * us, 3, 300, 1],
    ]);
    // A window starting inside a step still labels rows with the step's start.
    assert.deepEqual((await report('traffic', { stepS: 2, fromUs: T0 + us, toUs: T0 + 6 * us })).rows, [
      [T0, 5, 500, 1],
      [T0 + 2 * us, 7, 700, 0],
    ]);
  });

  it('alerts: each anomaly once, by time, frame number and code, within [from, to)', async () => {
    const r = await report('alerts');
    assert.deepEqual(r.rows, [
      [T0 + 3, 3, 'ipv4.checksum_invalid', '10.0.0.1', '10.0.0.2', 6],
      [T0 + 3, 3, 'tcp.truncated', '10.0.0.1', '10.0.0.2', 6],
      [T0 + 5, 5, 'udp.len_invalid', '10.0.0.1', '10.0.0.2', 6],
      [T0 + 7, 7, 'arp.len_invalid', '', '', 0],
    ]);
    assert.deepEqual((await report('alerts', { fromUs: T0 + 5, toUs: T0 + 7 })).rows.length, 1);
    assert.deepEqual((await report('alerts', { limit: 1 })).rows, [r.rows[0]]);
  });

  it('answers several reports at once on one source', async () => {
    const src = await DuckDBReports.open(db);
    try {
      const p = { limit: 20, stepS: 1 };
      const [a, b, c] = await Promise.all([src.run('top-ports', p), src.run('alerts', p), src.run('traffic', p)]);
      assert.equal(a.rows.length, 5);
      assert.equal(b.rows.length, 4);
      assert.equal(c.rows.length, 4);
    } finally {
      await src.close();
    }
    await assert.rejects(src.run('alerts', { limit: 1, stepS: 1 }), /closed/);
  });

  it('rows without flow_uid (written before it existed) count per run and flow id', async () => {
    const { dir: d2, path: old } = tempStore();
    try {
      const s = await openDuckDBStore({ path: old });
      s.addFlow(flow(F1));
      await s.close();
      const inst = await DuckDBInstance.create(old);
      const conn = await inst.connect();
      // Run 1 flow 50 as a partial and its final record, and run 2 flow 50: two flows.
      for (const [run, partial] of [
        [1, true],
        [1, false],
        [2, false],
      ] as const) {
        await conn.run(
          `INSERT INTO flows SELECT * REPLACE (NULL AS flow_uid, 50 AS flow_id, ${run} AS run_id, ${partial} AS partial) FROM flows WHERE flow_uid = 'f1'`,
        );
      }
      conn.closeSync();
      inst.closeSync();
      const src = await DuckDBReports.open(old);
      try {
        assert.deepEqual((await src.run('top-ports', { limit: 5, stepS: 1 })).rows, [['tcp', 443, 3, 45, 4500]]);
      } finally {
        await src.close();
      }
    } finally {
      fs.rmSync(d2, { recursive: true, force: true });
    }
  });

  it('refuses bad parameters with PCS_USAGE before running SQL', async () => {
    const src = await DuckDBReports.open(db);
    try {
      const usage = (e: unknown) => isPipelineError(e) && e.code === 'PCS_USAGE';
      await assert.rejects(src.run('host-flows', { limit: 5, stepS: 1 }), usage);
      await assert.rejects(src.run('host-flows', { host: 'example.com', limit: 5, stepS: 1 }), usage);
      await assert.rejects(src.run('alerts', { fromUs: 5, toUs: 5, limit: 5, stepS: 1 }), usage);
      await assert.rejects(src.run('alerts', { limit: 0, stepS: 1 }), usage);
      await assert.rejects(src.run('traffic', { limit: 5, stepS: 0.5 }), usage);
      await assert.rejects(
        src.run('nope' as 'alerts', { limit: 5, stepS: 1 }),
        /no report 'nope'; reports: top-talkers/,
      );
      // Text that looks like SQL is only ever a bound value (and here not an address).
      await assert.rejects(src.run('host-flows', { host: "1' OR '1'='1", limit: 5, stepS: 1 }), usage);
    } finally {
      await src.close();
    }
  });

  it('says why a store cannot be opened', async () => {
    const open = (p: string) => DuckDBReports.open(p);
    const storeOpen = (re: RegExp) => (e: unknown) =>
      isPipelineError(e) && e.code === 'PCS_STORE_OPEN' && re.test(e.message);
    await assert.rejects(open(path.join(dir, 'missing.duckdb')), storeOpen(/no store at .*--store names another/));
    const text = path.join(dir, 'text.duckdb');
    fs.writeFileSync(text, 'not a database\n'.repeat(1000));
    await assert.rejects(open(text), storeOpen(/is not a DuckDB database/));
    const other = path.join(dir, 'other.duckdb');
    const inst = await DuckDBInstance.create(other);
    (await inst.connect()).closeSync();
    inst.closeSync();
    await assert.rejects(open(other), storeOpen(/not a pcapstream store/));
    const holder = await holdStore(path.join(dir, 'held.duckdb'));
    try {
      await assert.rejects(
        open(path.join(dir, 'held.duckdb')),
        storeOpen(/in use by another process \(PID \d+\).*once the run has ended/),
      );
    } finally {
      holder.kill();
    }
  });
});
