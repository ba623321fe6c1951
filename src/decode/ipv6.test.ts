import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { anomalyCodes as anomalies } from '../../test/helpers/frames.ts';
import { isKnownAnomaly } from '../core/anomalies.ts';
import { LAYER_IPV6, LAYER_UDP } from '../core/layers.ts';
import { MAX_IPV6_EXT, PacketContext } from '../core/packet.ts';
import { Frame } from '../core/source.ts';
import { PcapReader } from '../sources/pcap/pcap-reader.ts';
import { SPACE_IPPROTO } from './decoder.ts';
import { decodeFrame } from './dispatch.ts';
import { buildFields } from './fields.ts';
import { formatIPv4, formatIPv6 } from './format.ts';
import { decodeIPv6 } from './ipv6.ts';

const CORPUS = new URL('../../../shared/corpus/', import.meta.url);
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_IPV6 = 229;

const hexBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

function frameOf(bytes: Uint8Array, linkType = LINKTYPE_ETHERNET, wirelen = bytes.length): Frame {
  const f = new Frame();
  f.buf = bytes;
  f.off = 0;
  f.caplen = bytes.length;
  f.wirelen = wirelen;
  f.linkType = linkType;
  return f;
}

function decodeHex(hex: string, linkType = LINKTYPE_ETHERNET, wirelen = -1): PacketContext {
  const b = hexBytes(hex);
  const p = new PacketContext();
  decodeFrame(p, frameOf(b, linkType, wirelen < 0 ? b.length : wirelen));
  return p;
}

/** Frames of a corpus capture, copied out of the reader's buffer. */
function corpusFrames(name: string): Frame[] {
  const out: Frame[] = [];
  const r = new PcapReader((f) => out.push(frameOf(f.buf.slice(f.off, f.off + f.caplen), f.linkType, f.wirelen)));
  r.push(readFileSync(new URL(name, CORPUS)));
  r.end();
  return out;
}

const src = (p: PacketContext): string => (p.ipVersion === 4 ? formatIPv4(p.src4) : formatIPv6(p.src6));
const dst = (p: PacketContext): string => (p.ipVersion === 4 ? formatIPv4(p.dst4) : formatIPv6(p.dst6));
const exts = (p: PacketContext): number[] => Array.from(p.ipv6ExtHeaders.subarray(0, p.ipv6ExtCount));

// tcpdump__ipv6_bad_version.pcap frame 1:
// IP6 (hlim 255, next-header ICMPv6 (58) payload length: 24) :: > ff02::1:ff76:6c14: ICMP6, neighbor solicitation
const NEIGHBOR_SOLICITATION =
  '3333ff766c14000c29766c1486dd6000000000183aff00000000000000000000000000000000ff020000000000000000' +
  '0001ff766c148700790600000000fe80000000000000020c29fffe766c14';

// tcpdump__ipv6_bad_version.pcap frame 2: EtherType IPv6, version nibble 0 (tcpdump: "IP6 version error: 0 != 6")
const BAD_VERSION =
  '33330000000124843feb3cee86dd0000000000203afffe80000000000000020c29fffe766c14ff020000000000000000' +
  '0000000000018800ab1300000000fe80000000000000020c29fffe766c14020124843feb3cee';

// zeek__trunc_ip6.pcap frame 1: 48 of 74 bytes captured, the header cut inside the destination ("[|ip6]")
const TRUNC_IP6 = 'ffffffffffff00000000000086dd6000000000140040200104f80004000702e081fffe52ffff200104f80004000702e0';

// tcpdump__ipv6_invalid_length.pcap frame 1: whole 53-byte frame, IPv6 header 39 bytes long ("[|ip6]")
const INVALID_LENGTH =
  'c0d68236032bf04da23d5da386dd6009d8d8004011402605bc8030100104000000008cd309ce26003c00e00000190000' + '0000000000';

// tcpdump__ipv6_frag_fuzzed.pcap frame 1 (60 of 262144 bytes captured):
// IP6 (class 0x51, flowlabel 0xb2100, hlim 16, next-header Fragment (44) payload length: 27136)
// 452:22:19:0:41a:e4ff:10ff:484d > 2243:80:1400:100:19:ffff:ffff:fffb:  [|frag6]
const FRAG_FUZZED =
  'c0ceffa0000400002949ff7586dd651b21006a002c100452002200190000041ae4ff10ff484d22430080140001000019' +
  'fffffffffffb0bff00000100';

// tcpdump__ipv6_next_header_fuzzed.pcap frame 1, link type 229 (raw IPv6), 48 of 262144 bytes:
// IP6 (class 0x33, flowlabel 0x03030, hlim 48, next-header Options (0) payload length: 12336) 3030:... HBH [|hbhopt]
const NEXT_HEADER_FUZZED =
  '633030303030003030303030303030303030303030303030303030303030303030303030303030302b00303030303030';

// zeek__ipip_6in4.pcap frame 1: IP 1.2.3.4 > 5.6.7.8: proto IPv6 (41), length 72:
// IP6 (hlim 64, next-header UDP (17) payload length: 12) dead::beef.30000 > cafe::babe.13000: UDP, length 4
const SIX_IN_FOUR =
  '0010db88d2efc8bcc896d2a00800450000480001000040296a79010203040506070860000000000c1140dead00000000' +
  '0000000000000000beefcafe000000000000000000000000babe753032c8000c83d258585858';

// ppp__ipv6_fragments.pcap frame 2: IP6 fe80::21f:f3ff:fecd:f617 > ff02::fb: frag (0x002c5323:120|120)
const LATER_FRAGMENT =
  '3333000000fb001ff3cdf61786dd6000000000802cfffe80000000000000021ff3fffecdf617ff020000000000000000' +
  '0000000000fb11000079002c53236170706c657476c018000c8001255f30303030303030302d303133342d363931362d' +
  '666630342d386335643737646534323733045f7375620d5f686f6d652d73686172696e67c018000c8001055f64616170' +
  'c018000c80010d5f746f7563682d72656d6f7465c018000c8001055f72616f70c018000c8001';

// tcpdump__ipv6_srv6_srh.pcap frame 1: IP6 a:b:c:12::1 > a:b:c:2::f1:0: RT6 (type=4, segleft=1)
// IP6 a:b:c:12::1 > b2::2: ICMP6, echo request
const SRV6 =
  '080027206bcf080027c22da586dd600889ad00902b40000a000b000c00120000000000000001000a000b000c00020000' +
  '000000f100002904040101000000000a000b000c000300000000000000d6000a000b000c00020000000000f100006008' +
  '89ad00403a40000a000b000c0012000000000000000100b200000000000000000000000000028000635e06ee000103c5' +
  '475a000000000a5e000000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031' +
  '323334353637';

// zeek__ipv6_ext_chain_atomic_frag.pcap frame 4:
// IP6 (hlim 64, next-header (60) payload length: 28) 2001:db8:1::2 > 2001:db8:1::1: DSTOPT (padn) 36951 > 80: Flags [S]
const DSTOPTS_TCP =
  'aa0004000a0400101895316a86dd60000000001c3c4020010db800010000000000000000000220010db8000100000000' +
  '000000000001060001040000000090570050e31ebd4e000000005002200003570000';

describe('decodeIPv6 on corpus packets (expected values from tshark 4.0)', () => {
  test('neighbor solicitation: header fields, addresses, next header', () => {
    const p = decodeHex(NEIGHBOR_SOLICITATION);
    assert.ok(p.has(LAYER_IPV6));
    assert.equal(p.ipVersion, 6);
    assert.equal(src(p), '::');
    assert.equal(dst(p), 'ff02::1:ff76:6c14');
    assert.equal(p.ipTtl, 255);
    assert.equal(p.ipv6PayloadLength, 24);
    assert.equal(p.ipTos, 0);
    assert.equal(p.ipv6FlowLabel, 0);
    assert.equal(p.protocol, 58);
    assert.equal(p.ipv6ExtCount, 0);
    assert.equal(p.ipHeaderLength, 40);
    assert.deepEqual(anomalies(p), []);
  });

  test('version nibble 0 under EtherType 0x86dd: ipv6.version_invalid, no IPv6 layer', () => {
    const p = decodeHex(BAD_VERSION);
    assert.deepEqual(anomalies(p), ['ipv6.version_invalid']);
    assert.equal(p.has(LAYER_IPV6), false);
    assert.equal(p.ipVersion, 0);
  });

  test('capture cut inside the fixed header: ipv6.truncated', () => {
    const p = decodeHex(TRUNC_IP6, LINKTYPE_ETHERNET, 74);
    assert.equal(p.truncated, true);
    assert.deepEqual(anomalies(p), ['ipv6.truncated']);
    assert.equal(p.has(LAYER_IPV6), false);
  });

  test('whole frame shorter than the fixed header: ipv6.truncated', () => {
    const p = decodeHex(INVALID_LENGTH);
    assert.equal(p.truncated, false);
    assert.deepEqual(anomalies(p), ['ipv6.truncated']);
    assert.equal(p.has(LAYER_IPV6), false);
  });

  test('fuzzed fragment header cut by the snaplen: addresses kept, two truncations', () => {
    const p = decodeHex(FRAG_FUZZED, LINKTYPE_ETHERNET, 262144);
    assert.ok(p.has(LAYER_IPV6));
    assert.equal(src(p), '452:22:19:0:41a:e4ff:10ff:484d');
    assert.equal(dst(p), '2243:80:1400:100:19:ffff:ffff:fffb');
    assert.equal(p.ipTos, 0x51);
    assert.equal(p.ipv6FlowLabel, 0xb2100);
    assert.equal(p.ipTtl, 16);
    assert.equal(p.ipv6PayloadLength, 27136);
    // Payload length beyond the capture, then the fragment header itself cut short.
    assert.deepEqual(anomalies(p), ['ipv6.truncated', 'ipv6.truncated']);
    assert.equal(p.protocol, 44);
    assert.equal(p.ipv6FragId, -1);
  });

  test('raw IPv6 link type 229, hop-by-hop then a routing header past the capture', () => {
    const p = decodeHex(NEXT_HEADER_FUZZED, LINKTYPE_IPV6, 262144);
    assert.ok(p.has(LAYER_IPV6));
    assert.equal(src(p), '3030:3030:3030:3030:3030:3030:3030:3030');
    assert.equal(p.ipTos, 0x33);
    assert.equal(p.ipv6FlowLabel, 0x03030);
    assert.equal(p.ipTtl, 48);
    assert.deepEqual(exts(p), [0]);
    assert.equal(p.protocol, 43);
    assert.deepEqual(anomalies(p), ['ipv6.truncated', 'ipv6.truncated']);
  });

  test('6in4: inner IPv6 fills the main fields, outer IPv4 the tunnel', () => {
    const p = decodeHex(SIX_IN_FOUR);
    assert.equal(p.ipVersion, 6);
    assert.equal(src(p), 'dead::beef');
    assert.equal(dst(p), 'cafe::babe');
    assert.equal(p.protocol, 17);
    assert.ok(p.has(LAYER_UDP));
    assert.equal(p.srcPort, 30000);
    assert.equal(p.dstPort, 13000);
    assert.equal(p.tunnelDepth, 1);
    assert.equal(p.tunnel.type, '6in4');
    assert.equal(p.tunnel.ipVersion, 4);
    assert.equal(formatIPv4(p.tunnel.src4), '1.2.3.4');
    assert.equal(formatIPv4(p.tunnel.dst4), '5.6.7.8');
    assert.equal(p.tunnel.protocol, 41);
    assert.equal(p.tunnel.id, -1);
    assert.deepEqual(anomalies(p), []);
  });

  test('later fragment: fragment fields, payload after the fragment header, no transport', () => {
    const p = decodeHex(LATER_FRAGMENT);
    assert.equal(dst(p), 'ff02::fb');
    assert.deepEqual(exts(p), [44]);
    assert.equal(p.ipv6FragId, 0x002c5323);
    assert.equal(p.ipFragOffset, 15);
    assert.equal(p.ipFlags & 1, 1);
    assert.equal(p.isLaterFragment, true);
    assert.equal(p.protocol, 17);
    assert.equal(p.has(LAYER_UDP), false);
    assert.equal(p.payloadOff, 14 + 40 + 8);
    assert.equal(p.payloadLen, 120);
    const fields = new Map(buildFields().map((f) => [f.name, f.get(p)]));
    assert.equal(fields.get('ipv6_fragment_offset'), 15);
    assert.equal(fields.get('ipv6_more_fragments'), true);
    assert.deepEqual(anomalies(p), []);
  });

  test('SRv6: routing header then IPv6 in IPv6, tunnel 6in6', () => {
    const p = decodeHex(SRV6);
    assert.equal(src(p), 'a:b:c:12::1');
    assert.equal(dst(p), 'b2::2');
    assert.equal(p.protocol, 58);
    assert.equal(p.ipTtl, 64);
    assert.equal(p.tunnelDepth, 1);
    assert.equal(p.tunnel.type, '6in6');
    assert.equal(formatIPv6(p.tunnel.dst6), 'a:b:c:2::f1:0');
    // The outer header's last next header: IPv6 (41) after the routing header.
    assert.equal(p.tunnel.protocol, 41);
    assert.deepEqual(anomalies(p), []);
  });

  test('destination options then TCP', () => {
    const p = decodeHex(DSTOPTS_TCP);
    assert.deepEqual(exts(p), [60]);
    assert.equal(p.protocol, 6);
    assert.equal(p.ipHeaderLength, 48);
    assert.equal(p.srcPort, 36951);
    assert.equal(p.dstPort, 80);
    assert.equal(src(p), '2001:db8:1::2');
  });

  test('a long extension chain is walked to its end, keeping the first ids', () => {
    const [f] = corpusFrames('libpcap__ipv6_all_ext_headers.pcap');
    const p = new PacketContext();
    decodeFrame(p, f!);
    assert.equal(src(p), '2001:db8::1');
    assert.equal(dst(p), '2001:db8::2');
    assert.equal(p.ipv6PayloadLength, 818);
    assert.equal(p.ipv6ExtCount, MAX_IPV6_EXT);
    // tshark: hop-by-hop, then routing / fragment / destination options repeated.
    assert.deepEqual(exts(p), [0, 43, 44, 60, 43, 44, 60, 43]);
    // tshark walks all 100 headers: fragment ids run 0x1, 0x4, ... 0x61, then UDP.
    assert.equal(p.ipv6FragId, 0x61);
    assert.equal(p.protocol, 17);
    assert.equal(p.srcPort, 12345);
    assert.equal(p.dstPort, 54321);
    assert.deepEqual(anomalies(p), []);
  });

  test('jumbogram: payload length 0 with a hop-by-hop jumbo option uses the captured bytes', () => {
    const [f] = corpusFrames('tcpdump__ipv6_jumbogram.pcap');
    const p = new PacketContext();
    decodeFrame(p, f!);
    assert.equal(f!.caplen, 65590);
    assert.equal(p.ipv6PayloadLength, 0);
    assert.equal(src(p), '2200::244:212:3fff:feae:22f7');
    assert.equal(p.ipTtl, 227);
    assert.deepEqual(exts(p), [0]);
    assert.equal(p.protocol, 58);
    assert.deepEqual(anomalies(p), []);
  });
});

/** The real neighbor solicitation's 40-byte header with another next header and payload length. */
function header(nextHeader: number, payloadLength: number, rest: number[] = []): Uint8Array {
  const b = new Uint8Array(40 + rest.length);
  b.set(hexBytes(NEIGHBOR_SOLICITATION).subarray(14, 54));
  b[4] = payloadLength >> 8;
  b[5] = payloadLength & 0xff;
  b[6] = nextHeader;
  b.set(rest, 40);
  return b;
}

const pad = (n: number): number[] => new Array<number>(n).fill(0);

interface Case {
  name: string;
  bytes: Uint8Array;
  truncated?: boolean;
  anomalies: string[];
  next: number;
  protocol?: number;
  extCount?: number;
}

const DST8 = (next: number): number[] => [next, 0, 1, 4, 0, 0, 0, 0];

const CASES: Case[] = [
  { name: 'empty', bytes: new Uint8Array(0), anomalies: ['ipv6.truncated'], next: -1 },
  { name: 'one byte', bytes: Uint8Array.of(0x60), anomalies: ['ipv6.truncated'], next: -1 },
  { name: '39 bytes', bytes: header(58, 0).subarray(0, 39), anomalies: ['ipv6.truncated'], next: -1 },
  { name: 'version 4', bytes: Uint8Array.of(0x45, ...pad(39)), anomalies: ['ipv6.version_invalid'], next: -1 },
  {
    name: 'payload length past a cut capture',
    bytes: header(58, 24, pad(10)),
    truncated: true,
    anomalies: ['ipv6.truncated'],
    next: 40,
    protocol: 58,
  },
  {
    name: 'payload length past a whole frame',
    bytes: header(58, 24, pad(10)),
    anomalies: ['ipv6.len_invalid'],
    next: 40,
    protocol: 58,
  },
  {
    name: 'hop-by-hop with one byte captured',
    bytes: header(0, 8, [17]),
    truncated: true,
    anomalies: ['ipv6.truncated', 'ipv6.truncated'],
    next: -1,
    protocol: 0,
  },
  {
    name: 'hop-by-hop longer than the payload length',
    bytes: header(0, 8, [17, 1, ...pad(14)]),
    anomalies: ['ipv6.len_invalid'],
    next: -1,
    protocol: 0,
    extCount: 0,
  },
  {
    name: 'fragment header cut short',
    bytes: header(44, 0, [17, 0, 0, 0]),
    truncated: true,
    anomalies: ['ipv6.truncated'],
    next: -1,
    protocol: 44,
  },
  {
    name: 'authentication header length past the end',
    bytes: header(51, 12, [6, 4, ...pad(10)]),
    anomalies: ['ipv6.len_invalid'],
    next: -1,
    protocol: 51,
  },
  {
    name: 'authentication header then TCP',
    bytes: header(51, 12, [6, 1, ...pad(10)]),
    anomalies: [],
    next: 52,
    protocol: 6,
    extCount: 1,
  },
  {
    name: 'mobility header then no next header',
    bytes: header(135, 8, [59, 0, ...pad(6)]),
    anomalies: [],
    next: -1,
    protocol: 59,
    extCount: 1,
  },
  {
    name: 'nine destination options headers: all walked, eight kept',
    bytes: header(60, 72, [...Array.from({ length: 8 }, () => DST8(60)).flat(), ...DST8(17)]),
    anomalies: [],
    next: 112,
    protocol: 17,
    extCount: MAX_IPV6_EXT,
  },
  {
    name: 'a chain longer than the walk cap',
    bytes: header(60, 8 * 257, Array.from({ length: 257 }, () => DST8(60)).flat()),
    anomalies: ['ipv6.ext_too_many'],
    next: -1,
    protocol: 60,
    extCount: MAX_IPV6_EXT,
  },
  { name: 'no next header', bytes: header(59, 0), anomalies: [], next: -1, protocol: 59 },
  {
    name: 'a jumbo option with a jumbo length of 16 (RFC 2675: above 65,535)',
    bytes: header(0, 0, [17, 0, 0xc2, 4, 0, 0, 0, 16, ...pad(8)]),
    anomalies: ['ipv6.jumbo_invalid'],
    next: 48,
    protocol: 17,
    extCount: 1,
  },
  {
    name: 'a jumbo option between Pad1 and PadN with a non-zero payload length',
    bytes: header(0, 24, [17, 1, 0, 0xc2, 4, 0, 1, 0, 0, 1, 5, ...pad(5), ...pad(8)]),
    anomalies: ['ipv6.jumbo_invalid'],
    next: 56,
    protocol: 17,
    extCount: 1,
  },
  {
    name: 'payload length 0 with hop-by-hop jumbo option',
    bytes: header(0, 0, [17, 0, 0xc2, 4, 0, 1, 0, 0, ...pad(8)]),
    anomalies: [],
    next: 48,
    protocol: 17,
    extCount: 1,
  },
];

describe('decodeIPv6 on crafted short and inconsistent headers', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const p = new PacketContext();
      p.reset(c.bytes);
      p.truncated = c.truncated ?? false;
      let next = 0;
      assert.doesNotThrow(() => {
        next = decodeIPv6(p, c.bytes, 0, c.bytes.length);
      });
      assert.equal(next, c.next);
      assert.deepEqual(anomalies(p), c.anomalies);
      for (const a of anomalies(p)) assert.ok(isKnownAnomaly(a), a);
      if (c.protocol !== undefined) assert.equal(p.protocol, c.protocol);
      if (c.extCount !== undefined) assert.equal(p.ipv6ExtCount, c.extCount);
      if (next >= 0) {
        assert.equal(p.nextSpace, SPACE_IPPROTO);
        assert.equal(p.nextKey, c.protocol);
      }
    });
  }
});
