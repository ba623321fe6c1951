/**
 * The command line as a user meets it: real processes, real files, stdin and gzip, exit codes
 * and one-line errors.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { FILE_CHUNK_BYTES } from '../../src/sources/input/open-input.ts';
import { corpusPath } from '../helpers/corpus.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-cli-'));

function cli(args: string[], input?: Buffer): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { input, maxBuffer: 1 << 28, encoding: 'buffer' });
  return { code: r.status ?? -1, out: r.stdout.toString('utf8'), err: r.stderr.toString('utf8') };
}

const lines = (s: string): Record<string, unknown>[] =>
  s
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('pcapstream decode', () => {
  it('prints one JSON record per packet with 1-based frame numbers', () => {
    const r = cli(['decode', corpusPath('dpkt__http.pcap')]);
    assert.equal(r.code, 0, r.err);
    const recs = lines(r.out);
    assert.equal(recs.length, 43);
    assert.deepEqual(
      recs.map((x) => x.frame_number),
      Array.from({ length: 43 }, (_, i) => i + 1),
    );
    assert.equal(recs[0]!.src_ip, '145.254.160.237');
    assert.equal(recs[0]!.tcp_flags, 2);
  });

  it('reads stdin and gzip-compressed input, detected by content', () => {
    const raw = fs.readFileSync(corpusPath('dpkt__http.pcap'));
    const plain = cli(['decode', corpusPath('dpkt__http.pcap')]).out;
    assert.equal(cli(['decode', '-'], raw).out, plain);
    assert.equal(cli(['decode', '-'], gzipSync(raw)).out, plain);
    const gz = path.join(tmp, 'trace.bin');
    fs.writeFileSync(gz, gzipSync(raw));
    assert.equal(cli(['decode', gz]).out, plain);
  });

  it('keeps every packet that inflates from a damaged or cut gzip file, and says so', () => {
    const raw = fs.readFileSync(corpusPath('dpkt__http.pcap'));
    const gz = gzipSync(raw);
    // Only the trailer (CRC and size) missing: all 43 packets, then the damage reported.
    const noTrailer = path.join(tmp, 'no-trailer.pcap.gz');
    fs.writeFileSync(noTrailer, gz.subarray(0, gz.length - 8));
    const d = cli(['decode', noTrailer]);
    assert.equal(d.code, 3, d.err);
    assert.equal(d.out, cli(['decode', corpusPath('dpkt__http.pcap')]).out);
    assert.match(d.err, /gzip stream damaged: .*; 43 packets before it were read\n$/);
    // Cut inside the deflate data: the packets of the part that inflates (found independently,
    // by zlib flushing what it has), nothing less, whichever command and thread count.
    const cutGz = gz.subarray(0, Math.floor(gz.length * 0.6));
    const cut = path.join(tmp, 'cut.pcap.gz');
    fs.writeFileSync(cut, cutGz);
    const prefix = path.join(tmp, 'cut-prefix.pcap');
    fs.writeFileSync(prefix, gunzipSync(cutGz, { finishFlush: zlibConstants.Z_SYNC_FLUSH }));
    const want = cli(['decode', prefix]);
    assert.equal(want.code, 3, want.err);
    const n = lines(want.out).length;
    assert.ok(n > 10 && n < 43, String(n));
    const got = cli(['decode', cut]);
    assert.equal(got.code, 3);
    assert.equal(got.out, want.out);
    assert.match(got.err, /gzip stream damaged: .*; capture truncated at byte \d+: the last record is cut short/);
    const st = cli(['stats', cut, '--json']);
    assert.equal(st.code, 3);
    assert.equal((JSON.parse(st.out) as { packets: number }).packets, n);
    const one = cli(['flows', cut, '--threads', '1']);
    const two = cli(['flows', cut, '--threads', '2']);
    assert.equal(one.code, 3);
    assert.equal(two.code, 3);
    assert.ok(lines(one.out).length > 0);
    assert.equal(two.out, one.out);
  });

  it('reads a gzip file larger than one read chunk', () => {
    const file = path.join(tmp, 'synth-30m.pcap');
    const s = cli(['synth', '--out', file, '--bytes', '30000000', '--seed', '6']);
    assert.equal(s.code, 0, s.err);
    const gz = path.join(tmp, 'synth-30m.pcap.gz');
    fs.writeFileSync(gz, gzipSync(fs.readFileSync(file), { level: 1 }));
    assert.ok(fs.statSync(gz).size > 2 * FILE_CHUNK_BYTES);
    const plain = cli(['stats', file, '--json']);
    const packed = cli(['stats', gz, '--json']);
    assert.equal(packed.code, 0, packed.err);
    const strip = (out: string) => {
      const r = JSON.parse(out) as Record<string, unknown>;
      delete r.container;
      return r;
    };
    assert.deepEqual(strip(packed.out), strip(plain.out));
  });

  it('--fields, --limit and --format csv', () => {
    const r = cli([
      'decode',
      corpusPath('dpkt__http.pcap'),
      '--format',
      'csv',
      '--fields',
      'frame_number,src_ip,dest_port',
      '--limit',
      '3',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.out.trim().split('\n'), [
      'frame_number,src_ip,dest_port',
      '1,145.254.160.237,80',
      '2,65.208.228.223,3372',
      '3,145.254.160.237,80',
    ]);
  });

  it('an unknown field is a usage error naming the known ones', () => {
    const r = cli(['decode', corpusPath('dpkt__http.pcap'), '--fields', 'src_ip,nope']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown field nope; known fields: frame_number,/);
  });

  it('a truncated file keeps every earlier packet and exits 3 with one line', () => {
    const bytes = fs.readFileSync(corpusPath('dpkt__http.pcap'));
    const cut = path.join(tmp, 'cut.pcap');
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const r = cli(['decode', cut]);
    assert.equal(r.code, 3);
    const m = /truncated at byte (\d+): the last record is cut short .*; (\d+) packets before it were read/.exec(r.err);
    assert.ok(m, r.err);
    const kept = Number(m[2]);
    assert.ok(kept >= 40 && kept < 43);
    // Every packet before the damage comes out, identical to a read of the whole file.
    assert.deepEqual(lines(r.out), lines(cli(['decode', corpusPath('dpkt__http.pcap'), '--limit', String(kept)]).out));
    assert.equal(r.err.trim().split('\n').length, 1);
  });

  it('bad paths and non-captures are one-line errors with exit code 4, no stack trace', () => {
    for (const [file, msg] of [
      [path.join(tmp, 'missing.pcap'), /cannot open .*missing\.pcap: no such file/],
      [tmp, /is a directory/],
      [fileURLToPath(import.meta.url), /is not a pcap, pcapng or snoop capture/],
      [corpusPath('rusticata__modified_pcap_kuznetzov.pcap'), /modified \(Kuznetzov\) pcap format is not supported/],
    ] as const) {
      const r = cli(['decode', file]);
      assert.equal(r.code, 4, `${file}: ${r.err}`);
      assert.match(r.err, msg);
      assert.doesNotMatch(r.err, /\n\s+at /);
    }
  });
});

describe('pcapstream stats and synth', () => {
  it('synth writes a capture whose stats agree with its ground truth', () => {
    const out = path.join(tmp, 'synth.pcapng');
    const s = cli(['synth', '--out', out, '--packets', '5000', '--seed', '4', '--format', 'pcapng']);
    assert.equal(s.code, 0, s.err);
    const truth = JSON.parse(fs.readFileSync(`${out}.truth.json`, 'utf8')) as {
      packets: number;
      bytes: number;
      flows: { total: number };
      protocols: Record<string, number>;
    };
    const r = cli(['stats', out, '--json']);
    assert.equal(r.code, 0, r.err);
    const st = JSON.parse(r.out) as {
      packets: number;
      bytes: number;
      flows_5tuple: number;
      container: { format: string };
    };
    assert.equal(st.packets, truth.packets);
    assert.equal(st.bytes, truth.bytes);
    assert.equal(st.flows_5tuple, truth.flows.total);
    assert.equal(st.container.format, 'pcapng');
  });

  it('stats --json reports anomalies by code and the hierarchy', () => {
    const r = cli(['stats', corpusPath('tcpdump__dns_bad_label.pcap'), '--json']);
    assert.equal(r.code, 0, r.err);
    const st = JSON.parse(r.out) as { anomalies: Record<string, number>; hierarchy: { name: string }[] };
    assert.equal(st.anomalies['dns.label_invalid'], 1);
    assert.equal(st.hierarchy[0]!.name, 'eth');
  });

  it('reads a time beyond the calendar (pcapng if_tsoffset) without failing', () => {
    const file = path.join(tmp, 'far-future.pcapng');
    fs.writeFileSync(file, pcapngWithOffset(2n ** 53n));
    const r = cli(['stats', file]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /first packet: +9007199254740992 s since 1970 \(beyond the calendar\)/);
    for (const args of [
      ['decode', file],
      ['flows', file, '--format', 'cic'],
    ]) {
      const d = cli(args);
      assert.equal(d.code, 0, `${args[0]}: ${d.err}`);
    }
    assert.match(cli(['decode', file]).out, /"timestamp":"?9007199254740992\.000001/);
  });
});

describe('packet times before 1970 (a negative pcapng if_tsoffset)', () => {
  it('decode writes them as negative numbers and stats reports them', () => {
    const file = path.join(tmp, 'before-1970.pcapng');
    fs.writeFileSync(file, pcapngWithOffset(-100_000n));
    const d = cli(['decode', file]);
    assert.equal(d.code, 0, d.err);
    // -100,000 s plus the packet's 1 µs.
    assert.equal(lines(d.out)[0]!.timestamp, -99999.999999);
    const csv = cli(['decode', file, '--format', 'csv']);
    assert.match(csv.out, /\n1,-99999\.999999,/);
    const st = cli(['stats', file, '--json']);
    assert.equal(st.code, 0, st.err);
    const r = JSON.parse(st.out) as { first_timestamp: number; last_timestamp: number; duration_s: number };
    assert.ok(Math.abs(r.first_timestamp - -99999.999999) < 1e-6, String(r.first_timestamp));
    assert.equal(r.last_timestamp, r.first_timestamp);
    assert.equal(r.duration_s, 0);
    assert.match(cli(['stats', file]).out, /first packet: +1969-12-30T20:13:20\.000Z/);
  });
});

/** One little-endian pcapng section: an Ethernet interface with if_tsoffset, one UDP packet. */
function pcapngWithOffset(offsetS: bigint): Buffer {
  const block = (type: number, body: Buffer): Buffer => {
    const len = 12 + body.length;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(len, 4);
    body.copy(b, 8);
    b.writeUInt32LE(len, len - 4);
    return b;
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.alloc(24);
  idb.writeUInt16LE(1, 0); // LINKTYPE_ETHERNET
  idb.writeUInt32LE(65535, 4);
  idb.writeUInt16LE(14, 8); // if_tsoffset
  idb.writeUInt16LE(8, 10);
  idb.writeBigInt64LE(offsetS, 12);
  const frame = Buffer.from(
    '0000000000020000000000010800' + // Ethernet, IPv4
      '4500001c0001000040110000c0000201c0000202' + // 192.0.2.1 -> 192.0.2.2, UDP
      '3039003500080000', // 12345 -> 53, 8 bytes
    'hex',
  );
  const epb = Buffer.alloc(20 + 44);
  epb.writeUInt32LE(0, 4); // timestamp: 1 µs after the offset
  epb.writeUInt32LE(1, 8);
  epb.writeUInt32LE(42, 12);
  epb.writeUInt32LE(42, 16);
  frame.copy(epb, 20);
  return Buffer.concat([block(0x0a0d0d0a, shb), block(1, idb), block(6, epb)]);
}
