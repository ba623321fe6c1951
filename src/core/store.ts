/**
 * Store contract: where `run` and the `sink` role put what the pipeline produces (flow records,
 * metric windows, anomalies). Implementations: DuckDB (`sinks/db`, one file, the default) and
 * Apache Cassandra (`sinks/cassandra`, for more than one machine); both pass
 * `test/conformance/store.ts`.
 *
 * Model
 * - `add*` are synchronous and only queue; the hot path never awaits a database per record.
 * - `tick()` is called after every input chunk (or every poll of a consumer). It returns a
 *   promise only when the caller must wait: the queue is over its high-water mark because the
 *   database is slow or away. Awaiting it is the back-pressure that keeps memory bounded.
 * - `flush()` resolves when every record added before it is durable in the database, so a
 *   consumer commits its offsets after it, never before.
 * - Flow records are idempotent by `flow_uid`: storing a record again (redelivery, a re-run of
 *   the same capture) never makes a flow count twice in reports. A flow's latest state is its
 *   final record, else its newest partial update.
 * - Failures: a store retries what can be retried (timeouts, an unreachable database) with
 *   back-off; rows it must give up on are counted in `losses()`, which heartbeats and the run
 *   summary report. Nothing is dropped silently.
 */
import type { AnomalyRecord, FlowRecord, MetricWindow } from '../flow/records.ts';

/** Counters every store keeps. */
export interface RecordStoreStats {
  /** Records accepted by `add*` so far. */
  flows: number;
  metrics: number;
  anomalies: number;
  /** Rows given up on (write failed for good); also in `losses()`. */
  dropped: number;
  /** Rows queued, not yet written. */
  pending: number;
}

/**
 * @example
 * const store = await openStore('cassandra://127.0.0.1:9042/pcapstream', { sensor: 'edge-1' });
 * store.addFlow(record);
 * await store.tick();   // after each chunk: waits only while the queue is full
 * await store.flush();  // durable from here on
 * await store.close();
 */
export interface RecordStore {
  /** `duckdb` or `cassandra`. */
  readonly kind: string;
  /** Where it writes, for messages (file path, or hosts and keyspace; never credentials). */
  readonly where: string;
  readonly stats: RecordStoreStats;
  addFlow(rec: FlowRecord): void;
  /**
   * `source` tells apart windows of the same second from different processes (a store keyed by
   * window may need it; the default is the writer's own name).
   */
  addMetrics(w: MetricWindow, source?: string): void;
  addAnomaly(a: AnomalyRecord): void;
  /** Resolves when the caller may go on; `undefined` when it need not wait at all. */
  tick(): Promise<void> | undefined;
  /** Resolves when every record added so far is durable. */
  flush(): Promise<void>;
  /** Flushes, then releases the database. */
  close(): Promise<void>;
  /** Loss counters for heartbeats and summaries (`store_rows_dropped`, write retries...). */
  losses(): Record<string, number>;
}
