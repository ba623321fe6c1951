/**
 * The transport conformance suite: every implementation of `core/transport.ts` runs these cases
 * against its real broker. An implementation may skip a case only by naming it with a reason.
 *
 * Each case uses fresh topic and group names, so runs against a long-lived broker do not see
 * each other's messages.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Consumer, ConsumerEvent, IncomingMessage, Transport } from '../../src/core/transport.ts';

export interface TransportConformanceOptions {
  /** Opens a new transport client to the broker under test (called several times). */
  open: () => Promise<Transport>;
  /** Longest a group takes to move partitions after a join or leave (default 20 s). */
  rebalanceMs?: number;
  /** Case name to the reason it cannot hold for this transport. */
  skip?: Record<string, string>;
}

const CASES = [
  'topics',
  'order',
  'binary',
  'group split',
  'commit resume',
  'leave moves partitions',
  'separate groups',
  'checkpoints',
  'backlog',
] as const;
export type TransportCase = (typeof CASES)[number];

let seq = 0;
function unique(kind: string): string {
  seq++;
  return `pcs-test-${kind}-${process.pid}-${seq}-${randomBytes(3).toString('hex')}`;
}

function msg(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function text(m: IncomingMessage): string {
  return new TextDecoder().decode(m.value);
}

/** Polls until `done` holds or the time runs out; returns every event seen. */
async function pollUntil(
  c: Consumer,
  done: (events: ConsumerEvent[]) => boolean,
  ms: number,
  into: ConsumerEvent[] = [],
): Promise<ConsumerEvent[]> {
  const deadline = Date.now() + ms;
  while (!done(into)) {
    if (Date.now() > deadline) break;
    into.push(...(await c.poll(Math.min(500, Math.max(1, deadline - Date.now())))));
  }
  return into;
}

function messagesOf(events: ConsumerEvent[], topic?: string): IncomingMessage[] {
  const out: IncomingMessage[] = [];
  for (const e of events)
    if (e.kind === 'messages' && (topic === undefined || e.topic === topic)) out.push(...e.messages);
  return out;
}

function owned(c: Consumer, topic: string): number[] {
  return [...(c.assignment().get(topic) ?? [])].sort((a, b) => a - b);
}

/**
 * Registers the suite under `describe(name)`.
 * @example
 * transportConformance('inproc', { open: () => openInproc(new URL('inproc://conformance'), {}) });
 */
export function transportConformance(name: string, options: TransportConformanceOptions): void {
  const rebalanceMs = options.rebalanceMs ?? 20_000;
  const skip = options.skip ?? {};
  const opened: Transport[] = [];
  const open = async (): Promise<Transport> => {
    const t = await options.open();
    opened.push(t);
    return t;
  };
  const test = (c: TransportCase, fn: () => Promise<void>): void => {
    const reason = skip[c];
    if (reason !== undefined) it(c, { skip: reason }, fn);
    else it(c, fn);
  };

  describe(`transport conformance: ${name}`, () => {
    let t: Transport;
    before(async () => {
      t = await open();
    });
    after(async () => {
      for (const x of opened.splice(0)) await x.close();
    });

    test('topics', async () => {
      const topic = unique('topics');
      assert.equal(await t.partitions(topic), 0, 'a missing topic has no partitions');
      assert.equal(await t.ensureTopic(topic, 3), 3);
      assert.equal(await t.partitions(topic), 3);
      assert.equal(await t.ensureTopic(topic, 5), 3, 'an existing topic keeps its partition count');
    });

    test('order', async () => {
      const topic = unique('order');
      await t.ensureTopic(topic, 2);
      const p = await t.producer();
      // Several awaited sends, interleaving partitions: order holds per partition.
      for (let round = 0; round < 5; round++) {
        const batch = [];
        for (let i = 0; i < 40; i++) batch.push({ partition: i % 2, value: msg(`${i % 2}:${round * 40 + i}`) });
        await p.send(topic, batch);
      }
      const c = await t.consumer({ group: unique('g'), topics: [topic] });
      const events = await pollUntil(c, (e) => messagesOf(e).length >= 200, rebalanceMs);
      const got = messagesOf(events);
      assert.equal(got.length, 200, 'every message delivered once');
      for (const part of [0, 1]) {
        const seen = got.filter((m) => m.partition === part).map((m) => Number(text(m).split(':')[1]));
        assert.equal(seen.length, 100);
        for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `partition ${part} in order`);
        for (const m of got.filter((m) => m.partition === part)) assert.equal(text(m).split(':')[0], String(part));
      }
      const assigned = events
        .filter((e) => e.kind === 'assigned')
        .flatMap((e) => (e.kind === 'assigned' ? e.partitions : []));
      assert.deepEqual([...assigned].sort(), [0, 1], 'the only member owns both partitions');
      await c.close();
      await p.close();
    });

    test('binary', async () => {
      const topic = unique('binary');
      await t.ensureTopic(topic, 1);
      const p = await t.producer();
      const big = randomBytes(900 * 1024);
      const small = new Uint8Array([0, 0, 255, 0, 10, 13, 0]);
      const empty = new Uint8Array(0);
      await p.send(topic, [
        { partition: 0, value: small },
        { partition: 0, value: big, key: 'k1' },
        { partition: 0, value: empty },
      ]);
      const c = await t.consumer({ group: unique('g'), topics: [topic] });
      const got = messagesOf(await pollUntil(c, (e) => messagesOf(e).length >= 3, rebalanceMs));
      assert.equal(got.length, 3);
      assert.deepEqual(Buffer.from(got[0]!.value), Buffer.from(small));
      assert.ok(Buffer.from(got[1]!.value).equals(big), 'a 900 KiB value arrives intact');
      assert.equal(got[2]!.value.byteLength, 0);
      await c.close();
      await p.close();
    });

    test('group split', async () => {
      const topic = unique('split');
      await t.ensureTopic(topic, 4);
      const group = unique('g');
      const c1 = await t.consumer({ group, topics: [topic], memberId: 'm1' });
      const t2 = await open();
      const c2 = await t2.consumer({ group, topics: [topic], memberId: 'm2' });
      const e1: ConsumerEvent[] = [];
      const e2: ConsumerEvent[] = [];
      // Both members poll until the four partitions are split between them.
      const deadline = Date.now() + rebalanceMs;
      while (Date.now() < deadline) {
        const [a, b] = await Promise.all([c1.poll(200), c2.poll(200)]);
        e1.push(...a);
        e2.push(...b);
        const o1 = owned(c1, topic);
        const o2 = owned(c2, topic);
        if (o1.length > 0 && o2.length > 0 && o1.length + o2.length === 4) break;
      }
      const o1 = owned(c1, topic);
      const o2 = owned(c2, topic);
      assert.ok(o1.length > 0 && o2.length > 0, `both members own partitions (${o1} | ${o2})`);
      assert.deepEqual([...o1, ...o2].sort(), [0, 1, 2, 3], 'disjoint and complete');
      const p = await t.producer();
      const batch = [];
      for (let i = 0; i < 80; i++) batch.push({ partition: i % 4, value: msg(String(i)) });
      await p.send(topic, batch);
      const until = Date.now() + rebalanceMs;
      while (messagesOf(e1).length + messagesOf(e2).length < 80 && Date.now() < until) {
        const [a, b] = await Promise.all([c1.poll(200), c2.poll(200)]);
        e1.push(...a);
        e2.push(...b);
      }
      const m1 = messagesOf(e1);
      const m2 = messagesOf(e2);
      assert.equal(m1.length + m2.length, 80, 'each message to exactly one member');
      for (const m of m1) assert.ok(o1.includes(m.partition), 'member 1 gets only its partitions');
      for (const m of m2) assert.ok(o2.includes(m.partition), 'member 2 gets only its partitions');
      await c1.close();
      await c2.close();
      await p.close();
    });

    test('commit resume', async () => {
      const topic = unique('commit');
      await t.ensureTopic(topic, 1);
      const group = unique('g');
      const p = await t.producer();
      const batch = [];
      for (let i = 0; i < 50; i++) batch.push({ partition: 0, value: msg(String(i)) });
      await p.send(topic, batch);
      const c1 = await t.consumer({ group, topics: [topic] });
      const got1 = messagesOf(await pollUntil(c1, (e) => messagesOf(e).length >= 50, rebalanceMs));
      assert.equal(got1.length, 50);
      // Commit the first 20 only, then leave as if crashed: 20..49 must come again.
      await c1.commit(topic, 0, got1[19]!.offset);
      await c1.close();
      const c2 = await t.consumer({ group, topics: [topic] });
      const got2 = messagesOf(await pollUntil(c2, (e) => messagesOf(e).length >= 30, rebalanceMs));
      assert.deepEqual(
        got2.map((m) => text(m)),
        Array.from({ length: 30 }, (_, i) => String(i + 20)),
        'resumes right after the committed offset',
      );
      await c2.commit(topic, 0, got2[29]!.offset);
      await c2.close();
      const c3 = await t.consumer({ group, topics: [topic] });
      const got3 = messagesOf(await pollUntil(c3, () => false, 1500));
      assert.equal(got3.length, 0, 'nothing after a full commit');
      await c3.close();
      await p.close();
    });

    test('leave moves partitions', async () => {
      const topic = unique('leave');
      await t.ensureTopic(topic, 2);
      const group = unique('g');
      const c1 = await t.consumer({ group, topics: [topic], memberId: 'a' });
      const t2 = await open();
      const c2 = await t2.consumer({ group, topics: [topic], memberId: 'b' });
      const deadline = Date.now() + rebalanceMs;
      while (Date.now() < deadline && (owned(c1, topic).length !== 1 || owned(c2, topic).length !== 1)) {
        await Promise.all([c1.poll(200), c2.poll(200)]);
      }
      assert.equal(owned(c1, topic).length, 1);
      assert.equal(owned(c2, topic).length, 1);
      const p = await t.producer();
      await p.send(topic, [
        { partition: 0, value: msg('a0') },
        { partition: 1, value: msg('a1') },
      ]);
      // c2 reads but never commits, then leaves: c1 must get c2's partition and its message.
      const lost = owned(c2, topic)[0]!;
      await pollUntil(c2, (e) => messagesOf(e).length >= 1, rebalanceMs);
      await c2.close();
      const events = await pollUntil(
        c1,
        (e) => messagesOf(e).some((m) => m.partition === lost) && owned(c1, topic).length === 2,
        rebalanceMs,
      );
      assert.deepEqual(owned(c1, topic), [0, 1], 'the remaining member owns both');
      assert.ok(
        events.some((e) => e.kind === 'assigned' && e.partitions.includes(lost)),
        'an assigned event names the moved partition',
      );
      const again = messagesOf(events).filter((m) => m.partition === lost);
      assert.deepEqual(again.map(text), [`a${lost}`], 'the uncommitted message is redelivered to the new owner');
      await c1.close();
      await p.close();
    });

    test('separate groups', async () => {
      const topic = unique('groups');
      await t.ensureTopic(topic, 2);
      const p = await t.producer();
      await p.send(topic, [
        { partition: 0, value: msg('x') },
        { partition: 1, value: msg('y') },
      ]);
      const a = await t.consumer({ group: unique('ga'), topics: [topic] });
      const b = await t.consumer({ group: unique('gb'), topics: [topic] });
      const ga = messagesOf(await pollUntil(a, (e) => messagesOf(e).length >= 2, rebalanceMs));
      const gb = messagesOf(await pollUntil(b, (e) => messagesOf(e).length >= 2, rebalanceMs));
      assert.deepEqual(ga.map(text).sort(), ['x', 'y']);
      assert.deepEqual(gb.map(text).sort(), ['x', 'y'], 'each group gets every message');
      await a.close();
      await b.close();
      await p.close();
    });

    test('checkpoints', async () => {
      const group = unique('g');
      const topic = unique('cp');
      assert.equal(await t.checkpoints.load(group, topic, 0), null, 'none saved yet');
      const first = randomBytes(100);
      const big = randomBytes(3 * 1024 * 1024);
      await t.checkpoints.save(group, topic, 0, first);
      await t.checkpoints.save(group, topic, 1, big);
      const other = await open();
      const got0 = await other.checkpoints.load(group, topic, 0);
      assert.ok(got0 !== null && Buffer.from(got0).equals(first), 'visible to another client');
      const got1 = await other.checkpoints.load(group, topic, 1);
      assert.ok(got1 !== null && Buffer.from(got1).equals(big), 'a 3 MiB checkpoint round-trips');
      const second = randomBytes(10);
      await t.checkpoints.save(group, topic, 0, second);
      const latest = await other.checkpoints.load(group, topic, 0);
      assert.ok(latest !== null && Buffer.from(latest).equals(second), 'the latest save wins');
      assert.equal(await t.checkpoints.load(unique('g'), topic, 0), null, 'groups are separate');
      assert.equal(await t.checkpoints.load(group, topic, 2), null, 'partitions are separate');
    });

    test('backlog', async () => {
      const topic = unique('backlog');
      await t.ensureTopic(topic, 2);
      const group = unique('g');
      const p = await t.producer();
      const batch = [];
      for (let i = 0; i < 30; i++) batch.push({ partition: i % 2, value: msg(String(i)) });
      await p.send(topic, batch);
      const c = await t.consumer({ group, topics: [topic] });
      const got = messagesOf(await pollUntil(c, (e) => messagesOf(e).length >= 30, rebalanceMs));
      assert.equal(got.length, 30);
      assert.equal(await t.backlog(topic, group), 30, 'nothing committed: all 30 outstanding');
      const last0 = got.filter((m) => m.partition === 0).at(-1)!;
      await c.commit(topic, 0, last0.offset);
      assert.equal(await t.backlog(topic, group), 15, 'partition 0 committed');
      await c.close();
      await p.close();
    });
  });
}
