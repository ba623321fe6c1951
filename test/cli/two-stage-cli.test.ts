/**
 * `flows` and `run` with the two-stage hot path (`--threads 2`) against one thread
 * (`--threads 1`): same stdout, stderr and exit code, same stored rows; truncated and unreadable
 * inputs included.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { synthesize } from '../../src/synth/index.ts';
import { corpusPath } from '../helpers/corpus.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
let dir = '';
let synth = '';

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** stderr without the run's timing (elapsed seconds and rate differ from run to run). */
function stable(stderr: string): string {
  return stderr.replace(/ in [\d.]+ s \([\d,]+ packets\/s\)/g, '').replace(/stored in \S+/g, 'stored');
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-two-stage-cli-'));
  synth = path.join(dir, 'synth.pcap');
  await synthesize({ out: synth, packets: 40_000, seed: 77, format: 'pcap' });
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('flows: two threads against one', () => {
  const cases: [string, number][] = [
    ['synth', 0],
    ['dpkt__file_cut_mid_packet.pcap', 3],
    ['zeek__snaplen68_tcp_truncated_header.pcap', -1],
    ['ppp__tcp_malformed.pcap', -1],
    ['tcpdump__ipv6_frag_fuzzed.pcap', -1],
    ['ppp__vlan_and_qinq.pcap', -1],
    ['ppp__gre.cap', -1],
    ['libpcap__pcap_invalid_version_1.pcap', 4],
    ['no-such-file.pcap', 4],
  ];
  for (const [name, expected] of cases) {
    it(`same CSV, messages and exit code: ${name}`, () => {
      const file = name === 'synth' ? synth : name === 'no-such-file.pcap' ? path.join(dir, name) : corpusPath(name);
      const one = cli('flows', file, '--format', 'csv', '--threads', '1');
      const two = cli('flows', file, '--format', 'csv', '--threads', '2');
      if (expected >= 0) assert.equal(one.status, expected, one.stderr);
      assert.equal(two.status, one.status, two.stderr);
      assert.equal(two.stderr, one.stderr);
      assert.equal(two.stdout, one.stdout);
      if (one.status === 0) assert.ok(one.stdout.split('\n').length > 2, 'flows were written');
    });
  }

  it('refuses a --threads other than 1 or 2', () => {
    const r = cli('flows', synth, '--threads', '3');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--threads must be 1, 2 or auto/);
  });
});

describe('run: two threads against one', () => {
  function stored(db: string, table: string): string {
    const r = cli('query', `SELECT * EXCLUDE (run_id) FROM ${table} ORDER BY ALL`, '--db', db, '--format', 'csv');
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  }

  for (const [name, expected] of [
    ['synth', 0],
    ['dpkt__file_cut_mid_packet.pcap', 3],
    ['tcpdump__udp_length_fuzzed.pcap', 0],
  ] as const) {
    it(`stores the same flows, metrics and anomalies: ${name}`, () => {
      const file = name === 'synth' ? synth : corpusPath(name);
      const out: { status: number | null; stderr: string; db: string }[] = [];
      for (const threads of ['1', '2']) {
        const db = path.join(dir, `${name}-${threads}.duckdb`);
        const r = cli('run', file, '--no-dashboard', '--db', db, '--threads', threads, '--partial-every', '5');
        out.push({ status: r.status, stderr: stable(r.stderr), db });
      }
      const [one, two] = out as [(typeof out)[0], (typeof out)[0]];
      assert.equal(one.status, expected, one.stderr);
      assert.equal(two.status, one.status, two.stderr);
      assert.equal(two.stderr, one.stderr);
      for (const table of ['flows', 'metrics', 'anomalies']) {
        const a = stored(one.db, table);
        assert.equal(stored(two.db, table), a, table);
        if (table !== 'anomalies' || name !== 'synth') assert.ok(a.split('\n').length > 2, `${table} has rows`);
      }
    });
  }

  it('ends the decode worker it started when the store then fails to open', () => {
    // The worker starts before the store opens: a store that cannot open still ends the run with its error.
    const notAStore = path.join(dir, 'not-a-store.duckdb');
    fs.writeFileSync(notAStore, 'plain text, not a DuckDB file\n'.repeat(1000));
    const r = spawnSync(process.execPath, [MAIN, 'run', synth, '--no-dashboard', '--db', notAStore, '--threads', '2'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.signal, null, 'exited by itself instead of waiting on the worker');
    assert.equal(r.status, 5, r.stderr);
    assert.match(r.stderr, /not a DuckDB database/);
  });
});
