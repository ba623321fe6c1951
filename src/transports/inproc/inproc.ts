/**
 * In-process transport (`inproc://NAME`): the broker model of `core/transport.ts` inside one
 * process, for running every role in one process (the default) and for testing role logic.
 * Buses are named; every `openInproc` of the same name in a process shares one bus.
 *
 * Memory is bounded the way a broker's disk is not: a partition keeps only what some group has
 * not committed yet, and `send` waits while a partition holds more than `maxPartitionBytes`
 * (back-pressure onto the producer) until consumers commit.
 */
import { PipelineError } from '../../core/errors.ts';
import type {
  CheckpointStore,
  Consumer,
  ConsumerEvent,
  ConsumerOptions,
  IncomingMessage,
  OutgoingMessage,
  Producer,
  Transport,
  TransportFactory,
} from '../../core/transport.ts';

const DEFAULT_MAX_PARTITION_BYTES = 64 * 1024 * 1024;

class PartitionLog {
  /** Offset of `values[0]`. */
  base = 0;
  values: Uint8Array[] = [];
  bytes = 0;
  get end(): number {
    return this.base + this.values.length;
  }
}

interface GroupState {
  members: InprocConsumer[];
  /** Next offset to deliver, per topic and partition, after the last commit. */
  committed: Map<string, number[]>;
}

class Bus {
  readonly topics = new Map<string, PartitionLog[]>();
  readonly groups = new Map<string, GroupState>();
  readonly checkpoints = new Map<string, Uint8Array>();
  private waiters: (() => void)[] = [];
  maxPartitionBytes = DEFAULT_MAX_PARTITION_BYTES;
  private nextMember = 1;

  memberName(): string {
    return `inproc-${process.pid}-${this.nextMember++}`;
  }

  /** Wake every waiting poll and send; each re-checks its own condition. */
  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  group(name: string): GroupState {
    let g = this.groups.get(name);
    if (g === undefined) {
      g = { members: [], committed: new Map() };
      this.groups.set(name, g);
    }
    return g;
  }

  committedOf(g: GroupState, topic: string): number[] {
    let c = g.committed.get(topic);
    const logs = this.topics.get(topic);
    const n = logs?.length ?? 0;
    if (c === undefined) {
      c = [];
      g.committed.set(topic, c);
    }
    while (c.length < n) c.push(logs![c.length]!.base);
    return c;
  }

  /** Drop what every group subscribed to the topic has committed. */
  trim(topic: string): void {
    const logs = this.topics.get(topic);
    if (logs === undefined) return;
    for (let p = 0; p < logs.length; p++) {
      let min = Number.POSITIVE_INFINITY;
      let any = false;
      for (const g of this.groups.values()) {
        if (!g.committed.has(topic)) continue;
        any = true;
        min = Math.min(min, this.committedOf(g, topic)[p]!);
      }
      if (!any) continue;
      const log = logs[p]!;
      const drop = Math.min(min, log.end) - log.base;
      if (drop <= 0) continue;
      for (let i = 0; i < drop; i++) log.bytes -= log.values[i]!.byteLength;
      log.values.splice(0, drop);
      log.base += drop;
    }
  }

  /** Round-robin the partitions of each topic over the members, in join order. */
  rebalance(g: GroupState): void {
    const members = g.members;
    const wanted = new Map<InprocConsumer, Map<string, number[]>>();
    for (const m of members) wanted.set(m, new Map());
    const topics = new Set<string>();
    for (const m of members) for (const t of m.topics) topics.add(t);
    for (const t of topics) {
      const subs = members.filter((m) => m.topics.includes(t));
      const n = this.topics.get(t)?.length ?? 0;
      for (let p = 0; p < n; p++) {
        const m = subs[p % subs.length]!;
        const list = wanted.get(m)!.get(t) ?? [];
        list.push(p);
        wanted.get(m)!.set(t, list);
      }
    }
    // Revocations first, then assignments, so no partition has two owners in between.
    for (const m of members) m.applyRevocations(wanted.get(m)!);
    for (const m of members) m.applyAssignments(wanted.get(m)!, g);
    this.notify();
  }
}

const buses = new Map<string, Bus>();

class InprocProducer implements Producer {
  private readonly bus: Bus;
  private closed = false;
  constructor(bus: Bus) {
    this.bus = bus;
  }

  async send(topic: string, messages: OutgoingMessage[]): Promise<void> {
    if (this.closed) throw new PipelineError('PCS_TRANSPORT', 'inproc: send on a closed producer');
    const logs = this.bus.topics.get(topic);
    if (logs === undefined) throw new PipelineError('PCS_TRANSPORT', `inproc: no topic '${topic}'; create it first`);
    for (const m of messages) {
      if (!Number.isInteger(m.partition) || m.partition < 0 || m.partition >= logs.length) {
        throw new PipelineError('PCS_TRANSPORT', `inproc: topic '${topic}' has no partition ${m.partition}`);
      }
    }
    for (const m of messages) {
      const log = logs[m.partition]!;
      // Back-pressure: wait while the partition holds too much uncommitted data.
      while (log.bytes > this.bus.maxPartitionBytes && !this.closed) {
        this.bus.trim(topic);
        if (log.bytes <= this.bus.maxPartitionBytes) break;
        await this.bus.wait(50);
      }
      log.values.push(m.value);
      log.bytes += m.value.byteLength;
    }
    this.bus.notify();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

class InprocConsumer implements Consumer {
  readonly memberId: string;
  readonly topics: string[];
  private readonly bus: Bus;
  private readonly group: GroupState;
  private readonly maxMessages: number;
  private readonly owned = new Map<string, number[]>();
  /** Next offset to deliver per owned (topic, partition). */
  private readonly position = new Map<string, number>();
  private events: ConsumerEvent[] = [];
  private closed = false;
  private cursor = 0;

  constructor(bus: Bus, options: ConsumerOptions) {
    this.bus = bus;
    this.memberId = options.memberId ?? bus.memberName();
    this.topics = [...options.topics];
    this.group = bus.group(options.group);
    this.maxMessages = options.maxMessages ?? 10_000;
  }

  join(): void {
    for (const t of this.topics) this.bus.committedOf(this.group, t);
    this.group.members.push(this);
    this.bus.rebalance(this.group);
  }

  applyRevocations(wanted: Map<string, number[]>): void {
    for (const [t, parts] of this.owned) {
      const keep = wanted.get(t) ?? [];
      const lost = parts.filter((p) => !keep.includes(p));
      if (lost.length === 0) continue;
      this.owned.set(
        t,
        parts.filter((p) => keep.includes(p)),
      );
      for (const p of lost) this.position.delete(`${t}\u0000${p}`);
      // Messages of a lost partition still queued must not be handed out.
      this.events = this.events.filter((e) => !(e.kind === 'messages' && e.topic === t && lost.includes(e.partition)));
      this.events.push({ kind: 'revoked', topic: t, partitions: lost });
    }
  }

  applyAssignments(wanted: Map<string, number[]>, g: GroupState): void {
    for (const [t, parts] of wanted) {
      const have = this.owned.get(t) ?? [];
      const gained = parts.filter((p) => !have.includes(p));
      if (gained.length === 0) continue;
      const committed = this.bus.committedOf(g, t);
      for (const p of gained) this.position.set(`${t}\u0000${p}`, committed[p]!);
      this.owned.set(
        t,
        [...have, ...gained].sort((a, b) => a - b),
      );
      this.events.push({ kind: 'assigned', topic: t, partitions: gained });
    }
  }

  async poll(maxWaitMs: number): Promise<ConsumerEvent[]> {
    if (this.closed) throw new PipelineError('PCS_TRANSPORT', 'inproc: poll on a closed consumer');
    const deadline = Date.now() + Math.max(0, maxWaitMs);
    for (;;) {
      if (this.events.length > 0) {
        const out = this.events;
        this.events = [];
        return out;
      }
      const batch = this.take();
      if (batch.length > 0) return batch;
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) return [];
      await this.bus.wait(left);
    }
  }

  /** Up to `maxMessages` new messages, partitions visited in turn so none starves. */
  private take(): ConsumerEvent[] {
    const slots: [string, number][] = [];
    for (const [t, parts] of this.owned) for (const p of parts) slots.push([t, p]);
    const out: ConsumerEvent[] = [];
    let budget = this.maxMessages;
    for (let i = 0; i < slots.length && budget > 0; i++) {
      const [t, p] = slots[(this.cursor + i) % slots.length]!;
      const log = this.bus.topics.get(t)![p]!;
      const key = `${t}\u0000${p}`;
      const from = Math.max(this.position.get(key)!, log.base);
      const to = Math.min(log.end, from + budget);
      if (to <= from) continue;
      const messages: IncomingMessage[] = [];
      for (let o = from; o < to; o++) {
        messages.push({ partition: p, offset: String(o), value: log.values[o - log.base]! });
      }
      this.position.set(key, to);
      budget -= messages.length;
      out.push({ kind: 'messages', topic: t, partition: p, messages });
    }
    this.cursor++;
    return out;
  }

  async commit(topic: string, partition: number, offset: string): Promise<void> {
    const o = Number(offset);
    if (!Number.isInteger(o) || o < 0) throw new PipelineError('PCS_TRANSPORT', `inproc: bad offset '${offset}'`);
    if (!(this.owned.get(topic) ?? []).includes(partition)) {
      // A member that lost the partition must not move the group's position (it is fenced).
      throw new PipelineError('PCS_TRANSPORT', `inproc: ${this.memberId} does not own ${topic}/${partition}`);
    }
    const c = this.bus.committedOf(this.group, topic);
    if (o + 1 > c[partition]!) c[partition] = o + 1;
    this.bus.trim(topic);
    this.bus.notify();
  }

  assignment(): Map<string, number[]> {
    const m = new Map<string, number[]>();
    for (const [t, p] of this.owned) if (p.length > 0) m.set(t, [...p]);
    return m;
  }

  async lag(): Promise<number> {
    let n = 0;
    for (const [t, parts] of this.owned) {
      for (const p of parts) n += this.bus.topics.get(t)![p]!.end - this.position.get(`${t}\u0000${p}`)!;
    }
    return n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const i = this.group.members.indexOf(this);
    if (i >= 0) this.group.members.splice(i, 1);
    this.owned.clear();
    this.position.clear();
    this.bus.rebalance(this.group);
  }
}

class InprocCheckpoints implements CheckpointStore {
  private readonly bus: Bus;
  constructor(bus: Bus) {
    this.bus = bus;
  }
  async save(group: string, topic: string, partition: number, data: Uint8Array): Promise<void> {
    this.bus.checkpoints.set(`${group}\u0000${topic}\u0000${partition}`, data.slice());
  }
  async load(group: string, topic: string, partition: number): Promise<Uint8Array | null> {
    const d = this.bus.checkpoints.get(`${group}\u0000${topic}\u0000${partition}`);
    return d === undefined ? null : d.slice();
  }
}

class InprocTransport implements Transport {
  readonly id = 'inproc';
  readonly checkpoints: CheckpointStore;
  private readonly bus: Bus;
  private readonly made: (Producer | Consumer)[] = [];

  constructor(bus: Bus) {
    this.bus = bus;
    this.checkpoints = new InprocCheckpoints(bus);
  }

  async ensureTopic(topic: string, partitions: number): Promise<number> {
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000) {
      throw new PipelineError('PCS_TRANSPORT', `partitions must be 1 to 10000, got ${partitions}`);
    }
    const have = this.bus.topics.get(topic);
    if (have !== undefined) return have.length;
    const logs: PartitionLog[] = [];
    for (let i = 0; i < partitions; i++) logs.push(new PartitionLog());
    this.bus.topics.set(topic, logs);
    for (const g of this.bus.groups.values()) {
      if (g.members.some((m) => m.topics.includes(topic))) this.bus.rebalance(g);
    }
    return partitions;
  }

  async partitions(topic: string): Promise<number> {
    return this.bus.topics.get(topic)?.length ?? 0;
  }

  async producer(): Promise<Producer> {
    const p = new InprocProducer(this.bus);
    this.made.push(p);
    return p;
  }

  async consumer(options: ConsumerOptions): Promise<Consumer> {
    const c = new InprocConsumer(this.bus, options);
    c.join();
    this.made.push(c);
    return c;
  }

  async backlog(topic: string, group: string): Promise<number> {
    const logs = this.bus.topics.get(topic);
    if (logs === undefined) return 0;
    const g = this.bus.groups.get(group);
    if (g === undefined) return logs.reduce((n, l) => n + l.end, 0);
    const c = this.bus.committedOf(g, topic);
    let n = 0;
    for (let p = 0; p < logs.length; p++) n += logs[p]!.end - c[p]!;
    return n;
  }

  async close(): Promise<void> {
    for (const m of this.made.splice(0)) await m.close();
  }
}

/**
 * Opens (or joins) the named in-process bus. `maxPartitionBytes` in the URL's query sets the
 * back-pressure threshold (bytes held per partition).
 * @example
 * const t = await openInproc(new URL('inproc://pipeline'), {});
 * await t.ensureTopic('pcapstream.packets', 4);
 */
export const openInproc: TransportFactory = async (url) => {
  const name = url.hostname || url.pathname.replace(/^\/+/, '') || 'default';
  let bus = buses.get(name);
  if (bus === undefined) {
    bus = new Bus();
    buses.set(name, bus);
  }
  const max = url.searchParams.get('maxPartitionBytes');
  if (max !== null) {
    const n = Number(max);
    if (!Number.isInteger(n) || n < 1) {
      throw new PipelineError('PCS_TRANSPORT_OPEN', `inproc: maxPartitionBytes must be a positive whole number`);
    }
    bus.maxPartitionBytes = n;
  }
  return new InprocTransport(bus);
};

export default openInproc;
