/**
 * The dashboard's HTTP API over a real DuckDB store and its read model: records go in through
 * the store and come back out through HTTP unchanged; the SQL guard's refusals become 400s; a
 * store flush followed by `notify()` reaches an event-stream client. Also the `run` command's
 * answer to a dashboard port that is taken.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Dashboard, startDashboard } from '../../src/dashboard/server.ts';
import type { FlowRecord, MetricWindow } from '../../src/flow/records.ts';
import { ReadModel } from '../../src/query/read-model.ts';
import { type DuckDBStore, openDuckDBStore } from '../../src/sinks/db/duckdb-store.ts';
import { corpusPath } from '../helpers/corpus.ts';
import { fakeFlow, fakeHealth, fakeWindow, SSEReader, T0_US } from '../helpers/dashboard-harness.ts';

const BIN = fileURLToPath(new URL('../../bin/pcapstream.js', import.meta.url));

const flow = (i: number): FlowRecord => ({ ...fakeFlow(i), features: null });

describe('dashboard API over a DuckDB store', () => {
  let store: DuckDBStore;
  let dash: Dashboard;
  const windows: MetricWindow[] = [];
  const get = async (p: string, status = 200): Promise<Record<string, unknown>> => {
    const res = await fetch(new URL(p, dash.url));
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, status, `${p}: ${JSON.stringify(body)}`);
    return body;
  };
  const sqlUrl = (text: string) => `/api/query?sql=${encodeURIComponent(text)}`;

  before(async () => {
    store = await openDuckDBStore({ path: ':memory:' });
    for (let i = 0; i < 60; i++) store.addFlow(flow(i));
    for (let i = 0; i < 20; i++) windows.push(fakeWindow(1, i));
    windows.push(fakeWindow(60, 0));
    for (const w of windows) store.addMetrics(w);
    store.addAnomaly({
      frame_number: 9,
      ts_us: T0_US + 5_000_000,
      code: 'ipv4.checksum_invalid',
      src_ip: '10.0.0.1',
      dest_ip: '192.0.2.1',
      protocol: 6,
    });
    await store.flush();
    dash = await startDashboard({ port: 0, readModel: ReadModel.ofStore(store), health: fakeHealth });
  });
  after(async () => {
    await dash.close();
    await store.close();
  });

  it('returns the stored flows, newest first, without features', async () => {
    const body = await get('/api/flows?limit=500');
    const rows = body.flows as Record<string, unknown>[];
    assert.equal(rows.length, 60);
    assert.equal(body.has_more, false);
    assert.deepEqual(rows[0], fakeFlow(59));
    assert.deepEqual(
      rows.map((r) => r.flow_id),
      Array.from({ length: 60 }, (_, i) => 60 - i),
    );
  });

  it('filters flows by protocol, address and port in the store', async () => {
    const udp = (await get('/api/flows?protocol=17&limit=500')).flows as { flow_id: number }[];
    assert.deepEqual(
      udp.map((r) => r.flow_id).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => 3 * i + 2),
    );
    const ip = (await get('/api/flows?ip=192.0.2.3&port=443')).flows as { dest_ip: string; dest_port: number }[];
    assert.ok(ip.length > 0);
    assert.ok(ip.every((r) => r.dest_ip === '192.0.2.3' && r.dest_port === 443));
    const page = await get('/api/flows?limit=25&offset=25');
    assert.equal((page.flows as unknown[]).length, 25);
    assert.equal(page.has_more, true);
  });

  it('returns metric windows exactly as stored', async () => {
    const one = await get('/api/metrics?window=1');
    assert.deepEqual(one.windows, windows.slice(0, 20));
    const since = await get(`/api/metrics?window=1&since=${T0_US + 18_000_000}`);
    assert.deepEqual(since.windows, windows.slice(18, 20));
    const sixty = await get('/api/metrics?window=60');
    assert.deepEqual(sixty.windows, [windows[20]]);
  });

  it('merges top lists and counts anomalies', async () => {
    const top = await get('/api/top?kind=talkers&window=1&n=1');
    // 10.0.0.3 has 30 + index packets in each of the 20 windows.
    assert.deepEqual(top.entries, [{ key: '10.0.0.3', packets: 20 * 30 + 190, bytes: 20 * 3000 }]);
    assert.deepEqual((await get('/api/anomalies')).anomalies, [
      { code: 'ipv4.checksum_invalid', count: 1, last_us: T0_US + 5_000_000 },
    ]);
    const summary = await get('/api/summary');
    assert.equal(summary.flows, 60);
    assert.equal(summary.anomalies, 1);
  });

  it('answers read-only SQL and refuses the rest with 400 and the reason', async () => {
    assert.deepEqual(await get(sqlUrl('SELECT count(*) AS n FROM flows')), {
      columns: ['n'],
      rows: [[60]],
      truncated: false,
    });
    const capped = await get(`${sqlUrl('SELECT flow_id FROM flows ORDER BY flow_id')}&max_rows=5`);
    assert.equal((capped.rows as unknown[]).length, 5);
    assert.equal(capped.truncated, true);
    for (const [text, reason] of [
      ['DROP TABLE flows', /query refused: DROP/],
      ['INSERT INTO anomalies SELECT * FROM anomalies', /query refused: INSERT/],
      ["SELECT * FROM read_csv('/etc/passwd')", /query refused: (file access|.*read_csv)/],
      ['SELECT 1; DROP TABLE flows', /query refused: 2 statements/],
      ["ATTACH '/tmp/x.duckdb' AS x", /query refused: ATTACH/],
      ['SELEC nonsense', /query failed/],
    ] as const) {
      const body = await get(sqlUrl(text), 400);
      assert.match(String(body.error), reason, text);
    }
    // Nothing was changed by the refused statements.
    assert.deepEqual((await get(sqlUrl('SELECT count(*) FROM anomalies'))).rows, [[1]]);
  });

  it('pushes what a flush stored to an event-stream client after notify()', async () => {
    const sse = new SSEReader(await fetch(new URL(`/api/events?since=${T0_US + 19_000_000}`, dash.url)));
    try {
      await sse.next('flows');
      store.addMetrics(fakeWindow(1, 20));
      store.addFlow(flow(60));
      await store.flush();
      dash.notify();
      const m = await sse.next('metrics');
      assert.deepEqual((m.data as { windows: MetricWindow[] }).windows, [fakeWindow(1, 20)]);
      const f = await sse.next('flows');
      assert.equal((f.data as { summary: { flows: number } }).summary.flows, 61);
    } finally {
      await sse.cancel();
    }
  });
});

describe('pcapstream run with the dashboard port taken', () => {
  let blocker: net.Server;
  let port: number;
  let tmp: string;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-dash-port-'));
    blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    port = (blocker.address() as net.AddressInfo).port;
  });
  after(() => {
    blocker.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('exits with code 2 and says which port is in use', () => {
    const r = spawnSync(
      process.execPath,
      [BIN, 'run', corpusPath('dpkt__http.pcap'), '--db', path.join(tmp, 'x.duckdb'), '--port', String(port), '--exit'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`cannot serve the dashboard on http://127\\.0\\.0\\.1:${port}/: the port is in use`),
    );
    assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:\d+/);
  });
});
