/**
 * Kafka transport (`kafka://HOST:PORT[,HOST:PORT...]`), on `@platformatic/kafka` (see
 * `docs/kafka.md` for the choice, measured against kafkajs). Settings: `config.ts`; consumer
 * group member: `consumer.ts`; checkpoints on a compacted topic: `checkpoints.ts`.
 *
 * Producer: idempotent (the broker drops a batch the client resends after a lost reply, so a
 * retry through a broker restart writes nothing twice), acks from all in-sync replicas, one
 * request in flight per connection, the partition of every message chosen by the caller and
 * checked against the topic (the client would otherwise wrap it modulo the partition count).
 * A `send` is cut into record batches of at most `maxBatchBytes` per partition (brokers refuse
 * batches over their `message.max.bytes`, 1 MiB by default) sent one request after the other, so
 * per-partition order holds. The client retries an outage itself, with the same sequence numbers;
 * `send` gives up after `retryForMs`, drops that client (the next send opens a new one) and
 * rejects with a retriable `PCS_TRANSPORT`.
 *
 * Topics made by `ensureTopic` take the broker's default replication factor (or the URL's
 * `replicationFactor`) and `max.message.bytes` of 8 MiB, so one large message still fits.
 */
import { Admin, Consumer as LibConsumer, Producer as LibProducer } from '@platformatic/kafka';
import { isPipelineError, PipelineError } from '../../core/errors.ts';
import type {
  Consumer,
  ConsumerOptions,
  OutgoingMessage,
  Producer,
  Transport,
  TransportFactory,
  TransportOptions,
} from '../../core/transport.ts';
import { SendsInFlight } from '../producer-bookkeeping.ts';
import { createTopic, KafkaCheckpoints, partitionsOf } from './checkpoints.ts';
import { connectionOptions, type KafkaSettings, kafkaSettings } from './config.ts';
import { KafkaConsumer } from './consumer.ts';
import { backoff, isOutage, reason, sleep, withRetry } from './retry.ts';

/** Configuration of topics created by `ensureTopic`. */
export const DATA_TOPIC_CONFIGS: Record<string, string> = {
  'max.message.bytes': String(8 * 1024 * 1024),
};
/** Largest produce request: the batches of one `send` chunk, all partitions together. */
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
/** Per-record overhead counted when cutting batches (headers, varints). */
const RECORD_OVERHEAD = 64;

function producerRetryDelay(_client: unknown, _op: string, attempt: number): number {
  return Math.min(1000, backoff(attempt - 1));
}

/**
 * Cuts messages into requests: per partition at most `maxBatchBytes` (a larger single message goes
 * alone), at most `MAX_REQUEST_BYTES` in all; order within each partition is kept.
 * @example
 * for (const part of splitBatches(messages, 1 << 20)) await send(part);
 */
export function splitBatches(messages: OutgoingMessage[], maxBatchBytes: number): OutgoingMessage[][] {
  const out: OutgoingMessage[][] = [];
  let current: OutgoingMessage[] = [];
  let total = 0;
  const perPartition = new Map<number, number>();
  for (const m of messages) {
    const size = m.value.byteLength + (m.key?.length ?? 0) + RECORD_OVERHEAD;
    const have = perPartition.get(m.partition) ?? 0;
    if (current.length > 0 && ((have > 0 && have + size > maxBatchBytes) || total + size > MAX_REQUEST_BYTES)) {
      out.push(current);
      current = [];
      total = 0;
      perPartition.clear();
    }
    current.push(m);
    total += size;
    perPartition.set(m.partition, (perPartition.get(m.partition) ?? 0) + size);
  }
  if (current.length > 0) out.push(current);
  return out;
}

function toBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

class KafkaProducer implements Producer {
  private readonly s: KafkaSettings;
  private readonly admin: () => Admin;
  private client: LibProducer | null = null;
  private readonly counts = new Map<string, number>();
  private readonly sends = new SendsInFlight();
  private closed = false;

  constructor(settings: KafkaSettings, admin: () => Admin) {
    this.s = settings;
    this.admin = admin;
  }

  private lib(): LibProducer {
    this.client ??= new LibProducer({
      ...connectionOptions(this.s),
      idempotent: true,
      retries: Number.MAX_SAFE_INTEGER,
      retryDelay: producerRetryDelay,
    });
    return this.client;
  }

  /** Partition count of the topic, looked up again when a message names a higher partition. */
  private async partitionCount(topic: string, highest: number): Promise<number> {
    const known = this.counts.get(topic);
    if (known !== undefined && highest < known) return known;
    const n = await partitionsOf(this.admin(), topic, this.s.retryForMs, () => this.closed);
    if (n > 0) this.counts.set(topic, n);
    return n;
  }

  send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    return this.sends.track(this.doSend(topic, messages));
  }

  private async doSend(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new PipelineError('PCS_TRANSPORT', 'kafka: send on a closed producer');
    if (messages.length === 0) return;
    let highest = 0;
    for (const m of messages) {
      if (!Number.isInteger(m.partition) || m.partition < 0) {
        throw new PipelineError('PCS_TRANSPORT', `kafka: bad partition ${m.partition} for topic '${topic}'`);
      }
      if (m.partition > highest) highest = m.partition;
    }
    const count = await this.partitionCount(topic, highest);
    if (count === 0) throw new PipelineError('PCS_TRANSPORT', `kafka: no topic '${topic}'; create it first`);
    if (highest >= count) {
      throw new PipelineError('PCS_TRANSPORT', `kafka: topic '${topic}' has no partition ${highest} (it has ${count})`);
    }
    for (const part of splitBatches(messages, this.s.maxBatchBytes)) await this.sendRequest(topic, part);
  }

  /** One produce request, retried through outages until `retryForMs` has passed. */
  private async sendRequest(topic: string, messages: OutgoingMessage[]): Promise<void> {
    const records = messages.map((m) => ({
      topic,
      partition: m.partition,
      key: m.key === undefined ? undefined : Buffer.from(m.key),
      value: toBuffer(m.value),
    }));
    const start = Date.now();
    for (let attempt = 0; ; attempt++) {
      const left = this.s.retryForMs - (Date.now() - start);
      const client = this.lib();
      const sent = client.send({ messages: records });
      // A send abandoned below settles later (or on close): never an unhandled rejection.
      sent.catch(() => {});
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>((r) => {
        timer = setTimeout(() => r('expired'), Math.max(0, left));
      });
      try {
        const outcome = await Promise.race([sent, expired]);
        if (outcome !== 'expired') return;
        // The client is still retrying with this batch's sequence numbers; a new client (new
        // producer id) is the only clean way to let the caller try again.
        this.drop(client);
        throw new PipelineError(
          'PCS_TRANSPORT',
          `kafka: send to '${topic}' not acknowledged within ${this.s.retryForMs} ms (broker unavailable)`,
          { retriable: true },
        );
      } catch (err) {
        if (isPipelineError(err)) throw err;
        if (this.closed) throw new PipelineError('PCS_TRANSPORT', 'kafka: producer closed during send', { cause: err });
        if (!isOutage(err))
          throw new PipelineError('PCS_TRANSPORT', `kafka: send to '${topic}': ${reason(err)}`, { cause: err });
        if (Date.now() - start >= this.s.retryForMs) {
          throw new PipelineError('PCS_TRANSPORT', `kafka: send to '${topic}': broker unavailable: ${reason(err)}`, {
            cause: err,
            retriable: true,
          });
        }
        await sleep(Math.min(backoff(attempt), Math.max(0, this.s.retryForMs - (Date.now() - start))));
      } finally {
        clearTimeout(timer);
      }
    }
  }

  private drop(client: LibProducer): void {
    if (this.client === client) this.client = null;
    client.close().catch(() => {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sends.settled();
    this.closed = true;
    const c = this.client;
    this.client = null;
    if (c !== null) await c.close().catch(() => {});
  }
}

class KafkaTransport implements Transport {
  readonly id = 'kafka';
  readonly checkpoints: KafkaCheckpoints;
  private readonly s: KafkaSettings;
  private adminClient: Admin | null = null;
  private cpProducer: LibProducer | null = null;
  private cpReader: LibConsumer | null = null;
  private readonly made: (Producer | Consumer)[] = [];
  private closed = false;

  constructor(settings: KafkaSettings) {
    this.s = settings;
    this.checkpoints = new KafkaCheckpoints(settings, {
      admin: () => this.admin(),
      producer: () => {
        this.cpProducer ??= new LibProducer({
          ...connectionOptions(settings, `${settings.clientId}-checkpoints`),
          idempotent: true,
          retries: Number.MAX_SAFE_INTEGER,
          retryDelay: producerRetryDelay,
        });
        return this.cpProducer;
      },
      reader: () => {
        if (this.cpReader === null) {
          // Never joins its group: it only reads the checkpoint topic with plain fetches.
          this.cpReader = new LibConsumer({
            ...connectionOptions(settings, `${settings.clientId}-checkpoints`),
            groupId: `${settings.clientId}-checkpoint-reader`,
            autocommit: false,
            retries: 3,
            retryDelay: 250,
          });
          this.cpReader.topics.track(settings.checkpointTopic);
        }
        return this.cpReader;
      },
      closed: () => this.closed,
    });
  }

  admin(): Admin {
    this.adminClient ??= new Admin({ ...connectionOptions(this.s), retries: 3, retryDelay: 250 });
    return this.adminClient;
  }

  async ensureTopic(topic: string, partitions: number): Promise<number> {
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000) {
      throw new PipelineError('PCS_TRANSPORT', `partitions must be 1 to 10000, got ${partitions}`);
    }
    const have = await partitionsOf(this.admin(), topic, this.s.retryForMs, () => this.closed);
    if (have > 0) return have;
    return createTopic(this.admin(), this.s, topic, partitions, DATA_TOPIC_CONFIGS, () => this.closed);
  }

  partitions(topic: string): Promise<number> {
    return partitionsOf(this.admin(), topic, this.s.retryForMs, () => this.closed);
  }

  async producer(): Promise<Producer> {
    const p = new KafkaProducer(this.s, () => this.admin());
    this.made.push(p);
    return p;
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    if (options.topics.length === 0) throw new PipelineError('PCS_TRANSPORT', 'kafka: a consumer needs a topic');
    const c = new KafkaConsumer(this.s, options);
    c.start();
    this.made.push(c);
    return c;
  }

  async backlog(topic: string, group: string): Promise<number> {
    const admin = this.admin();
    try {
      const n = await partitionsOf(admin, topic, this.s.retryForMs, () => this.closed);
      if (n === 0) return 0;
      const all = Array.from({ length: n }, (_, i) => i);
      const [groups, ends, starts] = await Promise.all([
        withRetry('kafka: group offsets', this.s.retryForMs, () =>
          admin.listConsumerGroupOffsets({
            groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: all }] }],
          }),
        ),
        this.listOffsets(topic, all, -1n),
        this.listOffsets(topic, all, -2n),
      ]);
      const committed = new Map<number, bigint>();
      for (const g of groups) {
        for (const t of g.topics) {
          if (t.name !== topic) continue;
          for (const p of t.partitions) committed.set(p.partitionIndex, p.committedOffset);
        }
      }
      let total = 0n;
      for (const p of all) {
        const end = ends.get(p);
        const start = starts.get(p);
        if (end === undefined || start === undefined) return -1;
        const c = committed.get(p) ?? -1n;
        // Nothing committed: everything still in the log is outstanding.
        const from = c < 0n ? start : c < start ? start : c;
        if (end > from) total += end - from;
      }
      return Number(total);
    } catch {
      return -1;
    }
  }

  private async listOffsets(topic: string, partitions: number[], timestamp: bigint): Promise<Map<number, bigint>> {
    const admin = this.admin();
    const res = await withRetry(`kafka: offsets of '${topic}'`, this.s.retryForMs, () =>
      admin.listOffsets({
        topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
      }),
    );
    const out = new Map<number, bigint>();
    for (const t of res) for (const p of t.partitions) out.set(p.partitionIndex, p.offset);
    return out;
  }

  async close(): Promise<void> {
    for (const m of this.made.splice(0)) await m.close();
    this.closed = true;
    const clients = [this.cpProducer, this.cpReader, this.adminClient];
    this.cpProducer = null;
    this.cpReader = null;
    this.adminClient = null;
    for (const c of clients) if (c !== null) await c.close().catch(() => {});
  }
}

/**
 * Opens a Kafka transport and checks the cluster answers (retrying an unreachable one for up to
 * `retryForMs`). Bad settings, credentials or TLS fail with `PCS_TRANSPORT_OPEN` at once.
 * @example
 * const t = await openKafka(new URL('kafka://127.0.0.1:9092'), { retryForMs: 30_000 });
 * await t.ensureTopic('pcapstream.packets', 4);
 */
export const openKafka: TransportFactory = async (url: URL, options: TransportOptions) => {
  const settings = kafkaSettings(url, options);
  const t = new KafkaTransport(settings);
  try {
    await withRetry(`kafka: connect to ${settings.brokers.join(',')}`, settings.retryForMs, () =>
      t.admin().metadata({ topics: [] }),
    );
  } catch (err) {
    await t.close();
    const e = err as PipelineError;
    throw new PipelineError('PCS_TRANSPORT_OPEN', e.message, { cause: e.cause ?? err, retriable: e.retriable });
  }
  return t;
};

export default openKafka;
