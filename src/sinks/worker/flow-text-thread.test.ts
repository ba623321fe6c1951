import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JsonWriter } from '../../core/json-writer.ts';
import { PacketContext } from '../../core/packet.ts';
import { FlowEngine } from '../../flow/flow-engine.ts';
import { P_CONTEXT, P_FWD_PACKETS, P_HAS_FEATURES, PACKED_FLOW_WIDTH, unpackFlow } from '../../flow/packed-flow.ts';
import type { FlowRecord } from '../../flow/records.ts';
import { synthesize } from '../../synth/index.ts';
import { readDecoded } from '../../transports/worker/decode-pipeline.ts';
import { flowBytesWriter, flowFormatter, packedFlowBytesWriter } from '../flow-format.ts';
import { LineWriter } from '../stdout/line-writer.ts';
import { FlowTextThread } from './flow-text-thread.ts';

let dir = '';
/** Each flow of the capture as the engine hands it: records, and the same flows packed. */
const records: FlowRecord[] = [];
const packed: Float64Array[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcapstream-flow-text-'));
  const file = path.join(dir, 'synth.pcap');
  await synthesize({ out: file, packets: 30_000, seed: 11, format: 'pcap' });
  const a = new FlowEngine({ partialEveryS: 0.2, onFlow: (r) => records.push(r) });
  const b = new FlowEngine({
    partialEveryS: 0.2,
    onFlow: () => assert.fail('onFlow with onPackedFlow set'),
    onPackedFlow: (p) => packed.push(p.slice()),
  });
  await readDecoded(
    file,
    new PacketContext(),
    (p) => {
      a.packet(p);
      b.packet(p);
    },
    { threads: 1 },
  );
  a.flushAll('end');
  b.flushAll('end');
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The text one thread makes of `records`. */
function inline(format: 'jsonl' | 'csv' | 'cic'): string {
  if (format === 'cic') return records.map((r) => `${flowFormatter('cic', 'BENIGN', 'corrected').line(r)}\n`).join('');
  const w = new JsonWriter();
  const write = flowBytesWriter(format);
  for (const r of records) write(r, w);
  return w.take().toString('latin1');
}

async function threaded(format: 'jsonl' | 'csv' | 'cic', maxInFlight: number, file: string): Promise<string> {
  const stream = fs.createWriteStream(file);
  const out = new LineWriter(stream);
  const text = new FlowTextThread(out, { format, maxInFlight });
  // Added in bursts without yielding, as the engine does between input chunks: with a small
  // maxInFlight most batches are formatted on this thread, interleaved with the worker's.
  for (let i = 0; i < packed.length; i++) {
    text.add(packed[i]!);
    if (i % 3000 === 2999) {
      await text.room();
      await out.flush();
    }
  }
  await text.end();
  await out.flush();
  await new Promise<void>((resolve) => stream.end(resolve));
  return fs.readFileSync(file, 'latin1');
}

describe('packed flow records', () => {
  it('unpack to the records the engine hands out', () => {
    assert.ok(records.length > 1500, `${records.length} flows`);
    assert.ok(records.some((r) => r.partial) && records.some((r) => r.ip_version === 6));
    assert.equal(packed.length, records.length);
    for (let i = 0; i < records.length; i++) {
      assert.equal(packed[i]!.length, PACKED_FLOW_WIDTH);
      assert.equal(packed[i]![P_FWD_PACKETS], records[i]!.fwd_packets);
    }
  });
});

describe('packedFlowBytesWriter', () => {
  for (const format of ['csv', 'jsonl'] as const) {
    it(`${format}: the bytes flowBytesWriter writes for the unpacked record`, () => {
      const viaRecord = flowBytesWriter(format);
      const direct = packedFlowBytesWriter(format);
      const a = new JsonWriter();
      const b = new JsonWriter();
      for (const p of packed) {
        a.pos = 0;
        b.pos = 0;
        viaRecord(unpackFlow(p, 0), a);
        direct(p, 0, b);
        assert.equal(b.buf.toString('latin1', 0, b.pos), a.buf.toString('latin1', 0, a.pos));
      }
    });
  }

  it('matches on records without features, ICMP and odd contexts too', () => {
    const direct = packedFlowBytesWriter('csv');
    const viaRecord = flowBytesWriter('csv');
    for (const p of packed.slice(0, 200)) {
      const q = p.slice();
      q[P_HAS_FEATURES] = 0;
      // VLAN 4094, tunnel index 11 (l2tp) and one past the known tunnels ('other'), restart bits.
      for (const ctx of [4095 | (11 << 13), 1 | (12 << 13) | (3 << 17)]) {
        q[P_CONTEXT] = ctx;
        const a = new JsonWriter();
        const b = new JsonWriter();
        viaRecord(unpackFlow(q, 0), a);
        direct(q, 0, b);
        assert.equal(b.buf.toString('latin1', 0, b.pos), a.buf.toString('latin1', 0, a.pos));
      }
    }
  });
});

describe('FlowTextThread', () => {
  for (const format of ['csv', 'jsonl', 'cic'] as const) {
    for (const maxInFlight of [1, 4]) {
      it(`${format}, ${maxInFlight} batch(es) at the worker: the same bytes as one thread`, async () => {
        const got = await threaded(format, maxInFlight, path.join(dir, `${format}-${maxInFlight}.out`));
        const want = inline(format);
        assert.equal(got.length, want.length);
        assert.equal(got, want);
      });
    }
  }
});
