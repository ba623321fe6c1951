import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { anomalyCodes as anomalies, decodeHex, GUARD, runDecoder } from '../../test/helpers/frames.ts';
import { AnomalyCounters, isKnownAnomaly } from '../core/anomalies.ts';
import { LAYER_ARP, LAYER_ETHERNET, LAYER_SLL, LAYER_SLL2 } from '../core/layers.ts';
import { PacketContext } from '../core/packet.ts';
import { PcapReader } from '../sources/pcap/pcap-reader.ts';
import { decodeARP } from './arp.ts';
import { decodeFrame } from './dispatch.ts';
import { formatHex, formatIPv4At, formatMAC } from './format.ts';

const CORPUS = new URL('../../../shared/corpus/', import.meta.url);

const run = (hex: string, truncated = false) => runDecoder(decodeARP, hex, truncated);

/** The four addresses as tshark prints them for Ethernet/IPv4 ARP, '' for a missing one. */
function addresses(p: PacketContext): string[] {
  const mac = (o: number) => (o < 0 ? '' : formatMAC(p.buf, o));
  const ip = (o: number) => (o < 0 ? '' : formatIPv4At(p.buf, o));
  return [mac(p.arpSenderHwOff), ip(p.arpSenderIpOff), mac(p.arpTargetHwOff), ip(p.arpTargetIpOff)];
}

// ---- fixtures (hex from the corpus captures named; summaries are tcpdump -nn -e) ----

// zeek__arp_who_has.pcap frame 1:
// 78:31:c1:c6:3f:c2 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.0.0.1 tell 10.0.0.2, length 28
const ARP_REQUEST = 'ffffffffffff7831c1c63fc2080600010800060400017831c1c63fc20a0000020000000000000a000001';

// zeek__arp_who_has.pcap frame 2:
// f8:ed:a5:c0:a4:f1 > 78:31:c1:c6:3f:c2, ethertype ARP (0x0806), length 60: Reply 10.0.0.1 is-at f8:ed:a5:c0:a4:f1, length 46
const ARP_REPLY =
  '7831c1c63fc2f8eda5c0a4f108060001080006040002f8eda5c0a4f10a0000017831c1c63fc20a00000200000000000000000000' +
  '000000001f0b60ce';

// ppp__arp_reply.pcap frame 1 (non-zero padding after the target address):
// 30:46:9a:23:fb:fa > 6c:f0:49:b2:de:6e, ethertype ARP (0x0806), length 60: Reply 10.0.0.138 is-at 30:46:9a:23:fb:fa, length 46
const ARP_REPLY_PADDED =
  '6cf049b2de6e30469a23fbfa0806000108000604000230469a23fbfa0a00008a6cf049b2de6e0a000001742066726f6d20627269' +
  '6467650037003d20';

// zeek__sll_arp.pcap frame 1 (LINKTYPE_LINUX_SLL):
// B cc:2d:e0:26:19:99 ethertype ARP (0x0806), length 62: Request who-has 192.168.22.160 tell 192.168.22.1, length 46
const SLL_ARP =
  '000100010006cc2de0261999000008060001080006040001cc2de0261999c0a81601000000000000c0a816a000000000000000000000' +
  '0000000000000000';

// zeek__sll2_arp_icmp_icmpv6.pcap frame 5 (LINKTYPE_LINUX_SLL2):
// Out ifindex 26 8e:36:06:44:ac:af ethertype ARP (0x0806), length 48: Request who-has 192.0.2.2 tell 192.0.2.1, length 28
const SLL2_ARP = '080600000000001a000104068e360644acaf000000010800060400018e360644acafc0000201000000000000c0000202';

// tcpdump__arp_fuzzed.pcap frame 28, hardware length 14 (fits in the Ethernet padding):
// 00:1f:29:da:2d:79 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60: Request who-has 0.0.0.0
// (01:01:10:18:00:10:00:00:00:00:00:00:00:00) tell 0.0.192.168, length 46
const FUZZ_HLEN14 =
  'ffffffffffff001f29da2d790806000108000e040001001f29da2d79c0a8016e000000000000c0a8010110180010000000000000' +
  '0000000000000000';

// tcpdump__arp_fuzzed.pcap frame 104, protocol length 170:
// 6a:16:17:e0:67:e7 > ff:ff:ff:fe:ff:ff, ethertype ARP (0x0806), length 60:  [|arp]
const FUZZ_PLEN170 =
  'fffffffeffff6a1617e067e708060001080006aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' +
  'aaaaaaaaaaaaaaaa';

// tcpdump__arp_fuzzed.pcap frame 170, hardware length 22:
// 00:1f:29:da:2d:79 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60:  [|arp]
const FUZZ_HLEN22 =
  'ffffffffffff001f29da2d7908060001080016040001001f29da2d33c0a80168000000000000c0a8010100000000000000000000' +
  '0000000000000000';

// tcpdump__arp_fuzzed.pcap frame 443, hardware length 0, protocol type 0x0825:
// 00:1f:29:da:2d:79 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60: Ethernet (len 0), Unknown Protocol
// (0x0825) (len 4), length 46
const FUZZ_HLEN0 =
  'ffffffffffff001f29da2d7908060001082500040001001f29da2d79c0a80168000000000000c0a8570100000038000000000000' +
  '0000000000000000';

describe('decodeARP', () => {
  test('request over Ethernet: fields and addresses as tshark shows them', () => {
    const p = decodeHex(ARP_REQUEST, 1);
    assert.ok(p.has(LAYER_ETHERNET) && p.has(LAYER_ARP));
    assert.equal(p.arpHwType, 1);
    assert.equal(p.arpProtoType, 0x0800);
    assert.equal(p.arpHwLen, 6);
    assert.equal(p.arpProtoLen, 4);
    assert.equal(p.arpOpcode, 1);
    assert.equal(p.arpSenderHwOff, GUARD + 14 + 8);
    assert.equal(p.arpTargetIpOff, GUARD + 14 + 24);
    assert.deepEqual(addresses(p), ['78:31:c1:c6:3f:c2', '10.0.0.2', '00:00:00:00:00:00', '10.0.0.1']);
    assert.deepEqual(anomalies(p), []);
  });

  test('reply with Ethernet padding: the padding is ignored', () => {
    const p = decodeHex(ARP_REPLY, 1);
    assert.equal(p.arpOpcode, 2);
    assert.deepEqual(addresses(p), ['f8:ed:a5:c0:a4:f1', '10.0.0.1', '78:31:c1:c6:3f:c2', '10.0.0.2']);
    assert.deepEqual(anomalies(p), []);
  });

  test('reply with non-zero padding', () => {
    const p = decodeHex(ARP_REPLY_PADDED, 1);
    assert.equal(p.arpOpcode, 2);
    assert.deepEqual(addresses(p), ['30:46:9a:23:fb:fa', '10.0.0.138', '6c:f0:49:b2:de:6e', '10.0.0.1']);
    assert.deepEqual(anomalies(p), []);
  });

  test('over Linux SLL and SLL2', () => {
    const p = decodeHex(SLL_ARP, 113);
    assert.ok(p.has(LAYER_SLL) && p.has(LAYER_ARP));
    assert.equal(p.arpSenderHwOff, GUARD + 16 + 8);
    assert.deepEqual(addresses(p), ['cc:2d:e0:26:19:99', '192.168.22.1', '00:00:00:00:00:00', '192.168.22.160']);
    const q = decodeHex(SLL2_ARP, 276);
    assert.ok(q.has(LAYER_SLL2) && q.has(LAYER_ARP));
    assert.equal(q.arpOpcode, 1);
    assert.deepEqual(addresses(q), ['8e:36:06:44:ac:af', '192.0.2.1', '00:00:00:00:00:00', '192.0.2.2']);
    assert.deepEqual(anomalies(q), []);
  });

  test('odd lengths that fit the frame are decoded as given (fuzzed frame 28)', () => {
    const p = decodeHex(FUZZ_HLEN14, 1);
    assert.equal(p.arpHwLen, 14);
    assert.equal(p.arpProtoLen, 4);
    // tshark: arp.src.hw 001f29da2d79c0a8016e00000000, arp.src.proto 0.0.192.168,
    // arp.dst.hw 0101101800100000000000000000, arp.dst.proto 0.0.0.0
    assert.equal(formatHex(p.buf, p.arpSenderHwOff, 14), '001f29da2d79c0a8016e00000000');
    assert.equal(formatIPv4At(p.buf, p.arpSenderIpOff), '0.0.192.168');
    assert.equal(formatHex(p.buf, p.arpTargetHwOff, 14), '0101101800100000000000000000');
    assert.equal(formatIPv4At(p.buf, p.arpTargetIpOff), '0.0.0.0');
    assert.deepEqual(anomalies(p), []);
  });

  test('protocol length 170 overruns the whole frame: no address kept (fuzzed frame 104)', () => {
    // tshark: Malformed Packet (ARP/RARP), no arp.src.* / arp.dst.* address fields.
    const p = decodeHex(FUZZ_PLEN170, 1);
    assert.ok(p.has(LAYER_ARP));
    assert.equal(p.arpProtoLen, 170);
    assert.equal(p.arpOpcode, 0xaaaa);
    assert.deepEqual([p.arpSenderHwOff, p.arpSenderIpOff, p.arpTargetHwOff, p.arpTargetIpOff], [-1, -1, -1, -1]);
    assert.deepEqual(anomalies(p), ['arp.len_invalid']);
  });

  test('hardware length 22 overruns the whole frame: no address kept (fuzzed frame 170)', () => {
    // tshark: Malformed Packet (ARP/RARP), no address fields.
    const p = decodeHex(FUZZ_HLEN22, 1);
    assert.equal(p.arpHwLen, 22);
    assert.deepEqual([p.arpSenderHwOff, p.arpSenderIpOff, p.arpTargetHwOff, p.arpTargetIpOff], [-1, -1, -1, -1]);
    assert.deepEqual(anomalies(p), ['arp.len_invalid']);
  });

  test('the same overrun in a snaplen-cut frame keeps the addresses that fit', () => {
    const p = decodeHex(FUZZ_HLEN22, 1, 200);
    assert.equal(p.arpSenderHwOff, GUARD + 22);
    assert.equal(p.arpSenderIpOff, GUARD + 22 + 22);
    assert.deepEqual([p.arpTargetHwOff, p.arpTargetIpOff], [-1, -1]);
    assert.deepEqual(anomalies(p), ['arp.truncated']);
  });

  test('hardware length 0: no hardware addresses, protocol ones kept (fuzzed frame 443)', () => {
    const p = decodeHex(FUZZ_HLEN0, 1);
    assert.equal(p.arpProtoType, 0x0825);
    assert.deepEqual([p.arpSenderHwOff, p.arpTargetHwOff], [-1, -1]);
    // tshark: arp.src.proto 001f29da, arp.dst.proto 2d79c0a8
    assert.equal(formatHex(p.buf, p.arpSenderIpOff, 4), '001f29da');
    assert.equal(formatHex(p.buf, p.arpTargetIpOff, 4), '2d79c0a8');
    assert.deepEqual(anomalies(p), ['arp.len_invalid']);
  });

  test('a short packet after a full one leaves no stale offsets', () => {
    const p = decodeHex(ARP_REQUEST, 1);
    decodeHex(ARP_REQUEST.slice(0, (14 + 18) * 2), 1, 42, p);
    assert.deepEqual(anomalies(p), ['arp.truncated']);
    assert.deepEqual(addresses(p), ['78:31:c1:c6:3f:c2', '10.0.0.2', '', '']);
  });
});

describe('decodeARP: truncated and overflowing input', () => {
  const ARP = ARP_REQUEST.slice(28); // the 28-byte ARP packet without its Ethernet header
  // name, bytes, capture cut by snaplen, layer decoded, anomalies, which of the 4 offsets are set
  const cases: [string, string, boolean, boolean, string[], boolean[]][] = [
    ['empty', '', false, false, ['arp.truncated'], [false, false, false, false]],
    ['7 bytes', ARP.slice(0, 14), false, false, ['arp.truncated'], [false, false, false, false]],
    ['fixed part only, whole frame', ARP.slice(0, 16), false, true, ['arp.len_invalid'], [false, false, false, false]],
    ['fixed part only, snaplen cut', ARP.slice(0, 16), true, true, ['arp.truncated'], [false, false, false, false]],
    [
      'ends after the sender hardware address',
      ARP.slice(0, 28),
      true,
      true,
      ['arp.truncated'],
      [true, false, false, false],
    ],
    [
      'cut inside the sender protocol address',
      ARP.slice(0, 34),
      true,
      true,
      ['arp.truncated'],
      [true, false, false, false],
    ],
    [
      'cut inside the target hardware address',
      ARP.slice(0, 44),
      true,
      true,
      ['arp.truncated'],
      [true, true, false, false],
    ],
    ['one byte short', ARP.slice(0, 54), true, true, ['arp.truncated'], [true, true, true, false]],
    ['one byte short, whole frame', ARP.slice(0, 54), false, true, ['arp.len_invalid'], [false, false, false, false]],
    ['exact length', ARP, false, true, [], [true, true, true, true]],
    [
      'protocol length 0',
      '0001080006000001' + 'aa'.repeat(12),
      false,
      true,
      ['arp.len_invalid'],
      [true, false, true, false],
    ],
    ['both lengths 0', '0001080000000001', false, true, ['arp.len_invalid'], [false, false, false, false]],
    [
      'lengths 255/255',
      '00010800ffff0001' + 'aa'.repeat(40),
      false,
      true,
      ['arp.len_invalid'],
      [false, false, false, false],
    ],
  ];
  for (const [name, hex, truncated, layer, expected, present] of cases) {
    test(name, () => {
      const { p, next } = run(hex, truncated);
      assert.equal(next, -1);
      assert.equal(p.has(LAYER_ARP), layer);
      assert.deepEqual(anomalies(p), expected);
      for (const a of anomalies(p)) assert.ok(isKnownAnomaly(a), a);
      const offs = [p.arpSenderHwOff, p.arpSenderIpOff, p.arpTargetHwOff, p.arpTargetIpOff];
      assert.deepEqual(
        offs.map((o) => o >= 0),
        present,
      );
      // Every offset kept lies, with its whole address, inside the packet.
      const lens = [p.arpHwLen, p.arpProtoLen, p.arpHwLen, p.arpProtoLen];
      offs.forEach((o, i) => {
        if (o >= 0) assert.ok(o + lens[i]! <= hex.length / 2);
      });
    });
  }
});

describe('decodeARP: fuzzed corpus', () => {
  test('tcpdump__arp_fuzzed.pcap: 2282 frames decode without a throw', () => {
    // Expected from the bytes: 90 frames have a zero address length or addresses running past the
    // (fully captured) frame. tshark flags 114 frames malformed: 82 of those 90, plus 31 it blames
    // on its F5-trailer heuristic and 1 it reads as ATMARP (hardware type 19, another layout);
    // the other 8 of the 90 have hardware length 0, which tshark accepts and RFC 826 gives no meaning.
    const p = new PacketContext();
    const counts = new AnomalyCounters();
    let frames = 0;
    let arp = 0;
    let complete = 0;
    const reader = new PcapReader((f) => {
      frames++;
      decodeFrame(p, f);
      counts.addPacket(p);
      if (p.has(LAYER_ARP)) arp++;
      if (p.arpSenderHwOff >= 0 && p.arpSenderIpOff >= 0 && p.arpTargetHwOff >= 0 && p.arpTargetIpOff >= 0) complete++;
    });
    reader.push(readFileSync(new URL('tcpdump__arp_fuzzed.pcap', CORPUS)));
    reader.end();
    assert.equal(frames, 2282);
    assert.equal(arp, 2282);
    assert.equal(complete, 2282 - 90);
    assert.deepEqual(counts.toObject(), { 'arp.len_invalid': 90 });
    assert.equal(counts.packets, 90);
  });
});
