/**
 * The sink role: consumes the flows, metrics and errors topics into a store. The store keeps
 * one copy of each flow record however often it is delivered (it ignores a record whose
 * `flow_uid`, `partial` flag and `last_seen_us` it already holds), and offsets are committed
 * only after the store has committed the rows: a crash redelivers, and the redelivered rows
 * are ignored. So processors may publish a record twice; the store holds it once.
 */
import type { RecordStore } from '../core/store.ts';
import type { Consumer, IncomingMessage, Transport } from '../core/transport.ts';
import type { AnomalyRecord, MetricWindow } from '../flow/records.ts';
import { decodeFlowRecord } from '../transports/wire/flow-record.ts';
import type { Topics } from './topics.ts';

/** What the sink writes into: any store (DuckDB file, Cassandra keyspace). */
export type SinkStore = Pick<RecordStore, 'addFlow' | 'addMetrics' | 'addAnomaly' | 'flush'> &
  Partial<Pick<RecordStore, 'tick'>>;

export interface SinkOptions {
  transport: Transport;
  group: string;
  topics: Topics;
  store: SinkStore;
  /** Store commits and offset commits this often (default 1000 ms). */
  commitEveryMs?: number;
  /** Stop after polls have brought no message for this long (0 = never; default 0). */
  exitAfterIdleMs?: number;
  shouldStop?: () => boolean;
  memberId?: string;
}

export interface SinkStats {
  flows: number;
  metrics: number;
  anomalies: number;
  /** Messages that could not be read (a loss figure). */
  malformed: number;
  commits: number;
}

const decoder = new TextDecoder();

/**
 * @example
 * const sink = new Sink({ transport, group: 'pcapstream-sink', topics, store });
 * await sink.run();
 */
export class Sink {
  readonly stats: SinkStats = { flows: 0, metrics: 0, anomalies: 0, malformed: 0, commits: 0 };
  private readonly o: SinkOptions;
  private consumer: Consumer | null = null;
  /** Last offset read per topic and partition, not yet committed. */
  private readonly positions = new Map<string, { topic: string; partition: number; offset: string }>();

  constructor(options: SinkOptions) {
    this.o = options;
  }

  async lag(): Promise<number> {
    return this.consumer === null ? -1 : this.consumer.lag();
  }

  async run(): Promise<SinkStats> {
    const { transport, topics } = this.o;
    for (const t of [topics.flows, topics.metrics, topics.errors]) await transport.ensureTopic(t, 1);
    this.consumer = await transport.consumer({
      group: this.o.group,
      topics: [topics.flows, topics.metrics, topics.errors],
      ...(this.o.memberId === undefined ? {} : { memberId: this.o.memberId }),
    });
    const every = this.o.commitEveryMs ?? 1000;
    const idleLimit = this.o.exitAfterIdleMs ?? 0;
    let lastCommit = Date.now();
    // Time spent in polls that brought nothing since the last message. Only polls count: time
    // the store holds the sink (back-pressure, a flush) is not idleness, and the topics may
    // still hold much to read.
    let idleMs = 0;
    try {
      for (;;) {
        if (this.o.shouldStop?.() === true) break;
        const polled = Date.now();
        const events = await this.consumer.poll(200);
        let got = false;
        for (const e of events) {
          if (e.kind === 'revoked') {
            // Rows read from a lost partition are still stored (harmless: the store ignores
            // repeats), but their offsets are not ours to commit any more.
            for (const p of e.partitions) this.positions.delete(`${e.topic}\u0000${p}`);
          }
          if (e.kind !== 'messages') continue;
          got = true;
          for (const m of e.messages) this.take(e.topic, e.partition, m);
          const last = e.messages.at(-1);
          if (last !== undefined) {
            this.positions.set(`${e.topic}\u0000${e.partition}`, {
              topic: e.topic,
              partition: e.partition,
              offset: last.offset,
            });
          }
        }
        idleMs = got ? 0 : idleMs + (Date.now() - polled);
        // A slow or absent database holds the sink here, not in memory.
        const wait = this.o.store.tick?.();
        if (wait !== undefined) await wait;
        if (Date.now() - lastCommit >= every) {
          await this.commit();
          lastCommit = Date.now();
        }
        if (idleLimit > 0 && idleMs >= idleLimit) break;
      }
      await this.commit();
    } finally {
      await this.consumer.close();
    }
    return this.stats;
  }

  private take(topic: string, partition: number, m: IncomingMessage): void {
    const { topics, store } = this.o;
    try {
      if (topic === topics.flows) {
        store.addFlow(decodeFlowRecord(m.value));
        this.stats.flows++;
      } else if (topic === topics.metrics) {
        // The message's position names the window: windows of one second from two processors
        // are two rows, a redelivered message is the same row.
        store.addMetrics(JSON.parse(decoder.decode(m.value)) as MetricWindow, `${partition}:${m.offset}`);
        this.stats.metrics++;
      } else {
        const a = JSON.parse(decoder.decode(m.value)) as AnomalyRecord & { kind?: string };
        if (a.kind === undefined && typeof a.code === 'string') {
          store.addAnomaly(a);
          this.stats.anomalies++;
        }
      }
    } catch {
      this.stats.malformed++;
    }
  }

  /** Store first, offsets after: a crash in between redelivers rows the store then ignores. */
  private async commit(): Promise<void> {
    if (this.positions.size === 0) return;
    await this.o.store.flush();
    const consumer = this.consumer!;
    for (const [key, pos] of this.positions) {
      try {
        await consumer.commit(pos.topic, pos.partition, pos.offset);
      } catch {
        // The partition moved meanwhile; its new owner re-reads and the store ignores repeats.
      }
      this.positions.delete(key);
    }
    this.stats.commits++;
  }
}
