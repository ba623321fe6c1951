/**
 * End to end over real brokers, every role its own process as an operator would run them:
 * `replay` → two `process` members of one group → `sink` into DuckDB. The stored final flows must
 * equal those of a single-process `pcapstream run` over the same capture — and stay equal when a
 * processor is killed with SIGKILL and started again, and when the broker restarts mid-replay.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { KafkaBroker } from '../../scripts/brokers/kafka.ts';
import { RabbitMQServer } from '../../scripts/brokers/rabbitmq.ts';
import { RedisServer } from '../../scripts/brokers/redis.ts';
import { synthesize } from '../../src/synth/index.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

interface Broker {
  readonly url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

interface Child {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function cli(args: string[]): Child {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, done };
}

async function ok(c: Child, what: string): Promise<string> {
  const r = await c.done;
  assert.equal(r.code, 0, `${what} failed (${r.signal ?? r.code}): ${r.stderr}`);
  return r.stderr;
}

/** Final flows of a store as comparable rows (the dedupe key and every count). */
async function finalFlows(db: string): Promise<string[]> {
  const inst = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
  const c = await inst.connect();
  const r = await c.runAndReadAll(
    `SELECT flow_uid, community_id, first_seen_us, last_seen_us, fwd_packets, bwd_packets, fwd_bytes, bwd_bytes,
            fwd_payload_bytes, bwd_payload_bytes, end_reason, flow_iat_mean, fwd_packet_length_max
     FROM flows WHERE NOT partial ORDER BY flow_uid`,
  );
  const rows = r.getRows().map((row) => row.map(String).join(' '));
  c.closeSync();
  inst.closeSync();
  return rows;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir = '';
let capture = '';
let reference: string[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcs-e2e-'));
  capture = path.join(dir, 'synth.pcap');
  await synthesize({ out: capture, packets: 60_000, seed: 21 });
  const db = path.join(dir, 'reference.duckdb');
  await ok(cli(['run', capture, '--db', db, '--no-dashboard', '--exit']), 'run');
  reference = await finalFlows(db);
  assert.ok(reference.length > 1000, `the capture has flows (${reference.length})`);
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

let runs = 0;

/**
 * One distributed run. `disturb` gets the processors and the broker while the replay runs
 * (paced, so there is time to disturb it).
 */
async function distributed(
  broker: Broker,
  disturb?: (procs: Child[], restartProcessor: (i: number) => void) => Promise<void>,
): Promise<string[]> {
  const prefix = `e2e${++runs}`;
  const common = ['--topic-prefix', prefix, '--heartbeat-every', '1'];
  const replayArgs = ['replay', capture, '--to', broker.url, '--partitions', '4', ...common];
  // Paced when disturbed: 60k packets at 15k/s gives four seconds to act in.
  replayArgs.push(...(disturb === undefined ? ['--topspeed'] : ['--pps', '15000']));
  const processArgs = [
    'process',
    '--from',
    broker.url,
    '--group',
    'procs',
    '--exit-on-end',
    '--checkpoint-every',
    '0.5',
    ...common,
  ];
  const procs: Child[] = [cli(processArgs), cli(processArgs)];
  const replay = cli(replayArgs);
  if (disturb !== undefined) {
    await disturb(procs, (i) => {
      procs[i] = cli(processArgs);
    });
  }
  await ok(replay, 'replay');
  // Members may exit once their partitions end; a killed one was replaced meanwhile.
  for (let i = 0; i < procs.length; i++) {
    const r = await procs[i]!.done;
    if (r.signal === 'SIGKILL') continue;
    assert.equal(r.code, 0, `process ${i} failed: ${r.stderr}`);
  }
  const db = path.join(dir, `${prefix}.duckdb`);
  await ok(cli(['sink', '--from', broker.url, '--db', db, '--exit-after-idle', '3', ...common]), 'sink');
  return finalFlows(db);
}

function suite(name: string, start: () => Promise<Broker>): void {
  describe(`distributed pipeline over ${name}`, { timeout: 600_000 }, () => {
    let broker: Broker;
    before(async () => {
      broker = await start();
    });
    after(async () => {
      await broker?.stop().catch(() => undefined);
      await broker?.cleanup().catch(() => undefined);
    });

    it('replay → two processors → sink stores exactly the single-process flows', async () => {
      assert.deepEqual(await distributed(broker), reference);
    });

    it('a processor killed with SIGKILL and started again: nothing lost, nothing twice', async () => {
      const got = await distributed(broker, async (procs, restart) => {
        await sleep(2000);
        assert.equal(procs[0]!.child.exitCode, null, 'the processor is still at work when killed');
        procs[0]!.child.kill('SIGKILL');
        await procs[0]!.done;
        await sleep(500);
        restart(0);
      });
      assert.deepEqual(got, reference);
    });

    it('the broker stopped and restarted mid-replay: the pipeline resumes, the result is exact', async () => {
      const got = await distributed(broker, async () => {
        await sleep(1500);
        await broker.stop();
        await sleep(2000);
        await broker.restart();
      });
      assert.deepEqual(got, reference);
    });
  });
}

suite('Kafka', () => KafkaBroker.start());
suite('Redis Streams', () => RedisServer.start());
suite('RabbitMQ', () => RabbitMQServer.start());
