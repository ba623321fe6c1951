/**
 * `pcapstream query` as a user runs it: real processes on a store written by the store module,
 * each output format, row limits, refusals and the one-line errors with their exit codes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatCsv, formatJsonLines, formatTable } from '../../src/cli/commands/query.ts';
import { EXIT_OUTPUT, EXIT_USAGE } from '../../src/cli/exit-codes.ts';
import { openDuckDBStore } from '../../src/sinks/db/duckdb-store.ts';
import { flowRecord, holdStore, metricWindow, tempStore } from '../helpers/store-records.ts';

const BIN = fileURLToPath(new URL('../../bin/pcapstream.js', import.meta.url));
const { dir, path: db } = tempStore();
const flows = Array.from({ length: 12 }, (_, i) => flowRecord(i + 1, 4, { features: i % 2 === 0 }));

function cli(args: string[], cwd = dir): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

before(async () => {
  const store = await openDuckDBStore({ path: db, label: 'cli' });
  for (const r of flows) store.addFlow(r);
  store.addMetrics(metricWindow(0));
  await store.close();
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const SQL = 'SELECT flow_id, src_ip, protocol_name AS proto, fwd_bytes FROM flows WHERE flow_id <= 3 ORDER BY flow_id';

describe('pcapstream query', () => {
  it('prints an aligned table with a row count', () => {
    const r = cli(['query', SQL, '--db', db]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.match(lines[0]!, /^flow_id\s+src_ip\s+proto\s+fwd_bytes$/);
    assert.match(lines[1]!, /^-+ {2}-+ {2}-+ {2}-+$/);
    for (let i = 0; i < 3; i++) {
      const f = flows[i]!;
      const cells = lines[2 + i]!.trim().split(/\s+/);
      assert.deepEqual(cells, [String(f.flow_id), f.src_ip, f.protocol_name, String(f.fwd_bytes)]);
    }
    // Numbers are right-aligned: the column ends where its rule ends.
    assert.equal(lines[2]!.indexOf('1'), lines[1]!.indexOf(' ') - 1);
    assert.equal(lines[5], '(3 rows)');
    assert.equal(r.err, '');
  });

  it('prints RFC 4180 CSV with a header and CRLF line ends', () => {
    const r = cli(['query', SQL, '--db', db, '--format', 'csv']);
    assert.equal(r.code, 0, r.err);
    const want =
      [
        'flow_id,src_ip,proto,fwd_bytes',
        ...flows.slice(0, 3).map((f) => `${f.flow_id},${f.src_ip},${f.protocol_name},${f.fwd_bytes}`),
      ].join('\r\n') + '\r\n';
    assert.equal(r.out, want);
    const quoted = cli([
      'query',
      `SELECT 'a,b' AS x, 'say "hi"' AS y, NULL AS z, 'two\nlines' AS w`,
      '--db',
      db,
      '--format',
      'csv',
    ]);
    assert.equal(quoted.out, 'x,y,z,w\r\n"a,b","say ""hi""",,"two\nlines"\r\n');
  });

  it('prints JSON lines, one object per row, with exact numbers and ISO times', () => {
    const r = cli([
      'query',
      'SELECT flow_id, first_seen, partial, flow_duration FROM flows ORDER BY flow_id',
      '--db',
      db,
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.err);
    const rows = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(rows.length, flows.length);
    for (let i = 0; i < flows.length; i++) {
      const f = flows[i]!;
      const sec = Math.floor(f.first_seen_us / 1e6);
      assert.deepEqual(rows[i], {
        flow_id: f.flow_id,
        first_seen: `${new Date(sec * 1000).toISOString().slice(0, 19)}.${String(f.first_seen_us % 1e6).padStart(6, '0')}Z`,
        partial: false,
        flow_duration: f.features === null ? null : f.features[0],
      });
    }
  });

  it('cuts at --max-rows and says so on stderr', () => {
    const r = cli([
      'query',
      'SELECT flow_id FROM flows ORDER BY flow_id',
      '--db',
      db,
      '--format',
      'json',
      '--max-rows',
      '5',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim().split('\n').length, 5);
    assert.match(r.err, /only the first 5 rows are shown/);
  });

  it('refuses --max-rows 0 as a usage error', () => {
    const r = cli(['query', 'SELECT 1', '--db', db, '--max-rows', '0']);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /--max-rows must be a whole number >= 1/);
  });

  it('uses pcapstream.duckdb in the current directory by default', () => {
    const cwd = fs.mkdtempSync(path.join(dir, 'cwd-'));
    fs.copyFileSync(db, path.join(cwd, 'pcapstream.duckdb'));
    const r = cli(['query', 'SELECT count(*) AS n FROM flows_latest', '--format', 'csv'], cwd);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `n\r\n${flows.length}\r\n`);
  });

  it('refuses writes and file access with exit code 2 and a one-line message', () => {
    for (const sql of ['DROP TABLE flows', "SELECT * FROM read_csv('/etc/passwd')", 'SELECT 1; DELETE FROM flows']) {
      const r = cli(['query', sql, '--db', db]);
      assert.equal(r.code, EXIT_USAGE, sql);
      assert.equal(r.out, '');
      assert.match(r.err, /^pcapstream: query refused: .+\n$/);
    }
    const bad = cli(['query', 'SELEC 1', '--db', db]);
    assert.equal(bad.code, EXIT_USAGE);
    assert.match(bad.err, /^pcapstream: query failed: Parser Error: syntax error/);
    assert.equal(
      cli(['query', 'SELECT count(*) FROM flows', '--db', db, '--format', 'csv']).out,
      `count_star()\r\n${flows.length}\r\n`,
    );
  });

  it('fails with exit code 5 and a hint when the store is missing or held by a run', async () => {
    const missing = cli(['query', 'SELECT 1', '--db', path.join(dir, 'none.duckdb')]);
    assert.equal(missing.code, EXIT_OUTPUT);
    assert.match(missing.err, /^pcapstream: no store at .*none\.duckdb \(pcapstream run creates one/);
    const held = path.join(dir, 'held.duckdb');
    const holder = await holdStore(held);
    try {
      const r = cli(['query', 'SELECT 1', '--db', held]);
      assert.equal(r.code, EXIT_OUTPUT);
      assert.match(r.err, new RegExp(`in use by another process \\(PID ${holder.pid}\\).*dashboard's /api/query`));
      assert.equal(r.err.trim().split('\n').length, 1, 'one line, no stack trace');
    } finally {
      holder.kill();
    }
  });
});

describe('query output formats', () => {
  it('table: NULL shown, control characters escaped, nested values as JSON', () => {
    assert.equal(
      formatTable(
        ['a', 'b'],
        [
          [null, 'x\ty'],
          [[1, 2], { k: 'v' }],
        ],
      ),
      'a      b\n-----  ---------\nNULL   x\\ty\n[1,2]  {"k":"v"}\n(2 rows)\n',
    );
    assert.equal(formatTable(['n'], []), 'n\n-\n(0 rows)\n');
  });

  it('csv and json keep every column, duplicates included', () => {
    assert.equal(formatCsv(['a', 'a'], [[1, 2]]), 'a,a\r\n1,2\r\n');
    assert.equal(formatJsonLines(['a', 'a', 'a_2'], [[1, 2, 3]]), '{"a":1,"a_2":2,"a_2_2":3}\n');
  });
});
