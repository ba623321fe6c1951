/**
 * The flow engine: bidirectional flows from decoded packets, with termination, timeouts,
 * partial updates and a cap on live flows. Our own code, on the hot path.
 *
 * Contract
 * - `packet(p)` is called once per decoded frame, in capture order. It never throws for any
 *   packet content; packets without IP (ARP, ...) and later IP fragments (no ports) join no
 *   flow and return -1.
 * - Time is packet time: microseconds from the frame timestamps. Timeouts, linger and partial
 *   updates are judged against the newest timestamp seen, never the wall clock, so a replay
 *   at any speed gives the same flows.
 * - Each finished flow (and each partial update) is handed to `onFlow` as a fresh
 *   `FlowRecord` the listener may keep. `flushAll()` ends every open flow (end of input, SIGINT).
 *
 * Storage is struct-of-arrays typed columns indexed by the flow table's slot: no object per
 * flow, no string or BigInt per packet. Expiry runs as a sweep over the slot columns once per
 * second of packet time (a sequential scan: ~1 ms per 100k flows), and lookups also check
 * the timeouts, so a packet after an idle gap always starts a new flow whatever the sweep did.
 *
 * Snapshots. `snapshot()` writes the engine's whole state (settings, clock, counters, and every
 * live flow: key, state, columns, CIC accumulator record) as a binary image, and
 * `FlowEngine.restore(image, options)` builds an engine that goes on from there, in this process
 * or another: fed the rest of the packets, it emits exactly the records the first engine would
 * have (see `snapshot()` for the format and its checks).
 */

import { crc32 } from 'node:zlib';
import { PipelineError } from '../core/errors.ts';
import { LAYER_TCP, layerBit } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { CicAccumulator, type CicMode } from './cic-features.ts';
import { FLOW_KEY_WORDS, FlowKeyBuilder, hashKey } from './flow-key.ts';
import { FlowTable } from './flow-table.ts';
import {
  endReasonIndex,
  P_BWD_BYTES,
  P_BWD_FLAGS,
  P_BWD_PACKETS,
  P_BWD_PAYLOAD,
  P_CONTEXT,
  P_FEATURES,
  P_FIRST_US,
  P_FLOW_ID,
  P_FWD_BYTES,
  P_FWD_FLAGS,
  P_FWD_PACKETS,
  P_FWD_PAYLOAD,
  P_HAS_FEATURES,
  P_ICMP_TC,
  P_INIT_A,
  P_KEY,
  P_LAST_US,
  P_LATE_US,
  P_PARTIAL,
  P_REASON,
  PACKED_FLOW_WIDTH,
  TUNNEL_TYPES,
  unpackFlow,
} from './packed-flow.ts';
import { protocolName } from './protocols.ts';
import type { FlowEndReason, FlowRecord } from './records.ts';

/** Timeouts and termination rules, all in seconds of packet time. */
export interface FlowTimeouts {
  /** End a TCP flow after this long without a packet. */
  idleTcpS: number;
  /** End a UDP flow after this long without a packet. */
  idleUdpS: number;
  /** End any other flow (ICMP, GRE, ...) after this long without a packet. */
  idleOtherS: number;
  /** End a flow this long after its first packet (0 = never); the next packet starts a new flow. */
  activeS: number;
  /**
   * After both FINs or a RST, keep the flow this long for the last ACKs, then end it
   * (a new SYN ends it at once). -1 ends the flow at the first FIN, as CICFlowMeter does.
   */
  lingerS: number;
  /** Gap that splits active and idle periods in the CIC features (CICFlowMeter's activity timeout). */
  activityS: number;
}

/**
 * Named timeout sets. `cic` copies CICFlowMeter (flow timeout 120 s from the first packet,
 * activity timeout 5 s, a flow ends at its first FIN); `nfstream` NFStream's defaults (idle
 * 120 s, active 1800 s); `zeek` Zeek's inactivity timeouts (TCP 5 min, UDP and ICMP 1 min,
 * 5 s close delay, no active timeout); `suricata` Suricata's established-flow timeouts (TCP
 * 600 s, others 300 s, closed 60 s... approximated without its per-state "new" timeouts).
 */
export const FLOW_PRESETS: Readonly<Record<string, FlowTimeouts>> = {
  cic: { idleTcpS: 120, idleUdpS: 120, idleOtherS: 120, activeS: 120, lingerS: -1, activityS: 5 },
  nfstream: { idleTcpS: 120, idleUdpS: 120, idleOtherS: 120, activeS: 1800, lingerS: 1, activityS: 5 },
  zeek: { idleTcpS: 300, idleUdpS: 60, idleOtherS: 60, activeS: 0, lingerS: 5, activityS: 5 },
  suricata: { idleTcpS: 600, idleUdpS: 300, idleOtherS: 300, activeS: 0, lingerS: 60, activityS: 5 },
};

export const DEFAULT_PRESET = 'nfstream';
export const DEFAULT_MAX_LIVE_FLOWS = 1_000_000;

export interface FlowEngineOptions {
  /** Preset name (see FLOW_PRESETS); default `nfstream`. */
  preset?: string;
  /** Overrides of single timeouts. */
  timeouts?: Partial<FlowTimeouts>;
  /** CIC feature mode, or 'none' to skip the features (cheaper). Default `corrected`. */
  features?: CicMode | 'none';
  /** Cap on live flows; at the cap the least recently seen of a small sample is evicted. */
  maxFlows?: number;
  /** Publish a partial record of a flow every this many seconds of packet time (0 = never). */
  partialEveryS?: number;
  /** Receives every finished flow and partial update. */
  onFlow: (rec: FlowRecord) => void;
  /**
   * When set, receives every flow instead of `onFlow`, as a packed record (`packed-flow.ts`) in
   * a scratch array valid only during the call: for a caller that makes the record's text on
   * another thread, or stores its numbers as they are.
   */
  onPackedFlow?: (packed: Float64Array) => void;
  /** Called when a flow starts and ends (for KPIs). */
  onFlowStart?: (tsUs: number) => void;
  onFlowEnd?: (tsUs: number) => void;
  /**
   * The caller drives the clock (`advanceClock`) and the sweeps (`sweep`) instead of the packet
   * times: for an engine that sees one partition of an input whose sensor sends the input's
   * clock along (see `roles/processor.ts`). Default false.
   */
  externalClock?: boolean;
}

/** Counters of the engine's work and of every loss. */
export interface FlowEngineStats {
  packets_in_flows: number;
  /** IP packets that could not join a flow (later fragments without ports). */
  packets_unflowed: number;
  flows_total: number;
  flows_live: number;
  flows_ended: number;
  partial_updates: number;
  /** Flows ended early to respect the live-flow cap: a loss figure. */
  flows_evicted: number;
}

// State word bits.
const ST_FWD_FLAGS = 0xff;
const ST_BWD_SHIFT = 8;
const ST_INIT_A = 1 << 16;
const ST_FIN_FWD = 1 << 17;
const ST_FIN_BWD = 1 << 18;
const ST_RST = 1 << 19;
const ST_LIVE = 1 << 21;
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;
const TCP_BIT = layerBit(LAYER_TCP);

/**
 * Words per table slot: the 10 key words, then the engine's hottest state in the same 64-byte
 * line, so one cache miss brings key, state and byte counters (as separate columns they cost two
 * more misses a packet once the live flows outgrow the cache).
 */
const STRIDE = 16;
const W_STATE = 10;
/**
 * VLAN id + 1 in the low 13 bits, tunnel type index in the next 4, and from bit 17 the flow's
 * restart index (see `start`): how many earlier flows of the same key started at the same clock.
 */
const W_CONTEXT = 11;
const CTX_RESTART_SHIFT = 17;
// The tunnel index (TUNNEL_TYPES, or its length for others) must fit its 4 bits below the restart index.
if (TUNNEL_TYPES.length > 0xf) throw new Error('too many tunnel types for the context word');
const CTX_RESTART_MAX = 0x7fff;
/** Flows remembered at once for restart indexes (see `retire`): bounds memory on degenerate input. */
const RETIRED_MAX = 1 << 16;
/** Doubles at word 12 and 14: index slot * 8 + 6 and + 7 in the 64-bit view. */
const D_FWD_BYTES = 6;
const D_BWD_BYTES = 7;

// Snapshot image, little-endian (the flow records are copied in host order; see `snapshot()`).
/** "PCSF" */
const SNAP_MAGIC = [0x50, 0x43, 0x53, 0x46];
/** Format version of the image; bumped on any change of the layout below. */
const SNAP_VERSION = 1;
/** Timeouts in the order they sit in the header (seconds, float64 each). */
const SNAP_TIMEOUTS: readonly (keyof FlowTimeouts)[] = [
  'idleTcpS',
  'idleUdpS',
  'idleOtherS',
  'activeS',
  'lingerS',
  'activityS',
];
/** Counters in the order they sit in the header (float64 each). */
const SNAP_STATS: readonly (keyof FlowEngineStats)[] = [
  'packets_in_flows',
  'packets_unflowed',
  'flows_total',
  'flows_live',
  'flows_ended',
  'partial_updates',
  'flows_evicted',
];
const SNAP_FEATURES: readonly (CicMode | 'none')[] = ['none', 'corrected', 'cic'];
const H_VERSION = 4;
const H_FEATURES = 6;
const H_TIMEOUTS = 8;
const H_PARTIAL = H_TIMEOUTS + SNAP_TIMEOUTS.length * 8;
const H_NOW = H_PARTIAL + 8;
const H_PACKET_US = H_NOW + 8;
const H_NEXT_SWEEP = H_PACKET_US + 8;
const H_NEXT_ID = H_NEXT_SWEEP + 8;
const H_RNG = H_NEXT_ID + 8;
const H_FLOW_BYTES = H_RNG + 4;
const H_COUNT = H_FLOW_BYTES + 4;
const H_RETIRED = H_COUNT + 4;
const H_STATS = H_RETIRED + 4;
/** Header bytes; the flow records follow, then the retired keys, then a CRC-32 of everything before it. */
const SNAP_HEADER = H_STATS + SNAP_STATS.length * 8;
/** One retired key (see `retire`): key words, clock (f64), restart index. */
const SNAP_RETIRED_BYTES = FLOW_KEY_WORDS * 4 + 8 + 4;
const HOST_LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

function snapshotError(message: string): PipelineError {
  return new PipelineError('PCS_SNAPSHOT', message);
}

/** Options resolved and checked: what the constructor and `restore` both need. */
interface EngineSettings {
  timeouts: FlowTimeouts;
  features: CicMode | 'none';
  partialS: number;
  maxFlows: number;
}

function resolveSettings(options: FlowEngineOptions): EngineSettings {
  const presetName = options.preset ?? DEFAULT_PRESET;
  const preset = FLOW_PRESETS[presetName];
  if (preset === undefined) {
    throw new RangeError(`unknown flow preset '${presetName}' (known: ${Object.keys(FLOW_PRESETS).join(', ')})`);
  }
  const t: FlowTimeouts = { ...preset, ...options.timeouts };
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || (v < 0 && !(k === 'lingerS' && v === -1))) {
      throw new RangeError(`flow timeout ${k} must be a number >= 0, got ${String(v)}`);
    }
  }
  const partial = options.partialEveryS ?? 0;
  if (!(partial >= 0)) throw new RangeError(`partial update interval must be >= 0, got ${partial}`);
  const maxFlows = options.maxFlows ?? DEFAULT_MAX_LIVE_FLOWS;
  if (!Number.isInteger(maxFlows) || maxFlows < 1)
    throw new RangeError(`max flows must be an integer >= 1, got ${maxFlows}`);
  return { timeouts: t, features: options.features ?? 'corrected', partialS: partial, maxFlows };
}

/** Packets between checks of the clock for the expiry sweep. */
const SWEEP_EVERY_US = 1_000_000;
const EVICTION_SAMPLE = 8;

/** Table slots `flushAllInSteps` ends per step: ~10-20 ms of work when they are live. */
const FLUSH_STEP_SLOTS = 4096;

export class FlowEngine {
  readonly stats: FlowEngineStats = {
    packets_in_flows: 0,
    packets_unflowed: 0,
    flows_total: 0,
    flows_live: 0,
    flows_ended: 0,
    partial_updates: 0,
    flows_evicted: 0,
  };
  readonly timeouts: FlowTimeouts;
  readonly featureMode: CicMode | 'none';
  /** After each `packet()`: whether it went initiator -> responder, and the responder's port. */
  forward = true;
  servicePort = -1;
  /** Newest packet time seen, µs. */
  now = 0;
  /** Time of the last `packet()`, µs: callers reuse it rather than convert the timestamp again. */
  packetUs = 0;

  private readonly kb = new FlowKeyBuilder();
  /** Scratch packed record that `record()` unpacks. */
  private readonly packed = new Float64Array(PACKED_FLOW_WIDTH);
  private readonly table: FlowTable;
  private readonly cic: CicAccumulator | null;
  /**
   * The engine keeps the last-seen time itself without features, and with `cic` features, whose
   * accumulator follows the capture's timestamps even backwards (as CICFlowMeter does): a late
   * packet must not move the flow's clock back (its record, idle and linger tests).
   */
  private readonly ownLast: boolean;
  private readonly onFlow: (rec: FlowRecord) => void;
  private readonly onPackedFlow: ((packed: Float64Array) => void) | null;
  private readonly externalClock: boolean;
  private readonly onFlowStart: ((tsUs: number) => void) | null;
  private readonly onFlowEnd: ((tsUs: number) => void) | null;
  private readonly idleTcpUs: number;
  private readonly idleUdpUs: number;
  private readonly idleOtherUs: number;
  private readonly activeUs: number;
  private readonly lingerUs: number;
  private readonly partialUs: number;
  private nextSweep = 0;
  private nextId = 1;
  private rng = 0x9e3779b9;

  // Per-slot columns, views of one buffer allocated once for the whole cap (see `allocate`).
  private firstTs = new Float64Array(0);
  private lastTs = new Float64Array(0);
  private reportTs = new Float64Array(0);
  private fwdPayload = new Float64Array(0);
  private bwdPayload = new Float64Array(0);
  private fwdPkts = new Uint32Array(0);
  private bwdPkts = new Uint32Array(0);
  private flowId = new Uint32Array(0);
  /** Engine clock minus packet time at the flow's first packet, µs (0 unless it came late), saturated. */
  private lateUs = new Uint32Array(0);
  /**
   * Flows that ended in the clock tick they started in, by key: the next flow of such a key in
   * the same tick gets the next restart index, so its uid differs (same key, same start time).
   * Entries of past ticks are dropped by the sweep.
   */
  private retired = new Map<string, { key: Uint32Array; clock: number; restart: number }>();
  private columnBytes = 0;
  /** The per-slot columns in use, in snapshot order (set by `allocate`). */
  private f64Columns: Float64Array[] = [];
  private u32Columns: Uint32Array[] = [];
  private readonly partialS: number;

  constructor(options: FlowEngineOptions) {
    const settings = resolveSettings(options);
    const t = settings.timeouts;
    this.timeouts = t;
    // An idle timeout of 0 means "never" (a flow then ends only on FIN/RST, active timeout or eviction).
    const us = (s: number): number => (s > 0 ? Math.round(s * 1e6) : Number.POSITIVE_INFINITY);
    this.idleTcpUs = us(t.idleTcpS);
    this.idleUdpUs = us(t.idleUdpS);
    this.idleOtherUs = us(t.idleOtherS);
    this.activeUs = us(t.activeS);
    this.lingerUs = t.lingerS < 0 ? -1 : Math.round(t.lingerS * 1e6);
    this.partialS = settings.partialS;
    this.partialUs = us(settings.partialS);
    const maxFlows = settings.maxFlows;
    // Sized for the cap once: no rehash pauses, and the index is part of the fixed base.
    this.table = new FlowTable(maxFlows, maxFlows, STRIDE - FLOW_KEY_WORDS);
    this.table.prefault();
    this.kb.icmpEchoIds = true;
    this.featureMode = settings.features;
    this.cic =
      this.featureMode === 'none'
        ? null
        : new CicAccumulator({ mode: this.featureMode, activityTimeoutUs: Math.round(t.activityS * 1e6) });
    this.ownLast = this.cic === null || this.cic.mode === 'cic';
    this.onFlow = options.onFlow;
    this.onPackedFlow = options.onPackedFlow ?? null;
    this.externalClock = options.externalClock === true;
    this.onFlowStart = options.onFlowStart ?? null;
    this.onFlowEnd = options.onFlowEnd ?? null;
    this.allocate(this.table.slotCapacity);
  }

  /** Bytes of state per live flow: engine columns, key and hash, CIC accumulator (the index is fixed). */
  get bytesPerFlow(): number {
    return this.columnBytes + STRIDE * 4 + 4 + (this.cic?.bytesPerFlow ?? 0);
  }

  /**
   * Account one decoded packet; returns its flow slot, or -1 when it joins no flow.
   * @example
   * decodeFrame(p, frame); const slot = engine.packet(p);
   */
  packet(p: PacketContext): number {
    const ts = p.tsSec * 1e6 + Math.floor(p.tsNanos / 1000);
    this.packetUs = ts;
    if (ts > this.now && !this.externalClock) {
      this.now = ts;
      if (ts >= this.nextSweep) this.sweep(ts);
    }
    if (p.ipVersion === 0) return -1;
    if (p.isLaterFragment) {
      this.stats.packets_unflowed++;
      return -1;
    }
    const kb = this.kb;
    kb.build(p);
    let slot = this.table.findOrInsert(kb.key, kb.hash);
    if (slot < 0) {
      this.evictOne();
      slot = this.table.findOrInsert(kb.key, kb.hash);
      if (slot < 0) return -1;
    }
    const tcpFlags = (p.layers & TCP_BIT) !== 0 ? p.tcpFlags : 0;
    let st = this.table.words[slot * STRIDE + W_STATE]!;
    if ((st & ST_LIVE) !== 0) {
      // An existing flow: has it ended since its last packet?
      const reason = this.endedBefore(slot, st, ts, tcpFlags, p.protocol);
      if (reason !== null) {
        // The new flow reuses the slot (same key); `start` counts it live again.
        this.emit(slot, reason, false);
        this.retire(slot);
        this.stats.flows_ended++;
        this.stats.flows_live--;
        this.onFlowEnd?.(ts);
        st = 0;
      }
    }
    if ((st & ST_LIVE) === 0) {
      this.start(slot, p, ts);
      st = this.table.words[slot * STRIDE + W_STATE]!;
      this.forward = true;
    } else {
      const fwd = kb.forward === ((st & ST_INIT_A) !== 0);
      this.forward = fwd;
      const cic = this.cic;
      if (fwd) {
        this.table.words64[slot * 8 + D_FWD_BYTES]! += p.frameLength;
        st |= tcpFlags;
        if ((tcpFlags & TCP_FIN) !== 0) st |= ST_FIN_FWD;
      } else {
        this.table.words64[slot * 8 + D_BWD_BYTES]! += p.frameLength;
        st |= tcpFlags << ST_BWD_SHIFT;
        if ((tcpFlags & TCP_FIN) !== 0) st |= ST_FIN_BWD;
      }
      if ((tcpFlags & TCP_RST) !== 0) st |= ST_RST;
      this.table.words[slot * STRIDE + W_STATE] = st;
      if (cic !== null) {
        cic.add(slot, p, ts, fwd);
        if (this.ownLast && ts > this.lastTs[slot]!) this.lastTs[slot] = ts;
      } else {
        // Without features the engine keeps its own times, counts and payload sums.
        if (ts > this.lastTs[slot]!) this.lastTs[slot] = ts;
        if (fwd) {
          this.fwdPkts[slot]!++;
          this.fwdPayload[slot]! += p.payloadLen;
        } else {
          this.bwdPkts[slot]!++;
          this.bwdPayload[slot]! += p.payloadLen;
        }
      }
    }
    this.stats.packets_in_flows++;
    // The responder's port: key word 9 holds portA << 16 | portB.
    const ports = this.table.keyWord(slot, 9);
    this.servicePort = (st & ST_INIT_A) !== 0 ? ports & 0xffff : ports >>> 16;
    if (this.lingerUs < 0 && (tcpFlags & TCP_FIN) !== 0 && this.packetsOf(slot) > 1) {
      // CICFlowMeter ends a flow at its first FIN, that packet included (a FIN in the first
      // packet does not end it, and RST is ignored): what follows forms a new flow.
      this.end(slot, 'fin', ts);
    }
    return slot;
  }

  /** The reason the flow in `slot` ended before a packet at `ts`, or null if it goes on. */
  private endedBefore(slot: number, st: number, ts: number, tcpFlags: number, protocol: number): FlowEndReason | null {
    const last = this.lastOf(slot);
    if (ts - last > (protocol === 6 ? this.idleTcpUs : protocol === 17 ? this.idleUdpUs : this.idleOtherUs)) {
      return 'idle';
    }
    if (ts - this.firstOf(slot) > this.activeUs) return 'active';
    const closed = (st & ST_RST) !== 0 || (st & (ST_FIN_FWD | ST_FIN_BWD)) === (ST_FIN_FWD | ST_FIN_BWD);
    if (closed && this.lingerUs >= 0) {
      // A fresh SYN on a closed connection is a new connection reusing the ports.
      if ((tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN || ts - last > this.lingerUs) {
        return (st & ST_RST) !== 0 ? 'rst' : 'fin';
      }
    }
    return null;
  }

  private start(slot: number, p: PacketContext, ts: number): void {
    const tcpFlags = (p.layers & TCP_BIT) !== 0 ? p.tcpFlags : 0;
    if (this.cic === null) {
      this.firstTs[slot] = ts;
      this.fwdPkts[slot] = 1;
      this.bwdPkts[slot] = 0;
      this.fwdPayload[slot] = p.payloadLen;
      this.bwdPayload[slot] = 0;
    }
    if (this.ownLast) this.lastTs[slot] = ts;
    if (this.reportTs.length > 1) this.reportTs[slot] = ts;
    this.table.words64[slot * 8 + D_FWD_BYTES] = p.frameLength;
    this.table.words64[slot * 8 + D_BWD_BYTES] = 0;
    const icmp = p.protocol === 1 || p.protocol === 58;
    // ICMP flows have no TCP flags: their first type and code sit in the flag bits instead.
    let st = ST_LIVE | (icmp ? (p.icmpType << 8) | p.icmpCode : tcpFlags) | (this.kb.forward ? ST_INIT_A : 0);
    if ((tcpFlags & TCP_FIN) !== 0) st |= ST_FIN_FWD;
    if ((tcpFlags & TCP_RST) !== 0) st |= ST_RST;
    this.table.words[slot * STRIDE + W_STATE] = st;
    const vlan = p.vlanCount > 0 ? (p.vlanIds[0]! & 0xfff) + 1 : 0;
    let tunnel = 0;
    if (p.tunnelDepth > 0) {
      tunnel = TUNNEL_TYPES.indexOf(p.tunnel.type);
      if (tunnel < 0) tunnel = TUNNEL_TYPES.length;
    }
    // Two flows of one key with the same start time (coarse or repeated timestamps) must still
    // get different uids: the later one takes the next restart index.
    let restart = 0;
    if (this.retired.size > 0) {
      const k = this.retiredKey(slot);
      const r = this.retired.get(k);
      if (r !== undefined && r.clock === this.now) {
        restart = Math.min(r.restart + 1, CTX_RESTART_MAX);
        this.retired.delete(k);
      }
    }
    this.table.words[slot * STRIDE + W_CONTEXT] = vlan | (tunnel << 13) | (restart << CTX_RESTART_SHIFT);
    this.lateUs[slot] = Math.min(this.now - ts, 0xffffffff);
    this.flowId[slot] = this.nextId++;
    this.stats.flows_total++;
    this.stats.flows_live++;
    this.cic?.start(slot, p, ts);
    this.onFlowStart?.(ts);
  }

  /** End the flow in `slot` now: emit its record and free the slot. */
  private end(slot: number, reason: FlowEndReason, ts: number, retire = true): void {
    this.emit(slot, reason, false);
    if (retire) this.retire(slot);
    this.table.words[slot * STRIDE + W_STATE] = 0;
    this.table.remove(slot);
    this.stats.flows_live--;
    this.stats.flows_ended++;
    this.onFlowEnd?.(ts);
  }

  /**
   * Remember the ending flow in `slot` when it started at the current clock: a flow of the same
   * key starting in this tick must take the next restart index. (With ordered timestamps that
   * happens only to flows ended within the microsecond they began, so the map stays tiny.)
   */
  private retire(slot: number): void {
    const clock = this.firstOf(slot) + this.lateUs[slot]!;
    if (clock !== this.now || this.retired.size >= RETIRED_MAX) return;
    const o = slot * STRIDE;
    this.retired.set(this.retiredKey(slot), {
      key: this.table.words.slice(o, o + FLOW_KEY_WORDS),
      clock,
      restart: this.table.words[o + W_CONTEXT]! >>> CTX_RESTART_SHIFT,
    });
  }

  private retiredKey(slot: number): string {
    const o = slot * STRIDE;
    const w = this.table.words;
    let k = '';
    for (let i = 0; i < FLOW_KEY_WORDS; i++) k += `${w[o + i]},`;
    return k;
  }

  private emit(slot: number, reason: FlowEndReason, partial: boolean): void {
    const onPacked = this.onPackedFlow;
    if (onPacked === null) {
      this.onFlow(this.record(slot, reason, partial, true));
      return;
    }
    this.pack(slot, reason, partial, true, this.packed, 0);
    onPacked(this.packed);
  }

  /** The record of the flow in `slot` as it stands. */
  private record(slot: number, reason: FlowEndReason, partial: boolean, withFeatures: boolean): FlowRecord {
    this.pack(slot, reason, partial, withFeatures, this.packed, 0);
    return unpackFlow(this.packed, 0);
  }

  /**
   * Write the flow in `slot` as a packed record (`packed-flow.ts`) at `out[at ..]`: numbers
   * only, so the text of the record can be made elsewhere.
   */
  private pack(
    slot: number,
    reason: FlowEndReason,
    partial: boolean,
    withFeatures: boolean,
    out: Float64Array,
    at: number,
  ): void {
    const words = this.table.words;
    const o = slot * STRIDE;
    const st = words[o + W_STATE]!;
    for (let i = 0; i < FLOW_KEY_WORDS; i++) out[at + P_KEY + i] = words[o + i]!;
    const cic = this.cic;
    out[at + P_FLOW_ID] = this.flowId[slot]!;
    out[at + P_FIRST_US] = this.firstOf(slot);
    out[at + P_LAST_US] = this.lastOf(slot);
    out[at + P_LATE_US] = this.lateUs[slot]!;
    out[at + P_CONTEXT] = words[o + W_CONTEXT]!;
    out[at + P_INIT_A] = (st & ST_INIT_A) !== 0 ? 1 : 0;
    out[at + P_FWD_FLAGS] = st & ST_FWD_FLAGS;
    out[at + P_BWD_FLAGS] = (st >>> ST_BWD_SHIFT) & 0xff;
    out[at + P_ICMP_TC] = st & 0xffff;
    out[at + P_FWD_PACKETS] = cic === null ? this.fwdPkts[slot]! : cic.fwdPackets(slot);
    out[at + P_BWD_PACKETS] = cic === null ? this.bwdPkts[slot]! : cic.bwdPackets(slot);
    out[at + P_FWD_BYTES] = this.table.words64[slot * 8 + D_FWD_BYTES]!;
    out[at + P_BWD_BYTES] = this.table.words64[slot * 8 + D_BWD_BYTES]!;
    out[at + P_FWD_PAYLOAD] = cic === null ? this.fwdPayload[slot]! : cic.fwdPayloadBytes(slot);
    out[at + P_BWD_PAYLOAD] = cic === null ? this.bwdPayload[slot]! : cic.bwdPayloadBytes(slot);
    out[at + P_REASON] = endReasonIndex(reason);
    out[at + P_PARTIAL] = partial ? 1 : 0;
    if (cic !== null && withFeatures) {
      out[at + P_HAS_FEATURES] = 1;
      // A record's features start from zero, as a fresh array's did.
      out.fill(0, at + P_FEATURES, at + PACKED_FLOW_WIDTH);
      cic.values(slot, out.subarray(at + P_FEATURES, at + PACKED_FLOW_WIDTH));
    } else {
      out[at + P_HAS_FEATURES] = 0;
    }
  }

  /**
   * Move the clock to `nowUs` if that is later (with `externalClock`; it never sweeps by itself).
   * @example
   * engine.advanceClock(tsUs + lateUs); engine.packet(p);
   */
  advanceClock(nowUs: number): void {
    if (nowUs > this.now) this.now = nowUs;
  }

  /**
   * End flows whose time is up at packet time `now`, and publish due partial updates.
   * Runs by itself once per second of packet time; callers may run it when input pauses.
   */
  sweep(now: number): void {
    this.nextSweep = now + SWEEP_EVERY_US;
    if (this.retired.size > 0) {
      for (const [k, r] of this.retired) if (r.clock < now) this.retired.delete(k);
    }
    const hw = this.table.highWater;
    const words = this.table.words;
    const partialUs = this.partialUs;
    const lingerUs = this.lingerUs;
    for (let s = 0; s < hw; s++) {
      const st = words[s * STRIDE + W_STATE]!;
      if ((st & ST_LIVE) === 0) continue;
      const last = this.lastOf(s);
      const idle = now - last;
      const protocol = this.table.keyWord(s, 0) & 0xff;
      const idleLimit = protocol === 6 ? this.idleTcpUs : protocol === 17 ? this.idleUdpUs : this.idleOtherUs;
      let reason: FlowEndReason | null = null;
      if (idle > idleLimit) reason = 'idle';
      else if (now - this.firstOf(s) > this.activeUs) reason = 'active';
      else if (
        lingerUs >= 0 &&
        idle > lingerUs &&
        ((st & ST_RST) !== 0 || (st & (ST_FIN_FWD | ST_FIN_BWD)) === (ST_FIN_FWD | ST_FIN_BWD))
      ) {
        reason = (st & ST_RST) !== 0 ? 'rst' : 'fin';
      }
      if (reason !== null) {
        this.end(s, reason, now);
      } else if (
        partialUs !== Number.POSITIVE_INFINITY &&
        now - this.reportTs[s]! >= partialUs &&
        last > this.reportTs[s]!
      ) {
        this.reportTs[s] = now;
        this.stats.partial_updates++;
        this.emit(s, 'update', true);
      }
    }
  }

  /** End every open flow (end of input, interruption). */
  flushAll(reason: FlowEndReason = 'end'): void {
    this.flushSlots(0, Number.POSITIVE_INFINITY, reason);
  }

  /**
   * `flushAll` a step at a time, awaiting `between()` after each step: the records' consumer
   * (the store's writes) starts on the first flows while the engine is still ending the rest,
   * instead of after all of them (often tens of thousands at the end of an input). Same
   * records, same order as `flushAll`; no packet may arrive meanwhile.
   * @example
   * await engine.flushAllInSteps(async () => { await store.tick(); await turn(); });
   */
  async flushAllInSteps(between: () => Promise<void>, reason: FlowEndReason = 'end'): Promise<void> {
    for (let s = 0; s >= 0; ) {
      s = this.flushSlots(s, FLUSH_STEP_SLOTS, reason);
      await between();
    }
  }

  /** Ends the open flows in `count` table slots from `from`; returns the next step's start, or -1 at the end. */
  private flushSlots(from: number, count: number, reason: FlowEndReason = 'end'): number {
    const hw = this.table.highWater;
    const to = Math.min(hw, from + count);
    for (let s = from; s < to; s++) {
      // Not remembered for restart indexes: the input is over (and there may be many).
      if ((this.table.words[s * STRIDE + W_STATE]! & ST_LIVE) !== 0) this.end(s, reason, this.now, false);
    }
    return to >= hw ? -1 : to;
  }

  /**
   * The engine's state as a binary image, for `FlowEngine.restore` in this or another process.
   * Records already emitted are not in it; nothing is emitted, and the engine goes on unchanged.
   *
   * Layout (little-endian): magic `PCSF`, format version (u16), feature mode (u8), a zero byte;
   * the six timeouts and the partial interval in seconds (f64); packet clock, last packet time,
   * next sweep time (µs) and next flow id (f64); the eviction sampler's state, bytes per flow
   * record, the live flow count and the retired key count (u32); the `stats` counters (f64). Then
   * one fixed-size record per live flow, in slot order: the table's 16 words (key, state, context,
   * byte counters), the engine's columns in use (times, payload sums, report time: f64; flow id,
   * lateness, packet counts: u32) and the CIC accumulator's record. Then the keys remembered for
   * restart indexes (key words, clock, index: a handful at most, see `retire`). Last, a CRC-32 of
   * all the bytes before it. Only live flows are written: the size is proportional to them,
   * 384 bytes a flow with `corrected` features, 304 with `cic` and 112 without (8 more with partial
   * updates).
   *
   * Flow records and the accumulator's are copied in host byte order, so images move between
   * little-endian hosts only (every platform Node runs on but s390x; a big-endian host refuses).
   * @example
   * const image = engine.snapshot(); // commit it with the input offset it belongs to
   * const next = FlowEngine.restore(image, { features: 'corrected', onFlow });
   */
  snapshot(): Uint8Array {
    if (!HOST_LITTLE_ENDIAN) throw snapshotError('flow engine snapshots need a little-endian host');
    const t = this.table;
    const count = t.size;
    const flowBytes = this.snapshotFlowBytes();
    const retired = this.retired.size;
    const out = new Uint8Array(SNAP_HEADER + count * flowBytes + retired * SNAP_RETIRED_BYTES + 4);
    const dv = new DataView(out.buffer);
    out.set(SNAP_MAGIC, 0);
    dv.setUint16(H_VERSION, SNAP_VERSION, true);
    out[H_FEATURES] = SNAP_FEATURES.indexOf(this.featureMode);
    for (const [i, k] of SNAP_TIMEOUTS.entries()) dv.setFloat64(H_TIMEOUTS + i * 8, this.timeouts[k], true);
    dv.setFloat64(H_PARTIAL, this.partialS, true);
    dv.setFloat64(H_NOW, this.now, true);
    dv.setFloat64(H_PACKET_US, this.packetUs, true);
    dv.setFloat64(H_NEXT_SWEEP, this.nextSweep, true);
    dv.setFloat64(H_NEXT_ID, this.nextId, true);
    dv.setUint32(H_RNG, this.rng, true);
    dv.setUint32(H_FLOW_BYTES, flowBytes, true);
    dv.setUint32(H_COUNT, count, true);
    dv.setUint32(H_RETIRED, retired, true);
    for (const [i, k] of SNAP_STATS.entries()) dv.setFloat64(H_STATS + i * 8, this.stats[k], true);
    const words = new Uint8Array(t.words.buffer, t.words.byteOffset, t.words.byteLength);
    const f64s = this.f64Columns;
    const u32s = this.u32Columns;
    const cic = this.cic;
    let at = SNAP_HEADER;
    let n = 0;
    for (let s = 0; s < t.highWater; s++) {
      if ((t.words[s * STRIDE + W_STATE]! & ST_LIVE) === 0) continue;
      if (n++ === count) throw new Error('flow table holds more live slots than keys');
      out.set(words.subarray(s * STRIDE * 4, (s + 1) * STRIDE * 4), at);
      at += STRIDE * 4;
      for (const c of f64s) {
        dv.setFloat64(at, c[s]!, true);
        at += 8;
      }
      for (const c of u32s) {
        dv.setUint32(at, c[s]!, true);
        at += 4;
      }
      if (cic !== null) {
        cic.saveSlot(s, out, at);
        at += cic.bytesPerFlow;
      }
    }
    if (n !== count) throw new Error(`flow table holds ${count} keys but ${n} live slots`);
    for (const r of this.retired.values()) {
      for (let i = 0; i < FLOW_KEY_WORDS; i++) dv.setUint32(at + i * 4, r.key[i]!, true);
      dv.setFloat64(at + FLOW_KEY_WORDS * 4, r.clock, true);
      dv.setUint32(at + FLOW_KEY_WORDS * 4 + 8, r.restart, true);
      at += SNAP_RETIRED_BYTES;
    }
    dv.setUint32(at, crc32(out.subarray(0, at)), true);
    return out;
  }

  /** Bytes of one flow record in a snapshot of this engine. */
  private snapshotFlowBytes(): number {
    return STRIDE * 4 + this.f64Columns.length * 8 + this.u32Columns.length * 4 + (this.cic?.bytesPerFlow ?? 0);
  }

  /**
   * A new engine that continues from `image` (written by `snapshot()`, in any process): the same
   * live flows, clock, flow ids and counters, with the listeners of `options`. Fed the packets
   * that followed the snapshot, it emits exactly the records the snapshotted engine would have.
   *
   * `options` must give the settings the snapshot was taken with (timeouts after the preset and
   * overrides, feature mode, partial interval); `maxFlows` may differ. The table is sized for the
   * larger of the snapshot's flows and `maxFlows`; when the snapshot holds more flows than
   * `maxFlows`, the least recently seen of sampled ones are evicted at once (emitted through
   * `onFlow` with reason `evicted`) until the cap holds.
   *
   * Throws `PipelineError('PCS_SNAPSHOT')` for settings that differ from the snapshot's, and for
   * an image that is not a snapshot, has another format version, is truncated or corrupt (its
   * CRC-32, lengths, counts and flow keys are checked before anything is allocated or emitted).
   * Invalid `options` throw the constructor's RangeError.
   * @example
   * const engine = FlowEngine.restore(image, { preset: 'nfstream', features: 'corrected', onFlow });
   * for (const p of packetsAfterTheSnapshot) engine.packet(p);
   */
  static restore(image: Uint8Array, options: FlowEngineOptions): FlowEngine {
    if (!HOST_LITTLE_ENDIAN) throw snapshotError('flow engine snapshots need a little-endian host');
    if (!(image instanceof Uint8Array)) throw snapshotError('a flow engine snapshot must be a Uint8Array');
    const len = image.length;
    if (len < SNAP_HEADER + 4) {
      throw snapshotError(`flow engine snapshot truncated: ${len} bytes, the header alone takes ${SNAP_HEADER + 4}`);
    }
    if (SNAP_MAGIC.some((b, i) => image[i] !== b)) throw snapshotError('not a flow engine snapshot (bad magic)');
    const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
    const version = dv.getUint16(H_VERSION, true);
    if (version !== SNAP_VERSION) {
      throw snapshotError(`flow engine snapshot format ${version}, this pcapstream reads format ${SNAP_VERSION}`);
    }
    const flowBytes = dv.getUint32(H_FLOW_BYTES, true);
    const count = dv.getUint32(H_COUNT, true);
    const retired = dv.getUint32(H_RETIRED, true);
    if (
      flowBytes < STRIDE * 4 ||
      retired > RETIRED_MAX ||
      SNAP_HEADER + count * flowBytes + retired * SNAP_RETIRED_BYTES + 4 !== len
    ) {
      throw snapshotError(
        `flow engine snapshot truncated or corrupt: ${len} bytes for ${count} flows of ${flowBytes} bytes and ${retired} retired keys`,
      );
    }
    if (dv.getUint32(len - 4, true) !== crc32(image.subarray(0, len - 4))) {
      throw snapshotError('flow engine snapshot corrupt: checksum mismatch');
    }
    const settings = resolveSettings(options);
    const differ: string[] = [];
    const features = SNAP_FEATURES[image[H_FEATURES]!];
    if (features === undefined) throw snapshotError(`flow engine snapshot corrupt: feature mode ${image[H_FEATURES]}`);
    if (features !== settings.features) differ.push(`features ${features} (snapshot) vs ${settings.features}`);
    SNAP_TIMEOUTS.forEach((k, i) => {
      const v = dv.getFloat64(H_TIMEOUTS + i * 8, true);
      if (!Object.is(v, settings.timeouts[k])) differ.push(`${k} ${v} (snapshot) vs ${settings.timeouts[k]}`);
    });
    const partial = dv.getFloat64(H_PARTIAL, true);
    if (!Object.is(partial, settings.partialS))
      differ.push(`partialEveryS ${partial} (snapshot) vs ${settings.partialS}`);
    if (differ.length > 0) {
      throw snapshotError(`flow engine settings differ from the snapshot's: ${differ.join(', ')}`);
    }
    const now = dv.getFloat64(H_NOW, true);
    const packetUs = dv.getFloat64(H_PACKET_US, true);
    const nextSweep = dv.getFloat64(H_NEXT_SWEEP, true);
    const nextId = dv.getFloat64(H_NEXT_ID, true);
    const stats = SNAP_STATS.map((_, i) => dv.getFloat64(H_STATS + i * 8, true));
    if (
      ![now, packetUs, nextSweep].every(Number.isFinite) ||
      !(Number.isSafeInteger(nextId) && nextId >= 1) ||
      !stats.every((v) => Number.isSafeInteger(v) && v >= 0) ||
      stats[SNAP_STATS.indexOf('flows_live')] !== count
    ) {
      throw snapshotError('flow engine snapshot corrupt: bad clock, flow id or counters');
    }
    // Room for every flow of the snapshot; the cap is restored (evicting) once they are in.
    const engine = new FlowEngine({ ...options, maxFlows: Math.max(count, settings.maxFlows) });
    if (engine.snapshotFlowBytes() !== flowBytes) {
      throw snapshotError(
        `flow engine snapshot corrupt: ${flowBytes} bytes per flow, expected ${engine.snapshotFlowBytes()}`,
      );
    }
    let at = engine.load(image, dv, count);
    for (let i = 0; i < retired; i++, at += SNAP_RETIRED_BYTES) {
      const key = new Uint32Array(FLOW_KEY_WORDS);
      for (let w = 0; w < FLOW_KEY_WORDS; w++) key[w] = dv.getUint32(at + w * 4, true);
      const clock = dv.getFloat64(at + FLOW_KEY_WORDS * 4, true);
      const restart = dv.getUint32(at + FLOW_KEY_WORDS * 4 + 8, true);
      if (!Number.isFinite(clock) || restart > CTX_RESTART_MAX) {
        throw snapshotError(`flow engine snapshot corrupt: retired key ${i} is invalid`);
      }
      engine.retired.set(`${key.join(',')},`, { key, clock, restart });
    }
    if (engine.retired.size !== retired) throw snapshotError('flow engine snapshot corrupt: a retired key repeats');
    engine.now = now;
    engine.packetUs = packetUs;
    engine.nextSweep = nextSweep;
    engine.nextId = nextId;
    engine.rng = dv.getUint32(H_RNG, true);
    SNAP_STATS.forEach((k, i) => {
      engine.stats[k] = stats[i]!;
    });
    while (engine.table.size > settings.maxFlows) engine.evictOne();
    engine.table.maxFlows = settings.maxFlows;
    return engine;
  }

  /** Insert the snapshot's `count` flows into this fresh engine, in slots 0 .. count-1; returns the offset after them. */
  private load(image: Uint8Array, dv: DataView, count: number): number {
    const t = this.table;
    const key = new Uint32Array(FLOW_KEY_WORDS);
    const words = new Uint8Array(t.words.buffer, t.words.byteOffset, t.words.byteLength);
    const f64s = this.f64Columns;
    const u32s = this.u32Columns;
    const cic = this.cic;
    let at = SNAP_HEADER;
    for (let i = 0; i < count; i++) {
      for (let w = 0; w < FLOW_KEY_WORDS; w++) key[w] = dv.getUint32(at + w * 4, true);
      const v = key[0]! >>> 8;
      const v4Padding = key[2]! | key[3]! | key[4]! | key[6]! | key[7]! | key[8]!;
      const state = dv.getUint32(at + W_STATE * 4, true);
      if ((state & ST_LIVE) === 0 || !(v === 6 || (v === 4 && v4Padding === 0))) {
        throw snapshotError(`flow engine snapshot corrupt: flow ${i} has an invalid key or state`);
      }
      const slot = t.findOrInsert(key, hashKey(key));
      if (slot !== i) throw snapshotError(`flow engine snapshot corrupt: flow ${i} repeats the key of another`);
      words.set(image.subarray(at, at + STRIDE * 4), slot * STRIDE * 4);
      at += STRIDE * 4;
      for (const c of f64s) {
        c[slot] = dv.getFloat64(at, true);
        at += 8;
      }
      for (const c of u32s) {
        c[slot] = dv.getUint32(at, true);
        at += 4;
      }
      if (cic !== null) {
        cic.loadSlot(slot, image, at);
        at += cic.bytesPerFlow;
      }
    }
    return at;
  }

  // Times and counts live in the CIC accumulator when it runs (it needs them anyway); keeping a
  // second copy cost 40 bytes a flow, a tenth of the budget.
  private lastOf(slot: number): number {
    return this.ownLast || this.cic === null ? this.lastTs[slot]! : this.cic.lastSeenUs(slot);
  }

  private firstOf(slot: number): number {
    return this.cic === null ? this.firstTs[slot]! : this.cic.firstSeenUs(slot);
  }

  private packetsOf(slot: number): number {
    return this.cic === null
      ? this.fwdPkts[slot]! + this.bwdPkts[slot]!
      : this.cic.fwdPackets(slot) + this.cic.bwdPackets(slot);
  }

  /**
   * The flow in a live slot as text, initiator first; a free slot gives `flow slot N`. For logs
   * and debugging: the KPIs name conversations from their own copy of the tuple, since a slot
   * may hold another flow by the time a window closes.
   * @example
   * engine.describe(engine.packet(p)); // '10.0.0.1:5353 <-> 10.0.0.2:53 udp'
   */
  describe(slot: number): string {
    if ((this.table.words[slot * STRIDE + W_STATE]! & ST_LIVE) === 0) return `flow slot ${slot}`;
    const r = this.record(slot, 'update', true, false);
    const ep = (ip: string, port: number): string => (r.ip_version === 6 ? `[${ip}]:${port}` : `${ip}:${port}`);
    return `${ep(r.src_ip, r.src_port)} <-> ${ep(r.dest_ip, r.dest_port)} ${r.protocol_name}`;
  }

  /** Evict the least recently seen of a few randomly sampled live flows. */
  private evictOne(): void {
    const hw = this.table.highWater;
    let victim = -1;
    let oldest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < EVICTION_SAMPLE * 4 && (victim < 0 || i < EVICTION_SAMPLE); i++) {
      this.rng = (Math.imul(this.rng, 1664525) + 1013904223) >>> 0;
      const s = this.rng % hw;
      if ((this.table.words[s * STRIDE + W_STATE]! & ST_LIVE) !== 0 && this.lastOf(s) < oldest) {
        oldest = this.lastOf(s);
        victim = s;
      }
    }
    if (victim < 0) {
      for (let s = 0; s < hw && victim < 0; s++)
        if ((this.table.words[s * STRIDE + W_STATE]! & ST_LIVE) !== 0) victim = s;
    }
    if (victim < 0) return;
    this.stats.flows_evicted++;
    this.end(victim, 'evicted', this.now);
  }

  /**
   * Lay every column out in one buffer sized for the cap, allocated once: a large zeroed
   * allocation is mapped lazily by the OS, so only pages of slots in use become resident (slots
   * are handed out low first) and nothing is ever copied to grow. Per-column arrays grown by
   * doubling cost up to twice the memory, and briefly three times during each copy.
   */
  private allocate(n: number): void {
    const own = this.cic === null;
    // State, context and bytes live beside the key (STRIDE). Here: flow id and lateness always; times,
    // counts and payload sums only without CIC (the last-seen time also with `cic` features).
    const f64Cols = (own ? 3 : 0) + (this.ownLast ? 1 : 0) + (this.partialUs === Number.POSITIVE_INFINITY ? 0 : 1);
    const u32Cols = 2 + (own ? 2 : 0);
    const width = f64Cols * 8 + u32Cols * 4;
    const buf = new ArrayBuffer(n * width);
    let off = 0;
    const none64 = new Float64Array(0);
    const none32 = new Uint32Array(0);
    const f64 = (): Float64Array<ArrayBuffer> => {
      const a = new Float64Array(buf, off, n);
      off += n * 8;
      return a;
    };
    const u32 = (): Uint32Array<ArrayBuffer> => {
      const a = new Uint32Array(buf, off, n);
      off += n * 4;
      return a;
    };
    this.firstTs = own ? f64() : none64;
    this.lastTs = this.ownLast ? f64() : none64;
    this.fwdPayload = own ? f64() : none64;
    this.bwdPayload = own ? f64() : none64;
    // Without partial updates the report time is never read.
    this.reportTs = this.partialUs === Number.POSITIVE_INFINITY ? new Float64Array(1) : f64();
    this.flowId = u32();
    this.lateUs = u32();
    this.fwdPkts = own ? u32() : none32;
    this.bwdPkts = own ? u32() : none32;
    this.columnBytes = width;
    const partial = this.partialUs !== Number.POSITIVE_INFINITY;
    this.f64Columns = [
      ...(own ? [this.firstTs] : []),
      ...(this.ownLast ? [this.lastTs] : []),
      ...(own ? [this.fwdPayload, this.bwdPayload] : []),
      ...(partial ? [this.reportTs] : []),
    ];
    this.u32Columns = [this.flowId, this.lateUs, ...(own ? [this.fwdPkts, this.bwdPkts] : [])];
    this.cic?.ensureCapacity(n);
  }
}

export { protocolName };
