import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { PcapngWriter } from './pcapng-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'pcapng-writer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// 60-byte ARP request, 00:0c:29:aa:bb:cc asks who has 10.0.0.1, tell 10.0.0.2 (padded to 60).
const ARP = Buffer.from(
  'ffffffffffff000c29aabbcc08060001080006040001000c29aabbcc0a000002000000000000' +
    '0a000001000000000000000000000000000000000000',
  'hex',
);

function tshark(args: string[]): string {
  return execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

function capinfos(args: string[]): string {
  return execFileSync('capinfos', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** Frames of odd and even lengths so every padding case of the EPB occurs. */
function frame(i: number): Buffer {
  const b = Buffer.alloc(60 + i);
  ARP.copy(b);
  for (let j = ARP.length; j < b.length; j++) b[j] = (i * 7 + j) & 0xff;
  return b;
}

test('µs pcapng: SHB, IDB and EPBs that tshark and capinfos read back exactly', async () => {
  const path = join(dir, 'usec.pcapng');
  const fd = openSync(path, 'w');
  const w = new PcapngWriter(fd, { bufferSize: 200 });
  for (let i = 0; i < 9; i++) w.writePacket(1700000000 + i, i * 1_000_001, frame(i));
  // A timestamp whose µs count needs both 32-bit words: 2^32 µs is about 71 minutes.
  w.writePacket(4000000000, 999_999_000, frame(1));
  await w.close();
  closeSync(fd);
  const bytes = readFileSync(path);
  assert.equal(bytes.length, w.size);
  assert.equal(bytes.readUInt32LE(0), 0x0a0d0d0a);
  assert.equal(bytes.readUInt32LE(8), 0x1a2b3c4d);

  const rows = tshark(['-r', path, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'arp.src.hw_mac'])
    .trim()
    .split('\n');
  assert.equal(rows.length, 10);
  assert.equal(rows[0], '1700000000.000000000\t60\t00:0c:29:aa:bb:cc');
  assert.equal(rows[3], '1700000003.003000000\t63\t00:0c:29:aa:bb:cc');
  assert.equal(rows[9], '4000000000.999999000\t61\t00:0c:29:aa:bb:cc');
  const hex = tshark(['-r', path, '-Y', 'frame.number == 6', '-x']);
  // Frame 6 is frame(5): its last byte is (5 * 7 + 64) & 0xff = 0x63.
  assert.match(hex, /\b63\s+/);

  const info = capinfos(['-M', '-t', '-E', '-c', '-I', '-F', path]);
  assert.match(info, /File type:\s+pcapng\n/);
  assert.match(info, /Number of packets:\s+10\n/);
  assert.match(info, /Time precision = microseconds \(6\)/);
  assert.match(info, /Capture application: pcapstream\n/);
  assert.match(info, /Encapsulation = Ethernet \(1 - ether\)/);
  assert.match(info, /Capture length = 262144\n/);
});

test('ns pcapng carries if_tsresol = 9; snaplen cuts packets and keeps orig_len', async () => {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
  const w = new PcapngWriter(sink, { nanos: true, snaplen: 64, application: '' });
  w.writePacket(1600000000, 123456789, frame(0));
  w.writePacket(1600000001, 1, frame(20)); // 80 bytes, cut to 64
  const o = w.beginPacket(42);
  ARP.copy(w.buf, o, 0, 42);
  w.commitPacket(1600000002, 999999999, 42, 60);
  await w.close();
  const path = join(dir, 'nsec.pcapng');
  writeFileSync(path, Buffer.concat(chunks));
  const rows = tshark(['-r', path, '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len'])
    .trim()
    .split('\n');
  assert.deepEqual(rows, [
    '1600000000.123456789\t60\t60',
    '1600000001.000000001\t64\t80',
    '1600000002.999999999\t42\t60',
  ]);
  const info = capinfos(['-M', '-t', '-I', '-F', path]);
  assert.match(info, /Time precision = nanoseconds \(9\)/);
  assert.match(info, /Capture length = 64\n/);
  assert.doesNotMatch(info, /Capture application/);
});
