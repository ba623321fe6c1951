import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isPipelineError } from '../core/errors.ts';
import { PcapReader } from '../sources/pcap/pcap-reader.ts';
import type { Truth } from './index.ts';
import { synthesize } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'synth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function tshark(args: string[]): string {
  return execFileSync('tshark', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 512 * 1024 * 1024,
  });
}

/** Checksum validation is off in tshark by default (ICMP's is always on). */
const CHECKSUMS = ['-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];
const BAD = '_ws.malformed || _ws.expert.severity >= error';

interface Frame {
  sec: number;
  nanos: number;
  bytes: Buffer;
}

function readFrames(path: string): Frame[] {
  const frames: Frame[] = [];
  const r = new PcapReader((f) => {
    frames.push({ sec: f.tsSec, nanos: f.tsNanos, bytes: Buffer.from(f.buf.subarray(f.off, f.off + f.caplen)) });
  });
  r.push(readFileSync(path));
  r.end();
  return frames;
}

describe('determinism', () => {
  test('the same seed gives identical bytes; another seed, different ones', async () => {
    const a = join(dir, 'a.pcap');
    const b = join(dir, 'b.pcap');
    const c = join(dir, 'c.pcap');
    const ta = await synthesize({ out: a, packets: 3000, seed: 42 });
    const tb = await synthesize({ out: b, packets: 3000, seed: '42' });
    await synthesize({ out: c, packets: 3000, seed: 43 });
    assert.ok(readFileSync(a).equals(readFileSync(b)));
    assert.equal(
      readFileSync(`${a}.truth.json`, 'utf8'),
      readFileSync(`${b}.truth.json`, 'utf8').replace('b.pcap', 'a.pcap'),
    );
    assert.deepEqual(ta.flowList, tb.flowList);
    assert.ok(!readFileSync(a).equals(readFileSync(c)));
    // Nothing in common at the start either: the seed changes the traffic, not just a detail.
    assert.notDeepEqual(readFrames(a)[5]!.bytes, readFrames(c)[5]!.bytes);
  });

  test('a shorter capture is a prefix of a longer one with the same seed', async () => {
    const short = join(dir, 'short.pcap');
    const long = join(dir, 'long.pcap');
    await synthesize({ out: short, packets: 2000, seed: 9 });
    await synthesize({ out: long, packets: 5000, seed: 9 });
    const s = readFrames(short);
    const l = readFrames(long);
    assert.equal(s.length, 2000);
    assert.equal(l.length, 5000);
    for (let i = 0; i < s.length; i++) assert.deepEqual(s[i], l[i], `frame ${i + 1}`);
  });
});

describe('a 20,000-packet capture checked against tshark', () => {
  const path = join(dir, 'check.pcap');
  let truth: Truth;
  let rows: string[][];

  before(async () => {
    truth = await synthesize({ out: path, packets: 20_000, seed: 2024 });
    const fields = [
      'frame.len',
      'frame.time_epoch',
      'frame.protocols',
      'ip.src',
      'ip.dst',
      'ipv6.src',
      'ipv6.dst',
      'tcp.srcport',
      'tcp.dstport',
      'udp.srcport',
      'udp.dstport',
    ];
    const out = tshark(['-r', path, '-T', 'fields', '-E', 'occurrence=f', ...fields.flatMap((f) => ['-e', f])]);
    rows = out
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => l.split('\t'));
  });

  test('the truth file on disk is what synthesize() returned', () => {
    const disk = JSON.parse(readFileSync(`${path}.truth.json`, 'utf8')) as Truth;
    assert.deepEqual(disk, JSON.parse(JSON.stringify(truth)));
    assert.equal(truth.fileBytes, statSync(path).size);
    assert.ok(truth.flowList !== null && truth.flowList.length === truth.flows.total);
  });

  test('packet count, bytes and timestamps', () => {
    assert.equal(rows.length, 20_000);
    assert.equal(truth.packets, 20_000);
    let bytes = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (const r of rows) {
      const len = Number(r[0]);
      bytes += len;
      min = Math.min(min, len);
      max = Math.max(max, len);
    }
    assert.equal(truth.bytes, bytes);
    assert.equal(truth.minFrameBytes, min);
    assert.equal(truth.maxFrameBytes, max);
    assert.ok(min >= 60 && max <= 1518);
    const info = execFileSync('capinfos', ['-M', '-c', '-d', '-u', '-a', '-S', path], { encoding: 'utf8' });
    assert.match(info, /Number of packets:\s+20000\n/);
    assert.match(info, new RegExp(`Data size:\\s+${bytes} bytes`));
    // Strictly increasing timestamps at µs resolution (compared on the µs counts, no float error).
    const us = readFrames(path).map((f) => f.sec * 1e6 + f.nanos / 1000);
    for (let i = 1; i < us.length; i++) assert.ok(us[i]! > us[i - 1]!, `frame ${i + 1} goes back in time`);
    assert.equal(us[0], truth.firstTimestampUs);
    assert.equal(us.at(-1), truth.lastTimestampUs);
  });

  test('per-protocol packet counts match tshark frame.protocols', () => {
    const count: Record<string, number> = {};
    for (const r of rows) for (const p of new Set(r[2]!.split(':'))) count[p] = (count[p] ?? 0) + 1;
    const expected = {
      eth: count['eth'] ?? 0,
      vlan: count['vlan'] ?? 0,
      arp: count['arp'] ?? 0,
      ipv4: count['ip'] ?? 0,
      ipv6: count['ipv6'] ?? 0,
      icmp: count['icmp'] ?? 0,
      icmpv6: count['icmpv6'] ?? 0,
      tcp: count['tcp'] ?? 0,
      udp: count['udp'] ?? 0,
      dns: count['dns'] ?? 0,
    };
    assert.deepEqual(truth.protocols, expected);
    // The mix is there at all: every protocol of the truth file occurs.
    for (const [k, v] of Object.entries(expected)) assert.ok(v > 0, `no ${k} packets`);
    assert.ok(expected.vlan > 1000 && expected.ipv6 > 200, JSON.stringify(expected));
  });

  test('flows and per-direction packet and byte counts match what tshark decodes', () => {
    // Aggregate tshark's fields by the unordered endpoint pair; ARP is no flow.
    const seen = new Map<string, { ends: [string, string]; pkts: Map<string, number>; bytes: Map<string, number> }>();
    for (const r of rows) {
      const protos = r[2]!.split(':');
      if (protos.includes('arp')) continue;
      const proto = protos.includes('tcp')
        ? 'tcp'
        : protos.includes('udp')
          ? 'udp'
          : protos.includes('icmpv6')
            ? 'icmpv6'
            : 'icmp';
      const src = r[3] || r[5]!;
      const dst = r[4] || r[6]!;
      const sp = proto === 'tcp' ? r[7]! : proto === 'udp' ? r[9]! : '0';
      const dp = proto === 'tcp' ? r[8]! : proto === 'udp' ? r[10]! : '0';
      const a = `${src}|${sp}`;
      const b = `${dst}|${dp}`;
      const ends: [string, string] = a < b ? [a, b] : [b, a];
      const key = `${proto} ${ends[0]} ${ends[1]}`;
      let f = seen.get(key);
      if (f === undefined) {
        f = { ends, pkts: new Map(), bytes: new Map() };
        seen.set(key, f);
      }
      f.pkts.set(a, (f.pkts.get(a) ?? 0) + 1);
      f.bytes.set(a, (f.bytes.get(a) ?? 0) + Number(r[0]));
    }
    assert.equal(truth.flows.total, seen.size);
    const byProto = { tcp: 0, udp: 0, icmp: 0, icmpv6: 0 };
    for (const k of seen.keys()) byProto[k.split(' ')[0] as keyof typeof byProto]++;
    assert.equal(truth.flows.tcp, byProto.tcp);
    assert.equal(truth.flows.udp, byProto.udp);
    assert.equal(truth.flows.icmp, byProto.icmp);
    assert.equal(truth.flows.icmpv6, byProto.icmpv6);
    for (const [proto, addrA, portA, addrB, portB, pAB, bAB, pBA, bBA] of truth.flowList!) {
      const a = `${addrA}|${portA}`;
      const b = `${addrB}|${portB}`;
      const key = `${proto} ${a < b ? a : b} ${a < b ? b : a}`;
      const f = seen.get(key);
      assert.ok(f, `flow ${key} not in the capture`);
      assert.deepEqual(
        [f.pkts.get(a) ?? 0, f.bytes.get(a) ?? 0, f.pkts.get(b) ?? 0, f.bytes.get(b) ?? 0],
        [pAB, bAB, pBA, bBA],
        key,
      );
    }
  });

  test('TCP and UDP conversations of tshark -z conv match the truth', () => {
    const out = tshark(['-r', path, '-q', '-z', 'conv,tcp', '-z', 'conv,udp']);
    const conv = new Map<string, [number, number]>();
    let section = '';
    for (const line of out.split('\n')) {
      if (line.startsWith('TCP Conversations')) section = 'tcp';
      if (line.startsWith('UDP Conversations')) section = 'udp';
      // "A:portA <-> B:portB  frames(B->A) bytes  frames(A->B) bytes  ..."
      const m = /^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s+[\d,]+ \w?bytes?\s+(\d+)\s/.exec(
        line.replace(/ ([kMG])B /g, ' $1bytes '),
      );
      if (m === null) continue;
      const a = `${m[1]}|${m[2]}`;
      const b = `${m[3]}|${m[4]}`;
      conv.set(`${section} ${a} ${b}`, [Number(m[6]), Number(m[5])]);
    }
    const tcpConvs = [...conv.keys()].filter((k) => k.startsWith('tcp ')).length;
    const udpConvs = [...conv.keys()].filter((k) => k.startsWith('udp ')).length;
    assert.equal(tcpConvs, truth.flows.tcp);
    assert.equal(udpConvs, truth.flows.udp);
    let checked = 0;
    for (const [proto, addrA, portA, addrB, portB, pAB, , pBA] of truth.flowList!) {
      if (proto !== 'tcp' && proto !== 'udp') continue;
      const a = `${addrA}|${portA}`;
      const b = `${addrB}|${portB}`;
      const fwd = conv.get(`${proto} ${a} ${b}`);
      const rev = conv.get(`${proto} ${b} ${a}`);
      assert.ok(fwd || rev, `${proto} ${a} ${b} missing from tshark's table`);
      assert.deepEqual(fwd ?? [rev![1], rev![0]], [pAB, pBA], `${proto} ${a} ${b}`);
      checked++;
    }
    assert.equal(checked, truth.flows.tcp + truth.flows.udp);
  });

  test('tshark finds nothing malformed and every checksum good', () => {
    const bad = tshark(['-r', path, ...CHECKSUMS, '-Y', BAD]);
    assert.equal(bad, '');
    // The same check does see a damaged packet: flip one payload byte of the last frame.
    const damaged = join(dir, 'damaged.pcap');
    const bytes = readFileSync(path);
    bytes[bytes.length - 1]! ^= 0x55;
    writeFileSync(damaged, bytes);
    assert.equal(
      tshark(['-r', damaged, ...CHECKSUMS, '-Y', BAD])
        .trimEnd()
        .split('\n').length,
      1,
    );
    // Checksums were really verified: every IPv4/TCP/UDP/ICMP packet has status Good (1).
    const status = tshark([
      '-r',
      path,
      ...CHECKSUMS,
      '-T',
      'fields',
      '-e',
      'ip.checksum.status',
      '-e',
      'tcp.checksum.status',
      '-e',
      'udp.checksum.status',
      '-e',
      'icmp.checksum.status',
      '-e',
      'icmpv6.checksum.status',
    ]);
    const good = [0, 0, 0, 0, 0];
    for (const line of status.replace(/\n$/, '').split('\n')) {
      const cols = line.split('\t');
      for (let i = 0; i < 5; i++) {
        if (cols[i] === '') continue;
        assert.equal(cols[i], '1', `checksum status ${cols[i]} in: ${line}`);
        good[i]!++;
      }
    }
    assert.deepEqual(good, [
      truth.protocols.ipv4,
      truth.protocols.tcp,
      truth.protocols.udp,
      truth.protocols.icmp,
      truth.protocols.icmpv6,
    ]);
    // No TCP sequence trouble either: no lost or out-of-order segments, no duplicate ACKs.
    const seq = tshark(['-r', path, '-Y', 'tcp.analysis.flags && !tcp.analysis.window_update']);
    const odd = seq.split('\n').filter((l) => l !== '' && !/\bRST\b/.test(l));
    assert.deepEqual(odd, []);
  });

  test('application layers decode: DNS names and answers, TLS SNI, HTTP hosts', () => {
    const out = tshark([
      '-r',
      path,
      '-Y',
      'dns || tls.handshake.type == 1 || http.request',
      '-T',
      'fields',
      '-e',
      'dns.flags.response',
      '-e',
      'dns.qry.name',
      '-e',
      'dns.flags.rcode',
      '-e',
      'dns.a',
      '-e',
      'dns.aaaa',
      '-e',
      'dns.cname',
      '-e',
      'dns.soa.mname',
      '-e',
      'tls.handshake.extensions_server_name',
      '-e',
      'http.host',
    ]);
    let queries = 0;
    let nx = 0;
    let withA = 0;
    let withAAAA = 0;
    let withCname = 0;
    let sni = 0;
    let hosts = 0;
    const names = new Set<string>();
    const nameRe = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/;
    for (const line of out.replace(/\n$/, '').split('\n')) {
      const [resp, qname, rcode, a, aaaa, cname, soa, server, host] = line.split('\t');
      if (server) {
        assert.match(server, nameRe);
        sni++;
        continue;
      }
      if (host) {
        assert.match(host, nameRe);
        hosts++;
        continue;
      }
      assert.match(qname!, nameRe);
      names.add(qname!);
      if (resp === 'False' || resp === '0') {
        queries++;
        continue;
      }
      if (rcode === '3') {
        nx++;
        assert.match(soa!, /^ns1\./);
      }
      if (a) withA++;
      if (aaaa) withAAAA++;
      if (cname) {
        assert.match(cname, nameRe);
        withCname++;
      }
    }
    assert.equal(queries, truth.dns.queries);
    assert.equal(nx, truth.dns.nxdomain);
    assert.ok(nx > 0 && withA > 0 && withAAAA > 0 && withCname > 0, `${nx} ${withA} ${withAAAA} ${withCname}`);
    assert.ok(names.size > 50);
    assert.ok(sni > 100, `SNI in ${sni} ClientHellos`);
    assert.ok(hosts > 50, `Host in ${hosts} requests`);
  });
});

describe('formats and limits', () => {
  test('pcapng holds the same packets as pcap for the same seed', async () => {
    const pcap = join(dir, 'same.pcap');
    const ng = join(dir, 'same.pcapng');
    const t1 = await synthesize({ out: pcap, packets: 3000, seed: 5 });
    const t2 = await synthesize({ out: ng, packets: 3000, seed: 5 });
    assert.equal(t2.options.format, 'pcapng');
    assert.deepEqual(
      { ...t1, options: null, file: null, fileBytes: null },
      { ...t2, options: null, file: null, fileBytes: null },
    );
    const fields = ['-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'frame.protocols'];
    assert.equal(tshark(['-r', ng, ...fields]), tshark(['-r', pcap, ...fields]));
    const info = execFileSync('capinfos', ['-M', '-t', '-c', ng], { encoding: 'utf8' });
    assert.match(info, /File type:\s+pcapng/);
    assert.match(info, /Number of packets:\s+3000/);
    // The frames themselves are byte for byte the same.
    const hex = ['-x', '-Y', 'frame.number >= 2990'];
    assert.equal(tshark(['-r', ng, ...hex]), tshark(['-r', pcap, ...hex]));
  });

  test('bytes: stops once the file reaches the size', async () => {
    const path = join(dir, 'sized.pcap');
    const t = await synthesize({ out: path, bytes: 1_000_000, seed: 3 });
    const size = statSync(path).size;
    assert.equal(t.fileBytes, size);
    assert.ok(size >= 1_000_000 && size < 1_000_000 + 1600, `${size}`);
    assert.equal(t.options.packets, null);
    assert.equal(readFrames(path).length, t.packets);
  });

  test('beyond flowListLimit only totals are written, and the file says so', async () => {
    const path = join(dir, 'totals.pcap');
    const t = await synthesize({ out: path, packets: 2000, flowListLimit: 10, truthOut: join(dir, 'totals.json') });
    assert.equal(t.flowList, null);
    assert.ok(t.flows.total > 10);
    const disk = JSON.parse(readFileSync(join(dir, 'totals.json'), 'utf8')) as Truth;
    assert.equal(disk.flowList, null);
    assert.match(disk.notes[0]!, /flowList omitted: \d+ flows exceed flowListLimit \(10\)/);
    assert.match(disk.flowKey, /ports are 0 for icmp/);
  });

  test('bad options are PCS_CONFIG errors; an unwritable file is PCS_SINK_WRITE', async () => {
    const isCode = (code: string) => (e: unknown) => isPipelineError(e) && e.code === code;
    await assert.rejects(synthesize({ out: join(dir, 'x.pcap'), packets: 0 }), isCode('PCS_CONFIG'));
    await assert.rejects(synthesize({ out: join(dir, 'x.pcap'), packets: 1.5 }), isCode('PCS_CONFIG'));
    await assert.rejects(synthesize({ out: join(dir, 'x.pcap'), bytes: -1 }), isCode('PCS_CONFIG'));
    await assert.rejects(synthesize({ out: join(dir, 'x.pcap'), format: 'erf' as 'pcap' }), isCode('PCS_CONFIG'));
    await assert.rejects(synthesize({ out: '' }), isCode('PCS_CONFIG'));
    await assert.rejects(synthesize({ out: join(dir, 'no', 'such', 'dir.pcap') }), isCode('PCS_SINK_WRITE'));
  });
});
