import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Channel, connect } from 'amqplib';
import { RabbitMQServer } from '../../../scripts/brokers/rabbitmq.ts';
import { transportConformance } from '../../../test/conformance/transport.ts';
import { dec, drain as drainConsumer, enc, uniqueName } from '../../../test/helpers/transport.ts';
import { isPipelineError } from '../../core/errors.ts';
import type { Consumer, Transport } from '../../core/transport.ts';
import { openTransport } from '../index.ts';
import { closeQuietly, openRabbitMQ } from './rabbitmq.ts';

// Short sessions so that rebalances happen within the test's time.
const QUERY = '?sessionMs=2000&heartbeatMs=200';
let server: RabbitMQServer;

before(async () => {
  server = await RabbitMQServer.start();
});
after(async () => {
  await server?.cleanup();
});

function open(query = QUERY, clientId?: string): Promise<Transport> {
  return openRabbitMQ(new URL(`${server.url}${query}`), { retryForMs: 40_000, ...(clientId ? { clientId } : {}) });
}

transportConformance('rabbitmq', { open: () => open(), rebalanceMs: 10_000 });

const unique = (kind: string): string => uniqueName('pcs-amqp', kind);
const drain = (c: Consumer, want: number, ms = 15_000): ReturnType<typeof drainConsumer> => drainConsumer(c, want, ms);

describe('rabbitmq transport', () => {
  it('is registered for amqp:// and amqps://, and refuses unknown URL options', async () => {
    const t = await openTransport(server.url);
    assert.equal(t.id, 'rabbitmq');
    await t.close();
    await assert.rejects(openRabbitMQ(new URL(`${server.url}?maxBaclog=5`), {}), (err) => {
      assert.ok(isPipelineError(err) && err.code === 'PCS_TRANSPORT_OPEN');
      assert.match(err.message, /maxBaclog/);
      return true;
    });
  });

  it('takes credentials from the URL or the environment, and fails at once on wrong ones', async () => {
    const bare = `amqp://127.0.0.1:${server.port}`;
    const t = await openRabbitMQ(new URL(bare), {
      env: { PCAPSTREAM_AMQP_USERNAME: 'guest', PCAPSTREAM_AMQP_PASSWORD: 'guest' },
    });
    assert.equal(await t.partitions('none'), 0);
    await t.close();
    const t0 = Date.now();
    await assert.rejects(openRabbitMQ(new URL(`amqp://guest:wrong@127.0.0.1:${server.port}`), {}), (err) => {
      assert.ok(isPipelineError(err) && err.code === 'PCS_TRANSPORT_OPEN', String(err));
      return true;
    });
    assert.ok(Date.now() - t0 < 3000, 'refused credentials are not retried');
  });

  it('a channel or connection close settles when the connection drops before the broker confirms it', async () => {
    for (const what of ['channel', 'connection'] as const) {
      const conn = await connect(server.url);
      conn.on('error', () => {});
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      const t0 = Date.now();
      const closing = closeQuietly(what === 'channel' ? ch : conn);
      // The socket fails before the close-ok can arrive; amqplib's own close() never settles then.
      (conn as unknown as { connection: { stream: Socket } }).connection.stream.destroy(new Error('lost'));
      await closing;
      assert.ok(Date.now() - t0 < 1000, `${what}: settled at once (${Date.now() - t0} ms), not by the timeout`);
    }
  });

  it('rides through a broker restart: a send made while it is down resolves after, nothing lost', async () => {
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
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sent, false, 'the send waits while the broker is down');
    await server.restart();
    await pending;

    // The consumer lost its lease with its connection: it rejoins and resumes after the commit.
    const again = await drain(c, 20);
    assert.ok(again.events.some((e) => e.kind === 'revoked'));
    assert.ok(again.events.some((e) => e.kind === 'assigned'));
    assert.deepEqual(
      again.got.map(dec),
      Array.from({ length: 20 }, (_, i) => `m${10 + i}`),
      'everything after the commit, in order, once',
    );
    assert.equal(await t.backlog(topic, group), 20, 'the commit of m9 survived the restart');
    await c.close();
    await p.close();
    await t.close();
  });

  it('keeps confirmed messages and commits through a crash (kill -9) of the broker', async () => {
    const t = await open();
    const topic = unique('crash');
    const group = unique('g');
    await t.ensureTopic(topic, 1);
    const p = await t.producer();
    await p.send(topic, [
      { partition: 0, value: enc('one') },
      { partition: 0, value: enc('two') },
    ]);
    const c = await t.consumer({ group, topics: [topic] });
    const { got } = await drain(c, 2);
    await c.commit(topic, 0, got[0]!.offset);
    await c.close();
    await server.kill();
    await server.restart();
    const c2 = await t.consumer({ group, topics: [topic] });
    const after = await drain(c2, 1);
    assert.deepEqual(after.got.map(dec), ['two']);
    await t.close();
  });

  it('a member whose lease was taken cannot commit, and takes the partition back later', async () => {
    const t = await open(QUERY, 'fence-victim');
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

    // The broker drops the member's connections (as in a network partition) and another
    // client takes the lease before the member is back.
    const listed = await server.ctl(['list_connections', '-q', '--no-table-headers', 'pid', 'client_properties']);
    const victims = listed
      .split('\n')
      .filter((line) => line.includes('fence-victim'))
      .map((line) => line.split('\t')[0]!.trim());
    assert.ok(victims.length > 0, listed);
    const other = await connect(server.url);
    other.on('error', () => {});
    const closing = Promise.all(victims.map((pid) => server.ctl(['close_connection', pid, 'partition test'])));
    const lease = `pcs:l:${group}:${topic}:0`;
    let holder: Channel | null = null;
    for (const until = Date.now() + 15_000; holder === null && Date.now() < until; ) {
      const ch = await other.createChannel();
      ch.on('error', () => {});
      try {
        await ch.consume(lease, () => {}, { exclusive: true, noAck: true });
        holder = ch;
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    await closing;
    assert.ok(holder !== null, 'the lease was released when the connection dropped');
    await assert.rejects(c.commit(topic, 0, got[1]!.offset), (err) => {
      assert.ok(isPipelineError(err) && err.code === 'PCS_TRANSPORT');
      assert.match(err.message, /lost|does not own/);
      return true;
    });
    assert.equal(await t.backlog(topic, group), 1, 'the fenced commit did not move the position');
    assert.deepEqual(c.assignment().get(topic) ?? [], [], 'the member no longer claims the partition');
    await other.close();

    // Released again: the member takes it back and starts after the commit.
    const back = await drain(c, 1);
    assert.ok(back.events.some((e) => e.kind === 'assigned' && e.partitions.includes(0)));
    assert.deepEqual(back.got.map(dec), ['b'], 'redelivered from the committed position');
    await c.commit(topic, 0, back.got[0]!.offset);
    assert.equal(await t.backlog(topic, group), 0);
    await t.close();
  });

  it('makes send wait while the slowest group lags more than maxBacklog', async () => {
    const t = await open(`${QUERY}&maxBacklog=4`);
    const topic = unique('bp');
    const group = unique('g');
    await t.ensureTopic(topic, 1);
    const c = await t.consumer({ group, topics: [topic] });
    const p = await t.producer();
    for (let i = 0; i < 5; i++) await p.send(topic, [{ partition: 0, value: enc(`x${i}`) }]);
    let done = false;
    const pending = p.send(topic, [{ partition: 0, value: enc('x5') }]).then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(done, false, 'five uncommitted messages are over the bound of four');
    const { got } = await drain(c, 5);
    await c.commit(topic, 0, got[4]!.offset);
    await pending;
    await t.close();
  });

  it('stores checkpoints of tens of megabytes', async () => {
    const t = await open();
    const t2 = await open();
    const topic = unique('cp');
    const big = randomBytes(24 * 1024 * 1024);
    await t.checkpoints.save('g', topic, 3, big);
    const got = await t2.checkpoints.load('g', topic, 3);
    assert.ok(got !== null && Buffer.from(got).equals(big));
    await t.close();
    await t2.close();
  });
});
