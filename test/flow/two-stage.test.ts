/**
 * The two-stage hot path (decode in a worker, aggregate here) against the one-thread path:
 * every flow record, KPI window and anomaly row must be identical, on every corpus capture
 * (truncated, malformed and fuzzed ones included) and on synth captures.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PipelineError } from '../../src/core/errors.ts';
import { PacketContext } from '../../src/core/packet.ts';
import { FlowEngine } from '../../src/flow/flow-engine.ts';
import { RollingMetrics } from '../../src/flow/metrics.ts';
import { synthesize } from '../../src/synth/index.ts';
import { readDecoded, startDecoded } from '../../src/transports/worker/decode-pipeline.ts';
import {
  takeWarmDecodeWorker,
  warmDecodeWorkerFor,
  warmDecodeWorkerState,
} from '../../src/transports/worker/warm-start.ts';
import { CORPUS, corpusPath } from '../helpers/corpus.ts';

interface Outcome {
  flows: string[];
  windows: string[];
  anomalies: string[];
  packets: number;
  truncated: string | null;
  warnings: string[];
  error: string | null;
}

/** Everything `run` would store for `file`, computed with `threads` hot-path threads. */
async function outcome(file: string, threads: number, features: 'corrected' | 'cic'): Promise<Outcome> {
  const o: Outcome = { flows: [], windows: [], anomalies: [], packets: 0, truncated: null, warnings: [], error: null };
  let metrics: RollingMetrics | null = null;
  const engine = new FlowEngine({
    features,
    partialEveryS: 1,
    onFlow: (r) => o.flows.push(JSON.stringify(r)),
    onFlowStart: (ts) => metrics!.flowStarted(ts),
    onFlowEnd: (ts) => metrics!.flowEnded(ts),
  });
  metrics = new RollingMetrics({
    topN: 5,
    onWindow: (w) => o.windows.push(JSON.stringify(w)),
    losses: () => ({ flows_evicted: engine.stats.flows_evicted }),
  });
  const m = metrics;
  const onPacket = (p: PacketContext): void => {
    o.packets++;
    const slot = engine.packet(p);
    const ts = p.tsSec * 1e6 + Math.floor(p.tsNanos / 1000);
    m.observe(p, ts, slot, engine.servicePort);
    for (let i = 0; i < Math.min(p.anomalyCount, p.anomalies.length); i++) {
      o.anomalies.push(
        `${p.frameNumber} ${ts} ${p.anomalies[i]} ${p.ipVersion} ${p.src4} ${p.dst4} ${p.src6.join('.')} ${p.dst6.join('.')} ${p.protocol}`,
      );
    }
  };
  try {
    const r = await readDecoded(file, new PacketContext(), onPacket, { threads, appDetail: false });
    o.truncated = r.truncated?.message ?? null;
    o.warnings = r.parser.stats.warnings;
  } catch (err) {
    o.error = `${(err as PipelineError).code} ${(err as Error).message}`;
  }
  engine.flushAll('end');
  m.flush();
  return o;
}

async function assertSame(file: string, features: 'corrected' | 'cic' = 'corrected'): Promise<Outcome> {
  const one = await outcome(file, 1, features);
  const two = await outcome(file, 2, features);
  assert.equal(two.error, one.error, `${file}: error`);
  assert.equal(two.truncated, one.truncated, `${file}: truncation`);
  assert.deepEqual(two.warnings, one.warnings, `${file}: warnings`);
  assert.equal(two.packets, one.packets, `${file}: packets`);
  assert.deepEqual(two.anomalies, one.anomalies, `${file}: anomaly rows`);
  assert.deepEqual(two.flows, one.flows, `${file}: flow records`);
  assert.deepEqual(two.windows, one.windows, `${file}: KPI windows`);
  return one;
}

/** One line per packet for comparing two reads. */
function frames(p: PacketContext, out: string[]): void {
  out.push(`${p.frameNumber} ${p.frameLength} ${p.src4} ${p.tcpFlags}`);
}

let dir = '';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-two-stage-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('two-stage hot path', () => {
  it('matches one thread on every corpus capture', async () => {
    const files = fs
      .readdirSync(CORPUS)
      .filter((f) => f !== 'MANIFEST.tsv')
      .sort();
    assert.ok(files.length > 50);
    let truncated = 0;
    let failed = 0;
    let anomalies = 0;
    for (const f of files) {
      const o = await assertSame(corpusPath(f));
      if (o.truncated !== null) truncated++;
      if (o.error !== null) failed++;
      anomalies += o.anomalies.length;
    }
    // The corpus holds cut files, unreadable ones and malformed packets: all were compared.
    assert.ok(truncated > 0 && failed > 0 && anomalies > 0, `${truncated} ${failed} ${anomalies}`);
  });

  it('matches one thread on synth captures, in both feature modes, pcap and pcapng', async () => {
    for (const [seed, format] of [
      [3, 'pcap'],
      [4, 'pcapng'],
    ] as const) {
      const file = path.join(dir, `s${seed}.${format}`);
      await synthesize({ out: file, packets: 30_000, seed, format });
      const o = await assertSame(file, 'corrected');
      assert.equal(o.packets, 30_000);
      assert.ok(o.flows.length > 100);
      await assertSame(file, 'cic');
    }
  });

  it('carries wire lengths of 2^31 bytes and more as one thread does', async () => {
    // A record header may claim up to 2^32 - 1 bytes on the wire (crafted or damaged files).
    const file = path.join(dir, 'huge-wire-lengths.pcap');
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(65535, 16);
    header.writeUInt32LE(1, 20);
    const frame = Buffer.from(
      [
        '000000000002000000000001' + '0800', // Ethernet
        '450000240001000040110000' + 'c0000201' + 'c0000202', // IPv4 192.0.2.1 -> 192.0.2.2
        '303900350010' + '0000' + '0000000000000000', // UDP 12345 -> 53, 8 bytes of payload
      ].join(''),
      'hex',
    );
    const records = [0x80000000, 0xffffffff, 50].map((wire, i) => {
      const r = Buffer.alloc(16);
      r.writeUInt32LE(1_700_000_000 + i, 0);
      r.writeUInt32LE(frame.length, 8);
      r.writeUInt32LE(wire, 12);
      return Buffer.concat([r, frame]);
    });
    fs.writeFileSync(file, Buffer.concat([header, ...records]));
    const one = await assertSame(file);
    assert.equal(one.packets, 3);
    const flow = JSON.parse(one.flows.at(-1)!) as { fwd_bytes: number; protocol: number; dest_port: number };
    assert.deepEqual([flow.protocol, flow.dest_port], [17, 53]);
    assert.equal(flow.fwd_bytes, 0x80000000 + 0xffffffff + 50);
    const lengths: number[] = [];
    await readDecoded(file, new PacketContext(), (p) => lengths.push(p.frameLength), { threads: 2 });
    assert.deepEqual(lengths, [0x80000000, 0xffffffff, 50]);
  });

  it('reports input errors as one thread does', async () => {
    const missing = await outcome(path.join(dir, 'missing.pcap'), 2, 'corrected');
    assert.match(missing.error ?? '', /^PCS_SOURCE_OPEN cannot open .*missing\.pcap: no such file$/);
    const notCapture = path.join(dir, 'text.pcap');
    fs.writeFileSync(notCapture, 'this is not a capture file at all');
    await assertSame(notCapture);
    assert.match((await outcome(notCapture, 2, 'corrected')).error ?? '', /^PCS_SOURCE_FORMAT /);
  });

  it('stops at the chunk boundary where shouldStop says so', async () => {
    const file = path.join(dir, 'big.pcap');
    await synthesize({ out: file, bytes: 12 << 20, seed: 9, format: 'pcap' });
    const counts: number[] = [];
    for (const threads of [1, 2]) {
      let n = 0;
      let chunks = 0;
      const r = await readDecoded(file, new PacketContext(), () => n++, {
        threads,
        afterChunk: () => {
          chunks++;
        },
        shouldStop: () => chunks === 1,
      });
      assert.equal(r.stoppedEarly, true);
      assert.equal(r.truncated, null);
      assert.ok(n > 0);
      counts.push(n);
    }
    assert.equal(counts[1], counts[0]);
  });

  it('lets the event loop turn while the consumer is the bottleneck', async () => {
    // A consumer ~10 times slower than the decode worker keeps the ring full; callbacks queued
    // meanwhile (the store's scans, the dashboard's requests) must still run within a few batches.
    const file = path.join(dir, 'slow-consumer.pcap');
    await synthesize({ out: file, packets: 30_000, seed: 5, format: 'pcap' });
    const at = 8_192;
    let n = 0;
    let firedAt = -1;
    await readDecoded(
      file,
      new PacketContext(),
      () => {
        n++;
        if (n === at) setImmediate(() => (firedAt = n));
        const until = performance.now() + 0.004;
        while (performance.now() < until) {
          // busy: a consumer slower than decoding
        }
      },
      { threads: 2 },
    );
    assert.equal(n, 30_000);
    assert.ok(firedAt > 0 && firedAt - at <= 6 * 2048, `a callback queued at packet ${at} ran at packet ${firedAt}`);
  });

  it('reads the same when the worker was started ahead of the consumer', async () => {
    const file = path.join(dir, 'ahead.pcap');
    await synthesize({ out: file, packets: 30_000, seed: 23, format: 'pcap' });
    const direct: string[] = [];
    await readDecoded(file, new PacketContext(), (p) => frames(p, direct), { threads: 2 });
    const started = startDecoded(file, { threads: 2 });
    // The consumer comes late: the worker has filled the ring and waits.
    await new Promise((r) => setTimeout(r, 300));
    const ahead: string[] = [];
    const r = await started.read(new PacketContext(), (p) => frames(p, ahead));
    assert.equal(r.parser.frames, 30_000);
    assert.deepEqual(ahead, direct);
    await started.cancel();
  });

  it('a started read that is cancelled ends its worker, so the process can exit', async () => {
    const file = path.join(dir, 'cancel.pcap');
    await synthesize({ out: file, packets: 30_000, seed: 29, format: 'pcap' });
    const pipeline = new URL('../../src/transports/worker/decode-pipeline.ts', import.meta.url).href;
    // In a child of its own: a worker left running would keep it alive until the timeout.
    const code = [
      `const { startDecoded } = await import(${JSON.stringify(pipeline)});`,
      `const s = startDecoded(${JSON.stringify(file)}, { threads: 2 });`,
      'await new Promise((r) => setTimeout(r, 300));',
      'await s.cancel();',
    ].join('\n');
    // A script file, not -e: code evaluated by -e exits at its end even with a worker running.
    const script = path.join(dir, 'cancel.mjs');
    fs.writeFileSync(script, code);
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, null, 'the child exited by itself');
    assert.equal(r.status, 0, r.stderr);
  });

  it('passes an error thrown by the consumer through and ends the worker', async () => {
    const file = path.join(dir, 's3.pcap');
    await assert.rejects(
      readDecoded(
        file,
        new PacketContext(),
        () => {
          throw new PipelineError('PCS_SINK_WRITE', 'sink failed');
        },
        { threads: 2 },
      ),
      /sink failed/,
    );
  });
});

describe('warm decode worker', () => {
  /** A regular file of 16 MiB (sparse: only its size is looked at). */
  function bigFile(): string {
    const f = path.join(dir, 'big.bin');
    fs.writeFileSync(f, '');
    fs.truncateSync(f, 16 * 1024 * 1024);
    return f;
  }

  it('starts only for run or flows on a large file read in two stages', async () => {
    const big = bigFile();
    const small = path.join(dir, 'small.bin');
    fs.writeFileSync(small, 'x');
    const cases: [string[], boolean][] = [
      [['flows', big], true],
      [['run', '--db', 'x.duckdb', big], true],
      [['flows', big, '--threads', '2'], true],
      [['flows', big, '--threads', '1'], false],
      [['flows', big, '--threads=1'], false],
      [['run', big, '--store-packets'], false],
      [['flows', big, '--help'], false],
      [['flows', small], false],
      [['flows', '-'], false],
      [['stats', big], false],
      [['query', big], false],
      [[], false],
    ];
    for (const [argv, warm] of cases) {
      warmDecodeWorkerFor(argv);
      const w = takeWarmDecodeWorker();
      assert.equal(w !== null, warm, argv.join(' '));
      await w?.terminate();
    }
    assert.equal(takeWarmDecodeWorker(), null, 'nothing left over');
  });

  it('decodes the same packets when a read takes the warm worker', async () => {
    const file = path.join(dir, 'warm.pcap');
    await synthesize({ out: file, packets: 20_000, seed: 31, format: 'pcap' });
    const direct: string[] = [];
    await readDecoded(file, new PacketContext(), (p) => frames(p, direct), { threads: 2 });
    warmDecodeWorkerFor(['flows', bigFile()]);
    // Booted and waiting for its setup before the read begins.
    await new Promise((r) => setTimeout(r, 300));
    // Healthy before the read, gone after it: the read took it rather than starting its own.
    assert.equal(warmDecodeWorkerState(), 'waiting');
    const warm: string[] = [];
    const r = await readDecoded(file, new PacketContext(), (p) => frames(p, warm), { threads: 2 });
    assert.equal(warmDecodeWorkerState(), 'none', 'the read took the warm worker');
    assert.equal(r.parser.frames, 20_000);
    assert.deepEqual(warm, direct);
  });

  it('does not keep a process alive when no read takes it', () => {
    const warmStart = new URL('../../src/transports/worker/warm-start.ts', import.meta.url).href;
    // In a child of its own, from a script file (code run by -e exits at its end regardless).
    const script = path.join(dir, 'warm.mjs');
    fs.writeFileSync(
      script,
      [
        `const { warmDecodeWorkerFor } = await import(${JSON.stringify(warmStart)});`,
        `warmDecodeWorkerFor(['flows', ${JSON.stringify(bigFile())}]);`,
        'await new Promise((r) => setTimeout(r, 300));',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.signal, null, 'the child exited by itself');
    assert.equal(r.status, 0, r.stderr);
  });
});
