/**
 * Topic creation's handling of the broker's answers, with a scripted admin client: what the
 * broker says right after a restart cannot be timed reliably against a real one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Admin, ProtocolError } from '@platformatic/kafka';
import { createTopic } from './checkpoints.ts';
import { kafkaSettings } from './config.ts';

/** An admin whose createTopics fails with `answers` in turn, then succeeds. */
function scriptedAdmin(answers: string[]): { admin: Admin; calls: () => number } {
  let calls = 0;
  let made = false;
  const admin = {
    async createTopics() {
      const answer = answers[calls++];
      // Another client made it meanwhile.
      if (answer === 'TOPIC_ALREADY_EXISTS') made = true;
      if (answer !== undefined) throw new ProtocolError(answer);
      made = true;
      return [];
    },
    async metadata() {
      return { topics: new Map(made ? [['t', { partitionsCount: 3 }]] : []) };
    },
  } as unknown as Admin;
  return { admin, calls: () => calls };
}

const settings = (retryForMs: number) => kafkaSettings(new URL('kafka://127.0.0.1:9092'), { retryForMs });

describe('createTopic', () => {
  it('retries a replication refusal while a restarted broker registers, then makes the topic', async () => {
    const { admin, calls } = scriptedAdmin(['INVALID_REPLICATION_FACTOR', 'INVALID_REPLICATION_FACTOR']);
    assert.equal(await createTopic(admin, settings(10_000), 't', 3, {}), 3);
    assert.equal(calls(), 3);
  });

  it('gives up on a replication refusal once the grace (bounded by retryForMs) has passed', async () => {
    const { admin, calls } = scriptedAdmin(new Array(100).fill('INVALID_REPLICATION_FACTOR'));
    const t0 = Date.now();
    await assert.rejects(createTopic(admin, settings(1000), 't', 3, {}), /replication/i);
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 5000, `refused after the grace (${took} ms)`);
    assert.ok(calls() >= 2, 'asked again within the grace');
  });

  it('fails at once on other refusals, and takes an existing topic as made', async () => {
    const refused = scriptedAdmin(['INVALID_PARTITIONS']);
    await assert.rejects(createTopic(refused.admin, settings(10_000), 't', 3, {}));
    assert.equal(refused.calls(), 1);
    const exists = scriptedAdmin(['TOPIC_ALREADY_EXISTS']);
    assert.equal(await createTopic(exists.admin, settings(10_000), 't', 3, {}), 3);
    assert.equal(exists.calls(), 1);
  });
});
