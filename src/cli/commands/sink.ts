/**
 * `pcapstream sink --from URL --db FILE` (or `--store cassandra://...`): consume the flows,
 * metrics and errors topics into a store, one copy of each flow however often it is delivered.
 */
import { Sink } from '../../roles/sink.ts';
import { topicNames } from '../../roles/topics.ts';
import { openStore } from '../../sinks/open-store.ts';
import { EXIT_OK } from '../exit-codes.ts';
import {
  connect,
  memberName,
  numberOption,
  onStopSignals,
  type RoleCliOptions,
  startHeartbeat,
} from './roles-common.ts';

export interface SinkCliOptions extends RoleCliOptions {
  from: string;
  group: string;
  db: string;
  /** A DuckDB file or a cassandra:// URL; wins over `db`. */
  store?: string;
  sensor?: string;
  exitAfterIdle?: string;
}

export async function sinkCommand(o: SinkCliOptions): Promise<number> {
  const heartbeatS = numberOption('--heartbeat-every', o.heartbeatEvery, 0)!;
  const idleS = numberOption('--exit-after-idle', o.exitAfterIdle, 0.1);
  const topics = topicNames(o.topicPrefix);
  const transport = await connect(o.from, 'sink');
  let stopping = false;
  const offSignals = onStopSignals(() => {
    stopping = true;
  });
  try {
    const { store } = await openStore(o.store ?? o.db, {
      dedupeFlows: true,
      label: o.from,
      ...(o.sensor === undefined ? {} : { sensor: o.sensor }),
    });
    try {
      const member = memberName('sink');
      const sink = new Sink({
        transport,
        group: o.group,
        topics,
        store,
        memberId: member,
        shouldStop: () => stopping,
        ...(idleS === undefined ? {} : { exitAfterIdleMs: idleS * 1000 }),
      });
      const hb = await startHeartbeat(transport, topics, 'sink', member, heartbeatS, async () => ({
        packets: 0,
        bytes: 0,
        consumer_lag: await sink.lag().catch(() => -1),
        losses: { messages_malformed: sink.stats.malformed, ...store.losses() },
      }));
      const s = await sink.run();
      await hb.stop();
      process.stderr.write(
        `${stopping ? 'stopped: ' : ''}stored ${s.flows.toLocaleString('en-US')} flow records (repeats ignored),` +
          ` ${s.metrics} metric windows, ${s.anomalies} anomalies into ${store.where}; ${s.malformed} unreadable messages\n`,
      );
    } finally {
      await store.close();
    }
    return EXIT_OK;
  } finally {
    offSignals();
    await transport.close();
  }
}
