/**
 * Checkpoints kept in Kafka itself: a compacted topic (`pcapstream.checkpoints` unless the URL
 * names another) whose records are keyed `GROUP/TOPIC/PARTITION`. Compaction keeps the last value
 * per key, so the topic stays about as large as one checkpoint per (group, topic, partition).
 *
 * Placement: the key is hashed (FNV-1a, 32 bits, over its UTF-8 bytes) to one partition of the
 * checkpoint topic, so `load` reads one partition, not the whole topic. The hash is part of the
 * stored format: changing it would lose every saved checkpoint.
 *
 * `load` scans that partition from its start to the high watermark read when the load began and
 * keeps the last value of the key; the compacted part holds one record per key and the part not
 * yet compacted (at most one 128 MiB segment plus what the cleaner has not reached) holds the
 * recent saves. Values up to 64 MiB fit (the topic's `max.message.bytes`); the fetch returns a
 * record batch larger than its byte limit whole, so large values need no special path.
 */
import { type Admin, type Consumer, ListOffsetTimestamps, type Producer } from '@platformatic/kafka';
import { PipelineError } from '../../core/errors.ts';
import type { CheckpointStore } from '../../core/transport.ts';
import type { KafkaSettings } from './config.ts';
import { findError, sleep, withRetry } from './retry.ts';

/** Largest checkpoint record the topic accepts. */
export const CHECKPOINT_MAX_BYTES = 64 * 1024 * 1024;
const FETCH_MAX_BYTES = 32 * 1024 * 1024;

/** Topic configuration of the checkpoint topic. */
export const CHECKPOINT_TOPIC_CONFIGS: Record<string, string> = {
  'cleanup.policy': 'compact',
  'max.message.bytes': String(CHECKPOINT_MAX_BYTES),
  // A batch may not exceed a segment; rolling at 128 MiB or 10 minutes lets the cleaner compact
  // the older saves soon, so a load scans little beyond one value per key.
  'segment.bytes': String(128 * 1024 * 1024),
  'segment.ms': String(10 * 60 * 1000),
  'min.cleanable.dirty.ratio': '0.1',
};

/**
 * FNV-1a (32 bits) of the UTF-8 bytes of `text`.
 * @example
 * fnv1a('g/t/0') % 8; // checkpoint partition of group g, topic t, partition 0
 */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Lazily made clients the store shares with its transport. */
export interface CheckpointClients {
  admin(): Admin;
  producer(): Producer;
  reader(): Consumer;
  closed(): boolean;
}

/**
 * Checkpoint store on a compacted Kafka topic.
 * @example
 * const store = new KafkaCheckpoints(settings, clients);
 * await store.save('g', 'pcapstream.packets', 0, state);
 */
export class KafkaCheckpoints implements CheckpointStore {
  private readonly s: KafkaSettings;
  private readonly clients: CheckpointClients;
  /** Partition count of the checkpoint topic once known (it never shrinks). */
  private partitionCount = 0;
  private creating: Promise<number> | null = null;

  constructor(settings: KafkaSettings, clients: CheckpointClients) {
    this.s = settings;
    this.clients = clients;
  }

  /** Partition count of the checkpoint topic, creating it when `create` is set; 0 if missing. */
  private async topicPartitions(create: boolean): Promise<number> {
    if (this.partitionCount > 0) return this.partitionCount;
    if (this.creating !== null) return this.creating;
    const job = (async () => {
      const admin = this.clients.admin();
      const topic = this.s.checkpointTopic;
      const have = await partitionsOf(admin, topic, this.s.retryForMs, this.clients.closed);
      if (have > 0 || !create) return have;
      return createTopic(
        admin,
        this.s,
        topic,
        this.s.checkpointPartitions,
        CHECKPOINT_TOPIC_CONFIGS,
        this.clients.closed,
      );
    })();
    this.creating = job;
    try {
      const n = await job;
      if (n > 0) this.partitionCount = n;
      return n;
    } finally {
      this.creating = null;
    }
  }

  async save(group: string, topic: string, partition: number, data: Uint8Array): Promise<void> {
    if (data.byteLength > CHECKPOINT_MAX_BYTES - 64 * 1024) {
      throw new PipelineError(
        'PCS_TRANSPORT',
        `kafka: checkpoint of ${data.byteLength} bytes exceeds the 64 MiB limit`,
      );
    }
    const key = `${group}/${topic}/${partition}`;
    const n = await this.topicPartitions(true);
    const producer = this.clients.producer();
    const value = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    await withRetry(
      'kafka: checkpoint save',
      this.s.retryForMs,
      () =>
        producer.send({
          messages: [{ topic: this.s.checkpointTopic, partition: fnv1a(key) % n, key: Buffer.from(key), value }],
        }),
      this.clients.closed,
    );
  }

  async load(group: string, topic: string, partition: number): Promise<Uint8Array | null> {
    const key = Buffer.from(`${group}/${topic}/${partition}`);
    const n = await this.topicPartitions(false);
    if (n === 0) return null;
    const cp = this.s.checkpointTopic;
    const p = fnv1a(key.toString('utf8')) % n;
    const reader = this.clients.reader();
    return withRetry(
      'kafka: checkpoint load',
      this.s.retryForMs,
      async () => {
        const partitions = { [cp]: [p] };
        const first = (
          await reader.listOffsets({ topics: [cp], partitions, timestamp: ListOffsetTimestamps.EARLIEST })
        ).get(cp)?.[p];
        const end = (
          await reader.listOffsets({ topics: [cp], partitions, timestamp: ListOffsetTimestamps.LATEST })
        ).get(cp)?.[p];
        if (first === undefined || end === undefined || first >= end) return null;
        const md = await reader.metadata({ topics: [cp] });
        const tm = md.topics.get(cp);
        if (tm === undefined) return null;
        let found: Buffer | null = null;
        let offset = first;
        while (offset < end) {
          const res = await reader.fetch({
            node: tm.partitions[p]!.leader,
            topics: [
              {
                topicId: tm.id,
                partitions: [
                  {
                    partition: p,
                    fetchOffset: offset,
                    partitionMaxBytes: FETCH_MAX_BYTES,
                    currentLeaderEpoch: -1,
                    lastFetchedEpoch: -1,
                  },
                ],
              },
            ],
            maxBytes: FETCH_MAX_BYTES,
            maxWaitTime: 0,
          });
          let next = offset;
          for (const t of res.responses) {
            for (const part of t.partitions) {
              if (part.partitionIndex !== p) continue;
              for (const batch of part.records ?? []) {
                for (const r of batch.records) {
                  const o = batch.firstOffset + BigInt(r.offsetDelta);
                  if (o < offset || o >= end) continue;
                  // The last record of the key wins; a null value (tombstone) deletes it.
                  if (r.key !== null && key.equals(r.key)) found = r.value;
                }
                const last = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
                if (last > next) next = last;
              }
            }
          }
          // No batch at all below the end means the rest was removed meanwhile (retention).
          if (next === offset) break;
          offset = next;
        }
        // Copy: the value points into the whole fetch response, which would stay alive with it.
        return found === null ? null : new Uint8Array(found);
      },
      this.clients.closed,
    );
  }
}

/**
 * Partition count of a topic, 0 if it does not exist.
 * @example
 * const n = await partitionsOf(admin, 'pcapstream.packets', 120_000);
 */
export async function partitionsOf(
  admin: Admin,
  topic: string,
  retryForMs: number,
  stopped: () => boolean = () => false,
): Promise<number> {
  return withRetry(
    `kafka: metadata of '${topic}'`,
    retryForMs,
    async () => {
      try {
        const md = await admin.metadata({ topics: [topic], forceUpdate: true });
        return md.topics.get(topic)?.partitionsCount ?? 0;
      } catch (err) {
        // The client reports a missing topic as a user error, not as the broker's error code.
        if (err instanceof Error && /^Unknown topic /.test(err.message)) return 0;
        throw err;
      }
    },
    stopped,
  );
}

/**
 * Creates a topic (or finds it created meanwhile) and waits until its metadata is visible;
 * returns its partition count.
 * @example
 * await createTopic(admin, settings, 'pcapstream.packets', 4, {});
 */
/** How long topic creation waits for a restarted broker to register before a replication refusal is final. */
const REGISTRATION_GRACE_MS = 20_000;

export async function createTopic(
  admin: Admin,
  s: KafkaSettings,
  topic: string,
  partitions: number,
  configs: Record<string, string>,
  stopped: () => boolean = () => false,
): Promise<number> {
  const started = Date.now();
  await withRetry(
    `kafka: create topic '${topic}'`,
    s.retryForMs,
    async () => {
      for (;;) {
        try {
          await admin.createTopics({
            topics: [topic],
            partitions,
            replicas: s.replicationFactor,
            configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
          });
          return;
        } catch (err) {
          if (findError(err, 'apiId', 'TOPIC_ALREADY_EXISTS') !== null) return;
          // A broker that has just restarted answers before it has registered itself: for a few
          // seconds no broker is available to hold a replica. Past the grace time it is a real
          // refusal (a replication factor above the cluster's size).
          const grace = Math.min(s.retryForMs, REGISTRATION_GRACE_MS);
          if (
            findError(err, 'apiId', 'INVALID_REPLICATION_FACTOR') === null ||
            Date.now() - started >= grace ||
            stopped()
          ) {
            throw err;
          }
          await sleep(250);
        }
      }
    },
    stopped,
  );
  // The controller answers before every broker has the new topic in its metadata cache.
  const deadline = Date.now() + Math.max(10_000, s.requestTimeoutMs);
  for (;;) {
    const n = await partitionsOf(admin, topic, s.retryForMs, stopped);
    if (n > 0) return n;
    if (Date.now() > deadline) {
      throw new PipelineError('PCS_TRANSPORT', `kafka: topic '${topic}' created but not visible in metadata`, {
        retriable: true,
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
