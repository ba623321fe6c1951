/**
 * Bookkeeping the broker producers share: the sends still running, which `close()` waits out
 * (Kafka, Redis, RabbitMQ), and a topic's partition count, looked up once and checked against
 * every message (Redis, RabbitMQ; Kafka looks the count up again when a topic grows).
 */
import { PipelineError } from '../core/errors.ts';
import type { OutgoingMessage } from '../core/transport.ts';

/**
 * Sends that have not settled yet.
 * @example
 * send(topic, messages) { return this.sends.track(this.sendAll(topic, messages)); }
 * async close() { this.closed = true; await this.sends.settled(); }
 */
export class SendsInFlight {
  private readonly jobs = new Set<Promise<void>>();

  /** Tracks `job` until it settles, and returns it. */
  track(job: Promise<void>): Promise<void> {
    this.jobs.add(job);
    const forget = (): void => {
      this.jobs.delete(job);
    };
    job.then(forget, forget);
    return job;
  }

  /** Resolves once every send tracked so far has settled, however it ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.jobs]);
  }
}

/**
 * The partition counts of topics, each looked up once, and one send's messages grouped by
 * partition, every partition checked against the count first.
 * @example
 * const parts = new TopicPartitions('redis', (t) => link.partitions(t));
 * for (const [p, list] of await parts.group(topic, messages)) ...
 */
export class TopicPartitions {
  private readonly counts = new Map<string, number>();
  private readonly scheme: string;
  private readonly lookup: (topic: string) => Promise<number>;

  /** `scheme` prefixes errors; `lookup` returns a topic's partition count, 0 if it does not exist. */
  constructor(scheme: string, lookup: (topic: string) => Promise<number>) {
    this.scheme = scheme;
    this.lookup = lookup;
  }

  /** The messages by partition, in their order; rejects for a missing topic or partition. */
  async group(topic: string, messages: OutgoingMessage[]): Promise<Map<number, OutgoingMessage[]>> {
    let count = this.counts.get(topic);
    if (count === undefined) {
      count = await this.lookup(topic);
      if (count === 0) throw new PipelineError('PCS_TRANSPORT', `${this.scheme}: no topic '${topic}'; create it first`);
      this.counts.set(topic, count);
    }
    const byPartition = new Map<number, OutgoingMessage[]>();
    for (const m of messages) {
      if (!Number.isInteger(m.partition) || m.partition < 0 || m.partition >= count) {
        throw new PipelineError('PCS_TRANSPORT', `${this.scheme}: topic '${topic}' has no partition ${m.partition}`);
      }
      let list = byPartition.get(m.partition);
      if (list === undefined) byPartition.set(m.partition, (list = []));
      list.push(m);
    }
    return byPartition;
  }
}
