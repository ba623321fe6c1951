import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anomalyCodes as anomalies } from '../../test/helpers/frames.ts';
import { isKnownAnomaly } from '../core/anomalies.ts';
import { LAYER_ETHERNET, LAYER_GENEVE, LAYER_IPV4, LAYER_UDP, LAYER_VXLAN } from '../core/layers.ts';
import { PacketContext } from '../core/packet.ts';
import { Frame } from '../core/source.ts';
import { SPACE_ETHERTYPE, SPACE_LAYER } from './decoder.ts';
import { decodeFrame } from './dispatch.ts';
import { formatIPv4 } from './format.ts';
import { decodeGeneve, decodeVXLAN } from './udp-tunnels.ts';

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

// zeek__vxlan.pcap frame 1: IP 192.168.56.11.39924 > 192.168.56.12.4789: VXLAN, flags [I] (0x08), vni 123
// ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28
const VXLAN_ARP =
  '080027f21d8c080027ae4d6208004500004ed998400040116f9ec0a8380bc0a8380c9bf412b5003a0000080000000000' +
  '7b00ffffffffffffba092b6ef8be08060001080006040001ba092b6ef8be0a0000010000000000000a000002';

// zeek__vxlan.pcap frame 3: IP 192.168.56.11.48134 > 192.168.56.12.4789: VXLAN, flags [I] (0x08), vni 123
// IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 3389, seq 1, length 64
const VXLAN_ICMP =
  '080027f21d8c080027ae4d62080045000086d999400040116f65c0a8380bc0a8380cbc0612b500720000080000000000' +
  '7b004a7f013ba271ba092b6ef8be0800450000542f4f40004001f7570a0000010a00000208004c8a0d3d0001a38c7c57' +
  '00000000b5800a0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233' +
  '34353637';

// ppp__vxlan_single.pcap frame 1: IP 192.168.203.1.45149 > 192.168.202.1.4789: VXLAN, flags [I] (0x88),
// vni 3000001 (group-policy bit set): IP 192.168.203.3 > 192.168.203.5: ICMP echo request, id 1292, seq 2
const VXLAN_GBP =
  '00163e0871cf36dc851eb340080045000086d2c2400040115150c0a8cb01c0a8ca01b05d12b50072e9a9884800642dc6' +
  'c10000308801000200163e37f604080045000054000040004001234fc0a8cb03c0a8cb05080005ed050c0002fde29751' +
  '0000000096fd020000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30313233' +
  '34353637';

// zeek__geneve.pcap frame 1: IP 20.0.0.1.50901 > 20.0.0.2.6081: Geneve, Flags [none], vni 0x0,
// options [8 bytes]: IP 30.0.0.1 > 30.0.0.2: ICMP echo request, id 16816, seq 28, length 64
const GENEVE_ICMP =
  '001b213cac30001b213cab6408004500008ec473400040114de91400000114000002c6d517c1007a0000020065580000' +
  '0000000000010000000a76b5d50aa641b21a43d5fa4c080045000054000040004001fea61e0000011e0000020800c62b' +
  '41b0001cc7989b5300000000c648080000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b' +
  '2c2d2e2f3031323334353637';

describe('VXLAN and Geneve on corpus packets (expected values from tshark 4.0)', () => {
  test('VXLAN carrying IPv4: inner packet in the main fields, outer IP and UDP in the tunnel', () => {
    const p = decodeHex(VXLAN_ICMP);
    assert.ok(p.has(LAYER_VXLAN));
    assert.ok(p.has(LAYER_IPV4));
    assert.equal(formatIPv4(p.src4), '10.0.0.1');
    assert.equal(formatIPv4(p.dst4), '10.0.0.2');
    assert.equal(p.protocol, 1);
    // The outer UDP header belongs to the tunnel, not to the inner ICMP packet.
    assert.equal(p.has(LAYER_UDP), false);
    assert.equal(p.srcPort, 0);
    assert.equal(p.tunnelDepth, 1);
    assert.equal(p.tunnel.type, 'vxlan');
    assert.equal(p.tunnel.id, 123);
    assert.equal(formatIPv4(p.tunnel.src4), '192.168.56.11');
    assert.equal(formatIPv4(p.tunnel.dst4), '192.168.56.12');
    assert.equal(p.tunnel.protocol, 17);
    assert.equal(p.tunnel.srcPort, 48134);
    assert.equal(p.tunnel.dstPort, 4789);
    assert.deepEqual(anomalies(p), []);
  });

  test('VXLAN carrying ARP: tunnel entered, no inner IP layer', () => {
    const p = decodeHex(VXLAN_ARP);
    assert.ok(p.has(LAYER_VXLAN));
    assert.ok(p.has(LAYER_ETHERNET));
    assert.equal(p.ethType, 0x0806);
    assert.equal(p.has(LAYER_IPV4), false);
    assert.equal(p.tunnel.type, 'vxlan');
    assert.equal(p.tunnel.id, 123);
    assert.equal(p.tunnel.srcPort, 39924);
    assert.equal(formatIPv4(p.tunnel.src4), '192.168.56.11');
  });

  test('VXLAN with the group-policy flag: VNI still read', () => {
    const p = decodeHex(VXLAN_GBP);
    assert.equal(p.tunnel.id, 3000001);
    assert.equal(formatIPv4(p.src4), '192.168.203.3');
    assert.equal(formatIPv4(p.dst4), '192.168.203.5');
    assert.equal(formatIPv4(p.tunnel.src4), '192.168.203.1');
    assert.equal(formatIPv4(p.tunnel.dst4), '192.168.202.1');
    assert.equal(p.tunnel.srcPort, 45149);
  });

  test('Geneve with 8 bytes of options and transparent Ethernet bridging', () => {
    const p = decodeHex(GENEVE_ICMP);
    assert.ok(p.has(LAYER_GENEVE));
    assert.ok(p.has(LAYER_ETHERNET));
    assert.equal(formatIPv4(p.src4), '30.0.0.1');
    assert.equal(formatIPv4(p.dst4), '30.0.0.2');
    assert.equal(p.protocol, 1);
    assert.equal(p.tunnel.type, 'geneve');
    assert.equal(p.tunnel.id, 0);
    assert.equal(formatIPv4(p.tunnel.src4), '20.0.0.1');
    assert.equal(p.tunnel.srcPort, 50901);
    assert.equal(p.tunnel.dstPort, 6081);
    assert.deepEqual(anomalies(p), []);
  });
});

interface Case {
  name: string;
  bytes: number[];
  anomalies: string[];
  next: number;
  id?: number;
  nextSpace?: number;
  nextKey?: number;
}

const VXLAN_CASES: Case[] = [
  { name: 'empty', bytes: [], anomalies: ['vxlan.truncated'], next: -1 },
  { name: 'seven bytes', bytes: [8, 0, 0, 0, 0, 0, 123], anomalies: ['vxlan.truncated'], next: -1 },
  {
    name: 'I flag clear: no VNI',
    bytes: [0, 0, 0, 0, 0, 0, 123, 0],
    anomalies: [],
    next: 8,
    id: -1,
    nextSpace: SPACE_LAYER,
    nextKey: LAYER_ETHERNET,
  },
  { name: 'largest VNI', bytes: [8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], anomalies: [], next: 8, id: 0xffffff },
];

const GENEVE_CASES: Case[] = [
  { name: 'empty', bytes: [], anomalies: ['geneve.truncated'], next: -1 },
  { name: 'seven bytes', bytes: [0, 0, 0x65, 0x58, 0, 0, 1], anomalies: ['geneve.truncated'], next: -1 },
  {
    name: 'options longer than the bytes left',
    bytes: [2, 0, 0x65, 0x58, 0, 0, 1, 0, 0, 0, 0, 1],
    anomalies: ['geneve.truncated'],
    next: -1,
  },
  { name: 'version 1', bytes: [0x40, 0, 0x65, 0x58, 0, 0, 1, 0], anomalies: ['geneve.version_invalid'], next: -1 },
  {
    name: 'IPv4 protocol type, no options',
    bytes: [0, 0, 0x08, 0x00, 0, 0, 7, 0],
    anomalies: [],
    next: 8,
    id: 7,
    nextSpace: SPACE_ETHERTYPE,
    nextKey: 0x0800,
  },
  {
    name: 'largest option length (252 bytes)',
    bytes: [0x3f, 0, 0x65, 0x58, 0, 1, 0, 0, ...new Array<number>(252).fill(0)],
    anomalies: [],
    next: 260,
    id: 256,
  },
];

function runCases(title: string, cases: Case[], decode: typeof decodeVXLAN): void {
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
        assert.equal(p.tunnelDepth, next < 0 ? 0 : 1);
        if (c.id !== undefined) assert.equal(p.tunnel.id, c.id);
        if (c.nextSpace !== undefined) assert.equal(p.nextSpace, c.nextSpace);
        if (c.nextKey !== undefined) assert.equal(p.nextKey, c.nextKey);
      });
    }
  });
}

runCases('decodeVXLAN on crafted short headers', VXLAN_CASES, decodeVXLAN);
runCases('decodeGeneve on crafted short and inconsistent headers', GENEVE_CASES, decodeGeneve);
