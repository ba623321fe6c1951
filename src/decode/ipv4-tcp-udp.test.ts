/**
 * IPv4, TCP and UDP on real packets (dpkt__http.pcap) and on crafted short and inconsistent
 * headers. Expected values are tcpdump's / tshark's for the same bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeHex } from '../../test/helpers/frames.ts';
import { isKnownAnomaly } from '../core/anomalies.ts';
import { LAYER_IPV4, LAYER_TCP, LAYER_UDP } from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';
import { buildFields } from './fields.ts';
import { formatIPv4 } from './format.ts';

// 10:17:07.311224 IP 145.254.160.237.3372 > 65.208.228.223.80: Flags [S], seq 951057939,
// win 8760, options [mss 1460,nop,nop,sackOK], length 0 (ttl 128, id 3905, DF, cksum 0xc30c)
const SYN =
  'feff200001000000010000000800' +
  '450000300f414000800691eb91fea0ed41d0e4df' +
  '0d2c005038affe130000000070022238c30c0000020405b401010402';

// 10:17:09.864896 IP 145.254.160.237.3009 > 145.253.2.203.53: 35+ A? pagead2.googlesyndication.com. (47)
const DNS_QUERY =
  'feff200001000000010000000800' +
  '4500004b0f490000801163a591fea0ed91fd02cb' +
  '0bc10035003710af' +
  '002301000001000000000000077061676561643211676f6f676c6573796e6469636174696f6e03636f6d0000010001';

const codes = (p: PacketContext): string[] => p.anomalies.slice(0, p.anomalyCount);

describe('IPv4 / TCP / UDP on real packets', () => {
  it('TCP SYN: every IPv4 and TCP header field', () => {
    const p = decodeHex(SYN);
    assert.ok(p.has(LAYER_IPV4) && p.has(LAYER_TCP));
    assert.equal(formatIPv4(p.src4), '145.254.160.237');
    assert.equal(formatIPv4(p.dst4), '65.208.228.223');
    assert.equal(p.ipHeaderLength, 20);
    assert.equal(p.ipTotalLength, 48);
    assert.equal(p.ipId, 3905);
    assert.equal(p.ipFlags, 2);
    assert.equal(p.ipTtl, 128);
    assert.equal(p.protocol, 6);
    assert.equal(p.ipChecksumValid, 1);
    assert.equal(p.srcPort, 3372);
    assert.equal(p.dstPort, 80);
    assert.equal(p.tcpSeq, 951057939);
    assert.equal(p.tcpAck, 0);
    assert.equal(p.tcpDataOffset, 7);
    assert.equal(p.tcpFlags, 0x02);
    assert.equal(p.tcpWindow, 8760);
    assert.equal(p.tcpChecksum, 0xc30c);
    assert.equal(p.tcpMss, 1460);
    assert.equal(p.tcpSackPermitted, true);
    assert.equal(p.payloadLen, 0);
    assert.deepEqual(codes(p), []);
  });

  it('UDP DNS query: length bounds the payload', () => {
    const p = decodeHex(DNS_QUERY);
    assert.ok(p.has(LAYER_UDP));
    assert.equal(p.srcPort, 3009);
    assert.equal(p.dstPort, 53);
    assert.equal(p.udpLength, 55);
    assert.equal(p.payloadLen, 47);
    assert.equal(p.dnsId, 35);
  });

  it('a flipped header byte fails the IPv4 checksum', () => {
    const bad = SYN.slice(0, 28 + 16) + 'ff' + SYN.slice(28 + 18);
    const p = decodeHex(bad);
    assert.equal(p.ipChecksumValid, 0);
    assert.deepEqual(codes(p), ['ipv4.checksum_invalid']);
  });
});

describe('crafted short and inconsistent headers', () => {
  const ETH = 28; // hex chars of the Ethernet header
  const set = (hex: string, byteAt: number, value: string): string =>
    hex.slice(0, byteAt * 2) + value + hex.slice(byteAt * 2 + value.length);
  const cases: { name: string; hex: string; wirelen?: number; anomalies: string[] }[] = [
    {
      name: 'IPv4 cut inside its header (capture)',
      hex: SYN.slice(0, ETH + 20),
      wirelen: 62,
      anomalies: ['ipv4.truncated'],
    },
    { name: 'IPv4 version 5', hex: set(SYN, 14, '55'), anomalies: ['ipv4.version_invalid'] },
    { name: 'IPv4 IHL 4', hex: set(SYN, 14, '44'), anomalies: ['ipv4.hlen_invalid'] },
    {
      name: 'IPv4 total length beyond a whole frame',
      hex: set(set(SYN, 16, '0100'), 24, '0000'),
      anomalies: ['ipv4.len_invalid'],
    },
    {
      name: 'TCP cut after its ports (capture)',
      hex: SYN.slice(0, ETH + 40 + 8),
      wirelen: 62,
      anomalies: ['ipv4.truncated', 'tcp.truncated'],
    },
    { name: 'TCP data offset 4', hex: set(SYN, 46, '40'), anomalies: ['tcp.hlen_invalid'] },
    { name: 'TCP option length 0', hex: set(SYN, 55, '00'), anomalies: ['tcp.opt_invalid'] },
    { name: 'UDP length 4', hex: set(DNS_QUERY, 38, '0004'), anomalies: ['udp.len_invalid'] },
    { name: 'UDP length beyond the datagram', hex: set(DNS_QUERY, 38, '0100'), anomalies: ['udp.len_invalid'] },
    {
      name: 'UDP cut inside its header (capture)',
      hex: DNS_QUERY.slice(0, ETH + 40 + 8),
      wirelen: 89,
      anomalies: ['ipv4.truncated', 'udp.truncated'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = decodeHex(c.hex, 1, c.wirelen);
      const got = codes(p).filter((a) => a !== 'ipv4.checksum_invalid' || c.anomalies.includes(a));
      assert.deepEqual(got, c.anomalies);
      for (const a of got) assert.ok(isKnownAnomaly(a), a);
    });
  }
  it('every prefix of both packets decodes without an internal error', () => {
    for (const hex of [SYN, DNS_QUERY]) {
      for (let n = 0; n <= hex.length; n += 2) {
        const p = decodeHex(hex.slice(0, n), 1, hex.length / 2);
        assert.ok(!codes(p).includes('decode.internal_error'), `${n / 2} bytes`);
      }
    }
  });
});

describe('ports of a transport header cut short', () => {
  const fields = new Map(buildFields().map((f) => [f.name, f]));
  // As the record writers read a field: only with one of its layers (or any, for 0).
  const field = (p: PacketContext, name: string) => {
    const f = fields.get(name)!;
    return f.layers === 0 || (p.layers & f.layers) !== 0 ? f.get(p) : undefined;
  };
  const ipEnd = 14 + 20;
  for (const [proto, hex, headerLen] of [
    ['TCP', SYN, 20],
    ['UDP', DNS_QUERY, 8],
  ] as const) {
    it(`${proto}: the record shows the ports once 4 bytes of the header are captured, as flows key on them`, () => {
      const whole = decodeHex(hex);
      for (let n = 0; n < headerLen; n++) {
        const p = decodeHex(hex.slice(0, (ipEnd + n) * 2), 1, hex.length / 2);
        assert.ok(!p.has(LAYER_TCP) && !p.has(LAYER_UDP), `${n} bytes`);
        assert.ok(codes(p).includes(`${proto.toLowerCase()}.truncated`), `${n} bytes`);
        assert.equal(field(p, 'src_port'), n >= 4 ? whole.srcPort : undefined, `${n} bytes`);
        assert.equal(field(p, 'dest_port'), n >= 4 ? whole.dstPort : undefined, `${n} bytes`);
        assert.equal(field(p, 'tcp_flags'), undefined);
        assert.equal(field(p, 'udp_segment_total_length'), undefined);
        if (n >= 4) assert.deepEqual([p.srcPort, p.dstPort], [whole.srcPort, whole.dstPort]);
      }
      assert.equal(field(whole, 'src_port'), whole.srcPort);
    });
  }
});
