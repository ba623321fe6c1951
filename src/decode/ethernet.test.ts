import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anomalyCodes as anomalies, decodeHex } from '../../test/helpers/frames.ts';
import { isKnownAnomaly } from '../core/anomalies.ts';
import { LAYER_ETHERNET, LAYER_IPV4, LAYER_VLAN } from '../core/layers.ts';
import { PacketContext } from '../core/packet.ts';
import { SPACE_ETHERTYPE, SPACE_NONE } from './decoder.ts';
import { decodeVNTag } from './ethernet.ts';
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

  test('an 802.3 length after the tag: the rest is payload', () => {
    const b = Buffer.from('000000000040aaaa03', 'hex');
    const p = new PacketContext();
    p.reset(b);
    p.nextSpace = SPACE_NONE;
    assert.equal(decodeVNTag(p, b, 0, b.length), 6);
    assert.equal(p.nextSpace, SPACE_NONE);
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
