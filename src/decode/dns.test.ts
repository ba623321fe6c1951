import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { mapFrames, tsharkRows } from '../../test/helpers/corpus.ts';
import { anomalyCodes as anomalies } from '../../test/helpers/frames.ts';
import { isKnownAnomaly } from '../core/anomalies.ts';
import { LAYER_DNS, LAYER_TCP, layerBit } from '../core/layers.ts';
import { PacketContext } from '../core/packet.ts';
import { Frame } from '../core/source.ts';
import { PcapReader } from '../sources/pcap/pcap-reader.ts';
import { decodeFrame } from './dispatch.ts';
import { asciiText, DNS_MAX_POINTERS, decodeDNS, formatDNSText, MAX_DNS_ANSWERS } from './dns.ts';

const CORPUS = new URL('../../../shared/corpus/', import.meta.url);

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** Decode one Ethernet frame given as hex; `wirelen` above the bytes marks it cut by the snaplen. */
function decodeHex(h: string, wirelen?: number): PacketContext {
  const f = new Frame();
  f.buf = hex(h);
  f.caplen = f.buf.length;
  f.wirelen = wirelen ?? f.buf.length;
  f.linkType = 1;
  const p = new PacketContext();
  decodeFrame(p, f);
  return p;
}

interface Opts {
  tcp?: boolean;
  truncated?: boolean;
  /** Innermost IPv4 datagram is a fragment with more to come. */
  fragment?: boolean;
}

/** Run decodeDNS alone on a message (UDP payload, or TCP payload with its length prefix). */
function dns(bytes: Uint8Array, o: Opts = {}, p = new PacketContext()): PacketContext {
  p.reset(bytes);
  p.truncated = o.truncated ?? false;
  if (o.tcp) p.layers |= layerBit(LAYER_TCP);
  if (o.fragment) {
    p.ipVersion = 4;
    p.ipFlags = 1;
  }
  assert.equal(decodeDNS(p, bytes, 0, bytes.length), -1);
  return p;
}

const answers = (p: PacketContext) =>
  Array.from({ length: p.dnsAnswerCount }, (_, i) => [
    p.dnsAnswerNames[i],
    p.dnsAnswerTypes[i],
    p.dnsAnswerTtls[i],
    p.dnsAnswerData[i],
  ]);

/** A name in wire form from its labels (each a string of latin1 bytes). */
function name(...labels: string[]): number[] {
  const out: number[] = [];
  for (const l of labels) out.push(l.length, ...Array.from(l, (c) => c.charCodeAt(0)));
  out.push(0);
  return out;
}

const u16 = (v: number): number[] => [v >> 8, v & 255];
const u32 = (v: number): number[] => [(v >>> 24) & 255, (v >> 16) & 255, (v >> 8) & 255, v & 255];
const header = (id: number, flags: number, qd: number, an: number, ns = 0, ar = 0): number[] => [
  ...u16(id),
  ...u16(flags),
  ...u16(qd),
  ...u16(an),
  ...u16(ns),
  ...u16(ar),
];
const rr = (owner: number[], type: number, ttl: number, rdata: number[]): number[] => [
  ...owner,
  ...u16(type),
  ...u16(1),
  ...u32(ttl),
  ...u16(rdata.length),
  ...rdata,
];
/** Pointer to offset 12: the first question's name. */
const PTR_Q = [0xc0, 0x0c];

/** A query for one name, type A, class IN. */
const query = (...labels: string[]): Uint8Array =>
  Uint8Array.from([...header(0x1234, 0x0100, 1, 0), ...name(...labels), ...u16(1), ...u16(1)]);

/** Response for example.com: A, CNAME (compressed), MX, TXT (two strings), AAAA. */
const RESPONSE = Uint8Array.from([
  ...header(0xbeef, 0x8180, 1, 5),
  ...name('example', 'com'),
  ...u16(1),
  ...u16(1),
  ...rr(PTR_Q, 1, 60, [93, 184, 216, 34]),
  ...rr(PTR_Q, 5, 300, [3, 0x77, 0x77, 0x77, 0xc0, 0x0c]),
  ...rr(PTR_Q, 15, 3600, [0, 10, 4, 0x6d, 0x61, 0x69, 0x6c, 0xc0, 0x0c]),
  ...rr(PTR_Q, 16, 0xfffffff0, [2, 0x61, 0x62, 3, 0x63, 0x2c, 0x64]),
  ...rr(PTR_Q, 28, 5, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
]);

describe('decodeDNS: corpus fixtures', () => {
  it('UDP response with MX, NS, A and AAAA records (ppp__dns_mx.pcap #1)', () => {
    // 10:00:09.464079 IP 156.154.70.22.53 > 10.0.2.15.61302: 612 3/6/9 MX mta5.am0.yahoodns.net. 1,
    //   MX mta7.am0.yahoodns.net. 1, MX mta6.am0.yahoodns.net. 1 (394)
    const p = decodeHex(
      '52540012345652550a0002020800450001a604240000401186649c9a46160a00020f0035ef7601927dd20264818000' +
        '01000300060009057961686f6f03636f6d00000f0001c00c000f0001000000bb00190001046d74613503616d30087961' +
        '686f6f646e73036e657400c00c000f0001000000bb00090001046d746137c02ec00c000f0001000000bb00090001046d' +
        '746136c02ec00c0002000100013e490006036e7334c00cc00c0002000100013e490006036e7336c00cc00c0002000100' +
        '013e490006036e7332c00cc00c0002000100013e490006036e7333c00cc00c0002000100013e490006036e7331c00cc0' +
        '0c0002000100013e490006036e7335c00cc0be0001000100115b6d000444b48310c09a000100010011f4720004448eff' +
        '10c09a001c00010000025a001020014998014000000000000000001002c0ac000100010011e9c70004cb54dd35c0ac00' +
        '1c00010000071000102406860000b8fe030000000000001003c0760001000100124de10004628a0b9dc0d00001000100' +
        '11fadf000477a0f77cc08800010001000239cd00047965908bc088001c0001000000bb00102406200001080004000000' +
        '0000001006',
    );
    assert.ok(p.has(LAYER_DNS));
    assert.deepEqual(anomalies(p), []);
    // tshark: dns.id 0x0264, dns.flags 0x8180, yahoo.com MX IN, counts 1/3/6/9
    assert.equal(p.dnsId, 0x0264);
    assert.equal(p.dnsFlags, 0x8180);
    assert.equal(p.dnsRcode, 0);
    assert.deepEqual([p.dnsQdCount, p.dnsAnCount, p.dnsNsCount, p.dnsArCount], [1, 3, 6, 9]);
    assert.deepEqual([p.dnsQueryName, p.dnsQueryType, p.dnsQueryClass], ['yahoo.com', 15, 1]);
    assert.deepEqual(answers(p), [
      ['yahoo.com', 15, 187, '1 mta5.am0.yahoodns.net'],
      ['yahoo.com', 15, 187, '1 mta7.am0.yahoodns.net'],
      ['yahoo.com', 15, 187, '1 mta6.am0.yahoodns.net'],
    ]);
  });

  it('query over TCP with its length prefix (tcpdump__dns_over_tcp.pcap #4)', () => {
    // 09:21:03.847323 IP 192.168.1.11.33779 > 209.87.249.18.53: Flags [P.], seq 1:59, ack 1,
    //   win 64240, length 58 17177+ [1au] A? www.tcpdump.org. (56)
    const p = decodeHex(
      '0011223344660011223344550800450000629b2a40004006134ec0a8010bd157f91283f3003523fec80d79d249145018' +
        'faf0779600000038431901200001000000000001037777770774637064756d70036f72670000010001000029100000' +
        '000000000c000a00088f06be7d691442f0',
    );
    assert.ok(p.has(LAYER_TCP) && p.has(LAYER_DNS));
    assert.deepEqual(anomalies(p), []);
    // tshark: dns.id 0x4319, flags 0x0120, www.tcpdump.org A IN, counts 1/0/0/1
    assert.equal(p.dnsId, 0x4319);
    assert.equal(p.dnsFlags, 0x0120);
    assert.deepEqual([p.dnsQdCount, p.dnsAnCount, p.dnsNsCount, p.dnsArCount], [1, 0, 0, 1]);
    assert.deepEqual([p.dnsQueryName, p.dnsQueryType, p.dnsQueryClass], ['www.tcpdump.org', 1, 1]);
    assert.equal(p.dnsAnswerCount, 0);
    // The TCP payload fields stay those TCP set.
    assert.equal(p.payloadLen, 58);
  });

  it('answer names through a chain of compression pointers (zeek__dns_max_compression_depth.pcap)', () => {
    // 15:01:39.961367 IP 1.2.3.4.12345 > 5.6.7.8.53: 4660 7/0/0 A 127.0.0.1, A 127.0.0.2, A 127.0.0.3,
    //   A 127.0.0.4, A 127.0.0.5, A 127.0.0.6, A 127.0.0.7 (132)
    const p = decodeHex(
      'ffffffffffff00e04ca5c9360800450000a00001000040116a39010203040506070830390035008cc34c123481800001' +
        '00070000000001610000010001016100000100010000012c00047f000001c013000100010000012c00047f000002c0' +
        '24000100010000012c00047f000003c034000100010000012c00047f000004c044000100010000012c00047f000005' +
        'c054000100010000012c00047f000006c064000100010000012c00047f000007',
    );
    assert.deepEqual(anomalies(p), []);
    assert.equal(p.dnsQueryName, 'a');
    // tshark: seven answers named 'a', TTL 300, 127.0.0.1 .. 127.0.0.7
    assert.deepEqual(
      answers(p),
      [1, 2, 3, 4, 5, 6, 7].map((i) => ['a', 1, 300, `127.0.0.${i}`]),
    );
  });

  it('response cut by a 200-byte snaplen keeps the whole answers (dpkt__dns_snaplen_truncated.pcap)', () => {
    // 10:12:43.787495 IP 192.168.1.100.53 > 24.157.241.171.18741: 63699 9/0/0 CNAME api.samsungspd.com.,
    //   A 54.75.141.161, A 99.81.251.12, A 52.50.121.244, A 52.210.193.207, A 52.50.159.204, [|domain]
    const p = decodeHex(
      '2047478d8d5e881dfcbaed800800450000e0000040003b112ad7c0a80164189df1ab0035493500cc5a02f8d381800001' +
        '00090000000003617069037370640973616d73756e67646d03636f6d0000010001c00c000500010000012c00110361' +
        '70690a73616d73756e67737064c01ec033000100010000003c0004364b8da1c033000100010000003c00046351fb0c' +
        'c033000100010000003c0004343279f4c033000100010000003c000434d2c1cfc033000100010000003c000434329f' +
        'ccc033000100010000003c',
      238,
    );
    assert.ok(p.truncated);
    assert.ok(anomalies(p).includes('dns.truncated'));
    assert.equal(p.dnsAnCount, 9);
    // tshark: the same six answers, then the seventh cut in its fixed part
    assert.deepEqual(answers(p), [
      ['api.spd.samsungdm.com', 5, 300, 'api.samsungspd.com'],
      ['api.samsungspd.com', 1, 60, '54.75.141.161'],
      ['api.samsungspd.com', 1, 60, '99.81.251.12'],
      ['api.samsungspd.com', 1, 60, '52.50.121.244'],
      ['api.samsungspd.com', 1, 60, '52.210.193.207'],
      ['api.samsungspd.com', 1, 60, '52.50.159.204'],
    ]);
  });

  it('self-referencing compression pointer (tcpdump__dns_compression_loop.pcap)', () => {
    // 17:47:11.643199 IP 10.0.0.1.1024 > 146.84.28.88.53: domain [length 0 < 12] (invalid)
    const frame =
      '006094eb552f00c04f6b9fe008004500003f3b890000401186780a00000192541c5804000035000882b7ed69000000' +
      '01000000000000c00cc007c010c017c020c027c030c0ffcf000000010001';
    // The UDP length field says 8: the datagram is empty, so neither tshark nor we see DNS.
    const whole = decodeHex(frame);
    assert.ok(!whole.has(LAYER_DNS));
    assert.ok(!anomalies(whole).some((a) => a.startsWith('dns.')));
    // The bytes after the UDP header, decoded as a message: the question name points at itself.
    // tshark shows '<Name contains a pointer that loops>'; we hide the question and flag it.
    const p = dns(hex(frame).subarray(42));
    assert.ok(p.has(LAYER_DNS));
    assert.equal(p.dnsId, 0xed69);
    assert.deepEqual(anomalies(p), ['dns.pointer_loop']);
    assert.equal(p.dnsQueryType, -1);
  });

  it('question name longer than 255 bytes (tcpdump__dns_bad_label.pcap)', () => {
    // A 63207-byte frame: read from the corpus rather than inlined.
    const p = new PacketContext();
    let frames = 0;
    const r = new PcapReader((f) => {
      frames++;
      decodeFrame(p, f);
    });
    r.push(readFileSync(new URL('tcpdump__dns_bad_label.pcap', CORPUS)));
    r.end();
    assert.equal(frames, 1);
    // tshark: dns.id 0xc980, rcode 15, 507 answers, question '<Name too long>' (hidden here)
    assert.ok(p.has(LAYER_DNS));
    assert.equal(p.dnsId, 0xc980);
    assert.equal(p.dnsRcode, 15);
    assert.equal(p.dnsAnCount, 507);
    assert.equal(p.dnsQueryType, -1);
    assert.deepEqual(anomalies(p), ['dns.label_invalid']);
  });
});

describe('decodeDNS: crafted messages', () => {
  it('decodes every answer type shown as text', () => {
    const p = dns(RESPONSE);
    assert.deepEqual(anomalies(p), []);
    assert.deepEqual(
      [p.dnsId, p.dnsRcode, p.dnsQueryName, p.dnsQueryType, p.dnsQueryClass],
      [0xbeef, 0, 'example.com', 1, 1],
    );
    assert.deepEqual(answers(p), [
      ['example.com', 1, 60, '93.184.216.34'],
      ['example.com', 5, 300, 'www.example.com'],
      ['example.com', 15, 3600, '10 mail.example.com'],
      // TTLs are unsigned (tshark shows 4294967280); TXT strings joined with ',' as tshark's field
      ['example.com', 16, 0xfffffff0, 'ab,c,d'],
      ['example.com', 28, 5, '2001:db8::1'],
    ]);
  });

  it('shows the root as <Root> and other types as hex', () => {
    const m = Uint8Array.from([
      ...header(1, 0x8180, 1, 1),
      0,
      ...u16(2),
      ...u16(1),
      ...rr([0], 6, 10, [0xde, 0xad, 0xbe, 0xef]),
    ]);
    const p = dns(m);
    assert.equal(p.dnsQueryName, '<Root>');
    assert.deepEqual(answers(p), [['<Root>', 6, 10, 'deadbeef']]);
  });

  it('keeps at most MAX_DNS_ANSWERS answers and reuses the arrays', () => {
    const many = Uint8Array.from([
      ...header(2, 0x8180, 1, 20),
      ...name('x'),
      ...u16(1),
      ...u16(1),
      ...Array.from({ length: 20 }, (_, i) => rr(PTR_Q, 1, i, [10, 0, 0, i])).flat(),
    ]);
    const p = dns(many);
    assert.deepEqual(anomalies(p), []);
    assert.equal(p.dnsAnCount, 20);
    assert.equal(p.dnsAnswerCount, MAX_DNS_ANSWERS);
    assert.equal(p.dnsAnswerData[15], '10.0.0.15');
    const names = p.dnsAnswerNames;
    dns(RESPONSE, {}, p);
    assert.equal(p.dnsAnswerCount, 5);
    assert.equal(p.dnsAnswerNames, names, 'the same array, overwritten');
    assert.equal(names.length, MAX_DNS_ANSWERS);
    assert.equal(names[0], 'example.com');
  });

  it('skips further questions to reach the answers', () => {
    const m = Uint8Array.from([
      ...header(3, 0x8180, 2, 1),
      ...name('first', 'q'),
      ...u16(1),
      ...u16(1),
      ...[0xc0, 0x12], // 'q', inside the first name
      ...u16(28),
      ...u16(1),
      ...rr(PTR_Q, 1, 1, [1, 2, 3, 4]),
    ]);
    const p = dns(m);
    assert.deepEqual(anomalies(p), []);
    assert.deepEqual([p.dnsQueryName, p.dnsQueryType], ['first.q', 1]);
    assert.deepEqual(answers(p), [['first.q', 1, 1, '1.2.3.4']]);
  });

  it('follows a chain of DNS_MAX_POINTERS pointers and refuses a longer one', () => {
    // Question name at 12: a pointer to 18; after its type and class, more pointers each to the
    // next, the last to the name 'z'. `jumps` pointers are followed in all.
    const chain = (jumps: number): Uint8Array => {
      const b = [...header(5, 0x0100, 1, 0), 0xc0, 18, ...u16(1), ...u16(1)];
      for (let i = 1; i < jumps; i++) b.push(0xc0, 18 + 2 * i);
      return Uint8Array.from([...b, ...name('z')]);
    };
    const ok = dns(chain(DNS_MAX_POINTERS));
    assert.deepEqual(anomalies(ok), []);
    assert.equal(ok.dnsQueryName, 'z');
    const loop = dns(chain(DNS_MAX_POINTERS + 1));
    assert.deepEqual(anomalies(loop), ['dns.pointer_loop']);
    assert.equal(loop.dnsQueryType, -1);
  });
});

describe('decodeDNS: truncated and malformed input', () => {
  const Q = query('example', 'com');
  const withAnswer = (rdtype: number, rdata: number[]): Uint8Array =>
    Uint8Array.from([...header(6, 0x8180, 1, 1), ...name('a'), ...u16(1), ...u16(1), ...rr(PTR_Q, rdtype, 1, rdata)]);
  const cases: { name: string; bytes: Uint8Array; opts?: Opts; anomalies: string[]; layer: boolean; qtype?: number }[] =
    [
      { name: 'empty UDP payload', bytes: new Uint8Array(0), anomalies: [], layer: false },
      {
        name: 'empty UDP payload cut by the capture',
        bytes: new Uint8Array(0),
        opts: { truncated: true },
        anomalies: ['dns.truncated'],
        layer: false,
      },
      { name: 'header cut at 5 bytes', bytes: Q.subarray(0, 5), anomalies: ['dns.truncated'], layer: false },
      {
        name: 'header only, QDCOUNT 1',
        bytes: Q.subarray(0, 12),
        anomalies: ['dns.truncated'],
        layer: true,
        qtype: -1,
      },
      {
        name: 'question name cut inside a label',
        bytes: Q.subarray(0, 16),
        anomalies: ['dns.truncated'],
        layer: true,
        qtype: -1,
      },
      {
        name: 'question type and class missing',
        bytes: Q.subarray(0, Q.length - 3),
        anomalies: ['dns.truncated'],
        layer: true,
        qtype: -1,
      },
      {
        name: 'pointer past the end of the message',
        bytes: Uint8Array.from([...header(7, 0, 1, 0), 0xc0, 0xff, ...u16(1), ...u16(1)]),
        anomalies: ['dns.truncated'],
        layer: true,
        qtype: -1,
      },
      {
        name: 'pointer cut after its first byte',
        bytes: Uint8Array.from([...header(7, 0, 1, 0), 0xc0]),
        anomalies: ['dns.truncated'],
        layer: true,
        qtype: -1,
      },
      {
        name: 'two pointers to each other',
        bytes: Uint8Array.from([...header(8, 0, 1, 0), 0xc0, 14, 0xc0, 12]),
        anomalies: ['dns.pointer_loop'],
        layer: true,
        qtype: -1,
      },
      {
        name: 'extended label type 0x40',
        bytes: Uint8Array.from([...header(9, 0, 1, 0), 0x41, 0, ...u16(1), ...u16(1)]),
        anomalies: ['dns.label_invalid'],
        layer: true,
        qtype: -1,
      },
      {
        name: 'reserved label type 0x80',
        bytes: Uint8Array.from([...header(9, 0, 1, 0), 0x81, 0x61, 0, ...u16(1), ...u16(1)]),
        anomalies: ['dns.label_invalid'],
        layer: true,
        qtype: -1,
      },
      {
        name: 'name of 256 bytes on the wire',
        bytes: query(...['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(62)]),
        anomalies: ['dns.label_invalid'],
        layer: true,
        qtype: -1,
      },
      {
        name: 'answer fixed part cut',
        bytes: withAnswer(1, [1, 2, 3, 4]).subarray(0, 25),
        anomalies: ['dns.truncated'],
        layer: true,
        qtype: 1,
      },
      {
        name: 'answer data cut',
        bytes: withAnswer(1, [1, 2, 3, 4]).subarray(0, 33),
        anomalies: ['dns.truncated'],
        layer: true,
        qtype: 1,
      },
      {
        name: 'A record of 3 bytes',
        bytes: withAnswer(1, [1, 2, 3]),
        anomalies: ['dns.rdata_invalid'],
        layer: true,
        qtype: 1,
      },
      {
        name: 'AAAA record of 4 bytes',
        bytes: withAnswer(28, [1, 2, 3, 4]),
        anomalies: ['dns.rdata_invalid'],
        layer: true,
        qtype: 1,
      },
      {
        name: 'MX record without an exchange',
        bytes: withAnswer(15, [0, 5]),
        anomalies: ['dns.rdata_invalid'],
        layer: true,
        qtype: 1,
      },
      {
        name: 'CNAME running past its data',
        bytes: withAnswer(5, [3, 0x61, 0x62]),
        anomalies: ['dns.truncated'],
        layer: true,
        qtype: 1,
      },
      {
        name: 'CNAME longer than its RDLENGTH',
        bytes: Uint8Array.from([...withAnswer(5, [3, 0x61, 0x62]), 0x63, 0]),
        anomalies: ['dns.rdata_invalid'],
        layer: true,
        qtype: 1,
      },
      {
        name: 'CNAME pointing at itself',
        bytes: withAnswer(5, [0xc0, 31]),
        anomalies: ['dns.pointer_loop'],
        layer: true,
        qtype: 1,
      },
      {
        name: 'TXT string past its data',
        bytes: withAnswer(16, [5, 0x61]),
        anomalies: ['dns.rdata_invalid'],
        layer: true,
        qtype: 1,
      },
      // TCP: 2-byte length prefix first.
      {
        name: 'TCP segment of 13 bytes',
        bytes: Uint8Array.from([0, 29, ...Q.subarray(0, 11)]),
        opts: { tcp: true },
        anomalies: [],
        layer: false,
      },
      {
        name: 'TCP segment of 13 bytes cut by the capture',
        bytes: Uint8Array.from([0, 29, ...Q.subarray(0, 11)]),
        opts: { tcp: true, truncated: true },
        anomalies: ['dns.truncated'],
        layer: false,
      },
      {
        name: 'TCP length prefix below a header',
        bytes: Uint8Array.from([0, 11, ...Q]),
        opts: { tcp: true },
        anomalies: [],
        layer: false,
      },
      {
        name: 'TCP continuation segment (opcode 3)',
        bytes: Uint8Array.from([0, 29, 0x12, 0x34, 0x18, 0, ...Q.subarray(4)]),
        opts: { tcp: true },
        anomalies: [],
        layer: false,
      },
      {
        name: 'TCP continuation segment (QDCOUNT 4660)',
        bytes: Uint8Array.from([0, 29, 0x12, 0x34, 1, 0, 0x12, 0x34, ...Q.subarray(6)]),
        opts: { tcp: true },
        anomalies: [],
        layer: false,
      },
      {
        name: 'TCP message that goes on in the next segment',
        bytes: Uint8Array.from([1, 0, ...RESPONSE.subarray(0, 60)]),
        opts: { tcp: true },
        anomalies: [],
        layer: true,
        qtype: 1,
      },
      {
        name: 'TCP message cut by the capture',
        bytes: Uint8Array.from([1, 0, ...RESPONSE.subarray(0, 60)]),
        opts: { tcp: true, truncated: true },
        anomalies: ['dns.truncated'],
        layer: true,
        qtype: 1,
      },
      {
        name: 'TCP message shorter than its counts say',
        bytes: Uint8Array.from([0, 60, ...RESPONSE]),
        opts: { tcp: true },
        anomalies: ['dns.truncated'],
        layer: true,
        qtype: 1,
      },
      {
        name: 'first IP fragment of a long response',
        bytes: RESPONSE.subarray(0, 60),
        opts: { fragment: true },
        anomalies: [],
        layer: true,
        qtype: 1,
      },
    ];
  for (const c of cases) {
    it(c.name, () => {
      const p = dns(c.bytes, c.opts);
      assert.deepEqual(anomalies(p), c.anomalies);
      assert.equal(p.has(LAYER_DNS), c.layer);
      if (c.qtype !== undefined) assert.equal(p.dnsQueryType, c.qtype);
      for (const a of anomalies(p)) assert.ok(isKnownAnomaly(a), a);
    });
  }

  it('a name of exactly 255 bytes is accepted', () => {
    const p = dns(query(...['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)]));
    assert.deepEqual(anomalies(p), []);
    assert.equal(p.dnsQueryName.length, 253);
  });

  it('bad record data is kept as hex and the next answers still decode', () => {
    const m = Uint8Array.from([
      ...header(10, 0x8180, 1, 2),
      ...name('a'),
      ...u16(1),
      ...u16(1),
      ...rr(PTR_Q, 1, 1, [1, 2, 3]),
      ...rr(PTR_Q, 1, 2, [4, 3, 2, 1]),
    ]);
    const p = dns(m);
    assert.deepEqual(anomalies(p), ['dns.rdata_invalid']);
    assert.deepEqual(answers(p), [
      ['a', 1, 1, '010203'],
      ['a', 1, 2, '4.3.2.1'],
    ]);
  });

  it('every prefix of a response decodes without a throw, answers growing with the bytes', () => {
    const tcp = Uint8Array.from([...u16(RESPONSE.length), ...RESPONSE]);
    for (const [msg, tcpMode] of [
      [RESPONSE, false],
      [tcp, true],
    ] as const) {
      let last = 0;
      for (let n = 0; n < msg.length; n++) {
        const p = dns(msg.subarray(0, n), { tcp: tcpMode, truncated: true });
        const expectDNS = n >= (tcpMode ? 14 : 12);
        assert.equal(p.has(LAYER_DNS), expectDNS, `prefix ${n}`);
        if (n > 0 || !tcpMode) assert.deepEqual(anomalies(p), ['dns.truncated'], `prefix ${n}`);
        assert.ok(p.dnsAnswerCount >= last && p.dnsAnswerCount < 5, `prefix ${n}`);
        last = p.dnsAnswerCount;
      }
      assert.equal(last, 4);
    }
  });
});

describe('DNS name text, as tshark 4.0 shows it', () => {
  // Each label's bytes and the text tshark 4.0.17 printed for dns.qry.name (checked by hand on
  // crafted captures). Labels are joined with '.' before the text is made, as tshark does.
  const cases: [string, number[][], string][] = [
    ['controls as C escapes or octal', [[0, 7, 8, 9, 10, 11, 12, 13, 0x1b]], '\\000\\a\\b\\t\\n\\v\\f\\r\\033'],
    [
      'dot, space and backslash inside labels kept',
      [
        [0x61, 1, 0x20, 0xfb, 0x2e],
        [0x62, 0x5c, 0x63],
        [0x7f, 0x80],
      ],
      'a\\001 \ufffd..b\\c.\\177\ufffd',
    ],
    [
      'valid UTF-8',
      [
        [0xc3, 0xa9, 0x78],
        [0xe2, 0x82, 0xac, 0x78],
        [0xf0, 0x9f, 0x98, 0x80, 0x78],
      ],
      'éx.€x.😀x',
    ],
    [
      'overlong forms are decoded',
      [
        [0xc0, 0x80, 0x78],
        [0xc1, 0x81, 0x78],
        [0xe0, 0x80, 0x80, 0x78],
      ],
      '\\u0000x.Ax.\\u0000x',
    ],
    [
      'incomplete sequence: one U+FFFD, next byte read again',
      [
        [0xe2, 0x82, 0x78],
        [0xc3, 0xc3, 0xa9, 0x78],
      ],
      '\ufffdx.\ufffdéx',
    ],
    [
      'surrogates and values past U+10FFFF',
      [
        [0xed, 0xa0, 0x80, 0x78],
        [0xf4, 0x90, 0x80, 0x80, 0x78],
        [0xf5, 0x80, 0x80, 0x80, 0x78],
      ],
      '\ufffdx.\ufffdx.\ufffdx',
    ],
    [
      'stray continuation bytes and 0xfe/0xff',
      [
        [0x80, 0x80, 0x78],
        [0xfe, 0xff, 0x78],
        [0x80, 0xfe, 0x78],
      ],
      '\ufffd\ufffdx.\ufffd\ufffdx.\ufffd\ufffdx',
    ],
    [
      'old five- and six-byte forms',
      [
        [0xf8, 0x80, 0x78],
        [0xf8, 0x80, 0x80, 0x80, 0x80, 0x78],
        [0xfc, 0x80, 0x80, 0x80, 0x80, 0x80, 0x78],
      ],
      '\ufffdx.\\u0000x.\\u0000x',
    ],
    [
      'C1 controls, format characters and noncharacters escaped',
      [
        [0xc2, 0x85, 0x78],
        [0xe2, 0x80, 0x8b, 0x78],
        [0xc2, 0xad, 0x78],
        [0xef, 0xbf, 0xbf, 0x78],
        [0xef, 0xbf, 0xbe, 0x78],
        [0xef, 0xb7, 0x90, 0x78],
      ],
      '\\u0085x.\\u200Bx.\\u00ADx.\\uFFFFx.\\uFFFEx.\\uFDD0x',
    ],
    [
      'astral non-printables as \\U',
      [
        [0xf3, 0xa0, 0x80, 0x81, 0x78],
        [0xf4, 0x8f, 0xbf, 0xbf, 0x78],
      ],
      '\\U000E0001x.\\U0010FFFFx',
    ],
    [
      'no-break space, private use and line separator printed',
      [
        [0xc2, 0xa0, 0x78],
        [0xee, 0x80, 0x80, 0x78],
        [0xe2, 0x80, 0xa8, 0x78],
      ],
      '\u00a0x.\ue000x.\u2028x',
    ],
  ];
  for (const [what, labels, text] of cases) {
    it(what, () => {
      const wire = labels.flatMap((l) => [l.length, ...l]);
      const m = Uint8Array.from([...header(1, 0x0100, 1, 0), ...wire, 0, ...u16(1), ...u16(1)]);
      const p = dns(m);
      assert.deepEqual(anomalies(p), []);
      assert.equal(p.dnsQueryName, text);
    });
  }

  it('deliberate difference: unassigned code points are printed (tshark shows \\u0378)', () => {
    assert.equal(formatDNSText(Uint8Array.of(0xcd, 0xb8), 0, 2), '\u0378');
  });

  it('asciiText: ASCII kept, control bytes raw, other bytes U+FFFD (tshark ENC_ASCII)', () => {
    assert.equal(asciiText(Uint8Array.of(0x61, 0x01, 0xc3, 0xa9, 0x62), 0, 5), 'a\x01\ufffd\ufffdb');
    assert.equal(asciiText(Uint8Array.of(0x61, 0x62), 1, 1), '');
    const long = new Uint8Array(5000).fill(0x41);
    assert.equal(asciiText(long, 0, 5000), 'A'.repeat(5000));
    long[4000] = 0xe9;
    assert.equal(asciiText(long, 3990, 4010), 'A'.repeat(10) + '\ufffd' + 'A'.repeat(9));
    assert.equal(asciiText(long, 1, 4001), 'A'.repeat(3999) + '\ufffd');
  });
});

// ---- tshark comparison over corpus captures ----

/** Joins the values of a multi-valued field: a byte no name text contains unescaped. */
const SEP = '\x1f';

/** tshark's values of `fields` for every frame, without reassembly: one array of values per field. */
function tshark(file: string, fields: string[]): string[][][] {
  return tsharkRows(file, fields, SEP).map((row) => row.map((v) => (v === '' ? [] : v.split(SEP))));
}

interface DNSView {
  dns: boolean;
  id: number;
  rcode: number;
  query: string | undefined;
  qtype: number;
  an: number;
  answers: (string | number)[][];
}

function decodeFile(file: string): DNSView[] {
  return mapFrames(file, (p) => ({
    dns: p.has(LAYER_DNS),
    id: p.dnsId,
    rcode: p.dnsRcode,
    query: p.dnsQdCount > 0 && p.dnsQueryType >= 0 ? p.dnsQueryName : undefined,
    qtype: p.dnsQueryType,
    an: p.dnsAnCount,
    answers: answers(p) as (string | number)[][],
  }));
}

const FIELDS = [
  'dns.id',
  'dns.flags.rcode',
  'dns.qry.name',
  'dns.qry.type',
  'dns.count.answers',
  'dns.resp.name',
  'dns.resp.type',
  'dns.resp.ttl',
  'dns.a',
  'dns.aaaa',
  'dns.cname',
  'dns.ns',
  'dns.ptr.domain_name',
  'dns.mx.preference',
  'dns.mx.mail_exchange',
  'dns.txt',
] as const;

/**
 * Compare one capture with tshark, frame by frame. tshark's per-type data fields list the records
 * of every section in order, so the k-th answer of a type is the k-th value of its field.
 */
function compareWithTshark(file: string): { frames: number; answers: number } {
  const ours = decodeFile(file);
  const theirs = tshark(file, [...FIELDS]);
  assert.equal(theirs.length, ours.length, `${file}: frame count`);
  let frames = 0;
  let compared = 0;
  for (let i = 0; i < ours.length; i++) {
    const o = ours[i]!;
    const t = Object.fromEntries(FIELDS.map((f, k) => [f, theirs[i]![k]!])) as Record<
      (typeof FIELDS)[number],
      string[]
    >;
    const at = `${file} #${i + 1}`;
    assert.equal(o.dns, t['dns.id'].length > 0, `${at}: DNS present`);
    if (!o.dns) continue;
    frames++;
    assert.equal(o.id, Number.parseInt(t['dns.id'][0]!, 16), `${at}: id`);
    // tshark shows the rcode of responses only.
    if (t['dns.flags.rcode'].length > 0) assert.equal(o.rcode, Number(t['dns.flags.rcode'][0]), `${at}: rcode`);
    assert.equal(o.query, t['dns.qry.name'][0], `${at}: query name`);
    if (o.query !== undefined) assert.equal(o.qtype, Number(t['dns.qry.type'][0]), `${at}: query type`);
    assert.equal(o.an, Number(t['dns.count.answers'][0]), `${at}: ANCOUNT`);
    // Answers tshark could read, up to our cap: the same records in the same order.
    const n = Math.min(o.an, MAX_DNS_ANSWERS, t['dns.resp.name'].length);
    assert.equal(o.answers.length, n, `${at}: answers decoded`);
    const next: Record<string, number> = {};
    const take = (field: (typeof FIELDS)[number]): string => {
      const k = next[field] ?? 0;
      next[field] = k + 1;
      return t[field][k]!;
    };
    for (let a = 0; a < n; a++) {
      const [nm, type, ttl, data] = o.answers[a]!;
      assert.equal(nm, t['dns.resp.name'][a], `${at}: answer ${a} name`);
      assert.equal(type, Number(t['dns.resp.type'][a]), `${at}: answer ${a} type`);
      assert.equal(ttl, Number(t['dns.resp.ttl'][a]), `${at}: answer ${a} ttl`);
      const d = data as string;
      switch (type) {
        case 1:
          assert.equal(d, take('dns.a'), `${at}: answer ${a} A`);
          break;
        case 28:
          assert.equal(d, take('dns.aaaa'), `${at}: answer ${a} AAAA`);
          break;
        case 5:
          assert.equal(d, take('dns.cname'), `${at}: answer ${a} CNAME`);
          break;
        case 2:
          assert.equal(d, take('dns.ns'), `${at}: answer ${a} NS`);
          break;
        case 12:
          assert.equal(d, take('dns.ptr.domain_name'), `${at}: answer ${a} PTR`);
          break;
        case 15:
          assert.equal(d, `${take('dns.mx.preference')} ${take('dns.mx.mail_exchange')}`, `${at}: answer ${a} MX`);
          break;
        case 16: {
          // One tshark value per string: take strings until they spell our joined text.
          let s = take('dns.txt') ?? '';
          while (s.length < d.length) s += ',' + take('dns.txt');
          assert.equal(d, s, `${at}: answer ${a} TXT`);
          break;
        }
        default:
          assert.match(d, /^([0-9a-f]{2})*$/, `${at}: answer ${a} hex`);
      }
      compared++;
    }
  }
  return { frames, answers: compared };
}

describe('DNS fields agree with tshark over corpus captures', () => {
  // [file, DNS frames, answers compared]: the counts keep the comparison from passing vacuously.
  // IPv4 and IPv6, UDP and TCP, first IP fragments (decoded as far as their bytes go, as tshark
  // does without reassembly) are all included; no exception is needed in these files.
  const files: [string, number, number][] = [
    ['ppp__dns_many.pcap', 464, 991],
    ['zeek__dns_edns_ecs.pcap', 85, 96],
    ['tcpdump__dns_over_tcp.pcap', 2, 2],
    ['tcpdump__dns_edns_opts.pcap', 42, 28],
    ['zeek__dns_dnssec_nsec3.pcap', 2, 0],
    ['zeek__dns_txt_cname.pcap', 2, 3],
    ['ppp__dns_mx.pcap', 1, 3],
    ['dpkt__dns_snaplen_truncated.pcap', 1, 6],
    ['zeek__dns_max_compression_depth.pcap', 1, 7],
  ];
  for (const [file, frames, answersCompared] of files) {
    it(file, () => {
      const r = compareWithTshark(file);
      assert.equal(r.frames, frames);
      assert.equal(r.answers, answersCompared);
    });
  }
});

describe('decodeDNS: arbitrary bytes', () => {
  /** Small deterministic PRNG (mulberry32) so a failure can be replayed. */
  function rng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  /** UDP payloads of the DNS packets of a capture, copied. */
  function realPayloads(file: string): Uint8Array[] {
    const out: Uint8Array[] = [];
    const p = new PacketContext();
    const r = new PcapReader((f) => {
      decodeFrame(p, f);
      if (p.has(LAYER_DNS) && !p.has(LAYER_TCP)) out.push(p.buf.slice(p.payloadOff, p.payloadOff + p.payloadLen));
    });
    r.push(readFileSync(new URL(file, CORPUS)));
    r.end();
    return out;
  }

  const snapshot = (p: PacketContext): string =>
    JSON.stringify([
      p.layers,
      anomalies(p),
      p.dnsId,
      p.dnsFlags,
      p.dnsQueryName,
      p.dnsQueryType,
      p.dnsQueryClass,
      answers(p),
    ]);

  /** Anomalies met, so the inputs are known to reach every failure path. */
  const seen = new Set<string>();

  /** Decode `m` twice, alone and followed by junk: same result (nothing read past the end). */
  function check(p: PacketContext, m: Uint8Array, tcp: boolean, junk: Uint8Array): void {
    const o = { tcp, truncated: junk[0]! < 64 };
    dns(m, o, p);
    assert.ok(p.dnsAnswerCount <= MAX_DNS_ANSWERS);
    for (const a of anomalies(p)) {
      assert.ok(isKnownAnomaly(a), a);
      seen.add(a);
    }
    const alone = snapshot(p);
    const padded = new Uint8Array(m.length + junk.length);
    padded.set(m);
    padded.set(junk, m.length);
    p.reset(padded);
    p.truncated = o.truncated;
    if (tcp) p.layers |= layerBit(LAYER_TCP);
    assert.equal(decodeDNS(p, padded, 0, m.length), -1);
    assert.equal(snapshot(p), alone);
  }

  it('20,000 random byte strings never throw nor read past the end', () => {
    const rand = rng(1);
    const p = new PacketContext();
    const junk = new Uint8Array(32);
    for (let n = 0; n < 20000; n++) {
      const len = Math.floor(rand() * (n % 10 === 0 ? 600 : 80));
      const m = new Uint8Array(len);
      for (let i = 0; i < len; i++) m[i] = Math.floor(rand() * 256);
      // Keep many headers small-counted so the decoder gets past the header often.
      if (len >= 12 && n % 2 === 0) {
        m[4] = 0;
        m[5] = n % 3;
        m[6] = 0;
        m[7] = n % 5;
      }
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rand() * 256);
      check(p, m, n % 4 === 3, junk);
    }
  });

  it('20,000 mutations of real DNS messages never throw nor read past the end', () => {
    const real = [
      ...realPayloads('ppp__dns_many.pcap'),
      ...realPayloads('zeek__dns_txt_cname.pcap'),
      ...realPayloads('ppp__dns_mx.pcap'),
    ];
    assert.ok(real.length > 400);
    const rand = rng(2);
    const p = new PacketContext();
    const junk = new Uint8Array(32);
    const special = [0x00, 0x3f, 0x40, 0x80, 0xc0, 0xff, 0x0c];
    for (let n = 0; n < 20000; n++) {
      const src = real[n % real.length]!;
      let m = src.slice();
      const edits = 1 + Math.floor(rand() * 6);
      for (let e = 0; e < edits && m.length > 0; e++) {
        const at = Math.floor(rand() * m.length);
        const kind = rand();
        if (kind < 0.4) m[at] = Math.floor(rand() * 256);
        else if (kind < 0.7) m[at] = special[Math.floor(rand() * special.length)]!;
        else if (kind < 0.85) m = m.slice(0, at);
        else if (at + 1 < m.length) {
          m[at] = 0xc0 | Math.floor(rand() * 4);
          m[at + 1] = Math.floor(rand() * 256);
        }
      }
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rand() * 256);
      const tcp = n % 4 === 3;
      check(p, tcp ? Uint8Array.from([...u16(m.length), ...m]) : m, tcp, junk);
    }
  });

  it('reached every DNS anomaly', () => {
    assert.deepEqual([...seen].sort(), ['dns.label_invalid', 'dns.pointer_loop', 'dns.rdata_invalid', 'dns.truncated']);
  });
});
