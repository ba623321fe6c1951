/**
 * Whole-capture summary behind `pcapstream stats`: packet and byte totals, time span and rates,
 * packets per link type, a protocol hierarchy, anomalies by code and the number of distinct
 * bidirectional 5-tuples.
 *
 * Per packet this costs a few counter updates, one small-integer Map lookup (the layer set) and
 * one flow-table probe; the hierarchy is rebuilt from the layer sets only at the end.
 */
import { AnomalyCounters } from '../core/anomalies.ts';
import * as L from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { FlowKeyBuilder } from './flow-key.ts';
import { FlowTable } from './flow-table.ts';

/** Order of layers in a hierarchy path: outer encapsulations first, applications last. */
const PATH_ORDER: readonly number[] = [
  L.LAYER_WLAN,
  L.LAYER_NFLOG,
  L.LAYER_NULL,
  L.LAYER_SLL,
  L.LAYER_SLL2,
  L.LAYER_HDLC,
  L.LAYER_ETHERNET,
  L.LAYER_VLAN,
  L.LAYER_MPLS,
  L.LAYER_PPPOE,
  L.LAYER_PPP,
  L.LAYER_ARP,
  L.LAYER_GRE,
  L.LAYER_ERSPAN,
  L.LAYER_VXLAN,
  L.LAYER_GENEVE,
  L.LAYER_GTP,
  L.LAYER_TEREDO,
  L.LAYER_L2TP,
  L.LAYER_IPV4,
  L.LAYER_IPV6,
  L.LAYER_ICMP,
  L.LAYER_ICMPV6,
  L.LAYER_TCP,
  L.LAYER_UDP,
  L.LAYER_DNS,
  L.LAYER_TLS,
  L.LAYER_HTTP,
  L.LAYER_PAYLOAD,
  L.LAYER_UNKNOWN,
];

/** Entries of the layer-set cache (a power of two). */
const SET_CACHE = 256;

export interface HierarchyNode {
  name: string;
  packets: number;
  bytes: number;
  children: HierarchyNode[];
}

export interface StatsReport {
  packets: number;
  bytes: number;
  captured_bytes: number;
  first_timestamp: number | null;
  last_timestamp: number | null;
  duration_s: number;
  packets_per_s: number;
  bits_per_s: number;
  link_types: Record<string, number>;
  hierarchy: HierarchyNode[];
  anomalies: Record<string, number>;
  packets_with_anomalies: number;
  truncated_packets: number;
  flows_5tuple: number;
  flows_refused: number;
  container: unknown;
}

export class CaptureStats {
  packets = 0;
  bytes = 0;
  capturedBytes = 0;
  truncatedPackets = 0;
  // No packet yet: first above any time, last below any (times may be negative: if_tsoffset).
  private firstSec = Number.POSITIVE_INFINITY;
  private firstNanos = 0;
  private lastSec = Number.NEGATIVE_INFINITY;
  private lastNanos = 0;
  private readonly linkTypes = new Map<number, { packets: number }>();
  private readonly layerSets = new Map<number, { packets: number; bytes: number }>();
  private lastLinkType = -1;
  private lastLink = { packets: 0 };
  private readonly cacheMask = new Int32Array(SET_CACHE).fill(-1);
  private readonly cacheSet: { packets: number; bytes: number }[] = Array.from({ length: SET_CACHE }, () => ({
    packets: 0,
    bytes: 0,
  }));
  readonly anomalies = new AnomalyCounters();
  private readonly keys = new FlowKeyBuilder();
  readonly flows = new FlowTable(1 << 14);

  /**
   * @example
   * decodeFrame(ctx, frame); stats.add(ctx);
   */
  add(p: PacketContext): void {
    this.packets++;
    this.bytes += p.frameLength;
    this.capturedBytes += p.capturedLength;
    if (p.truncated) this.truncatedPackets++;
    if (p.tsSec < this.firstSec || (p.tsSec === this.firstSec && p.tsNanos < this.firstNanos)) {
      this.firstSec = p.tsSec;
      this.firstNanos = p.tsNanos;
    }
    if (p.tsSec > this.lastSec || (p.tsSec === this.lastSec && p.tsNanos > this.lastNanos)) {
      this.lastSec = p.tsSec;
      this.lastNanos = p.tsNanos;
    }
    // Consecutive packets mostly share link type and layer set: remember the last entries
    // instead of probing the maps every time.
    if (p.linkType !== this.lastLinkType) {
      this.lastLinkType = p.linkType;
      this.lastLink = this.linkTypes.get(p.linkType) ?? { packets: 0 };
      this.linkTypes.set(p.linkType, this.lastLink);
    }
    this.lastLink.packets++;
    // Layer sets alternate from packet to packet (ACK, data, TLS, DNS...): a small
    // direct-mapped cache in front of the map keeps the common ones one array load away.
    const mask = p.layers;
    const h = (Math.imul(mask, 0x9e3779b1) >>> 24) & (SET_CACHE - 1);
    let set = this.cacheSet[h]!;
    if (this.cacheMask[h] !== mask) {
      const known = this.layerSets.get(mask);
      set = known ?? { packets: 0, bytes: 0 };
      if (known === undefined) this.layerSets.set(mask, set);
      this.cacheMask[h] = mask;
      this.cacheSet[h] = set;
    }
    set.packets++;
    set.bytes += p.frameLength;
    if (p.anomalyCount > 0) this.anomalies.addPacket(p);
    if (this.keys.build(p)) this.flows.findOrInsert(this.keys.key, this.keys.hash);
  }

  private hierarchy(): HierarchyNode[] {
    const root: HierarchyNode = { name: '', packets: 0, bytes: 0, children: [] };
    for (const [mask, c] of this.layerSets) {
      let node = root;
      for (const id of PATH_ORDER) {
        if (id >= L.LAYER_COUNT || (mask & (1 << id)) === 0) continue;
        const name = L.LAYER_NAMES[id]!;
        let child = node.children.find((n) => n.name === name);
        if (child === undefined) {
          child = { name, packets: 0, bytes: 0, children: [] };
          node.children.push(child);
        }
        child.packets += c.packets;
        child.bytes += c.bytes;
        node = child;
      }
    }
    const sort = (n: HierarchyNode): void => {
      n.children.sort((a, b) => b.packets - a.packets);
      n.children.forEach(sort);
    };
    sort(root);
    return root.children;
  }

  report(container: unknown = null): StatsReport {
    const none = this.packets === 0;
    const first = none ? null : this.firstSec + this.firstNanos / 1e9;
    const last = none ? null : this.lastSec + this.lastNanos / 1e9;
    const duration = none ? 0 : this.lastSec - this.firstSec + (this.lastNanos - this.firstNanos) / 1e9;
    return {
      packets: this.packets,
      bytes: this.bytes,
      captured_bytes: this.capturedBytes,
      first_timestamp: first,
      last_timestamp: last,
      duration_s: duration,
      packets_per_s: duration > 0 ? this.packets / duration : 0,
      bits_per_s: duration > 0 ? (this.bytes * 8) / duration : 0,
      link_types: Object.fromEntries(
        [...this.linkTypes].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v.packets]),
      ),
      hierarchy: this.hierarchy(),
      anomalies: this.anomalies.toObject(),
      packets_with_anomalies: this.anomalies.packets,
      truncated_packets: this.truncatedPackets,
      flows_5tuple: this.flows.size,
      flows_refused: this.flows.refused,
      container,
    };
  }
}
