/**
 * The Apache Cassandra store: flows, metric windows and anomalies into a keyspace laid out for
 * the reports (see `schema.ts`), behind the same `RecordStore` contract as the DuckDB file.
 *
 * Write path
 * - `add*` turn a record into bound values for prepared INSERTs and queue them; nothing waits.
 * - A pump keeps at most `concurrency` writes in flight. Every write is idempotent (keyed by
 *   what identifies the record), so any write may be retried.
 * - A write that fails for a reason that can pass (node down, timeout, overload) goes back to
 *   the front of the queue and the pump pauses with exponential back-off (100 ms doubling to
 *   5 s): while Cassandra is away, nothing spins. Each retry is counted
 *   (`store_write_retries`). A write still failing after `retryForMs` (default 10 min) of
 *   continuous trouble, or failing for a reason a retry cannot fix, is given up and counted in
 *   `store_rows_dropped`; the next `flush()` then rejects (`PCS_SINK_WRITE`) so a consumer
 *   does not commit past lost rows.
 * - Memory: the queue holds at most `queueRows` writes before `tick()` asks the caller to wait
 *   (until it is half empty). The reader, and through it a broker or a replay, slows down
 *   instead of this process growing while the database is slow or away.
 */
import cassandra from 'cassandra-driver';
import { PipelineError } from '../../core/errors.ts';
import type { RecordStore, RecordStoreStats } from '../../core/store.ts';
import { CIC_FEATURES } from '../../flow/cic-features.ts';
import type { AnomalyRecord, FlowRecord, MetricWindow } from '../../flow/records.ts';
import { type CassandraStoreAddress, describeStore } from '../store-url.ts';
import {
  type CassandraClient,
  cassandraClient,
  connectCassandra,
  isRetriableCassandraError,
  shutdownCassandra,
} from './client.ts';
import {
  DAY_US,
  ensureSchema,
  FLOW_VALUE_COLUMNS,
  flowShard,
  HOST_VALUE_COLUMNS,
  type KeyspaceLayout,
  METRIC_COUNT_COLUMNS,
  METRIC_JSON_COLUMNS,
} from './schema.ts';

const UNSET = cassandra.types.unset;

export interface CassandraStoreOptions {
  /** Name of the sensor whose records these are (partition key of flows, metrics, alerts). */
  sensor: string;
  /** Metric windows' source when `addMetrics` is given none (default: the sensor). */
  source?: string;
  /** Give a write up after this long of continuous failure (default 600 000 ms). */
  retryForMs?: number;
  /** Per-request timeout (default 12 000 ms). */
  requestTimeoutMs?: number;
}

/** One queued write: rows of one partition of one table, sent as one unlogged batch. */
interface Op {
  query: string;
  rows: unknown[][];
}

/** Rows waiting to fill a batch, per table and partition. */
interface Group {
  query: string;
  rows: unknown[][];
  max: number;
}

const MAX_BACKOFF_MS = 5000;
const DEFAULT_REQUEST_TIMEOUT_MS = 12_000;
/**
 * Rows per batch. Only rows of one partition share a batch: Cassandra applies it as one
 * mutation (measured on a single node: 50-row batches wrote ~55 k rows/s, single INSERTs ~8 k).
 * Flow rows are ~1 KB, hence fewer per batch.
 */
const FLOW_BATCH = 32;
const ROW_BATCH = 64;
/** Partly filled batches go out after this long (or at `flush`, or when `tick` must wait). */
const LINGER_MS = 50;
const FIRST_BACKOFF_MS = 100;
/** How long past the request timeout a write may stay unanswered before it is retried. */
const WATCHDOG_GRACE_MS = 5000;

/** A write the driver neither answered nor timed out (see `pump`); retried like a timeout. */
class StuckRequestError extends Error {
  constructor(ms: number) {
    super(`no answer from Cassandra within ${ms} ms`);
    this.name = 'OperationTimedOutError';
  }
}

/** Index entries remembered as written; beyond this the set restarts (a rewrite is harmless). */
const MAX_KNOWN_INDEX = 100_000;

/**
 * A FIFO of writes with cheap removal at the front and re-insertion there (retries).
 */
class OpQueue {
  private items: (Op | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(op: Op): void {
    this.items.push(op);
  }

  shift(): Op | undefined {
    if (this.head >= this.items.length) return undefined;
    const op = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return op;
  }

  unshift(op: Op): void {
    if (this.head > 0) this.items[--this.head] = op;
    else this.items.unshift(op);
  }
}

function usingTtl(ttl: number): string {
  return ttl > 0 ? ` USING TTL ${ttl}` : '';
}

function insertCql(ks: string, table: string, columns: readonly string[], ttl: number, timestamp = false): string {
  const using = timestamp ? (ttl > 0 ? ` USING TTL ${ttl} AND TIMESTAMP ?` : ' USING TIMESTAMP ?') : usingTtl(ttl);
  return `INSERT INTO ${ks}.${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})${using}`;
}

/**
 * @example
 * const store = await openCassandraStore(parseStoreAddress(url) as CassandraStoreAddress, { sensor: 'edge-1' });
 */
export class CassandraStore implements RecordStore {
  readonly kind = 'cassandra';
  readonly where: string;
  readonly stats: RecordStoreStats = { flows: 0, metrics: 0, anomalies: 0, dropped: 0, pending: 0 };
  /** Most writes ever queued at once (for tests and the summary: memory stayed bounded). */
  maxQueued = 0;
  retries = 0;
  private readonly client: CassandraClient;
  private readonly a: CassandraStoreAddress;
  private readonly layout: KeyspaceLayout;
  private readonly o: CassandraStoreOptions;
  private readonly requestTimeoutMs: number;
  private readonly queue = new OpQueue();
  private inFlight = 0;
  private backoffMs = 0;
  private paused = false;
  /** When the current run of failures began (0 = none). */
  private failingSince = 0;
  private droppedSinceFlush = 0;
  private lastError: unknown = null;
  private readonly idle: (() => void)[] = [];
  private readonly drained: (() => void)[] = [];
  private readonly knownIndex = new Set<string>();
  private readonly groups = new Map<string, Group>();
  /** Rows in `groups` plus rows in queued ops. */
  private queuedRows = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly q: {
    flow: string;
    host: string;
    metric: string;
    alert: string;
    bucket: string;
    sensorDay: string;
  };

  constructor(client: CassandraClient, a: CassandraStoreAddress, layout: KeyspaceLayout, o: CassandraStoreOptions) {
    this.client = client;
    this.a = a;
    this.layout = layout;
    this.o = o;
    this.requestTimeoutMs = o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.where = describeStore(a);
    const ks = a.keyspace;
    const ttl = a.ttlS;
    this.q = {
      flow: insertCql(
        ks,
        'flows',
        ['sensor', 'bucket', 'shard', 'first_seen_us', 'flow_uid', ...FLOW_VALUE_COLUMNS],
        ttl.flows,
        true,
      ),
      host: insertCql(
        ks,
        'flows_by_host',
        ['host', 'bucket', 'first_seen_us', 'flow_uid', ...HOST_VALUE_COLUMNS],
        ttl.flows,
        true,
      ),
      metric: insertCql(
        ks,
        'metrics',
        ['sensor', 'window_s', 'day', 'start_us', 'source', ...METRIC_COUNT_COLUMNS, ...METRIC_JSON_COLUMNS],
        ttl.metrics,
      ),
      alert: insertCql(
        ks,
        'alerts',
        ['sensor', 'bucket', 'ts_us', 'frame_number', 'code', 'src_ip', 'dest_ip', 'protocol'],
        ttl.alerts,
      ),
      // Index rows live as long as the longest-lived data they point at.
      bucket: insertCql(ks, 'buckets', ['kind', 'sensor', 'day', 'bucket'], maxTtl(ttl)),
      sensorDay: insertCql(ks, 'sensor_days', ['kind', 'day', 'sensor'], maxTtl(ttl)),
    };
  }

  addFlow(r: FlowRecord): void {
    if (this.closed) throw new PipelineError('PCS_SINK_WRITE', 'the Cassandra store is closed');
    const bucketUs = this.layout.bucketS * 1_000_000;
    const bucket = Math.floor(r.first_seen_us / bucketUs);
    const sensor = this.o.sensor;
    this.index('flows', sensor, r.first_seen_us, bucket);
    // Write time = last packet time, so a newer state beats an older one in any arrival order;
    // a final record goes 1 µs later, to beat a partial update of the same last packet. Packet
    // time lies in the past, so an operator's DELETE (wall clock) still wins over these rows.
    const ts = r.last_seen_us + (r.partial ? 0 : 1);
    const shard = flowShard(r.flow_uid, this.layout.shards);
    const params: unknown[] = [sensor, bucket, shard, r.first_seen_us, r.flow_uid];
    const rec = r as unknown as Record<string, unknown>;
    const nScalars = FLOW_VALUE_COLUMNS.length - CIC_FEATURES.length;
    for (let i = 0; i < nScalars; i++) params.push(rec[FLOW_VALUE_COLUMNS[i]!]);
    const f = r.features;
    // Unset, not null: a null bound value would write a tombstone per column.
    for (let i = 0; i < CIC_FEATURES.length; i++) params.push(f === null ? UNSET : f[i]);
    params.push(ts);
    this.add(`f\u0000${sensor}\u0000${bucket}\u0000${shard}`, this.q.flow, FLOW_BATCH, params);
    this.hostRow(r.src_ip, bucket, r, ts);
    if (r.dest_ip !== r.src_ip) this.hostRow(r.dest_ip, bucket, r, ts);
    this.stats.flows++;
  }

  private hostRow(host: string, bucket: number, r: FlowRecord, ts: number): void {
    const params: unknown[] = [host, bucket, r.first_seen_us, r.flow_uid, this.o.sensor];
    const rec = r as unknown as Record<string, unknown>;
    for (let i = 1; i < HOST_VALUE_COLUMNS.length; i++) params.push(rec[HOST_VALUE_COLUMNS[i]!]);
    params.push(ts);
    this.add(`h\u0000${host}\u0000${bucket}`, this.q.host, ROW_BATCH, params);
  }

  addMetrics(w: MetricWindow, source?: string): void {
    if (this.closed) throw new PipelineError('PCS_SINK_WRITE', 'the Cassandra store is closed');
    const sensor = this.o.sensor;
    const day = Math.floor(w.start_us / DAY_US);
    this.dayIndex('metrics', sensor, day);
    const rec = w as unknown as Record<string, unknown>;
    const params: unknown[] = [sensor, w.window_s, day, w.start_us, source ?? this.o.source ?? sensor];
    for (const c of METRIC_COUNT_COLUMNS) params.push(rec[c]);
    for (const c of METRIC_JSON_COLUMNS) params.push(JSON.stringify(rec[c]));
    this.add(`m\u0000${sensor}\u0000${w.window_s}\u0000${day}`, this.q.metric, ROW_BATCH, params);
    this.stats.metrics++;
  }

  addAnomaly(a: AnomalyRecord): void {
    if (this.closed) throw new PipelineError('PCS_SINK_WRITE', 'the Cassandra store is closed');
    const sensor = this.o.sensor;
    const bucket = Math.floor(a.ts_us / (this.layout.bucketS * 1_000_000));
    this.index('alerts', sensor, a.ts_us, bucket);
    this.add(`a\u0000${sensor}\u0000${bucket}`, this.q.alert, ROW_BATCH, [
      sensor,
      bucket,
      a.ts_us,
      a.frame_number,
      a.code,
      a.src_ip,
      a.dest_ip,
      a.protocol,
    ]);
    this.stats.anomalies++;
  }

  /** Index rows for a bucket the store has not written this run (a repeat is harmless). */
  private index(kind: string, sensor: string, tsUs: number, bucket: number): void {
    const key = `${kind}\u0000${sensor}\u0000${bucket}`;
    if (this.knownIndex.has(key)) return;
    this.remember(key);
    const day = Math.floor(tsUs / DAY_US);
    this.dayIndex(kind, sensor, day);
    this.add(`b\u0000${kind}\u0000${sensor}\u0000${day}`, this.q.bucket, ROW_BATCH, [kind, sensor, day, bucket]);
  }

  private dayIndex(kind: string, sensor: string, day: number): void {
    const key = `${kind}\u0000${sensor}\u0000d${day}`;
    if (this.knownIndex.has(key)) return;
    this.remember(key);
    this.add(`d\u0000${kind}`, this.q.sensorDay, ROW_BATCH, [kind, day, sensor]);
  }

  private remember(key: string): void {
    if (this.knownIndex.size >= MAX_KNOWN_INDEX) this.knownIndex.clear();
    this.knownIndex.add(key);
  }

  /** Add a row to its partition's batch; a full batch is queued at once. */
  private add(key: string, query: string, max: number, params: unknown[]): void {
    let g = this.groups.get(key);
    if (g === undefined) {
      g = { query, rows: [], max };
      this.groups.set(key, g);
    }
    g.rows.push(params);
    this.queuedRows++;
    if (this.queuedRows > this.maxQueued) this.maxQueued = this.queuedRows;
    if (g.rows.length >= g.max) {
      this.groups.delete(key);
      this.queue.push({ query: g.query, rows: g.rows });
      this.pump();
    } else if (this.lingerTimer === null) {
      this.lingerTimer = setTimeout(() => this.release(), LINGER_MS);
      this.lingerTimer.unref();
    }
  }

  /** Queue every partly filled batch. */
  private release(): void {
    if (this.lingerTimer !== null) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    for (const g of this.groups.values()) this.queue.push({ query: g.query, rows: g.rows });
    this.groups.clear();
    this.pump();
  }

  private pump(): void {
    while (!this.paused && this.inFlight < this.a.concurrency) {
      const op = this.queue.shift();
      if (op === undefined) break;
      this.inFlight++;
      const sent =
        op.rows.length === 1
          ? this.client.execute(op.query, op.rows[0]!)
          : this.client.batch(
              op.rows.map((params) => ({ query: op.query, params })),
              { prepare: true, logged: false },
            );
      // The driver has been seen to leave a request unanswered for good across a node restart
      // (no reply, no timeout). A write that has not settled well after the request timeout is
      // failed here and retried; whichever answer comes second is ignored (writes are
      // idempotent, so a late success changes nothing).
      let settled = false;
      const watchdog = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.failed(op, new StuckRequestError(this.requestTimeoutMs + WATCHDOG_GRACE_MS));
      }, this.requestTimeoutMs + WATCHDOG_GRACE_MS);
      sent.then(
        () => {
          clearTimeout(watchdog);
          if (settled) return;
          settled = true;
          this.done(op);
        },
        (err: unknown) => {
          clearTimeout(watchdog);
          if (settled) return;
          settled = true;
          this.failed(op, err);
        },
      );
    }
    this.settle();
  }

  private done(op: Op): void {
    this.inFlight--;
    this.queuedRows -= op.rows.length;
    this.backoffMs = 0;
    this.failingSince = 0;
    this.pump();
  }

  private failed(op: Op, err: unknown): void {
    this.inFlight--;
    this.lastError = err;
    const now = Date.now();
    if (this.failingSince === 0) this.failingSince = now;
    const retryFor = this.o.retryForMs ?? 600_000;
    if (isRetriableCassandraError(err) && now - this.failingSince < retryFor) {
      this.retries++;
      this.queue.unshift(op);
      if (!this.paused) {
        this.backoffMs = this.backoffMs === 0 ? FIRST_BACKOFF_MS : Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
        this.paused = true;
        setTimeout(() => {
          this.paused = false;
          this.pump();
        }, this.backoffMs).unref();
      }
    } else {
      this.queuedRows -= op.rows.length;
      this.stats.dropped += op.rows.length;
      this.droppedSinceFlush += op.rows.length;
    }
    this.pump();
  }

  /** Wake whoever waits for room or for an empty queue. */
  private settle(): void {
    const n = this.queuedRows;
    this.stats.pending = n;
    if (n <= this.a.queueRows / 2 && this.drained.length > 0) {
      for (const wake of this.drained.splice(0)) wake();
    }
    if (n === 0 && this.idle.length > 0) {
      for (const wake of this.idle.splice(0)) wake();
    }
  }

  tick(): Promise<void> | undefined {
    if (this.queuedRows < this.a.queueRows) return undefined;
    // Partly filled batches must go too, or waiting for the queue to drain could wait forever.
    this.release();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  async flush(): Promise<void> {
    this.release();
    if (this.queuedRows > 0) {
      await new Promise<void>((resolve) => this.idle.push(resolve));
    }
    if (this.droppedSinceFlush > 0) {
      const n = this.droppedSinceFlush;
      this.droppedSinceFlush = 0;
      const msg = this.lastError instanceof Error ? this.lastError.message.split('\n')[0] : String(this.lastError);
      throw new PipelineError('PCS_SINK_WRITE', `Cassandra at ${this.where}: ${n} writes failed for good (${msg})`, {
        cause: this.lastError,
      });
    }
  }

  losses(): Record<string, number> {
    return { store_rows_dropped: this.stats.dropped, store_write_retries: this.retries };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      await shutdownCassandra(this.client);
    }
  }
}

function maxTtl(t: CassandraStoreAddress['ttlS']): number {
  // 0 means forever: any table kept forever keeps its index forever too.
  return t.flows === 0 || t.metrics === 0 || t.alerts === 0 ? 0 : Math.max(t.flows, t.metrics, t.alerts);
}

/**
 * Connect, create or check the keyspace, and return a store writing as `options.sensor`.
 * Fails with `PCS_STORE_OPEN` when Cassandra cannot be reached or the keyspace is of another
 * schema version.
 * @example
 * const store = await openCassandraStore(address, { sensor: os.hostname() });
 */
export async function openCassandraStore(
  a: CassandraStoreAddress,
  options: CassandraStoreOptions,
): Promise<CassandraStore> {
  if (options.sensor === '') throw new PipelineError('PCS_USAGE', 'the sensor name must not be empty');
  const client = cassandraClient(
    a,
    options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs },
  );
  await connectCassandra(client, a);
  try {
    const layout = await ensureSchema(client, a);
    return new CassandraStore(client, a, layout, options);
  } catch (err) {
    await shutdownCassandra(client);
    if (err instanceof PipelineError) throw err;
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new PipelineError(
      'PCS_STORE_OPEN',
      `Cassandra at ${describeStore(a)}: cannot prepare keyspace ${a.keyspace}: ${msg}`,
      {
        cause: err,
      },
    );
  }
}
