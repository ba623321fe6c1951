import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anomalyCodes as anomalies, decodeHex, GUARD, runDecoder } from '../../test/helpers/frames.ts';
import { isKnownAnomaly } from '../core/anomalies.ts';
import { LAYER_DNS, LAYER_IPV4, LAYER_IPV6, LAYER_PAYLOAD, LAYER_UDP } from '../core/layers.ts';
import { SPACE_ETHERTYPE } from './decoder.ts';
import { formatIPv4, formatIPv6 } from './format.ts';
import { decodeIEEE80211, decodeRadiotap } from './ieee80211.ts';

// zeek__radiotap_80211.pcap (LINKTYPE_IEEE802_11_RADIOTAP 127), tcpdump -nn summaries.
// Frame 1: 48-byte radiotap (TSFT, flags 0x10 = FCS at end, ...), QoS Data to-DS,
//   IP 172.17.156.76.61738 > 208.67.220.220.53: 42799+ A? captive.apple.com. (35)
const RT_QOS_DNS_QUERY =
  '000030006b081c00e1615656000000001000a4154001b6a3014e349740010100a4156c221f0107000100000000000000880' +
  '12c008a15149b5ae090724097b6f5442b03aaab8d10000600aaaa0300000008004500003fd68d00004011aea2ac119c4cd04' +
  '3dcdcf12a0035002bc5dfa72f010000010000000000000763617074697665056170706c6503636f6d00000100010312c6a7';
// Frame 3: 25-byte radiotap (flags 0x12), Data from-DS,
//   IP6 fe80::a667:6ff:fef7:ec54.5353 > ff02::fb.5353: 0*- [0q] 4/0/4 ... (280)
const RT_DATA_MDNS_HEAD =
  '000019006f0800008867ce5f00000000120ca4154001c6a301080200003333000000fb8a15149b5ae0a46706f7ec54b0adaaa' +
  'a0300000086dd60000000012011fffe80000000000000a66706fffef7ec54ff0200000000000000000000000000fb14e914e9' +
  '0120f704';

/** Radiotap header of 8 bytes with no fields: version 0, length 8, present 0. */
const RT_EMPTY = '0000080000000000';
/** 802.11 Data frame header (FC 08 00, no DS bits), three addresses, sequence control. */
const WLAN_DATA = '0800' + '0000' + '111111111111' + '222222222222' + '333333333333' + '0000';
const SNAP_IPV4 = 'aaaa030000000800';

describe('decodeRadiotap: corpus frames', () => {
  test('QoS data with FCS: IPv4 UDP DNS inside, FCS trimmed (frame 1)', () => {
    const p = decodeHex(RT_QOS_DNS_QUERY, 127);
    assert.ok(p.has(LAYER_IPV4) && p.has(LAYER_UDP));
    // tshark: ip.src 172.17.156.76, ip.dst 208.67.220.220, ttl 64, udp 61738 > 53, udp.length 43,
    // dns.qry.name captive.apple.com; radiotap.flags.fcs 1
    assert.equal(formatIPv4(p.src4), '172.17.156.76');
    assert.equal(formatIPv4(p.dst4), '208.67.220.220');
    assert.equal(p.ipTtl, 64);
    assert.equal(p.srcPort, 61738);
    assert.equal(p.dstPort, 53);
    assert.equal(p.udpLength, 43);
    assert.ok(p.has(LAYER_DNS));
    assert.equal(p.dnsQueryName, 'captive.apple.com');
    assert.equal(p.ethType, 0x0800);
    assert.deepEqual(anomalies(p), []);
  });

  test('a data frame from the DS carrying IPv6 (frame 3, cut after the UDP header)', () => {
    const p = decodeHex(RT_DATA_MDNS_HEAD, 127, 25 + 24 + 8 + 40 + 288 + 4);
    assert.ok(p.has(LAYER_IPV6) && p.has(LAYER_UDP));
    // tshark: ipv6.src fe80::a667:6ff:fef7:ec54, ipv6.dst ff02::fb, hlim 255, udp 5353 > 5353
    assert.equal(formatIPv6(p.src6), 'fe80::a667:6ff:fef7:ec54');
    assert.equal(formatIPv6(p.dst6), 'ff02::fb');
    assert.equal(p.ipTtl, 255);
    assert.equal(p.srcPort, 5353);
    assert.equal(p.udpLength, 288);
  });
});

describe('decodeIEEE80211 and decodeRadiotap: crafted frames', () => {
  test('plain 802.11 data + SNAP names the EtherType', () => {
    const { p, next } = runDecoder(decodeIEEE80211, WLAN_DATA + SNAP_IPV4 + '45');
    assert.equal(next, 32);
    assert.equal(p.nextSpace, SPACE_ETHERTYPE);
    assert.equal(p.nextKey, 0x0800);
  });

  test('four addresses, QoS and HT control lengthen the header', () => {
    // FC 88 83: QoS data, to-DS and from-DS, order; 24 + 6 + 2 + 4 = 36 bytes of header.
    const hdr = '8883' + '0000' + '11'.repeat(18) + '0000' + '44'.repeat(6) + '0000' + '00000000';
    const { p, next } = runDecoder(decodeIEEE80211, hdr + SNAP_IPV4);
    assert.equal(next, 36 + 8);
    assert.equal(p.nextKey, 0x0800);
  });

  test('radiotap data padding rounds the header to 4 bytes', () => {
    // Flags field present (bit 1) = 0x20; QoS data header of 26 bytes, padded to 28.
    const rt = '0000' + '0900' + '02000000' + '20';
    const hdr = '8801' + '0000' + '11'.repeat(18) + '0000' + '0000';
    const { p, next } = runDecoder(decodeRadiotap, rt + hdr + '0000' + SNAP_IPV4);
    assert.equal(next, 9 + 28 + 8);
    assert.equal(p.nextKey, 0x0800);
  });

  test('extended present words are skipped before the fields', () => {
    // Two present words (bit 31 in the first), TSFT and flags: 4 pad bytes align TSFT to 8 at
    // offset 16, flags at 24.
    const rt = '0000' + '1900' + '03000080' + '00000000' + '00000000' + '0000000000000000' + '10';
    const { p, next } = runDecoder(decodeRadiotap, rt + WLAN_DATA + SNAP_IPV4 + '00000000');
    assert.equal(next, 25 + 24 + 8);
    // FCS flag: the 4 last bytes are not part of the packet.
    assert.equal(p.nextEnd, 25 + 24 + 8);
  });

  // name, bytes, which decoder, expected anomalies, expected return
  const stops: [string, string, typeof decodeRadiotap, string[], number][] = [
    ['management frame (beacon)', RT_EMPTY + '8000' + '00'.repeat(22), decodeRadiotap, [], -1],
    ['control frame (ACK)', RT_EMPTY + 'd400' + '00'.repeat(8), decodeRadiotap, [], -1],
    ['null data', RT_EMPTY + '4801' + '00'.repeat(22), decodeRadiotap, [], -1],
    ['protected data', RT_EMPTY + '0841' + '00'.repeat(22) + SNAP_IPV4, decodeRadiotap, [], -1],
    ['A-MSDU', RT_EMPTY + '8801' + '00'.repeat(22) + '8000' + SNAP_IPV4, decodeRadiotap, [], -1],
    ['version 1 frame control', '0900' + '00'.repeat(22), decodeIEEE80211, [], -1],
  ];
  for (const [name, hex, dec, expected, expectedNext] of stops) {
    test(`${name}: stops without an anomaly`, () => {
      const { p, next } = runDecoder(dec, hex);
      assert.equal(next, expectedNext);
      assert.deepEqual(anomalies(p), expected);
    });
  }

  test('non-SNAP LLC body is payload', () => {
    const p = decodeHex(RT_EMPTY + WLAN_DATA + '424203' + '00'.repeat(10), 127);
    assert.ok(p.has(LAYER_PAYLOAD) && !p.has(LAYER_IPV4));
    assert.equal(p.payloadOff, GUARD + 8 + 24);
  });
});

describe('decodeRadiotap: truncated and overflowing input', () => {
  // name, hex, snaplen cut, expected anomalies
  const cases: [string, string, boolean, string[]][] = [
    ['empty', '', false, ['radiotap.truncated']],
    ['7 bytes', RT_EMPTY.slice(0, 14), false, ['radiotap.truncated']],
    ['length 4', '0000040000000000', false, ['radiotap.len_invalid']],
    ['length beyond the whole frame', '0000ff0000000000' + WLAN_DATA, false, ['radiotap.len_invalid']],
    ['length beyond a snaplen-cut frame', '0000ff0000000000' + WLAN_DATA, true, ['radiotap.truncated']],
    ['present words run past the length', '0000' + '0c00' + '01000080' + '01000080', false, ['radiotap.len_invalid']],
    ['flags field past the length', '0000' + '0800' + '02000000', false, ['radiotap.len_invalid']],
    ['TSFT pushes flags past the length', '0000' + '1000' + '03000000' + '00000000', false, ['radiotap.len_invalid']],
    ['802.11 header cut', RT_EMPTY + WLAN_DATA.slice(0, 20), false, ['wlan.truncated']],
    ['frame control cut', RT_EMPTY + '08', false, ['wlan.truncated']],
    ['FCS flag on a 2-byte frame', '0000' + '0900' + '02000000' + '10' + '0800', false, ['wlan.truncated']],
  ];
  for (const [name, hex, truncated, expected] of cases) {
    test(name, () => {
      const { p, next } = runDecoder(decodeRadiotap, hex, truncated);
      assert.equal(next, -1);
      assert.deepEqual(anomalies(p), expected);
      for (const a of anomalies(p)) assert.ok(isKnownAnomaly(a), a);
    });
  }

  test('every prefix of a real radiotap frame decodes without a throw', () => {
    for (let n = 0; n <= RT_QOS_DNS_QUERY.length / 2; n++) {
      const p = decodeHex(RT_QOS_DNS_QUERY.slice(0, n * 2), 127, 149);
      assert.ok(!anomalies(p).includes('decode.internal_error'), String(n));
    }
  });
});
