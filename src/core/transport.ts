/**
 * Transport contract: how pipeline roles (sensors, processors, sinks) hand batches of bytes to
 * each other through a broker. Implementations: `inproc` (one process, the default), `kafka`,
 * `redis` (Redis Streams) and `rabbitmq`; all pass `test/conformance/transport.ts`.
 *
 * Model (Kafka's, mapped onto each broker)
 * - A topic has a fixed number of partitions, set when it is first created (`ensureTopic`).
 * - The producer chooses the partition of every message. pcapstream computes it from the
 *   symmetric flow key, so a flow lands on the same partition whatever the broker.
 * - Within a partition, messages are delivered in the order they were sent. Each gets an
 *   `offset`: an opaque string that grows within the partition (Kafka offset, stream entry id,
 *   RabbitMQ delivery sequence). Compare offsets only through `commit`.
 * - Consumers join a named group. Each partition of a subscribed topic is owned by one member
 *   of the group; members joining and leaving (closing or dying) move partitions between
 *   members, announced by `assigned` and `revoked` events. While the old owner is alive,
 *   `revoked` reaches it before the partition is given away; a dead owner hears nothing.
 * - Delivery is at least once: a message is delivered again (to whichever member owns its
 *   partition next) until a commit covers it. A commit of offset O covers O and everything
 *   before it in that partition. Roles make redelivery harmless with checkpoints (below) and
 *   stable record ids, so results are exact: nothing lost, nothing counted twice.
 * - Checkpoints: a small key-value store beside the group, for a role's state per partition
 *   (the flow engine's open flows plus how far it got). Written before the commit it backs, so
 *   a new owner restores the state and skips what the state already holds.
 *
 * Back-pressure and memory: `send` resolves once the broker holds the messages durably (Kafka
 * acks from all in-sync replicas, Redis's XADD reply, RabbitMQ's publisher confirm). Callers
 * await it before reading more input, so a slow broker slows the sensor instead of growing a
 * queue. `poll` hands over at most `maxMessages`; implementations bound what they prefetch.
 * `backlog` tells a producer how far a group lags, for replay's `--max-lag`.
 *
 * Failures: broker outages are retried inside the implementation with back-off (a producer
 * rides through a broker restart) until `retryForMs` passes; then the call rejects with a
 * retriable `PipelineError('PCS_TRANSPORT')`. Bad configuration or refused credentials are
 * `PCS_TRANSPORT_OPEN` from the factory, at once.
 *
 * Buffer ownership: `send` may keep the values until it resolves; the caller must not reuse
 * them before. Values from `poll` belong to the caller.
 */

/** One message to send. */
export interface OutgoingMessage {
  /** Partition number, from 0 to the topic's partition count − 1. */
  partition: number;
  /** Optional key, kept with the message (Kafka's record key); not used for placement. */
  key?: string;
  value: Uint8Array;
}

/** One message received. */
export interface IncomingMessage {
  partition: number;
  /** Position in the partition; opaque, only for `commit`. */
  offset: string;
  value: Uint8Array;
}

/** What `poll` returns, in order: ownership changes and batches of one partition. */
export type ConsumerEvent =
  | { kind: 'assigned'; topic: string; partitions: number[] }
  | { kind: 'revoked'; topic: string; partitions: number[] }
  | { kind: 'messages'; topic: string; partition: number; messages: IncomingMessage[] };

export interface Producer {
  /**
   * Send messages (any partitions of one topic). Resolves when all are durable on the broker.
   * Messages of one partition keep their order, also across calls awaited in turn.
   */
  send(topic: string, messages: OutgoingMessage[]): Promise<void>;
  /** Wait for everything sent, then release the connection. */
  close(): Promise<void>;
}

export interface ConsumerOptions {
  group: string;
  topics: string[];
  /** Name of this member in logs and heartbeats; unique per process if omitted. */
  memberId?: string;
  /** Upper bound of messages one `poll` returns (default 10 000). */
  maxMessages?: number;
}

export interface Consumer {
  readonly memberId: string;
  /**
   * Next events: waits up to `maxWaitMs` for something to happen, returns [] if nothing did.
   * Never returns messages of a partition this member does not own.
   */
  poll(maxWaitMs: number): Promise<ConsumerEvent[]>;
  /** Mark `offset` and all before it in the partition done for the group. Durable on resolve. */
  commit(topic: string, partition: number, offset: string): Promise<void>;
  /** Partitions owned now, per topic. */
  assignment(): Map<string, number[]>;
  /** Messages behind the end of the owned partitions (for the heartbeat), -1 if unknown. */
  lag(): Promise<number>;
  /** Leave the group: its partitions go to the other members. Uncommitted work is redelivered. */
  close(): Promise<void>;
}

/** Per-(group, topic, partition) state of a role, kept beside the broker. */
export interface CheckpointStore {
  save(group: string, topic: string, partition: number, data: Uint8Array): Promise<void>;
  /** The last saved state, or null if none. */
  load(group: string, topic: string, partition: number): Promise<Uint8Array | null>;
}

export interface Transport {
  /** Plug-in id: `inproc`, `kafka`, `redis`, `rabbitmq`. */
  readonly id: string;
  /** Create the topic if missing; returns its partition count (an existing topic keeps its own). */
  ensureTopic(topic: string, partitions: number): Promise<number>;
  /** Partition count of an existing topic, or 0 if it does not exist. */
  partitions(topic: string): Promise<number>;
  producer(): Promise<Producer>;
  consumer(options: ConsumerOptions): Promise<Consumer>;
  readonly checkpoints: CheckpointStore;
  /** Messages sent to `topic` and not yet committed by `group` (−1 if unknown). */
  backlog(topic: string, group: string): Promise<number>;
  /** Close every producer and consumer made by this transport. */
  close(): Promise<void>;
}

/**
 * Options every transport accepts. Plain data (structured-clone safe). Secrets (passwords, SASL
 * credentials) come from the URL or the environment, never from code; see `docs/transports.md`.
 */
export interface TransportOptions {
  /** Client name shown by the broker. */
  clientId?: string;
  /** How long a broker outage is retried before calls reject (default 120 000 ms). */
  retryForMs?: number;
  /** Environment to read credentials from (default `process.env`). */
  env?: Record<string, string | undefined>;
}

/** Factory every transport module default-exports. */
export type TransportFactory = (url: URL, options: TransportOptions) => Promise<Transport>;
