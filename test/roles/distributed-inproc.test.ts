/**
 * The distributed pipeline on the in-process transport: a sensor publishes a capture to a
 * partitioned packets topic, processors in one group build flows, and the flows topic must hold
 * exactly the flows one engine builds over the whole capture — also when a processor dies
 * mid-stream and another takes over from its checkpoints.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Transport } from '../../src/core/transport.ts';
import { PacketPublisher } from '../../src/roles/packet-publisher.ts';
import { type EngineSettings, Processor } from '../../src/roles/processor.ts';
import { topicNames } from '../../src/roles/topics.ts';
import { synthesize } from '../../src/synth/index.ts';
import { openInproc } from '../../src/transports/inproc/inproc.ts';
import { decodeFlowRecord } from '../../src/transports/wire/flow-record.ts';
import { CORPUS } from '../helpers/corpus.ts';
import { flowText, readRawFrames, referenceFlows } from './helpers.ts';

let bus = 0;

async function publishAll(
  t: Transport,
  frames: Awaited<ReturnType<typeof readRawFrames>>,
  partitions: number,
): Promise<void> {
  const topics = topicNames('t');
  await t.ensureTopic(topics.packets, partitions);
  const pub = new PacketPublisher(await t.producer(), { topic: topics.packets, partitions, batchFrames: 64 });
  for (let i = 0; i < frames.length; i += 100) await pub.publish(frames.slice(i, i + 100));
  await pub.end();
}

/** Final flows on the flows topic, one per uid (redelivered copies are identical). */
async function flowsOnTopic(t: Transport): Promise<string[]> {
  const topics = topicNames('t');
  const c = await t.consumer({ group: 'reader', topics: [topics.flows] });
  const byUid = new Map<string, string>();
  for (let idle = 0; idle < 3; ) {
    const events = await c.poll(50);
    if (events.length === 0) idle++;
    for (const e of events) {
      if (e.kind !== 'messages') continue;
      for (const m of e.messages) {
        const r = decodeFlowRecord(m.value);
        if (r.partial) continue;
        const text = flowText(r);
        const had = byUid.get(r.flow_uid);
        assert.ok(had === undefined || had === text, `a redelivered flow is identical (${r.flow_uid})`);
        byUid.set(r.flow_uid, text);
      }
    }
  }
  await c.close();
  return [...byUid.values()].sort();
}

function captures(): string[] {
  return fs
    .readdirSync(CORPUS)
    .filter((f) => /\.(pcap|pcapng|cap)$/.test(f))
    .sort();
}

const settings: EngineSettings = { preset: 'nfstream', features: 'corrected' };

describe('distributed flows over inproc', () => {
  it('two processors produce exactly the single-engine flows, on every corpus capture', {
    timeout: 300_000,
  }, async () => {
    let checked = 0;
    for (const name of captures()) {
      const frames = await readRawFrames(path.join(CORPUS, name));
      if (frames.length === 0) continue;
      const t = await openInproc(new URL(`inproc://corpus-${++bus}`), {});
      await publishAll(t, frames, 3);
      const topics = topicNames('t');
      let failed = false;
      const procs = [1, 2].map(
        (i) =>
          new Processor({
            // One member failing must not leave the other polling forever.
            shouldStop: () => failed,
            transport: t,
            group: 'g',
            topics,
            engine: settings,
            memberId: `p${i}`,
            exitOnEnd: true,
            checkpointEveryMs: 10,
          }),
      );
      await Promise.all(
        procs.map((p) =>
          p.run().catch((err: unknown) => {
            failed = true;
            throw err;
          }),
        ),
      );
      const got = await flowsOnTopic(t);
      assert.deepEqual(got, referenceFlows(frames, settings), name);
      await t.close();
      checked++;
    }
    assert.ok(checked > 100, `checked ${checked} captures`);
  });

  it('a processor killed mid-stream loses nothing and doubles nothing', { timeout: 120_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'pcs-dist-'));
    const file = path.join(dir, 'synth.pcap');
    await synthesize({ out: file, packets: 30_000, seed: 7 });
    const frames = await readRawFrames(file);
    const t = await openInproc(new URL(`inproc://kill-${++bus}`), {});
    await publishAll(t, frames, 4);
    const topics = topicNames('t');
    // The victim stops abruptly after some batches: no final checkpoint, no commit.
    const victim: Processor = new Processor({
      transport: t,
      group: 'g',
      topics,
      engine: settings,
      memberId: 'victim',
      checkpointEveryMs: 0,
      maxMessages: 5,
      shouldStop: () => victim.stats.batches > 30,
      abandonOnStop: true,
    });
    await victim.run();
    assert.ok(victim.stats.packets > 0 && victim.stats.packets < frames.length, 'the victim did part of the work');
    const survivor = new Processor({ transport: t, group: 'g', topics, engine: settings, exitOnEnd: true });
    await survivor.run();
    // The survivor resumed from the victim's checkpoints rather than from the start.
    assert.ok(survivor.stats.packets < frames.length, 'the survivor did not redo the victim’s checkpointed work');
    assert.ok(
      survivor.stats.packets + victim.stats.packets >= frames.length,
      'between them every packet was processed',
    );
    const got = await flowsOnTopic(t);
    assert.deepEqual(got, referenceFlows(frames, settings));
    await t.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
