import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthenticationError, MultipleErrors, NetworkError, ProtocolError, TimeoutError } from '@platformatic/kafka';
import { KafkaBroker } from '../../../scripts/brokers/kafka.ts';
import { transportConformance } from '../../../test/conformance/transport.ts';
import { isPipelineError } from '../../core/errors.ts';
import type { ConsumerEvent, IncomingMessage, Transport } from '../../core/transport.ts';
import { parseTransportUrl } from '../index.ts';
import { fnv1a } from './checkpoints.ts';
import { connectionOptions, kafkaSettings } from './config.ts';
import { openKafka, splitBatches } from './kafka.ts';
import { isOutage } from './retry.ts';

let broker: KafkaBroker | undefined;

before(async () => {
  broker = await KafkaBroker.start();
});

after(async () => {
  await broker?.cleanup();
});

// Heartbeats every 300 ms: a live member notices a rebalance within that, so the group cases
// settle in a second or two (the default, 1 s, is the production setting).
function url(): URL {
  return new URL(`${broker!.url}?heartbeatIntervalMs=300&sessionTimeoutMs=6000`);
}

transportConformance('kafka', { open: () => openKafka(url(), { retryForMs: 30_000 }), rebalanceMs: 20_000 });

function text(m: IncomingMessage): string {
  return Buffer.from(m.value).toString('utf8');
}

describe('kafka broker restart', () => {
  it('a send issued while the broker is down resolves after the restart; each message is consumed once, in order', async () => {
    const t: Transport = await openKafka(url(), { retryForMs: 60_000 });
    const topic = `pcs-restart-${randomBytes(4).toString('hex')}`;
    assert.equal(await t.ensureTopic(topic, 2), 2);
    const group = `g-${topic}`;
    const c = await t.consumer({ group, topics: [topic] });
    const p = await t.producer();
    const seen: IncomingMessage[] = [];
    const pollUntil = async (n: number, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (seen.length < n && Date.now() < deadline) {
        const events: ConsumerEvent[] = await c.poll(300);
        for (const e of events) {
          if (e.kind !== 'messages') continue;
          seen.push(...e.messages);
          await c.commit(e.topic, e.partition, e.messages.at(-1)!.offset);
        }
      }
    };
    await p.send(topic, [
      { partition: 0, value: Buffer.from('before:0') },
      { partition: 1, value: Buffer.from('before:1') },
    ]);
    await pollUntil(2, 20_000);
    assert.equal(seen.length, 2, 'both messages before the outage arrive');

    // A second client that gives up after 1.5 s: it must report the outage as retriable.
    const quick = await openKafka(url(), { retryForMs: 1500 });
    const quickTopic = `${topic}-quick`;
    await quick.ensureTopic(quickTopic, 1);
    const qp = await quick.producer();
    const qc = await quick.consumer({ group: `g-${quickTopic}`, topics: [quickTopic] });
    await qc.poll(500);

    await broker!.stop();
    const retriable = (e: unknown) => isPipelineError(e) && e.code === 'PCS_TRANSPORT' && e.retriable;
    await assert.rejects(qp.send(quickTopic, [{ partition: 0, value: Buffer.from('q') }]), retriable);
    await assert.rejects(async () => {
      for (let i = 0; i < 20; i++) await qc.poll(250);
    }, retriable);
    const during = [];
    for (let i = 0; i < 20; i++) during.push({ partition: i % 2, value: Buffer.from(`during:${i}`) });
    let settled = false;
    const pending = p.send(topic, during).finally(() => {
      settled = true;
    });
    // The consumer rides through as well: polls answer (empty) instead of failing.
    assert.deepEqual(await c.poll(500), []);
    assert.equal(settled, false, 'the send waits for the broker');
    // A topic asked for during the outage is made once the broker is back, even if the first
    // answer comes before the restarted broker has registered (no broker to hold a replica).
    const created = t.ensureTopic(`${topic}-made-during`, 3);
    await broker!.restart();
    await pending;
    assert.equal(await created, 3);
    await p.send(topic, [{ partition: 0, value: Buffer.from('after:0') }]);

    await pollUntil(23, 40_000);
    const expected: string[][] = [['before:0'], ['before:1']];
    for (let i = 0; i < during.length; i++) expected[i % 2]!.push(`during:${i}`);
    expected[0]!.push('after:0');
    for (const part of [0, 1]) {
      assert.deepEqual(
        seen.filter((m) => m.partition === part).map(text),
        expected[part],
        `partition ${part}: every message once, in send order`,
      );
    }
    // Nothing left over for the group, and the log holds each message once (no producer retry
    // was written twice).
    assert.equal(await t.backlog(topic, group), 0);
    assert.equal(await t.backlog(topic, `fresh-${group}`), 23);
    await c.close();
    await p.close();
    await t.close();
    await quick.close();
  });
});

describe('kafka group churn', () => {
  it('members joining and leaving under load: every message delivered, only to its current owner, in order', async () => {
    const t = await openKafka(url(), { retryForMs: 30_000 });
    const topic = `pcs-churn-${randomBytes(4).toString('hex')}`;
    const partitions = 6;
    await t.ensureTopic(topic, partitions);
    const group = `g-${topic}`;
    const total = 12_000;
    const p = await t.producer();
    const producing = (async () => {
      for (let i = 0; i < total; i += 300) {
        const batch = [];
        for (let j = i; j < i + 300; j++) batch.push({ partition: j % partitions, value: Buffer.from(String(j)) });
        await p.send(topic, batch);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const seen = new Uint8Array(total);
    const problems: string[] = [];
    let stop = false;
    const member = async (name: string, lifeMs: number): Promise<void> => {
      const own = await openKafka(url(), { retryForMs: 30_000 });
      const c = await own.consumer({ group, topics: [topic], memberId: name, maxMessages: 400 });
      const next = new Map<number, number>();
      const end = Date.now() + lifeMs;
      while (!stop && Date.now() < end) {
        const events = await c.poll(100);
        // Checked as poll returns: a later await may see a rebalance the batch predates.
        const owned = c.assignment().get(topic) ?? [];
        for (const e of events) {
          if (e.kind === 'assigned') for (const q of e.partitions) next.delete(q);
          if (e.kind !== 'messages') continue;
          if (!owned.includes(e.partition)) problems.push(`${name} got partition ${e.partition} it does not own`);
          for (const m of e.messages) {
            const o = Number(m.offset);
            const want = next.get(e.partition);
            if (want !== undefined && o !== want)
              problems.push(`${name}: partition ${e.partition} jumped ${want} -> ${o}`);
            next.set(e.partition, o + 1);
            seen[Number(text(m))] = 1;
          }
        }
        for (const e of events) {
          if (e.kind !== 'messages') continue;
          // Refused when the partition moved meanwhile: its new owner gets the messages again.
          await c.commit(topic, e.partition, e.messages.at(-1)!.offset).catch(() => {});
        }
      }
      await own.close();
    };
    const members = [member('steady', 60_000)];
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 600));
      members.push(member(`short-${i}`, 1200 + i * 500));
    }
    await producing;
    const deadline = Date.now() + 30_000;
    while (seen.includes(0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await Promise.all(members);
    assert.deepEqual(problems, []);
    assert.equal(seen.indexOf(0), -1, 'every message delivered at least once');
    await p.close();
    await t.close();
  });
});

describe('kafka settings', () => {
  it('maps TLS and SASL from the environment into the client options', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcs-kafka-env-'));
    try {
      const ca = join(dir, 'ca.pem');
      const cert = join(dir, 'client.pem');
      const key = join(dir, 'client.key');
      writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n');
      writeFileSync(cert, 'CERT');
      writeFileSync(key, 'KEY');
      const s = kafkaSettings(parseTransportUrl('kafka://b1.example:9093,b2.example:9094?clientId=sensor-7'), {
        env: {
          PCAPSTREAM_KAFKA_TLS: '1',
          PCAPSTREAM_KAFKA_CA_FILE: ca,
          PCAPSTREAM_KAFKA_CERT_FILE: cert,
          PCAPSTREAM_KAFKA_KEY_FILE: key,
          PCAPSTREAM_KAFKA_SASL_MECHANISM: 'scram-sha-512',
          PCAPSTREAM_KAFKA_SASL_USERNAME: 'sensor',
          PCAPSTREAM_KAFKA_SASL_PASSWORD: 's3cret',
        },
      });
      const o = connectionOptions(s);
      assert.deepEqual(o.bootstrapBrokers, ['b1.example:9093', 'b2.example:9094']);
      assert.equal(o.clientId, 'sensor-7');
      assert.deepEqual(o.tls, {
        ca: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
        cert: 'CERT',
        key: 'KEY',
      });
      assert.deepEqual(o.sasl, { mechanism: 'SCRAM-SHA-512', username: 'sensor', password: 's3cret' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('connects in plain text without those variables, and takes credentials from the URL', () => {
    const plain = connectionOptions(kafkaSettings(new URL('kafka://127.0.0.1:9092'), { env: {} }));
    assert.equal(plain.tls, undefined);
    assert.equal(plain.sasl, undefined);
    assert.deepEqual(plain.bootstrapBrokers, ['127.0.0.1:9092']);
    const withTls = connectionOptions(kafkaSettings(new URL('kafka://k:9093'), { env: { PCAPSTREAM_KAFKA_TLS: '1' } }));
    assert.deepEqual(withTls.tls, {}, 'TLS with the system CAs');
    const fromUrl = connectionOptions(
      kafkaSettings(new URL('kafka://user:p%40ss@k:9093'), {
        env: { PCAPSTREAM_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256', PCAPSTREAM_KAFKA_SASL_USERNAME: 'other' },
      }),
    );
    assert.deepEqual(fromUrl.sasl, { mechanism: 'SCRAM-SHA-256', username: 'user', password: 'p@ss' });
  });

  it('refuses bad settings with PCS_TRANSPORT_OPEN', () => {
    const bad: [string, Record<string, string>][] = [
      [
        'kafka://k:9092',
        {
          PCAPSTREAM_KAFKA_SASL_MECHANISM: 'GSSAPI',
          PCAPSTREAM_KAFKA_SASL_USERNAME: 'u',
          PCAPSTREAM_KAFKA_SASL_PASSWORD: 'p',
        },
      ],
      ['kafka://k:9092', { PCAPSTREAM_KAFKA_SASL_MECHANISM: 'PLAIN', PCAPSTREAM_KAFKA_SASL_USERNAME: 'u' }],
      ['kafka://k:9092', { PCAPSTREAM_KAFKA_CA_FILE: '/nonexistent/ca.pem' }],
      ['kafka://k:9092', { PCAPSTREAM_KAFKA_CERT_FILE: '/nonexistent/c.pem' }],
      ['kafka://k:9092', { PCAPSTREAM_KAFKA_TLS: 'yes' }],
      ['kafka://k:9092?sessionTimeoutMs=abc', {}],
      ['kafka://k:9092?clientID=x', {}],
      ['kafka://k:9092?assignor=range', {}],
    ];
    for (const [u, env] of bad) {
      assert.throws(
        () => kafkaSettings(new URL(u), { env }),
        (e: unknown) => isPipelineError(e) && e.code === 'PCS_TRANSPORT_OPEN',
        `${u} ${JSON.stringify(env)}`,
      );
    }
  });

  it('keeps every broker of a host list', () => {
    const u = parseTransportUrl('kafka://a:9092,[::1]:9093,c?clientId=x');
    assert.deepEqual(kafkaSettings(u, { env: {} }).brokers, ['a:9092', '[::1]:9093', 'c:9092']);
    assert.equal(parseTransportUrl('kafka://a:9092').searchParams.get('hosts'), null);
  });

  it('cuts a send into batches of at most maxBatchBytes per partition, in order', () => {
    const m = (partition: number, size: number, tag: number) => ({ partition, value: new Uint8Array(size).fill(tag) });
    const parts = splitBatches([m(0, 600, 1), m(1, 600, 2), m(0, 600, 3), m(0, 3000, 4), m(1, 10, 5)], 1500);
    assert.deepEqual(
      parts.map((p) => p.map((x) => x.value[0])),
      [
        [1, 2, 3],
        [4, 5],
      ],
    );
    assert.equal(splitBatches([], 1500).length, 0);
  });

  it('tells outages from refusals', () => {
    const refused = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    assert.equal(
      isOutage(new NetworkError('Connection to k:9093 failed.', { cause: new Error('ECONNREFUSED') })),
      true,
    );
    assert.equal(
      isOutage(new MultipleErrors('produce failed 3 times.', [new TimeoutError('Request timed out')])),
      true,
    );
    assert.equal(isOutage(new ProtocolError('NOT_LEADER_OR_FOLLOWER')), true);
    assert.equal(isOutage(new ProtocolError('MESSAGE_TOO_LARGE')), false);
    assert.equal(isOutage(new ProtocolError('TOPIC_AUTHORIZATION_FAILED')), false);
    assert.equal(isOutage(new NetworkError('Connection to k:9093 failed.', { cause: refused })), false);
    assert.equal(isOutage(new AuthenticationError('SASL authentication failed.')), false);
    assert.equal(isOutage(new Error('anything else')), false);
  });

  it('places checkpoint keys with a stable hash', () => {
    // FNV-1a reference values: changing the hash would orphan stored checkpoints.
    assert.equal(fnv1a(''), 0x811c9dc5);
    assert.equal(fnv1a('a'), 0xe40c292c);
    assert.equal(fnv1a('foobar'), 0xbf9cf968);
  });
});

describe('kafka open', () => {
  it('refuses a topic whose replication factor the cluster cannot hold, after a short grace', async () => {
    const t = await openKafka(new URL(`${url().href}&replicationFactor=3`), { retryForMs: 1500 });
    try {
      const started = Date.now();
      await assert.rejects(
        t.ensureTopic(`pcs-rf3-${randomBytes(4).toString('hex')}`, 1),
        (e: unknown) => isPipelineError(e) && e.code === 'PCS_TRANSPORT' && /replication factor/i.test(e.message),
      );
      assert.ok(Date.now() - started < 15_000, 'the grace is bounded by retryForMs');
    } finally {
      await t.close();
    }
  });

  it('fails with PCS_TRANSPORT_OPEN, retriable, when nothing answers within retryForMs', async () => {
    const t0 = Date.now();
    await assert.rejects(
      openKafka(new URL('kafka://127.0.0.1:1?connectTimeoutMs=200'), { retryForMs: 700 }),
      (e: unknown) => isPipelineError(e) && e.code === 'PCS_TRANSPORT_OPEN' && e.retriable,
    );
    assert.ok(Date.now() - t0 < 10_000);
  });
});
