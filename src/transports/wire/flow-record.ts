/**
 * Flow record wire format: one JSON object per message on the flows topic, the fields of
 * `FlowRecord` with their snake_case names; `features` is an array in `CIC_FEATURES` order (or
 * null), with NaN and infinities as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`. Readable by any JSON consumer; `decodeFlowRecord` checks what it reads.
 */
import { PipelineError } from '../../core/errors.ts';
import { JsonWriter } from '../../core/json-writer.ts';
import { FLOW_NUMBER_FIELDS, FLOW_SCALAR_COLUMNS, FLOW_TEXT_FIELDS, type FlowRecord } from '../../flow/records.ts';

const decoder = new TextDecoder();

/** Field names in the order a `FlowRecord` holds them, `features` last (as JSON.stringify writes them). */
const KEYS = [...FLOW_SCALAR_COLUMNS, 'features'].map((k, i) => Buffer.from(`${i === 0 ? '{' : ','}"${k}":`, 'latin1'));
const TRUE = Buffer.from('true', 'latin1');
const FALSE = Buffer.from('false', 'latin1');
const NULL = Buffer.from('null', 'latin1');
/** One record's bytes are built here, then copied out: records are sent one message each. */
const scratch = new JsonWriter(64 * 1024);

/** A number as JSON.stringify writes it: integers as digits, others in their shortest round-trip form. */
function writeNumber(w: JsonWriter, v: number): void {
  if (v >= 0 && v <= Number.MAX_SAFE_INTEGER && Number.isInteger(v)) w.uint(v);
  else w.ascii(Number.isFinite(v) ? String(v) : 'null');
}

/**
 * The JSON of `rec` as bytes: the same text as `JSON.stringify` of the record with its features
 * as an array (non-finite features as strings), written without building the string (~5×
 * cheaper, and a processor encodes every flow).
 * @example
 * producer.send(topics.flows, [{ partition: 0, value: encodeFlowRecord(rec) }]);
 */
export function encodeFlowRecord(rec: FlowRecord): Uint8Array {
  const w = scratch;
  w.pos = 0;
  const f = rec.features;
  w.ensure(4096 + (f === null ? 0 : f.length * 26));
  for (let i = 0; i < FLOW_SCALAR_COLUMNS.length; i++) {
    w.raw(KEYS[i]!);
    const v = rec[FLOW_SCALAR_COLUMNS[i]!];
    if (typeof v === 'number') writeNumber(w, v);
    else if (typeof v === 'boolean') w.raw(v ? TRUE : FALSE);
    else w.string(v);
  }
  w.raw(KEYS[FLOW_SCALAR_COLUMNS.length]!);
  if (f === null) w.raw(NULL);
  else {
    // JSON has no NaN or Infinity (CICFlowMeter's rates can be either): those travel as text.
    w.byte(0x5b);
    for (let i = 0; i < f.length; i++) {
      if (i > 0) w.byte(0x2c);
      const x = f[i]!;
      if (Number.isFinite(x)) writeNumber(w, x);
      else w.string(String(x));
    }
    w.byte(0x5d);
  }
  w.byte(0x7d);
  // A copy: the scratch buffer is reused for the next record (Buffer#slice would be a view).
  return new Uint8Array(w.buf.subarray(0, w.pos));
}

const NUMBER_FIELDS = FLOW_NUMBER_FIELDS;
const STRING_FIELDS = FLOW_TEXT_FIELDS;

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
