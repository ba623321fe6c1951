/**
 * The sensor side of the packets topic: frames in, packet batches out, one stream of batches
 * per partition. Each frame is decoded just far enough to build its flow key, and the key's
 * fixed-seed hash picks the partition, so both directions of a flow (and every later flow of
 * the same 5-tuple) land on one partition whichever sensor saw them. Frames without a flow key
 * (ARP, non-IP, later fragments) are spread round-robin: they only feed KPIs and anomalies.
 *
 * Batches carry a per-(producer, partition) sequence number so processors can drop redelivered
 * ones (see `transports/wire/packet-batch.ts`). The publisher also runs the flow engine's clock
 * over every frame and sends a tick to every partition where one engine would sweep, and each
 * frame's lateness, so partitioned engines expire flows exactly as one engine would. `end()`
 * sends an END batch to every partition with the input's newest time.
 */

import { PacketContext } from '../core/packet.ts';
import { Frame } from '../core/source.ts';
import type { Producer } from '../core/transport.ts';
import { decodeFrame } from '../decode/dispatch.ts';
import { FLOW_KEY_WORDS, FlowKeyBuilder } from '../flow/flow-key.ts';
import { SweepClock } from '../flow/sweep-clock.ts';
import { loadFrame, type RawFrame } from '../sources/raw-frame.ts';
import {
  FRAME_END,
  FRAME_PACKET,
  FRAME_TICK,
  newProducerId,
  PACKET_BATCH_END,
  PacketBatchBuilder,
} from '../transports/wire/packet-batch.ts';

export interface PacketPublisherOptions {
  topic: string;
  partitions: number;
  /** Frames per batch at most (default 2048). */
  batchFrames?: number;
  /** Bytes per batch at most (default 512 KiB). */
  batchBytes?: number;
  /** A partition's unfilled batch goes out when this old (wall ms, default 100). */
  lingerMs?: number;
  /**
   * Sealed batches are sent together once they add up to this many bytes (default 4 MiB) or
   * the oldest waited `lingerMs`: one broker round trip per few MiB instead of per batch (a
   * top-speed replay into Kafka spent a third of its time waiting for acks with one batch per send).
   */
  sendBytes?: number;
  /** Producer id words; random by default. */
  producerId?: [number, number];
}

/** Partition of a flow key: fixed seed, so every sensor and process agrees. */
export function partitionOfKey(key: Uint32Array, partitions: number): number {
  let h = 0x2c1b3c6d;
  for (let i = 0; i < FLOW_KEY_WORDS; i++) {
    let w = Math.imul(key[i]!, 0xcc9e2d51);
    w = (w << 15) | (w >>> 17);
    h ^= Math.imul(w, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % partitions;
}

interface PartitionBuffer {
  batch: PacketBatchBuilder;
  seq: number;
  since: number;
}

export interface PacketPublisherStats {
  frames: number;
  bytes: number;
  batches: number;
  /** Frames per partition. */
  perPartition: number[];
}

/**
 * @example
 * const pub = new PacketPublisher(producer, { topic: 'pcapstream.packets', partitions: 4 });
 * await pub.publish(frames);
 * await pub.end();
 */
export class PacketPublisher {
  readonly stats: PacketPublisherStats;
  private readonly producer: Producer;
  private readonly topic: string;
  private readonly partitions: number;
  private readonly batchFrames: number;
  private readonly batchBytes: number;
  private readonly lingerMs: number;
  private readonly sendBytes: number;
  private sealed: { partition: number; value: Uint8Array }[] = [];
  private sealedBytes = 0;
  private sealedSince = 0;
  private readonly producerId: [number, number];
  private readonly buffers: PartitionBuffer[] = [];
  private readonly p = new PacketContext();
  private readonly frame = new Frame();
  private readonly kb = new FlowKeyBuilder();
  private frameNumber = 0;
  private roundRobin = 0;
  private readonly clock = new SweepClock();

  constructor(producer: Producer, options: PacketPublisherOptions) {
    this.producer = producer;
    this.topic = options.topic;
    this.partitions = options.partitions;
    this.batchFrames = options.batchFrames ?? 2048;
    this.batchBytes = options.batchBytes ?? 512 * 1024;
    this.lingerMs = options.lingerMs ?? 100;
    this.sendBytes = options.sendBytes ?? 4 * 1024 * 1024;
    this.producerId = options.producerId ?? newProducerId();
    // Same keying as the flow engine: ICMP echo id in the port words.
    this.kb.icmpEchoIds = true;
    for (let i = 0; i < this.partitions; i++) {
      this.buffers.push({ batch: new PacketBatchBuilder(), seq: 0, since: 0 });
    }
    this.stats = { frames: 0, bytes: 0, batches: 0, perPartition: new Array<number>(this.partitions).fill(0) };
  }

  /** Producer id as the hex text batches carry. */
  get producerHex(): string {
    const h = (x: number): string => (x >>> 0).toString(16).padStart(8, '0');
    return h(this.producerId[1]) + h(this.producerId[0]);
  }

  /** The partition `frame` belongs to (decodes it into the shared context). */
  partitionOf(f: RawFrame): number {
    const fr = this.frame;
    loadFrame(fr, f);
    decodeFrame(this.p, fr);
    const p = this.p;
    if (p.ipVersion !== 0 && !p.isLaterFragment && this.kb.build(p))
      return partitionOfKey(this.kb.key, this.partitions);
    this.roundRobin = (this.roundRobin + 1) % this.partitions;
    return this.roundRobin;
  }

  /**
   * Adds frames in input order (their bytes are copied into the partitions' batches at once:
   * no object per packet is kept) and sends the sealed batches once they are many or old.
   */
  async publish(frames: readonly RawFrame[]): Promise<void> {
    const now = Date.now();
    for (const f of frames) {
      const us = f.tsSec * 1e6 + Math.floor(f.tsNanos / 1000);
      if (this.clock.advance(us)) {
        // One engine over the whole input sweeps here, before this frame: so must every partition.
        for (let i = 0; i < this.partitions; i++) this.marker(i, us, FRAME_TICK, now);
      }
      const part = this.partitionOf(f);
      this.frameNumber++;
      const b = this.buffers[part]!;
      if (b.batch.frames === 0) b.since = now;
      b.batch.add(f.tsSec, f.tsNanos, f.wirelen, f.linkType, FRAME_PACKET, this.clock.lateUs, this.frameNumber, f.data);
      this.stats.frames++;
      this.stats.bytes += f.wirelen;
      this.stats.perPartition[part]!++;
      if (b.batch.frames >= this.batchFrames || b.batch.byteLength >= this.batchBytes) this.seal(part, 0);
    }
    for (let i = 0; i < this.partitions; i++) {
      const b = this.buffers[i]!;
      if (b.batch.frames > 0 && now - b.since >= this.lingerMs) this.seal(i, 0);
    }
    if (this.sealed.length === 0) return;
    if (this.sealedBytes >= this.sendBytes || now - this.sealedSince >= this.lingerMs) await this.sendSealed();
  }

  private async sendSealed(): Promise<void> {
    const ready = this.sealed;
    this.sealed = [];
    this.sealedBytes = 0;
    this.sealedSince = 0;
    if (ready.length > 0) await this.producer.send(this.topic, ready);
  }

  /** A tick or end frame (no bytes) into a partition's batch. */
  private marker(part: number, us: number, kind: number, now: number): void {
    const b = this.buffers[part]!;
    if (b.batch.frames === 0) b.since = now;
    const sec = Math.floor(us / 1e6);
    b.batch.add(sec, (us - sec * 1e6) * 1000, 0, 0, kind, 0, 0, EMPTY);
  }

  /** Sends every partly filled batch now. */
  async flush(): Promise<void> {
    for (let i = 0; i < this.partitions; i++) if (this.buffers[i]!.batch.frames > 0) this.seal(i, 0);
    await this.sendSealed();
  }

  /**
   * Sends what is left and an END batch to every partition: one FRAME_END frame carrying the
   * input's newest time, at which processors close their open flows.
   */
  async end(): Promise<void> {
    await this.flush();
    const now = Date.now();
    for (let i = 0; i < this.partitions; i++) {
      this.marker(i, this.clock.now, FRAME_END, now);
      this.seal(i, PACKET_BATCH_END);
    }
    await this.sendSealed();
  }

  /** Closes a partition's batch and queues it for the next send. */
  private seal(part: number, flags: number): void {
    const b = this.buffers[part]!;
    b.seq++;
    const value = b.batch.seal(this.producerId, b.seq, flags);
    if (this.sealed.length === 0) this.sealedSince = Date.now();
    this.sealed.push({ partition: part, value });
    this.sealedBytes += value.byteLength;
    this.stats.batches++;
  }
}

const EMPTY = new Uint8Array(0);
