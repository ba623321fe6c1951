/**
 * The local Cassandra node the store tests run against (`scripts/brokers/cassandra.ts`): it
 * answers CQL on loopback, keeps acknowledged rows across a graceful stop and restart and across
 * SIGKILL (commit log fsynced before the acknowledgement), comes back on the same port, and
 * `cleanup` leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import cassandra from 'cassandra-driver';
import { CASSANDRA_DATA_CENTER, CassandraServer, cassandraReady } from '../../scripts/brokers/cassandra.ts';

type Client = InstanceType<typeof cassandra.Client>;

/** Runs `fn` with a fresh client (a restarted node is a new server for the driver). */
async function withClient<T>(node: CassandraServer, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new cassandra.Client({
    contactPoints: [node.contactPoint],
    localDataCenter: CASSANDRA_DATA_CENTER,
    queryOptions: { prepare: true },
  });
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.shutdown();
  }
}

async function readValue(node: CassandraServer, id: number): Promise<string | undefined> {
  return withClient(node, async (c) => {
    const rs = await c.execute('SELECT v FROM t1.kv WHERE id = ?', [id]);
    return rs.first()?.get('v') as string | undefined;
  });
}

describe('CassandraServer', () => {
  let node: CassandraServer | undefined;

  before(async () => {
    node = await CassandraServer.start();
  });

  after(async () => {
    await node?.cleanup();
  });

  it('answers CQL on loopback with its own ports and directory', async () => {
    const n = node!;
    assert.equal(n.host, '127.0.0.1');
    assert.equal(n.url, `cassandra://127.0.0.1:${n.port}`);
    assert.notEqual(n.storagePort, n.port);
    assert.ok(n.pid > 0);
    assert.ok(existsSync(n.dataDir));
    assert.equal(await cassandraReady(n.port), true);
    const version = await withClient(n, async (c) => {
      const rs = await c.execute('SELECT release_version FROM system.local');
      return rs.first().get('release_version') as string;
    });
    assert.match(version, /^5\.0\./);
  });

  it('keeps an acknowledged row across a graceful stop and restart', async () => {
    const n = node!;
    await withClient(n, async (c) => {
      await c.execute("CREATE KEYSPACE t1 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
      await c.execute('CREATE TABLE t1.kv (id int PRIMARY KEY, v text)');
      await c.execute('INSERT INTO t1.kv (id, v) VALUES (?, ?)', [1, 'before stop']);
    });
    const { port, storagePort, dataDir } = n;
    const oldPid = n.pid;
    await n.stop();
    assert.equal(n.pid, 0);
    assert.equal(await cassandraReady(port, 1000), false);
    await n.restart();
    assert.notEqual(n.pid, oldPid);
    assert.deepEqual([n.port, n.storagePort, n.dataDir], [port, storagePort, dataDir]);
    assert.equal(await readValue(n, 1), 'before stop');
  });

  it('keeps an acknowledged row across SIGKILL (commit log replay)', async () => {
    const n = node!;
    await withClient(n, (c) => c.execute('INSERT INTO t1.kv (id, v) VALUES (?, ?)', [2, 'before kill']));
    await n.kill();
    assert.equal(n.pid, 0);
    await n.restart();
    assert.equal(await readValue(n, 2), 'before kill');
    assert.equal(await readValue(n, 1), 'before stop');
  });

  it('cleanup stops the node and removes the directory it created', async () => {
    const n = node!;
    const pid = n.pid;
    await n.cleanup();
    node = undefined;
    assert.equal(existsSync(n.dataDir), false);
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    assert.equal(await cassandraReady(n.port, 1000), false);
  });
});
