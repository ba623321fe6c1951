import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisServer } from '../../../scripts/brokers/redis.ts';
import { freePort } from '../../../scripts/brokers/server-process.ts';
import { transportConformance } from '../../../test/conformance/transport.ts';
import { dec, drain as drainConsumer, enc, uniqueName } from '../../../test/helpers/transport.ts';
import { isPipelineError } from '../../core/errors.ts';
import type { Consumer, Transport } from '../../core/transport.ts';
import { openTransport } from '../index.ts';
import { openRedis } from './redis.ts';

// Short sessions so that rebalances and lease expiry happen within the test's time.
const QUERY = '?sessionMs=2000&heartbeatMs=200';
let server: RedisServer;

before(async () => {
  server = await RedisServer.start();
});
after(async () => {
  await server?.cleanup();
});

function open(query = QUERY): Promise<Transport> {
  return openRedis(new URL(`${server.url}${query}`), { retryForMs: 30_000 });
}

transportConformance('redis', { open: () => open(), rebalanceMs: 10_000 });

const unique = (kind: string): string => uniqueName('pcs-redis', kind);
const drain = (c: Consumer, want: number, ms = 10_000): ReturnType<typeof drainConsumer> => drainConsumer(c, want, ms);

describe('redis transport', () => {
  it('is registered for redis:// and rediss://, and refuses unknown URL options', async () => {
    const t = await openTransport(server.url);
    assert.equal(t.id, 'redis');
    await t.close();
    await assert.rejects(openRedis(new URL(`${server.url}?maxBaclog=5`), {}), (err) => {
      assert.ok(isPipelineError(err) && err.code === 'PCS_TRANSPORT_OPEN');
      assert.match(err.message, /maxBaclog/);
      return true;
    });
  });

  it('takes the password from the URL or the environment, and fails at once on a wrong one', async () => {
    const secret = randomBytes(9).toString('hex');
    const locked = await RedisServer.start({ args: ['--requirepass', secret] });
    try {
      const a = await openRedis(new URL(`redis://:${secret}@127.0.0.1:${locked.port}`), {});
      assert.equal(await a.partitions('none'), 0);
      await a.close();
      const b = await openRedis(new URL(locked.url), { env: { PCAPSTREAM_REDIS_PASSWORD: secret } });
      assert.equal(await b.partitions('none'), 0);
      await b.close();
      const t0 = Date.now();
      for (const url of [`redis://:wrong@127.0.0.1:${locked.port}`, locked.url]) {
        await assert.rejects(openRedis(new URL(url), { env: {} }), (err) => {
          assert.ok(isPipelineError(err) && err.code === 'PCS_TRANSPORT_OPEN', String(err));
          return true;
        });
      }
      assert.ok(Date.now() - t0 < 3000, 'refused credentials are not retried');
    } finally {
      await locked.cleanup();
    }
  });

  it('speaks TLS for rediss://, trusting the CA named by PCAPSTREAM_REDIS_CA_FILE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcs-redis-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    // A self-signed certificate for 127.0.0.1 (openssl comes with the rabbitmq-server package).
    const made = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    assert.equal(made.status, 0, String(made.stderr));
    const tlsPort = await freePort();
    const secure = await RedisServer.start({
      args: ['--tls-port', String(tlsPort), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-auth-clients', 'no'],
    });
    try {
      const url = new URL(`rediss://127.0.0.1:${tlsPort}`);
      const t = await openRedis(url, { env: { PCAPSTREAM_REDIS_CA_FILE: cert } });
      await t.ensureTopic('tls', 1);
      assert.equal(await t.partitions('tls'), 1);
      await t.close();
      const t0 = Date.now();
      await assert.rejects(openRedis(url, { env: {} }), (err) => {
        assert.ok(isPipelineError(err) && err.code === 'PCS_TRANSPORT_OPEN', 'an unknown CA is refused');
        return true;
      });
      assert.ok(Date.now() - t0 < 3000, 'an untrusted certificate is not retried');
    } finally {
      await secure.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails to open after a short wait when nothing listens', async () => {
    const t0 = Date.now();
    await assert.rejects(openRedis(new URL('redis://127.0.0.1:1'), { retryForMs: 500 }), (err) => {
      assert.ok(isPipelineError(err) && err.code === 'PCS_TRANSPORT_OPEN');
      return true;
    });
    assert.ok(Date.now() - t0 < 5000);
  });

  it('rides through a server restart: a send made while it is down resolves after, nothing lost', async () => {
    const t = await open();
    const topic = unique('restart');
    const group = unique('g');
    await t.ensureTopic(topic, 1);
    const p = await t.producer();
    await p.send(
      topic,
      Array.from({ length: 20 }, (_, i) => ({ partition: 0, value: enc(`m${i}`) })),
    );
    const c = await t.consumer({ group, topics: [topic] });
    const first = await drain(c, 20);
    assert.equal(first.got.length, 20);
    await c.commit(topic, 0, first.got[9]!.offset);

    await server.stop();
    let sent = false;
    const pending = p
      .send(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: enc(`m${20 + i}`) })),
      )
      .then(() => {
        sent = true;
      });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(sent, false, 'the send waits while the server is down');
    assert.deepEqual(await c.poll(100), [], 'poll returns nothing while the server is down');
    await server.restart();
    await pending;

    // The consumer goes on where it was (or from the commit, if it lost its lease meanwhile).
    const after = await drain(c, 10);
    const texts = after.got.map(dec);
    assert.deepEqual(
      texts.slice(-10),
      Array.from({ length: 10 }, (_, i) => `m${20 + i}`),
    );
    assert.equal(await t.backlog(topic, group), 20, 'the commit of m9 survived the restart');
    await c.close();

    const c2 = await t.consumer({ group, topics: [topic] });
    const again = await drain(c2, 20);
    assert.deepEqual(
      again.got.map(dec),
      Array.from({ length: 20 }, (_, i) => `m${10 + i}`),
      'everything after the commit is there, in order, once',
    );
    await c2.close();
    await p.close();
    await t.close();
  });

  it('keeps acknowledged messages through a crash (kill -9) of the server', async () => {
    const t = await open();
    const topic = unique('crash');
    await t.ensureTopic(topic, 1);
    const p = await t.producer();
    await p.send(topic, [{ partition: 0, value: enc('acked') }]);
    await server.kill();
    await server.restart();
    const c = await t.consumer({ group: unique('g'), topics: [topic] });
    const { got } = await drain(c, 1);
    assert.deepEqual(got.map(dec), ['acked'], 'appendfsync always: the reply came after the fsync');
    await t.close();
  });

  it('a member whose lease was taken cannot commit, and takes the partition back later', async () => {
    const t = await open();
    const topic = unique('fence');
    const group = unique('g');
    await t.ensureTopic(topic, 1);
    const p = await t.producer();
    await p.send(topic, [
      { partition: 0, value: enc('a') },
      { partition: 0, value: enc('b') },
    ]);
    const c = await t.consumer({ group, topics: [topic] });
    const { got } = await drain(c, 2);
    assert.equal(got.length, 2);
    await c.commit(topic, 0, got[0]!.offset);

    // As if the member had stalled past its session and another one had taken the partition.
    const raw = new Redis(server.port, '127.0.0.1');
    const lease = `pcs:lease:${group}:${topic}:0`;
    await raw.set(lease, 'someone-else#0', 'PX', 1500);
    await assert.rejects(c.commit(topic, 0, got[1]!.offset), (err) => {
      assert.ok(isPipelineError(err) && err.code === 'PCS_TRANSPORT');
      assert.match(err.message, /lost|does not own/);
      return true;
    });
    assert.equal(await t.backlog(topic, group), 1, 'the fenced commit did not move the position');
    assert.deepEqual(c.assignment().get(topic) ?? [], [], 'the member no longer claims the partition');

    // Once the other lease expires the member takes the partition back, from the commit.
    const back = await drain(c, 1, 8000);
    assert.ok(back.events.some((e) => e.kind === 'revoked' && e.partitions.includes(0)));
    assert.ok(back.events.some((e) => e.kind === 'assigned' && e.partitions.includes(0)));
    assert.deepEqual(back.got.map(dec), ['b'], 'redelivered from the committed position');
    await c.commit(topic, 0, back.got[0]!.offset);
    assert.equal(await t.backlog(topic, group), 0);
    raw.disconnect();
    await t.close();
  });

  it('trims committed entries and makes send wait while the slowest group is too far behind', async () => {
    const t = await open(`${QUERY}&maxBacklog=5`);
    const topic = unique('bp');
    const group = unique('g');
    await t.ensureTopic(topic, 1);
    const c = await t.consumer({ group, topics: [topic] });
    const p = await t.producer();
    await p.send(
      topic,
      Array.from({ length: 6 }, (_, i) => ({ partition: 0, value: enc(`x${i}`) })),
    );
    let done = false;
    const pending = p.send(topic, [{ partition: 0, value: enc('x6') }]).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(done, false, 'six uncommitted entries are over the bound of five');
    const { got } = await drain(c, 6);
    await c.commit(topic, 0, got[5]!.offset);
    await pending;
    const raw = new Redis(server.port, '127.0.0.1');
    assert.equal(await raw.xlen(`pcs:s:${topic}:0`), 1, 'the committed entries are gone from Redis');
    raw.disconnect();
    await t.close();
  });

  it('stores checkpoints of tens of megabytes', async () => {
    const t = await open();
    const big = randomBytes(24 * 1024 * 1024);
    await t.checkpoints.save('g', unique('cp'), 0, big);
    const t2 = await open();
    const topic = unique('cp');
    await t.checkpoints.save('g', topic, 3, big);
    const got = await t2.checkpoints.load('g', topic, 3);
    assert.ok(got !== null && Buffer.from(got).equals(big));
    await t.close();
    await t2.close();
  });
});
