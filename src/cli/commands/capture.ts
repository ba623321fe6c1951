/**
 * `pcapstream capture --interface IF [--filter BPF] --to URL`: live capture through tcpdump into
 * the packets topic, partitioned by flow. Kernel drop counts go into the heartbeat and the
 * summary. Ctrl-C stops the capture and sends the END batch so processors close their flows.
 */
import { PacketPublisher } from '../../roles/packet-publisher.ts';
import { topicNames } from '../../roles/topics.ts';
import { captureLive, type KernelStats } from '../../sources/live/tcpdump.ts';
import { EXIT_OK } from '../exit-codes.ts';
import {
  connect,
  memberName,
  numberOption,
  onStopSignals,
  type RoleCliOptions,
  startHeartbeat,
} from './roles-common.ts';

export interface CaptureCliOptions extends RoleCliOptions {
  interface: string;
  filter?: string;
  snaplen: string;
  to: string;
  partitions: string;
  end: boolean;
}

export async function captureCommand(o: CaptureCliOptions): Promise<number> {
  const partitions = numberOption('--partitions', o.partitions, 1, 10_000)!;
  const snaplen = numberOption('--snaplen', o.snaplen, 1, 262_144)!;
  const heartbeatS = numberOption('--heartbeat-every', o.heartbeatEvery, 0)!;
  const topics = topicNames(o.topicPrefix);
  const transport = await connect(o.to, 'capture');
  let stopping = false;
  let live: ReturnType<typeof captureLive> | null = null;
  const offSignals = onStopSignals(() => {
    stopping = true;
    live?.stop();
  });
  try {
    const have = await transport.ensureTopic(topics.packets, partitions);
    const producer = await transport.producer();
    const pub = new PacketPublisher(producer, { topic: topics.packets, partitions: have });
    let kernel: KernelStats | null = null;
    const member = memberName('capture');
    live = captureLive({
      interface: o.interface,
      ...(o.filter === undefined ? {} : { filter: o.filter }),
      snaplen,
      onBatch: (frames) => pub.publish(frames),
      shouldStop: () => stopping,
    });
    const capture = live;
    const hb = await startHeartbeat(transport, topics, 'capture', member, heartbeatS, async () => {
      kernel = await capture.stats().catch(() => kernel);
      return {
        packets: pub.stats.frames,
        bytes: pub.stats.bytes,
        losses: {
          kernel_dropped: kernel?.droppedByKernel ?? 0,
          interface_dropped: kernel?.droppedByInterface ?? 0,
        },
      };
    });
    await capture.ready;
    process.stderr.write(
      `capturing on ${o.interface}${o.filter === undefined ? '' : ` (${o.filter})`}; Ctrl-C stops\n`,
    );
    const result = await capture;
    if (o.end) await pub.end();
    else await pub.flush();
    await producer.close();
    await hb.stop();
    const k = result.kernel;
    process.stderr.write(
      `captured ${result.frames.toLocaleString('en-US')} packets in ${result.elapsedSec.toFixed(1)} s into ${have} partitions of ${topics.packets}` +
        (k === null ? '' : `; kernel: ${k.receivedByFilter} received by filter, ${k.droppedByKernel} dropped`) +
        '\n',
    );
    return EXIT_OK;
  } finally {
    offSignals();
    await transport.close();
  }
}
