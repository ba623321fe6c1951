/**
 * The read model against a real store: the helpers return what was stored (latest record per
 * flow, windows, merged top lists, anomaly counts), arguments are validated, and the query
 * guard refuses everything that is not one read-only statement while accepting the usual ones.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { anomaly, flowRecord, metricWindow, T0, tempStore } from '../../test/helpers/store-records.ts';
import { isPipelineError } from '../core/errors.ts';
import type { FlowRecord } from '../flow/records.ts';
import { openDuckDBStore, SCHEMA_VERSION } from '../sinks/db/duckdb-store.ts';
import { FLOW_SCALAR_COLUMNS } from '../sinks/flow-format.ts';
import { ReadModel } from './read-model.ts';

const { dir, path } = tempStore();
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The stored flows: 1..30 final; 5 also had an earlier partial; 31 is open (two partials). */
function storedFlows(): FlowRecord[] {
  const out: FlowRecord[] = [];
  const early = flowRecord(5, 1, { partial: true });
  early.last_seen_us -= 1000;
  early.fwd_packets = 1;
  out.push(early);
  for (let id = 1; id <= 30; id++) out.push(flowRecord(id));
  const open1 = flowRecord(31, 1, { partial: true });
  const open2 = { ...open1, last_seen_us: open1.last_seen_us + 5, fwd_packets: open1.fwd_packets + 10 };
  out.push(open1, open2);
  return out;
}

/** What the helpers should see: the final record, or the latest partial of an open flow. */
function latest(): FlowRecord[] {
  const by = new Map<number, FlowRecord>();
  for (const r of storedFlows()) {
    const cur = by.get(r.flow_id);
    if (cur === undefined || (cur.partial && (!r.partial || r.last_seen_us > cur.last_seen_us))) by.set(r.flow_id, r);
  }
  return [...by.values()];
}

const ANOMALY_CODES = ['ipv4.checksum_invalid', 'ipv4.checksum_invalid', 'udp.len_invalid', 'ipv4.checksum_invalid'];

function refusedWith(pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(isPipelineError(err), String(err));
    assert.equal(err.code, 'PCS_QUERY_REFUSED', err.message);
    assert.match(err.message, pattern);
    return true;
  };
}

function code(c: string) {
  return (err: unknown): boolean => {
    assert.ok(isPipelineError(err), String(err));
    assert.equal(err.code, c, err.message);
    return true;
  };
}

let rm: ReadModel;

before(async () => {
  const store = await openDuckDBStore({ path, label: 'fixture' });
  for (const r of storedFlows()) store.addFlow(r);
  for (let i = 0; i < 10; i++) store.addMetrics(metricWindow(i));
  store.addMetrics(metricWindow(0, 60));
  for (const [i, c] of ANOMALY_CODES.entries()) store.addAnomaly(anomaly(i + 1, c));
  await store.close();
  rm = await ReadModel.open(path);
});
after(() => rm.close());

describe('ReadModel helpers', () => {
  it('summary counts each flow once (its latest record) and groups by protocol', async () => {
    const flows = latest();
    const s = await rm.summary();
    const sum = (rs: FlowRecord[], f: (r: FlowRecord) => number) => rs.reduce((a, r) => a + f(r), 0);
    assert.equal(s.flows, 31);
    assert.equal(
      s.packets,
      sum(flows, (r) => r.fwd_packets + r.bwd_packets),
    );
    assert.equal(
      s.bytes,
      sum(flows, (r) => r.fwd_bytes + r.bwd_bytes),
    );
    assert.equal(s.first_us, Math.min(...flows.map((r) => r.first_seen_us)));
    assert.equal(s.last_us, Math.max(...flows.map((r) => r.last_seen_us)));
    assert.equal(s.anomalies, ANOMALY_CODES.length);
    for (const p of s.by_protocol) {
      const of = flows.filter((r) => r.protocol_name === p.protocol);
      assert.equal(p.flows, of.length, p.protocol);
      assert.equal(
        p.packets,
        sum(of, (r) => r.fwd_packets + r.bwd_packets),
      );
      assert.equal(
        p.bytes,
        sum(of, (r) => r.fwd_bytes + r.bwd_bytes),
      );
    }
    assert.deepEqual(s.by_protocol.map((p) => p.protocol).sort(), ['icmp', 'tcp', 'udp']);
    assert.deepEqual(
      s.by_protocol.map((p) => p.flows),
      [...s.by_protocol.map((p) => p.flows)].sort((a, b) => b - a),
    );
  });

  it('flows returns FlowRecord fields, newest first, latest record per flow, filtered and paged', async () => {
    const want = latest().sort((a, b) => b.last_seen_us - a.last_seen_us || b.flow_id - a.flow_id);
    const all = await rm.flows({ limit: 100 });
    assert.equal(all.length, 31);
    assert.deepEqual(
      all.map((r) => r.flow_id),
      want.map((r) => r.flow_id),
    );
    const open = all.find((r) => r.flow_id === 31)!;
    assert.equal(open.partial, true);
    assert.equal(open.fwd_packets, flowRecord(31).fwd_packets + 10);
    const five = all.find((r) => r.flow_id === 5)!;
    const { features: _, ...rest } = flowRecord(5);
    assert.deepEqual(five, rest);
    assert.deepEqual(Object.keys(five), [...FLOW_SCALAR_COLUMNS]);

    const tcp = await rm.flows({ protocol: 'TCP' });
    assert.deepEqual(
      tcp.map((r) => r.flow_id),
      want.filter((r) => r.protocol === 6).map((r) => r.flow_id),
    );
    assert.deepEqual(
      (await rm.flows({ protocol: '17' })).map((r) => r.flow_id),
      want.filter((r) => r.protocol === 17).map((r) => r.flow_id),
    );
    const ip = flowRecord(7).src_ip;
    assert.deepEqual(
      (await rm.flows({ ip })).map((r) => r.flow_id),
      want.filter((r) => r.src_ip === ip || r.dest_ip === ip).map((r) => r.flow_id),
    );
    assert.deepEqual(
      (await rm.flows({ port: 53 })).map((r) => r.flow_id),
      want.filter((r) => r.src_port === 53 || r.dest_port === 53).map((r) => r.flow_id),
    );
    const since = want[10]!.last_seen_us;
    assert.deepEqual(
      (await rm.flows({ since_us: since })).map((r) => r.flow_id),
      want.filter((r) => r.last_seen_us >= since).map((r) => r.flow_id),
    );
    assert.deepEqual(
      (await rm.flows({ limit: 5, offset: 10 })).map((r) => r.flow_id),
      want.slice(10, 15).map((r) => r.flow_id),
    );
  });

  it('metrics returns MetricWindows oldest first, from since_us, up to limit', async () => {
    const all = await rm.metrics({ window_s: 1 });
    assert.equal(all.length, 10);
    assert.deepEqual(all[3], metricWindow(3));
    const page = await rm.metrics({ window_s: 1, since_us: metricWindow(4).start_us, limit: 3 });
    assert.deepEqual(page, [metricWindow(4), metricWindow(5), metricWindow(6)]);
    assert.deepEqual(await rm.metrics({ window_s: 60 }), [metricWindow(0, 60)]);
    assert.deepEqual(await rm.metrics({ window_s: 5 }), []);
  });

  it('top merges the windows top lists: most packets first', async () => {
    const windows = Array.from({ length: 10 }, (_, i) => metricWindow(i));
    const totals = new Map<string, { packets: number; bytes: number }>();
    for (const w of windows.slice(6)) {
      for (const e of w.top_talkers) {
        const t = totals.get(e.key) ?? { packets: 0, bytes: 0 };
        t.packets += e.packets;
        t.bytes += e.bytes;
        totals.set(e.key, t);
      }
    }
    const want = [...totals.entries()]
      .map(([key, t]) => ({ key, ...t }))
      .sort((a, b) => b.packets - a.packets || b.bytes - a.bytes || a.key.localeCompare(b.key));
    assert.deepEqual(await rm.top({ kind: 'talkers', window_s: 1, since_us: windows[6]!.start_us }), want);
    assert.deepEqual(await rm.top({ kind: 'talkers', window_s: 1, since_us: windows[6]!.start_us, n: 1 }), [want[0]]);
    assert.deepEqual(await rm.top({ kind: 'ports', window_s: 60 }), [{ key: '443/tcp', packets: 60, bytes: 6000 }]);
    assert.equal((await rm.top({ kind: 'conversations', window_s: 1 }))[0]!.packets, 300);
  });

  it('anomalies counts anomalous packets by code, most frequent first', async () => {
    assert.deepEqual(await rm.anomalies({}), [
      { code: 'ipv4.checksum_invalid', count: 3, last_us: T0 + 4 },
      { code: 'udp.len_invalid', count: 1, last_us: T0 + 3 },
    ]);
    assert.equal((await rm.anomalies({ limit: 1 })).length, 1);
  });

  it('rejects malformed arguments with PCS_USAGE and clamps limits', async () => {
    await assert.rejects(rm.flows({ limit: 1.5 }), code('PCS_USAGE'));
    await assert.rejects(rm.flows({ port: 70000 }), code('PCS_USAGE'));
    await assert.rejects(rm.flows({ ip: "10.0.0.1' OR 1=1 --" }), code('PCS_USAGE'));
    await assert.rejects(rm.flows({ protocol: 'tcp; DROP TABLE flows' }), code('PCS_USAGE'));
    await assert.rejects(rm.flows({ since_us: -1 }), code('PCS_USAGE'));
    await assert.rejects(rm.metrics({ window_s: 0 }), code('PCS_USAGE'));
    await assert.rejects(rm.metrics({ window_s: Number.NaN }), code('PCS_USAGE'));
    await assert.rejects(rm.top({ kind: 'hosts' as 'talkers', window_s: 1 }), code('PCS_USAGE'));
    await assert.rejects(rm.top({ kind: '__proto__' as 'talkers', window_s: 1 }), code('PCS_USAGE'));
    assert.equal((await rm.flows({ limit: 1e9 })).length, 31);
    assert.equal((await rm.flows({ limit: 0 })).length, 1);
  });

  it('scopes the helpers to the writer run, while query sees every run', async () => {
    const t = tempStore();
    try {
      const a = await openDuckDBStore({ path: t.path });
      for (let id = 1; id <= 3; id++) a.addFlow(flowRecord(id));
      await a.close();
      const b = await openDuckDBStore({ path: t.path });
      b.addFlow(flowRecord(1, 9));
      await b.flush();
      const live = ReadModel.ofStore(b);
      assert.equal(live.runId, 2);
      assert.equal((await live.summary()).flows, 1);
      assert.deepEqual((await live.query('SELECT count(*) FROM flows')).rows, [[4]]);
      await b.close();
      await assert.rejects(live.summary(), code('PCS_QUERY'));
      const reader = await ReadModel.open(t.path, { runId: 1 });
      assert.equal((await reader.summary()).flows, 3);
      await reader.close();
    } finally {
      fs.rmSync(t.dir, { recursive: true, force: true });
    }
  });
});

describe('ReadModel.query', () => {
  it('refuses writes, DDL, attach, copy, extensions and settings by statement type', async () => {
    const cases: [string, RegExp][] = [
      ["INSERT INTO anomalies VALUES (1, 1, 1, now()::TIMESTAMP, 'x', '', '', 0)", /INSERT statement is not allowed/],
      ['UPDATE flows SET src_port = 0', /UPDATE statement/],
      ['DELETE FROM flows', /DELETE statement/],
      ['CREATE TABLE t (a INTEGER)', /CREATE statement/],
      ['CREATE VIEW v AS SELECT 1', /CREATE statement/],
      ['DROP TABLE flows', /DROP statement/],
      ['ALTER TABLE flows ADD COLUMN x INTEGER', /ALTER statement/],
      ["ATTACH '/tmp/other.duckdb' AS other", /ATTACH statement|file access/],
      ['DETACH memory', /DETACH statement/],
      ["COPY flows TO '/tmp/flows.csv'", /COPY statement|file access/],
      ["EXPORT DATABASE '/tmp/export'", /EXPORT DATABASE statement|file access/],
      ['INSTALL httpfs', /INSTALL\/LOAD statement/],
      ['LOAD httpfs', /INSTALL\/LOAD statement/],
      ['SET threads = 1', /SET\/RESET\/USE statement/],
      ["SET VARIABLE x = 'y'", /SET/],
      ['PRAGMA enable_profiling', /PRAGMA statement/],
      ['PRAGMA show_tables', /not accepted/],
      ['BEGIN TRANSACTION', /BEGIN\/COMMIT\/ROLLBACK statement/],
      ['CHECKPOINT', /CALL statement/],
      ['CALL duckdb_tables()', /CALL statement/],
      ['VACUUM', /VACUUM statement/],
      ['EXPLAIN ANALYZE DELETE FROM flows', /EXPLAIN is accepted only right before a SELECT/],
      ['/* x */ EXPLAIN SELECT 1', /EXPLAIN is accepted only/],
    ];
    for (const [sql, pattern] of cases) {
      await assert.rejects(rm.query(sql), refusedWith(pattern), sql);
    }
    assert.deepEqual((await rm.query('SELECT count(*) FROM flows')).rows, [[storedFlows().length]]);
  });

  it('refuses file functions and files named as tables, whatever the spelling', async () => {
    const cases: [string, RegExp][] = [
      ["SELECT * FROM read_csv('/etc/passwd')", /file/],
      ["SELECT * FROM read_csv_auto('/etc/passwd')", /file/],
      ["SELECT * FROM READ_PARQUET('/tmp/x.parquet')", /file/],
      ['SELECT * FROM "read_json"(\'/tmp/x.json\')', /file/],
      ["SELECT content FROM read_text('/etc/passwd')", /file/],
      ["SELECT * FROM read_blob('/etc/passwd')", /file/],
      ["SELECT * FROM glob('/etc/*')", /glob\(\)|file/],
      ["SELECT * FROM '/etc/passwd'", /reading files is not allowed/],
      ["SELECT * FROM 'flows.csv'", /reading files is not allowed/],
      ["WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x", /file/],
      ["SELECT * FROM flows WHERE src_ip IN (SELECT * FROM read_text('/etc/hostname'))", /file/],
      ["SELECT * FROM query('SELECT 1')", /query\(\) is not allowed/],
      ["SELECT * FROM query_table('flows')", /query_table\(\) is not allowed/],
      ['SELECT * FROM checkpoint()', /checkpoint\(\) is not allowed/],
      ["SELECT nextval('s')", /nextval\(\) is not allowed|query failed/],
      ['SELECT * FROM pcapstream_stage_flows_000000000000()', /internal to the writer/],
    ];
    for (const [sql, pattern] of cases) {
      await assert.rejects(rm.query(sql), refusedWith(pattern), sql);
    }
  });

  it('refuses more than one statement, even when the first is harmless', async () => {
    await assert.rejects(rm.query('SELECT 1; DROP TABLE flows'), refusedWith(/2 statements given/));
    await assert.rejects(rm.query('SELECT 1; SELECT 2;'), refusedWith(/2 statements given/));
    assert.equal((await rm.query('SELECT count(*) FROM flows;')).rows.length, 1);
    assert.deepEqual((await rm.query('SELECT count(*) FROM meta')).rows, [[1]]);
  });

  it('accepts SELECT, CTEs, FROM-first, VALUES, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN and PIVOT with IN', async () => {
    const n = latest().length;
    assert.deepEqual((await rm.query('SELECT count(*) AS n FROM flows_latest')).rows, [[n]]);
    const cte = await rm.query(
      'WITH t AS (SELECT protocol_name, count(*) AS c FROM flows_latest GROUP BY 1) SELECT sum(c) AS total FROM t',
    );
    assert.deepEqual(cte, { columns: ['total'], rows: [[n]], truncated: false });
    assert.deepEqual((await rm.query('FROM meta SELECT schema_version')).rows, [[SCHEMA_VERSION]]);
    assert.deepEqual((await rm.query('VALUES (1, 2)')).rows, [[1, 2]]);
    const desc = await rm.query('DESCRIBE flows');
    assert.equal(desc.columns[0], 'column_name');
    assert.ok(desc.rows.some((r) => r[0] === 'idle_min' && r[1] === 'DOUBLE'));
    const tables = (await rm.query('SHOW TABLES')).rows.map((r) => r[0]);
    for (const t of ['anomalies', 'flows', 'flows_latest', 'meta', 'metrics', 'packets', 'runs'])
      assert.ok(tables.includes(t), t);
    assert.ok((await rm.query('SUMMARIZE SELECT fwd_bytes FROM flows')).rows.length === 1);
    assert.ok((await rm.query('EXPLAIN SELECT * FROM flows WHERE protocol = 6')).rows.length > 0);
    assert.ok((await rm.query('EXPLAIN ANALYZE SELECT count(*) FROM flows')).rows.length > 0);
    const pivot = await rm.query(
      "PIVOT (SELECT protocol_name FROM flows_latest) ON protocol_name IN ('tcp', 'udp') USING count(*)",
    );
    assert.deepEqual(pivot.columns, ['tcp', 'udp']);
  });

  it('applies the row limit and says when rows were cut', async () => {
    const ten = await rm.query('SELECT * FROM range(100)', { maxRows: 10 });
    assert.equal(ten.rows.length, 10);
    assert.equal(ten.truncated, true);
    const exact = await rm.query('SELECT * FROM range(100)', { maxRows: 100 });
    assert.equal(exact.rows.length, 100);
    assert.equal(exact.truncated, false);
    const big = await rm.query('SELECT * FROM range(20000)');
    assert.equal(big.rows.length, 10_000);
    assert.equal(big.truncated, true);
  });

  it('stops a query at the time limit', async () => {
    const slow = await ReadModel.open(path, { timeoutMs: 200 });
    try {
      const t0 = Date.now();
      await assert.rejects(
        slow.query('SELECT sum(hash(a.range * b.range)) FROM range(1000000) a, range(1000000) b'),
        (err: unknown) => {
          assert.ok(isPipelineError(err));
          assert.equal(err.code, 'PCS_QUERY');
          assert.match(err.message, /longer than 0.2 s/);
          return true;
        },
      );
      assert.ok(Date.now() - t0 < 10_000);
      // The read model still works afterwards.
      assert.deepEqual((await slow.query('SELECT 1')).rows, [[1]]);
    } finally {
      await slow.close();
    }
  });

  it('reports invalid SQL as PCS_QUERY with DuckDB message', async () => {
    await assert.rejects(rm.query('SELEC 1'), (err: unknown) => {
      assert.ok(isPipelineError(err));
      assert.equal(err.code, 'PCS_QUERY');
      assert.match(err.message, /syntax error/i);
      return true;
    });
    await assert.rejects(rm.query('SELECT * FROM nope'), code('PCS_QUERY'));
    await assert.rejects(rm.query('   '), code('PCS_QUERY'));
    await assert.rejects(rm.query(`SELECT '${'x'.repeat(200_000)}'`), refusedWith(/longer than/));
  });

  it('returns plain JSON values: exact integers, ISO timestamps, nested data', async () => {
    const r = await rm.query(
      'SELECT 42::BIGINT AS big, 9007199254740993::BIGINT AS huge, sum(x)::HUGEINT AS hi, 1.25::DECIMAL(5,2) AS dec, ' +
        "TIMESTAMP '2024-01-02 03:04:05.123456' AS ts, make_timestamp(0) AS epoch, DATE '2024-02-29' AS d, " +
        "[1, 2] AS l, {'a': 1, 'b': 'x'} AS s, MAP {'k': 2} AS m, 'NaN'::DOUBLE AS nan, NULL AS nothing, true AS yes " +
        'FROM (VALUES (1), (2)) t(x)',
    );
    assert.deepEqual(r.columns, [
      'big',
      'huge',
      'hi',
      'dec',
      'ts',
      'epoch',
      'd',
      'l',
      's',
      'm',
      'nan',
      'nothing',
      'yes',
    ]);
    assert.deepEqual(r.rows[0], [
      42,
      '9007199254740993',
      3,
      1.25,
      '2024-01-02T03:04:05.123456Z',
      '1970-01-01T00:00:00.000000Z',
      '2024-02-29',
      [1, 2],
      { a: 1, b: 'x' },
      { k: 2 },
      'NaN',
      null,
      true,
    ]);
    JSON.stringify(r);
  });

  it('refuses the same things on the writer database (the dashboard path), which keeps its data', async () => {
    const t = tempStore();
    try {
      const store = await openDuckDBStore({ path: t.path });
      store.addFlow(flowRecord(1));
      await store.flush();
      const live = ReadModel.ofStore(store);
      const internal = (
        await live.query("SELECT function_name FROM duckdb_functions() WHERE function_name LIKE 'pcapstream%'")
      ).rows.map((r) => String(r[0]));
      assert.ok(internal.length >= 3, 'the staging scans exist');
      for (const sql of [
        'DROP TABLE flows',
        'DELETE FROM flows',
        "INSERT INTO runs VALUES (9, now()::TIMESTAMP, 'x')",
        "COPY flows TO '/tmp/pcapstream-copy.csv'",
        "SELECT * FROM read_csv('/etc/passwd')",
        'SET threads = 4',
        `SELECT * FROM ${internal[0]}()`,
        `SELECT * FROM "${internal[0]!.toUpperCase()}"()`,
      ]) {
        await assert.rejects(live.query(sql), code('PCS_QUERY_REFUSED'), sql);
      }
      store.addFlow(flowRecord(2));
      await store.flush();
      assert.deepEqual((await live.query('SELECT count(*) FROM flows')).rows, [[2]]);
      await store.close();
    } finally {
      fs.rmSync(t.dir, { recursive: true, force: true });
    }
  });

  it('fails to open a missing file with PCS_STORE_OPEN', async () => {
    await assert.rejects(ReadModel.open(`${dir}/missing.duckdb`), (err: unknown) => {
      assert.ok(isPipelineError(err));
      assert.equal(err.code, 'PCS_STORE_OPEN');
      assert.match(err.message, /no store at .*missing\.duckdb/);
      return true;
    });
  });
});
