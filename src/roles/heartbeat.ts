/**
 * Heartbeats: every role (replay, capture, process, sink) publishes one every few seconds on the
 * heartbeat topic, so an operator sees each member's health and every loss counter in one place.
 * Rates are computed between beats from the role's running totals.
 */
import os from 'node:os';

/** What a heartbeat says (JSON on the wire; see `docs/wire-formats.md`). */
export interface HeartbeatRecord {
  role: string;
  member: string;
  host: string;
  pid: number;
  ts_ms: number;
  uptime_s: number;
  /** Process CPU (user + system) since the last beat, percent of one core. */
  cpu_percent: number;
  rss_bytes: number;
  heap_used_bytes: number;
  packets: number;
  bytes: number;
  packets_per_s: number;
  bytes_per_s: number;
  /** Work waiting inside the role (unsent batches, queued rows), −1 when not known. */
  queue_depth: number;
  /** Messages behind the end of the consumed partitions, −1 when not a consumer or unknown. */
  consumer_lag: number;
  /** Every loss counter of the role, by name (0 when nothing was lost). */
  losses: Record<string, number>;
}

/** The role's running totals, read at each beat. */
export interface HeartbeatSample {
  packets: number;
  bytes: number;
  queue_depth?: number;
  consumer_lag?: number;
  losses: Record<string, number>;
}

export interface HeartbeatOptions {
  role: string;
  member: string;
  everyMs: number;
  sample: () => HeartbeatSample | Promise<HeartbeatSample>;
  publish: (rec: HeartbeatRecord) => Promise<void>;
  /** Called when a beat cannot be sent; the next beat tries again. */
  onError?: (err: unknown) => void;
}

/**
 * @example
 * const hb = new Heartbeat({ role: 'process', member, everyMs: 5000, sample, publish });
 * hb.start(); ... await hb.stop();
 */
export class Heartbeat {
  private readonly o: HeartbeatOptions;
  private timer: NodeJS.Timeout | null = null;
  private readonly started = Date.now();
  private last = { t: Date.now(), cpu: process.cpuUsage(), packets: 0, bytes: 0 };
  private inFlight: Promise<void> = Promise.resolve();
  /** Beats sent. */
  sent = 0;

  constructor(options: HeartbeatOptions) {
    this.o = options;
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      this.inFlight = this.inFlight.then(() => this.beat());
    }, this.o.everyMs);
    this.timer.unref();
  }

  /** Build the record from a sample (exposed for tests). */
  async record(): Promise<HeartbeatRecord> {
    const s = await this.o.sample();
    const now = Date.now();
    const cpu = process.cpuUsage();
    const dt = Math.max(1, now - this.last.t);
    const cpuUs = cpu.user - this.last.cpu.user + (cpu.system - this.last.cpu.system);
    const mem = process.memoryUsage();
    const rec: HeartbeatRecord = {
      role: this.o.role,
      member: this.o.member,
      host: os.hostname(),
      pid: process.pid,
      ts_ms: now,
      uptime_s: (now - this.started) / 1000,
      cpu_percent: Math.round((cpuUs / 1000 / dt) * 1000) / 10,
      rss_bytes: mem.rss,
      heap_used_bytes: mem.heapUsed,
      packets: s.packets,
      bytes: s.bytes,
      packets_per_s: ((s.packets - this.last.packets) * 1000) / dt,
      bytes_per_s: ((s.bytes - this.last.bytes) * 1000) / dt,
      queue_depth: s.queue_depth ?? -1,
      consumer_lag: s.consumer_lag ?? -1,
      losses: s.losses,
    };
    this.last = { t: now, cpu, packets: s.packets, bytes: s.bytes };
    return rec;
  }

  private async beat(): Promise<void> {
    try {
      await this.o.publish(await this.record());
      this.sent++;
    } catch (err) {
      this.o.onError?.(err);
    }
  }

  /** Stop beating after one last beat (so the final totals are published). */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
    await this.beat();
  }
}
