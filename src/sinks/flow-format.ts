/**
 * Text forms of flow records: JSON lines and CSV with snake_case names, and the CICIDS2017
 * CSV (header and rows from `flow/cic-features.ts`). One place, so the `flows` command, the
 * datasets and the tests agree on column names and order.
 */

import { JsonWriter } from '../core/json-writer.ts';
import { formatIPv6 } from '../decode/format.ts';
import { CIC_FEATURES, type CicMode, cicCsvHeader, cicCsvRow } from '../flow/cic-features.ts';
import {
  END_REASONS,
  P_BWD_BYTES,
  P_BWD_PACKETS,
  P_BWD_PAYLOAD,
  P_FEATURES,
  P_FIRST_US,
  P_FLOW_ID,
  P_FWD_BYTES,
  P_FWD_PACKETS,
  P_FWD_PAYLOAD,
  P_HAS_FEATURES,
  P_LAST_US,
  P_PARTIAL,
  P_REASON,
  PackedEndpoints,
} from '../flow/packed-flow.ts';
import { protocolName } from '../flow/protocols.ts';
import { FLOW_SCALAR_COLUMNS, type FlowRecord } from '../flow/records.ts';

export { FLOW_SCALAR_COLUMNS } from '../flow/records.ts';

export type FlowFormat = 'jsonl' | 'csv' | 'cic';

/** A feature value as text: integers plain, fractions with up to 6 decimals, NaN/Infinity as CICFlowMeter prints them. */
function num(v: number): string {
  if (Number.isInteger(v)) return String(v);
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return String(Math.round(v * 1e6) / 1e6);
}

/**
 * A formatter turning records into lines (no newline) in `format`, with its header line (or null).
 * JSON Lines and CSV lines are `flowBytesWriter`'s bytes as text; bulk output should write those
 * bytes directly, as `pcapstream flows` does.
 * @example
 * const f = flowFormatter('csv'); if (f.header) out.line(f.header); out.line(f.line(rec));
 * // `mode` is the run's feature mode; it picks the CIC row's text rules.
 */
export function flowFormatter(
  format: FlowFormat,
  label = 'BENIGN',
  mode: CicMode = 'corrected',
): { header: string | null; line: (r: FlowRecord) => string } {
  if (format === 'cic') return { header: cicCsvHeader(), line: (r) => cicCsvRow(r, label, mode) };
  if (format !== 'csv' && format !== 'jsonl') {
    throw new RangeError(`unknown flow format '${String(format)}'; use jsonl, csv or cic`);
  }
  const write = flowBytesWriter(format);
  const w = new JsonWriter(MAX_FLOW_LINE * 2);
  const line = (r: FlowRecord): string => {
    write(r, w);
    // Every byte is ASCII (numbers, addresses, base64, fixed words); the newline is dropped.
    const s = w.buf.toString('latin1', 0, w.pos - 1);
    w.pos = 0;
    return s;
  };
  const header = format === 'jsonl' ? null : [...FLOW_SCALAR_COLUMNS, ...CIC_FEATURES.map((f) => f.name)].join(',');
  return { header, line };
}

/** A feature value in JSON: NaN and infinities (which JSON lacks) become null. */
function jnum(v: number): string {
  return Number.isFinite(v) ? num(v) : 'null';
}

/** Room one flow line can take: 101 columns of at most ~24 characters, and the addresses. */
const MAX_FLOW_LINE = 4096;

/** Below this many millionths a value has at most 15 significant digits: printed exactly. */
const FAST_FRACTION_LIMIT = 1e15;

/**
 * A number as `flowFormatter` prints it, written as bytes without a string: integers as digits,
 * and fractions rounded to millionths as integer part, point and up to six digits. That is the
 * text `String(Math.round(v * 1e6) / 1e6)` gives while the value has at most 15 significant digits
 * (checked against it in the tests); larger values take that slow path. Formatting fractions
 * through strings cost ~0.9 s of a 1 GB `flows` run.
 */
export function writeNum(w: JsonWriter, v: number, json: boolean): void {
  if (v >= 0 && v <= Number.MAX_SAFE_INTEGER && Number.isInteger(v)) {
    w.uint(v);
    return;
  }
  const r = Math.round(v * 1e6);
  if (!(r > -FAST_FRACTION_LIMIT && r < FAST_FRACTION_LIMIT)) {
    // NaN, infinities, huge values and negative integers beyond the fast range.
    w.ascii(json ? jnum(v) : num(v));
    return;
  }
  let a = r;
  if (a < 0) {
    w.byte(0x2d);
    a = -a;
  }
  const int = Math.floor(a / 1e6);
  let frac = a - int * 1e6;
  w.uint(int);
  if (frac === 0) return;
  w.byte(0x2e);
  let digits = 6;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  w.fixedDigits(frac, digits);
}

/**
 * The JSON Lines or CSV form of `flowFormatter`, written as bytes into `w` with the newline:
 * the same text, without building a string per line. With 101 columns a flow, strings cost
 * ~30 % of a `flows` run (number to text, then joining the lines).
 * @example
 * const write = flowBytesWriter('csv'); write(rec, json); if (json.pos > 1 << 20) out.bytes(json.take());
 */
export function flowBytesWriter(format: 'jsonl' | 'csv'): (r: FlowRecord, w: JsonWriter) => void {
  const json = format === 'jsonl';
  const names = FLOW_SCALAR_COLUMNS.map((c, i) => (json ? `${i === 0 ? '{' : ','}"${c}":` : i === 0 ? '' : ','));
  const featureNames = CIC_FEATURES.map((f) => (json ? `,"${f.name}":` : ','));
  return (r, w) => {
    w.ensure(MAX_FLOW_LINE + r.src_ip.length + r.dest_ip.length);
    for (let i = 0; i < FLOW_SCALAR_COLUMNS.length; i++) {
      w.ascii(names[i]!);
      const v = r[FLOW_SCALAR_COLUMNS[i]!];
      if (typeof v === 'number') writeNum(w, v, json);
      else if (typeof v === 'boolean') w.ascii(v ? 'true' : 'false');
      else if (json) {
        // Plain text by construction: addresses, base64, fixed words.
        w.byte(0x22);
        w.ascii(v);
        w.byte(0x22);
      } else w.ascii(v);
    }
    const f = r.features;
    if (f !== null) {
      for (let i = 0; i < f.length; i++) {
        w.ascii(featureNames[i]!);
        writeNum(w, f[i]!, json);
      }
    } else if (!json) {
      for (let i = 0; i < featureNames.length; i++) w.byte(0x2c);
    }
    if (json) w.byte(0x7d);
    w.byte(0x0a);
  };
}

/**
 * `flowBytesWriter`'s text for a packed flow record (`flow/packed-flow.ts`) at `buf[at ..]`:
 * byte for byte what `flowBytesWriter(format)(unpackFlow(buf, at), w)` writes (tested), without
 * building the record object, its feature array or its address strings. The flow text thread
 * formats every flow of a `flows` run this way.
 * @example
 * const write = packedFlowBytesWriter('csv'); write(batch, i * PACKED_FLOW_WIDTH, json);
 */
export function packedFlowBytesWriter(format: 'jsonl' | 'csv'): (buf: Float64Array, at: number, w: JsonWriter) => void {
  const json = format === 'jsonl';
  const names = FLOW_SCALAR_COLUMNS.map((c, i) => (json ? `${i === 0 ? '{' : ','}"${c}":` : i === 0 ? '' : ','));
  const featureNames = CIC_FEATURES.map((f) => (json ? `,"${f.name}":` : ','));
  const [N_ID, N_UID, N_CID, N_FIRST, N_LAST, N_DUR, N_IPV, N_PROTO, N_PNAME, N_SRC, N_SPORT, N_DST, N_DPORT] = names;
  const [N_VLAN, N_TUNNEL, N_FPKT, N_BPKT, N_FBYTES, N_BBYTES, N_FPAY, N_BPAY, N_FFLAGS, N_BFLAGS, N_REASON] =
    names.slice(13);
  const N_PARTIAL = names[24]!;
  // Positional: the names above follow FLOW_SCALAR_COLUMNS, as the writes below do (the tests
  // compare every row with flowBytesWriter's, which walks that list).
  const e = new PackedEndpoints();
  const text = (w: JsonWriter, s: string): void => {
    if (json) {
      w.byte(0x22);
      w.ascii(s);
      w.byte(0x22);
    } else w.ascii(s);
  };
  const ipv4 = (w: JsonWriter, a: number): void => {
    if (json) w.ipv4(a);
    else {
      w.uint(a >>> 24);
      w.byte(0x2e);
      w.uint((a >>> 16) & 255);
      w.byte(0x2e);
      w.uint((a >>> 8) & 255);
      w.byte(0x2e);
      w.uint(a & 255);
    }
  };
  return (buf, at, w) => {
    w.ensure(MAX_FLOW_LINE + 128);
    e.read(buf, at);
    const v = e.version;
    const first = buf[at + P_FIRST_US]!;
    const last = buf[at + P_LAST_US]!;
    w.ascii(N_ID!);
    writeNum(w, buf[at + P_FLOW_ID]!, json);
    w.ascii(N_UID!);
    text(w, e.uid());
    w.ascii(N_CID!);
    text(w, e.communityId());
    w.ascii(N_FIRST!);
    writeNum(w, first, json);
    w.ascii(N_LAST!);
    writeNum(w, last, json);
    w.ascii(N_DUR!);
    writeNum(w, last - first, json);
    w.ascii(N_IPV!);
    writeNum(w, v, json);
    w.ascii(N_PROTO!);
    writeNum(w, e.protocol, json);
    w.ascii(N_PNAME!);
    text(w, protocolName(e.protocol));
    w.ascii(N_SRC!);
    if (v === 4) ipv4(w, e.src4);
    else text(w, formatIPv6(e.src6));
    w.ascii(N_SPORT!);
    writeNum(w, e.srcPort, json);
    w.ascii(N_DST!);
    if (v === 4) ipv4(w, e.dst4);
    else text(w, formatIPv6(e.dst6));
    w.ascii(N_DPORT!);
    writeNum(w, e.dstPort, json);
    w.ascii(N_VLAN!);
    writeNum(w, e.vlanId, json);
    w.ascii(N_TUNNEL!);
    text(w, e.tunnelType);
    w.ascii(N_FPKT!);
    writeNum(w, buf[at + P_FWD_PACKETS]!, json);
    w.ascii(N_BPKT!);
    writeNum(w, buf[at + P_BWD_PACKETS]!, json);
    w.ascii(N_FBYTES!);
    writeNum(w, buf[at + P_FWD_BYTES]!, json);
    w.ascii(N_BBYTES!);
    writeNum(w, buf[at + P_BWD_BYTES]!, json);
    w.ascii(N_FPAY!);
    writeNum(w, buf[at + P_FWD_PAYLOAD]!, json);
    w.ascii(N_BPAY!);
    writeNum(w, buf[at + P_BWD_PAYLOAD]!, json);
    w.ascii(N_FFLAGS!);
    writeNum(w, e.fwdFlags, json);
    w.ascii(N_BFLAGS!);
    writeNum(w, e.bwdFlags, json);
    w.ascii(N_REASON!);
    text(w, END_REASONS[buf[at + P_REASON]!]!);
    w.ascii(N_PARTIAL);
    w.ascii(buf[at + P_PARTIAL] === 1 ? 'true' : 'false');
    if (buf[at + P_HAS_FEATURES] === 1) {
      const f0 = at + P_FEATURES;
      for (let i = 0; i < featureNames.length; i++) {
        w.ascii(featureNames[i]!);
        writeNum(w, buf[f0 + i]!, json);
      }
    } else if (!json) {
      for (let i = 0; i < featureNames.length; i++) w.byte(0x2c);
    }
    if (json) w.byte(0x7d);
    w.byte(0x0a);
  };
}
