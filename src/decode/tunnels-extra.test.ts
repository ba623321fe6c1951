/**
 * GTP-U, Teredo and NFLOG against tshark on real captures: the innermost packet fills the main
 * fields and the outer header is kept in tunnel_*.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRecords, tsharkFields } from '../../test/helpers/corpus.ts';
import { PacketContext } from '../core/packet.ts';
import { Frame } from '../core/source.ts';
import { decodeFrame } from './dispatch.ts';

const last = (s: string | undefined): string | undefined => (s ? s.split(',').pop() : undefined);
const first = (s: string | undefined): string | undefined => (s ? s.split(',')[0] : undefined);

test('GTP-U: inner IPv4 addresses, outer tunnel kept (ppp__gtp_u.pcap)', async () => {
  const recs = await decodeRecords('ppp__gtp_u.pcap');
  const ts = tsharkFields('ppp__gtp_u.pcap', ['ip.src', 'ip.dst', 'gtp.teid', 'frame.protocols']);
  assert.equal(recs.length, ts.length);
  let tunnelled = 0;
  recs.forEach((r, i) => {
    const [src, dst, teid, protos] = ts[i]!;
    if (!protos!.includes('gtp:ip')) return;
    tunnelled++;
    // tshark lists the outer header first; quoted ICMP payloads would come after the inner one.
    const srcs = src!.split(',');
    assert.equal(r.src_ip, protos!.includes('icmp:ip') ? srcs[1] : last(src), `frame ${i + 1}`);
    assert.equal(r.tunnel_type, 'gtp');
    assert.equal(r.tunnel_src_ip, first(src));
    assert.equal(r.tunnel_dst_ip, first(dst));
    assert.equal(r.tunnel_id, Number.parseInt(teid!, 16));
  });
  assert.ok(tunnelled > 50, `${tunnelled} tunnelled packets`);
});

test('Teredo: inner IPv6 addresses (zeek__teredo.pcap)', async () => {
  const recs = await decodeRecords('zeek__teredo.pcap');
  const ts = tsharkFields('zeek__teredo.pcap', ['ipv6.src', 'ipv6.dst', 'frame.protocols']);
  let tunnelled = 0;
  recs.forEach((r, i) => {
    const [src, dst, protos] = ts[i]!;
    if (!protos!.includes('teredo:ipv6')) return;
    tunnelled++;
    assert.equal(r.src_ip, first(src), `frame ${i + 1}`);
    assert.equal(r.dst_ip, first(dst), `frame ${i + 1}`);
    assert.equal(r.tunnel_type, 'teredo');
  });
  assert.ok(tunnelled >= 4, `${tunnelled} tunnelled packets`);
});

test('NFLOG: logged IPv4 packet decoded (tcpdump__nflog_dns.pcap)', async () => {
  const recs = await decodeRecords('tcpdump__nflog_dns.pcap');
  const ts = tsharkFields('tcpdump__nflog_dns.pcap', ['ip.src', 'ip.dst', 'udp.dstport', 'dns.qry.name']);
  assert.equal(recs.length, ts.length);
  recs.forEach((r, i) => {
    const [src, dst, dport] = ts[i]!;
    assert.equal(r.src_ip, src || undefined);
    assert.equal(r.dst_ip, dst || undefined);
    assert.equal(r.dest_port, dport ? Number(dport) : undefined);
  });
});

test('truncated GTP, Teredo and NFLOG headers never throw', () => {
  const p = new PacketContext();
  const f = new Frame();
  // IPv4/UDP to port 2152 then 3544, then an NFLOG frame, each cut at every length.
  const udp = (port: number, payload: number[]): number[] => [
    0x45,
    0,
    0,
    20 + 8 + payload.length,
    0,
    0,
    0,
    0,
    64,
    17,
    0,
    0,
    10,
    0,
    0,
    1,
    10,
    0,
    0,
    2,
    0x08,
    0x68,
    port >> 8,
    port & 255,
    0,
    8 + payload.length,
    0,
    0,
    ...payload,
  ];
  const gtp = udp(2152, [0x32, 0xff, 0, 8, 0, 0, 0, 1, 0, 1, 0, 0x85, 1, 0, 0, 0, 0x45, 0, 0, 20]);
  const teredo = udp(3544, [0, 1, 2, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0x60]);
  const nflog = [2, 0, 0, 1, 8, 0, 1, 0, 0, 0, 0, 0, 24, 0, 9, 0, 0x45, 0, 0, 20];
  for (const [bytes, link] of [
    [gtp, 228],
    [teredo, 228],
    [nflog, 239],
  ] as const) {
    for (let n = 0; n <= bytes.length; n++) {
      f.buf = Uint8Array.from(bytes.slice(0, n));
      f.off = 0;
      f.caplen = n;
      f.wirelen = bytes.length;
      f.linkType = link;
      decodeFrame(p, f);
      assert.ok(!p.anomalies.slice(0, p.anomalyCount).includes('decode.internal_error'));
    }
  }
});
