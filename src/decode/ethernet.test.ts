import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anomalyCodes as anomalies, decodeHex } from '../../test/helpers/frames.ts';
import { isKnownAnomaly } from '../core/anomalies.ts';
import { LAYER_ARP, LAYER_ETHERNET, LAYER_IPV4, LAYER_UDP, LAYER_VLAN } from '../core/layers.ts';
import { PacketContext } from '../core/packet.ts';
import { SPACE_ETHERTYPE, SPACE_NONE } from './decoder.ts';
import { decodeVNTag, ETHERTYPE_LLC } from './ethernet.ts';
import { formatIPv4 } from './format.ts';

// zeek__vntag_nsec.pcap frame 1 (128 bytes):
// 00:00:01:01:00:01 > 00:00:01:02:00:01, ethertype Unknown (0x8926), length 128
// tshark: eth:ethertype:vntag:ethertype:vlan:ethertype:ip:data, vlan.id 11,
// ip 1.1.1.1 > 1.1.2.1 proto 253 ttl 255
const VNTAG_FRAME =
  '0000010200010000010100018926000000008100000b080045000064acb80000fffd08e101010101010102011b794b175fac06ab' +
  'a65841255f34e28cae99cd04bf24d948801f4ef812dc0b6d453274390619cc75bf7a7b5f95dea5a3ebdc42df57cd94a301fe79' +
  '83bfcbd306edd988b6f69b206263fa163948011d6aa5f1b87d';

describe('decodeVNTag', () => {
  test('a VN-Tag before an 802.1Q tag and IPv4 (zeek__vntag_nsec.pcap frame 1)', () => {
    const p = decodeHex(VNTAG_FRAME);
    assert.ok(p.has(LAYER_ETHERNET) && p.has(LAYER_VLAN) && p.has(LAYER_IPV4));
    assert.deepEqual(Array.from(p.vlanIds.subarray(0, p.vlanCount)), [11]);
    assert.equal(formatIPv4(p.src4), '1.1.1.1');
    assert.equal(formatIPv4(p.dst4), '1.1.2.1');
    assert.equal(p.protocol, 253);
    assert.equal(p.ipTtl, 255);
    assert.deepEqual(anomalies(p), []);
  });

  test('names the inner EtherType and consumes 6 bytes', () => {
    const b = Buffer.from('000000008100', 'hex');
    const p = new PacketContext();
    p.reset(b);
    p.nextSpace = SPACE_NONE;
    assert.equal(decodeVNTag(p, b, 0, b.length), 6);
    assert.equal(p.nextSpace, SPACE_ETHERTYPE);
    assert.equal(p.nextKey, 0x8100);
  });

  test('an 802.3 length after the tag: LLC follows', () => {
    const b = Buffer.from('000000000040aaaa03', 'hex');
    const p = new PacketContext();
    p.reset(b);
    p.nextSpace = SPACE_NONE;
    assert.equal(decodeVNTag(p, b, 0, b.length), 6);
    assert.equal(p.nextSpace, SPACE_ETHERTYPE);
    assert.equal(p.nextKey, ETHERTYPE_LLC);
  });

  for (const n of [0, 1, 5]) {
    test(`cut to ${n} bytes after the Ethernet header: vntag.truncated, no throw`, () => {
      const p = decodeHex(VNTAG_FRAME.slice(0, (14 + n) * 2));
      assert.ok(p.has(LAYER_ETHERNET) && !p.has(LAYER_VLAN));
      assert.deepEqual(anomalies(p), ['vntag.truncated']);
      for (const a of anomalies(p)) assert.ok(isKnownAnomaly(a), a);
    });
  }
});

// LLC/SNAP (RFC 1042) inside Ethernet frames; tshark decodes the packet after the SNAP header.
// Ethernet 00:11:22:33:44:55 > 66:77:88:99:aa:bb, then the type field, then:
const ETH_HDR = '66778899aabb001122334455';
const SNAP_IPV4 = 'aaaa030000000800';
// 10.40.0.1:1 > 10.40.0.2:2 UDP, 4 bytes 'snap' (32-byte IPv4 datagram)
const IPV4_UDP = '4500002000010000401166 7a0a2800010a28000200010002000c16a2736e6170'.replace(' ', '');

describe('LLC/SNAP frames', () => {
  test('802.3 length + LLC/SNAP + IPv4: the IPv4 packet is decoded and its EtherType is eth_type', () => {
    const p = decodeHex(`${ETH_HDR}0028${SNAP_IPV4}${IPV4_UDP}`);
    assert.ok(p.has(LAYER_ETHERNET) && p.has(LAYER_IPV4) && p.has(LAYER_UDP));
    assert.equal(formatIPv4(p.src4), '10.40.0.1');
    assert.equal(formatIPv4(p.dst4), '10.40.0.2');
    assert.equal(p.srcPort, 1);
    assert.equal(p.dstPort, 2);
    assert.equal(p.ethType, 0x0800);
    assert.deepEqual(anomalies(p), []);
  });

  test('the same behind an 802.1Q tag', () => {
    const p = decodeHex(`${ETH_HDR}81000009 0028${SNAP_IPV4}${IPV4_UDP}`.replace(' ', ''));
    assert.deepEqual(Array.from(p.vlanIds.subarray(0, p.vlanCount)), [9]);
    assert.ok(p.has(LAYER_IPV4) && p.has(LAYER_UDP));
    assert.equal(formatIPv4(p.dst4), '10.40.0.2');
  });

  test('EtherType 0x8870 (LLC in jumbo frames) + SNAP + ARP', () => {
    const arp = '0001080006040001001122334455c0a80001000000000000c0a80002';
    const p = decodeHex(`${ETH_HDR}8870aaaa030000000806${arp}`);
    assert.ok(p.has(LAYER_ARP));
    assert.equal(p.arpOpcode, 1);
    assert.equal(p.ethType, 0x0806);
    assert.deepEqual(anomalies(p), []);
  });

  test('LLC without SNAP (spanning tree) and SNAP under another OUI (CDP) stay payload, without an anomaly', () => {
    const stp = decodeHex(`${ETH_HDR}0026424203000000000080000011223344550000000080000011223344558001000014000200`);
    assert.ok(stp.has(LAYER_ETHERNET) && !stp.has(LAYER_IPV4));
    assert.equal(stp.payloadOff - stp.ethOff, 14);
    assert.deepEqual(anomalies(stp), []);
    const cdp = decodeHex(`${ETH_HDR}0010aaaa0300000c2000020000000000`);
    assert.ok(!cdp.has(LAYER_IPV4));
    assert.equal(cdp.payloadOff - cdp.ethOff, 14);
    assert.deepEqual(anomalies(cdp), []);
  });

  for (const n of [0, 3, 7]) {
    test(`an 802.3 frame with ${n} bytes of LLC: payload, no throw`, () => {
      const p = decodeHex(`${ETH_HDR}0028${SNAP_IPV4.slice(0, n * 2)}`);
      assert.ok(p.has(LAYER_ETHERNET) && !p.has(LAYER_IPV4));
      assert.deepEqual(anomalies(p), []);
    });
  }
});
