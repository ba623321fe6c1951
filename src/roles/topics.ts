/**
 * Topic names of a deployment: one prefix, a fixed suffix per stream. Wire formats are in
 * `docs/wire-formats.md`.
 */

export interface Topics {
  /** Packet batches (binary, `transports/wire/packet-batch.ts`), partitioned by flow key. */
  packets: string;
  /** Flow records (JSON), final and partial. */
  flows: string;
  /** KPI windows (JSON). */
  metrics: string;
  /** Heartbeats of every role (JSON). */
  heartbeat: string;
  /** Alerts (JSON). */
  alerts: string;
  /** Decoder anomalies and unreadable batches (JSON). */
  errors: string;
}

export const DEFAULT_TOPIC_PREFIX = 'pcapstream';

/**
 * @example
 * topicNames('pcapstream').packets; // 'pcapstream.packets'
 */
export function topicNames(prefix: string = DEFAULT_TOPIC_PREFIX): Topics {
  return {
    packets: `${prefix}.packets`,
    flows: `${prefix}.flows`,
    metrics: `${prefix}.metrics`,
    heartbeat: `${prefix}.heartbeat`,
    alerts: `${prefix}.alerts`,
    errors: `${prefix}.errors`,
  };
}
