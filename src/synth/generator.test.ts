import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Catalog } from './catalog.ts';
import type { PacketOutput } from './generator.ts';
import { Generator, sum16 } from './generator.ts';
import { FlowLog } from './truth.ts';

test('sum16: the RFC 1071 section 3 example', () => {
  // Bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0x2ddf0, folded 0xddf2.
  const b = Uint8Array.from([0xff, 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.equal(sum16(b, 1, 9), 0x2ddf0);
  // An odd length pads the last byte with a zero on the right.
  assert.equal(sum16(b, 1, 8), 0x2ddf0 - 0xf7);
});

/** Keeps every record in memory; asks to drain every `drainEvery` packets (0: never). */
class MemoryOutput implements PacketOutput {
  buf = Buffer.alloc(4096);
  size = 0;
  needsDrain = false;
  readonly records: string[] = [];
  private readonly drainEvery: number;
  private at = 0;

  constructor(drainEvery: number) {
    this.drainEvery = drainEvery;
  }

  beginPacket(maxLen: number): number {
    if (maxLen > this.buf.length) throw new Error('frame larger than the buffer');
    // A fresh buffer each time: the generator must read `buf` after beginPacket.
    this.buf = Buffer.alloc(this.buf.length, 0xee);
    this.at = 100 + (this.records.length % 7);
    return this.at;
  }

  commitPacket(tsSec: number, tsNanos: number, length: number): void {
    this.records.push(`${tsSec}.${tsNanos} ${this.buf.subarray(this.at, this.at + length).toString('hex')}`);
    this.size += 16 + length;
    if (this.drainEvery > 0 && this.records.length % this.drainEvery === 0) this.needsDrain = true;
  }
}

function generate(drainEvery: number, packets: number): { out: MemoryOutput; gen: Generator } {
  const out = new MemoryOutput(drainEvery);
  const gen = new Generator(new Catalog(31), 31, out, { start: 1700000000, sessionRate: 2500 }, new FlowLog());
  let pauses = 0;
  while (!gen.run(packets, Number.POSITIVE_INFINITY)) {
    assert.ok(out.needsDrain, 'run() stops early only to drain');
    out.needsDrain = false;
    pauses++;
  }
  gen.end();
  if (drainEvery > 0) assert.ok(pauses >= Math.floor(packets / drainEvery) - 1);
  return { out, gen };
}

test('backpressure pauses do not change a single byte, and limits are exact', () => {
  const a = generate(0, 4000);
  const b = generate(97, 4000);
  assert.equal(a.out.records.length, 4000);
  assert.deepEqual(b.out.records, a.out.records);
  assert.deepEqual(b.gen.counters, a.gen.counters);
  assert.deepEqual(b.gen.flows.list(), a.gen.flows.list());
  // Every byte of every frame was written: none of the 0xee fill shows through at the end.
  for (const r of a.out.records.slice(0, 200)) assert.doesNotMatch(r, /(ee){6}$/);
});

test('counters add up: per-session packets and bytes sum to the totals', () => {
  const { out, gen } = generate(0, 6000);
  const c = gen.counters;
  assert.equal(c.packets, 6000);
  let bytes = 0;
  for (const r of out.records) bytes += (r.length - r.indexOf(' ') - 1) / 2;
  assert.equal(c.bytes, bytes);
  // Flows hold every non-ARP packet exactly once.
  let flowPackets = 0;
  let flowBytes = 0;
  for (const f of gen.flows.list()) {
    flowPackets += f[5] + f[7];
    flowBytes += f[6] + f[8];
  }
  assert.equal(flowPackets, c.packets - c.arp);
  assert.equal(flowBytes, c.bytes - c.arp * 60);
  assert.equal(c.ipv4 + c.ipv6 + c.arp, c.packets);
  assert.equal(c.tcp + c.udp + c.icmp + c.icmpv6, c.ipv4 + c.ipv6);
});
