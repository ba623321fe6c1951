/**
 * Ctrl-C mid-run: `pcapstream run` reading a pipe gets SIGINT (and SIGTERM) while input is still
 * arriving; it must exit cleanly with every flow and metric of the packets it processed in the
 * store. The expected flows come from the flow engine run over the same first N packets.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PacketContext } from '../../src/core/packet.ts';
import { decodeFrame } from '../../src/decode/dispatch.ts';
import { FlowEngine } from '../../src/flow/flow-engine.ts';
import type { FlowRecord } from '../../src/flow/records.ts';
import { ReadModel } from '../../src/query/read-model.ts';
import { readCapture } from '../../src/sources/capture.ts';
import { synthesize } from '../../src/synth/index.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
let dir = '';
let capture = '';

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-signal-'));
  capture = path.join(dir, 'in.pcap');
  await synthesize({ out: capture, packets: 60_000, seed: 5, format: 'pcap' });
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Flows of the first `n` frames, as `run` computes them with its defaults. */
async function referenceFlows(n: number): Promise<FlowRecord[]> {
  const out: FlowRecord[] = [];
  const engine = new FlowEngine({ onFlow: (r) => out.push(r) });
  const p = new PacketContext();
  let i = 0;
  await readCapture(
    capture,
    (f) => {
      if (i >= n) return;
      p.frameNumber = ++i;
      decodeFrame(p, f);
      engine.packet(p);
    },
    { shouldStop: () => i >= n },
  );
  engine.flushAll('end');
  return out.filter((r) => !r.partial);
}

async function interruptedRun(signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string; db: string }> {
  const db = path.join(dir, `${signal}.duckdb`);
  const child = spawn(process.execPath, [MAIN, 'run', '-', '--no-dashboard', '--db', db], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr += s;
  });
  const bytes = fs.readFileSync(capture);
  // Two thirds of the capture, then a pause with the pipe still open: the run is mid-input.
  const cut = Math.floor((bytes.length * 2) / 3);
  await new Promise<void>((resolve) => child.stdin.write(bytes.subarray(0, cut), () => resolve()));
  await new Promise((r) => setTimeout(r, 1500));
  child.kill(signal);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  child.stdin.destroy();
  return { code, stderr, db };
}

describe('run interrupted by a signal', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`stores every flow and metric processed before ${signal}`, async () => {
      const { code, stderr, db } = await interruptedRun(signal);
      assert.equal(code, 0, stderr);
      const m = /interrupted: ([\d,]+) packets/.exec(stderr);
      assert.ok(m, `summary line in: ${stderr}`);
      const n = Number(m[1]!.replaceAll(',', ''));
      assert.ok(n > 1000 && n < 60_000, `processed ${n} of 60000 packets`);

      const want = await referenceFlows(n);
      const rm = await ReadModel.open(db);
      try {
        const flows = await rm.query(
          'SELECT src_ip, src_port, dest_ip, dest_port, protocol, fwd_packets, bwd_packets, fwd_bytes, bwd_bytes FROM flows WHERE NOT partial ORDER BY ALL',
          { maxRows: 100_000 },
        );
        const got = flows.rows.map((r) => r.map(String).join(' '));
        const expected = want
          .map((r) =>
            [
              r.src_ip,
              r.src_port,
              r.dest_ip,
              r.dest_port,
              r.protocol,
              r.fwd_packets,
              r.bwd_packets,
              r.fwd_bytes,
              r.bwd_bytes,
            ]
              .map(String)
              .join(' '),
          )
          .sort();
        assert.equal(got.length, expected.length, 'flow count');
        assert.deepEqual([...got].sort(), expected);
        const metrics = await rm.query(
          'SELECT window_s, sum(packets) FROM metrics GROUP BY window_s ORDER BY window_s',
        );
        assert.deepEqual(
          metrics.rows.map((r) => [Number(r[0]), Number(r[1])]),
          [
            [1, n],
            [60, n],
          ],
        );
      } finally {
        await rm.close();
      }
    });
  }
});
