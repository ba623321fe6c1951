import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OutgoingMessage } from '../core/transport.ts';
import { SendsInFlight, TopicPartitions } from './producer-bookkeeping.ts';

const msg = (partition: number, text: string): OutgoingMessage => ({ partition, value: Buffer.from(text) });

describe('TopicPartitions', () => {
  it('looks a topic up once and groups messages by partition in their order', async () => {
    const lookups: string[] = [];
    const parts = new TopicPartitions('test', async (t) => {
      lookups.push(t);
      return 3;
    });
    const g = await parts.group('t', [msg(2, 'a'), msg(0, 'b'), msg(2, 'c')]);
    assert.deepEqual(
      [...g].map(([p, list]) => [p, list.map((m) => Buffer.from(m.value).toString())]),
      [
        [2, ['a', 'c']],
        [0, ['b']],
      ],
    );
    await parts.group('t', [msg(1, 'd')]);
    assert.deepEqual(lookups, ['t']);
  });

  it('refuses a missing topic and a partition the topic does not have', async () => {
    const parts = new TopicPartitions('test', async (t) => (t === 'known' ? 2 : 0));
    await assert.rejects(
      parts.group('missing', [msg(0, 'x')]),
      /^PipelineError: test: no topic 'missing'; create it first$/,
    );
    for (const p of [2, -1, 0.5]) {
      await assert.rejects(parts.group('known', [msg(0, 'x'), msg(p, 'y')]), {
        message: `test: topic 'known' has no partition ${p}`,
      });
    }
  });
});

describe('SendsInFlight', () => {
  it('settled() waits for every tracked send, failed ones too', async () => {
    const sends = new SendsInFlight();
    let release!: () => void;
    const slow = sends.track(new Promise<void>((r) => (release = r)));
    const failing = sends.track(Promise.reject(new Error('boom')));
    await assert.rejects(failing, /boom/);
    let done = false;
    const all = sends.settled().then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false, 'still waiting for the slow send');
    release();
    await slow;
    await all;
    assert.equal(done, true);
    await sends.settled();
  });
});
