/**
 * Every frame of the IPv6 and tunnel captures, read with the pcap reader and decoded through the
 * dispatcher, compared with tshark on the same file: the record's addresses must be tshark's
 * innermost ones, and the tunnel's its outermost ones.
 *
 * tshark lists every occurrence of a field, outermost first; `frame.protocols` says which header
 * each belongs to. Two cases need care:
 * - ICMP errors quote the offending packet's headers, which tshark lists after the ICMP header's
 *   own; the ICMP packet is the record, so the walk stops at `icmp` / `icmpv6`.
 * - A tunnel whose inner Ethernet frame is not IP (ARP inside VXLAN) leaves no IP layer in the
 *   record: the outer addresses are in the tunnel fields, while tshark's last IP is the outer one.
 *   Tunnel payloads that are not a frame or packet (GRE keepalives, PPTP control frames) enter no
 *   tunnel, so their record keeps the outer addresses, as tshark's last IP does.
 * A header cut inside its addresses is shown in part by tshark (a source, no destination); the
 * decoder keeps no such layer and records `ipv4.truncated` / `ipv6.truncated` instead.
 *
 * A second suite cuts the first frames of each capture at every length inside a buffer whose tail
 * is first 0x00 then 0xff: a decoder that reads past the end it was given, or throws, shows up.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isKnownAnomaly } from '../src/core/anomalies.ts';
import { LAYER_IPV4, LAYER_IPV6 } from '../src/core/layers.ts';
import { PacketContext } from '../src/core/packet.ts';
import { Frame } from '../src/core/source.ts';
import { decodeFrame } from '../src/decode/dispatch.ts';
import { buildFields } from '../src/decode/fields.ts';
import { formatIPv4, formatIPv6 } from '../src/decode/format.ts';
import { PcapReader } from '../src/sources/pcap/pcap-reader.ts';

const CORPUS = new URL('../../shared/corpus/', import.meta.url);

const FILES = [
  'libpcap__ipv6_all_ext_headers.pcap',
  'zeek__trunc_ip6.pcap',
  'tcpdump__ipv6_invalid_length.pcap',
  'tcpdump__ipv6_bad_version.pcap',
  'tcpdump__ipv6_frag_fuzzed.pcap',
  'tcpdump__ipv6_next_header_fuzzed.pcap',
  'tcpdump__ipv6_jumbogram.pcap',
  'tcpdump__ipv6_srv6_srh.pcap',
  'ppp__ipv6_fragments.pcap',
  'zeek__ipv6_ext_chain_atomic_frag.pcap',
  'zeek__ipv6_fragmented_dns.pcap',
  'zeek__icmpv6_packet_too_big.pcap',
  'ppp__gre.cap',
  'tcpdump__pptp_big_endian.pcap',
  'zeek__gre_sample.pcap',
  'tcpdump__gre_various.pcap',
  'zeek__gre_within_gre.pcap',
  'tcpdump__gre_fuzzed.pcap',
  'zeek__erspan_ii.pcap',
  'zeek__vxlan.pcap',
  'ppp__vxlan_single.pcap',
  'zeek__geneve.pcap',
  'zeek__ipip_4in4.pcap',
  'zeek__ipip_6in4.pcap',
];

/** Protocol names tshark gives the headers of the tunnels decoded here. */
const TUNNEL_PROTOCOLS = new Set(['gre', 'erspan', 'vxlan', 'geneve']);

interface Ours {
  src?: string;
  dst?: string;
  tunnelDepth: number;
  tunnelSrc?: string;
  tunnelDst?: string;
  anomalies: string[];
}

interface Theirs {
  protocols: string[];
  ip4src: string[];
  ip4dst: string[];
  ip6src: string[];
  ip6dst: string[];
}

const list = (s: string | undefined): string[] => (s ? s.split(',') : []);

function tshark(path: string): Theirs[] {
  const out = execFileSync(
    'tshark',
    [
      '-n',
      '-o',
      'ip.defragment:FALSE',
      '-o',
      'ipv6.defragment:FALSE',
      '-r',
      path,
      '-T',
      'fields',
      '-E',
      'separator=/t',
      '-E',
      'occurrence=a',
      '-E',
      'aggregator=,',
      '-e',
      'frame.number',
      '-e',
      'frame.protocols',
      '-e',
      'ip.src',
      '-e',
      'ip.dst',
      '-e',
      'ipv6.src',
      '-e',
      'ipv6.dst',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const rows: Theirs[] = [];
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [num, protocols, ip4src, ip4dst, ip6src, ip6dst] = line.split('\t');
    assert.equal(Number(num), rows.length + 1);
    rows.push({
      protocols: (protocols ?? '').split(':'),
      ip4src: list(ip4src),
      ip4dst: list(ip4dst),
      ip6src: list(ip6src),
      ip6dst: list(ip6dst),
    });
  }
  return rows;
}

function decodeFile(path: string): Ours[] {
  const p = new PacketContext();
  const out: Ours[] = [];
  const r = new PcapReader((f) => {
    decodeFrame(p, f);
    const t = p.tunnel;
    const tunnelAddr = (src: boolean): string | undefined => {
      if (t.ipVersion === 4) return formatIPv4(src ? t.src4 : t.dst4);
      if (t.ipVersion === 6) return formatIPv6(src ? t.src6 : t.dst6);
      return undefined;
    };
    const hasIP = p.has(LAYER_IPV4) || p.has(LAYER_IPV6);
    out.push({
      src: !hasIP ? undefined : p.ipVersion === 4 ? formatIPv4(p.src4) : formatIPv6(p.src6),
      dst: !hasIP ? undefined : p.ipVersion === 4 ? formatIPv4(p.dst4) : formatIPv6(p.dst6),
      tunnelDepth: p.tunnelDepth,
      tunnelSrc: p.tunnelDepth > 0 ? tunnelAddr(true) : undefined,
      tunnelDst: p.tunnelDepth > 0 ? tunnelAddr(false) : undefined,
      anomalies: p.anomalies.slice(0, Math.min(p.anomalyCount, p.anomalies.length)),
    });
  });
  r.push(readFileSync(path));
  r.end();
  return out;
}

interface IPLayer {
  family: 4 | 6;
  /** Position in `frame.protocols`. */
  at: number;
  src?: string;
  dst?: string;
}

/** tshark's IP headers in order, up to the first ICMP header (whose quoted headers are not ours). */
function ipLayers(row: Theirs): IPLayer[] {
  const layers: IPLayer[] = [];
  let v4 = 0;
  let v6 = 0;
  for (let i = 0; i < row.protocols.length; i++) {
    const name = row.protocols[i];
    if (name === 'icmp' || name === 'icmpv6') break;
    if (name === 'ip') {
      layers.push({ family: 4, at: i, src: row.ip4src[v4], dst: row.ip4dst[v4] });
      v4++;
    } else if (name === 'ipv6') {
      layers.push({ family: 6, at: i, src: row.ip6src[v6], dst: row.ip6dst[v6] });
      v6++;
    }
  }
  return layers;
}

describe('innermost and tunnel addresses match tshark on every frame', () => {
  for (const name of FILES) {
    test(name, (t) => {
      const path = fileURLToPath(new URL(name, CORPUS));
      const theirs = tshark(path);
      const ours = decodeFile(path);
      assert.equal(ours.length, theirs.length, 'frame count');
      let inner = 0;
      let nonIPInner = 0;
      let cutHeader = 0;
      for (let i = 0; i < ours.length; i++) {
        const o = ours[i]!;
        const row = theirs[i]!;
        const at = `frame ${i + 1} (${row.protocols.join(':')})`;
        for (const a of o.anomalies) {
          assert.notEqual(a, 'decode.internal_error', `${at}: decoder threw`);
          assert.ok(isKnownAnomaly(a), `${at}: unregistered anomaly ${a}`);
        }
        const layers = ipLayers(row);
        const last = layers[layers.length - 1];
        if (o.tunnelDepth > 0) {
          assert.ok(layers.length > 0, `${at}: tunnel without an outer IP header in tshark`);
          assert.equal(o.tunnelSrc, layers[0]!.src, `${at}: tunnel source`);
          assert.equal(o.tunnelDst, layers[0]!.dst, `${at}: tunnel destination`);
        }
        if (o.src !== undefined) {
          assert.equal(o.src, last?.src, `${at}: source`);
          assert.equal(o.dst, last?.dst, `${at}: destination`);
          inner++;
        } else if (o.tunnelDepth > 0) {
          // A bridged Ethernet frame that carries no IP (ARP in VXLAN): tshark's last IP header
          // lies before the tunnel header and an inner Ethernet header follows it.
          const after = row.protocols.slice(last!.at + 1);
          const tunnelAt = after.findIndex((p) => TUNNEL_PROTOCOLS.has(p));
          assert.ok(
            tunnelAt >= 0 && after.indexOf('eth', tunnelAt) > tunnelAt,
            `${at}: tunnel entered but no inner packet decoded`,
          );
          nonIPInner++;
        } else if (last?.src !== undefined) {
          // tshark shows part of a header cut inside its addresses; the decoder keeps none of it.
          assert.equal(last.dst, undefined, `${at}: IP header tshark decoded in full is missing`);
          assert.ok(o.anomalies.includes(`ipv${last.family}.truncated`), `${at}: ${o.anomalies.join(',')}`);
          cutHeader++;
        }
      }
      t.diagnostic(
        `${ours.length} frames: ${inner} with an IP layer, ${nonIPInner} non-IP tunnelled, ${cutHeader} cut`,
      );
    });
  }
});

const FIELDS = buildFields();

/** Every field the record would hold (its layers present) as one comparable string. */
function snapshot(p: PacketContext): string {
  return JSON.stringify(FIELDS.map((f) => (f.layers === 0 || (p.layers & f.layers) !== 0 ? f.get(p) : null)));
}

/** How many frames of each capture are cut, and up to which length (whole frame beyond it). */
const CUT_FRAMES = 12;
const CUT_BYTES = 256;

describe('frames cut at every length decode without throwing or reading past the end', () => {
  for (const name of FILES) {
    test(name, () => {
      const frames: { bytes: Uint8Array; linkType: number }[] = [];
      const r = new PcapReader((f) => {
        if (frames.length < CUT_FRAMES)
          frames.push({ bytes: f.buf.slice(f.off, f.off + f.caplen), linkType: f.linkType });
      });
      r.push(readFileSync(new URL(name, CORPUS)));
      r.end();
      const p = new PacketContext();
      const f = new Frame();
      for (const [n, { bytes, linkType }] of frames.entries()) {
        const cuts = Array.from({ length: Math.min(bytes.length, CUT_BYTES) + 1 }, (_, i) => i);
        if (bytes.length > CUT_BYTES) cuts.push(bytes.length);
        for (const cut of cuts) {
          const seen: string[] = [];
          for (const fill of [0x00, 0xff]) {
            const buf = new Uint8Array(cut + 64).fill(fill);
            buf.set(bytes.subarray(0, cut));
            f.buf = buf;
            f.off = 0;
            f.caplen = cut;
            f.wirelen = bytes.length;
            f.linkType = linkType;
            decodeFrame(p, f);
            const anomalies = p.anomalies.slice(0, Math.min(p.anomalyCount, p.anomalies.length));
            assert.ok(!anomalies.includes('decode.internal_error'), `frame ${n + 1} cut at ${cut}: decoder threw`);
            seen.push(snapshot(p));
          }
          assert.equal(seen[0], seen[1], `frame ${n + 1} cut at ${cut}: result depends on bytes past the end`);
        }
      }
    });
  }
});
