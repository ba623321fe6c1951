/**
 * `pcapstream process --from URL --group NAME`: a consumer-group member that builds flows, KPIs
 * and anomalies from the packets topic and publishes them on the flows, metrics and errors
 * topics (optionally also into a local DuckDB store). See `roles/processor.ts` for how state is
 * checkpointed so a crash or rebalance loses and doubles nothing.
 */
import { type EngineSettings, Processor } from '../../roles/processor.ts';
import { topicNames } from '../../roles/topics.ts';
import { EXIT_OK } from '../exit-codes.ts';
import { type FlowCliOptions, flowSettings } from '../flow-options.ts';
import {
  connect,
  memberName,
  numberOption,
  onStopSignals,
  type RoleCliOptions,
  startHeartbeat,
} from './roles-common.ts';

export interface ProcessCliOptions extends RoleCliOptions, FlowCliOptions {
  from: string;
  group: string;
  checkpointEvery: string;
  exitOnEnd: boolean;
  topN: string;
  verbose: boolean;
}

export async function processCommand(o: ProcessCliOptions): Promise<number> {
  const settings: EngineSettings = flowSettings(o);
  const checkpointS = numberOption('--checkpoint-every', o.checkpointEvery, 0.01, 3600)!;
  const heartbeatS = numberOption('--heartbeat-every', o.heartbeatEvery, 0)!;
  const topN = numberOption('--top-n', o.topN, 1, 1000)!;
  const topics = topicNames(o.topicPrefix);
  const transport = await connect(o.from, 'process');
  const member = memberName('process');
  let stopping = false;
  const offSignals = onStopSignals(() => {
    stopping = true;
  });
  try {
    const proc = new Processor({
      transport,
      group: o.group,
      topics,
      engine: settings,
      memberId: member,
      checkpointEveryMs: checkpointS * 1000,
      topN,
      exitOnEnd: o.exitOnEnd,
      shouldStop: () => stopping,
      ...(o.verbose ? { log: (line: string) => process.stderr.write(`pcapstream: ${line}\n`) } : {}),
    });
    const hb = await startHeartbeat(transport, topics, 'process', member, heartbeatS, async () => ({
      packets: proc.stats.packets,
      bytes: proc.stats.bytes,
      consumer_lag: await proc.lag().catch(() => -1),
      losses: {
        batches_malformed: proc.stats.batches_malformed,
        decode_errors: proc.stats.decode_errors,
      },
    }));
    const started = Date.now();
    const s = await proc.run();
    await hb.stop();
    const el = (Date.now() - started) / 1000;
    process.stderr.write(
      `${stopping ? 'stopped: ' : ''}processed ${s.packets.toLocaleString('en-US')} packets in ${s.batches.toLocaleString('en-US')} batches` +
        ` (${s.batches_redelivered} redelivered skipped, ${s.batches_malformed} malformed), ${s.flows.toLocaleString('en-US')} flow records,` +
        ` ${s.checkpoints} checkpoints in ${el.toFixed(2)} s\n`,
    );
    return EXIT_OK;
  } finally {
    offSignals();
    await transport.close();
  }
}
