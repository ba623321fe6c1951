/**
 * `pcapstream flows` end to end: every format on a synth capture, the CICIDS2017 header, the
 * counts against the ground truth, and usage errors.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CIC_FEATURES, CIC_HEADER } from '../../src/flow/cic-features.ts';
import { FLOW_SCALAR_COLUMNS } from '../../src/sinks/flow-format.ts';
import { synthesize } from '../../src/synth/index.ts';
import type { Truth } from '../../src/synth/truth.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
let dir = '';
let capture = '';
let truth: Truth;

function flows(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, 'flows', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-flows-cli-'));
  capture = path.join(dir, 'in.pcap');
  truth = await synthesize({ out: capture, packets: 8000, seed: 21, format: 'pcap' });
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('pcapstream flows', () => {
  it('writes one JSON record per flow with the truth file packet and byte totals', () => {
    const r = flows(capture);
    assert.equal(r.status, 0, r.stderr);
    const recs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, number | string | null>);
    assert.equal(recs.length, truth.flows.total);
    const packets = recs.reduce((a, x) => a + Number(x.fwd_packets) + Number(x.bwd_packets), 0);
    const bytes = recs.reduce((a, x) => a + Number(x.fwd_bytes) + Number(x.bwd_bytes), 0);
    const arp = truth.protocols.arp ?? 0;
    assert.equal(packets, truth.packets - arp);
    assert.ok(bytes > 0 && bytes < truth.bytes);
    assert.equal(Object.keys(recs[0]!).length, FLOW_SCALAR_COLUMNS.length + CIC_FEATURES.length);
    assert.match(String(recs[0]!.community_id), /^1:[A-Za-z0-9+/]{27}=$/);
  });

  it('writes CSV with a header naming every column, and the same flows', () => {
    const r = flows(capture, '--format', 'csv');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines[0]!.split(','), [...FLOW_SCALAR_COLUMNS, ...CIC_FEATURES.map((f) => f.name)]);
    assert.equal(lines.length - 1, truth.flows.total);
    for (const l of lines.slice(1)) assert.equal(l.split(',').length, FLOW_SCALAR_COLUMNS.length + CIC_FEATURES.length);
  });

  it('writes the CICIDS2017 layout, and with cic features skips one-packet flows as CICFlowMeter does', () => {
    const corrected = flows(capture, '--format', 'cic');
    assert.equal(corrected.status, 0, corrected.stderr);
    const lines = corrected.stdout.trim().split('\n');
    assert.equal(lines[0], CIC_HEADER.join(','));
    assert.equal(lines.length - 1, truth.flows.total);
    const cic = flows(capture, '--format', 'cic', '--features', 'cic', '--preset', 'cic', '--label', 'ATTACK');
    assert.equal(cic.status, 0, cic.stderr);
    const rows = cic.stdout.trim().split('\n').slice(1);
    assert.ok(rows.length > 0);
    for (const row of rows) {
      const cols = row.split(',');
      assert.equal(cols.length, 85);
      assert.equal(cols[84], 'ATTACK');
      // Total Fwd Packets + Total Backward Packets
      assert.ok(Number(cols[8]) + Number(cols[9]) >= 2, row);
    }
  });

  it('refuses bad options with exit code 2 and a one-line message', () => {
    for (const args of [
      ['--format', 'xml'],
      ['--preset', 'argus'],
      ['--idle-timeout', '-3'],
      ['--max-flows', '0'],
      ['--features', 'all'],
      ['--format', 'cic', '--features', 'none'],
    ]) {
      const r = flows(capture, ...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length >= 1, true);
      assert.match(r.stderr, /pcapstream: /);
    }
  });

  it('reads a pipe', () => {
    const r = spawnSync(process.execPath, [MAIN, 'flows', '-', '--features', 'none', '--summary'], {
      input: fs.readFileSync(capture),
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, truth.flows.total);
    assert.match(r.stderr, new RegExp(`flows: ${truth.flows.total} `));
  });
});
