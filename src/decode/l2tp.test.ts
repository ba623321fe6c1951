import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anomalyCodes as anomalies, decodeHex, runDecoder } from '../../test/helpers/frames.ts';
import { isKnownAnomaly } from '../core/anomalies.ts';
import { LAYER_ICMPV6, LAYER_IPV4, LAYER_IPV6, LAYER_PPP, LAYER_TCP, LAYER_UDP } from '../core/layers.ts';
import { SPACE_LAYER } from './decoder.ts';
import { formatIPv4, formatIPv6 } from './format.ts';
import { decodeL2TP } from './l2tp.ts';

const decodeEth = (hex: string, wirelen?: number) => decodeHex(hex, 1, wirelen);

const run = (hex: string, truncated = false) => runDecoder(decodeL2TP, hex, truncated);

// Frames of dpkt__pppoe_ipv6_http_dns.pcap: Ethernet, PPPoE session 0x3b1a, PPP IPv4, UDP 1701.
// Frame 53: IP 95.136.242.99.1701 > 109.6.1.72.1701: l2tp:[](1527/8298)
//   {IP6 2a00:5e80:101:212d:504:7b1:2572:db22.37034 > 2606:f200:0:7:bad:f00d:d00d:1.80: Flags [S],
//   seq 345393054, win 27860, ...}
const L2TP_IPV6_SYN =
  '001733610000e0a1d718c273886411003b1a00780021450000765b5d000040115ee05f88f2636d06014806a506a500620000' +
  '000205f7206aff030057600000000028063f2a005e800101212d050407b12572db222606f200000000070badf00dd00d0001' +
  '90aa00501496479e00000000a0026cd41e9c0000020405710402080a000633ce0000000001030307';
// Frame 19: IP 109.6.1.72.1701 > 95.136.242.99.1701: l2tp:[O](18994/54110)
//   {IP6 fe80::ca4c:75ff:fe78:ed00 > ff02::1: ICMP6, router advertisement, length 24}
const L2TP_OFFSET_RA =
  'e0a1d718c273001733610000886411003b1a006a002145000068a06e0000fa115fdc6d0601485f88f26306a506a500540000' +
  '02024a32d35e0000ff0300576e00000000183afffe80000000000000ca4c75fffe78ed00ff0200000000000000000000000000' +
  '018600fea640080708000000000000000005010000000005aa';
// Frame 20: IP 95.136.242.99.1701 > 109.6.1.72.1701: l2tp:[](1527/8298) {LCP, Echo-Request (0x09), id 36}
const L2TP_LCP =
  '001733610000e0a1d718c273886411003b1a003000214500002e5b5a000040115f2b5f88f2636d06014806a506a5001a0000' +
  '000205f7206aff03c02109240008e7e18ff6';
// Frame 22: IP 95.136.242.99.1701 > 109.6.1.72.1701: l2tp:[TLS](1527/0)Ns=15,Nr=2 *MSGTYPE(HELLO)
const L2TP_HELLO =
  '001733610000e0a1d718c273886411003b1a0032002145b4003000004000401179cf5f88f2636d06014806a506a5001c0000' +
  'c802001405f70000000f00028008000000000006';

describe('decodeL2TP: corpus frames', () => {
  test('a data message carrying IPv6 enters the tunnel (frame 53)', () => {
    const p = decodeEth(L2TP_IPV6_SYN);
    assert.ok(p.has(LAYER_IPV6) && p.has(LAYER_TCP) && p.has(LAYER_PPP));
    assert.ok(!p.has(LAYER_IPV4) && !p.has(LAYER_UDP));
    // tshark: ipv6.src 2a00:5e80:101:212d:504:7b1:2572:db22, hlim 63, tcp 37034 > 80, flags 0x002,
    // seq_raw 345393054, window 27860; l2tp.tunnel 1527, l2tp.session 8298
    assert.equal(formatIPv6(p.src6), '2a00:5e80:101:212d:504:7b1:2572:db22');
    assert.equal(formatIPv6(p.dst6), '2606:f200:0:7:bad:f00d:d00d:1');
    assert.equal(p.ipTtl, 63);
    assert.equal(p.srcPort, 37034);
    assert.equal(p.dstPort, 80);
    assert.equal(p.tcpFlags, 0x02);
    assert.equal(p.tcpSeq, 345393054);
    assert.equal(p.tcpWindow, 27860);
    assert.equal(p.tunnel.type, 'l2tp');
    assert.equal(p.tunnel.id, 1527 * 65536 + 8298);
    assert.equal(formatIPv4(p.tunnel.src4), '95.136.242.99');
    assert.equal(formatIPv4(p.tunnel.dst4), '109.6.1.72');
    assert.equal(p.tunnel.srcPort, 1701);
    assert.deepEqual(anomalies(p), []);
  });

  test('the offset field is skipped (frame 19)', () => {
    const p = decodeEth(L2TP_OFFSET_RA);
    assert.ok(p.has(LAYER_IPV6) && p.has(LAYER_ICMPV6));
    // tshark: icmpv6.type 134, ipv6.hlim 255, l2tp.tunnel 18994, l2tp.session 54110
    assert.equal(formatIPv6(p.src6), 'fe80::ca4c:75ff:fe78:ed00');
    assert.equal(formatIPv6(p.dst6), 'ff02::1');
    assert.equal(p.icmpType, 134);
    assert.equal(p.ipTtl, 255);
    assert.equal(p.tunnel.id, 18994 * 65536 + 54110);
    assert.deepEqual(anomalies(p), []);
  });

  test('PPP LCP carries no packet: the outer UDP stays the innermost (frame 20)', () => {
    const p = decodeEth(L2TP_LCP);
    assert.ok(p.has(LAYER_IPV4) && p.has(LAYER_UDP) && !p.has(LAYER_IPV6));
    assert.equal(p.tunnelDepth, 0);
    assert.equal(formatIPv4(p.src4), '95.136.242.99');
    assert.equal(p.udpLength, 26);
    assert.deepEqual(anomalies(p), []);
  });

  test('a control message stays payload of the outer UDP (frame 22)', () => {
    const p = decodeEth(L2TP_HELLO);
    assert.ok(p.has(LAYER_IPV4) && p.has(LAYER_UDP));
    assert.equal(p.tunnelDepth, 0);
    assert.equal(p.srcPort, 1701);
    assert.deepEqual(anomalies(p), []);
  });
});

describe('decodeL2TP: header fields', () => {
  test('length, sequence and offset fields present: all skipped, length bounds the PPP frame', () => {
    // flags 0x4a02 (L, S, O, version 2), length 22, tunnel 1, session 2, Ns 3, Nr 4, offset 2 + pad,
    // PPP ff 03 00 21, then 4 bytes of the IPv4 packet, then 2 bytes past the L2TP length.
    const { p, next } = run('4a02' + '0016' + '00010002' + '00030004' + '0002aaaa' + 'ff030021' + '45000014' + 'eeee');
    assert.equal(next, 16);
    assert.equal(p.nextSpace, SPACE_LAYER);
    assert.equal(p.nextKey, LAYER_PPP);
    assert.equal(p.nextEnd, 22);
    assert.equal(p.tunnel.id, 65538);
    assert.deepEqual(anomalies(p), []);
  });

  test('a compressed one-byte PPP protocol without address/control is recognised', () => {
    const { p, next } = run('0002' + '00010002' + '57' + '60000000');
    assert.equal(next, 6);
    assert.equal(p.nextKey, LAYER_PPP);
  });

  test('version 3 on the port is left as payload', () => {
    const { p, next } = run('0003' + '0000' + '00000001' + 'ff030021');
    assert.equal(next, -1);
    assert.equal(p.tunnelDepth, 0);
    assert.deepEqual(anomalies(p), []);
  });
});

describe('decodeL2TP: truncated and overflowing input', () => {
  // name, hex, snaplen cut, expected anomalies, expected return
  const cases: [string, string, boolean, string[], number][] = [
    ['empty', '', false, [], -1],
    ['flags only', '0002', false, ['l2tp.truncated'], -1],
    ['cut inside the session id', '000205f720', true, ['l2tp.truncated'], -1],
    ['length bit set but header cut', '4002001c05f7', false, ['l2tp.truncated'], -1],
    ['length below the header', '400200040001000200ff0300', false, ['l2tp.len_invalid'], -1],
    // As UDP does: the lie is recorded and the bytes present still decode.
    ['length beyond the whole datagram', '40020040' + '00010002' + 'ff030021', false, ['l2tp.len_invalid'], 8],
    ['offset pad beyond the datagram', '0202' + '00010002' + '00ff' + 'ff030021', false, ['l2tp.len_invalid'], -1],
    [
      'offset pad beyond a snaplen-cut datagram',
      '0202' + '00010002' + '00ff' + 'ff030021',
      true,
      ['l2tp.truncated'],
      -1,
    ],
    ['PPP protocol cut after ff 03', '0002' + '00010002' + 'ff0300', false, [], -1],
    ['no PPP frame at all', '0002' + '00010002', false, [], -1],
  ];
  for (const [name, hex, truncated, expected, expectedNext] of cases) {
    test(name, () => {
      const { p, next } = run(hex, truncated);
      assert.deepEqual(anomalies(p), expected);
      for (const a of anomalies(p)) assert.ok(isKnownAnomaly(a), a);
      assert.equal(next, expectedNext);
    });
  }

  test('every prefix of a real L2TP frame decodes without a throw', () => {
    for (let n = 0; n <= L2TP_IPV6_SYN.length / 2; n++) {
      const p = decodeEth(L2TP_IPV6_SYN.slice(0, n * 2), 130);
      assert.ok(!anomalies(p).includes('decode.internal_error'), String(n));
    }
  });
});
