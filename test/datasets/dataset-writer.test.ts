/**
 * Dataset writer against a real DuckDB: parts, files, manifest, failures. Records are built here
 * (seeded), so every field value is known.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { isPipelineError } from '../../src/core/errors.ts';
import { CIC_FEATURE_COUNT, CIC_FEATURES, CIC_HEADER, cicCsvHeader, cicCsvRow } from '../../src/flow/cic-features.ts';
import type { FlowRecord } from '../../src/flow/records.ts';
import {
  DATASET_SCHEMA_VERSION,
  type DatasetManifest,
  datasetColumns,
  openDatasetWriter,
  sqlString,
} from '../../src/sinks/file/dataset-writer.ts';
import { FLOW_SCALAR_COLUMNS } from '../../src/sinks/flow-format.ts';
import { synthesize } from '../../src/synth/index.ts';
import { runFlows } from '../helpers/flows.ts';
import { rng } from '../helpers/random.ts';

const T0 = 1_499_072_100_000_000; // 2017-07-03 08:55:00 UTC, in µs

/** A finished flow with varied values: IPv6, VLANs, tunnels, counters past 2^31, odd features. */
function makeRecord(id: number, r: () => number): FlowRecord {
  const v6 = r() < 0.3;
  const first = T0 + Math.floor(r() * 3.6e9);
  const duration = Math.floor(r() * 1e8);
  let features: Float64Array | null = new Float64Array(CIC_FEATURE_COUNT);
  for (let i = 0; i < CIC_FEATURE_COUNT; i++) {
    features[i] = i % 3 === 0 ? Math.floor(r() * 1e6) : r() * 1e7 - 1e3;
  }
  if (id % 17 === 5) features = null;
  else if (id % 23 === 7) {
    features[13] = Number.POSITIVE_INFINITY;
    features[14] = Number.NaN;
  }
  const protocol = [6, 17, 1, 58][Math.floor(r() * 4)]!;
  return {
    flow_id: id,
    flow_uid: Array.from({ length: 16 }, () => Math.floor(r() * 16).toString(16)).join(''),
    community_id: `1:${Buffer.from(Array.from({ length: 20 }, () => Math.floor(r() * 256))).toString('base64')}`,
    first_seen_us: first,
    last_seen_us: first + duration,
    duration_us: duration,
    ip_version: v6 ? 6 : 4,
    protocol,
    protocol_name: ({ 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6' } as Record<number, string>)[protocol]!,
    src_ip: v6 ? `2001:db8::${id.toString(16)}` : `10.${id & 255}.${(id >> 8) & 255}.1`,
    src_port: Math.floor(r() * 65536),
    dest_ip: v6 ? '2001:db8::1' : '192.168.0.1',
    dest_port: Math.floor(r() * 65536),
    vlan_id: r() < 0.2 ? Math.floor(r() * 4095) : -1,
    tunnel_type: r() < 0.1 ? 'vxlan' : '',
    fwd_packets: Math.floor(r() * 1e6),
    bwd_packets: Math.floor(r() * 1e6),
    fwd_bytes: Math.floor(r() * 1e12),
    bwd_bytes: Math.floor(r() * 1e12),
    fwd_payload_bytes: Math.floor(r() * 1e9),
    bwd_payload_bytes: Math.floor(r() * 1e9),
    fwd_tcp_flags: protocol === 6 ? Math.floor(r() * 256) : 0,
    bwd_tcp_flags: protocol === 6 ? Math.floor(r() * 256) : 0,
    end_reason: (['fin', 'rst', 'idle', 'active', 'evicted', 'end'] as const)[Math.floor(r() * 6)]!,
    partial: false,
    features,
  };
}

function makeRecords(n: number, seed: number): FlowRecord[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => makeRecord(i + 1, r));
}

let root = '';
let db: DuckDBInstance;
let con: DuckDBConnection;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pcapstream-datasets-'));
  db = await DuckDBInstance.create(':memory:');
  con = await db.connect();
});

after(async () => {
  con.closeSync();
  db.closeSync();
  await rm(root, { recursive: true, force: true });
});

let dirCount = 0;
function freshDir(): string {
  return path.join(root, `ds-${++dirCount}`);
}

async function readManifest(dir: string): Promise<DatasetManifest> {
  return JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as DatasetManifest;
}

/** Rows of a query as plain objects, BIGINTs as numbers. */
async function rows(sql: string): Promise<Record<string, unknown>[]> {
  const reader = await con.runAndReadAll(sql);
  return reader.getRowObjectsJS().map((o) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = typeof v === 'bigint' ? Number(v) : v;
    return out;
  });
}

/** Parquet and CSV of a snake part as typed relations. */
function parquetSql(file: string): string {
  return `read_parquet(${sqlString(file)})`;
}
function snakeCsvSql(file: string): string {
  const cols = datasetColumns('snake')
    .map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`)
    .join(', ');
  return `read_csv(${sqlString(file)}, header = true, allow_quoted_nulls = false, columns = {${cols}})`;
}

/** Assert one dataset row (from Parquet or CSV) holds exactly the record's values. */
function assertRowMatches(row: Record<string, unknown>, rec: FlowRecord, where: string): void {
  for (const c of FLOW_SCALAR_COLUMNS) {
    if (c === 'partial') continue;
    assert.equal(row[c], rec[c], `${where}: ${c}`);
  }
  assert.equal((row.first_seen as Date).getTime(), Math.floor(rec.first_seen_us / 1000), `${where}: first_seen`);
  assert.equal((row.last_seen as Date).getTime(), Math.floor(rec.last_seen_us / 1000), `${where}: last_seen`);
  for (let i = 0; i < CIC_FEATURE_COUNT; i++) {
    const name = CIC_FEATURES[i]!.name;
    const want = rec.features === null ? null : rec.features[i];
    assert.equal(row[name], want, `${where}: ${name}`);
  }
}

describe('dataset writer', () => {
  test('columns: record scalars, timestamps, one per feature; names unique', () => {
    const snake = datasetColumns('snake');
    const names = snake.map((c) => c.name);
    assert.equal(new Set(names).size, names.length);
    assert.deepEqual(
      names.filter((n) => n !== 'first_seen' && n !== 'last_seen').slice(0, FLOW_SCALAR_COLUMNS.length - 1),
      FLOW_SCALAR_COLUMNS.filter((c) => c !== 'partial'),
    );
    assert.deepEqual(
      names.slice(-CIC_FEATURE_COUNT),
      CIC_FEATURES.map((f) => f.name),
    );
    assert.equal(snake.find((c) => c.name === 'first_seen')?.type, 'TIMESTAMP');
    assert.equal(snake.find((c) => c.name === 'fwd_bytes')?.type, 'BIGINT');
    assert.equal(snake.find((c) => c.name === 'src_port')?.type, 'INTEGER');
    assert.deepEqual(datasetColumns('cic').at(-1), { name: 'label', type: 'VARCHAR' });
  });

  test('docs/datasets.md documents every column with its type', async () => {
    const doc = await readFile(new URL('../../docs/datasets.md', import.meta.url), 'utf8');
    const cols = datasetColumns('cic');
    const features = new Set(CIC_FEATURES.map((f) => f.name));
    for (const c of cols) {
      if (features.has(c.name)) continue;
      assert.ok(doc.includes(`| \`${c.name}\` | ${c.type} |`), `docs/datasets.md lists ${c.name} as ${c.type}`);
    }
    const range = `| \`${CIC_FEATURES[0]!.name}\` ... \`${CIC_FEATURES.at(-1)!.name}\` | DOUBLE |`;
    assert.ok(doc.includes(range), `docs/datasets.md has the feature row ${range}`);
    assert.ok(doc.includes(`The ${CIC_FEATURE_COUNT} CIC features`));
  });

  test('snake: a part every N flows, a short last part, CSV and Parquet hold the records', async () => {
    const dir = freshDir();
    const recs = makeRecords(250, 1);
    const ds = await openDatasetWriter({ dir, every: 100, features: 'corrected' });
    for (const rec of recs) {
      ds.add(rec);
      // Partial updates are not dataset rows.
      if (rec.flow_id % 10 === 0) ds.add({ ...rec, partial: true, end_reason: 'update', flow_id: 1e9 });
    }
    await ds.flush();
    await ds.close();

    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, [
      'flows-000001.csv',
      'flows-000001.parquet',
      'flows-000002.csv',
      'flows-000002.parquet',
      'flows-000003.csv',
      'flows-000003.parquet',
      'manifest.json',
    ]);
    assert.deepEqual(ds.stats.parts, 3);
    assert.deepEqual(ds.stats.rows, 250);
    let bytes = 0;
    for (const f of files) if (f !== 'manifest.json') bytes += (await stat(path.join(dir, f))).size;
    assert.equal(ds.stats.bytes, bytes);

    const expectCounts = [100, 100, 50];
    for (let p = 1; p <= 3; p++) {
      const base = path.join(dir, `flows-00000${p}`);
      const want = recs.slice((p - 1) * 100, p * 100);
      const fromParquet = await rows(`SELECT * FROM ${parquetSql(`${base}.parquet`)}`);
      const fromCsv = await rows(`SELECT * FROM ${snakeCsvSql(`${base}.csv`)}`);
      assert.equal(fromParquet.length, expectCounts[p - 1]);
      assert.equal(fromCsv.length, expectCounts[p - 1]);
      for (let i = 0; i < want.length; i++) {
        assertRowMatches(fromParquet[i]!, want[i]!, `part ${p} parquet row ${i}`);
        assertRowMatches(fromCsv[i]!, want[i]!, `part ${p} csv row ${i}`);
      }
    }
  });

  test('parts larger than a column block, on block buffers reused from written parts', async () => {
    const dir = freshDir();
    const every = 4200; // three blocks: 2048, 2048 and 104 rows
    const recs = makeRecords(2 * every + 123, 10);
    const ds = await openDatasetWriter({ dir, every });
    for (const rec of recs.slice(0, every)) ds.add(rec);
    // Let part 1 come back so parts 2 and 3 are filled on its buffers.
    while (ds.stats.parts < 1) await new Promise((r) => setTimeout(r, 5));
    for (const rec of recs.slice(every)) ds.add(rec);
    await ds.close();
    assert.equal(ds.stats.parts, 3);
    for (let p = 1; p <= 3; p++) {
      const base = path.join(dir, `flows-00000${p}`);
      const want = recs.slice((p - 1) * every, p * every);
      // Rows in record order; then a sample of whole rows, with both sides of each block boundary.
      for (const [name, from] of [
        ['parquet', parquetSql(`${base}.parquet`)],
        ['csv', snakeCsvSql(`${base}.csv`)],
      ]) {
        await con.run(`CREATE OR REPLACE TEMP TABLE part AS SELECT * FROM ${from}`);
        const rel = 'part';
        const ids = await rows(`SELECT list(flow_id) AS ids FROM ${rel}`);
        assert.deepEqual(
          ids[0]!.ids,
          want.map((r) => BigInt(r.flow_id)),
        );
        const pick = (i: number): boolean => i % 11 === 0 || i % 2048 <= 1 || i % 2048 >= 2046;
        const sample = want.filter((_, i) => pick(i));
        const got = await rows(
          `SELECT * FROM ${rel} WHERE flow_id IN (${sample.map((r) => r.flow_id).join(',')}) ORDER BY flow_id`,
        );
        assert.equal(got.length, sample.length);
        for (const [i, rec] of sample.entries())
          assertRowMatches(got[i]!, rec, `part ${p} ${name} flow ${rec.flow_id}`);
      }
    }
  });

  test('Parquet column types are the documented SQL types', async () => {
    const dir = freshDir();
    const ds = await openDatasetWriter({ dir, every: 10 });
    for (const rec of makeRecords(3, 2)) ds.add(rec);
    await ds.close();
    const described = await rows(
      `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${parquetSql(path.join(dir, 'flows-000001.parquet'))})`,
    );
    assert.deepEqual(
      described.map((d) => ({ name: d.column_name, type: d.column_type })),
      datasetColumns('snake'),
    );
    const header = (await readFile(path.join(dir, 'flows-000001.csv'), 'utf8')).split('\n')[0]!;
    assert.deepEqual(
      header.split(','),
      datasetColumns('snake').map((c) => c.name),
    );
  });

  test('cic: the CSV is the 85-column CICIDS2017 layout, Parquet the snake columns plus label', async () => {
    const dir = freshDir();
    const recs = makeRecords(40, 3);
    const ds = await openDatasetWriter({ dir, every: 25, format: 'cic', label: 'DoS Hulk', features: 'cic' });
    for (const rec of recs) ds.add(rec);
    await ds.close();

    const csv1 = (await readFile(path.join(dir, 'flows-000001.csv'), 'utf8')).split('\n');
    assert.equal(csv1[0], cicCsvHeader());
    assert.equal(csv1[0]!.split(',').length, 85);
    assert.deepEqual(csv1[0]!.split(','), CIC_HEADER);
    assert.equal(csv1.at(-1), '', 'file ends with a newline');
    assert.deepEqual(
      csv1.slice(1, -1),
      recs.slice(0, 25).map((r) => cicCsvRow(r, 'DoS Hulk')),
    );
    for (const line of csv1.slice(1, -1)) assert.equal(line.split(',').length, 85);
    const csv2 = (await readFile(path.join(dir, 'flows-000002.csv'), 'utf8')).split('\n');
    assert.deepEqual(
      csv2.slice(1, -1),
      recs.slice(25).map((r) => cicCsvRow(r, 'DoS Hulk')),
    );

    const pq = await rows(`SELECT * FROM ${parquetSql(path.join(dir, 'flows-00000*.parquet'))} ORDER BY flow_id`);
    assert.equal(pq.length, 40);
    for (let i = 0; i < recs.length; i++) {
      assertRowMatches(pq[i]!, recs[i]!, `parquet row ${i}`);
      assert.equal(pq[i]!.label, 'DoS Hulk');
    }
    const m = await readManifest(dir);
    assert.equal(m.format, 'cic');
    assert.equal(m.label, 'DoS Hulk');
    assert.equal(m.features, 'cic');
    assert.deepEqual(m.csv_columns, CIC_HEADER);
    assert.deepEqual(m.parquet_columns, datasetColumns('cic'));
  });

  test('manifest lists every part with rows, sizes and ranges; written atomically', async () => {
    const dir = freshDir();
    const recs = makeRecords(23, 4);
    const ds = await openDatasetWriter({ dir, every: 10 });
    const opened = await readManifest(dir);
    assert.equal(opened.complete, false);
    assert.deepEqual(opened.parts, []);
    for (const rec of recs) ds.add(rec);
    await ds.close();

    const m = await readManifest(dir);
    assert.equal(m.kind, 'pcapstream-flow-dataset');
    assert.equal(m.schema_version, DATASET_SCHEMA_VERSION);
    assert.equal(m.format, 'snake');
    assert.equal(m.features, null);
    assert.equal(m.label, null);
    assert.equal(m.rows_per_part, 10);
    assert.equal(m.complete, true);
    assert.equal(m.rows, 23);
    assert.ok(Date.parse(m.updated) >= Date.parse(m.created));
    assert.deepEqual(
      m.csv_columns,
      datasetColumns('snake').map((c) => c.name),
    );
    assert.deepEqual(
      m.parts.map((p) => [p.part, p.csv, p.parquet, p.rows, p.first_flow_id, p.last_flow_id]),
      [
        [1, 'flows-000001.csv', 'flows-000001.parquet', 10, 1, 10],
        [2, 'flows-000002.csv', 'flows-000002.parquet', 10, 11, 20],
        [3, 'flows-000003.csv', 'flows-000003.parquet', 3, 21, 23],
      ],
    );
    for (const p of m.parts) {
      assert.equal(p.csv_bytes, (await stat(path.join(dir, p.csv))).size);
      assert.equal(p.parquet_bytes, (await stat(path.join(dir, p.parquet))).size);
      const inPart = recs.filter((r) => r.flow_id >= p.first_flow_id && r.flow_id <= p.last_flow_id);
      assert.equal(p.first_seen_us, Math.min(...inPart.map((r) => r.first_seen_us)));
      assert.equal(p.last_seen_us, Math.max(...inPart.map((r) => r.last_seen_us)));
    }
    const left = (await readdir(dir)).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(left, []);
  });

  test('while running, the manifest lists only parts whose files are complete', async () => {
    const dir = freshDir();
    const ds = await openDatasetWriter({ dir, every: 50 });
    for (const rec of makeRecords(120, 5)) ds.add(rec);
    while (ds.stats.parts < 2) await new Promise((r) => setTimeout(r, 5));
    const m = await readManifest(dir);
    assert.equal(m.complete, false);
    assert.ok(m.parts.length >= 2);
    for (const p of m.parts) {
      const n = await rows(`SELECT count(*) AS n FROM ${parquetSql(path.join(dir, p.parquet))}`);
      assert.equal(n[0]!.n, p.rows);
      const lines = (await readFile(path.join(dir, p.csv), 'utf8')).split('\n');
      assert.equal(lines.length, p.rows + 2, 'header, rows, final newline');
    }
    await ds.close();
    assert.equal((await readManifest(dir)).parts.length, 3);
  });

  test('flush() applies back-pressure: at most one part still being written', async () => {
    const dir = freshDir();
    const ds = await openDatasetWriter({ dir, every: 20 });
    const recs = makeRecords(200, 6);
    for (const rec of recs) ds.add(rec);
    await ds.flush();
    assert.ok(ds.stats.parts >= 9, `parts written after flush: ${ds.stats.parts}`);
    await ds.close();
    assert.equal(ds.stats.parts, 10);
    assert.equal(ds.stats.rows, 200);
  });

  test('no flows: the manifest is complete with no parts', async () => {
    const dir = freshDir();
    const ds = await openDatasetWriter({ dir, every: 5 });
    await ds.flush();
    await ds.close();
    await ds.close();
    const m = await readManifest(dir);
    assert.equal(m.complete, true);
    assert.equal(m.rows, 0);
    assert.deepEqual(m.parts, []);
    assert.deepEqual(await readdir(dir), ['manifest.json']);
    assert.throws(() => ds.add(makeRecords(1, 7)[0]!), /closed/);
  });

  test('a directory that cannot be created is a clear PCS_SINK_OPEN error', async () => {
    const file = path.join(root, 'plain-file');
    await writeFile(file, 'x');
    const dir = path.join(file, 'ds');
    await assert.rejects(openDatasetWriter({ dir, every: 10 }), (err: unknown) => {
      assert.ok(isPipelineError(err));
      assert.equal(err.code, 'PCS_SINK_OPEN');
      assert.match(err.message, /cannot open dataset directory .*plain-file.ds: cannot create it/);
      return true;
    });
  });

  test('a directory that already holds a dataset is refused', async () => {
    const dir = freshDir();
    const ds = await openDatasetWriter({ dir, every: 10 });
    await ds.close();
    await assert.rejects(openDatasetWriter({ dir, every: 10 }), (err: unknown) => {
      assert.ok(isPipelineError(err));
      assert.equal(err.code, 'PCS_SINK_OPEN');
      assert.match(err.message, /already holds a dataset/);
      return true;
    });
  });

  test('bad options are clear configuration errors', async () => {
    for (const every of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(openDatasetWriter({ dir: freshDir(), every }), (err: unknown) => {
        assert.ok(isPipelineError(err));
        assert.equal(err.code, 'PCS_CONFIG');
        assert.match(err.message, /--dataset-every\) must be an integer >= 1/);
        return true;
      });
    }
    await assert.rejects(
      openDatasetWriter({ dir: freshDir(), every: 1, format: 'parquet' as 'snake' }),
      /must be snake or cic/,
    );
    await assert.rejects(
      openDatasetWriter({ dir: freshDir(), every: 1, format: 'cic', label: 'a,b' }),
      /label must be/,
    );
  });

  test('a part that cannot be written fails flush() and close() with PCS_SINK_WRITE', async () => {
    const dir = freshDir();
    const ds = await openDatasetWriter({ dir, every: 5 });
    await rm(dir, { recursive: true });
    for (const rec of makeRecords(12, 8)) ds.add(rec);
    const isWriteError = (err: unknown): boolean => {
      assert.ok(isPipelineError(err));
      assert.equal(err.code, 'PCS_SINK_WRITE');
      assert.match(err.message, /cannot write dataset: part 1/);
      return true;
    };
    await assert.rejects(
      (async () => {
        for (;;) {
          await ds.flush();
          await new Promise((r) => setTimeout(r, 5));
        }
      })(),
      isWriteError,
    );
    ds.add(makeRecords(1, 9)[0]!); // dropped, no throw
    await assert.rejects(ds.close(), isWriteError);
    assert.equal(ds.stats.parts, 0);
  });

  test('flows from the engine on a synthetic capture: every final record is one row', async () => {
    const capture = path.join(root, 'synth.pcap');
    await synthesize({ out: capture, packets: 20_000, seed: 21, format: 'pcap' });
    const recs = await runFlows(capture, { features: 'corrected', partialEveryS: 1 });
    const finals = recs.filter((r) => !r.partial);
    const dir = freshDir();
    const ds = await openDatasetWriter({ dir, every: 300, features: 'corrected' });
    for (const rec of recs) ds.add(rec);
    await ds.close();
    const m = await readManifest(dir);
    assert.equal(m.rows, finals.length);
    assert.equal(m.parts.length, Math.ceil(finals.length / 300));
    const sums = (r: FlowRecord[]): number[] => [
      r.length,
      r.reduce((a, x) => a + x.fwd_packets + x.bwd_packets, 0),
      r.reduce((a, x) => a + x.fwd_bytes + x.bwd_bytes, 0),
      r.reduce((a, x) => a + x.features![1]! + x.features![2]!, 0),
    ];
    for (const from of [parquetSql(path.join(dir, '*.parquet')), snakeCsvSql(path.join(dir, '*.csv'))]) {
      const got = await rows(
        `SELECT count(DISTINCT flow_id) AS n, sum(fwd_packets + bwd_packets) AS p, sum(fwd_bytes + bwd_bytes) AS b,
           sum(total_fwd_packets + total_bwd_packets) AS f FROM ${from}`,
      );
      assert.deepEqual([got[0]!.n, got[0]!.p, got[0]!.b, got[0]!.f], sums(finals));
    }
  });
});
