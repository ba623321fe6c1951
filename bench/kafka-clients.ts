/**
 * Kafka client comparison: @platformatic/kafka against kafkajs (and pcapstream's Kafka transport,
 * which runs on the first), against a real broker this script starts (scripts/brokers/kafka.ts).
 *
 *   node bench/kafka-clients.ts                    # 3 runs of each client and workload
 *   node bench/kafka-clients.ts --runs 1 --small 20000 --large 200
 *   node bench/kafka-clients.ts --clients platformatic,kafkajs
 *   node bench/kafka-clients.ts --bootstrap 127.0.0.1:9092   # an already running broker
 *
 * Workloads, the same bytes two ways: `--small` × 1 KiB values (200 000 by default) and `--large`
 * × 100 KiB values (2 000), the size of the packet batches the sensors send. Each run gets a new
 * 4-partition topic; it produces every message (acks from all in-sync replicas, idempotent,
 * partitions chosen round-robin by the caller, ~1 MiB per send call, each call awaited: how the
 * transport sends), then a new consumer group reads them all back from the start (no commits).
 * Consumers are set alike: fetches of at most 16 MiB, 4 MiB per partition, 500 ms broker wait.
 *
 * Every run is a child process, so its peak RSS belongs to one client. Reported per client and
 * workload: the median of the runs for produce and consume rates (consume timed from the first
 * message to the last; `join ms` is the wait for the first message, group join included) and
 * the highest peak RSS.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Admin, Consumer, Producer } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaBroker } from '../scripts/brokers/kafka.ts';
import { openKafka } from '../src/transports/kafka/kafka.ts';

const CLIENTS = ['platformatic', 'kafkajs', 'transport'] as const;
type Client = (typeof CLIENTS)[number];
const LABEL: Record<Client, string> = {
  platformatic: '@platformatic/kafka 2.12',
  kafkajs: 'kafkajs 2.2',
  transport: 'pcapstream kafka transport',
};
const PARTITIONS = 4;
const SEND_BYTES = 1024 * 1024;
const FETCH_MAX_BYTES = 16 * 1024 * 1024;
const PARTITION_FETCH_MAX_BYTES = 4 * 1024 * 1024;
const FETCH_WAIT_MS = 500;

interface Result {
  produceMs: number;
  joinMs: number;
  consumeMs: number;
  maxRssKiB: number;
}

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};

/** Values to send: a few distinct random buffers, reused (allocation is not what is measured). */
function values(size: number): Buffer[] {
  return Array.from({ length: 16 }, () => randomBytes(size));
}

async function produce(client: Client, bootstrap: string, topic: string, count: number, size: number): Promise<void> {
  const pool = values(size);
  const perSend = Math.max(1, Math.floor(SEND_BYTES / size));
  const batches = (send: (b: { partition: number; value: Buffer }[]) => Promise<unknown>) =>
    (async () => {
      for (let i = 0; i < count; i += perSend) {
        const b = [];
        for (let j = i; j < Math.min(count, i + perSend); j++)
          b.push({ partition: j % PARTITIONS, value: pool[j % 16]! });
        await send(b);
      }
    })();
  if (client === 'platformatic') {
    const p = new Producer({ clientId: 'bench', bootstrapBrokers: [bootstrap], idempotent: true });
    await batches((b) => p.send({ messages: b.map((m) => ({ topic, ...m })) }));
    await p.close();
  } else if (client === 'kafkajs') {
    const kafka = new Kafka({ clientId: 'bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await p.connect();
    await batches((b) => p.send({ topic, acks: -1, messages: b }));
    await p.disconnect();
  } else {
    const t = await openKafka(new URL(`kafka://${bootstrap}`), {});
    const p = await t.producer();
    await batches((b) => p.send(topic, b));
    await t.close();
  }
}

/** Reads `count` messages with a new group; returns [ms to the first message, ms first to last]. */
async function consume(client: Client, bootstrap: string, topic: string, count: number): Promise<[number, number]> {
  const group = `bench-${randomBytes(4).toString('hex')}`;
  const t0 = performance.now();
  let first = 0;
  let seen = 0;
  const got = (n: number): void => {
    if (seen === 0 && n > 0) first = performance.now();
    seen += n;
  };
  if (client === 'platformatic') {
    const c = new Consumer({
      clientId: 'bench',
      groupId: group,
      bootstrapBrokers: [bootstrap],
      autocommit: false,
      maxBytes: FETCH_MAX_BYTES,
      maxBytesPerPartition: PARTITION_FETCH_MAX_BYTES,
      maxWaitTime: FETCH_WAIT_MS,
    });
    const stream = await c.consume({ topics: [topic], mode: 'earliest' });
    await new Promise<void>((resolve, reject) => {
      stream.on('data', () => {
        got(1);
        if (seen === count) resolve();
      });
      stream.on('error', reject);
    });
    await stream.close();
    await c.close();
  } else if (client === 'kafkajs') {
    const kafka = new Kafka({ clientId: 'bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });
    const c = kafka.consumer({
      groupId: group,
      maxBytes: FETCH_MAX_BYTES,
      maxBytesPerPartition: PARTITION_FETCH_MAX_BYTES,
      maxWaitTimeInMs: FETCH_WAIT_MS,
    });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      c.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          got(batch.messages.length);
          if (seen >= count) resolve();
        },
      }).catch(reject);
    });
    await c.disconnect();
  } else {
    const t = await openKafka(new URL(`kafka://${bootstrap}`), {});
    const c = await t.consumer({ group, topics: [topic] });
    while (seen < count) {
      for (const e of await c.poll(1000)) if (e.kind === 'messages') got(e.messages.length);
    }
    await t.close();
  }
  const end = performance.now();
  return [first - t0, end - first];
}

async function child(): Promise<void> {
  const [, client, bootstrap, topic, count, size] = args;
  const t0 = performance.now();
  await produce(client as Client, bootstrap!, topic!, Number(count), Number(size));
  const produceMs = performance.now() - t0;
  const [joinMs, consumeMs] = await consume(client as Client, bootstrap!, topic!, Number(count));
  const r: Result = { produceMs, joinMs, consumeMs, maxRssKiB: process.resourceUsage().maxRSS };
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

function runChild(client: Client, bootstrap: string, topic: string, count: number, size: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      // kafkajs 2.2 sets a timer from a negative duration now and then (harmless, noisy).
      [
        '--disable-warning=TimeoutNegativeWarning',
        import.meta.filename,
        '--child',
        client,
        bootstrap,
        topic,
        String(count),
        String(size),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${client} run exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Result);
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const runs = Math.max(1, Number(opt('runs', '3')));
  const small = Number(opt('small', '200000'));
  const large = Number(opt('large', '2000'));
  const clients = opt('clients', CLIENTS.join(',')).split(',') as Client[];
  for (const c of clients) if (!CLIENTS.includes(c)) throw new Error(`unknown client '${c}'; known: ${CLIENTS}`);
  const given = args.includes('--bootstrap') ? opt('bootstrap', '') : null;
  const broker = given === null ? await KafkaBroker.start() : null;
  const bootstrap = given ?? broker!.bootstrap;
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: [bootstrap] });
  const workloads = [
    { name: `${small.toLocaleString('en')} × 1 KiB`, count: small, size: 1024 },
    { name: `${large.toLocaleString('en')} × 100 KiB`, count: large, size: 100 * 1024 },
  ];
  const rows: string[] = [];
  try {
    for (const w of workloads) {
      for (const client of clients) {
        const results: Result[] = [];
        for (let r = 0; r < runs; r++) {
          const topic = `bench-${client}-${w.size}-${r}-${randomBytes(3).toString('hex')}`;
          await admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 });
          try {
            results.push(await runChild(client, bootstrap, topic, w.count, w.size));
          } finally {
            await admin.deleteTopics({ topics: [topic] });
          }
          const last = results.at(-1)!;
          console.error(
            `${client} ${w.name} run ${r + 1}: produce ${Math.round(last.produceMs)} ms, join ${Math.round(last.joinMs)} ms, consume ${Math.round(last.consumeMs)} ms, rss ${Math.round(last.maxRssKiB / 1024)} MB`,
          );
        }
        const mb = (w.count * w.size) / 1e6;
        const fmt = (n: number) => Math.round(n).toLocaleString('en');
        const rate = (ms: number[]) => {
          const s = median(ms) / 1000;
          const lo = mb / (Math.max(...ms) / 1000);
          const hi = mb / (Math.min(...ms) / 1000);
          return `${fmt(w.count / s)} | ${(mb / s).toFixed(1)} (${lo.toFixed(0)}-${hi.toFixed(0)})`;
        };
        rows.push(
          `| ${LABEL[client]} | ${w.name} | ${rate(results.map((x) => x.produceMs))} | ${rate(results.map((x) => x.consumeMs))} | ${fmt(median(results.map((x) => x.joinMs)))} | ${Math.round(Math.max(...results.map((x) => x.maxRssKiB)) / 1024)} |`,
        );
      }
    }
  } finally {
    await admin.close();
    await broker?.cleanup();
  }
  const java = (spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr ?? '').split('\n')[0];
  const pom = readFileSync(new URL('../scripts/brokers/kafka/pom.xml', import.meta.url), 'utf8');
  const kafkaVersion = /<kafka\.version>([^<]+)</.exec(pom)?.[1] ?? '?';
  console.log(
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  console.log(`broker: Kafka ${kafkaVersion} (scripts/brokers/kafka.ts: one node on this machine), ${java}`);
  console.log(
    `runs: ${runs} each; medians, MB/s with the range of the runs; peak RSS: the highest run (one process per run)\n`,
  );
  console.log(
    '| client | workload | produce msgs/s | produce MB/s | consume msgs/s | consume MB/s | join ms | peak RSS MB |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(r);
}

if (args[0] === '--child') {
  child().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
