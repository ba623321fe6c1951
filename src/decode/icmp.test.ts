import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anomalyCodes as anomalies, decodeHex, GUARD, runDecoder } from '../../test/helpers/frames.ts';
import { isKnownAnomaly } from '../core/anomalies.ts';
import {
  LAYER_ICMP,
  LAYER_ICMPV6,
  LAYER_IPV4,
  LAYER_IPV6,
  LAYER_PAYLOAD,
  LAYER_PPPOE,
  LAYER_SLL2,
  LAYER_TCP,
  LAYER_UDP,
} from '../core/layers.ts';
import { PacketContext } from '../core/packet.ts';
import type { Decoder } from './decoder.ts';
import { formatIPv4, formatIPv6 } from './format.ts';
import { decodeICMP, decodeICMPv6 } from './icmp.ts';

// ---- helpers ----

/** Type, code, checksum, identifier, sequence: the fields compared with tshark. */
const head = (p: PacketContext): number[] => [p.icmpType, p.icmpCode, p.icmpChecksum, p.icmpEchoId, p.icmpEchoSeq];

// ---- fixtures (hex from the corpus captures named; summaries are tcpdump -nn -e) ----

// zeek__icmp_5_pings.pcap frame 1:
// 00:0c:29:cf:30:15 > a6:83:e7:0c:90:64, ethertype IPv4 (0x0800), length 98: 172.16.133.2 > 172.217.11.78:
// ICMP echo request, id 1226, seq 1, length 64
const ECHO_REQUEST =
  'a683e70c9064000c29cf3015080045000054946a40004001bd04ac108502acd90b4e0800ef2404ca00018bcfcf5f00000000db0d' +
  '0f0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637';

// zeek__icmp_5_pings.pcap frame 2:
// a6:83:e7:0c:90:64 > 00:0c:29:cf:30:15, ethertype IPv4 (0x0800), length 98: 172.217.11.78 > 172.16.133.2:
// ICMP echo reply, id 1226, seq 1, length 64
const ECHO_REPLY =
  '000c29cf3015a683e70c9064080045200054000000007101604facd90b4eac1085020000f72404ca00018bcfcf5f00000000db0d' +
  '0f0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637';

// ppp__icmp_types.pcap (a pcapng file) frame 2, redirect quoting an echo request:
// 00:10:7b:81:43:e3 > 00:20:78:e1:5a:80, ethertype IPv4 (0x0800), length 70: 10.2.99.99 > 10.2.10.2:
// ICMP redirect 10.3.71.7 to host 10.2.99.98, length 36
const REDIRECT =
  '002078e15a8000107b8143e3080045000038623d0000ff01d81e0a0263630a020a020501383e0a0263624500003c3a0000001f01' +
  'fcb30a020a020a03470708001a5c02003100';

// ppp__icmp_types.pcap frame 6, port unreachable quoting a UDP header:
// c2:0d:66:d7:00:00 > c2:09:66:b0:00:00, ethertype IPv4 (0x0800), length 70: 10.0.2.2 > 10.0.1.2:
// ICMP 172.16.0.2 udp port 33446 unreachable, length 36
const PORT_UNREACH =
  'c20966b00000c20d66d70000080045c0003800cc0000fb01a7350a0002020a0001020303b42a000000004500001c00e600000111' +
  '01d80a000102ac100002c01e82a600080605';

// ppp__icmp_types.pcap frame 7:
// 00:11:2f:36:8c:da > 00:a0:d1:be:97:dd, ethertype IPv4 (0x0800), length 54: 192.168.0.102 > 192.168.0.103:
// ICMP time stamp query id 14640 seq 0, length 20
const TIMESTAMP_REQUEST =
  '00a0d1be97dd00112f368cda0800450000288e00000080012ab7c0a80066c0a800670d0094763930000000f62463000000000000' + '0000';

// ppp__icmp_types.pcap frame 12, host unreachable quoting an echo request:
// 00:00:00:00:00:00 > 00:00:00:00:00:00, ethertype IPv4 (0x0800), length 126: 10.0.0.7 > 10.0.0.7:
// ICMP host 10.0.0.111 unreachable, length 92
const HOST_UNREACH =
  '000000000000000000000000080045c00070ce3000004001978f0a0000070a0000070301fcfe000000004500005427db40004001' +
  'fe580a0000070a00006f080025e50c750004413e9f56f209080008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021' +
  '22232425262728292a2b2c2d2e2f3031323334353637';

// ppp__icmp_types.pcap frame 14 (Ethernet padding after the 32-byte datagram):
// 08:00:27:cb:a9:f2 > 30:46:9a:23:fb:fa, ethertype IPv4 (0x0800), length 60: 10.0.0.6 > 173.194.113.82:
// ICMP address mask request, length 12
const MASK_REQUEST =
  '30469a23fbfa080027cba9f2080045000020741e00004001dda40a000006adc27152110038f3b00c060000000000000000000000' +
  '0000000000000000';

// ppp__icmp_types.pcap frame 15:
// 08:00:27:d7:5b:e0 > 6c:f0:49:b2:de:6e, ethertype IPv4 (0x0800), length 46: 10.0.0.7 > 10.0.0.4:
// ICMP address mask is 0x00000000, length 12
const MASK_REPLY = '6cf049b2de6e080027d75be00800450000207ac500004001ec0d0a0000070a00000412003bf3b20c000000000000';

// dpkt__pppoe_ipv6_http_dns.pcap frame 34, inside a PPPoE session:
// e0:a1:d7:18:c2:73 > 00:17:33:61:00:00, ethertype PPPoE S (0x8864), length 146: PPPoE [ses 0x3b1a] IP (0x0021),
// length 126: 95.136.242.99 > 109.0.66.10: ICMP 95.136.242.99 udp port 32623 unreachable, length 104
const PPPOE_PORT_UNREACH =
  '001733610000e0a1d718c273886411003b1a007e002145c0007c06b70000400172145f88f2636d00420a0303fe3c000000004500' +
  '006000004000391140a16d00420a5f88f26300357f6f004ce3b756bb818000010002000000000469707634096963616e68617a69' +
  '7003636f6d0000010001c00c000100010000012c0004d845fc65c00c000100010000012c0004d845fc64';

// zeek__sll2_arp_icmp_icmpv6.pcap frame 1 (LINKTYPE_LINUX_SLL2):
// lo In ifindex 1 00:00:00:00:00:00 ethertype IPv4 (0x0800), length 104: 192.0.2.1 > 192.0.2.1:
// ICMP echo request, id 8, seq 1, length 64
const SLL2_ECHO =
  '080000000000000103040006000000000000000045000054af8c40004001071ac0000201c0000201080066b400080001e9bdf962' +
  '00000000e24e0d0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637';

// zeek__sll2_arp_icmp_icmpv6.pcap frame 3 (LINKTYPE_LINUX_SLL2):
// lo In ifindex 1 00:00:00:00:00:00 ethertype IPv6 (0x86dd), length 124: fe80::8c36:6ff:fe44:acaf >
// fe80::8c36:6ff:fe44:acaf: ICMP6, echo request, id 9, seq 1, length 64
const SLL2_ECHO6 =
  '86dd0000000000010304000600000000000000006005c2e400403a40fe800000000000008c3606fffe44acaffe80000000000000' +
  '8c3606fffe44acaf8000a8d700090001f8bdf96200000000ab59010000000000101112131415161718191a1b1c1d1e1f20212223' +
  '2425262728292a2b2c2d2e2f3031323334353637';

// tcpdump__icmpv6_mix.pcap frame 3, behind a hop-by-hop header:
// b0:a8:6e:0c:d4:e8 > 33:33:00:00:00:01, ethertype IPv6 (0x86dd), length 90: fe80::b2a8:6eff:fe0c:d4e8 > ff02::1:
// HBH ICMP6, multicast listener query v2 [gaddr ::], length 28
const MLD_QUERY =
  '333300000001b0a86e0cd4e886dd6000000000240001fe80000000000000b2a86efffe0cd4e8ff02000000000000000000000000' +
  '00013a000502000001008200623a2710000000000000000000000000000000000000023c0000';

// zeek__icmpv6_packet_too_big.pcap frame 1, quoting an IPv6/UDP header:
// 00:00:00:00:00:00 > ff:ff:ff:ff:ff:ff, ethertype IPv6 (0x86dd), length 114: fe80::dead > fe80::beef:
// ICMP6, packet too big, mtu 1280, length 60
const PACKET_TOO_BIG =
  'ffffffffffff00000000000086dd60000000003c3a40fe80000000000000000000000000deadfe80000000000000000000000000' +
  'beef0200ecba0000050060000000000c1140fe80000000000000000000000000beeffe80000000000000000000000000dead7530' +
  '32c8000c0c8e58585858';

describe('decodeICMP', () => {
  test('echo request: type, code, checksum, id, seq as tshark; 56 bytes of payload', () => {
    const p = decodeHex(ECHO_REQUEST, 1);
    assert.ok(p.has(LAYER_IPV4) && p.has(LAYER_ICMP) && p.has(LAYER_PAYLOAD));
    assert.deepEqual(head(p), [8, 0, 0xef24, 1226, 1]);
    assert.equal(formatIPv4(p.src4), '172.16.133.2');
    // tshark splits these 56 bytes into an 8-byte icmp.data_time and 48 bytes of data.
    assert.equal(p.payloadOff, GUARD + 14 + 20 + 8);
    assert.equal(p.payloadLen, 56);
    assert.deepEqual(anomalies(p), []);
  });

  test('echo reply', () => {
    const p = decodeHex(ECHO_REPLY, 1);
    assert.deepEqual(head(p), [0, 0, 0xf724, 1226, 1]);
    assert.equal(p.payloadLen, 56);
  });

  test('timestamp request carries id/seq; the three timestamps are payload', () => {
    const p = decodeHex(TIMESTAMP_REQUEST, 1);
    assert.deepEqual(head(p), [13, 0, 0x9476, 14640, 0]);
    assert.equal(p.payloadLen, 12);
  });

  test('address mask request: the IPv4 length cuts the Ethernet padding off the payload', () => {
    const p = decodeHex(MASK_REQUEST, 1);
    assert.deepEqual(head(p), [17, 0, 0x38f3, 45068, 1536]);
    assert.equal(p.payloadOff, GUARD + 42);
    assert.equal(p.payloadLen, 4);
  });

  test('address mask reply', () => {
    const p = decodeHex(MASK_REPLY, 1);
    assert.deepEqual(head(p), [18, 0, 0x3bf3, 45580, 0]);
    assert.equal(p.payloadLen, 4);
  });

  test('host unreachable: the quoted echo does not become the main fields', () => {
    const p = decodeHex(HOST_UNREACH, 1);
    // tshark also shows icmp.ident 3189 / seq 4: those come from the quoted echo request.
    assert.deepEqual(head(p), [3, 1, 0xfcfe, -1, -1]);
    assert.equal(formatIPv4(p.src4), '10.0.0.7');
    assert.equal(formatIPv4(p.dst4), '10.0.0.7');
    assert.equal(p.payloadOff, GUARD + 42);
    assert.equal(p.payloadLen, 84);
    assert.deepEqual(anomalies(p), []);
  });

  test('port unreachable: the quoted IPv4/UDP header is payload, not a UDP layer', () => {
    const p = decodeHex(PORT_UNREACH, 1);
    assert.deepEqual(head(p), [3, 3, 0xb42a, -1, -1]);
    assert.ok(!p.has(LAYER_UDP));
    assert.equal(p.srcPort, 0);
    assert.equal(p.dstPort, 0);
    assert.equal(formatIPv4(p.dst4), '10.0.1.2');
    assert.equal(p.payloadLen, 28);
  });

  test('redirect quoting an echo: no id/seq of its own', () => {
    const p = decodeHex(REDIRECT, 1);
    // tshark's icmp.ident 512 / seq 12544 come from the quoted echo request.
    assert.deepEqual(head(p), [5, 1, 0x383e, -1, -1]);
    assert.equal(p.payloadLen, 28);
  });

  test('inside a PPPoE session', () => {
    const p = decodeHex(PPPOE_PORT_UNREACH, 1);
    assert.ok(p.has(LAYER_PPPOE) && p.has(LAYER_ICMP));
    assert.ok(!p.has(LAYER_UDP));
    assert.deepEqual(head(p), [3, 3, 0xfe3c, -1, -1]);
    assert.equal(formatIPv4(p.src4), '95.136.242.99');
    assert.equal(p.payloadLen, 124 - 20 - 8);
  });

  test('over Linux SLL2', () => {
    const p = decodeHex(SLL2_ECHO, 276);
    assert.ok(p.has(LAYER_SLL2) && p.has(LAYER_ICMP));
    assert.deepEqual(head(p), [8, 0, 0x66b4, 8, 1]);
    assert.equal(p.payloadLen, 56);
  });

  test('a non-echo message after an echo on the same context has no stale id/seq', () => {
    const p = decodeHex(ECHO_REQUEST, 1);
    decodeHex(PORT_UNREACH, 1, undefined, p);
    assert.deepEqual(head(p), [3, 3, 0xb42a, -1, -1]);
  });

  test('called directly on a used context, a message without id/seq clears them', () => {
    const b = Buffer.from(PORT_UNREACH.slice(68), 'hex');
    const p = new PacketContext();
    p.icmpEchoId = 1226;
    p.icmpEchoSeq = 1;
    decodeICMP(p, b, 0, b.length);
    assert.deepEqual(head(p), [3, 3, 0xb42a, -1, -1]);
  });

  test('every type with identifier and sequence, and a few without', () => {
    const withIdSeq = [0, 8, 13, 14, 15, 16, 17, 18];
    for (let type = 0; type < 256; type++) {
      const { p, next } = runDecoder(decodeICMP, type.toString(16).padStart(2, '0') + '0012340102030400');
      assert.equal(next, -1);
      const expected = withIdSeq.includes(type) ? [0x0102, 0x0304] : [-1, -1];
      assert.deepEqual([p.icmpEchoId, p.icmpEchoSeq], expected, `type ${type}`);
    }
  });
});

describe('decodeICMPv6', () => {
  test('echo request over SLL2/IPv6: type, code, checksum, id, seq as tshark', () => {
    const p = decodeHex(SLL2_ECHO6, 276);
    assert.ok(p.has(LAYER_IPV6) && p.has(LAYER_ICMPV6) && p.has(LAYER_PAYLOAD));
    assert.ok(!p.has(LAYER_ICMP));
    assert.deepEqual(head(p), [128, 0, 0xa8d7, 9, 1]);
    assert.equal(formatIPv6(p.src6), 'fe80::8c36:6ff:fe44:acaf');
    assert.equal(p.payloadOff, GUARD + 20 + 40 + 8);
    // tshark: data.len 56
    assert.equal(p.payloadLen, 56);
    assert.deepEqual(anomalies(p), []);
  });

  test('echo request, decoder alone', () => {
    const { p, next } = runDecoder(decodeICMPv6, SLL2_ECHO6.slice(120));
    assert.equal(next, -1);
    assert.deepEqual(head(p), [128, 0, 0xa8d7, 9, 1]);
    assert.equal(p.payloadOff, 8);
    assert.equal(p.payloadLen, 56);
  });

  test('MLD query behind a hop-by-hop header: no id/seq', () => {
    const p = decodeHex(MLD_QUERY, 1);
    assert.ok(p.has(LAYER_ICMPV6));
    assert.deepEqual(head(p), [130, 0, 0x623a, -1, -1]);
    assert.equal(p.payloadOff, GUARD + 14 + 40 + 8 + 8);
    assert.equal(p.payloadLen, 20);
  });

  test('packet too big: the quoted IPv6/UDP header is payload', () => {
    const p = decodeHex(PACKET_TOO_BIG, 1);
    assert.deepEqual(head(p), [2, 0, 0xecba, -1, -1]);
    assert.ok(!p.has(LAYER_UDP) && !p.has(LAYER_TCP));
    assert.equal(p.dstPort, 0);
    assert.equal(formatIPv6(p.dst6), 'fe80::beef');
    assert.equal(p.payloadLen, 60 - 8);
  });

  test('only types 128 and 129 carry id/seq', () => {
    for (let type = 0; type < 256; type++) {
      const { p } = runDecoder(decodeICMPv6, type.toString(16).padStart(2, '0') + '0012340102030400');
      const expected = type === 128 || type === 129 ? [0x0102, 0x0304] : [-1, -1];
      assert.deepEqual([p.icmpEchoId, p.icmpEchoSeq], expected, `type ${type}`);
    }
  });
});

describe('ICMP/ICMPv6: truncated input', () => {
  // name, decoder, bytes, layer decoded, anomalies, type kept (-1 when none)
  const cases: [string, Decoder, string, boolean, string[], number][] = [
    ['icmp: empty', decodeICMP, '', false, ['icmp.truncated'], -1],
    ['icmp: 3 bytes', decodeICMP, '0800ef', false, ['icmp.truncated'], -1],
    ['icmp: 4 bytes, echo without id/seq', decodeICMP, '0800ef24', true, ['icmp.truncated'], 8],
    ['icmp: 7 bytes', decodeICMP, '0800ef2404ca00', true, ['icmp.truncated'], 8],
    ['icmp: header only', decodeICMP, '0800ef2404ca0001', true, [], 8],
    ['icmpv6: empty', decodeICMPv6, '', false, ['icmpv6.truncated'], -1],
    ['icmpv6: 2 bytes', decodeICMPv6, '8000', false, ['icmpv6.truncated'], -1],
    ['icmpv6: 6 bytes', decodeICMPv6, '8000a8d70009', true, ['icmpv6.truncated'], 128],
    ['icmpv6: header only', decodeICMPv6, '8000a8d700090001', true, [], 128],
  ];
  for (const [name, dec, hex, layer, expected, type] of cases) {
    test(name, () => {
      const { p, next } = runDecoder(dec, hex);
      assert.equal(next, -1);
      assert.equal(p.has(LAYER_ICMP) || p.has(LAYER_ICMPV6), layer);
      assert.deepEqual(anomalies(p), expected);
      for (const a of anomalies(p)) assert.ok(isKnownAnomaly(a), a);
      if (type >= 0) assert.equal(p.icmpType, type);
      if (expected.length > 0) assert.deepEqual([p.icmpEchoId, p.icmpEchoSeq], [-1, -1]);
      assert.equal(p.payloadLen, 0);
      assert.ok(!p.has(LAYER_PAYLOAD));
    });
  }

  test('every prefix of every fixture decodes without a throw', () => {
    const fixtures: [string, number][] = [
      [ECHO_REQUEST, 1],
      [REDIRECT, 1],
      [PORT_UNREACH, 1],
      [TIMESTAMP_REQUEST, 1],
      [HOST_UNREACH, 1],
      [MASK_REQUEST, 1],
      [PPPOE_PORT_UNREACH, 1],
      [SLL2_ECHO, 276],
      [SLL2_ECHO6, 276],
      [MLD_QUERY, 1],
      [PACKET_TOO_BIG, 1],
    ];
    for (const [hex, lt] of fixtures) {
      const full = hex.length / 2;
      for (let n = 0; n <= full; n++) {
        const p = decodeHex(hex.slice(0, n * 2), lt, full);
        for (const a of anomalies(p)) {
          assert.notEqual(a, 'decode.internal_error', `${hex.slice(0, 16)}... cut at ${n}`);
          assert.ok(isKnownAnomaly(a), a);
        }
        if (p.has(LAYER_ICMP) || p.has(LAYER_ICMPV6)) {
          assert.ok(p.payloadLen >= 0 && p.payloadOff + p.payloadLen <= GUARD + n);
        }
      }
    }
  });
});
