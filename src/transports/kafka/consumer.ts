/**
 * Kafka consumer of the transport: a member of a real Kafka consumer group (the broker's classic
 * group protocol: JoinGroup/SyncGroup/Heartbeat, run by `@platformatic/kafka`), with our own
 * fetch loop on top.
 *
 * Why not the client's message stream: the stream keeps its own read positions across
 * rebalances and prefetches without a byte bound. Here positions are ours: a partition gained
 * starts at the group's committed offset (the log start when nothing is committed), a partition
 * kept through a rebalance keeps its position, and every fetch response is checked against the
 * ownership it was made for, so messages of a partition this member lost (or lost and got back)
 * are dropped, never handed out.
 *
 * Rebalances: the default assignor is `cooperative-sticky` (incremental): a partition that moves
 * is first revoked from its owner, which rejoins at once, and only then assigned to the other
 * member; partitions that stay keep flowing. `roundrobin` (eager) is available through the URL.
 * Ownership changes are read from the client after its join and rebalance events and before
 * every poll, and queued as `revoked` / `assigned` events in that order. A member whose
 * membership was lost (session expired, fenced) treats everything it held as revoked, even if
 * the next join hands the same partitions back: another member may have had them meanwhile.
 *
 * Memory: one fetch response at a time (at most `fetchMaxBytes`, `partitionFetchMaxBytes` per
 * partition), fetched ahead only once the previous one is handed out.
 *
 * Outages: fetches, joins and offset look-ups that fail with a broker outage are retried with
 * back-off; `poll` keeps answering (empty) until the outage has lasted `retryForMs`, then
 * rejects with a retriable `PCS_TRANSPORT` once (and retries again if called again).
 */
import { ConnectionPool, Consumer as LibConsumer, ListOffsetTimestamps } from '@platformatic/kafka';
import { isPipelineError, PipelineError } from '../../core/errors.ts';
import type { Consumer, ConsumerEvent, ConsumerOptions, IncomingMessage } from '../../core/transport.ts';
import { connectionOptions, type KafkaSettings } from './config.ts';
import { backoff, findError, isOutage, reason, sleep, withRetry } from './retry.ts';

type FetchResponse = Awaited<ReturnType<LibConsumer['fetch']>>;
type FetchRequestPartition = Parameters<LibConsumer['fetch']>[0]['topics'][number]['partitions'][number];

/** Record batch attribute bit of transaction markers (control batches carry no data). */
const RECORD_BATCH_CONTROL = 0x20;
/** Kafka error code OFFSET_OUT_OF_RANGE. */
const OFFSET_OUT_OF_RANGE = 1;
const EMPTY = new Uint8Array(0);
const CLOSE_TIMEOUT_MS = 10_000;

let memberSeq = 0;

function keyOf(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

interface Chunk {
  topic: string;
  partition: number;
  /** Ownership epoch the messages were fetched under. */
  epoch: number;
  messages: IncomingMessage[];
}

interface Requested {
  topic: string;
  partition: number;
  epoch: number;
  offset: bigint;
}

/** Finds the fetch response carried by a client error (partition errors come that way). */
function responseOf(err: unknown): FetchResponse | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { response?: FetchResponse; errors?: unknown[] };
  if (e.response !== undefined && Array.isArray(e.response.responses)) return e.response;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const r = responseOf(inner);
      if (r !== null) return r;
    }
  }
  return null;
}

/**
 * A group member. Made by the Kafka transport's `consumer()`; joins in the background.
 * @example
 * const c = await transport.consumer({ group: 'processors', topics: ['pcapstream.packets'] });
 * for (const e of await c.poll(500)) if (e.kind === 'messages') handle(e);
 */
export class KafkaConsumer implements Consumer {
  readonly memberId: string;
  private readonly s: KafkaSettings;
  private readonly topics: string[];
  private readonly maxMessages: number;
  private readonly client: LibConsumer;
  /**
   * Fetches go over their own connections: a broker answers the requests of one connection in
   * order, so a fetch the broker holds for `fetchMaxWaitMs` would delay heartbeats, joins and
   * commits queued behind it (measured: a rebalance took a second longer).
   */
  private readonly fetchPool: ConnectionPool;
  /** Partitions owned, per topic, as last announced to the caller. */
  private readonly owned = new Map<string, number[]>();
  /** Ownership epoch per owned partition: a new one every time it is gained. */
  private readonly epoch = new Map<string, number>();
  private nextEpoch = 1;
  /** Next offset to fetch per owned partition whose start is known. */
  private readonly position = new Map<string, bigint>();
  /** Owned partitions whose start offset is still being looked up. */
  private readonly pending = new Set<string>();
  private buffer: Chunk[] = [];
  private events: ConsumerEvent[] = [];
  private fetching: Promise<void> | null = null;
  private resolving: Promise<void> | null = null;
  private joining: Promise<void> | null = null;
  private needJoin = true;
  private refreshMetadata = false;
  /** The broker's member id last seen; a different one means the old membership was lost. */
  private groupMember: string | null = null;
  private trouble: unknown = null;
  private troubleSince = 0;
  private fatal: unknown = null;
  private attempt = 0;
  private retryAt = 0;
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(settings: KafkaSettings, options: ConsumerOptions) {
    this.s = settings;
    this.memberId = options.memberId ?? `kafka-${process.pid}-${++memberSeq}`;
    this.topics = [...new Set(options.topics)];
    this.maxMessages = options.maxMessages ?? 10_000;
    if (!Number.isInteger(this.maxMessages) || this.maxMessages < 1) {
      throw new PipelineError('PCS_TRANSPORT', `kafka: maxMessages must be a positive whole number`);
    }
    const s = settings;
    const conn = connectionOptions(s, `${s.clientId}-${this.memberId.replace(/[^\w.-]/g, '_')}`);
    this.fetchPool = new ConnectionPool(conn.clientId, {
      connectTimeout: conn.connectTimeout,
      requestTimeout: s.requestTimeoutMs + s.fetchMaxWaitMs,
      tls: conn.tls,
      sasl: conn.sasl,
    });
    this.client = new LibConsumer({
      ...conn,
      groupId: options.group,
      autocommit: false,
      sessionTimeout: s.sessionTimeoutMs,
      heartbeatInterval: s.heartbeatIntervalMs,
      rebalanceTimeout: s.rebalanceTimeoutMs,
      // Only an event for us; but the client arms this timer again when it is closed during a
      // rejoin (2.12), which keeps the process alive that long: rebalanceTimeoutMs by default.
      heartbeatStallTimeout: s.sessionTimeoutMs,
      protocols: [{ name: s.assignor, version: s.assignor === 'cooperative-sticky' ? 3 : 1 }],
      minBytes: 1,
      maxBytes: s.fetchMaxBytes,
      maxWaitTime: s.fetchMaxWaitMs,
      // Short client-side retries; the outer loop here retries outages until retryForMs.
      retries: 3,
      retryDelay: 250,
    });
    for (const t of this.topics) this.client.topics.track(t);
    const changed = (): void => {
      this.sync();
      this.notify();
    };
    this.client.on('consumer:group:join', changed);
    this.client.on('consumer:group:rebalance', changed);
    this.client.on('consumer:group:leave', changed);
    // A failed rejoin ends the client's own heartbeats: join again from here.
    this.client.on('error', (err: unknown) => {
      this.needJoin = true;
      this.failed(err);
      this.notify();
    });
  }

  /** Starts the first join (in the background; `poll` reports its outcome). */
  start(): void {
    this.pump();
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  private succeeded(): void {
    this.trouble = null;
    this.attempt = 0;
    this.retryAt = 0;
  }

  private failed(err: unknown): void {
    if (this.closed) return;
    // Group errors (unknown member, stale generation, rebalance under way) only mean: join again.
    if (!isOutage(err) && findError(err, 'needsRejoin', true) === null) {
      this.fatal = err;
      return;
    }
    if (this.trouble === null) this.troubleSince = Date.now();
    this.trouble = err;
    this.refreshMetadata = true;
    this.retryAt = Date.now() + backoff(this.attempt++);
  }

  /** Reads the client's current membership and assignment and queues the differences. */
  private sync(): void {
    if (this.closed) return;
    const member = this.client.memberId;
    if (member === null || (this.groupMember !== null && member !== this.groupMember)) this.apply(new Map());
    if (member === null) return;
    this.groupMember = member;
    const want = new Map<string, number[]>();
    for (const a of this.client.assignments ?? []) {
      if (this.topics.includes(a.topic))
        want.set(
          a.topic,
          [...a.partitions].sort((x, y) => x - y),
        );
    }
    this.apply(want);
  }

  private apply(want: Map<string, number[]>): void {
    for (const t of this.topics) {
      const have = this.owned.get(t) ?? [];
      const next = want.get(t) ?? [];
      const lost = have.filter((p) => !next.includes(p));
      const gained = next.filter((p) => !have.includes(p));
      if (lost.length === 0 && gained.length === 0) continue;
      if (lost.length > 0) {
        for (const p of lost) {
          const k = keyOf(t, p);
          this.position.delete(k);
          this.pending.delete(k);
          this.epoch.delete(k);
        }
        this.buffer = this.buffer.filter((c) => !(c.topic === t && lost.includes(c.partition)));
        this.events.push({ kind: 'revoked', topic: t, partitions: lost });
      }
      if (gained.length > 0) {
        for (const p of gained) {
          const k = keyOf(t, p);
          this.epoch.set(k, this.nextEpoch++);
          this.pending.add(k);
        }
        this.events.push({ kind: 'assigned', topic: t, partitions: gained });
      }
      if (next.length > 0) this.owned.set(t, next);
      else this.owned.delete(t);
    }
  }

  /** Starts whatever background work is due: join, start-offset look-up, fetch. */
  private pump(): void {
    if (this.closed || this.fatal !== null || Date.now() < this.retryAt) return;
    if (this.needJoin) {
      if (this.joining === null) this.startJoin();
      return;
    }
    if (this.resolving === null && this.pending.size > 0) this.startResolve();
    if (this.fetching === null && this.buffer.length === 0) this.startFetch();
  }

  private startJoin(): void {
    this.needJoin = false;
    this.joining = this.client.joinGroup({}).then(
      () => {
        this.joining = null;
        this.succeeded();
        this.sync();
        this.notify();
      },
      (err: unknown) => {
        this.joining = null;
        if (this.closed) return;
        this.needJoin = true;
        this.failed(err);
        this.notify();
      },
    );
  }

  private startResolve(): void {
    const want: Requested[] = [];
    for (const k of this.pending) {
      const [topic, p] = k.split('\u0000') as [string, string];
      want.push({ topic, partition: Number(p), epoch: this.epoch.get(k)!, offset: 0n });
    }
    this.resolving = this.resolve(want).then(
      () => {
        this.resolving = null;
        this.succeeded();
        this.notify();
      },
      (err: unknown) => {
        this.resolving = null;
        this.failed(err);
        this.notify();
      },
    );
  }

  /** Start offsets of newly gained partitions: the group's committed offset, else the log start. */
  private async resolve(want: Requested[]): Promise<void> {
    const byTopic = new Map<string, number[]>();
    for (const w of want) byTopic.set(w.topic, [...(byTopic.get(w.topic) ?? []), w.partition]);
    const committed = await this.client.listCommittedOffsets({
      topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
    });
    const missing = new Map<string, number[]>();
    for (const w of want) {
      if ((committed.get(w.topic)?.[w.partition] ?? -1n) < 0n) {
        missing.set(w.topic, [...(missing.get(w.topic) ?? []), w.partition]);
      }
    }
    const earliest =
      missing.size === 0
        ? new Map<string, bigint[]>()
        : await this.client.listOffsets({
            topics: [...missing.keys()],
            partitions: Object.fromEntries(missing),
            timestamp: ListOffsetTimestamps.EARLIEST,
          });
    for (const w of want) {
      const k = keyOf(w.topic, w.partition);
      // Lost (or lost and regained) meanwhile: that newer ownership looks its start up itself.
      if (!this.pending.has(k) || this.epoch.get(k) !== w.epoch) continue;
      let o = committed.get(w.topic)?.[w.partition] ?? -1n;
      if (o < 0n) o = earliest.get(w.topic)?.[w.partition] ?? 0n;
      this.position.set(k, o);
      this.pending.delete(k);
    }
  }

  private startFetch(): void {
    const want: Requested[] = [];
    for (const [topic, parts] of this.owned) {
      for (const partition of parts) {
        const k = keyOf(topic, partition);
        const offset = this.position.get(k);
        if (offset !== undefined) want.push({ topic, partition, epoch: this.epoch.get(k)!, offset });
      }
    }
    if (want.length === 0) return;
    this.fetching = this.fetch(want).then(
      () => {
        this.fetching = null;
        this.succeeded();
        this.notify();
      },
      (err: unknown) => {
        this.fetching = null;
        this.failed(err);
        this.notify();
      },
    );
  }

  private async fetch(want: Requested[]): Promise<void> {
    const md = await this.client.metadata({ topics: this.topics, forceUpdate: this.refreshMetadata });
    this.refreshMetadata = false;
    const names = new Map<string, string>();
    const byNode = new Map<number, Map<string, FetchRequestPartition[]>>();
    const requested = new Map<string, Requested>();
    for (const w of want) {
      const tm = md.topics.get(w.topic);
      const pm = tm?.partitions[w.partition];
      if (tm === undefined || pm === undefined) continue;
      names.set(tm.id, w.topic);
      requested.set(keyOf(w.topic, w.partition), w);
      let topics = byNode.get(pm.leader);
      if (topics === undefined) byNode.set(pm.leader, (topics = new Map()));
      let parts = topics.get(tm.id);
      if (parts === undefined) topics.set(tm.id, (parts = []));
      parts.push({
        partition: w.partition,
        fetchOffset: w.offset,
        partitionMaxBytes: this.s.partitionFetchMaxBytes,
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
      });
    }
    const errors: unknown[] = [];
    await Promise.all(
      [...byNode].map(async ([node, topics]) => {
        let res: FetchResponse;
        try {
          res = await this.client.fetch({
            node,
            topics: [...topics].map(([topicId, partitions]) => ({ topicId, partitions })),
            connectionPool: this.fetchPool,
          });
        } catch (err) {
          // Partition errors arrive as an error carrying the response; keep its good partitions.
          const r = responseOf(err);
          if (r === null) {
            errors.push(err);
            return;
          }
          res = r;
          if (!this.accept(res, names, requested)) errors.push(err);
          return;
        }
        this.accept(res, names, requested);
      }),
    );
    if (errors.length > 0) throw errors[0];
  }

  /**
   * Queues the records of a fetch response that still match the ownership and position they
   * were asked for. Returns false if a partition failed with an error other than out-of-range.
   */
  private accept(res: FetchResponse, names: Map<string, string>, requested: Map<string, Requested>): boolean {
    let clean = true;
    for (const t of res.responses) {
      const topic = names.get(t.topicId);
      if (topic === undefined) continue;
      for (const part of t.partitions) {
        const k = keyOf(topic, part.partitionIndex);
        const req = requested.get(k);
        if (req === undefined) continue;
        if (this.epoch.get(k) !== req.epoch || this.position.get(k) !== req.offset) continue;
        if (part.errorCode === OFFSET_OUT_OF_RANGE) {
          // Retention removed what the group had committed (or the log was truncated): go on from
          // the oldest message still there, or from the end if the position is past it.
          this.position.set(k, req.offset < part.logStartOffset ? part.logStartOffset : part.highWatermark);
          continue;
        }
        if (part.errorCode !== 0) {
          clean = false;
          continue;
        }
        const messages: IncomingMessage[] = [];
        let next = req.offset;
        for (const batch of part.records ?? []) {
          if ((batch.attributes & RECORD_BATCH_CONTROL) === 0) {
            for (const r of batch.records) {
              const o = batch.firstOffset + BigInt(r.offsetDelta);
              if (o < req.offset) continue;
              messages.push({ partition: part.partitionIndex, offset: o.toString(), value: r.value ?? EMPTY });
            }
          }
          const end = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
          if (end > next) next = end;
        }
        this.position.set(k, next);
        if (messages.length > 0)
          this.buffer.push({ topic, partition: part.partitionIndex, epoch: req.epoch, messages });
      }
    }
    return clean;
  }

  /** Up to `maxMessages` buffered messages of partitions still owned under the same epoch. */
  private take(): ConsumerEvent[] {
    const out: ConsumerEvent[] = [];
    let budget = this.maxMessages;
    while (budget > 0 && this.buffer.length > 0) {
      const c = this.buffer[0]!;
      if (this.epoch.get(keyOf(c.topic, c.partition)) !== c.epoch) {
        this.buffer.shift();
        continue;
      }
      if (c.messages.length <= budget) {
        this.buffer.shift();
        out.push({ kind: 'messages', topic: c.topic, partition: c.partition, messages: c.messages });
        budget -= c.messages.length;
      } else {
        out.push({ kind: 'messages', topic: c.topic, partition: c.partition, messages: c.messages.splice(0, budget) });
        budget = 0;
      }
    }
    return out;
  }

  async poll(maxWaitMs: number): Promise<ConsumerEvent[]> {
    if (this.closed) throw new PipelineError('PCS_TRANSPORT', 'kafka: poll on a closed consumer');
    const deadline = Date.now() + Math.max(0, maxWaitMs);
    for (;;) {
      if (this.fatal !== null) {
        throw new PipelineError('PCS_TRANSPORT', `kafka: consumer ${this.memberId}: ${reason(this.fatal)}`, {
          cause: this.fatal,
        });
      }
      this.sync();
      if (this.events.length > 0) {
        this.pump();
        return this.events.splice(0);
      }
      const batch = this.take();
      this.pump();
      if (batch.length > 0) return batch;
      if (this.trouble !== null && Date.now() - this.troubleSince >= this.s.retryForMs) {
        const err = this.trouble;
        const since = this.troubleSince;
        this.trouble = null;
        throw new PipelineError(
          'PCS_TRANSPORT',
          `kafka: consumer ${this.memberId}: broker unavailable for ${Date.now() - since} ms: ${reason(err)}`,
          { cause: err, retriable: true },
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) return [];
      const untilRetry = this.retryAt - Date.now();
      await this.wait(untilRetry > 0 ? Math.min(left, untilRetry + 1) : left);
    }
  }

  async commit(topic: string, partition: number, offset: string): Promise<void> {
    if (this.closed) throw new PipelineError('PCS_TRANSPORT', 'kafka: commit on a closed consumer');
    let o: bigint;
    try {
      o = BigInt(offset);
    } catch {
      throw new PipelineError('PCS_TRANSPORT', `kafka: bad offset '${offset}'`);
    }
    if (o < 0n) throw new PipelineError('PCS_TRANSPORT', `kafka: bad offset '${offset}'`);
    if (!(this.owned.get(topic) ?? []).includes(partition)) {
      // A member that lost the partition must not move the group's position (it is fenced).
      throw new PipelineError('PCS_TRANSPORT', `kafka: ${this.memberId} does not own ${topic}/${partition}`);
    }
    // Kafka's committed offset is the next one to read.
    await withRetry(
      `kafka: commit ${topic}/${partition}`,
      this.s.retryForMs,
      () => this.client.commit({ offsets: [{ topic, partition, offset: o + 1n, leaderEpoch: -1 }] }),
      () => this.closed,
    );
  }

  assignment(): Map<string, number[]> {
    const m = new Map<string, number[]>();
    for (const [t, p] of this.owned) if (p.length > 0) m.set(t, [...p]);
    return m;
  }

  async lag(): Promise<number> {
    const parts = new Map<string, number[]>();
    for (const [t, ps] of this.owned) {
      for (const p of ps) {
        if (this.pending.has(keyOf(t, p))) return -1;
        parts.set(t, [...(parts.get(t) ?? []), p]);
      }
    }
    if (parts.size === 0) return 0;
    try {
      const ends = await this.client.listOffsets({
        topics: [...parts.keys()],
        partitions: Object.fromEntries(parts),
        timestamp: ListOffsetTimestamps.LATEST,
      });
      let n = 0n;
      for (const [t, ps] of parts) {
        for (const p of ps) {
          const end = ends.get(t)?.[p];
          const at = this.position.get(keyOf(t, p));
          if (end === undefined || at === undefined) return -1;
          if (end > at) n += end - at;
        }
      }
      return Number(n);
    } catch (err) {
      if (isPipelineError(err)) throw err;
      return -1;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.owned.clear();
    this.buffer = [];
    this.events = [];
    this.notify();
    // Bounded: with the broker down the client would retry for long; the rest goes on behind.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.shutdown(),
      new Promise<void>((r) => {
        timer = setTimeout(r, CLOSE_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    await this.fetchPool.close().catch(() => {});
  }

  /** Leaves the group (its partitions move at once, not after the session timeout) and closes. */
  private async shutdown(): Promise<void> {
    // Leave first: that stops the heartbeats before the client closes. A heartbeat racing a
    // plain close() leaves a timer that keeps the process alive for rebalanceTimeoutMs.
    await new Promise<void>((resolve) => this.client.leaveGroup(false, () => resolve()));
    // A close whose LeaveGroup fails (coordinator moving, loading) leaves the client open and
    // heartbeating for ever: try again until it is closed.
    for (let attempt = 0; !this.client.closed && attempt < 20; attempt++) {
      await this.client.close().catch(() => {});
      if (!this.client.closed) await sleep(backoff(attempt));
    }
  }
}
