/**
 * The processor role: a consumer-group member that turns packet batches into flows, KPIs and
 * anomalies, and publishes them. Several processors share the partitions of the packets topic;
 * a flow always lives on one partition (see `packet-publisher.ts`), so each partition gets its
 * own flow engine and no flow is ever split between processors.
 *
 * Exactness (nothing lost, nothing counted twice) across crashes and rebalances:
 * - Every `checkpointEveryMs`, for each partition that moved: (1) the flow records it produced
 *   are published and durable, (2) a checkpoint is saved — the engine's snapshot (every open
 *   flow) plus the last batch sequence applied per producer, (3) the partition's offset is
 *   committed. A batch is covered by the commit only once the state holding it is saved.
 * - A new owner (after `kill -9`, a leave or a join) restores the last checkpoint and resumes
 *   from the committed offset; batches the checkpoint already holds (saved but not yet
 *   committed) are recognised by their sequence numbers and skipped.
 * - Records published after the last checkpoint are produced again, identical and with the
 *   same `flow_uid`: stores keep one copy (see the sink role).
 *
 * KPI windows are per processor and count what it processed; across a crash they are approximate
 * (a checkpoint holds flows, not windows). Flows are exact.
 */
import { PipelineError } from '../core/errors.ts';
import { PacketContext } from '../core/packet.ts';
import { Frame } from '../core/source.ts';
import type { Consumer, ConsumerEvent, IncomingMessage, Producer, Transport } from '../core/transport.ts';
import { decodeFrame } from '../decode/dispatch.ts';
import { formatIPv4, formatIPv6 } from '../decode/format.ts';
import { DEFAULT_MAX_LIVE_FLOWS, FlowEngine, type FlowEngineOptions } from '../flow/flow-engine.ts';
import { RollingMetrics } from '../flow/metrics.ts';
import type { AnomalyRecord, FlowRecord, MetricWindow } from '../flow/records.ts';
import { loadFrame } from '../sources/raw-frame.ts';
import { encodeFlowRecord } from '../transports/wire/flow-record.ts';
import {
  type BatchFrame,
  FRAME_END,
  FRAME_PACKET,
  FRAME_TICK,
  forEachBatchFrame,
  PACKET_BATCH_END,
  readPacketBatchHeader,
} from '../transports/wire/packet-batch.ts';
import type { Topics } from './topics.ts';

/** Engine settings, as `flowSettings()` of the CLI returns them. */
export type EngineSettings = Omit<FlowEngineOptions, 'onFlow' | 'onFlowStart' | 'onFlowEnd'>;

export interface ProcessorOptions {
  transport: Transport;
  group: string;
  topics: Topics;
  engine: EngineSettings;
  memberId?: string;
  /** Batches per poll at most (default 16). */
  maxMessages?: number;
  /** How often state is checkpointed and offsets committed (default 2000 ms). */
  checkpointEveryMs?: number;
  /** Top-N size of the KPI windows. */
  topN?: number;
  /** Local receivers (a store), called before records are published. */
  onFlow?: (rec: FlowRecord) => void;
  onWindow?: (w: MetricWindow) => void;
  onAnomaly?: (a: AnomalyRecord) => void;
  /** Makes what the local receivers got durable; awaited before each checkpoint. */
  flushLocal?: () => Promise<void>;
  /**
   * Stop once every partition of the packets topic has seen its END batch: the owned ones in
   * memory, the others by their checkpoints (so nobody leaves while a partition waits for an owner).
   */
  exitOnEnd?: boolean;
  shouldStop?: () => boolean;
  /**
   * On stop, leave at once without the final checkpoint, as a crash would (tests and drills):
   * the work since the last checkpoint is redone by the next owner.
   */
  abandonOnStop?: boolean;
  /** Log lines (assignments, checkpoints); default none. */
  log?: (line: string) => void;
}

export interface ProcessorStats {
  packets: number;
  bytes: number;
  batches: number;
  /** Batches skipped as already applied (redelivered after a checkpoint). */
  batches_redelivered: number;
  /** Batches that could not be read (a loss figure). */
  batches_malformed: number;
  flows: number;
  checkpoints: number;
  partitions_owned: number;
  anomalies: number;
  decode_errors: number;
}

interface PartitionWork {
  partition: number;
  engine: FlowEngine;
  /** Last batch sequence applied, per producer. */
  seqs: Map<string, number>;
  lastOffset: string | null;
  pending: Uint8Array[];
  dirty: boolean;
  ended: boolean;
}

const encoder = new TextEncoder();

const CHECKPOINT_MAGIC = 0x50435350; // "PSCP"
const CHECKPOINT_VERSION = 1;

/**
 * Checkpoint bytes: magic, version, JSON length, JSON (sequences per producer, whether the
 * partition has ended), then the engine snapshot.
 */
export function encodeCheckpoint(seqs: Map<string, number>, ended: boolean, snapshot: Uint8Array): Uint8Array {
  const json = encoder.encode(JSON.stringify({ seqs: Object.fromEntries(seqs), ended }));
  const out = new Uint8Array(12 + json.byteLength + snapshot.byteLength);
  const v = new DataView(out.buffer);
  v.setUint32(0, CHECKPOINT_MAGIC, true);
  v.setUint32(4, CHECKPOINT_VERSION, true);
  v.setUint32(8, json.byteLength, true);
  out.set(json, 12);
  out.set(snapshot, 12 + json.byteLength);
  return out;
}

/** Inverse of `encodeCheckpoint`; throws `PCS_SNAPSHOT` on anything else. */
export function decodeCheckpoint(bytes: Uint8Array): {
  seqs: Map<string, number>;
  ended: boolean;
  snapshot: Uint8Array;
} {
  const bad = (why: string): PipelineError => new PipelineError('PCS_SNAPSHOT', `checkpoint unreadable: ${why}`);
  if (bytes.byteLength < 12) throw bad('too short');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0, true) !== CHECKPOINT_MAGIC) throw bad('not a pcapstream checkpoint');
  if (v.getUint32(4, true) !== CHECKPOINT_VERSION) throw bad(`version ${v.getUint32(4, true)}`);
  const n = v.getUint32(8, true);
  if (12 + n > bytes.byteLength) throw bad('cut short');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + n)));
  } catch {
    throw bad('bad header');
  }
  const seqs = new Map<string, number>();
  const raw = (parsed as { seqs?: unknown }).seqs;
  if (typeof raw !== 'object' || raw === null) throw bad('no sequences');
  for (const [k, s] of Object.entries(raw)) {
    if (!/^[0-9a-f]{16}$/.test(k) || !Number.isSafeInteger(s)) throw bad('bad sequence entry');
    seqs.set(k, s as number);
  }
  const ended = (parsed as { ended?: unknown }).ended === true;
  return { seqs, ended, snapshot: bytes.subarray(12 + n) };
}

/**
 * @example
 * const proc = new Processor({ transport, group: 'pcapstream', topics: topicNames('pcapstream'), engine });
 * await proc.run();
 */
export class Processor {
  readonly stats: ProcessorStats = {
    packets: 0,
    bytes: 0,
    batches: 0,
    batches_redelivered: 0,
    batches_malformed: 0,
    flows: 0,
    checkpoints: 0,
    partitions_owned: 0,
    anomalies: 0,
    decode_errors: 0,
  };
  private readonly o: ProcessorOptions;
  private readonly work = new Map<number, PartitionWork>();
  private readonly p = new PacketContext();
  private readonly frame = new Frame();
  private readonly metrics: RollingMetrics;
  private pendingWindows: Uint8Array[] = [];
  private pendingAnomalies: Uint8Array[] = [];
  private consumer: Consumer | null = null;
  private producer: Producer | null = null;
  private flowPartitions = 1;
  /** Live-flow cap of each partition's engine: the configured cap shared by the partitions. */
  private partitionMaxFlows = DEFAULT_MAX_LIVE_FLOWS;
  private lastCheckpoint = Date.now();

  constructor(options: ProcessorOptions) {
    this.o = options;
    this.metrics = new RollingMetrics({
      topN: options.topN ?? 10,
      onWindow: (w) => {
        options.onWindow?.(w);
        this.pendingWindows.push(encoder.encode(JSON.stringify(w)));
      },
      losses: () => ({
        batches_malformed: this.stats.batches_malformed,
        decode_errors: this.stats.decode_errors,
      }),
    });
  }

  /** Partitions owned now. */
  get partitions(): number[] {
    return [...this.work.keys()].sort((a, b) => a - b);
  }

  /** Consumer lag for the heartbeat (−1 before start). */
  async lag(): Promise<number> {
    return this.consumer === null ? -1 : this.consumer.lag();
  }

  /** Runs until `shouldStop()` or, with `exitOnEnd`, until every partition of the topic has ended. */
  async run(): Promise<ProcessorStats> {
    const { transport, topics } = this.o;
    await transport.ensureTopic(topics.packets, 1);
    const packetPartitions = await transport.partitions(topics.packets);
    this.flowPartitions = await transport.ensureTopic(topics.flows, packetPartitions);
    // One engine per partition: each gets its share of the cap (tables are sized for the cap).
    this.partitionMaxFlows = Math.max(
      1024,
      Math.ceil((this.o.engine.maxFlows ?? DEFAULT_MAX_LIVE_FLOWS) / Math.max(1, packetPartitions)),
    );
    await transport.ensureTopic(topics.metrics, 1);
    await transport.ensureTopic(topics.errors, 1);
    this.producer = await transport.producer();
    this.consumer = await transport.consumer({
      group: this.o.group,
      topics: [topics.packets],
      ...(this.o.memberId === undefined ? {} : { memberId: this.o.memberId }),
      // Small polls keep the event loop free for the transport's heartbeats and lease renewals:
      // a member stalled past its lease would work on as a zombie.
      maxMessages: this.o.maxMessages ?? 16,
    });
    const every = this.o.checkpointEveryMs ?? 2000;
    let lastEndCheck = 0;
    try {
      for (;;) {
        if (this.o.shouldStop?.() === true) {
          if (this.o.abandonOnStop === true) return this.stats;
          break;
        }
        const events = await this.consumer.poll(200);
        for (const e of events) await this.handle(e);
        if (Date.now() - this.lastCheckpoint >= every || this.anyEndedDirty()) await this.checkpoint();
        if (this.o.exitOnEnd === true && this.allEnded() && events.length === 0 && Date.now() - lastEndCheck >= 250) {
          lastEndCheck = Date.now();
          if (await this.everyPartitionEnded()) break;
        }
      }
      // What the windows hold so far goes out with the last checkpoint.
      this.metrics.flush();
      await this.checkpoint();
    } finally {
      await this.consumer.close();
      await this.producer.close();
    }
    return this.stats;
  }

  private anyEndedDirty(): boolean {
    for (const w of this.work.values()) if (w.ended && w.dirty) return true;
    return false;
  }

  /**
   * True when every partition of the packets topic has ended: owned ones by their state, the
   * others by their saved checkpoints. A member must not leave while a partition is between
   * owners (its last owner killed, its lease not yet expired): nobody would finish it.
   */
  private async everyPartitionEnded(): Promise<boolean> {
    const { transport, group, topics } = this.o;
    const n = await transport.partitions(topics.packets);
    for (let part = 0; part < n; part++) {
      const w = this.work.get(part);
      if (w !== undefined) {
        if (!w.ended) return false;
        continue;
      }
      const saved = await transport.checkpoints.load(group, topics.packets, part);
      if (saved === null || !decodeCheckpoint(saved).ended) return false;
    }
    return true;
  }

  private allEnded(): boolean {
    for (const w of this.work.values()) if (!w.ended) return false;
    return true;
  }

  private async handle(e: ConsumerEvent): Promise<void> {
    if (e.kind === 'assigned') {
      for (const part of e.partitions) this.work.set(part, await this.restore(part));
      this.stats.partitions_owned = this.work.size;
      this.o.log?.(`assigned ${e.topic} partitions ${e.partitions.join(',')}`);
    } else if (e.kind === 'revoked') {
      // The next owner resumes from the last checkpoint; what this member did since is redone there.
      for (const part of e.partitions) this.work.delete(part);
      this.stats.partitions_owned = this.work.size;
      this.o.log?.(`revoked ${e.topic} partitions ${e.partitions.join(',')}`);
    } else {
      const w = this.work.get(e.partition);
      if (w === undefined) return;
      for (const m of e.messages) this.apply(w, m);
    }
  }

  private newEngine(w: { pending: Uint8Array[] }, snapshot: Uint8Array | null): FlowEngine {
    const options: FlowEngineOptions = {
      ...this.o.engine,
      maxFlows: this.partitionMaxFlows,
      onFlow: (rec) => {
        this.stats.flows++;
        this.o.onFlow?.(rec);
        w.pending.push(encodeFlowRecord(rec));
      },
      onFlowStart: (ts) => this.metrics.flowStarted(ts),
      onFlowEnd: (ts) => this.metrics.flowEnded(ts),
      // The sensor sends the input's clock (ticks and lateness): the engine must not run its own.
      externalClock: true,
    };
    return snapshot === null ? new FlowEngine(options) : FlowEngine.restore(snapshot, options);
  }

  private async restore(partition: number): Promise<PartitionWork> {
    const w: PartitionWork = {
      partition,
      engine: null as unknown as FlowEngine,
      seqs: new Map(),
      lastOffset: null,
      pending: [],
      dirty: false,
      ended: false,
    };
    const saved = await this.o.transport.checkpoints.load(this.o.group, this.o.topics.packets, partition);
    if (saved === null) {
      w.engine = this.newEngine(w, null);
    } else {
      const cp = decodeCheckpoint(saved);
      w.seqs = cp.seqs;
      w.ended = cp.ended;
      w.engine = this.newEngine(w, cp.snapshot);
    }
    return w;
  }

  private apply(w: PartitionWork, m: IncomingMessage): void {
    w.lastOffset = m.offset;
    w.dirty = true;
    let h: ReturnType<typeof readPacketBatchHeader>;
    try {
      h = readPacketBatchHeader(m.value);
    } catch (err) {
      this.malformed(m, err);
      return;
    }
    const last = w.seqs.get(h.producer) ?? 0;
    if (h.seq <= last) {
      this.stats.batches_redelivered++;
      return;
    }
    w.seqs.set(h.producer, h.seq);
    this.stats.batches++;
    const engine = w.engine;
    try {
      forEachBatchFrame(m.value, (f) => {
        const us = f.tsSec * 1e6 + Math.floor(f.tsNanos / 1000);
        if (f.kind === FRAME_PACKET) {
          // The input's clock as one engine over every partition would have it.
          engine.advanceClock(us + f.lateUs);
          this.packet(w, f);
        } else if (f.kind === FRAME_TICK) {
          engine.advanceClock(us);
          engine.sweep(us);
        } else if (f.kind === FRAME_END) {
          engine.advanceClock(us);
        }
      });
    } catch (err) {
      this.malformed(m, err);
    }
    if ((h.flags & PACKET_BATCH_END) !== 0) {
      w.engine.flushAll('end');
      w.ended = true;
    }
  }

  private malformed(m: IncomingMessage, err: unknown): void {
    this.stats.batches_malformed++;
    const reason = err instanceof Error ? err.message : String(err);
    const rec = { kind: 'batch_malformed', partition: m.partition, offset: m.offset, reason };
    this.pendingAnomalies.push(encoder.encode(JSON.stringify(rec)));
  }

  private packet(w: PartitionWork, f: BatchFrame): void {
    const frameNumber = f.frameNumber;
    loadFrame(this.frame, f);
    const p = this.p;
    decodeFrame(p, this.frame);
    p.frameNumber = frameNumber;
    this.stats.packets++;
    this.stats.bytes += p.frameLength;
    const engine = w.engine;
    const slot = engine.packet(p);
    const ts = engine.packetUs;
    this.metrics.observe(p, ts, slot, engine.servicePort);
    if (p.anomalyCount > 0) this.anomalies(p, ts, frameNumber);
  }

  private anomalies(p: PacketContext, ts: number, frameNumber: number): void {
    const v = p.ipVersion;
    const src = v === 4 ? formatIPv4(p.src4) : v === 6 ? formatIPv6(p.src6) : '';
    const dst = v === 4 ? formatIPv4(p.dst4) : v === 6 ? formatIPv6(p.dst6) : '';
    for (let i = 0; i < p.anomalyCount; i++) {
      const code = p.anomalies[i]!;
      if (code === 'decode.internal_error') this.stats.decode_errors++;
      this.stats.anomalies++;
      const a: AnomalyRecord = {
        frame_number: frameNumber,
        ts_us: ts,
        code,
        src_ip: src,
        dest_ip: dst,
        protocol: v === 0 ? 0 : p.protocol,
      };
      this.o.onAnomaly?.(a);
      this.pendingAnomalies.push(encoder.encode(JSON.stringify(a)));
    }
  }

  /** Publish, save state, commit: in that order (see the module comment). */
  async checkpoint(): Promise<void> {
    this.lastCheckpoint = Date.now();
    const producer = this.producer!;
    const consumer = this.consumer!;
    const { topics, group, transport } = this.o;
    const dirty = [...this.work.values()].filter((w) => w.dirty);
    if (dirty.length === 0 && this.pendingWindows.length === 0 && this.pendingAnomalies.length === 0) return;
    await this.o.flushLocal?.();
    const flows = [];
    for (const w of dirty) {
      for (const value of w.pending) flows.push({ partition: w.partition % this.flowPartitions, value });
      w.pending = [];
    }
    if (flows.length > 0) await producer.send(topics.flows, flows);
    if (this.pendingWindows.length > 0) {
      await producer.send(
        topics.metrics,
        this.pendingWindows.map((value) => ({ partition: 0, value })),
      );
      this.pendingWindows = [];
    }
    if (this.pendingAnomalies.length > 0) {
      await producer.send(
        topics.errors,
        this.pendingAnomalies.map((value) => ({ partition: 0, value })),
      );
      this.pendingAnomalies = [];
    }
    const owned = consumer.assignment().get(topics.packets) ?? [];
    for (const w of dirty) {
      // A partition revoked meanwhile, or no longer ours in the transport's view, is left to its
      // new owner: saving its state now could overwrite the owner's newer checkpoint.
      if (this.work.get(w.partition) !== w || !owned.includes(w.partition)) continue;
      await transport.checkpoints.save(
        group,
        topics.packets,
        w.partition,
        encodeCheckpoint(w.seqs, w.ended, w.engine.snapshot()),
      );
      if (w.lastOffset !== null) {
        try {
          await consumer.commit(topics.packets, w.partition, w.lastOffset);
        } catch (err) {
          // Lost the partition between save and commit: the new owner skips by sequence.
          this.o.log?.(`commit of partition ${w.partition} refused: ${err instanceof Error ? err.message : err}`);
        }
      }
      w.dirty = false;
      this.stats.checkpoints++;
    }
  }
}
