/**
 * The Cassandra store against a real single node started on loopback: the store conformance
 * suite, then what only this store has (keyspace layout, idempotent rows, riding out an outage).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import cassandra from 'cassandra-driver';
import { CassandraServer } from '../../../scripts/brokers/cassandra.ts';
import { flow, storeConformance } from '../../../test/conformance/store.ts';
import { exitDespiteLeakedHandles } from '../../../test/helpers/leaked-handles.ts';
import { isPipelineError } from '../../core/errors.ts';
import { openReportSource } from '../../query/open-reports.ts';
import { type CassandraStoreAddress, parseStoreAddress } from '../store-url.ts';
import { openCassandraStore } from './cassandra-store.ts';

let node: CassandraServer | undefined;
let ks = 0;

before(async () => {
  node = await CassandraServer.start();
});

after(async () => {
  await node?.cleanup();
});
// Registered after the cleanup, so it runs once the node is gone.
exitDespiteLeakedHandles();

function address(url: string): CassandraStoreAddress {
  return parseStoreAddress(url) as CassandraStoreAddress;
}

// Small buckets and two shards: the suite's flows then span many partitions.
storeConformance('cassandra', {
  fresh: async () => `${node!.url}/conf${++ks}?bucket=30&shards=2`,
  open: (url, sensor) => openCassandraStore(address(url), { sensor }),
  reports: (url) => openReportSource(url),
});

describe('cassandra store', () => {
  it('keeps CIC features exactly, NaN and infinities included, and writes no value for absent features', async () => {
    const url = `${node!.url}/feat${++ks}`;
    const st = await openCassandraStore(address(url), { sensor: 's' });
    const f = flow(1);
    f.features![0] = Number.POSITIVE_INFINITY;
    f.features![1] = -0.125;
    st.addFlow(f);
    st.addFlow(flow(2, { features: null }));
    await st.close();
    const c = new cassandra.Client({ contactPoints: [`127.0.0.1:${node!.port}`], localDataCenter: 'datacenter1' });
    try {
      const rs = await c.execute(
        `SELECT flow_uid, flow_duration, total_fwd_packets, flow_bytes_per_s FROM feat${ks}.flows`,
      );
      const byUid = new Map(rs.rows.map((r) => [r.get('flow_uid') as string, r]));
      const one = byUid.get(f.flow_uid)!;
      assert.equal(one.get('flow_duration'), Number.POSITIVE_INFINITY);
      assert.equal(one.get('total_fwd_packets'), -0.125);
      assert.ok(Number.isNaN(one.get('flow_bytes_per_s')));
      assert.equal(byUid.get(flow(2).flow_uid)!.get('flow_duration'), null);
    } finally {
      await c.shutdown();
    }
  });

  it('keeps the layout the keyspace was created with and refuses another schema version', async () => {
    const url = `${node!.url}/layout${++ks}?bucket=120&shards=3`;
    await (await openCassandraStore(address(url), { sensor: 's' })).close();
    // A later writer with other settings writes where readers look: the first layout.
    const st = await openCassandraStore(address(`${node!.url}/layout${ks}?bucket=10&shards=1`), { sensor: 's' });
    st.addFlow(flow(1));
    await st.close();
    const c = new cassandra.Client({ contactPoints: [`127.0.0.1:${node!.port}`], localDataCenter: 'datacenter1' });
    try {
      const rs = await c.execute(`SELECT bucket, shard FROM layout${ks}.flows`);
      const f = flow(1);
      assert.equal(Number(rs.first().get('bucket')), Math.floor(f.first_seen_us / 120e6));
      assert.ok(rs.first().get('shard') < 3);
      await c.execute(
        `UPDATE layout${ks}.meta SET value = '{"schema_version":99,"bucket_s":60,"shards":1}' WHERE key = 'layout'`,
      );
    } finally {
      await c.shutdown();
    }
    await assert.rejects(openCassandraStore(address(url), { sensor: 's' }), (e: unknown) => {
      return isPipelineError(e) && e.code === 'PCS_STORE_OPEN' && /schema version 99/.test(e.message);
    });
  });

  it('an unreachable node fails to open with PCS_STORE_OPEN naming the address', async () => {
    await assert.rejects(openCassandraStore(address('cassandra://127.0.0.1:1/x'), { sensor: 's' }), (e: unknown) => {
      return isPipelineError(e) && e.code === 'PCS_STORE_OPEN' && /127\.0\.0\.1:1/.test(e.message);
    });
  });

  it('rides out a node restart: writes wait with back-off, memory stays bounded, nothing is lost', async () => {
    const url = `${node!.url}/outage${++ks}?queue=2000`;
    const st = await openCassandraStore(address(url), { sensor: 's', requestTimeoutMs: 3000 });
    let added = 0;
    const addSome = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        st.addFlow(flow(++added));
        const wait = st.tick();
        if (wait !== undefined) await wait;
      }
    };
    await addSome(2000);
    await node!.stop();
    // Writing goes on while the node is down until the queue is full; then tick() holds the writer.
    let blocked = true;
    const writer = addSome(8000).then(() => {
      blocked = false;
    });
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(blocked, 'the writer must wait while the node is down');
    assert.ok(st.retries > 0, 'failed writes are retried');
    await node!.restart();
    await writer;
    await st.close();
    assert.equal(st.stats.dropped, 0);
    assert.ok(st.maxQueued <= 2000 + 64, `queue peaked at ${st.maxQueued} rows, above its bound`);
    const r = await openReportSource(url);
    try {
      const all = await r.run('host-flows', { host: '192.0.2.1', limit: 1_000_000, stepS: 1 });
      assert.equal(all.rows.length, added);
    } finally {
      await r.close();
    }
  });
});
