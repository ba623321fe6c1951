/**
 * `pcapstream replay <file> --to URL`: send a capture to the packets topic with tcpreplay's
 * timing (recorded speed, --multiplier, --pps, --mbps, --topspeed, --loop), partitioned by flow.
 */
import { PacketPublisher } from '../../roles/packet-publisher.ts';
import { topicNames } from '../../roles/topics.ts';
import { replayCapture } from '../../sources/replay/replay.ts';
import { reportTruncation } from '../report.ts';
import {
  connect,
  memberName,
  numberOption,
  onStopSignals,
  type RoleCliOptions,
  startHeartbeat,
} from './roles-common.ts';

export interface ReplayCliOptions extends RoleCliOptions {
  to: string;
  partitions: string;
  multiplier?: string;
  pps?: string;
  mbps?: string;
  topspeed: boolean;
  loop: string;
  maxLag?: string;
  group: string;
}

export async function replayCommand(file: string, o: ReplayCliOptions): Promise<number> {
  const partitions = numberOption('--partitions', o.partitions, 1, 10_000)!;
  const loop = numberOption('--loop', o.loop, 0)!;
  const heartbeatS = numberOption('--heartbeat-every', o.heartbeatEvery, 0)!;
  const maxLag = numberOption('--max-lag', o.maxLag, 1);
  const timing = {
    ...(o.multiplier === undefined ? {} : { multiplier: numberOption('--multiplier', o.multiplier, 1e-6)! }),
    ...(o.pps === undefined ? {} : { pps: numberOption('--pps', o.pps, 1e-6)! }),
    ...(o.mbps === undefined ? {} : { mbps: numberOption('--mbps', o.mbps, 1e-6)! }),
    topspeed: o.topspeed,
  };
  const topics = topicNames(o.topicPrefix);
  const transport = await connect(o.to, 'replay');
  let stopping = false;
  const offSignals = onStopSignals(() => {
    stopping = true;
  });
  try {
    const have = await transport.ensureTopic(topics.packets, partitions);
    if (have !== partitions) {
      process.stderr.write(`pcapstream: ${topics.packets} exists with ${have} partitions; using them\n`);
    }
    const producer = await transport.producer();
    const pub = new PacketPublisher(producer, { topic: topics.packets, partitions: have });
    const member = memberName('replay');
    const hb = await startHeartbeat(transport, topics, 'replay', member, heartbeatS, () => ({
      packets: pub.stats.frames,
      bytes: pub.stats.bytes,
      losses: {},
    }));
    const started = Date.now();
    const result = await replayCapture(file, { ...timing, loop, shouldStop: () => stopping }, async (frames) => {
      await pub.publish(frames);
      // Back-pressure from the processors: wait while the group lags too far behind.
      if (maxLag !== undefined) {
        while (!stopping && (await transport.backlog(topics.packets, o.group)) > maxLag) {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    });
    await pub.end();
    await producer.close();
    await hb.stop();
    const s = (Date.now() - started) / 1000;
    process.stderr.write(
      `${stopping ? 'interrupted: ' : ''}replayed ${result.frames.toLocaleString('en-US')} frames in ${s.toFixed(2)} s` +
        ` (${Math.round(result.frames / Math.max(s, 1e-6)).toLocaleString('en-US')} packets/s, ${result.passes} pass(es))` +
        ` into ${have} partitions of ${topics.packets}; timing: mean ${result.meanLatenessMs.toFixed(2)} ms late,` +
        ` max ${result.maxLatenessMs.toFixed(2)} ms\n`,
    );
    return reportTruncation(result);
  } finally {
    offSignals();
    await transport.close();
  }
}
