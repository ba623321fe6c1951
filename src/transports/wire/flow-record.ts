/**
 * Flow record wire format: one JSON object per message on the flows topic, the fields of
 * `FlowRecord` with their snake_case names; `features` is an array in `CIC_FEATURES` order (or
 * null), with NaN and infinities as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`. Readable by any JSON consumer; `decodeFlowRecord` checks what it reads.
 */
import { PipelineError } from '../../core/errors.ts';
import type { FlowRecord } from '../../flow/records.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * @example
 * producer.send(topics.flows, [{ partition: 0, value: encodeFlowRecord(rec) }]);
 */
export function encodeFlowRecord(rec: FlowRecord): Uint8Array {
  // JSON has no NaN or Infinity (CICFlowMeter's rates can be either): those travel as text.
  const features = rec.features === null ? null : Array.from(rec.features, (x) => (Number.isFinite(x) ? x : String(x)));
  return encoder.encode(JSON.stringify({ ...rec, features }));
}

const NUMBER_FIELDS = [
  'flow_id',
  'first_seen_us',
  'last_seen_us',
  'duration_us',
  'ip_version',
  'protocol',
  'src_port',
  'dest_port',
  'vlan_id',
  'fwd_packets',
  'bwd_packets',
  'fwd_bytes',
  'bwd_bytes',
  'fwd_payload_bytes',
  'bwd_payload_bytes',
  'fwd_tcp_flags',
  'bwd_tcp_flags',
] as const;
const STRING_FIELDS = [
  'flow_uid',
  'community_id',
  'protocol_name',
  'src_ip',
  'dest_ip',
  'tunnel_type',
  'end_reason',
] as const;

/**
 * Parses and checks one flow message. Throws `PipelineError('PCS_TRANSPORT')` naming the bad field.
 * @example
 * const rec = decodeFlowRecord(message.value);
 */
export function decodeFlowRecord(bytes: Uint8Array): FlowRecord {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(decoder.decode(bytes)) as Record<string, unknown>;
  } catch {
    throw new PipelineError('PCS_TRANSPORT', 'flow message is not JSON');
  }
  if (typeof o !== 'object' || o === null) throw new PipelineError('PCS_TRANSPORT', 'flow message is not an object');
  for (const f of NUMBER_FIELDS) {
    if (typeof o[f] !== 'number' || !Number.isFinite(o[f])) {
      throw new PipelineError('PCS_TRANSPORT', `flow message: '${f}' is not a number`);
    }
  }
  for (const f of STRING_FIELDS) {
    if (typeof o[f] !== 'string') throw new PipelineError('PCS_TRANSPORT', `flow message: '${f}' is not text`);
  }
  if (typeof o.partial !== 'boolean')
    throw new PipelineError('PCS_TRANSPORT', "flow message: 'partial' is not a boolean");
  const f = o.features;
  let features: Float64Array | null = null;
  if (f !== null) {
    const ok = (x: unknown): boolean => typeof x === 'number' || x === 'NaN' || x === 'Infinity' || x === '-Infinity';
    if (!Array.isArray(f) || !f.every(ok)) {
      throw new PipelineError('PCS_TRANSPORT', "flow message: 'features' is not a list of numbers");
    }
    features = Float64Array.from(f, (x: number | string) => Number(x));
  }
  return { ...(o as unknown as FlowRecord), features };
}
