import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from './rng.ts';
import { FlowLog, formatIPv4, formatIPv6 } from './truth.ts';

/** The WHATWG URL parser's canonical IPv6 text (RFC 5952), as an independent reference. */
function canonical(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

test('formatIPv6 writes RFC 5952 text, as the URL parser does', () => {
  const fixed = [
    '2001:db8::1',
    '::',
    '::1',
    '1::',
    '2001:db8:0:1:1:1:1:1',
    '2001:0:0:1::1',
    'fe80::1:0:0:1',
    '2001:db8:10::53',
  ];
  for (const text of fixed) {
    const bytes = new Uint8Array(16);
    const url = new URL(`http://[${text}]/`).hostname.slice(1, -1);
    const [head, tail] = url.includes('::') ? url.split('::') : [url, undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const all = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    all.forEach((g, i) => {
      bytes[2 * i] = Number.parseInt(g, 16) >> 8;
      bytes[2 * i + 1] = Number.parseInt(g, 16) & 0xff;
    });
    assert.equal(formatIPv6(bytes, 0), text);
  }
  // Random addresses with zero runs of every length and place.
  const r = new Rng(5);
  const b = new Uint8Array(20);
  for (let n = 0; n < 3000; n++) {
    for (let i = 0; i < 20; i++) b[i] = r.chance(0.5) ? 0 : r.int(256);
    for (let g = 0; g < 8; g++) if (r.chance(0.4)) b[2 + 2 * g] = b[3 + 2 * g] = 0;
    assert.equal(formatIPv6(b, 2), canonical(b.subarray(2, 18)));
  }
});

test('formatIPv4', () => {
  assert.equal(formatIPv4(0x0a140105), '10.20.1.5');
  assert.equal(formatIPv4(0xffffffff), '255.255.255.255');
  assert.equal(formatIPv4(0), '0.0.0.0');
});

test('FlowLog orders endpoints by address then port and swaps the directions with them', () => {
  const log = new FlowLog(3);
  const counts = (cport: number, sport: number) => ({ cport, sport, pkts0: 3, bytes0: 300, pkts1: 5, bytes1: 5000 });
  const none = new Uint8Array(32);
  // Client 10.0.0.5 below server 93.184.216.34: client is A.
  log.add(6, false, 0x0a000005, 0x5db8d822, none, counts(50000, 443));
  // Client 172.16.1.2 above server 10.0.0.53: server is A, counts swap.
  log.add(17, false, 0xac100102, 0x0a000035, none, counts(40000, 53));
  // IPv6: client 2001:db8:20::9 above server 2001:db8::53.
  const v6 = new Uint8Array(32);
  v6.set([0x20, 0x01, 0x0d, 0xb8, 0, 0x20], 0);
  v6[15] = 9;
  v6.set([0x20, 0x01, 0x0d, 0xb8], 16);
  v6[31] = 0x53;
  log.add(58, true, 0, 0, v6, counts(0, 0));
  // Past the limit only the totals move.
  log.add(1, false, 1, 2, none, counts(0, 0));
  assert.deepEqual(log.list(), [
    ['tcp', '10.0.0.5', 50000, '93.184.216.34', 443, 3, 300, 5, 5000, 'a'],
    ['udp', '10.0.0.53', 53, '172.16.1.2', 40000, 5, 5000, 3, 300, 'b'],
    ['icmpv6', '2001:db8::53', 0, '2001:db8:20::9', 0, 5, 5000, 3, 300, 'b'],
  ]);
  assert.deepEqual([log.total, log.tcp, log.udp, log.icmp, log.icmpv6, log.ipv4, log.ipv6], [4, 1, 1, 1, 1, 3, 1]);
});

test('FlowLog: same address, the smaller port is A', () => {
  const log = new FlowLog();
  log.add(6, false, 0x7f000001, 0x7f000001, new Uint8Array(32), {
    cport: 6000,
    sport: 80,
    pkts0: 1,
    bytes0: 60,
    pkts1: 2,
    bytes1: 120,
  });
  assert.deepEqual(log.list(), [['tcp', '127.0.0.1', 80, '127.0.0.1', 6000, 2, 120, 1, 60, 'b']]);
});
