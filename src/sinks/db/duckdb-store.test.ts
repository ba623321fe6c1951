/**
 * The store against a real DuckDB file: every column round-trips, NULL features, batches and
 * their validity masks, commits and back-pressure, versioning, reopening, refusals.
 * Stored values are read back with a separate read-only DuckDB instance, not the read model.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { corpusPath } from '../../../test/helpers/corpus.ts';
import { readFlowsPacked } from '../../../test/helpers/flows.ts';
import { anomaly, flowRecord, holdStore, metricWindow, T0, tempStore } from '../../../test/helpers/store-records.ts';
import { isPipelineError } from '../../core/errors.ts';
import {
  LAYER_ARP,
  LAYER_ETHERNET,
  LAYER_IPV4,
  LAYER_IPV6,
  LAYER_TCP,
  LAYER_UDP,
  layerBit,
} from '../../core/layers.ts';
import { PacketContext } from '../../core/packet.ts';
import { CIC_FEATURES } from '../../flow/cic-features.ts';
import { P_FLOW_ID, unpackFlow } from '../../flow/packed-flow.ts';
import type { FlowRecord } from '../../flow/records.ts';
import { ReadModel } from '../../query/read-model.ts';
import { synthesize } from '../../synth/index.ts';
import { openDuckDBStore, ROW_GROUP_ROWS, SCHEMA_VERSION } from './duckdb-store.ts';
import { FLOWS_TABLE, schemaDDL } from './schema.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function temp(): string {
  const t = tempStore();
  dirs.push(t.dir);
  return t.path;
}

/** Rows of `sql` from a fresh read-only instance of `path`, as JS values (BIGINT as bigint). */
async function readRows(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const inst = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  try {
    const conn = await inst.connect();
    const r = await conn.runAndReadAll(sql);
    const rows = r.getRowObjectsJS();
    conn.closeSync();
    return rows as Record<string, unknown>[];
  } finally {
    inst.closeSync();
  }
}

/** Run `sql` on the database at `path` through an instance of its own, as another tool would. */
async function runSql(path: string, sql: string): Promise<void> {
  const inst = await DuckDBInstance.create(path);
  try {
    const conn = await inst.connect();
    await conn.run(sql);
    conn.closeSync();
  } finally {
    inst.closeSync();
  }
}

function rejectsWith(code: string, pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(isPipelineError(err), `expected a PipelineError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('DuckDBStore', () => {
  it('stores every scalar and feature of flows, NULL features where absent, across batches', async () => {
    const path = temp();
    const store = await openDuckDBStore({ path, label: 'unit' });
    // 5000 rows = three 2048-row batches in one INSERT: batch 1 has NULL rows, batch 2 none,
    // batch 3 some again, so a validity mask left over from one chunk would show.
    const withNull = (id: number) => (id <= 2048 ? id % 7 === 0 : id > 4096 && id % 3 === 0);
    const recs = Array.from({ length: 5000 }, (_, i) => flowRecord(i + 1, 1, { features: !withNull(i + 1) }));
    for (const r of recs) store.addFlow(r);
    await store.close();

    const rows = await readRows(path, 'SELECT * FROM flows ORDER BY flow_id');
    assert.equal(rows.length, recs.length);
    for (let i = 0; i < recs.length; i++) {
      const want = recs[i]!;
      const got = rows[i]!;
      assert.equal(got.run_id, 1);
      for (const col of FLOWS_TABLE.columns) {
        const name = col.name;
        if (name === 'run_id' || name === 'first_seen' || name === 'last_seen') continue;
        const f = CIC_FEATURES.findIndex((c) => c.name === name);
        const g = got[name];
        if (f >= 0) {
          if (want.features === null) assert.equal(g, null, `flow ${want.flow_id} ${name}`);
          else if (Number.isNaN(want.features[f])) assert.ok(Number.isNaN(g as number), `${name} NaN`);
          else assert.equal(g, want.features[f], `flow ${want.flow_id} ${name}`);
          continue;
        }
        const v = want[name as keyof typeof want];
        assert.equal(typeof g === 'bigint' ? Number(g) : g, v, `flow ${want.flow_id} ${name}`);
      }
      assert.equal((got.first_seen as Date).getTime(), Math.floor(want.first_seen_us / 1000));
      assert.equal((got.last_seen as Date).getTime(), Math.floor(want.last_seen_us / 1000));
    }
  });

  it('stores a packed flow exactly as the record unpacked from it', async () => {
    // Flows as the engine hands them out: IPv4 and IPv6, VLANs, ICMP, partial updates, a GRE
    // tunnel, with and without features. One store takes records, the other the packed numbers.
    const packed: Float64Array[] = [];
    const collect = (name: string, features: 'corrected' | 'none', partialEveryS: number) =>
      readFlowsPacked(name, { features, partialEveryS }, (p) => packed.push(p.slice()));
    const dir = fs.mkdtempSync(join(tmpdir(), 'pcapstream-packed-'));
    dirs.push(dir);
    const file = join(dir, 'synth.pcap');
    await synthesize({ out: file, packets: 30_000, seed: 11, format: 'pcap' });
    await collect(file, 'corrected', 0.2);
    await collect(file, 'none', 0);
    const gre = corpusPath('ppp__gre.cap');
    if (fs.existsSync(gre)) await collect(gre, 'corrected', 0);
    const kinds = (f: (r: FlowRecord) => boolean) => packed.filter((p) => f(unpackFlow(p, 0))).length;
    assert.ok(kinds((r) => r.partial) > 0 && kinds((r) => r.features === null) > 0, 'partial and featureless flows');
    assert.ok(kinds((r) => r.ip_version === 6) > 0 && kinds((r) => r.vlan_id >= 0) > 0, 'IPv6 and VLAN flows');
    assert.ok(kinds((r) => r.protocol === 1 || r.protocol === 58) > 0, 'ICMP flows');
    if (fs.existsSync(gre)) assert.ok(kinds((r) => r.tunnel_type !== '') > 0, 'tunnelled flows');

    const byRecord = temp();
    const byPacked = temp();
    const a = await openDuckDBStore({ path: byRecord });
    const b = await openDuckDBStore({ path: byPacked });
    packed.forEach((p, i) => {
      // The flow id is the row's identity below: renumbered, as the captures restart at 1.
      p[P_FLOW_ID] = i + 1;
      a.addFlow(unpackFlow(p, 0));
      b.addPackedFlow(p, 0);
    });
    await a.close();
    await b.close();
    const sql = 'SELECT * EXCLUDE (run_id) FROM flows ORDER BY flow_id';
    const [want, got] = [await readRows(byRecord, sql), await readRows(byPacked, sql)];
    assert.equal(got.length, packed.length);
    assert.deepEqual(got, want);
  });

  it('keeps rows aligned when a text holds the internal separator', async () => {
    const path = temp();
    const store = await openDuckDBStore({ path });
    const odd = flowRecord(1);
    odd.tunnel_type = 'a\x1eb';
    store.addFlow(odd);
    store.addFlow(flowRecord(2));
    store.addAnomaly({ ...anomaly(1, 'x\x1ey'), src_ip: '\x1e' });
    await store.close();
    const rows = await readRows(path, 'SELECT flow_id, tunnel_type, src_ip FROM flows ORDER BY flow_id');
    assert.deepEqual(
      rows.map((r) => [r.flow_id, r.tunnel_type, r.src_ip]),
      [
        [1n, 'a\ufffdb', odd.src_ip],
        [2n, flowRecord(2).tunnel_type, flowRecord(2).src_ip],
      ],
    );
    assert.deepEqual(await readRows(path, 'SELECT code, src_ip FROM anomalies'), [
      { code: 'x\ufffdy', src_ip: '\ufffd' },
    ]);
  });

  it('stores metric windows with maps and top lists DuckDB SQL can index', async () => {
    const path = temp();
    const store = await openDuckDBStore({ path });
    for (let i = 0; i < 3; i++) store.addMetrics(metricWindow(i));
    store.addMetrics(metricWindow(0, 60));
    await store.close();
    const rows = await readRows(
      path,
      "SELECT window_s, start_us, start, packets, protocols['tcp'].packets AS tcp, protocols['arp'].bytes AS arp, " +
        "anomalies['ipv4.checksum_invalid'] AS bad, cardinality(anomalies) AS n_anom, top_talkers[2].key AS second, " +
        "top_ports[1].bytes AS port_bytes, top_conversations[1].key AS conv, losses['flows_evicted'] AS evicted, " +
        'dns_nxdomain, tcp_rst FROM metrics ORDER BY window_s, start_us',
    );
    assert.equal(rows.length, 4);
    for (let i = 0; i < 3; i++) {
      const w = metricWindow(i);
      const r = rows[i]!;
      assert.equal(r.window_s, 1);
      assert.equal(r.start_us, BigInt(w.start_us));
      assert.equal((r.start as Date).getTime(), w.start_us / 1000);
      assert.equal(r.packets, BigInt(w.packets));
      assert.equal(r.tcp, BigInt(w.protocols.tcp!.packets));
      assert.equal(r.arp, 0n);
      assert.equal(r.bad, i % 2 === 0 ? 1n : null);
      assert.equal(r.n_anom, i % 2 === 0 ? 1n : 0n);
      assert.equal(r.second, w.top_talkers[1]!.key);
      assert.equal(r.port_bytes, 6000n);
      assert.equal(r.conv, '10.0.0.1:40000 <-> 10.0.0.2:443 tcp');
      assert.equal(r.evicted, BigInt(i));
      assert.equal(r.dns_nxdomain, 1n);
      assert.equal(r.tcp_rst, BigInt(i % 2));
    }
    assert.equal(rows[3]!.window_s, 60);
  });

  it('keeps one copy of a repeated flow record with dedupeFlows, and every copy without', async () => {
    const path = temp();
    const store = await openDuckDBStore({ path, dedupeFlows: true });
    const partial = flowRecord(1, 3, { partial: true });
    for (let round = 0; round < 3; round++) {
      for (let i = 1; i <= 50; i++) store.addFlow(flowRecord(i, 3));
      store.addFlow(partial);
      await store.flush();
    }
    await store.close();
    const rows = await readRows(path, 'SELECT flow_uid, partial, count(*)::INTEGER AS n FROM flows GROUP BY ALL');
    assert.equal(rows.length, 51, '50 final records and one partial');
    assert.ok(
      rows.every((r) => r.n === 1),
      'each once',
    );
    // A later run into the same store still refuses repeats.
    const again = await openDuckDBStore({ path, dedupeFlows: true });
    again.addFlow(flowRecord(7, 3));
    await again.close();
    const total = await readRows(path, 'SELECT count(*)::INTEGER AS n FROM flows');
    assert.equal(total[0]!.n, 51);
    // Without dedupe the repeats are stored, and then the store cannot turn dedupe on.
    const plain = temp();
    const s2 = await openDuckDBStore({ path: plain });
    s2.addFlow(flowRecord(1, 3));
    s2.addFlow(flowRecord(1, 3));
    await s2.close();
    await assert.rejects(openDuckDBStore({ path: plain, dedupeFlows: true }), (e: unknown) => {
      assert.ok(isPipelineError(e) && e.code === 'PCS_STORE_OPEN');
      assert.match(e.message, /repeated flow records/);
      return true;
    });
  });

  it('stores anomalies', async () => {
    const path = temp();
    const store = await openDuckDBStore({ path });
    store.addAnomaly(anomaly(7, 'ipv4.checksum_invalid'));
    store.addAnomaly({ frame_number: 9, ts_us: T0 + 9, code: 'eth.truncated', src_ip: '', dest_ip: '', protocol: 0 });
    await store.close();
    const rows = await readRows(path, 'SELECT * FROM anomalies ORDER BY frame_number');
    assert.deepEqual(
      rows.map((r) => [r.frame_number, r.ts_us, r.code, r.src_ip, r.dest_ip, r.protocol]),
      [
        [7n, BigInt(T0 + 7), 'ipv4.checksum_invalid', '10.0.0.1', '10.0.0.2', 6],
        [9n, BigInt(T0 + 9), 'eth.truncated', '', '', 0],
      ],
    );
    assert.equal((rows[0]!.ts as Date).getTime(), Math.floor((T0 + 7) / 1000));
  });

  it('stores packet core columns only when asked to', async () => {
    const tcp = new PacketContext();
    tcp.frameNumber = 1;
    tcp.frameLength = 74;
    tcp.capturedLength = 60;
    tcp.layers = layerBit(LAYER_ETHERNET) | layerBit(LAYER_IPV4) | layerBit(LAYER_TCP);
    tcp.ipVersion = 4;
    tcp.protocol = 6;
    tcp.src4 = 0xc0a80001 | 0; // a negative int32 as the decoder may leave it
    tcp.dst4 = 0x0a000002;
    tcp.srcPort = 40000;
    tcp.dstPort = 443;
    tcp.tcpFlags = 0x12;
    tcp.vlanCount = 1;
    tcp.vlanIds[0] = 42;
    tcp.anomalyCount = 2;
    tcp.anomalies[0] = 'ipv4.checksum_invalid';
    tcp.anomalies[1] = 'tcp.checksum_invalid';
    const udp6 = new PacketContext();
    udp6.frameNumber = 2;
    udp6.frameLength = 90;
    udp6.capturedLength = 90;
    udp6.layers = layerBit(LAYER_ETHERNET) | layerBit(LAYER_IPV6) | layerBit(LAYER_UDP);
    udp6.ipVersion = 6;
    udp6.protocol = 17;
    udp6.src6.set([0x20010db8, 0, 0, 1]);
    udp6.dst6.set([0xfe800000, 0, 0x02000000, 0xff]);
    udp6.srcPort = 5353;
    udp6.dstPort = 53;
    udp6.tcpFlags = 0xff; // stale: no TCP layer
    const arp = new PacketContext();
    arp.frameNumber = 3;
    arp.frameLength = 60;
    arp.capturedLength = 60;
    arp.layers = layerBit(LAYER_ETHERNET) | layerBit(LAYER_ARP);
    arp.ipVersion = 4; // stale from an earlier frame: the layer bits say there is no IP
    arp.srcPort = 1;

    const on = temp();
    const store = await openDuckDBStore({ path: on, packets: true });
    store.addPacket(tcp, T0 + 1);
    store.addPacket(udp6, T0 + 2);
    store.addPacket(arp, T0 + 3);
    await store.close();
    const rows = await readRows(
      on,
      'SELECT frame_number, ts_us, frame_length, captured_length, ip_version, protocol, src_ip, dest_ip, ' +
        'src_port, dest_port, tcp_flags, vlan_id, anomalies FROM packets ORDER BY frame_number',
    );
    assert.deepEqual(
      rows.map((r) => Object.values(r).map((v) => (typeof v === 'bigint' ? Number(v) : v))),
      [
        [
          1,
          T0 + 1,
          74,
          60,
          4,
          6,
          '192.168.0.1',
          '10.0.0.2',
          40000,
          443,
          0x12,
          42,
          'ipv4.checksum_invalid,tcp.checksum_invalid',
        ],
        [2, T0 + 2, 90, 90, 6, 17, '2001:db8::1', 'fe80::200:0:0:ff', 5353, 53, 0, -1, ''],
        [3, T0 + 3, 60, 60, 0, 0, '', '', 0, 0, 0, -1, ''],
      ],
    );

    const off = temp();
    const quiet = await openDuckDBStore({ path: off });
    quiet.addPacket(tcp, T0);
    await quiet.close();
    assert.deepEqual(await readRows(off, 'SELECT count(*)::INTEGER AS n FROM packets'), [{ n: 0 }]);
  });

  it('records the schema version and appends later runs with the next run id', async () => {
    const path = temp();
    const first = await openDuckDBStore({ path, label: 'a.pcap' });
    assert.equal(first.runId, 1);
    assert.equal(first.schemaVersion, SCHEMA_VERSION);
    first.addFlow(flowRecord(1));
    await first.close();
    const second = await openDuckDBStore({ path, label: 'b.pcap' });
    assert.equal(second.runId, 2);
    second.addFlow(flowRecord(1, 2));
    second.addFlow(flowRecord(2, 2));
    await second.close();
    const meta = await readRows(path, 'SELECT schema_version, created FROM meta');
    assert.equal(meta.length, 1);
    assert.equal(meta[0]!.schema_version, SCHEMA_VERSION);
    assert.ok(Math.abs((meta[0]!.created as Date).getTime() - Date.now()) < 600_000);
    assert.deepEqual(
      (await readRows(path, 'SELECT run_id, label FROM runs ORDER BY run_id')).map((r) => [r.run_id, r.label]),
      [
        [1, 'a.pcap'],
        [2, 'b.pcap'],
      ],
    );
    assert.deepEqual(
      (await readRows(path, 'SELECT run_id, count(*)::INTEGER AS n FROM flows GROUP BY 1 ORDER BY 1')).map((r) => [
        r.run_id,
        r.n,
      ]),
      [
        [1, 1],
        [2, 2],
      ],
    );
  });

  it('refuses a store of another schema version, naming both versions', async () => {
    const path = temp();
    await (await openDuckDBStore({ path })).close();
    await runSql(path, 'UPDATE meta SET schema_version = 99');
    await assert.rejects(
      openDuckDBStore({ path }),
      rejectsWith('PCS_STORE_OPEN', new RegExp(`schema version 99.*version ${SCHEMA_VERSION};`)),
    );
  });

  it('upgrades a version 1 store in place: flow_uid added, old rows kept, views and readers work', async () => {
    const path = temp();
    // Version 1 was this layout without flows.flow_uid (the one change since).
    const v1 = schemaDDL().map((sql) => sql.replace(', flow_uid VARCHAR', ''));
    assert.ok(!v1.join(';').includes('flow_uid') && schemaDDL().join(';').includes('flow_uid'));
    const old = flowRecord(1);
    const oldCols = FLOWS_TABLE.columns.filter(
      (c) => c.name !== 'flow_uid' && !c.name.includes('seen') && c.name !== 'run_id',
    );
    await runSql(
      path,
      [
        ...v1,
        "INSERT INTO meta VALUES (1, TIMESTAMP '2025-01-01 00:00:00', 'pcapstream')",
        "INSERT INTO runs VALUES (1, TIMESTAMP '2025-01-01 00:00:00', 'old')",
        `INSERT INTO flows (run_id, flow_id, first_seen_us, last_seen_us, ${oldCols
          .slice(1)
          .map((c) => c.name)
          .join(', ')}) ` +
          `VALUES (1, 1, ${old.first_seen_us}, ${old.last_seen_us}, ${oldCols
            .slice(1)
            .map((c) => (c.type === 'VARCHAR' ? "'x'" : c.type === 'BOOLEAN' ? 'false' : '1'))
            .join(', ')})`,
      ].join(';\n'),
    );
    // A reader cannot upgrade (read-only): it says how.
    await assert.rejects(ReadModel.open(path), rejectsWith('PCS_STORE_OPEN', /version 1, .*upgrades it in place/));
    const store = await openDuckDBStore({ path, label: 'new' });
    assert.equal(store.runId, 2);
    store.addFlow(flowRecord(2));
    await store.close();
    assert.deepEqual(await readRows(path, 'SELECT schema_version FROM meta'), [{ schema_version: SCHEMA_VERSION }]);
    const rows = await readRows(path, 'SELECT run_id, flow_id, flow_uid FROM flows_latest ORDER BY run_id');
    assert.deepEqual(rows, [
      { run_id: 1, flow_id: 1n, flow_uid: null },
      { run_id: 2, flow_id: 2n, flow_uid: flowRecord(2).flow_uid },
    ]);
    // ALTER TABLE appends: the upgraded file keeps flow_uid last, and opens again as it is.
    const cols = await readRows(path, "SELECT column_name FROM duckdb_columns() WHERE table_name = 'flows'");
    assert.equal(cols.at(-1)!.column_name, 'flow_uid');
    const again = await openDuckDBStore({ path });
    again.addFlow(flowRecord(3));
    await again.close();
    const rm = await ReadModel.open(path);
    try {
      const all = await rm.query('SELECT flow_id, flow_uid FROM flows_latest ORDER BY flow_id');
      assert.deepEqual(all.rows, [
        [1, null],
        [2, flowRecord(2).flow_uid],
        [3, flowRecord(3).flow_uid],
      ]);
      const latest = await rm.flows({ limit: 10 });
      assert.deepEqual(
        latest.map((r) => [r.flow_id, r.flow_uid]),
        [[3, flowRecord(3).flow_uid]],
      );
    } finally {
      await rm.close();
    }
  });

  it('refuses a store whose columns differ from its version', async () => {
    const path = temp();
    await (await openDuckDBStore({ path })).close();
    await runSql(path, 'ALTER TABLE flows RENAME COLUMN idle_min TO idle_minimum');
    await assert.rejects(openDuckDBStore({ path }), rejectsWith('PCS_STORE_OPEN', /flows table differs.*idle_min/));
  });

  it('refuses DuckDB files that are not stores and files that are not DuckDB', async () => {
    const other = temp();
    await runSql(other, 'CREATE TABLE t (a INTEGER)');
    await assert.rejects(openDuckDBStore({ path: other }), rejectsWith('PCS_STORE_OPEN', /not a pcapstream store/));
    const text = temp();
    fs.writeFileSync(text, 'hello, not a database\n'.repeat(1000));
    await assert.rejects(openDuckDBStore({ path: text }), rejectsWith('PCS_STORE_OPEN', /not a DuckDB database/));
    await assert.rejects(
      openDuckDBStore({ path: '/nonexistent-dir/x/store.duckdb' }),
      rejectsWith('PCS_STORE_OPEN', /cannot open the store/),
    );
  });

  it('refuses a malformed size option as a configuration error naming the option, creating no file', async () => {
    const path = temp();
    await assert.rejects(
      openDuckDBStore({ path, memoryLimit: 'lots' }),
      rejectsWith('PCS_CONFIG', /^memory limit must be a size such as 16MB, got lots$/),
    );
    await assert.rejects(
      openDuckDBStore({ path, checkpointThreshold: '16 parsecs' }),
      rejectsWith('PCS_CONFIG', /^checkpoint threshold must be a size/),
    );
    assert.equal(fs.existsSync(path), false);
  });

  it('fails at once, with the holder PID, when another process has the store open', async () => {
    const path = temp();
    const holder = await holdStore(path);
    try {
      await assert.rejects(
        openDuckDBStore({ path }),
        rejectsWith('PCS_STORE_OPEN', new RegExp(`in use by another process \\(PID ${holder.pid}\\)`)),
      );
    } finally {
      holder.kill();
    }
  });

  it('writes in the background on tick, shows rows only once committed, and flush commits', async () => {
    const path = temp();
    const store = await openDuckDBStore({ path, commitIntervalMs: 3_600_000, maxDelayMs: 3_600_000 });
    const rm = ReadModel.ofStore(store);
    for (let i = 1; i <= 3000; i++) store.addFlow(flowRecord(i));
    assert.equal(store.tick(), undefined, 'below the high-water mark tick does not ask to wait');
    await store.flush();
    assert.deepEqual((await rm.query('SELECT count(*) FROM flows')).rows, [[3000]]);
    for (let i = 3001; i <= 5000; i++) store.addFlow(flowRecord(i));
    store.tick();
    // Not a full batch, not old enough, no commit due: nothing new is visible.
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual((await rm.query('SELECT count(*) FROM flows')).rows, [[3000]]);
    assert.equal(store.stats.flows, 3000);
    assert.equal(store.stats.pending, 2000);
    await store.flush();
    assert.deepEqual((await rm.query('SELECT count(*) FROM flows')).rows, [[5000]]);
    const s = store.stats;
    assert.equal(s.flows, 5000);
    assert.equal(s.pending, 0);
    assert.equal(s.dropped, 0);
    assert.ok(s.flushes >= 2);
    assert.ok(s.flush_ms > 0);
    await store.close();
  });

  it('commits flows a whole row group at a time when they come fast, so each group is written once', async () => {
    const path = temp();
    // No timer commits: only the row-group boundaries commit before flush().
    const store = await openDuckDBStore({ path, commitIntervalMs: 3_600_000, maxDelayMs: 3_600_000 });
    const rm = ReadModel.ofStore(store);
    const total = 2 * ROW_GROUP_ROWS + 5000;
    for (let i = 1; i <= total; i++) {
      store.addFlow(flowRecord(i));
      if (i % 2048 === 0) await store.tick();
    }
    // Let the queued writes finish; the 5000 rows past the second boundary wait for flush().
    for (let i = 0; i < 50 && store.stats.flows < 2 * ROW_GROUP_ROWS; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(store.stats.flows, 2 * ROW_GROUP_ROWS, 'committed exactly at the boundaries');
    assert.deepEqual((await rm.query('SELECT count(*) FROM flows')).rows, [[2 * ROW_GROUP_ROWS]]);
    await store.close();
    const groups = await readRows(
      path,
      "SELECT row_group_id, sum(count) AS n FROM pragma_storage_info('flows') WHERE column_name = 'flow_id' AND segment_type <> 'VALIDITY' GROUP BY ALL ORDER BY 1",
    );
    assert.deepEqual(
      groups.map((g) => Number(g.n)),
      [ROW_GROUP_ROWS, ROW_GROUP_ROWS, 5000],
    );
  });

  it('writes a backlog of whole row groups two at a time, each committed, every flow once', async () => {
    const path = temp();
    const store = await openDuckDBStore({ path, commitIntervalMs: 3_600_000, maxDelayMs: 3_600_000 });
    const total = 5 * ROW_GROUP_ROWS + 100;
    // No tick: the whole backlog is written by flush(), as the flows still open at the end of the input are.
    for (let i = 1; i <= total; i++) store.addFlow(flowRecord(i));
    await store.flush();
    const s = store.stats;
    assert.equal(s.flows, total);
    assert.equal(s.pending, 0);
    assert.equal(s.dropped, 0);
    // Two groups per round (the main connection and the side one), then the rest: 5 commits or more.
    assert.ok(s.flushes >= 5, `${s.flushes} commits`);
    await store.close();
    const [counts] = await readRows(
      path,
      'SELECT count(*) AS n, count(DISTINCT flow_id) AS ids, min(flow_id) AS lo, max(flow_id) AS hi FROM flows',
    );
    assert.deepEqual(counts, { n: BigInt(total), ids: BigInt(total), lo: 1n, hi: BigInt(total) });
    const groups = await readRows(
      path,
      "SELECT row_group_id, sum(count) AS n FROM pragma_storage_info('flows') WHERE column_name = 'flow_id' AND segment_type <> 'VALIDITY' GROUP BY ALL ORDER BY 1",
    );
    assert.deepEqual(
      groups.map((g) => Number(g.n)),
      [ROW_GROUP_ROWS, ROW_GROUP_ROWS, ROW_GROUP_ROWS, ROW_GROUP_ROWS, ROW_GROUP_ROWS, 100],
    );
  });

  it('commits on its own timer when rows trickle in without ticks', async () => {
    const path = temp();
    const store = await openDuckDBStore({ path, commitIntervalMs: 50, maxDelayMs: 50 });
    let commits = 0;
    store.onCommit(() => commits++);
    store.onCommit(() => {
      throw new Error('a broken listener');
    });
    const rm = ReadModel.ofStore(store);
    for (let i = 1; i <= 10; i++) store.addFlow(flowRecord(i));
    store.addMetrics(metricWindow(0));
    let n = 0;
    for (let tries = 0; tries < 100 && n !== 10; tries++) {
      await new Promise((r) => setTimeout(r, 50));
      n = (await rm.query('SELECT count(*) FROM flows')).rows[0]![0] as number;
    }
    assert.equal(n, 10);
    assert.equal(store.stats.metrics, 1);
    assert.equal(commits, store.stats.flushes);
    assert.ok(commits >= 1);
    await store.close();
  });

  it('asks the caller to wait above the high-water mark, and the wait lets the writer catch up', async () => {
    const path = temp();
    const store = await openDuckDBStore({ path, highWaterRows: 1000 });
    for (let i = 1; i <= 5000; i++) store.addFlow(flowRecord(i, 3, { features: false }));
    const wait = store.tick();
    assert.ok(wait instanceof Promise);
    await wait;
    assert.equal(store.tick(), undefined, 'both full batches were handed to DuckDB: 904 rows left, below the mark');
    await store.close();
    assert.deepEqual(await readRows(path, 'SELECT count(*)::INTEGER AS n FROM flows'), [{ n: 5000 }]);
  });

  it('keeps everything flushed before close, and close is idempotent', async () => {
    const path = temp();
    const store = await openDuckDBStore({ path });
    store.addFlow(flowRecord(1));
    store.addMetrics(metricWindow(1));
    store.addAnomaly(anomaly(1, 'udp.len_invalid'));
    await store.close();
    await store.close();
    const [row] = await readRows(
      path,
      'SELECT (SELECT count(*) FROM flows)::INTEGER AS f, (SELECT count(*) FROM metrics)::INTEGER AS m, ' +
        '(SELECT count(*) FROM anomalies)::INTEGER AS a',
    );
    assert.deepEqual(row, { f: 1, m: 1, a: 1 });
    assert.ok(!fs.existsSync(`${path}.wal`), 'close checkpoints the WAL into the file');
  });

  it('counts the rows of a failed write as dropped and fails flush and close with PCS_SINK_WRITE', async () => {
    const path = temp();
    const store = await openDuckDBStore({ path });
    store.addFlow(flowRecord(1));
    await store.flush();
    // Break the anomalies table under the writer (its own connection), as a failing disk would.
    const conn = (store as unknown as { conn: DuckDBConnection }).conn;
    await conn.run('DROP TABLE anomalies');
    store.addFlow(flowRecord(2));
    store.addAnomaly(anomaly(1, 'udp.len_invalid'));
    await assert.rejects(store.flush(), rejectsWith('PCS_SINK_WRITE', /writing anomalies failed, 2 rows lost/));
    assert.equal(store.stats.dropped, 2, 'the flow inserted in the same transaction was rolled back too');
    assert.equal(store.stats.flows, 1);
    store.addFlow(flowRecord(3));
    await assert.rejects(store.close(), rejectsWith('PCS_SINK_WRITE', /anomalies/));
    assert.deepEqual(
      (await readRows(path, 'SELECT flow_id FROM flows ORDER BY flow_id')).map((r) => r.flow_id),
      [1n, 3n],
      'later rows are still written',
    );
  });

  it('works in memory (tests, throw-away runs)', async () => {
    const store = await openDuckDBStore({ path: ':memory:' });
    store.addFlow(flowRecord(1));
    await store.flush();
    assert.deepEqual((await ReadModel.ofStore(store).query('SELECT flow_id FROM flows')).rows, [[1]]);
    await store.close();
  });
});
