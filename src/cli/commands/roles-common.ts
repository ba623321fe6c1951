/**
 * Shared wiring of the distributed roles (`replay`, `capture`, `process`): transport, topics,
 * heartbeat and signals.
 */
import os from 'node:os';
import { PipelineError } from '../../core/errors.ts';
import type { Producer, Transport } from '../../core/transport.ts';
import { Heartbeat, type HeartbeatSample } from '../../roles/heartbeat.ts';
import type { Topics } from '../../roles/topics.ts';
import { openTransport } from '../../transports/index.ts';

export interface RoleCliOptions {
  topicPrefix: string;
  heartbeatEvery: string;
}

export function numberOption(
  name: string,
  v: string | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new PipelineError('PCS_USAGE', `${name} must be a number from ${min} to ${max}, got '${v}'`);
  }
  return n;
}

export function memberName(role: string): string {
  return `${role}-${os.hostname()}-${process.pid}`;
}

export async function connect(url: string, role: string): Promise<Transport> {
  return openTransport(url, { clientId: `pcapstream-${role}` });
}

/** Heartbeats on the heartbeat topic every `--heartbeat-every` seconds (0 = off). */
export async function startHeartbeat(
  transport: Transport,
  topics: Topics,
  role: string,
  member: string,
  everyS: number,
  sample: () => HeartbeatSample | Promise<HeartbeatSample>,
): Promise<{ stop(): Promise<void>; producer: Producer | null }> {
  if (everyS === 0) return { stop: async () => {}, producer: null };
  await transport.ensureTopic(topics.heartbeat, 1);
  const producer = await transport.producer();
  const enc = new TextEncoder();
  const hb = new Heartbeat({
    role,
    member,
    everyMs: everyS * 1000,
    sample,
    publish: (rec) => producer.send(topics.heartbeat, [{ partition: 0, value: enc.encode(JSON.stringify(rec)) }]),
    onError: (err) => process.stderr.write(`pcapstream: heartbeat not sent: ${(err as Error).message}\n`),
  });
  hb.start();
  return {
    producer,
    stop: async () => {
      await hb.stop();
      await producer.close();
    },
  };
}

/** SIGINT/SIGTERM set the flag; a second signal while stopping only reports. */
export function onStopSignals(stop: () => void): () => void {
  let stopping = false;
  const handler = (sig: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`pcapstream: ${sig} again, still finishing; please wait\n`);
      return;
    }
    stopping = true;
    stop();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
