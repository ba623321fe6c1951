/**
 * End to end over real brokers, every role its own process as an operator would run them:
 * `replay` → two `process` members of one group → `sink` into DuckDB. The stored final flows must
 * equal those of a single-process `pcapstream run` over the same capture — and stay equal when a
 * processor is killed with SIGKILL and started again, when the broker restarts mid-replay, and
 * (where the broker can do it) when the broker closes every client connection again and again.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { Redis } from 'ioredis';
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

/** Children still running: killed when a test fails or times out, so none outlives the file. */
const running = new Set<ChildProcess>();

function killRunning(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** A role should end well within this; a hung one fails the test with what it printed. */
const ROLE_LIMIT_MS = 180_000;

function cli(args: string[]): Child {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  child.on('close', () => running.delete(child));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, done };
}

/** How the child ended; SIGKILLs it, and fails, if it runs past `ROLE_LIMIT_MS`. */
async function ended(
  c: Child,
  what: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => {
    timer = setTimeout(() => r('late'), ROLE_LIMIT_MS);
  });
  const r = await Promise.race([c.done, late]);
  clearTimeout(timer);
  if (r === 'late') {
    c.child.kill('SIGKILL');
    const { stderr } = await c.done;
    assert.fail(`${what} still ran after ${ROLE_LIMIT_MS / 1000} s: ${stderr}`);
  }
  return r;
}

async function ok(c: Child, what: string): Promise<string> {
  const r = await ended(c, what);
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
  killRunning();
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
    // Assignments and refused commits in the output, should a member fail.
    '--verbose',
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
    const r = await ended(procs[i]!, `process ${i}`);
    if (r.signal === 'SIGKILL') continue;
    assert.equal(r.code, 0, `process ${i} failed: ${r.stderr}`);
  }
  const db = path.join(dir, `${prefix}.duckdb`);
  await ok(cli(['sink', '--from', broker.url, '--db', db, '--exit-after-idle', '3', ...common]), 'sink');
  return finalFlows(db);
}

/**
 * @param dropConnections closes every client connection from the broker's side, for brokers
 * that offer it
 */
function suite<B extends Broker>(
  name: string,
  start: () => Promise<B>,
  dropConnections?: (b: B) => Promise<void>,
): void {
  describe(`distributed pipeline over ${name}`, { timeout: 600_000 }, () => {
    let broker: B;
    before(async () => {
      broker = await start();
    });
    after(async () => {
      killRunning();
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

    if (dropConnections !== undefined) {
      it('the broker closes every connection four times mid-replay: every role reconnects, the result is exact', async () => {
        const got = await distributed(broker, async () => {
          for (let k = 0; k < 4; k++) {
            await sleep(600 + k * 250);
            await dropConnections(broker);
          }
        });
        assert.deepEqual(got, reference);
      });
    }
  });
}

suite('Kafka', () => KafkaBroker.start());
suite(
  'Redis Streams',
  () => RedisServer.start(),
  async (b) => {
    const admin = new Redis(b.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await admin.connect();
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    } finally {
      admin.disconnect();
    }
  },
);
suite(
  'RabbitMQ',
  () => RabbitMQServer.start(),
  async (b) => {
    await b.ctl(['close_all_connections', 'closed by the test']);
  },
);
