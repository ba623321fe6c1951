/**
 * Community ID against an independent implementation: tshark's `communityid` post-dissector
 * (off by default, enabled per run with `--enable-protocol communityid`). For every frame of a
 * few corpus captures, the ID computed from our decoded fields must equal tshark's, and frames
 * tshark gives no ID (ARP, non-IP) must get none from us either.
 *
 * tshark hashes the innermost IP addresses it dissected with the transport layer's ports, or
 * with the ICMP type and code. The captures are chosen so that our decoder and tshark agree on
 * which layers a frame has (no non-first fragments, no truncated transport headers, no
 * source-route options: there the decoders differ, as test/conformance/tshark-allowlist.json
 * records, and the hash inputs with them). tshark 4.0 computes no ID for IPv6 packets without
 * ports, so those are covered by the spec's vectors in src/flow/community-id.test.ts only.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { LAYER_ICMP, LAYER_ICMPV6, LAYER_TCP, LAYER_UDP, layerBit } from '../../src/core/layers.ts';
import type { PacketContext } from '../../src/core/packet.ts';
import { communityId } from '../../src/flow/community-id.ts';
import { corpusPath, mapFrames } from '../helpers/corpus.ts';

const FILES = [
  // ICMP: echo, router, timestamp, mask pairs and one-way unreachable, quench, redirect, time exceeded.
  'ppp__icmp_types.pcap',
  'zeek__ipv4_bogus_header_len.pcap',
  // ICMPv6: neighbour and router discovery, MLD report (paired), MLDv2 report and packet too big (one-way).
  'zeek__icmpv6_nd_options.pcap',
  'zeek__icmpv6_packet_too_big.pcap',
  // ARP beside ICMP and ICMPv6 echo.
  'zeek__sll2_arp_icmp_icmpv6.pcap',
  // TCP over IPv4 and IPv6, UDP over IPv4.
  'ppp__raw_ip_v4_v6.pcap',
  // UDP over IPv4 and IPv6.
  'ppp__dns_many.pcap',
  // GRE itself (a protocol without ports), TCP, and ICMP inside GRE.
  'ppp__gre.cap',
  // IP protocol 253 (experimental): no ports.
  'zeek__vntag_nsec.pcap',
];

const TRANSPORT = layerBit(LAYER_TCP) | layerBit(LAYER_UDP);
const ICMPS = layerBit(LAYER_ICMP) | layerBit(LAYER_ICMPV6);

interface Ours {
  id: string;
  /** What the frame exercises, for the coverage check. */
  kind: string;
}

/** The frame's Community ID from its decoded fields, as the flow engine would compute it. */
function ours(p: PacketContext): Ours {
  if (p.ipVersion !== 4 && p.ipVersion !== 6) return { id: '', kind: 'not-ip' };
  const v = p.ipVersion;
  const src = v === 4 ? p.src4 : p.src6;
  const dst = v === 4 ? p.dst4 : p.dst6;
  if (p.layers & ICMPS) {
    const kind = `icmp-v${v}-${p.icmpType}`;
    return { id: communityId(v, src, dst, p.protocol, p.icmpType, p.icmpCode), kind };
  }
  if (p.layers & TRANSPORT) {
    return { id: communityId(v, src, dst, p.protocol, p.srcPort, p.dstPort), kind: `proto-${p.protocol}-v${v}` };
  }
  return { id: communityId(v, src, dst, p.protocol, 0, 0), kind: `portless-v${v}` };
}

/** tshark's Community ID per frame ('' where it computes none). */
function theirs(name: string): string[] {
  const args = ['-r', corpusPath(name), '-n', '--enable-protocol', 'communityid', '-T', 'fields', '-e', 'communityid'];
  // As captured: reassembly would give fragments and segments the whole datagram's ports.
  args.push('-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-o', 'tcp.desegment_tcp_streams:FALSE');
  const text = execFileSync('tshark', args, {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const rows = text.split('\n');
  rows.pop();
  return rows;
}

describe('Community ID agrees with tshark', () => {
  const kinds = new Map<string, number>();

  for (const name of FILES) {
    it(name, () => {
      const expected = theirs(name);
      const got = mapFrames(name, ours);
      assert.equal(got.length, expected.length, 'frame count');
      assert.ok(
        expected.some((id) => id !== ''),
        'tshark computed IDs (is the communityid dissector available?)',
      );
      const diffs: string[] = [];
      got.forEach((o, i) => {
        if (o.id !== expected[i]) diffs.push(`frame ${i + 1} (${o.kind}): ours '${o.id}', tshark '${expected[i]}'`);
        kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
      });
      assert.deepEqual(diffs, []);
    });
  }

  it('covered every kind of tuple tshark computes', () => {
    const need = [
      'proto-6-v4',
      'proto-6-v6',
      'proto-17-v4',
      'proto-17-v6',
      'portless-v4',
      'not-ip',
      // ICMP request/reply pairs and one-way messages.
      'icmp-v4-8',
      'icmp-v4-0',
      'icmp-v4-13',
      'icmp-v4-14',
      'icmp-v4-3',
      'icmp-v4-11',
      'icmp-v6-128',
      'icmp-v6-129',
      'icmp-v6-135',
      'icmp-v6-136',
      'icmp-v6-2',
      'icmp-v6-143',
    ];
    assert.deepEqual(
      need.filter((k) => !kinds.has(k)),
      [],
    );
  });
});
