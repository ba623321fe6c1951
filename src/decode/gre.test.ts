import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anomalyCodes as anomalies } from '../../test/helpers/frames.ts';
import { isKnownAnomaly } from '../core/anomalies.ts';
import { LAYER_ERSPAN, LAYER_ETHERNET, LAYER_GRE, LAYER_IPV4, LAYER_PPP, LAYER_UDP } from '../core/layers.ts';
import { PacketContext } from '../core/packet.ts';
import { Frame } from '../core/source.ts';
import { SPACE_ETHERTYPE, SPACE_LAYER, SPACE_NONE } from './decoder.ts';
import { decodeFrame } from './dispatch.ts';
import { formatIPv4 } from './format.ts';
import { decodeERSPAN, decodeGRE } from './gre.ts';

const hexBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

function decodeHex(hex: string): PacketContext {
  const f = new Frame();
  f.buf = hexBytes(hex);
  f.caplen = f.wirelen = f.buf.length;
  f.linkType = 1; // Ethernet
  const p = new PacketContext();
  decodeFrame(p, f);
  return p;
}

const src = (p: PacketContext): string => formatIPv4(p.src4);
const dst = (p: PacketContext): string => formatIPv4(p.dst4);

// zeek__gre_sample.pcap frame 9: IP 172.27.1.66 > 66.59.109.137: GREv0, length 80:
// IP 66.59.111.190.123 > 18.26.4.105.123: NTPv4, Client, length 48
const GRE_NTP =
  '00c0ca14b05200022d564afd08004500006400004000ff2f1e49ac1b0142423b6d89000008004510004c000040004011' +
  '7215423b6fbe121a0469007b007b00388fbc230b06ef00000000000002d67f7f0101c290f0ecd9a78f25c290f0c76aeb' +
  '2000c290f0b6fe03b3e9c290f0f5d98dac25';

// zeek__gre_sample.pcap frame 34: IP 66.59.109.137 > 172.27.1.66: GREv0, length 93:
// IP 172.28.2.3 > 66.59.111.190: ICMP 172.28.2.3 udp port 53 unreachable, length 69
const GRE_ICMP_ERROR =
  '00022d564afd00c0ca14b05208004500007100004000ec2f313c423b6d89ac1b01420000080045c00059908d00003f01' +
  '8a3eac1c0203423b6fbe03035d50000000004500003d000040003f11db97423b6fbeac1c0203932b00350029171dbdaa' +
  '010000010000000000000377777707676c6565626c65036f72670000ff0001';

// tcpdump__gre_various.pcap frame 12: IP 10.172.64.6 > 10.172.64.7: GREv0, key=0x28, length 8: gre-proto-0x0
const GRE_KEEPALIVE = 'aabbcc000200aabbcc000100810004bd080045c0001c00a30000fe2f25eb0aac40060aac40072000000000000028';

// tcpdump__gre_various.pcap frame 25: IP 10.172.64.6 > 10.172.64.7: GREv0, key=0x28, length 116: gre-proto-0x8909
// (tshark: Cisco MetaData, SGT 0, then IP 172.17.1.54 > 172.17.1.55 ICMP echo request)
const GRE_CISCO_METADATA =
  'aabbcc000200aabbcc000100810004bd08004500008800910000ff2f25510aac40060aac400720008909000000280800' +
  '0101000100004500006400050000ff016104ac110136ac110137080064fe0001000000000000000c193fabcdabcdabcd' +
  'abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd' +
  'abcdabcdabcdabcdabcd';

// zeek__gre_within_gre.pcap frame 4: IP 72.205.54.70 > 86.106.164.150: GREv0, length 140:
// IP 10.10.11.2 > 10.10.13.2: GREv0, length 116: IP 3.3.3.1.520 > 224.0.0.9.520: RIPv2, Response, length: 84
const GRE_IN_GRE =
  '001bd5ff54d9000ffedd22420800450000a000004000ff2f011b48cd3646566aa4960000080045c0008827e20000fe2f' +
  '678d0a0a0b020a0a0d020000080045c00070000000000211d1b003030301e000000902080208005ca2dc020200000002' +
  '000009090900ffffff000000000000000002000200000a0a0b00fffffffc0000000000000001000200000a0a1900ffff' +
  'ff0000000000000000010002000014141400fffffffc0000000000000001';

// ppp__gre.cap frame 13: IP 20.0.0.1 > 20.0.0.2: GREv1, call 1, seq 1, ack 4294967295, length 34:
// LCP, Conf-Request (0x01), id 1, length 16
const PPTP_LCP =
  '0014000002000009e955c01c0800450000361ad70000ff2f78bf14000001140000023081880b0012000100000001ffff' +
  'ffffff03c0210101000e0304c02305060f3f117c';

// ppp__gre.cap frame 25: IP 20.0.0.2 > 20.0.0.1: GREv1, call 24, ack 6, no-payload, length 12
const PPTP_ACK = '0009e955c01c00140000020008004500002018d70000402f39d614000002140000012081880b0000001800000006';

// ppp__gre.cap frame 26: IP 20.0.0.2 > 20.0.0.1: GREv1, call 24, seq 7, length 100:
// IP 17.1.1.122 > 40.0.0.2: ICMP echo request, id 6187, seq 1, length 64
const PPTP_IP =
  '0009e955c01c00140000020008004500007818d80000402f397d14000002140000013001880b0058001800000007ff03' +
  '0021450000541101000040012f2c1101017a2800000208004500182b00010000000053c6838000000000000304b71011' +
  '12131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637';

// zeek__erspan_ii.pcap frame 1: IP 2.2.2.2 > 1.1.1.1: GREv0, seq 1796, length 130: gre-proto-0x88be
// (tshark: ERSPAN type II, VLAN 23, SpanID 100; Ethernet, IP 23.0.0.2 > 23.0.0.3 ICMP echo request)
const ERSPAN_II =
  '6400f1e201126400f1e2010108004500009600004000fe2f76330202020201010101100088be00000704101708640000' +
  '00006400f1e103036400f1e1020208004500006408940000ff0185001700000217000003080057b50016000000000000' +
  '00a825d7abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd' +
  'abcdabcdabcdabcdabcdabcdabcdabcdabcdabcd';

// The ERSPAN II packet above rebuilt as type I (GRE without sequence number, no ERSPAN header),
// outer length and checksum fixed: IP 2.2.2.2 > 1.1.1.1: GREv0, length 118: gre-proto-0x88be
// (tshark: gre:erspan:eth:ethertype:ip:icmp, inner 23.0.0.2 > 23.0.0.3)
const ERSPAN_I =
  '6400f1e201126400f1e2010108004500008a00004000fe2f763f0202020201010101000088be6400f1e103036400f1e1' +
  '020208004500006408940000ff0185001700000217000003080057b5001600000000000000a825d7abcdabcdabcdabcd' +
  'abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd' +
  'abcdabcdabcdabcd';

// The same packet as ERSPAN type III (protocol 0x22eb, 12-byte header, session 100, no subheader):
// IP 2.2.2.2 > 1.1.1.1: GREv0, seq 1, length 134: gre-proto-0x22eb (tshark: erspan.version 2, spanid 100)
const ERSPAN_III =
  '6400f1e201126400f1e2010108004500009a00004000fe2f762f0202020201010101100022eb00000001201700641122' +
  '3344000000526400f1e103036400f1e1020208004500006408940000ff0185001700000217000003080057b500160000' +
  '0000000000a825d7abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd' +
  'abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd';

// Type III with the O bit and an 8-byte platform subheader, session 101 (tshark: erspan.o 1, spanid 101)
const ERSPAN_III_SUBHEADER =
  '6400f1e201126400f1e201010800450000a200004000fe2f76270202020201010101100022eb00000002201710651122' +
  '3344000000530c000000000000026400f1e103036400f1e1020208004500006408940000ff0185001700000217000003' +
  '080057b5001600000000000000a825d7abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd' +
  'abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd';

describe('GRE on corpus packets (expected values from tshark 4.0)', () => {
  test('GRE v0 carrying IPv4/UDP: inner packet in the main fields, outer in the tunnel', () => {
    const p = decodeHex(GRE_NTP);
    assert.ok(p.has(LAYER_GRE));
    assert.equal(src(p), '66.59.111.190');
    assert.equal(dst(p), '18.26.4.105');
    assert.equal(p.protocol, 17);
    assert.ok(p.has(LAYER_UDP));
    assert.equal(p.srcPort, 123);
    assert.equal(p.dstPort, 123);
    assert.equal(p.tunnelDepth, 1);
    assert.equal(p.tunnel.type, 'gre');
    assert.equal(p.tunnel.ipVersion, 4);
    assert.equal(formatIPv4(p.tunnel.src4), '172.27.1.66');
    assert.equal(formatIPv4(p.tunnel.dst4), '66.59.109.137');
    assert.equal(p.tunnel.protocol, 47);
    assert.equal(p.tunnel.id, -1);
    assert.deepEqual(anomalies(p), []);
  });

  test('ICMP error inside GRE: the ICMP packet is the innermost one, not its quoted header', () => {
    const p = decodeHex(GRE_ICMP_ERROR);
    // tshark's ip.src list: 66.59.109.137 (outer), 172.28.2.3 (inner), 66.59.111.190 (quoted).
    assert.equal(src(p), '172.28.2.3');
    assert.equal(dst(p), '66.59.111.190');
    assert.equal(p.protocol, 1);
    assert.equal(formatIPv4(p.tunnel.src4), '66.59.109.137');
  });

  test('keepalive (protocol type 0) is not a tunnel: the outer packet stays the record', () => {
    const p = decodeHex(GRE_KEEPALIVE);
    assert.ok(p.has(LAYER_GRE));
    assert.equal(p.tunnelDepth, 0);
    assert.equal(src(p), '10.172.64.6');
    assert.equal(dst(p), '10.172.64.7');
    assert.equal(p.protocol, 47);
    assert.deepEqual(anomalies(p), []);
  });

  test('key and Cisco MetaData: tunnel id is the key, the packet after the metadata is decoded', () => {
    const p = decodeHex(GRE_CISCO_METADATA);
    assert.deepEqual(Array.from(p.vlanIds.subarray(0, p.vlanCount)), [1213]);
    assert.equal(src(p), '172.17.1.54');
    assert.equal(dst(p), '172.17.1.55');
    assert.equal(p.protocol, 1);
    assert.equal(p.tunnel.type, 'gre');
    assert.equal(p.tunnel.id, 0x28);
    assert.equal(formatIPv4(p.tunnel.src4), '10.172.64.6');
    assert.deepEqual(anomalies(p), []);
  });

  test('GRE within GRE: innermost packet, outermost tunnel, depth 2', () => {
    const p = decodeHex(GRE_IN_GRE);
    assert.equal(src(p), '3.3.3.1');
    assert.equal(dst(p), '224.0.0.9');
    assert.equal(p.srcPort, 520);
    assert.equal(p.dstPort, 520);
    assert.equal(p.tunnelDepth, 2);
    assert.equal(p.tunnel.type, 'gre');
    assert.equal(formatIPv4(p.tunnel.src4), '72.205.54.70');
    assert.equal(formatIPv4(p.tunnel.dst4), '86.106.164.150');
  });

  test('PPTP LCP (GRE v1 with sequence and acknowledgment): control frame, no tunnel', () => {
    const p = decodeHex(PPTP_LCP);
    assert.ok(p.has(LAYER_GRE));
    assert.equal(p.tunnelDepth, 0);
    assert.equal(src(p), '20.0.0.1');
    assert.equal(dst(p), '20.0.0.2');
    assert.equal(p.protocol, 47);
    assert.ok(p.has(LAYER_PPP));
    assert.equal(p.pppProtocol, 0xc021);
    assert.deepEqual(anomalies(p), []);
  });

  test('PPTP acknowledgment without payload: no tunnel, nothing after GRE', () => {
    const p = decodeHex(PPTP_ACK);
    assert.ok(p.has(LAYER_GRE));
    assert.equal(p.tunnelDepth, 0);
    assert.equal(src(p), '20.0.0.2');
    assert.equal(p.payloadLen, 0);
    assert.deepEqual(anomalies(p), []);
  });

  test('PPTP carrying IPv4: tunnel id is the call id, inner packet decoded through PPP', () => {
    const p = decodeHex(PPTP_IP);
    assert.equal(p.tunnelDepth, 1);
    assert.equal(p.tunnel.type, 'gre');
    assert.equal(p.tunnel.id, 24);
    assert.equal(formatIPv4(p.tunnel.src4), '20.0.0.2');
    assert.equal(p.pppProtocol, 0x0021);
    assert.ok(p.has(LAYER_IPV4));
    assert.equal(src(p), '17.1.1.122');
    assert.equal(dst(p), '40.0.0.2');
    assert.equal(p.protocol, 1);
  });

  test('ERSPAN type II: session id becomes the tunnel id, mirrored frame decoded', () => {
    const p = decodeHex(ERSPAN_II);
    assert.ok(p.has(LAYER_GRE));
    assert.ok(p.has(LAYER_ERSPAN));
    assert.ok(p.has(LAYER_ETHERNET));
    assert.equal(p.tunnel.type, 'erspan');
    assert.equal(p.tunnel.id, 100);
    assert.equal(p.tunnelDepth, 1);
    assert.equal(formatIPv4(p.tunnel.src4), '2.2.2.2');
    assert.equal(formatIPv4(p.tunnel.dst4), '1.1.1.1');
    assert.equal(src(p), '23.0.0.2');
    assert.equal(dst(p), '23.0.0.3');
    assert.equal(p.protocol, 1);
    assert.deepEqual(anomalies(p), []);
  });

  const variants: [string, string, number][] = [
    ['ERSPAN type I (no sequence number, no header)', ERSPAN_I, -1],
    ['ERSPAN type III', ERSPAN_III, 100],
    ['ERSPAN type III with platform subheader', ERSPAN_III_SUBHEADER, 101],
  ];
  for (const [name, hex, id] of variants) {
    test(name, () => {
      const p = decodeHex(hex);
      assert.ok(p.has(LAYER_ERSPAN));
      assert.equal(p.tunnel.type, 'erspan');
      assert.equal(p.tunnel.id, id);
      assert.equal(src(p), '23.0.0.2');
      assert.equal(dst(p), '23.0.0.3');
      assert.equal(p.protocol, 1);
      assert.deepEqual(anomalies(p), []);
    });
  }
});

interface Case {
  name: string;
  bytes: number[];
  anomalies: string[];
  next: number;
  tunnel?: boolean;
  nextSpace?: number;
  nextKey?: number;
}

const IPV4_MIN = [0x45, ...new Array<number>(19).fill(0)];

const GRE_CASES: Case[] = [
  { name: 'three bytes', bytes: [0, 0, 8], anomalies: ['gre.truncated'], next: -1 },
  { name: 'version 2', bytes: [0, 2, 8, 0], anomalies: ['gre.version_invalid'], next: -1 },
  { name: 'key flag without the key', bytes: [0x20, 0, 8, 0, 0, 0], anomalies: ['gre.truncated'], next: -1 },
  {
    name: 'checksum, key and sequence flags, sequence missing',
    bytes: [0xb0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    anomalies: ['gre.truncated'],
    next: -1,
  },
  {
    name: 'version 1 acknowledgment missing',
    bytes: [0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 1, 0, 0, 0, 1],
    anomalies: ['gre.truncated'],
    next: -1,
  },
  {
    name: 'routing entry running past the end',
    bytes: [0x40, 0, 8, 0, 0, 0, 0, 0, 0, 1, 0, 16, 1, 2],
    anomalies: ['gre.truncated'],
    next: -1,
  },
  {
    name: 'routing entries then IPv4',
    bytes: [0x40, 0, 8, 0, 0, 0, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4, 0, 0, 0, 0, ...IPV4_MIN],
    anomalies: [],
    next: 20,
    tunnel: true,
    nextSpace: SPACE_ETHERTYPE,
    nextKey: 0x0800,
  },
  { name: 'Cisco MetaData cut short', bytes: [0, 0, 0x89, 0x09, 8, 0, 1, 1], anomalies: ['gre.truncated'], next: -1 },
  {
    name: 'IPv4 protocol type with nothing after the header',
    bytes: [0, 0, 8, 0],
    anomalies: [],
    next: 4,
    tunnel: false,
    nextSpace: SPACE_NONE,
  },
  {
    name: 'other protocol type (WCCP): handed on, no tunnel',
    bytes: [0, 0, 0x88, 0x3e, 1, 2, 3, 4],
    anomalies: [],
    next: 4,
    tunnel: false,
    nextSpace: SPACE_ETHERTYPE,
    nextKey: 0x883e,
  },
  {
    name: 'keepalive protocol type 0: handed on, no tunnel',
    bytes: [0, 0, 0, 0, ...IPV4_MIN],
    anomalies: [],
    next: 4,
    tunnel: false,
    nextSpace: SPACE_ETHERTYPE,
    nextKey: 0,
  },
  {
    name: 'PPTP frame with a compressed one-byte IPv4 protocol',
    bytes: [0x20, 0x01, 0x88, 0x0b, 0, 5, 0, 7, 0x21, ...IPV4_MIN],
    anomalies: [],
    next: 8,
    tunnel: true,
    nextSpace: SPACE_ETHERTYPE,
    nextKey: 0x880b,
  },
  {
    name: 'PPTP frame too short to name its protocol',
    bytes: [0x20, 0x01, 0x88, 0x0b, 0, 1, 0, 7, 0xff],
    anomalies: [],
    next: 8,
    tunnel: false,
    nextSpace: SPACE_ETHERTYPE,
    nextKey: 0x880b,
  },
  {
    name: 'ERSPAN protocol type without sequence number: type I, Ethernet next',
    bytes: [0, 0, 0x88, 0xbe, ...new Array<number>(14).fill(0)],
    anomalies: [],
    next: 4,
    tunnel: true,
    nextSpace: SPACE_LAYER,
    nextKey: LAYER_ETHERNET,
  },
];

const ERSPAN_CASES: Case[] = [
  { name: 'seven bytes', bytes: [0x10, 0x17, 0, 100, 0, 0, 0], anomalies: ['erspan.truncated'], next: -1 },
  {
    name: 'type III header cut at 10 bytes',
    bytes: [0x20, 0x17, 0, 100, 0, 0, 0, 0, 0, 0],
    anomalies: ['erspan.truncated'],
    next: -1,
  },
  {
    name: 'type III platform subheader missing',
    bytes: [0x20, 0x17, 0, 100, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0],
    anomalies: ['erspan.truncated'],
    next: -1,
  },
  { name: 'version 3', bytes: [0x30, 0x17, 0, 100, 0, 0, 0, 0], anomalies: ['erspan.version_invalid'], next: -1 },
  {
    name: 'type III bare IP frame type: payload, nothing dispatched',
    bytes: [0x20, 0x17, 0, 100, 0, 0, 0, 0, 0, 0, 0x08, 0, ...IPV4_MIN],
    anomalies: [],
    next: 12,
    tunnel: true,
    nextSpace: SPACE_NONE,
  },
  {
    name: 'type II without an enclosing tunnel enters one',
    bytes: [0x10, 0x17, 0x08, 0x64, 0, 0, 0, 0],
    anomalies: [],
    next: 8,
    tunnel: true,
    nextSpace: SPACE_LAYER,
    nextKey: LAYER_ETHERNET,
  },
];

function runCases(title: string, cases: Case[], decode: typeof decodeGRE): void {
  describe(title, () => {
    for (const c of cases) {
      test(c.name, () => {
        const b = Uint8Array.from(c.bytes);
        const p = new PacketContext();
        p.reset(b);
        let next = 0;
        assert.doesNotThrow(() => {
          next = decode(p, b, 0, b.length);
        });
        assert.equal(next, c.next);
        assert.deepEqual(anomalies(p), c.anomalies);
        for (const a of anomalies(p)) assert.ok(isKnownAnomaly(a), a);
        if (c.tunnel !== undefined) assert.equal(p.tunnelDepth, c.tunnel ? 1 : 0);
        if (c.nextSpace !== undefined) assert.equal(p.nextSpace, c.nextSpace);
        if (c.nextKey !== undefined) assert.equal(p.nextKey, c.nextKey);
      });
    }
  });
}

runCases('decodeGRE on crafted short and inconsistent headers', GRE_CASES, decodeGRE);
runCases('decodeERSPAN on crafted short and inconsistent headers', ERSPAN_CASES, decodeERSPAN);
