import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, test } from 'node:test';
import { isPipelineError } from '../../core/errors.ts';
import { PcapReader } from './pcap-reader.ts';
import { PcapWriter } from './pcap-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'pcap-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// 60-byte ARP request, 00:0c:29:aa:bb:cc asks who has 10.0.0.1, tell 10.0.0.2 (padded to 60).
const ARP = Buffer.from(
  'ffffffffffff000c29aabbcc08060001080006040001000c29aabbcc0a000002000000000000' +
    '0a000001000000000000000000000000000000000000',
  'hex',
);

interface ReadBack {
  sec: number;
  nanos: number;
  caplen: number;
  wirelen: number;
  bytes: Buffer;
}

function readBack(bytes: Uint8Array, chunk = 1 << 20): { reader: PcapReader; frames: ReadBack[] } {
  const frames: ReadBack[] = [];
  const reader = new PcapReader((f) => {
    frames.push({
      sec: f.tsSec,
      nanos: f.tsNanos,
      caplen: f.caplen,
      wirelen: f.wirelen,
      bytes: Buffer.from(f.buf.subarray(f.off, f.off + f.caplen)),
    });
  });
  for (let i = 0; i < bytes.length; i += chunk) reader.push(bytes.subarray(i, i + chunk));
  reader.end();
  return { reader, frames };
}

function tshark(args: string[]): string {
  return execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** Frames of increasing size with a recognisable pattern, for round trips. */
function frame(i: number): Buffer {
  const b = Buffer.alloc(60 + ((i * 37) % 1400));
  ARP.copy(b);
  for (let j = ARP.length; j < b.length; j++) b[j] = (i + j) & 0xff;
  return b;
}

test('µs pcap written to a descriptor reads back with PcapReader, capinfos and tshark', () => {
  const path = join(dir, 'usec.pcap');
  const fd = openSync(path, 'w');
  // A tiny buffer forces many flushes and one packet larger than the buffer.
  const w = new PcapWriter(fd, { bufferSize: 256 });
  const n = 50;
  for (let i = 0; i < n; i++) w.writePacket(1700000000 + i, i * 1000 + 999, frame(i));
  w.writePacket(1700000100, 5000, Buffer.alloc(1000, 0xab));
  return w.close().then(() => {
    closeSync(fd);
    const bytes = readFileSync(path);
    assert.equal(bytes.length, w.size);
    assert.equal(w.packets, n + 1);
    const { reader, frames } = readBack(bytes, 97);
    assert.equal(reader.linkType, 1);
    assert.equal(reader.snaplen, 262144);
    assert.equal(frames.length, n + 1);
    for (let i = 0; i < n; i++) {
      assert.equal(frames[i]!.sec, 1700000000 + i);
      // Microsecond resolution: the sub-µs part of the nanoseconds is dropped.
      assert.equal(frames[i]!.nanos, i * 1000);
      assert.deepEqual(frames[i]!.bytes, frame(i));
      assert.equal(frames[i]!.wirelen, frame(i).length);
    }
    assert.equal(frames[n]!.caplen, 1000);

    // Table output: file name, encapsulation, packet count.
    const info = execFileSync('capinfos', ['-M', '-E', '-c', '-T', '-r', path], { encoding: 'utf8' });
    assert.match(info, /\tether\t51\n$/);
    const times = execFileSync('capinfos', ['-M', '-a', '-e', '-S', path], { encoding: 'utf8' });
    assert.match(times, /First packet time:\s+1700000000\.000000\n/);
    assert.match(times, /Last packet time:\s+1700000100\.000005\n/);
    const tsv = tshark([
      '-r',
      path,
      '-T',
      'fields',
      '-e',
      'frame.len',
      '-e',
      'frame.time_epoch',
      '-e',
      'arp.dst.proto_ipv4',
    ]);
    const rows = tsv.trim().split('\n');
    assert.equal(rows.length, n + 1);
    assert.deepEqual(rows[1]!.split('\t'), [String(frame(1).length), '1700000001.000001000', '10.0.0.1']);
  });
});

test('ns pcap keeps nanoseconds; snaplen cuts packets and keeps orig_len', async () => {
  const path = join(dir, 'nsec.pcap');
  const fd = openSync(path, 'w');
  const w = new PcapWriter(fd, { nanos: true, snaplen: 100, linkType: 1 });
  w.writePacket(1600000000, 123456789, frame(0));
  w.writePacket(1600000001, 999999999, frame(40)); // 60 + 1480 % 1400 = 140 bytes, cut to 100
  w.writePacket(1600000002, 1, ARP.subarray(0, 42), 60); // captured 42 of 60
  await w.close();
  closeSync(fd);
  const { reader, frames } = readBack(readFileSync(path));
  assert.equal(reader.snaplen, 100);
  assert.equal(frames[0]!.nanos, 123456789);
  assert.equal(frames[1]!.nanos, 999999999);
  assert.equal(frames[1]!.caplen, 100);
  assert.equal(frames[1]!.wirelen, 140);
  assert.deepEqual(frames[1]!.bytes, frame(40).subarray(0, 100));
  assert.equal(frames[2]!.caplen, 42);
  assert.equal(frames[2]!.wirelen, 60);
  const tsv = tshark(['-r', path, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len']);
  assert.deepEqual(tsv.trim().split('\n'), [
    '1600000000.123456789\t60\t60',
    '1600000001.999999999\t100\t140',
    '1600000002.000000001\t42\t60',
  ]);
  const info = execFileSync('capinfos', ['-M', '-c', '-l', path], { encoding: 'utf8' });
  assert.match(info, /Number of packets:\s+3/);
  assert.match(info, /Packet size limit:\s+file hdr: 100 bytes/);
});

test('a Writable sink receives the same bytes as a descriptor, in whole chunks', async () => {
  const path = join(dir, 'same.pcap');
  const fd = openSync(path, 'w');
  const a = new PcapWriter(fd, { bufferSize: 4096 });
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
  const b = new PcapWriter(sink, { bufferSize: 4096 });
  for (let i = 0; i < 200; i++) {
    a.writePacket(1700000000, i * 1000, frame(i));
    if (!b.writePacket(1700000000, i * 1000, frame(i))) await b.drain();
  }
  await a.close();
  closeSync(fd);
  await b.close();
  const fromFd = readFileSync(path);
  assert.deepEqual(Buffer.concat(chunks), fromFd);
  // Every chunk but the last was a full buffer: no per-packet writes.
  assert.ok(chunks.length > 10);
  for (const c of chunks.slice(0, -1)) assert.ok(c.length > 4096 - 1600, `chunk of ${c.length} bytes`);
  assert.equal(readBack(fromFd).frames.length, 200);
});

test('beginPacket/commitPacket build a record in place', async () => {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(c: Buffer, _enc, cb) {
      chunks.push(c);
      cb();
    },
  });
  const w = new PcapWriter(sink);
  const o = w.beginPacket(ARP.length);
  ARP.copy(w.buf, o);
  w.commitPacket(1700000000, 42_000, ARP.length);
  await w.close();
  const { frames } = readBack(Buffer.concat(chunks));
  assert.equal(frames.length, 1);
  assert.deepEqual(frames[0]!.bytes, ARP);
  assert.equal(frames[0]!.nanos, 42_000);
});

test('write errors surface as PCS_SINK_WRITE; bad options as PCS_CONFIG', async () => {
  const failing = new Writable({
    write(_c, _enc, cb) {
      cb(new Error('disk full'));
    },
  });
  const w = new PcapWriter(failing, { bufferSize: 64 });
  w.writePacket(1, 0, ARP);
  await new Promise((r) => setImmediate(r));
  await assert.rejects(w.close(), (e: unknown) => isPipelineError(e) && e.code === 'PCS_SINK_WRITE');
  assert.throws(
    () => new PcapWriter(failing, { snaplen: 0 }),
    (e: unknown) => isPipelineError(e) && e.code === 'PCS_CONFIG',
  );
  const bad = new PcapWriter(-1);
  await assert.rejects(bad.close(), (e: unknown) => isPipelineError(e) && e.code === 'PCS_SINK_WRITE');
});
