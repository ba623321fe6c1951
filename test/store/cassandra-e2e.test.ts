/**
 * `pcapstream run --store cassandra://...` end to end against a real single node, as an operator
 * runs it (CLI processes): every canned report equals the same report over the DuckDB store of
 * the same capture; a second run into the same keyspace changes nothing; and a node stopped
 * mid-run makes the writer wait (memory bounded) and, once the node is back, the store is
 * complete. Behind a broker, the sink role fills a keyspace with the same flows, once each, even
 * when every flow record is delivered again.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CassandraServer } from '../../scripts/brokers/cassandra.ts';
import { RedisServer } from '../../scripts/brokers/redis.ts';
import type { ReportName, ReportParams } from '../../src/core/reports.ts';
import { openReportSource } from '../../src/query/open-reports.ts';
import { synthesize } from '../../src/synth/index.ts';
import { corpusPath } from '../helpers/corpus.ts';
import { exitDespiteLeakedHandles } from '../helpers/leaked-handles.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function cli(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

async function ok(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await cli(args).done;
  assert.equal(r.code, 0, `pcapstream ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

let node: CassandraServer | undefined;
let dir = '';
let synth = '';

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcs-cass-e2e-'));
  synth = path.join(dir, 'synth.pcap');
  // 150 k packets, ~10 k flows over ~5 s of packet time (1 s buckets below: many partitions).
  await synthesize({ out: synth, packets: 150_000, seed: 11 });
  node = await CassandraServer.start();
});

after(async () => {
  await node?.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});
// Registered after the cleanup, so it runs once the node is gone.
exitDespiteLeakedHandles();

async function report(store: string, name: ReportName, p: Partial<ReportParams>): Promise<unknown[][]> {
  const r = await openReportSource(store);
  try {
    return (await r.run(name, { limit: 1_000_000, stepS: 1, ...p })).rows;
  } finally {
    await r.close();
  }
}

/** Every report, with parameter sets that cut the capture in places, on both stores. */
async function assertSameReports(duck: string, cass: string): Promise<void> {
  const talkers = await report(duck, 'top-talkers', { limit: 5 });
  assert.ok(talkers.length > 0, 'the capture has talkers');
  const traffic = await report(duck, 'traffic', { stepS: 1 });
  assert.ok(traffic.length > 3, 'the capture spans seconds');
  const t0 = traffic[0]![0] as number;
  const tEnd = traffic.at(-1)![0] as number;
  const mid = Math.floor((t0 + tEnd) / 2) + 123_457; // not on a second
  const windows: Partial<ReportParams>[] = [{}, { fromUs: mid }, { toUs: mid }, { fromUs: t0 + 1_000_000, toUs: mid }];
  const cases: [ReportName, Partial<ReportParams>][] = [];
  for (const w of windows) {
    cases.push(['top-talkers', { ...w, limit: 50 }], ['top-ports', { ...w, limit: 50 }], ['alerts', w]);
    cases.push(['traffic', { ...w, stepS: 1 }], ['traffic', { ...w, stepS: 60 }], ['traffic', { ...w, stepS: 7 }]);
    for (const [host] of talkers.slice(0, 3)) cases.push(['host-flows', { ...w, host: host as string }]);
    cases.push(['host-flows', { ...w, host: talkers.at(-1)![0] as string, limit: 3 }]);
  }
  for (const [name, p] of cases) {
    const a = await report(duck, name, p);
    const b = await report(cass, name, p);
    assert.deepEqual(b, a, `${name} ${JSON.stringify(p)} differs between the stores`);
  }
}

async function flowCount(cass: string): Promise<number> {
  const { stdout } = await ok(['cql', 'SELECT count(*) AS n FROM flows', '--store', cass, '--format', 'json']);
  return (JSON.parse(stdout.trim()) as { n: number }).n;
}

/** Flows (latest state, one row each) in a DuckDB store. */
async function duckFlowCount(duck: string): Promise<number> {
  const { stdout } = await ok(['query', 'SELECT count(*) AS n FROM flows_latest', '--db', duck, '--format', 'json']);
  return (JSON.parse(stdout.trim()) as { n: number }).n;
}

let synthReference: Promise<string> | undefined;

/** The DuckDB store of a single-process `run` over the synth capture, made once for the file. */
function synthDuck(): Promise<string> {
  const duck = path.join(dir, 'synth.duckdb');
  synthReference ??= ok(['run', synth, '--db', duck, '--no-dashboard', '--exit']).then(() => duck);
  return synthReference;
}

describe('run --store cassandra://', () => {
  it('every report equals the DuckDB store’s for the same capture, and a second run changes nothing', async () => {
    const duck = await synthDuck();
    const cass = `${node!.url}/e2e_synth?bucket=1&shards=2`;
    const first = await ok(['run', synth, '--store', cass, '--sensor', 'edge-1', '--exit']);
    assert.match(first.stderr, /stored in cassandra:\/\/127\.0\.0\.1:\d+\/e2e_synth/);
    await assertSameReports(duck, cass);
    const flows = await flowCount(cass);
    assert.equal(flows, await duckFlowCount(duck));
    // Idempotent: the same capture again, same keyspace and sensor.
    await ok(['run', synth, '--store', cass, '--sensor', 'edge-1', '--exit']);
    assert.equal(await flowCount(cass), flows);
    await assertSameReports(duck, cass);
  });

  it('a capture with decoder anomalies: alerts agree too', async () => {
    const cap = corpusPath('ppp__LARGE_ip_fragments.pcap');
    const duck = path.join(dir, 'anomalies.duckdb');
    const cass = `${node!.url}/e2e_anomalies`;
    await ok(['run', cap, '--db', duck, '--no-dashboard', '--exit']);
    await ok(['run', cap, '--store', cass, '--exit']);
    const alerts = await report(duck, 'alerts', {});
    assert.ok(alerts.length > 0, 'the capture raises anomalies');
    await assertSameReports(duck, cass);
  });

  it('Cassandra stopped mid-run: the writer waits with bounded memory, and the store is complete after the restart', async (t) => {
    const big = path.join(dir, 'big.pcap');
    await synthesize({ out: big, packets: 600_000, seed: 12 });
    const duck = path.join(dir, 'big.duckdb');
    await ok(['run', big, '--db', duck, '--no-dashboard', '--exit']);
    const cass = `${node!.url}/e2e_outage?queue=5000`;
    const run = cli(['run', big, '--store', cass, '--exit']);
    // A failed assertion must not leave the run waiting for a node that cleanup removes.
    t.after(() => {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    });
    const rss = (): number => {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${run.child.pid}/status`, 'utf8'));
        return m === null ? 0 : Number(m[1]) * 1024;
      } catch {
        return 0;
      }
    };
    // Let it write for a while, then take the node away for 8 s.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(run.child.exitCode, null, 'the run is still going when the node stops');
    await node!.stop();
    const cpuTicks = (): number => {
      try {
        const f = fs.readFileSync(`/proc/${run.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return Number(f[11]) + Number(f[12]); // utime + stime
      } catch {
        return 0;
      }
    };
    // The run fills its write queue within a moment, then waits: from there on it reads no
    // input (next to no CPU) and its memory is flat.
    await new Promise((r) => setTimeout(r, 2000));
    const blocked = rss();
    const cpuBlocked = cpuTicks();
    let peak = blocked;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss());
    }, 100);
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal(run.child.exitCode, null, 'the run waits for the node instead of failing');
    const cpuWaiting = cpuTicks() - cpuBlocked;
    clearInterval(sampler);
    await node!.restart();
    const watchdog = setTimeout(() => run.child.kill(), 120_000);
    const r = await run.done.finally(() => clearTimeout(watchdog));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /store write retries [1-9]/);
    const mb = (x: number): string => `${(x / 2 ** 20).toFixed(0)} MB`;
    // 6 s of reading would be ~600 ticks (100 per CPU second); retries cost a few.
    assert.ok(cpuWaiting < 100, `the run used ${cpuWaiting} CPU ticks in 6 s while the node was down`);
    assert.ok(
      blocked > 0 && peak - blocked < 16 * 2 ** 20,
      `RSS went ${mb(blocked)} -> ${mb(peak)} while the node was down`,
    );
    assert.ok(peak < 600 * 2 ** 20, `RSS peaked at ${mb(peak)}`);
    await assertSameReports(duck, cass);
  });
});

describe('sink --store cassandra:// behind a broker', () => {
  it('replay → two processors → sink over Redis: the keyspace holds the single-process flows once each, also after a full redelivery', async (t) => {
    const redis = await RedisServer.start();
    const started: Run[] = [];
    t.after(async () => {
      for (const r of started) if (r.child.exitCode === null) r.child.kill('SIGKILL');
      await redis.cleanup();
    });
    const duck = await synthDuck();
    const cass = `${node!.url}/e2e_sink`;
    const common = ['--topic-prefix', 'cs', '--heartbeat-every', '1'];
    const member = ['process', '--from', redis.url, '--group', 'procs', '--exit-on-end', ...common];
    started.push(cli(member), cli(member));
    await ok(['replay', synth, '--to', redis.url, '--partitions', '4', '--topspeed', ...common]);
    for (const p of started) {
      const r = await p.done;
      assert.equal(r.code, 0, `process failed: ${r.stderr}`);
    }
    const sink = [
      'sink',
      '--from',
      redis.url,
      '--store',
      cass,
      '--sensor',
      'edge-2',
      '--exit-after-idle',
      '3',
      ...common,
    ];
    const first = await ok(sink);
    assert.match(first.stderr, /cassandra:\/\/127\.0\.0\.1:\d+\/e2e_sink/);
    const flows = await flowCount(cass);
    assert.equal(flows, await duckFlowCount(duck), 'every flow of the capture, once');
    // A second sink group reads every flow record of the topic again: nothing may change.
    await ok([...sink, '--group', 'sink-again']);
    assert.equal(await flowCount(cass), flows);
    const talkers = await report(duck, 'top-talkers', { limit: 4 });
    assert.ok(talkers.length > 0);
    for (const [host] of talkers) {
      const p = { host: host as string };
      assert.deepEqual(await report(cass, 'host-flows', p), await report(duck, 'host-flows', p), `host-flows ${host}`);
    }
  });
});
