/**
 * The sink over inproc: flows from two processors land in a deduplicating DuckDB store once
 * each, equal to one engine's flows; delivering the whole flows topic again adds nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { PacketPublisher } from '../../src/roles/packet-publisher.ts';
import { type EngineSettings, Processor } from '../../src/roles/processor.ts';
import { Sink } from '../../src/roles/sink.ts';
import { topicNames } from '../../src/roles/topics.ts';
import { openDuckDBStore } from '../../src/sinks/db/duckdb-store.ts';
import { synthesize } from '../../src/synth/index.ts';
import { openInproc } from '../../src/transports/inproc/inproc.ts';
import { encodeFlowRecord } from '../../src/transports/wire/flow-record.ts';
import { flowRecord } from '../helpers/store-records.ts';
import { readRawFrames, referenceFlows } from './helpers.ts';

const settings: EngineSettings = { preset: 'nfstream', features: 'corrected' };

async function storedFlows(db: string): Promise<string[]> {
  const inst = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
  const c = await inst.connect();
  const r = await c.runAndReadAll(
    'SELECT flow_uid, fwd_packets, bwd_packets, fwd_bytes, bwd_bytes, end_reason FROM flows WHERE NOT partial ORDER BY flow_uid',
  );
  const rows = r.getRows().map((row) => row.map(String).join(' '));
  c.closeSync();
  inst.closeSync();
  return rows;
}

describe('sink over inproc', () => {
  it('stores each flow once, equal to one engine, and ignores a full redelivery', { timeout: 180_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcs-sink-'));
    const file = path.join(dir, 'synth.pcap');
    await synthesize({ out: file, packets: 20_000, seed: 11 });
    const frames = await readRawFrames(file);
    const t = await openInproc(new URL('inproc://sink-test'), {});
    const topics = topicNames('s');
    await t.ensureTopic(topics.packets, 4);
    const db = path.join(dir, 'flows.duckdb');
    // The same capture twice, through fresh processor groups: the second pass publishes every
    // flow record again, and the store must ignore all of them.
    for (const pass of [1, 2]) {
      const pub = new PacketPublisher(await t.producer(), { topic: topics.packets, partitions: 4 });
      for (let i = 0; i < frames.length; i += 500) await pub.publish(frames.slice(i, i + 500));
      await pub.end();
      await Promise.all(
        ['a', 'b'].map((m) =>
          new Processor({
            transport: t,
            group: `p${pass}`,
            topics,
            engine: settings,
            memberId: m,
            exitOnEnd: true,
          }).run(),
        ),
      );
      const store = await openDuckDBStore({ path: db, dedupeFlows: true });
      const sink = new Sink({ transport: t, group: 'sink', topics, store, exitAfterIdleMs: 300, commitEveryMs: 100 });
      const s = await sink.run();
      await store.close();
      assert.ok(s.flows > 0, `pass ${pass} delivered flows`);
      assert.equal(s.malformed, 0);
    }
    const expected = referenceFlows(frames, settings)
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .map((r) => [r.flow_uid, r.fwd_packets, r.bwd_packets, r.fwd_bytes, r.bwd_bytes, r.end_reason].join(' '))
      .sort();
    assert.deepEqual(await storedFlows(db), expected);
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('sink --exit-after-idle', () => {
  it('a store that holds the sink longer than the idle limit does not end it while records wait', async () => {
    const t = await openInproc(new URL('inproc://sink-idle-test'), {});
    const topics = topicNames('idle');
    await t.ensureTopic(topics.flows, 2);
    const producer = await t.producer();
    const total = 3000;
    for (let i = 0; i < total; i += 100) {
      const batch = [];
      for (let id = i + 1; id <= i + 100; id++)
        batch.push({ partition: id % 2, value: encodeFlowRecord(flowRecord(id)) });
      await producer.send(topics.flows, batch);
    }
    const stored = new Set<string>();
    let held = 0;
    // Every tick makes the sink wait twice the idle limit, as a slow database would.
    const store = {
      addFlow: (r: { flow_uid: string }) => stored.add(r.flow_uid),
      addMetrics: () => {},
      addAnomaly: () => {},
      flush: async () => {},
      tick: () => {
        held++;
        return new Promise<void>((r) => setTimeout(r, 400));
      },
    };
    const sink = new Sink({ transport: t, group: 'g', topics, store, exitAfterIdleMs: 200, commitEveryMs: 100 });
    const s = await sink.run();
    assert.ok(held > 1, 'the store held the sink more than once');
    assert.equal(s.flows, total);
    assert.equal(stored.size, total, 'every record stored before the sink ended');
    await t.close();
  });
});
